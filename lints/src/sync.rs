//! `sync`: rewrites every `depends_on` of `boundaries.toml` to what the code uses today.
//!
//! Only the `depends_on` arrays that change are rewritten, with toml_edit, and spliced into the
//! file's text at their own bytes, so that every other byte of the file (comments, order, inline
//! tables, odd spacing) stays exactly as it was. Inside an array, kept entries keep their
//! formatting and comments; a removed entry takes its comments with it; an added entry is written
//! like its neighbours, in sorted position when the array is sorted and at its end otherwise.
//!
//! It never widens `public`, `[layers]` or `forbid`, and never adds an entry that they refuse: a
//! use of a module that `forbid` or `[layers] order` forbids is left out and reported, since the
//! fix is in the code. A use that a `seams:allow(undeclared-dependency)` comment excuses is not
//! added either: the allow is the decision. A module without `depends_on` may use any module, and
//! is left without one.

use std::collections::{BTreeSet, HashSet};
use std::ops::Range;

use crate::check::CheckOutcome;
use crate::diagnostic::{RuleCode, WarningCode};
use crate::model::{Model, ModuleId};

/// One `depends_on` that sync changes, or an entry it refuses to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModuleSync {
    pub(crate) module: String,
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
    /// Modules the code uses that `forbid` or `[layers]` refuse, with the reason.
    pub(crate) refused: Vec<(String, String)>,
}

/// What sync would write.
#[derive(Debug, Clone)]
pub(crate) struct SyncPlan {
    /// The file's text as it is.
    pub(crate) old_text: String,
    /// The file's text with every `depends_on` synced.
    pub(crate) new_text: String,
    pub(crate) modules: Vec<ModuleSync>,
}

impl SyncPlan {
    pub(crate) fn is_up_to_date(&self) -> bool {
        self.old_text == self.new_text
    }

    pub(crate) fn refused(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.modules.iter().flat_map(|module| {
            module.refused.iter().map(|(to, why)| (module.module.as_str(), to.as_str(), why.as_str()))
        })
    }
}

/// Why sync cannot run on this outcome.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum SyncError {
    #[error("sync needs every file read, and {file} was not: {message}")]
    #[diagnostic(
        code("sync-incomplete"),
        help(
            "fix the file (or the module declaration) first: a file that is not read would make its uses look unused"
        )
    )]
    Incomplete { file: String, message: String },
    #[error("boundaries.toml cannot be edited: {0}")]
    #[diagnostic(code("sync-unreadable"))]
    Toml(String),
}

/// Plans the sync of `boundaries.toml` from a check's outcome.
pub(crate) fn plan(outcome: &CheckOutcome) -> Result<SyncPlan, SyncError> {
    let model = &outcome.model;
    if let Some(warning) = model.warnings.iter().find(|warning| {
        matches!(warning.code, WarningCode::UnparsedFile | WarningCode::UnreadableFile | WarningCode::InternalError)
    }) {
        return Err(SyncError::Incomplete { file: warning.file.clone(), message: warning.message.clone() });
    }
    let old_text = model.config.source.as_str().to_owned();
    let document = toml_edit::Document::parse(old_text.as_str()).map_err(|error| SyncError::Toml(error.to_string()))?;
    let allowed = crate::allows::allowed_lines(model, RuleCode::UndeclaredDependency);
    let mut splices: Vec<(Range<usize>, String)> = Vec::new();
    let mut modules = Vec::new();
    for (from, module) in model.modules.with_ids() {
        let Some(declared) = &module.depends_on else { continue };
        let (wanted, refused) = used_modules(model, from, &allowed);
        let removed: Vec<String> = declared.iter().filter(|name| !wanted.contains(name.as_str())).cloned().collect();
        let added: Vec<String> = wanted
            .iter()
            .filter(|name| !declared.iter().any(|declared| declared == **name))
            .map(|name| (*name).to_owned())
            .collect();
        if !removed.is_empty() || !added.is_empty() {
            let array = depends_on_array(&document, &module.name)
                .ok_or_else(|| SyncError::Toml(format!("no `depends_on` array found for `{}`", module.name)))?;
            let span = array.span().unwrap_or(0..0);
            let edited = edited_array(&old_text[span.clone()], &removed, &added)?;
            splices.push((span, edited));
        }
        if !removed.is_empty() || !added.is_empty() || !refused.is_empty() {
            modules.push(ModuleSync { module: module.name.clone(), added, removed, refused });
        }
    }
    splices.sort_by_key(|(span, _)| span.start);
    let mut new_text = String::with_capacity(old_text.len());
    let mut at = 0;
    for (span, text) in &splices {
        new_text.push_str(&old_text[at..span.start]);
        new_text.push_str(text);
        at = span.end;
    }
    new_text.push_str(&old_text[at..]);
    Ok(SyncPlan { old_text, new_text, modules })
}

