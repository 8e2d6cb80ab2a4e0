//! The one parse of a source file: syn reads it once, and this module extracts every fact that
//! any rule needs from it — resolved references, module declarations, string literals that may
//! hold SQL, and ORM table declarations.
//!
//! Resolution is local to the file: `use` imports, child modules and the crate's extern prelude
//! are all that a path's first segment can name, and all of them are visible from here. That is
//! what lets files be analysed independently and in parallel.

mod allows;
mod cfg;
mod facts;
mod resolve;
mod scopes;
mod sql_literals;
mod visitor;

use proc_macro2::TokenStream;
use syn::visit::Visit;

use crate::diagnostic::count_lines;
use crate::timings::{self, Stage};

use allows::find_allow_comments;
use cfg::is_test_only;
use scopes::ScopeCollector;
use sql_literals::extract_sql;
use visitor::Extractor;

pub(crate) use allows::AllowComment;
pub(crate) use facts::{FileContext, FileFacts, ParseFailure, Reference, ReferenceKind, TableUse, Target};

/// Parses `text` and extracts its facts.
pub(crate) fn analyse_source(context: &FileContext<'_>, text: &str) -> FileFacts {
    let mut facts = FileFacts { lines: count_lines(text), ..FileFacts::default() };
    let syntax = match parse_rust(text) {
        Ok(syntax) => syntax,
        Err(error) => {
            let span = error.span();
            let start = span.start();
            facts.parse_error = Some(ParseFailure {
                message: error.to_string(),
                line: start.line,
                column: start.column + 1,
                bytes: span.byte_range(),
            });
            return facts;
        }
    };

    // `#![cfg(test)]` at the top of a file makes the whole file test code.
    let whole_file_is_test = is_test_only(&syntax.attrs);
    if whole_file_is_test && !context.include_tests {
        return facts;
    }
    let context = &FileContext { in_test: context.in_test || whole_file_is_test, ..context.clone() };
    let mut allows = timings::time(Stage::Visit, || find_allow_comments(text));
    let scopes = timings::time(Stage::Visit, || {
        let mut scopes = ScopeCollector::new(context);
        scopes.visit_file(&syntax);
        facts.extern_crate_aliases = std::mem::take(&mut scopes.extern_crate_aliases);
        let scopes = scopes.finish();
        let test_context = FileContext { extern_prelude: context.test_extern_prelude, ..context.clone() };
        let mut extractor = Extractor {
            context,
            test_context: &test_context,
            scopes: &scopes,
            scope_stack: vec![0],
            test_depth: usize::from(context.in_test),
            facts: &mut facts,
            macro_stack: Vec::new(),
            skipped_test_items: (!allows.is_empty()).then(Vec::new),
        };
        extractor.visit_file(&syntax);
        // Test code that is not checked has no findings, so an allow inside it has nothing to do.
        if let Some(skipped) = extractor.skipped_test_items.take() {
            allows.retain(|allow| !skipped.iter().any(|range| range.contains(&allow.site.bytes.start)));
        }
        scopes
    });
    timings::time(Stage::Free, || drop(syntax));
    timings::time(Stage::Sql, || extract_sql(&mut facts, text));
    // Two inline modules may share a path (`#[cfg(unix)] mod imp {…}` and `#[cfg(not(unix))] mod
    // imp {…}`): each has a scope of its own, and the path is listed once.
    let mut inline_modules: Vec<Vec<String>> =
        scopes.module_scopes.iter().skip(1).map(|index| scopes.scopes[*index].path.clone()).collect();
    inline_modules.sort();
    inline_modules.dedup();
    facts.inline_modules = inline_modules;
    facts.allows = allows;
    facts
}

