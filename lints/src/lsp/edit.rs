//! Edits of `boundaries.toml` that keep its comments, order and formatting (toml_edit).

use toml_edit::{Array, DocumentMut, Item, Value};

/// The file with `to` added to the `depends_on` of module `from`, formatted like the entries
/// already there; `None` when the module is not in the file or already depends on `to`.
pub(super) fn add_dependency(text: &str, from: &str, to: &str) -> Option<String> {
    let mut document: DocumentMut = text.parse().ok()?;
    let module = document.get_mut("modules")?.as_table_like_mut()?.get_mut(from)?.as_table_like_mut()?;
    match module.get_mut("depends_on") {
        Some(item) => {
            let array = item.as_array_mut()?;
            if array.iter().any(|value| value.as_str() == Some(to)) {
                return None;
            }
            push_like_the_others(array, to);
        }
        None => {
            let mut array = Array::new();
            array.push(to);
            module.insert("depends_on", Item::Value(Value::Array(array)));
        }
    }
    Some(document.to_string())
}

/// Appends a string with the spacing of the array's last entry: on its own line in a multi-line
/// array (a comment after the last entry stays on that entry's line), after `, ` in a one-line one.
fn push_like_the_others(array: &mut Array, entry: &str) {
    let last_prefix = array
        .iter()
        .last()
        .and_then(|last| last.decor().prefix())
        .and_then(|prefix| prefix.as_str())
        .map(str::to_owned);
    let trailing = array.trailing().as_str().unwrap_or_default().to_owned();
    let prefix = match last_prefix {
        Some(prefix) if prefix.contains('\n') => {
            // What follows the last entry up to its line's end (a comment) stays on that line.
            let indent = &prefix[prefix.rfind('\n').map_or(0, |index| index + 1)..];
            match trailing.rfind('\n') {
                Some(end) => {
                    array.set_trailing(format!("\n{}", &trailing[end + 1..]));
                    format!("{}{indent}", &trailing[..=end])
                }
                None => format!("\n{indent}"),
            }
        }
        Some(prefix) if !prefix.is_empty() => prefix,
        _ if array.is_empty() => String::new(),
        _ => " ".to_owned(),
    };
    let mut value = Value::from(entry);
    value.decor_mut().set_prefix(prefix);
    array.push_formatted(value);
}

#[cfg(test)]
mod tests {
    use super::add_dependency;

    #[test]
    fn one_line_arrays_multi_line_arrays_and_comments_keep_their_shape() {
        let text = "# the app\n[modules.web]  # front\ncrate = \"web\"\ndepends_on = [\"a\"]  # why\n\n[modules.core]\ncrate = \"core\"\ndepends_on = [\n    \"a\",\n    \"b\", # kept\n]\n";
        let web = add_dependency(text, "web", "core").unwrap();
        assert_eq!(web, text.replace("depends_on = [\"a\"]  # why", "depends_on = [\"a\", \"core\"]  # why"));
        let core = add_dependency(text, "core", "web").unwrap();
        assert!(core.contains("depends_on = [\n    \"a\",\n    \"b\", # kept\n    \"web\",\n]\n"), "{core}");
        assert_eq!(add_dependency(text, "web", "a"), None, "already declared");
        assert_eq!(add_dependency(text, "nowhere", "a"), None);
        let empty = add_dependency("[modules.x]\ncrate = \"x\"\ndepends_on = []\n", "x", "y").unwrap();
        assert_eq!(empty, "[modules.x]\ncrate = \"x\"\ndepends_on = [\"y\"]\n");
    }
}
