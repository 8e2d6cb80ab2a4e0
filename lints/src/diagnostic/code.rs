//! The stable codes of findings: every rule's code and severity, and every warning's code.

/// Where each rule's documentation lives; a rule's section is `#<rule-code>`.
pub(crate) const DOCS_RULES_URL: &str = "https://github.com/seams-rs/seams/blob/main/docs/rules.md";

/// Every rule's stable code. The same string is the miette code, the JSON `rule`, the SARIF
/// rule id, and a heading in `docs/rules.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleCode {
    InternalImport,
    UndeclaredDependency,
    ForeignTable,
    SharedTable,
    CrossModuleForeignKey,
    UnownedTable,
    DependencyCycle,
    LayerViolation,
    ForbiddenDependency,
    ExternalDependency,
    UnusedDependency,
    UnusedAllow,
    StaleBaseline,
}

impl RuleCode {
    pub const ALL: &'static [RuleCode] = &[
        RuleCode::InternalImport,
        RuleCode::UndeclaredDependency,
        RuleCode::ForeignTable,
        RuleCode::SharedTable,
        RuleCode::CrossModuleForeignKey,
        RuleCode::UnownedTable,
        RuleCode::DependencyCycle,
        RuleCode::LayerViolation,
        RuleCode::ForbiddenDependency,
        RuleCode::ExternalDependency,
        RuleCode::UnusedDependency,
        RuleCode::UnusedAllow,
        RuleCode::StaleBaseline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleCode::InternalImport => "internal-import",
            RuleCode::UndeclaredDependency => "undeclared-dependency",
            RuleCode::ForeignTable => "foreign-table",
            RuleCode::SharedTable => "shared-table",
            RuleCode::CrossModuleForeignKey => "cross-module-foreign-key",
            RuleCode::UnownedTable => "unowned-table",
            RuleCode::DependencyCycle => "dependency-cycle",
            RuleCode::LayerViolation => "layer-violation",
            RuleCode::ForbiddenDependency => "forbidden-dependency",
            RuleCode::ExternalDependency => "external-dependency",
            RuleCode::UnusedDependency => "unused-dependency",
            RuleCode::UnusedAllow => "unused-allow",
            RuleCode::StaleBaseline => "stale-baseline",
        }
    }

    /// One line that says what the rule checks.
    pub fn description(self) -> &'static str {
        match self {
            RuleCode::InternalImport => "a module refers to another module's internals instead of its public API",
            RuleCode::UndeclaredDependency => "a module uses a module that its `depends_on` list does not name",
            RuleCode::ForeignTable => "a module's SQL reads or writes a table that another module owns",
            RuleCode::SharedTable => "a table is claimed by two or more modules",
            RuleCode::CrossModuleForeignKey => "a table declares a foreign key to a table that another module owns",
            RuleCode::UnownedTable => "a module's SQL names a table that no module owns (with require_owner)",
            RuleCode::DependencyCycle => "modules depend on each other in a cycle",
            RuleCode::LayerViolation => {
                "a module uses a module of a higher layer or of its own layer, directly or through unlayered modules"
            }
            RuleCode::ForbiddenDependency => {
                "a module reaches a module that its `forbid` names, directly or through others"
            }
            RuleCode::ExternalDependency => {
                "a module names a crate from outside the workspace that its `external` or `forbid_external` refuses"
            }
            RuleCode::UnusedDependency => "a `depends_on` entry names a module that the module's code never uses",
            RuleCode::UnusedAllow => "a `seams:allow` comment suppresses no finding",
            RuleCode::StaleBaseline => "a baseline entry matches fewer violations than it allows",
        }
    }

    /// Whether the rule is about table ownership. Its violations carry `owner` in JSON, even
    /// when no single module owns the table.
    pub fn is_table_rule(self) -> bool {
        matches!(
            self,
            RuleCode::ForeignTable | RuleCode::SharedTable | RuleCode::CrossModuleForeignKey | RuleCode::UnownedTable
        )
    }

    /// The severity the rule has when `[defaults]` says nothing about it. A declared dependency
    /// that is not used yet is a warning: the design may be ahead of the code.
    pub fn default_severity(self) -> Severity {
        match self {
            RuleCode::UnusedDependency | RuleCode::UnusedAllow => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Whether the rule's finding belongs to no one source file: `--changed-since` always
    /// reports it, since a change anywhere can make it.
    pub fn is_workspace_wide(self) -> bool {
        matches!(self, RuleCode::DependencyCycle | RuleCode::UnusedDependency | RuleCode::StaleBaseline)
    }

    /// Whether a `seams:allow` comment can suppress the rule's findings: every rule whose finding
    /// stands at a written site in Rust code. A cycle has no one site (its evidence moves with the
    /// code), and the others stand in `boundaries.toml`, the baseline, or an allow itself.
    pub fn can_be_allowed_in_code(self) -> bool {
        !matches!(
            self,
            RuleCode::DependencyCycle | RuleCode::UnusedDependency | RuleCode::StaleBaseline | RuleCode::UnusedAllow
        )
    }

    /// Where the rule is documented.
    pub fn help_url(self) -> String {
        format!("{DOCS_RULES_URL}#{}", self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of problem a warning is: an input the check could not read as it should.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningCode {
    UnparsedFile,
    UnparsedSql,
    UnreadableFile,
    MissingModuleFile,
    InvalidAllow,
    InternalError,
}

impl WarningCode {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::UnparsedFile => "unparsed-file",
            WarningCode::UnparsedSql => "unparsed-sql",
            WarningCode::UnreadableFile => "unreadable-file",
            WarningCode::MissingModuleFile => "missing-module-file",
            WarningCode::InvalidAllow => "invalid-allow",
            WarningCode::InternalError => "internal-error",
        }
    }
}