/// The modules `from`'s code uses, other than itself, through at least one reference that no
/// reasoned `seams:allow(undeclared-dependency)` excuses, sorted by name; and those of them that
/// `forbid` or `[layers]` refuse, with the reason, which are left out of the first list.
fn used_modules<'m>(
    model: &'m Model,
    from: ModuleId,
    allowed: &HashSet<(String, usize)>,
) -> (BTreeSet<&'m str>, Vec<(String, String)>) {
    let mut wanted = BTreeSet::new();
    let mut refused = Vec::new();
    let module = &model.modules[from];
    for (to, other) in model.modules.with_ids() {
        if to == from {
            continue;
        }
        let Some(dependency) = model.graph.dependency(from, to) else { continue };
        let used = dependency.sites.iter().any(|site| !allowed.contains(&(site.source.file.clone(), site.site.line)));
        if !used {
            continue;
        }
        let declared = module.depends_on.as_ref().is_some_and(|names| names.contains(&other.name));
        let upward = match (module.layer, other.layer) {
            (Some(from_layer), Some(to_layer)) => to_layer <= from_layer,
            _ => false,
        };
        if module.forbid.contains(&to) {
            refused.push((other.name.clone(), format!("`forbid` of `{}` names it", module.name)));
        } else if upward && !declared {
            refused.push((other.name.clone(), "it is not in a lower layer of `[layers] order`".to_owned()));
        } else {
            wanted.insert(other.name.as_str());
        }
    }
    (wanted, refused)
}

/// The text of an array as written, with entries removed and added in its own formatting.
fn edited_array(written: &str, removed: &[String], added: &[String]) -> Result<String, SyncError> {
    let mut edited: toml_edit::Value =
        written.parse().map_err(|error: toml_edit::TomlError| SyncError::Toml(error.to_string()))?;
    if let Some(array) = edited.as_array_mut() {
        edit_array(array, removed, added);
    }
    Ok(edited.to_string().trim().to_owned())
}

/// `text` (a boundaries.toml) with `to` added to the `depends_on` of module `from`, edited as
/// sync edits: only that array's bytes change. `None` when the module has no `depends_on` array
/// or already lists `to`. The language server's quick fix.
pub(crate) fn add_dependency(text: &str, from: &str, to: &str) -> Option<String> {
    let document = toml_edit::Document::parse(text).ok()?;
    let array = depends_on_array(&document, from)?;
    if array.iter().any(|value| value.as_str() == Some(to)) {
        return None;
    }
    let span = array.span()?;
    let edited = edited_array(&text[span.clone()], &[], &[to.to_owned()]).ok()?;
    Some(format!("{}{edited}{}", &text[..span.start], &text[span.end..]))
}

/// The `depends_on` array of module `name`, wherever the module's table is written.
fn depends_on_array<'d>(document: &'d toml_edit::Document<&str>, name: &str) -> Option<&'d toml_edit::Array> {
    let modules = document.as_item().as_table_like()?.get("modules")?;
    let module = modules.as_table_like()?.get(name)?;
    module.as_table_like()?.get("depends_on")?.as_array()
}

