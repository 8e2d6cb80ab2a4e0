//! Ranks: cycles broken by the Eades–Lin–Smyth order, then a column for each node by longest path.

/// Whether the edges form no cycle (Kahn's algorithm).
pub(super) fn is_acyclic(node_count: usize, edges: &[(usize, usize)]) -> bool {
    let mut in_degree = vec![0_usize; node_count];
    let mut successors = vec![Vec::new(); node_count];
    for &(from, to) in edges {
        in_degree[to] += 1;
        successors[from].push(to);
    }
    let mut ready: Vec<usize> = (0..node_count).filter(|&node| in_degree[node] == 0).collect();
    let mut visited = 0;
    while let Some(node) = ready.pop() {
        visited += 1;
        for &successor in &successors[node] {
            in_degree[successor] -= 1;
            if in_degree[successor] == 0 {
                ready.push(successor);
            }
        }
    }
    visited == node_count
}

/// Orders the nodes so that few edges point backwards (Eades, Lin and Smyth, 1993), and
/// returns each node's position in that order.
pub(super) fn eades_order(node_count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut out_degree = vec![0_isize; node_count];
    let mut in_degree = vec![0_isize; node_count];
    let mut successors = vec![Vec::new(); node_count];
    let mut predecessors = vec![Vec::new(); node_count];
    for &(from, to) in edges {
        out_degree[from] += 1;
        in_degree[to] += 1;
        successors[from].push(to);
        predecessors[to].push(from);
    }
    let mut removed = vec![false; node_count];
    let mut head = Vec::with_capacity(node_count);
    let mut tail = Vec::new();
    let mut remaining = node_count;
    let remove = |node: usize, removed: &mut Vec<bool>, out_degree: &mut Vec<isize>, in_degree: &mut Vec<isize>| {
        removed[node] = true;
        for &successor in &successors[node] {
            in_degree[successor] -= 1;
        }
        for &predecessor in &predecessors[node] {
            out_degree[predecessor] -= 1;
        }
    };
    while remaining > 0 {
        if let Some(sink) = (0..node_count).find(|&node| !removed[node] && out_degree[node] == 0) {
            remove(sink, &mut removed, &mut out_degree, &mut in_degree);
            tail.push(sink);
        } else if let Some(source) = (0..node_count).find(|&node| !removed[node] && in_degree[node] == 0) {
            remove(source, &mut removed, &mut out_degree, &mut in_degree);
            head.push(source);
        } else {
            // Every remaining node is on a cycle: take the one with the most net outflow,
            // so that the fewest edges end up pointing backwards.
            let mut best = None;
            for node in (0..node_count).filter(|&node| !removed[node]) {
                let score = out_degree[node] - in_degree[node];
                if best.is_none_or(|(_, best_score)| score > best_score) {
                    best = Some((node, score));
                }
            }
            let Some((node, _)) = best else { break };
            remove(node, &mut removed, &mut out_degree, &mut in_degree);
            head.push(node);
        }
        remaining -= 1;
    }
    head.extend(tail.into_iter().rev());
    let mut position = vec![0; node_count];
    for (index, &node) in head.iter().enumerate() {
        position[node] = index;
    }
    position
}

/// Ranks the nodes of a DAG by longest path from a source, then moves each source as far
/// right as its successors allow, so that a module used by one deep module sits beside it.
pub(super) fn longest_path_ranks(node_count: usize, dag: &[(usize, usize)]) -> Vec<usize> {
    let mut successors = vec![Vec::new(); node_count];
    let mut in_degree = vec![0_usize; node_count];
    for &(from, to) in dag {
        successors[from].push(to);
        in_degree[to] += 1;
    }
    let has_predecessor: Vec<bool> = in_degree.iter().map(|&degree| degree > 0).collect();
    let mut rank = vec![0_usize; node_count];
    let mut ready: std::collections::BTreeSet<usize> = (0..node_count).filter(|&node| in_degree[node] == 0).collect();
    let mut topological = Vec::with_capacity(node_count);
    while let Some(node) = ready.pop_first() {
        topological.push(node);
        for &successor in &successors[node] {
            rank[successor] = rank[successor].max(rank[node] + 1);
            in_degree[successor] -= 1;
            if in_degree[successor] == 0 {
                ready.insert(successor);
            }
        }
    }
    for &node in topological.iter().rev() {
        if has_predecessor[node] {
            continue;
        }
        if let Some(nearest) = successors[node].iter().map(|&successor| rank[successor]).min() {
            rank[node] = nearest.saturating_sub(1);
        }
    }
    rank
}
