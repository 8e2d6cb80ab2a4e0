//! What `layer-violation` and `forbidden-dependency` share: a finding at each written path into a
//! module that must not be used, and one per chain that reaches it through other modules.

use crate::diagnostic::{Finding, RuleCode, Violation, ViolationDetails, Words};
use crate::model::{Model, ModuleId};

use super::common::{reference_violation, with_guidance};

/// The two rules about which modules may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainRule {
    /// `[layers] order`.
    Layers,
    /// A module's `forbid`.
    Forbid,
}

impl ChainRule {
    fn code(self) -> RuleCode {
        match self {
            ChainRule::Layers => RuleCode::LayerViolation,
            ChainRule::Forbid => RuleCode::ForbiddenDependency,
        }
    }

    /// Why `from` may not use `to`, for messages.
    fn reason(self, model: &Model, from: ModuleId, to: ModuleId) -> String {
        let (from, to) = (&model.modules[from], &model.modules[to]);
        match self {
            ChainRule::Layers => {
                let layer = |module: &crate::model::Module| module.layer.map(|layer| layer + 1).unwrap_or_default();
                if from.layer == to.layer {
                    format!("`{}` is in the same layer of `[layers] order` (layer {})", to.name, layer(to))
                } else {
                    format!(
                        "`{}` is in layer {} of `[layers] order`, above `{}`'s layer {}",
                        to.name,
                        layer(to),
                        from.name,
                        layer(from)
                    )
                }
            }
            ChainRule::Forbid => format!("module `{}` forbids `{}`", from.name, to.name),
        }
    }

    fn help(self, model: &Model, from: ModuleId, to: ModuleId, chain: bool) -> String {
        let (from, to) = (&model.modules[from].name, &model.modules[to].name);
        let detour = if chain { " (cut one step of the chain)" } else { "" };
        match self {
            ChainRule::Layers => format!(
                "a layer may use only the layers below it: move what `{from}` needs from `{to}` down, or invert the dependency (`{to}` calls a trait that `{from}` owns){detour}"
            ),
            ChainRule::Forbid => format!(
                "remove the use{detour}; `forbid` in [modules.{from}] of boundaries.toml says `{from}` must never reach `{to}`"
            ),
        }
    }
}

/// Reports every written path from one module into another that `forbidden` refuses, except a
/// path through a `use` that already named the same module, which was reported at the `use`.
pub(crate) fn direct_violations(
    model: &Model,
    rule: &ChainRule,
    forbidden: &dyn Fn(ModuleId, ModuleId) -> bool,
    sink: &mut Vec<Violation>,
) {
    for cross in model.cross_module_references() {
        if !forbidden(cross.from, cross.to) {
            continue;
        }
        if let Some(via) = &cross.reference.via_import
            && model.target_owner(via).is_some_and(|(owner, _)| owner == cross.to)
        {
            continue;
        }
        let (from, to) = (&model.modules[cross.from].name, &model.modules[cross.to].name);
        let target = model.display_target(cross.file.unit, &cross.reference.target);
        let message = format!("module `{from}` uses `{to}` (`{target}`): {}", rule.reason(model, cross.from, cross.to));
        let label = match rule {
            ChainRule::Layers => format!("`{to}` is not in a lower layer"),
            ChainRule::Forbid => format!("`{to}` is forbidden here"),
        };
        let help = with_guidance(model, cross.to, rule.help(model, cross.from, cross.to, false));
        let mut violation = reference_violation(model, &cross, rule.code(), Words { message, label, help });
        violation.details = ViolationDetails::Chain { chain: vec![from.clone(), to.clone()] };
        sink.push(violation);
    }
}

/// The violation of a chain of three or more modules, at the first reference of its first step.
pub(crate) fn chain_violation(model: &Model, rule: &ChainRule, chain: &[ModuleId]) -> Violation {
    let names: Vec<String> = chain.iter().map(|module| model.modules[*module].name.clone()).collect();
    let (from, to) = (chain[0], chain[chain.len() - 1]);
    let shown = names.join(" → ");
    let first_step = model.graph.dependency(chain[0], chain[1]).and_then(|edge| edge.sites.first());
    let (source, site) = match first_step {
        Some(evidence) => (evidence.source.clone(), evidence.site.clone()),
        // A chain is made of code edges, each with at least one site; this is never reached.
        None => (
            crate::diagnostic::SourceRef { file: String::new(), text: std::sync::Arc::default() },
            crate::diagnostic::Site { line: 1, column: 1, bytes: 0..0 },
        ),
    };
    let message = format!(
        "module `{}` reaches `{}` through {}: {shown}",
        names[0],
        names[names.len() - 1],
        crate::text::plural(chain.len() - 2, "other module", "other modules"),
    );
    let message = format!("{message}; {}", rule.reason(model, from, to));
    let label = format!("first step of {shown}");
    let help = with_guidance(model, to, rule.help(model, from, to, true));
    Violation::new(
        rule.code(),
        Finding {
            from_module: names[0].clone(),
            to_module: names[names.len() - 1].clone(),
            source,
            site,
            target: names.join(" -> "),
        },
        Words { message, label, help },
        ViolationDetails::Chain { chain: names },
    )
}