/// Removes and adds entries, keeping the array's own formatting.
fn edit_array(array: &mut toml_edit::Array, removed: &[String], added: &[String]) {
    let prefix_of = |value: &toml_edit::Value| -> String {
        value.decor().prefix().and_then(|prefix| prefix.as_str()).unwrap_or_default().to_owned()
    };
    let mut index = 0;
    while index < array.len() {
        let name = array.get(index).and_then(toml_edit::Value::as_str).unwrap_or_default().to_owned();
        if !removed.contains(&name) {
            index += 1;
            continue;
        }
        let gone = array.remove(index);
        // The first entry's spacing (no space after `[`, or a new line) goes to the next one; a
        // comment above the removed entry goes with it.
        let gone_prefix = prefix_of(&gone);
        if index == 0
            && !gone_prefix.contains('#')
            && let Some(next) = array.get_mut(0)
        {
            let next_prefix = prefix_of(next);
            let comment_lines =
                if next_prefix.contains('#') { next_prefix.trim_start().to_owned() } else { String::new() };
            next.decor_mut().set_prefix(format!("{gone_prefix}{comment_lines}"));
        }
    }
    if array.is_empty() {
        let trailing = array.trailing().as_str().unwrap_or_default().to_owned();
        if !trailing.contains('#') {
            array.set_trailing("");
            array.set_trailing_comma(false);
        }
    }
    let strings: Vec<String> = array.iter().map(|value| value.as_str().unwrap_or_default().to_owned()).collect();
    let sorted = strings.windows(2).all(|pair| pair[0] <= pair[1]);
    // How an entry after the first is spaced: like the second entry, or, in a one-entry array
    // written over several lines, like that entry; `, ` otherwise. Comment lines above an entry
    // belong to it, so only the spacing is copied.
    let spacing = |prefix: String| match prefix.rfind('\n') {
        Some(newline) if prefix.contains('#') => format!("\n{}", &prefix[newline + 1..]),
        _ => prefix,
    };
    let first_prefix = array.get(0).map(prefix_of).unwrap_or_default();
    let other_prefix = spacing(match (array.get(1), first_prefix.contains('\n')) {
        (Some(second), _) => prefix_of(second),
        (None, true) => first_prefix.clone(),
        (None, false) => " ".to_owned(),
    });
    for name in added {
        let position = if sorted {
            array.iter().position(|value| value.as_str().is_some_and(|existing| existing > name.as_str()))
        } else {
            None
        }
        .unwrap_or(array.len());
        let mut value = toml_edit::Value::from(name.as_str());
        if position == 0 {
            let first_prefix = array.get(0).map(prefix_of).unwrap_or_default();
            value.decor_mut().set_prefix(spacing(first_prefix.clone()));
            if let Some(first) = array.get_mut(0)
                && !first_prefix.contains('#')
            {
                first.decor_mut().set_prefix(other_prefix.clone());
            }
        } else {
            value.decor_mut().set_prefix(other_prefix.clone());
        }
        value.decor_mut().set_suffix("");
        array.insert_formatted(position, value);
    }
}

/// The changes as a unified diff without context lines: one hunk per changed array.
pub(crate) fn diff(plan: &SyncPlan, file: &str) -> String {
    if plan.is_up_to_date() {
        return String::new();
    }
    let old_lines: Vec<&str> = plan.old_text.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = plan.new_text.split_inclusive('\n').collect();
    // The texts differ only inside arrays: walk both, pairing equal lines from the start and
    // from the end of each differing stretch.
    let mut out = format!("--- {file}\n+++ {file}\n");
    let (mut old_at, mut new_at) = (0, 0);
    while old_at < old_lines.len() || new_at < new_lines.len() {
        if old_at < old_lines.len() && new_at < new_lines.len() && old_lines[old_at] == new_lines[new_at] {
            old_at += 1;
            new_at += 1;
            continue;
        }
        // Find the next line where the two agree again, the nearest first.
        let (old_end, new_end) = resync(&old_lines, &new_lines, old_at, new_at);
        let header = format!("@@ -{},{} +{},{} @@\n", old_at + 1, old_end - old_at, new_at + 1, new_end - new_at);
        out.push_str(&header);
        for line in &old_lines[old_at..old_end] {
            out.push('-');
            out.push_str(line.trim_end_matches('\n'));
            out.push('\n');
        }
        for line in &new_lines[new_at..new_end] {
            out.push('+');
            out.push_str(line.trim_end_matches('\n'));
            out.push('\n');
        }
        old_at = old_end;
        new_at = new_end;
    }
    out
}

/// The first pair of positions, at or after the given ones, from which the two texts agree for
/// the rest of a line: the smallest total distance wins.
fn resync(old: &[&str], new: &[&str], old_at: usize, new_at: usize) -> (usize, usize) {
    let mut best = (old.len(), new.len());
    let mut best_cost = usize::MAX;
    for old_end in old_at..=old.len() {
        for new_end in new_at..=new.len() {
            let cost = (old_end - old_at) + (new_end - new_at);
            if cost >= best_cost {
                break;
            }
            let agrees = match (old.get(old_end), new.get(new_end)) {
                (Some(a), Some(b)) => a == b,
                (None, None) => true,
                _ => false,
            };
            if agrees {
                best = (old_end, new_end);
                best_cost = cost;
            }
        }
    }
    best
}

