//! The allow comments of every file, resolved: each rule name is a rule of seams that a comment
//! can allow, or the comment gets an `invalid-allow` warning and is left out.

use std::collections::HashSet;
use std::sync::Arc;

use crate::diagnostic::{RuleCode, Site, SourceRef, Warning, WarningCode};
use crate::parse::SourceFile;

use super::modules::Modules;

/// A `seams:allow` comment whose rules are known.
#[derive(Debug, Clone)]
pub(crate) struct Allow {
    pub(crate) source: SourceRef,
    /// The module that owns the file, by name; empty for code in no module.
    pub(crate) module: String,
    /// The rules, each with the site of its name.
    pub(crate) rules: Vec<(RuleCode, Site)>,
    pub(crate) reason: Option<String>,
    pub(crate) comment: crate::extract::AllowComment,
}

/// Every file's allows, once per file even when two units include it, with a warning for each
/// comment that names no rule, a rule seams does not know, or one that cannot be allowed in code.
pub(crate) fn resolve_allows(modules: &Modules, files: &[SourceFile]) -> (Vec<Allow>, Vec<Warning>) {
    let mut allows = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for file in files {
        if file.facts.allows.is_empty() || !seen.insert(file.relative.as_str()) {
            continue;
        }
        let module =
            modules.owner_of(file.unit, &file.module_path).map(|id| modules[id].name.clone()).unwrap_or_default();
        for comment in &file.facts.allows {
            let warn = |site: &Site, message: String| Warning {
                code: WarningCode::InvalidAllow,
                file: file.relative.clone(),
                site: Some(site.clone()),
                message,
            };
            if comment.rules.is_empty() {
                warnings.push(warn(
                    &comment.site,
                    "this `seams:allow` names no rule: write `seams:allow(rule-code): reason`".to_owned(),
                ));
                continue;
            }
            let mut rules = Vec::new();
            for rule in &comment.rules {
                match RuleCode::ALL.iter().find(|code| code.as_str() == rule.name) {
                    Some(code) if code.can_be_allowed_in_code() => rules.push((*code, rule.site.clone())),
                    Some(code) => warnings.push(warn(
                        &rule.site,
                        format!(
                            "`{}` cannot be allowed in code: its findings have no one site in Rust code",
                            code.as_str()
                        ),
                    )),
                    None => {
                        let known: Vec<&str> = RuleCode::ALL
                            .iter()
                            .filter(|code| code.can_be_allowed_in_code())
                            .map(|code| code.as_str())
                            .collect();
                        warnings.push(warn(
                            &rule.site,
                            format!("`{}` is not a rule of seams (rules: {})", rule.name, known.join(", ")),
                        ));
                    }
                }
            }
            if rules.is_empty() {
                continue;
            }
            allows.push(Allow {
                source: SourceRef { file: file.relative.clone(), text: Arc::clone(&file.text) },
                module: module.clone(),
                rules,
                reason: comment.reason.clone(),
                comment: comment.clone(),
            });
        }
    }
    (allows, warnings)
}
