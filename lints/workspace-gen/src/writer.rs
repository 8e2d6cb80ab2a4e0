//! The writer of one plan: the manifests, `boundaries.toml`, and each module's files, with every
//! planted violation recorded in the expectations as it is written.

use std::path::Path;

use crate::plan::{ImportForm, Plan, Plant, TablePlant};
use crate::sink::{Expectations, Position, SourceFile, Stats};
use crate::{GenError, templates};

/// Writes the files of one plan.
pub(crate) struct Writer<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) root: &'a Path,
    pub(crate) expect: Expectations,
    pub(crate) stats: Stats,
}

impl Writer<'_> {
    fn emit(&mut self, file: SourceFile) -> Result<(), GenError> {
        file.finish(self.root, &mut self.stats)
    }

    /// Writes a template's lines.
    fn template(file: &mut SourceFile, text: &str) {
        for line in text.lines() {
            file.line(line);
        }
    }

    fn name(&self, module: usize) -> &str {
        &self.plan.modules[module].name
    }

    /// The manifests, `boundaries.toml`, and the composition root.
    pub(crate) fn write_workspace_files(&mut self) -> Result<(), GenError> {
        let plan = self.plan;
        let mut manifest = SourceFile::new("Cargo.toml");
        manifest.line("# A synthetic modular monolith written by seams-workspace-gen.");
        manifest.line("[workspace]");
        manifest.line("resolver = \"2\"");
        manifest.line("members = [\"crates/*\"]");
        self.emit(manifest)?;

        for (index, krate) in plan.crates.iter().enumerate() {
            let mut manifest = SourceFile::new(format!("{}/Cargo.toml", krate.dir()));
            manifest.line("[package]");
            manifest.line(&format!("name = \"{}\"", krate.package));
            manifest.line("version = \"0.1.0\"");
            manifest.line("edition = \"2021\"");
            manifest.line("publish = false");
            manifest.line("");
            manifest.line("[dependencies]");
            for (lower, other) in plan.crates.iter().enumerate().take(index) {
                match krate.renames.iter().find(|(renamed, _)| *renamed == lower) {
                    Some((_, alias)) => manifest.line(&format!(
                        "{alias} = {{ package = \"{}\", path = \"../{}\" }}",
                        other.package, other.package
                    )),
                    None => manifest.line(&format!("{} = {{ path = \"../{}\" }}", other.package, other.package)),
                }
            }
            self.emit(manifest)?;
            if !krate.whole {
                let mut lib = SourceFile::new(format!("{}/src/lib.rs", krate.dir()));
                lib.line(&format!("//! `{}`: a crate that hosts several modules of the monolith.", krate.package));
                lib.line("");
                lib.line("pub mod modules;");
                self.emit(lib)?;
                let mut modules = SourceFile::new(format!("{}/src/modules/mod.rs", krate.dir()));
                modules.line("//! The modules of this crate; each one is declared in boundaries.toml.");
                modules.line("");
                for module in &krate.modules {
                    modules.line(&format!("pub mod {};", self.name(*module)));
                }
                self.emit(modules)?;
            }
        }

        // The composition root: a binary that wires every module, in no module itself.
        let mut manifest = SourceFile::new("crates/app/Cargo.toml");
        for line in [
            "[package]",
            "name = \"app\"",
            "version = \"0.1.0\"",
            "edition = \"2021\"",
            "publish = false",
            "",
            "[dependencies]",
        ] {
            manifest.line(line);
        }
        for krate in &plan.crates {
            manifest.line(&format!("{} = {{ path = \"../{}\" }}", krate.package, krate.package));
        }
        self.emit(manifest)?;
        let app_crate = plan.crates.len();
        let mut main = SourceFile::new("crates/app/src/main.rs");
        main.line("//! The composition root: it wires every module and is checked by no rule.");
        main.line("");
        main.line("fn main() {");
        for module in 0..plan.modules.len() {
            let (written, _) = self.root_for(app_crate, module);
            let camel = &plan.modules[module].camel;
            main.line(&format!("    let _ = {written}::api::{camel}Client::connect(\"local\");"));
        }
        // Reaching into internals is allowed here: the composition root is not a module.
        let (written, _) = self.root_for(app_crate, 0);
        main.line(&format!("    let _ = {written}::store::{}Store::open(8);", plan.modules[0].camel));
        main.line("}");
        self.emit(main)?;

        let mut config = SourceFile::new("boundaries.toml");
        config.line(&format!("# Modules of a synthetic workspace (seed {}).", plan.seed));
        config.line("[defaults]");
        config.line("public = [\"api\"]");
        for module in &plan.modules {
            let krate = &plan.crates[module.krate];
            config.line("");
            config.line(&format!("[modules.{}]", module.name));
            config.line(&format!("crate = \"{}\"", krate.package));
            if !krate.whole {
                config.line(&format!("path = \"modules::{}\"", module.name));
            }
            if let Some(declared) = &module.depends_on {
                let names: Vec<String> =
                    declared.iter().map(|other| format!("\"{}\"", plan.modules[*other].name)).collect();
                config.line(&format!("depends_on = [{}]", names.join(", ")));
            }
            let mut tables = vec![format!("\"{}_*\"", module.name)];
            tables.extend(module.extra_tables.iter().map(|table| format!("\"{table}\"")));
            config.line(&format!("tables = [{}]", tables.join(", ")));
        }
        self.emit(config)?;
        for (index, module) in plan.modules.iter().enumerate() {
            for table in &module.extra_tables {
                self.expect.claim(table, index, None);
            }
        }
        Ok(())
    }

    /// How code in a crate writes a module's root (`crate_index` may be the app crate).
    fn root_for(&self, crate_index: usize, module: usize) -> (String, String) {
        if crate_index >= self.plan.crates.len() {
            let target = &self.plan.modules[module];
            let krate = &self.plan.crates[target.krate];
            let path = if krate.whole { krate.lib.clone() } else { format!("{}::modules::{}", krate.lib, target.name) };
            return (path.clone(), path);
        }
        self.plan.root_of(crate_index, module)
    }

    pub(crate) fn write_module(&mut self, module: usize) -> Result<(), GenError> {
        let plan = self.plan;
        let dir = plan.module_dir(module);
        let whole = plan.crates[plan.modules[module].krate].whole;
        let root_file = if whole { format!("{dir}/lib.rs") } else { format!("{dir}/mod.rs") };
        let name = plan.modules[module].name.clone();
        let camel = plan.modules[module].camel.clone();
        let fill = |text: &str, file: usize, block: usize, dependency: &str| {
            templates::fill(text, &name, &camel, file, block, dependency)
        };

        let mut written_lines = 0;
        let mut api = SourceFile::new(format!("{dir}/api.rs"));
        Self::template(&mut api, &fill(templates::API, 0, 0, ""));
        written_lines += api.lines();
        self.emit(api)?;
        let mut domain = SourceFile::new(format!("{dir}/domain.rs"));
        Self::template(&mut domain, &fill(templates::DOMAIN, 0, 0, ""));
        written_lines += domain.lines();
        self.emit(domain)?;
        written_lines += self.write_store(module, &dir)?;
        written_lines += self.write_integration(module, &dir)?;
        self.write_migrations(module)?;

        // Ordinary code until the module has its share of lines.
        let mut services = 0;
        while written_lines + 20 < plan.lines_per_module || services == 0 {
            written_lines += self.write_service(
                module,
                &dir,
                services,
                plan.lines_per_module - written_lines.min(plan.lines_per_module),
            )?;
            services += 1;
        }

        let mut root = SourceFile::new(root_file);
        root.line(&format!("//! The {name} module. Other modules use it only through [`api`]; the rest is internal."));
        root.line("");
        root.line("pub mod api;");
        root.line("mod domain;");
        root.line("mod integration;");
        root.line("mod store;");
        for service in 0..services {
            root.line(&format!("mod service_{service};"));
        }
        root.line("");
        root.line(&format!("pub use api::{camel}Client;"));
        self.emit(root)
    }

    fn write_store(&mut self, module: usize, dir: &str) -> Result<usize, GenError> {
        let plan = self.plan;
        let this = &plan.modules[module];
        let mut file = SourceFile::new(format!("{dir}/store.rs"));
        Self::template(&mut file, &templates::fill(templates::STORE_HEAD, &this.name, &this.camel, 0, 0, ""));
        for (index, plant) in this.table_plants.iter().enumerate() {
            let (kind, to) = match plant {
                TablePlant::ForeignLiteral { to } => ("literal", *to),
                TablePlant::ForeignRaw { to } => ("raw", *to),
                TablePlant::ForeignMacro { to } => ("macro", *to),
                _ => continue,
            };
            let other = plan.modules[to].name.clone();
            file.line("");
            file.line(&format!("    /// Reads data of the {other} module directly (planted: foreign-table)."));
            file.line(&format!("    pub fn borrowed_{index}(&self, db: &dyn Execute, id: &str) -> u64 {{"));
            let at = match kind {
                "literal" => {
                    let at = file.marked(&format!(
                        "        let sql = \"SELECT id, amount FROM §{other}_records WHERE amount > $1\";"
                    ));
                    file.line("        db.rows(sql, &[id]).len() as u64");
                    at
                }
                "raw" => {
                    file.line("        let sql = r#\"");
                    file.line("            SELECT e.id, e.kind");
                    file.line(&format!("            FROM {}_events e", this.name));
                    let at = file
                        .marked(&format!("            JOIN §{other}_events other ON other.record_id = e.record_id"));
                    file.line("            WHERE e.kind = ?");
                    file.line("        \"#;");
                    file.line("        db.rows(sql, &[id]).len() as u64");
                    at
                }
                _ => {
                    let at = file
                        .marked(&format!("        sqlx::query!(\"DELETE FROM §{other}_events WHERE id = $1\", id);"));
                    file.line("        db.execute(\"SELECT 1\", &[id])");
                    at
                }
            };
            file.line("    }");
            let table = if kind == "literal" { format!("{other}_records") } else { format!("{other}_events") };
            self.expect.violation("foreign-table", &at[0], &this.name, &other, &table);
        }
        file.line("}");
        file.line("");
        file.line("#[cfg(test)]");
        file.line("mod tests {");
        file.line("    use super::*;");
        file.line("");
        file.line("    #[test]");
        file.line("    fn opens_with_the_pool_size() {");
        file.line(&format!("        assert_eq!({}Store::open(4).pool_size, 4);", this.camel));
        file.line("    }");
        file.line("}");
        let lines = file.lines();
        self.emit(file)?;
        Ok(lines)
    }

    fn write_migrations(&mut self, module: usize) -> Result<(), GenError> {
        let plan = self.plan;
        let this = &plan.modules[module];
        let name = this.name.clone();
        let dir = plan.migrations_dir(module);
        let mut file = SourceFile::new(format!("{dir}/0001_create_{name}.sql"));
        file.line(&format!("-- Tables of the {name} module."));
        let at = file.marked(&format!("CREATE TABLE §{name}_records ("));
        self.expect.claim(&format!("{name}_records"), module, at.into_iter().next());
        file.line("    id BIGINT PRIMARY KEY,");
        file.line("    label TEXT NOT NULL,");
        file.line("    amount BIGINT NOT NULL DEFAULT 0");
        file.line(");");
        file.line("");
        let at = file.marked(&format!("CREATE TABLE §{name}_events ("));
        self.expect.claim(&format!("{name}_events"), module, at.into_iter().next());
        file.line("    id BIGINT PRIMARY KEY,");
        file.line(&format!("    record_id BIGINT NOT NULL REFERENCES {name}_records (id),"));
        file.line("    kind TEXT NOT NULL");
        file.line(");");
        file.line("");
        file.line(&format!("CREATE INDEX {name}_events_by_record ON {name}_events (record_id);"));
        file.line("");
        let at = file.marked(&format!("CREATE TABLE §{name}_settings ("));
        self.expect.claim(&format!("{name}_settings"), module, at.into_iter().next());
        file.line("    setting_name TEXT PRIMARY KEY,");
        file.line("    setting_value TEXT NOT NULL");
        file.line(");");
        for plant in &this.table_plants {
            if let TablePlant::SharedCreate { table } = plant {
                file.line("");
                file.line("-- Kept from the old schema; another module writes it too (planted: shared-table).");
                let at = file.marked(&format!("CREATE TABLE §{table} ("));
                self.expect.claim(table, module, at.into_iter().next());
                file.line("    id BIGINT PRIMARY KEY,");
                file.line("    note TEXT");
                file.line(");");
            }
        }
        self.emit(file)?;

        let mut links = SourceFile::new(format!("{dir}/0002_links_{name}.sql"));
        links.line(&format!("-- Links from {name} records to other data."));
        links.line(&format!("ALTER TABLE {name}_records ADD COLUMN external_ref TEXT;"));
        for (index, plant) in this.table_plants.iter().enumerate() {
            match plant {
                TablePlant::ForeignKeyColumn { to } => {
                    let other = plan.modules[*to].name.clone();
                    links.line("");
                    links.line(&format!("CREATE TABLE {name}_links_{index} ("));
                    links.line("    id BIGINT PRIMARY KEY,");
                    let at = links.marked(&format!("    remote_id BIGINT NOT NULL REFERENCES §{other}_records (id)"));
                    links.line(");");
                    self.expect.violation(
                        "cross-module-foreign-key",
                        &at[0],
                        &name,
                        &other,
                        &format!("{other}_records"),
                    );
                }
                TablePlant::ForeignKeyTable { to } => {
                    let other = plan.modules[*to].name.clone();
                    links.line("");
                    links.line(&format!("CREATE TABLE {name}_refs_{index} ("));
                    links.line("    id BIGINT PRIMARY KEY,");
                    links.line("    remote_id BIGINT NOT NULL,");
                    let at = links.marked(&format!("    FOREIGN KEY (remote_id) REFERENCES §{other}_events (id)"));
                    links.line(");");
                    self.expect.violation(
                        "cross-module-foreign-key",
                        &at[0],
                        &name,
                        &other,
                        &format!("{other}_events"),
                    );
                }
                _ => {}
            }
        }
        self.emit(links)?;

        for (index, plant) in this.table_plants.iter().enumerate() {
            if let TablePlant::ForeignSqlFile { to } = plant {
                let other = plan.modules[*to].name.clone();
                let base =
                    if plan.crates[this.krate].whole { plan.crates[this.krate].dir() } else { plan.module_dir(module) };
                let mut query = SourceFile::new(format!("{base}/queries/report_{index}.sql"));
                query.line("-- A report that reads another module's table directly (planted: foreign-table).");
                query.line("SELECT r.id, r.amount");
                let at = query.marked(&format!("FROM §{other}_records r"));
                query.line("WHERE r.amount > 100;");
                self.expect.violation("foreign-table", &at[0], &name, &other, &format!("{other}_records"));
                self.emit(query)?;
            }
        }
        Ok(())
    }

    /// Imports of the dependencies' APIs at the top of a file: two sites per dependency.
    fn import_dependency(&mut self, file: &mut SourceFile, module: usize, dependency: usize) {
        let plan = self.plan;
        let (written, display) = plan.root_of(plan.modules[module].krate, dependency);
        let camel = &plan.modules[dependency].camel;
        let at = file.marked(&format!("use {written}::api::{{§{camel}Client, §{camel}Record as {camel}Row}};"));
        self.expect.edge(module, dependency, &at[0], &format!("{display}::api::{camel}Client"));
        self.expect.edge(module, dependency, &at[1], &format!("{display}::api::{camel}Record"));
    }

    fn write_service(&mut self, module: usize, dir: &str, number: usize, budget: usize) -> Result<usize, GenError> {
        let plan = self.plan;
        let this = &plan.modules[module];
        let mut file = SourceFile::new(format!("{dir}/service_{number}.rs"));
        file.line(&format!(
            "//! {} service {number}: reports, policies and jobs over the module's entities.",
            this.name
        ));
        file.line("");
        file.line("use std::collections::{BTreeMap, HashMap};");
        file.line("use std::fmt::Write as _;");
        file.line("");
        file.line(&format!("use super::domain::{{{}Entity, {}State}};", this.camel, this.camel));
        let dependency = this.deps.get(number % this.deps.len().max(1)).copied();
        let dependency_camel = match dependency {
            Some(dependency) => {
                self.import_dependency(&mut file, module, dependency);
                plan.modules[dependency].camel.clone()
            }
            None => {
                // The first module depends on nothing: it uses its own API in the same shapes.
                file.line(&format!("use super::api::{{{c}Client, {c}Record as {c}Row}};", c = this.camel));
                this.camel.clone()
            }
        };
        file.line("");
        // Files of about 300 lines, smaller when the module's budget is nearly spent.
        let target = budget.clamp(40, 300);
        let mut block = 0;
        while file.lines() + 12 < target || block == 0 {
            let text = templates::fill(
                templates::BLOCKS[block % templates::BLOCKS.len()],
                &this.name,
                &this.camel,
                number,
                block,
                &dependency_camel,
            );
            Self::template(&mut file, &text);
            file.line("");
            block += 1;
        }
        let tests = templates::fill(templates::SERVICE_TESTS, &this.name, &this.camel, number, 0, &dependency_camel);
        let mut tests_lines = tests.lines();
        for line in tests_lines.by_ref().take(4) {
            file.line(line);
        }
        if let Some(dependency) = dependency {
            // Test code may reach into internals: it is not checked by default.
            let (written, _) = plan.root_of(this.krate, dependency);
            file.line(&format!("    use {written}::store::{}Store;", plan.modules[dependency].camel));
        }
        for line in tests_lines {
            file.line(line);
        }
        let lines = file.lines();
        self.emit(file)?;
        Ok(lines)
    }

    fn write_integration(&mut self, module: usize, dir: &str) -> Result<usize, GenError> {
        let plan = self.plan;
        let this = plan.modules[module].clone();
        let mut file = SourceFile::new(format!("{dir}/integration.rs"));
        file.line(&format!("//! How the {} module talks to the modules it depends on.", this.name));
        file.line("//!");
        file.line("//! Paths in comments are text, not references: crate::modules::nowhere::store::Hidden.");
        file.line("");
        file.line("use std::fmt::Debug;");
        for dependency in &this.deps {
            self.import_dependency(&mut file, module, *dependency);
        }
        for (sequence, plant) in this.plants.iter().enumerate() {
            file.line("");
            self.write_plant(&mut file, module, *plant, sequence);
        }
        file.line("");
        file.line("/// A note that mentions SQL in prose: Select a module before you call it.");
        file.line("pub fn describe() -> &'static str {");
        file.line("    \"Select the module's API, never its tables: crate::modules::x::store is internal\"");
        file.line("}");
        let lines = file.lines();
        self.emit(file)?;
        Ok(lines)
    }

    fn write_plant(&mut self, file: &mut SourceFile, module: usize, plant: Plant, sequence: usize) {
        let plan = self.plan;
        let from_crate = plan.modules[module].krate;
        let from_name = plan.modules[module].name.clone();
        let to = match plant {
            Plant::Internal { to, .. } | Plant::Undeclared { to, .. } | Plant::CycleBack { to } => to,
        };
        let (p, d) = plan.root_of(from_crate, to);
        let c = plan.modules[to].camel.clone();
        let to_name = plan.modules[to].name.clone();
        let s = sequence;
        // Each finding: rules, the position's index among the line's markers, and the target.
        let record = |expect: &mut Expectations, at: &Position, rules: &[&'static str], target: String| {
            for rule in rules {
                expect.violation(rule, at, &from_name, &to_name, &target);
            }
            expect.edge(module, to, at, &target);
        };
        const INTERNAL: &[&str] = &["internal-import"];
        match plant {
            Plant::CycleBack { .. } => {
                file.line("/// Closes a dependency cycle (planted: dependency-cycle).");
                let at = file.marked(&format!("use §{p}::api::{c}Client as CycleClient{s};"));
                record(&mut self.expect, &at[0], &[], format!("{d}::api::{c}Client"));
            }
            Plant::Undeclared { internal, in_expression, .. } => {
                file.line("/// Uses a module that depends_on does not list (planted: undeclared-dependency).");
                if internal {
                    let at = file.marked(&format!("use §{p}::store::{c}Store as Both{s};"));
                    record(
                        &mut self.expect,
                        &at[0],
                        &["internal-import", "undeclared-dependency"],
                        format!("{d}::store::{c}Store"),
                    );
                } else if in_expression {
                    file.line(&format!("pub fn undeclared_{s}() -> u64 {{"));
                    let at = file.marked(&format!("    let record = §{p}::api::{c}Record::default();"));
                    file.line("    record.id");
                    file.line("}");
                    record(
                        &mut self.expect,
                        &at[0],
                        &["undeclared-dependency"],
                        format!("{d}::api::{c}Record::default"),
                    );
                } else {
                    let at = file.marked(&format!("use §{p}::api::{c}Client as Undeclared{s};"));
                    record(&mut self.expect, &at[0], &["undeclared-dependency"], format!("{d}::api::{c}Client"));
                }
            }
            Plant::Internal { form, .. } => {
                file.line(&format!("/// Reaches into {to_name}'s internals (planted: internal-import, {form:?})."));
                match form {
                    ImportForm::UseSimple => {
                        let at = file.marked(&format!("use §{p}::store::StoreError;"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::StoreError"));
                    }
                    ImportForm::UseRename => {
                        let at = file.marked(&format!("use §{p}::store::{c}Store as Renamed{s};"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store"));
                    }
                    ImportForm::UseGroup => {
                        let at = file.marked(&format!(
                            "use {p}::{{§api::{c}Client as GroupClient{s}, §store::{c}Store as Group{s}}};"
                        ));
                        record(&mut self.expect, &at[0], &[], format!("{d}::api::{c}Client"));
                        record(&mut self.expect, &at[1], INTERNAL, format!("{d}::store::{c}Store"));
                    }
                    ImportForm::UseNestedGroup => {
                        file.line(&format!("use {p}::{{"));
                        let api = file.marked(&format!("    §api::{c}Record as NestedRecord{s},"));
                        let at = file.marked(&format!(
                            "    domain::{{§{c}State as NestedState{s}, §Persist as NestedPersist{s}}},"
                        ));
                        file.line("};");
                        record(&mut self.expect, &api[0], &[], format!("{d}::api::{c}Record"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::domain::{c}State"));
                        record(&mut self.expect, &at[1], INTERNAL, format!("{d}::domain::Persist"));
                    }
                    ImportForm::UseSelf => {
                        let at = file.marked(&format!("use {p}::store::{{§self}};"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store"));
                    }
                    ImportForm::UseGlob => {
                        let at = file.marked(&format!("use §{p}::store::*;"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::*"));
                    }
                    ImportForm::PubUse => {
                        let at = file.marked(&format!("pub use §{p}::store::{c}Store as Exported{s};"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store"));
                    }
                    ImportForm::PubCrateUse => {
                        let at = file.marked(&format!("pub(crate) use §{p}::domain::{c}Entity as Shared{s};"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::domain::{c}Entity"));
                    }
                    ImportForm::ExprPath => {
                        file.line(&format!("pub fn open_{s}() -> usize {{"));
                        let at = file.marked(&format!("    let store = §{p}::store::{c}Store::open(4);"));
                        file.line("    store.pool_size");
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store::open"));
                    }
                    ImportForm::TypePath => {
                        let at = file.marked(&format!("pub fn pool_of_{s}(store: &§{p}::store::{c}Store) -> usize {{"));
                        file.line("    store.pool_size");
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store"));
                    }
                    ImportForm::PatternPath => {
                        file.line(&format!("pub fn weight_{s}<S: PartialEq + Copy + Debug>(state: S) -> u32 {{"));
                        file.line("    match state {");
                        let at = file.marked(&format!("        §{p}::domain::{c}State::Active => 1,"));
                        file.line("        _ => 0,");
                        file.line("    }");
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::domain::{c}State::Active"));
                    }
                    ImportForm::TraitBound => {
                        let at = file.marked(&format!(
                            "pub fn keys_{s}<T: §{p}::domain::Persist>(items: &[T]) -> Vec<String> {{"
                        ));
                        file.line("    items.iter().map(|item| item.key()).collect()");
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::domain::Persist"));
                    }
                    ImportForm::ImplHeader => {
                        file.line(&format!("pub struct Mirror{s};"));
                        file.line("");
                        let at = file.marked(&format!("impl §{p}::domain::Persist for Mirror{s} {{"));
                        file.line("    fn key(&self) -> String {");
                        file.line(&format!("        \"mirror-{s}\".to_owned()"));
                        file.line("    }");
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::domain::Persist"));
                    }
                    ImportForm::GenericArg => {
                        file.line(&format!("pub struct Cache{s} {{"));
                        let at = file.marked(&format!("    pub entries: Vec<§{p}::domain::{c}Entity>,"));
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::domain::{c}Entity"));
                    }
                    ImportForm::MacroArg => {
                        file.line(&format!("pub fn log_label_{s}() {{"));
                        let at = file.marked(&format!(
                            "    println!(\"label: {{:?}}\", §{p}::store::{c}Store::default_label());"
                        ));
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store::default_label"));
                    }
                    ImportForm::AttributePath => {
                        let at = file.marked(&format!("#[derive(Debug, §{p}::domain::Persist)]"));
                        file.line(&format!("pub struct Derived{s};"));
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::domain::Persist"));
                    }
                    ImportForm::SuperPath => {
                        file.line(&format!("pub fn through_super_{s}() -> usize {{"));
                        let at =
                            file.marked(&format!("    §super::super::{to_name}::store::{c}Store::open(2).pool_size"));
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store::open"));
                    }
                    ImportForm::LeadingColon => {
                        file.line(&format!("pub fn absolute_{s}() -> &'static str {{"));
                        let at = file.marked(&format!("    §::{p}::store::{c}Store::default_label()"));
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store::default_label"));
                    }
                    ImportForm::AliasRoot => {
                        let alias = format!("{to_name}_root{s}");
                        let root = file.marked(&format!("use §{p} as {alias};"));
                        record(&mut self.expect, &root[0], &[], d.clone());
                        file.line(&format!("pub fn through_alias_{s}() -> usize {{"));
                        let at = file.marked(&format!("    §{alias}::store::{c}Store::open(1).pool_size"));
                        file.line("}");
                        record(&mut self.expect, &at[0], INTERNAL, format!("{d}::store::{c}Store::open"));
                    }
                }
            }
        }
    }
}