/// syn's `parse_file`, in its two steps, so that lexing and parsing are timed apart: the text
/// (without a byte-order mark) becomes tokens, then a syntax tree. A file that starts with a
/// shebang line goes through `parse_file` itself, which knows how to tell one from an inner
/// attribute.
fn parse_rust(text: &str) -> syn::Result<syn::File> {
    let content = text.strip_prefix('\u{feff}').unwrap_or(text);
    if content.starts_with("#!") {
        return timings::time(Stage::Parse, || syn::parse_file(text));
    }
    let tokens = timings::time(Stage::Lex, || content.parse::<TokenStream>())?;
    timings::time(Stage::Parse, || syn::parse2::<syn::File>(tokens))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::workspace::{ExternPrelude, PreludeCrate, UnitId};

    fn analyse(text: &str) -> FileFacts {
        let prelude: ExternPrelude = [
            ("other".to_owned(), PreludeCrate::Workspace(UnitId::new(1))),
            ("serde_json".to_owned(), PreludeCrate::External("serde_json".to_owned())),
            ("std".to_owned(), PreludeCrate::Unchecked),
        ]
        .into_iter()
        .collect();
        let context = FileContext {
            unit: UnitId::new(0),
            file: Path::new("/w/src/lib.rs"),
            module_path: &[],
            children_dir: Path::new("/w/src"),
            in_test: false,
            include_tests: false,
            extern_prelude: &prelude,
            test_extern_prelude: &prelude,
            root_extern_aliases: &BTreeMap::new(),
        };
        analyse_source(&context, text)
    }

    fn targets(facts: &FileFacts) -> Vec<String> {
        facts
            .references
            .iter()
            .map(|reference| {
                format!(
                    "{}:{} {}:{}",
                    reference.site.line,
                    reference.site.column,
                    reference.target.unit.index(),
                    reference.target.segments.join("::")
                )
            })
            .collect()
    }

    #[test]
    fn use_groups_resolve_each_leaf_at_its_own_place() {
        let facts = analyse("use crate::b::{\n    internal::X,\n    self as bee,\n};\nfn f() { bee::c::d(); }\n");
        assert_eq!(targets(&facts), ["2:5 0:b::internal::X", "3:5 0:b", "5:10 0:b::c::d"]);
        assert_eq!(facts.references[2].via_import.as_ref().unwrap().segments, ["b"]);
    }

    #[test]
    fn super_self_and_extern_crates_resolve() {
        let text = "mod a { fn f() { super::b::g(); self::h(); other::x::Y::new(); std::mem::drop(1); } }";
        assert_eq!(targets(&analyse(text)), ["1:18 0:b::g", "1:33 0:a::h", "1:44 1:x::Y::new"]);
    }

    /// The outside crates a file names, each as `line:column crate::path`, with `(via)` when the
    /// path goes through an import of the same module.
    fn externals(facts: &FileFacts) -> Vec<String> {
        facts
            .external_references
            .iter()
            .map(|reference| {
                let path = [vec![reference.package.clone()], reference.segments.clone()].concat().join("::");
                let via = if reference.via_import { " (via)" } else { "" };
                format!("{}:{} {path}{via}", reference.site.line, reference.site.column)
            })
            .collect()
    }

    #[test]
    fn outside_crates_are_recorded_through_imports_and_never_std() {
        let text = "use serde_json as json;\nfn f() -> json::Value { ::serde_json::from_str(\"\"); std::mem::drop(1); \
                    other::x::y(); mod inner { pub use serde_json::Map; } inner::Map::new() }";
        assert_eq!(
            externals(&analyse(text)),
            [
                "1:5 serde_json",
                "2:11 serde_json::Value (via)",
                "2:25 serde_json::from_str",
                "2:107 serde_json::Map",
                // Through the import of another module's scope: a reference of this one.
                "2:126 serde_json::Map::new",
            ]
        );
    }

    #[test]
    fn local_modules_and_types_shadow_outside_crates() {
        let text = "mod serde_json { pub fn f() {} }\nfn g() { serde_json::f(); }\n\
                    fn h() { enum serde_json { A } let _ = serde_json::A; }";
        assert_eq!(targets(&analyse(text)), ["2:10 0:serde_json::f"]);
        let text = "enum serde_json { A }\nfn g() { let _ = serde_json::A; }";
        assert!(externals(&analyse(text)).is_empty());
    }

    #[test]
    fn macro_tokens_are_scanned_but_strings_are_not_paths() {
        let facts = analyse("fn f() { println!(\"{} crate::no::path\", crate::x::y::z()); }");
        assert_eq!(targets(&facts), ["1:41 0:x::y::z"]);
    }

    #[test]
    fn test_code_is_skipped_unless_included() {
        let facts = analyse(
            "#[cfg(test)] mod tests { fn f() { crate::x::y(); } }\n#[cfg(not(test))] fn g() { crate::p::q(); }",
        );
        assert_eq!(targets(&facts), ["2:28 0:p::q"]);
    }

    #[test]
    fn sql_in_literals_maps_to_exact_places_through_escapes() {
        let text =
            "const Q: &str = \"SELECT \\\"id\\\"\\n  FROM orders\";\nconst R: &str = r#\"\n DELETE FROM \"Ledger\"\"#;";
        let facts = analyse(text);
        let found: Vec<(&str, &str, usize)> = facts
            .tables
            .iter()
            .map(|table| (table.name.as_str(), &text[table.site.bytes.clone()], table.site.line))
            .collect();
        assert_eq!(found, [("orders", "orders", 1), ("ledger", "\"Ledger\"", 3)]);
    }

    #[test]
    fn format_placeholders_keep_offsets_and_sentences_stay_silent() {
        let text = "fn f(t: &str) { let _ = format!(\"SELECT id FROM {t} JOIN orders ON {t}.id = orders.id\"); let _ = format!(\" with {t}\"); }";
        let facts = analyse(text);
        let found: Vec<&str> = facts.tables.iter().map(|table| &text[table.site.bytes.clone()]).collect();
        assert_eq!(found, ["orders"]);
        assert!(facts.sql_problems.is_empty(), "{:?}", facts.sql_problems);
        assert_eq!(sql_literals::blank_format_placeholders("a {x} {{y}} {}"), "a ___ {{y}} __");
    }

    #[test]
    fn diesel_and_sea_orm_tables_are_recorded() {
        let facts = analyse(
            "diesel::table! { users (id) { id -> Integer, } }\n#[sea_orm(table_name = \"Orders\")] struct Model;",
        );
        let names: Vec<&str> = facts.orm_tables.iter().map(|table| table.name.as_str()).collect();
        assert_eq!(names, ["users", "orders"]);
    }

    #[test]
    fn unparsable_text_reports_a_position() {
        let facts = analyse("fn f( {");
        assert!(facts.parse_error.is_some());
        assert!(facts.references.is_empty());
    }
}
