//! What each module may name of the crates from outside the workspace: its `external` and
//! `forbid_external` together with those of `[defaults]`. The outside crates that manifests list
//! are in `manifests.rs`.

use crate::config::{Config, ConfigError, ConfigErrorKind, ModuleConfig, crate_pattern_matches, normalize_crate_name};
use toml::Spanned;

use crate::workspace::BUILTIN_CRATES;

/// One module's rules for crates from outside the workspace, with every pattern normalized.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExternalPolicy {
    own_external: Option<Vec<String>>,
    own_forbid: Vec<String>,
    default_external: Option<Vec<String>>,
    default_forbid: Vec<String>,
}

/// Where the setting that decides a crate's fate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Module,
    Defaults,
}

/// Whether a module may name an outside crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExternalVerdict {
    Allowed,
    /// A `forbid_external` pattern names it.
    Forbidden {
        pattern: String,
        level: Level,
    },
    /// An `external` list applies, and none of its patterns names it.
    NotListed {
        level: Level,
    },
}

impl ExternalPolicy {
    /// The policy of a module of `config`.
    pub(crate) fn of(config: &Config, module: &ModuleConfig) -> ExternalPolicy {
        let normalized = |patterns: &[Spanned<String>]| -> Vec<String> {
            patterns.iter().map(|pattern| normalize_crate_name(pattern.get_ref())).collect()
        };
        ExternalPolicy {
            own_external: module.external.as_deref().map(normalized),
            own_forbid: normalized(&module.forbid_external),
            default_external: config.defaults.external.as_deref().map(normalized),
            default_forbid: normalized(&config.defaults.forbid_external),
        }
    }

    /// Whether the module may name every outside crate: nothing restricts it.
    pub(crate) fn is_open(&self) -> bool {
        self.own_external.is_none()
            && self.own_forbid.is_empty()
            && self.default_external.is_none()
            && self.default_forbid.is_empty()
    }

    /// Whether the module may name the crate of this package. The module's own lists come first:
    /// its `forbid_external`, then its `external`, which, when present, alone decides (so that a
    /// module may list a crate that `[defaults] forbid_external` forbids the others); then the
    /// lists of `[defaults]` in the same order. At one level, `forbid_external` wins over a
    /// pattern of `external` that also covers the crate (`serde*` but not `serde_yaml`).
    pub(crate) fn verdict(&self, package: &str) -> ExternalVerdict {
        let name = normalize_crate_name(package);
        if BUILTIN_CRATES.contains(&name.as_str()) {
            return ExternalVerdict::Allowed;
        }
        let forbidden_by =
            |patterns: &[String]| patterns.iter().find(|pattern| crate_pattern_matches(pattern, &name)).cloned();
        let listed_in = |patterns: &[String]| patterns.iter().any(|pattern| crate_pattern_matches(pattern, &name));
        if let Some(pattern) = forbidden_by(&self.own_forbid) {
            return ExternalVerdict::Forbidden { pattern, level: Level::Module };
        }
        if let Some(external) = &self.own_external {
            return match listed_in(external) {
                true => ExternalVerdict::Allowed,
                false => ExternalVerdict::NotListed { level: Level::Module },
            };
        }
        if let Some(pattern) = forbidden_by(&self.default_forbid) {
            return ExternalVerdict::Forbidden { pattern, level: Level::Defaults };
        }
        match &self.default_external {
            Some(external) if !listed_in(external) => ExternalVerdict::NotListed { level: Level::Defaults },
            _ => ExternalVerdict::Allowed,
        }
    }
}

/// Refuses a `forbid_external` that names a crate every crate may always use.
pub(crate) fn validate_builtins(config: &Config) -> Result<(), ConfigError> {
    let lists = std::iter::once(("[defaults]".to_owned(), &config.defaults.forbid_external))
        .chain(config.modules.iter().map(|module| (format!("[modules.{}]", module.name), &module.forbid_external)));
    for (table, forbid_external) in lists {
        for pattern in forbid_external {
            let name = normalize_crate_name(pattern.get_ref());
            if BUILTIN_CRATES.contains(&name.as_str()) {
                return Err(config.error(
                    ConfigErrorKind::ContradictoryExternal,
                    pattern.span(),
                    format!("`forbid_external` in {table} forbids `{name}`, which every crate may always use"),
                    "`std`, `core`, `alloc`, `proc_macro` and `test` cannot be forbidden: remove the entry".to_owned(),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn policy(text: &str) -> ExternalPolicy {
        let config = Config::parse(Path::new("boundaries.toml"), text.to_owned()).unwrap();
        ExternalPolicy::of(&config, &config.modules[0])
    }

    #[test]
    fn a_module_list_decides_before_the_defaults() {
        let text = "[defaults]\nforbid_external = [\"sqlx\"]\nexternal = [\"serde\"]\n[modules.a]\ncrate = \"a\"\n";
        let inherited = policy(text);
        assert_eq!(
            inherited.verdict("sqlx"),
            ExternalVerdict::Forbidden { pattern: "sqlx".into(), level: Level::Defaults }
        );
        assert_eq!(inherited.verdict("tokio"), ExternalVerdict::NotListed { level: Level::Defaults });
        assert_eq!(inherited.verdict("serde"), ExternalVerdict::Allowed);
        assert_eq!(inherited.verdict("std"), ExternalVerdict::Allowed);
        let own = policy(&format!("{text}external = [\"sqlx\", \"serde*\"]\nforbid_external = [\"serde-yaml\"]\n"));
        assert_eq!(own.verdict("sqlx"), ExternalVerdict::Allowed);
        assert_eq!(own.verdict("serde_json"), ExternalVerdict::Allowed);
        assert_eq!(
            own.verdict("serde_yaml"),
            ExternalVerdict::Forbidden { pattern: "serde_yaml".into(), level: Level::Module }
        );
        assert_eq!(own.verdict("tokio"), ExternalVerdict::NotListed { level: Level::Module });
        assert!(!own.is_open());
        assert!(policy("[modules.a]\ncrate = \"a\"\n").is_open());
    }
}
