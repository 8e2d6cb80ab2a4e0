//! Attributes that decide what code is: `#[cfg(…)]` evaluated as if `test` were off, test
//! function attributes, and `#[path = "…"]`.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// The attributes of an item of an `impl` block.
pub(super) fn impl_item_attributes(item: &syn::ImplItem) -> &[syn::Attribute] {
    match item {
        syn::ImplItem::Const(item) => &item.attrs,
        syn::ImplItem::Fn(item) => &item.attrs,
        syn::ImplItem::Type(item) => &item.attrs,
        syn::ImplItem::Macro(item) => &item.attrs,
        _ => &[],
    }
}

/// The attributes of any item.
pub(super) fn item_attributes(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(item) => &item.attrs,
        syn::Item::Enum(item) => &item.attrs,
        syn::Item::ExternCrate(item) => &item.attrs,
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::ForeignMod(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        syn::Item::Macro(item) => &item.attrs,
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Static(item) => &item.attrs,
        syn::Item::Struct(item) => &item.attrs,
        syn::Item::Trait(item) => &item.attrs,
        syn::Item::TraitAlias(item) => &item.attrs,
        syn::Item::Type(item) => &item.attrs,
        syn::Item::Union(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        _ => &[],
    }
}

/// Whether attributes make an item test-only: a `#[cfg(…)]` that is false whenever `test` is
/// off, or a test function attribute (`#[test]`, `#[tokio::test]`, …).
pub(super) fn is_test_only(attributes: &[syn::Attribute]) -> bool {
    attributes.iter().any(|attribute| {
        let path = attribute.path();
        if path.segments.last().is_some_and(|segment| segment.ident == "test") {
            return true;
        }
        if !path.is_ident("cfg") {
            return false;
        }
        match &attribute.meta {
            syn::Meta::List(list) => {
                let trees: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
                evaluate_cfg_without_test(&trees) == CfgValue::False
            }
            _ => false,
        }
    })
}

/// What a `cfg` predicate is worth in a build without `test`, other options being unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CfgValue {
    True,
    False,
    Unknown,
}

/// Evaluates a `cfg(…)` predicate as if `test` were off and every other option unknown. The
/// item is test-only exactly when the predicate is then certainly false: `test`,
/// `all(test, unix)`; but not `any(test, feature = "x")`, which also builds outside tests.
pub(super) fn evaluate_cfg_without_test(trees: &[TokenTree]) -> CfgValue {
    let Some(first) = trees.first() else { return CfgValue::Unknown };
    let TokenTree::Ident(ident) = first else { return CfgValue::Unknown };
    let arguments = match trees.get(1) {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => Some(group.stream()),
        _ => None,
    };
    let operands = |stream: TokenStream| -> Vec<CfgValue> {
        let trees: Vec<TokenTree> = stream.into_iter().collect();
        trees
            .split(|tree| matches!(tree, TokenTree::Punct(punct) if punct.as_char() == ','))
            .filter(|part| !part.is_empty())
            .map(evaluate_cfg_without_test)
            .collect()
    };
    match (ident.to_string().as_str(), arguments) {
        ("test", None) if trees.len() == 1 => CfgValue::False,
        ("not", Some(stream)) => match operands(stream).as_slice() {
            [CfgValue::True] => CfgValue::False,
            [CfgValue::False] => CfgValue::True,
            _ => CfgValue::Unknown,
        },
        ("all", Some(stream)) => {
            let values = operands(stream);
            if values.contains(&CfgValue::False) {
                CfgValue::False
            } else if values.iter().all(|value| *value == CfgValue::True) {
                CfgValue::True
            } else {
                CfgValue::Unknown
            }
        }
        ("any", Some(stream)) => {
            let values = operands(stream);
            if values.contains(&CfgValue::True) {
                CfgValue::True
            } else if values.iter().all(|value| *value == CfgValue::False) {
                CfgValue::False
            } else {
                CfgValue::Unknown
            }
        }
        _ => CfgValue::Unknown,
    }
}

/// The value of a `#[path = "…"]` attribute.
pub(super) fn path_attribute(attribute: &syn::Attribute) -> Option<String> {
    if !attribute.path().is_ident("path") {
        return None;
    }
    match &attribute.meta {
        syn::Meta::NameValue(syn::MetaNameValue {
            value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(value), .. }),
            ..
        }) => Some(value.value()),
        _ => None,
    }
}
