//! Table names as the ownership rules compare them, and `tables` patterns matched against them.

/// Normalises a table name or an ownership pattern: lower case, with `"`, `` ` ``, `[` and `]`
/// quoting removed, so that `"Audit"."Log"`, `[audit].[log]` and `audit.log` are all "audit.log".
pub(crate) fn normalize_table_name(name: &str) -> String {
    name.chars().filter(|character| !matches!(character, '"' | '`' | '[' | ']')).flat_map(char::to_lowercase).collect()
}

/// Whether an ownership pattern (`"points_*"`, `"audit.log"`, `"Orders"`) matches a table name.
///
/// Both sides are normalised with [`normalize_table_name`]. `*` matches any run of characters. A
/// schema-qualified pattern is matched against the whole name as written, so `audit.log` does not
/// match a bare `log`; an unqualified pattern is matched against the last part of the name, so
/// `orders` matches both `orders` and `shop.orders`.
pub(crate) fn table_pattern_matches(pattern: &str, table: &str) -> bool {
    let pattern = normalize_table_name(pattern);
    let table = normalize_table_name(table);
    if pattern.contains('.') {
        glob_matches(pattern.as_bytes(), table.as_bytes())
    } else {
        let last_part = table.rsplit('.').next().unwrap_or(&table);
        glob_matches(pattern.as_bytes(), last_part.as_bytes())
    }
}

/// Matches `candidate` against `pattern`, where `*` stands for any run of bytes.
///
/// This is the classic greedy matcher that remembers the last star and retries from one byte
/// further on a mismatch, so it runs in linear time for patterns with a single star and never
/// recurses. Comparing bytes is correct for UTF-8 because `*` consumes whole runs and every other
/// byte must match exactly.
fn glob_matches(pattern: &[u8], candidate: &[u8]) -> bool {
    let mut pattern_position = 0;
    let mut candidate_position = 0;
    let mut last_star: Option<(usize, usize)> = None;
    while candidate_position < candidate.len() {
        if pattern.get(pattern_position) == Some(&b'*') {
            last_star = Some((pattern_position, candidate_position));
            pattern_position += 1;
        } else if pattern.get(pattern_position) == Some(&candidate[candidate_position]) {
            pattern_position += 1;
            candidate_position += 1;
        } else if let Some((star_position, star_candidate_position)) = last_star {
            pattern_position = star_position + 1;
            candidate_position = star_candidate_position + 1;
            last_star = Some((star_position, star_candidate_position + 1));
        } else {
            return false;
        }
    }
    pattern[pattern_position..].iter().all(|&byte| byte == b'*')
}
