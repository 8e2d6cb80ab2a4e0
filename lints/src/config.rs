//! `boundaries.toml`: the declared modules, their public names, allowed dependencies and owned tables.
//!
//! Every value keeps its byte span in the file, so that a configuration error, or a violation that
//! a setting causes, can point at the exact place in `boundaries.toml`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

/// The name of the configuration file at the workspace root.
pub(crate) const CONFIG_FILE_NAME: &str = "boundaries.toml";

/// The public names a module has when neither it nor `[defaults]` says otherwise.
pub(crate) const DEFAULT_PUBLIC: &[&str] = &["api"];

/// A parsed and syntactically validated `boundaries.toml`.
///
/// Checks that need the workspace (does the crate exist, does the path exist) happen when the
/// model is built, with the same span information.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) path: PathBuf,
    pub(crate) source: Arc<String>,
    pub(crate) defaults: Defaults,
    /// Modules in the order they appear in the file.
    pub(crate) modules: Vec<ModuleConfig>,
    /// `[layers] order`, highest layer first: each layer's module names with their spans.
    pub(crate) layers: Vec<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    pub(crate) public: Vec<Spanned<String>>,
    pub(crate) include_tests: bool,
    pub(crate) require_owner: bool,
    /// Every `depends_on` entry must be used: `unused-dependency` is an error rather than a warning.
    pub(crate) exact: bool,
    /// The baseline file, relative to the workspace root, when configured.
    pub(crate) baseline: Option<Spanned<String>>,
    /// Outside crates that modules without an `external` of their own may name (absent: any).
    pub(crate) external: Option<Vec<Spanned<String>>>,
    /// Outside crates that no module may name unless its own `external` lists them.
    pub(crate) forbid_external: Vec<Spanned<String>>,
    /// Rules whose severity is changed from `error`.
    pub(crate) severity: BTreeMap<crate::diagnostic::RuleCode, crate::diagnostic::Severity>,
}

#[derive(Debug, Clone)]
pub(crate) struct ModuleConfig {
    pub(crate) name: String,
    /// The span of the module's table header key (`orders` in `[modules.orders]`).
    pub(crate) name_span: Range<usize>,
    pub(crate) crate_name: Spanned<String>,
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) public: Option<Vec<Spanned<String>>>,
    pub(crate) depends_on: Option<Vec<Spanned<String>>>,
    /// Modules this one must not reach by any chain.
    pub(crate) forbid: Vec<Spanned<String>>,
    /// The only crates from outside the workspace that the module's code may name; `None`
    /// leaves it to `[defaults]`.
    pub(crate) external: Option<Vec<Spanned<String>>>,
    /// Crates from outside the workspace that the module's code must not name, besides those of
    /// `[defaults]`.
    pub(crate) forbid_external: Vec<Spanned<String>>,
    pub(crate) tables: Vec<Spanned<String>>,
    pub(crate) why: Option<String>,
    pub(crate) instructions: Option<String>,
}

impl ModuleConfig {
    /// The module path segments inside the crate (`modules::orders` gives `["modules", "orders"]`).
    pub(crate) fn path_segments(&self) -> Vec<String> {
        match &self.path {
            None => Vec::new(),
            Some(path) => path
                .get_ref()
                .split("::")
                .map(|segment| segment.trim().to_owned())
                .filter(|segment| !segment.is_empty() && segment != "crate")
                .collect(),
        }
    }
}

impl Config {
    /// The public names that apply to a module: its own list, or the defaults.
    pub(crate) fn public_names<'a>(&'a self, module: &'a ModuleConfig) -> &'a [Spanned<String>] {
        module.public.as_deref().unwrap_or(&self.defaults.public)
    }