/// What sync says about one module, one line per change.
pub(crate) fn describe(plan: &SyncPlan) -> Vec<String> {
    let mut lines = Vec::new();
    for module in &plan.modules {
        for name in &module.added {
            lines.push(format!("[modules.{}] depends_on: added \"{name}\" (its code uses it)", module.module));
        }
        for name in &module.removed {
            lines.push(format!("[modules.{}] depends_on: removed \"{name}\" (its code never uses it)", module.module));
        }
        for (name, why) in &module.refused {
            lines.push(format!(
                "[modules.{}] depends_on: not added \"{name}\": its code uses it, but {why}; fix the code (`cargo seams check` reports each use)",
                module.module
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The array `written`, with `removed` taken out and `added` put in, as sync writes it.
    fn edited(written: &str, removed: &[&str], added: &[&str]) -> String {
        let mut value: toml_edit::Value = written.parse().unwrap();
        let owned = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
        edit_array(value.as_array_mut().unwrap(), &owned(removed), &owned(added));
        value.to_string().trim().to_owned()
    }

    #[test]
    fn one_line_arrays_keep_their_spacing() {
        assert_eq!(edited(r#"["a", "b"]"#, &["a"], &[]), r#"["b"]"#);
        assert_eq!(edited(r#"["a", "b"]"#, &["b"], &[]), r#"["a"]"#);
        assert_eq!(edited(r#"[ "c" ,"a"  ]"#, &["c", "a"], &[]), "[]");
        assert_eq!(edited("[]", &[], &["a", "b"]), r#"["a", "b"]"#);
        assert_eq!(edited(r#"["b", "d"]"#, &[], &["a", "c"]), r#"["a", "b", "c", "d"]"#);
        // Unsorted arrays get new entries at their end.
        assert_eq!(edited(r#"["d", "b"]"#, &[], &["a"]), r#"["d", "b", "a"]"#);
    }

    #[test]
    fn multi_line_arrays_keep_their_layout_and_comments_go_with_their_entry() {
        let written = "[\n    \"b\",\n    # d was for the old report\n    \"d\",\n]";
        assert_eq!(edited(written, &["d"], &["c"]), "[\n    \"b\",\n    \"c\",\n]");
        assert_eq!(edited(written, &["b"], &[]), "[\n    # d was for the old report\n    \"d\",\n]");
        assert_eq!(
            edited(written, &[], &["a"]),
            "[\n    \"a\",\n    \"b\",\n    # d was for the old report\n    \"d\",\n]"
        );
        // A comment after the last entry is the array's own, and stays.
        assert_eq!(edited("[\n    \"b\", # why b\n]", &["b"], &[]), "[ # why b\n]");
    }

    #[test]
    fn the_quick_fix_adds_one_entry_and_keeps_every_other_byte() {
        let text = "# the app\n[modules.web]  # front\ncrate = \"web\"\ndepends_on = [\"a\"]  # why\n\n[modules.core]\ncrate = \"core\"\ndepends_on = [\n    \"a\",\n    \"b\", # kept\n]\n";
        let web = add_dependency(text, "web", "core").unwrap();
        assert_eq!(web, text.replace("depends_on = [\"a\"]  # why", "depends_on = [\"a\", \"core\"]  # why"));
        let core = add_dependency(text, "core", "web").unwrap();
        assert!(core.contains("# kept") && core.contains("\"web\""), "{core}");
        assert_eq!(core.replace(" # kept", "").matches('\n').count(), text.matches('\n').count() + 1, "{core}");
        assert_eq!(add_dependency(text, "web", "a"), None, "already declared");
        assert_eq!(add_dependency(text, "nowhere", "a"), None);
        let empty = add_dependency("[modules.x]\ncrate = \"x\"\ndepends_on = []\n", "x", "y").unwrap();
        assert_eq!(empty, "[modules.x]\ncrate = \"x\"\ndepends_on = [\"y\"]\n");
    }
}
