//! The JSON format: the whole view, every figure included, readable back with serde.

use super::view::GraphView;

/// Writes the view as pretty-printed JSON with a trailing newline.
///
/// The field order is the struct order, so the output is deterministic. Reading it back with
/// `serde_json::from_str::<GraphView>` gives an equal view (instability values included,
/// which needs serde_json's `float_roundtrip` feature).
pub fn render_json(view: &GraphView) -> String {
    // A GraphView holds only strings, integers, finite-or-null floats and plain enums, which
    // serde_json always serialises; the fallback keeps the function total all the same.
    let mut out = serde_json::to_string_pretty(view)
        .unwrap_or_else(|error| serde_json::json!({ "error": error.to_string() }).to_string());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::super::*;

    fn round_trip(view: &GraphView) -> GraphView {
        serde_json::from_str(&render_json(view)).unwrap()
    }

    #[test]
    fn every_sample_view_round_trips() {
        for view in [shop(), shop_with_tables(), hostile()] {
            assert_eq!(round_trip(&view), view);
        }
    }

    #[test]
    fn every_instability_value_round_trips_exactly() {
        let mut view = shop();
        for fan_out in 0..60_usize {
            for fan_in in 0..60_usize {
                let instability = (fan_in + fan_out > 0).then(|| fan_out as f64 / (fan_in + fan_out) as f64);
                view.nodes[0].metrics.instability = instability;
                assert_eq!(round_trip(&view).nodes[0].metrics.instability, instability);
            }
        }
    }

    #[test]
    fn blockers_are_tagged_by_kind_and_enums_are_kebab_case() {
        let mut view = shop_with_tables();
        view.nodes[0].metrics.instability = None;
        let out = render_json(&view);
        assert!(out.contains("\"kind\": \"inbound-internal-references\""));
        assert!(out.contains("\"kind\": \"foreign-table-accessed-by\""));
        assert!(out.contains("\"kind\": \"both\""));
        assert!(out.contains("\"kind\": \"owns\""));
        assert!(out.contains("\"cut_search\": \"exact\""));
        assert!(out.contains("\"instability\": null"));
        assert!(out.ends_with("}\n"));
    }

    #[test]
    fn output_is_deterministic() {
        let view = shop_with_tables();
        assert_eq!(render_json(&view), render_json(&view.clone()));
    }
}