    /// Reads and parses `boundaries.toml` at `path`.
    pub(crate) fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                ConfigError::missing(path)
            } else {
                ConfigError::Unreadable { path: path.to_owned(), message: error.to_string() }
            }
        })?;
        Config::parse(path, text)
    }

    /// Parses the text of a `boundaries.toml`; `path` is only used in messages.
    pub(crate) fn parse(path: &Path, text: String) -> Result<Config, ConfigError> {
        let source = Arc::new(text);
        let raw: RawConfig = toml::from_str(&source).map_err(|error| {
            let span = error.span().unwrap_or(0..0);
            let message = error.message().trim().to_owned();
            let kind = if message.starts_with("unknown field") {
                ConfigErrorKind::UnknownKey
            } else {
                ConfigErrorKind::InvalidToml
            };
            let help = match kind {
                ConfigErrorKind::UnknownKey => {
                    "remove the key, or check its spelling against docs/configuration.md".to_owned()
                }
                _ => "fix the TOML syntax; see docs/configuration.md for the format".to_owned(),
            };
            ConfigError::in_file(kind, path, &source, span, message, help)
        })?;

        let defaults = raw.defaults.unwrap_or_default();
        let severity_entries = defaults.severity.clone().unwrap_or_default();
        let default_public = defaults
            .public
            .unwrap_or_else(|| DEFAULT_PUBLIC.iter().map(|name| Spanned::new(0..0, (*name).to_owned())).collect());
        let mut modules: Vec<ModuleConfig> = raw
            .modules
            .unwrap_or_default()
            .into_iter()
            .map(|(name, module)| ModuleConfig {
                name_span: name.span(),
                name: name.into_inner(),
                crate_name: module.crate_name,
                path: module.path,
                public: module.public,
                depends_on: module.depends_on,
                forbid: module.forbid.unwrap_or_default(),
                external: module.external,
                forbid_external: module.forbid_external.unwrap_or_default(),
                tables: module.tables.unwrap_or_default(),
                why: module.why,
                instructions: module.instructions,
            })
            .collect();
        modules.sort_by_key(|module| module.name_span.start);

        let mut config = Config {
            path: path.to_owned(),
            source,
            defaults: Defaults {
                public: default_public,
                include_tests: defaults.include_tests.unwrap_or(false),
                require_owner: defaults.require_owner.unwrap_or(false),
                exact: defaults.exact.unwrap_or(false),
                baseline: defaults.baseline,
                external: defaults.external,
                forbid_external: defaults.forbid_external.unwrap_or_default(),
                severity: BTreeMap::new(),
            },
            modules,
            layers: Vec::new(),
        };
        config.layers = raw.layers.map(|layers| config.split_layers(&layers.order)).unwrap_or_default();
        config.validate_names()?;
        config.validate_layers_and_forbid()?;
        config.validate_external()?;
        for (rule, level) in severity_entries {
            let Some(code) =
                crate::diagnostic::RuleCode::ALL.iter().copied().find(|code| code.as_str() == rule.get_ref())
            else {
                let known: Vec<&str> = crate::diagnostic::RuleCode::ALL.iter().map(|code| code.as_str()).collect();
                return Err(config.error(
                    ConfigErrorKind::UnknownKey,
                    rule.span(),
                    format!("`{}` is not a rule", rule.get_ref()),
                    format!("severity takes rule codes: {}", known.join(", ")),
                ));
            };
            let severity = match level.get_ref().as_str() {
                "error" => crate::diagnostic::Severity::Error,
                "warn" | "warning" => crate::diagnostic::Severity::Warning,
                _ => {
                    return Err(config.error(
                        ConfigErrorKind::InvalidToml,
                        level.span(),
                        format!("severity `{}` is neither `error` nor `warn`", level.get_ref()),
                        "write `error` (fails the run) or `warn` (reported, never fails the run)".to_owned(),
                    ));
                }
            };
            config.defaults.severity.insert(code, severity);
        }
        Ok(config)
    }

    /// Checks what can be checked without the workspace: dependency names and glob syntax.
    fn validate_names(&self) -> Result<(), ConfigError> {
        for module in &self.modules {
            for dependency in module.depends_on.iter().flatten() {
                if !self.modules.iter().any(|other| other.name == *dependency.get_ref()) {
                    let known: Vec<&str> = self.modules.iter().map(|m| m.name.as_str()).collect();
                    return Err(self.error(
                        ConfigErrorKind::UnknownDependency,
                        dependency.span(),
                        format!(
                            "module `{}` depends on `{}`, which is not a module in this file",
                            module.name,
                            dependency.get_ref()
                        ),
                        format!("use one of the declared modules: {}", known.join(", ")),
                    ));
                }
            }
            for pattern in module.tables.iter() {
                if let Err(problem) = validate_glob(pattern.get_ref()) {
                    return Err(self.error(
                        ConfigErrorKind::BadGlob,
                        pattern.span(),
                        format!("table pattern `{}` is not a valid glob: {problem}", pattern.get_ref()),
                        "write an exact table name, or a pattern where `*` stands for any text (for example `orders_*`)"
                            .to_owned(),
                    ));
                }
            }
            for name in module.public.iter().flatten().chain(&self.defaults.public) {
                let name_text = name.get_ref();
                let valid = name_text == "*"
                    || (!name_text.is_empty() && name_text.chars().all(|c| c.is_alphanumeric() || c == '_'));
                if !valid {
                    return Err(self.error(
                        ConfigErrorKind::BadGlob,
                        name.span(),
                        format!("public name `{name_text}` is neither an identifier nor `*`"),
                        "list the names directly under the module's root that other modules may use, or `*` for all"
                            .to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The layer (0 is the highest) that `[layers] order` puts a module in.
    pub(crate) fn layer_of(&self, module: &str) -> Option<usize> {
        self.layers.iter().position(|layer| layer.iter().any(|name| name.get_ref() == module))
    }

    /// Splits each entry of `order` at `|` into module names, each with the span of its own text
    /// inside the string when the string is written without escapes (its whole span otherwise).
    fn split_layers(&self, order: &[Spanned<String>]) -> Vec<Vec<Spanned<String>>> {
        order
            .iter()
            .map(|entry| {
                let span = entry.span();
                let written = self.source.get(span.clone()).unwrap_or_default();
                // The text between the quotes, when it is exactly the value.
                let inner = written.get(1..written.len().saturating_sub(1)).filter(|inner| inner == entry.get_ref());
                let mut offset = 0;
                entry
                    .get_ref()
                    .split('|')
                    .map(|part| {
                        let name = part.trim();
                        let name_span = match inner {
                            Some(_) => {
                                let start = span.start + 1 + offset + (part.len() - part.trim_start().len());
                                start..start + name.len().max(1)
                            }
                            None => span.clone(),
                        };
                        offset += part.len() + 1;
                        Spanned::new(name_span, name.to_owned())
                    })
                    .collect()
            })
            .collect()
    }

    /// Checks `[layers]` and every `forbid`: each names modules of the file, a module is in one
    /// layer only, and no module forbids what its `depends_on` allows.
    fn validate_layers_and_forbid(&self) -> Result<(), ConfigError> {
        let known: Vec<&str> = self.modules.iter().map(|m| m.name.as_str()).collect();
        let unknown = |name: &Spanned<String>, what: &str| {
            self.error(
                ConfigErrorKind::UnknownModule,
                name.span(),
                if name.get_ref().is_empty() {
                    format!("an empty module name in {what}")
                } else {
                    format!("{what} names `{}`, which is not a module in this file", name.get_ref())
                },
                format!("use one of the declared modules: {}", known.join(", ")),
            )
        };
        let mut seen: BTreeMap<&str, Range<usize>> = BTreeMap::new();
        for name in self.layers.iter().flatten() {
            if !known.contains(&name.get_ref().as_str()) {
                return Err(unknown(name, "`[layers] order`"));
            }
            if let Some(first) = seen.insert(name.get_ref(), name.span()) {
                let (line, _) = crate::diagnostic::line_column(&self.source, first.start);
                return Err(self.error(
                    ConfigErrorKind::DuplicateLayer,
                    name.span(),
                    format!("module `{}` is in `[layers] order` twice (first on line {line})", name.get_ref()),
                    "a module is in one layer: remove one of the two".to_owned(),
                ));
            }
        }
        for module in &self.modules {
            for name in &module.forbid {
                if !known.contains(&name.get_ref().as_str()) {
                    return Err(unknown(name, &format!("`forbid` of module `{}`", module.name)));
                }
                if let Some(allowed) =
                    module.depends_on.iter().flatten().find(|allowed| allowed.get_ref() == name.get_ref())
                {
                    let (line, _) = crate::diagnostic::line_column(&self.source, allowed.span().start);
                    return Err(self.error(
                        ConfigErrorKind::ContradictoryForbid,
                        name.span(),
                        format!(
                            "module `{}` forbids `{}`, which its `depends_on` allows (line {line})",
                            module.name,
                            name.get_ref()
                        ),
                        "remove the module from `depends_on` or from `forbid`".to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks `external` and `forbid_external`, in `[defaults]` and in each module: every pattern
    /// is a crate name (or a pattern of one with `*`), and no pattern is both allowed and
    /// forbidden at the same level. (The model refuses to forbid a crate that is always allowed.)
    fn validate_external(&self) -> Result<(), ConfigError> {
        let levels =
            std::iter::once((
                "[defaults]".to_owned(),
                self.defaults.external.as_deref(),
                &self.defaults.forbid_external,
            ))
            .chain(self.modules.iter().map(|module| {
                (format!("[modules.{}]", module.name), module.external.as_deref(), &module.forbid_external)
            }));
        for (table, external, forbid_external) in levels {
            let patterns = external.into_iter().flatten().map(|pattern| ("external", pattern));
            for (key, pattern) in patterns.chain(forbid_external.iter().map(|pattern| ("forbid_external", pattern))) {
                if let Err(problem) = validate_crate_pattern(pattern.get_ref()) {
                    let message = match pattern.get_ref().trim().is_empty() {
                        true => format!("an empty crate name in `{key}` of {table}"),
                        false => {
                            format!("`{}` in `{key}` of {table} is not a crate name: {problem}", pattern.get_ref())
                        }
                    };
                    return Err(self.error(
                        ConfigErrorKind::BadGlob,
                        pattern.span(),
                        message,
                        "write a crate's package name as Cargo.toml gives it (`serde_json`), or a pattern where `*` stands for any text (`serde*`)"
                            .to_owned(),
                    ));
                }
            }
            for forbidden in forbid_external {
                let name = normalize_crate_name(forbidden.get_ref());
                if let Some(allowed) =
                    external.into_iter().flatten().find(|allowed| normalize_crate_name(allowed.get_ref()) == name)
                {
                    let (line, _) = crate::diagnostic::line_column(&self.source, allowed.span().start);
                    return Err(self.error(
                        ConfigErrorKind::ContradictoryExternal,
                        forbidden.span(),
                        format!(
                            "`{}` is both in `external` (line {line}) and in `forbid_external` of {table}",
                            forbidden.get_ref()
                        ),
                        "remove it from one of the two lists".to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Builds a configuration error that points at `span` in this file.
    pub(crate) fn error(
        &self,
        kind: ConfigErrorKind,
        span: Range<usize>,
        message: String,
        help: String,
    ) -> ConfigError {
        ConfigError::in_file(kind, &self.path, &self.source, span, message, help)
    }
}

/// A crate name as rustc sees it: Cargo turns `-` in a package name into `_`, so `serde-json`
/// and `serde_json` are one crate to compare.
pub(crate) fn normalize_crate_name(name: &str) -> String {
    name.trim().replace('-', "_")
}

/// Whether a crate name (normalized) matches an `external` or `forbid_external` pattern
/// (normalized), in which `*` stands for any text.
pub(crate) fn crate_pattern_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(index) => rest = &rest[index + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Checks the syntax of an `external` or `forbid_external` pattern.
fn validate_crate_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern.trim().is_empty() {
        return Err("it is empty");
    }
    if !pattern.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*')) {
        return Err("a crate name has only letters, digits, `_` and `-`, and `*` is the only wildcard");
    }
    Ok(())
}

/// Checks the glob syntax of a table ownership pattern.
///
/// Only `*` is special; brackets and braces are refused rather than taken literally, because a
/// user who writes them expects glob classes that the matcher does not give.
fn validate_glob(pattern: &str) -> Result<(), &'static str> {
    if pattern.trim().is_empty() {
        return Err("it is empty");
    }
    if pattern.contains(['[', ']', '{', '}', '?', '!']) {
        return Err("only `*` is a wildcard; `[`, `]`, `{`, `}`, `?` and `!` are not allowed");
    }
    if pattern.contains("**") {
        return Err("`**` has no meaning in a table name; use a single `*`");
    }
    if pattern.split('.').any(str::is_empty) {
        return Err("a schema and a table name are separated by one `.`, and neither may be empty");
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    defaults: Option<RawDefaults>,
    layers: Option<RawLayers>,
    modules: Option<BTreeMap<Spanned<String>, RawModule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayers {
    order: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    public: Option<Vec<Spanned<String>>>,
    include_tests: Option<bool>,
    require_owner: Option<bool>,
    exact: Option<bool>,
    baseline: Option<Spanned<String>>,
    severity: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    external: Option<Vec<Spanned<String>>>,
    forbid_external: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    #[serde(rename = "crate")]
    crate_name: Spanned<String>,
    path: Option<Spanned<String>>,
    public: Option<Vec<Spanned<String>>>,
    depends_on: Option<Vec<Spanned<String>>>,
    forbid: Option<Vec<Spanned<String>>>,
    external: Option<Vec<Spanned<String>>>,
    forbid_external: Option<Vec<Spanned<String>>>,
    tables: Option<Vec<Spanned<String>>>,
    why: Option<String>,
    instructions: Option<String>,
}

/// The kinds of configuration error, with stable names used in tests and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    MissingConfig,
    UnreadableConfig,
    InvalidToml,
    UnknownKey,
    UnknownCrate,
    MissingPath,
    DuplicateRoot,
    UnknownDependency,
    BadGlob,
    MissingBaseline,
    InvalidBaseline,
    UnknownModule,
    DuplicateLayer,
    ContradictoryForbid,
    ContradictoryExternal,
}

impl ConfigErrorKind {
    pub const ALL: &'static [ConfigErrorKind] = &[
        ConfigErrorKind::MissingConfig,
        ConfigErrorKind::UnreadableConfig,
        ConfigErrorKind::InvalidToml,
        ConfigErrorKind::UnknownKey,
        ConfigErrorKind::UnknownCrate,
        ConfigErrorKind::MissingPath,
        ConfigErrorKind::DuplicateRoot,
        ConfigErrorKind::UnknownDependency,
        ConfigErrorKind::BadGlob,
        ConfigErrorKind::MissingBaseline,
        ConfigErrorKind::InvalidBaseline,
        ConfigErrorKind::UnknownModule,
        ConfigErrorKind::DuplicateLayer,
        ConfigErrorKind::ContradictoryForbid,
        ConfigErrorKind::ContradictoryExternal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConfigErrorKind::MissingConfig => "missing-config",
            ConfigErrorKind::UnreadableConfig => "unreadable-config",
            ConfigErrorKind::InvalidToml => "invalid-toml",
            ConfigErrorKind::UnknownKey => "unknown-key",
            ConfigErrorKind::UnknownCrate => "unknown-crate",
            ConfigErrorKind::MissingPath => "missing-path",
            ConfigErrorKind::DuplicateRoot => "duplicate-root",
            ConfigErrorKind::UnknownDependency => "unknown-dependency",
            ConfigErrorKind::BadGlob => "bad-glob",
            ConfigErrorKind::MissingBaseline => "missing-baseline",
            ConfigErrorKind::InvalidBaseline => "invalid-baseline",
            ConfigErrorKind::UnknownModule => "unknown-module",
            ConfigErrorKind::DuplicateLayer => "duplicate-layer",
            ConfigErrorKind::ContradictoryForbid => "contradictory-forbid",
            ConfigErrorKind::ContradictoryExternal => "contradictory-external",
        }
    }
}

/// An error in `boundaries.toml`, or its absence. The command exits 2 on any of these.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    #[error("no {CONFIG_FILE_NAME} at {}", path.display())]
    #[diagnostic(
        code("missing-config"),
        help(
            "run `cargo xtask check-boundaries --init` (or `cargo seams check --init`) to write a starter file that describes the code as it is today, then tighten it"
        )
    )]
    Missing { path: PathBuf },

    #[error("cannot read {}: {message}", path.display())]
    #[diagnostic(code("unreadable-config"))]
    Unreadable { path: PathBuf, message: String },

    #[error("cannot read the baseline {}: {message}", path.display())]
    #[diagnostic(
        code("missing-baseline"),
        help(
            "a configured baseline must exist: create it with `--update-baseline`, or remove `baseline` from [defaults]"
        )
    )]
    MissingBaseline { path: PathBuf, message: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidConfig>),
}

/// A configuration error that points into `boundaries.toml`.
///
/// Its miette code is its kind's stable name (`unknown-key`, `bad-glob`, …), which a derive
/// cannot give because the code is a value, so `Diagnostic` is written out below.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InvalidConfig {
    pub(crate) kind: ConfigErrorKind,
    pub(crate) message: String,
    pub(crate) source_code: NamedSource<Arc<String>>,
    pub(crate) span: SourceSpan,
    pub(crate) label: String,
    pub(crate) help: String,
    /// The 1-based line and column of the span's start, for JSON and tests.
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Diagnostic for InvalidConfig {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.kind.as_str()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let label = miette::LabeledSpan::new_with_span(Some(self.label.clone()), self.span);
        Some(Box::new(std::iter::once(label)))
    }
}

impl ConfigError {
    fn missing(path: &Path) -> ConfigError {
        ConfigError::Missing { path: path.to_owned() }
    }

    /// An error that points into any TOML file of seams (the configuration or the baseline).
    pub(crate) fn in_file(
        kind: ConfigErrorKind,
        path: &Path,
        source: &Arc<String>,
        span: Range<usize>,
        message: String,
        help: String,
    ) -> ConfigError {
        let (line, column) = crate::diagnostic::line_column(source, span.start);
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
        ConfigError::Invalid(Box::new(InvalidConfig {
            kind,
            label: kind.as_str().replace('-', " "),
            message,
            source_code: NamedSource::new(name.unwrap_or_default(), Arc::clone(source)).with_language("TOML"),
            span: span.into(),
            help,
            line,
            column,
        }))
    }

    /// The stable kind of the error.
    pub fn kind(&self) -> ConfigErrorKind {
        match self {
            ConfigError::Missing { .. } => ConfigErrorKind::MissingConfig,
            ConfigError::Unreadable { .. } => ConfigErrorKind::UnreadableConfig,
            ConfigError::MissingBaseline { .. } => ConfigErrorKind::MissingBaseline,
            ConfigError::Invalid(invalid) => invalid.kind,
        }
    }

    /// The 1-based line and column the error points at, when it points into the file.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        match self {
            ConfigError::Invalid(invalid) => Some((invalid.line, invalid.column)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The miette code of an error, as a user sees it next to the message.
    fn code(error: &ConfigError) -> String {
        error.code().map(|code| code.to_string()).unwrap_or_default()
    }

    #[test]
    fn every_error_shows_its_kind_as_its_code() {
        let source = Arc::new("[modules.a]\ncrate = \"a\"\n".to_owned());
        let path = Path::new("boundaries.toml");
        for kind in ConfigErrorKind::ALL {
            let error = ConfigError::in_file(*kind, path, &source, 1..8, "message".to_owned(), "help".to_owned());
            assert_eq!(error.kind(), *kind);
            assert_eq!(code(&error), kind.as_str());
        }
        let path = PathBuf::from("boundaries.toml");
        let message = "denied".to_owned();
        for error in [
            ConfigError::missing(&path),
            ConfigError::Unreadable { path: path.clone(), message: message.clone() },
            ConfigError::MissingBaseline { path, message },
        ] {
            assert_eq!(code(&error), error.kind().as_str());
        }
    }

    #[test]
    fn crate_patterns_match_whole_names_with_stars_for_any_text() {
        let matches = |pattern: &str, name: &str| crate_pattern_matches(pattern, name);
        assert!(matches("serde", "serde"));
        assert!(!matches("serde", "serde_json"));
        assert!(matches("serde*", "serde_json") && matches("serde*", "serde"));
        assert!(matches("*_derive", "serde_derive") && !matches("*_derive", "serde_derives"));
        assert!(matches("tokio*util", "tokio_util") && !matches("tokio*util", "tokio"));
        assert!(matches("a*a", "aa") && !matches("a*a", "a"));
        assert!(matches("*", "anything"));
        assert_eq!(normalize_crate_name("tokio-util"), "tokio_util");
    }

    #[test]
    fn kind_names_are_unique_and_kebab_case() {
        let names: std::collections::BTreeSet<&str> = ConfigErrorKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(names.len(), ConfigErrorKind::ALL.len());
        for name in names {
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{name}");
        }
    }
}
