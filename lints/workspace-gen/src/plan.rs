//! The plan of a synthetic workspace: module names, which crate holds which module, the
//! legitimate dependencies, and where each violation is planted. Everything is decided here from
//! the seed, before a single file is written, so that the output is deterministic.

/// Domain words for module names. No word is a prefix of another followed by `_`, and none is
/// `legacy`, so that the `<name>_*` table patterns of two modules never overlap.
const WORDS: &[&str] = &[
    "accounts",
    "billing",
    "catalog",
    "checkout",
    "compliance",
    "coupons",
    "delivery",
    "documents",
    "fraud",
    "fulfilment",
    "identity",
    "inventory",
    "invoicing",
    "ledger",
    "loyalty",
    "messaging",
    "notifications",
    "onboarding",
    "orders",
    "payments",
    "payroll",
    "pricing",
    "procurement",
    "ratings",
    "refunds",
    "reporting",
    "returns",
    "reviews",
    "scheduling",
    "search",
    "shipping",
    "subscriptions",
    "support",
    "tax",
    "tenants",
    "warehouse",
];

/// A small, fast, seedable generator (splitmix64): the output must not depend on a crate's
/// version of a random algorithm.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EA4_5EA4_5EA4_5EA4)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// How a planted internal import is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportForm {
    UseSimple,
    UseRename,
    UseGroup,
    UseNestedGroup,
    UseSelf,
    UseGlob,
    PubUse,
    PubCrateUse,
    ExprPath,
    TypePath,
    PatternPath,
    TraitBound,
    ImplHeader,
    GenericArg,
    MacroArg,
    AttributePath,
    SuperPath,
    LeadingColon,
    AliasRoot,
}

impl ImportForm {
    pub const ALL: &'static [ImportForm] = &[
        ImportForm::UseSimple,
        ImportForm::UseRename,
        ImportForm::UseGroup,
        ImportForm::UseNestedGroup,
        ImportForm::UseSelf,
        ImportForm::UseGlob,
        ImportForm::PubUse,
        ImportForm::PubCrateUse,
        ImportForm::ExprPath,
        ImportForm::TypePath,
        ImportForm::PatternPath,
        ImportForm::TraitBound,
        ImportForm::ImplHeader,
        ImportForm::GenericArg,
        ImportForm::MacroArg,
        ImportForm::AttributePath,
        ImportForm::SuperPath,
        ImportForm::LeadingColon,
        ImportForm::AliasRoot,
    ];
}

/// A planted reference, written in the integration file of the module that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plant {
    /// Into a non-public part of a module that is a declared dependency.
    Internal { form: ImportForm, to: usize },
    /// Into the public API of a module that `depends_on` does not list; with `internal`, into
    /// its internals, which breaks both rules at one site.
    Undeclared { to: usize, internal: bool, in_expression: bool },
    /// The one reference that closes a cycle: from a module into one that depends on it.
    CycleBack { to: usize },
}

/// Planted table violations, written in the module's store or migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TablePlant {
    /// A query in a one-line string literal that names another module's table.
    ForeignLiteral { to: usize },
    /// The same in a multi-line raw string, with the name on a later line.
    ForeignRaw { to: usize },
    /// The same inside `sqlx::query!`.
    ForeignMacro { to: usize },
    /// The same in a `.sql` file under the module's directory.
    ForeignSqlFile { to: usize },
    /// `REFERENCES other_table` in a column of one of the module's own tables.
    ForeignKeyColumn { to: usize },
    /// A table-level `FOREIGN KEY (…) REFERENCES other_table (…)`.
    ForeignKeyTable { to: usize },
    /// A `CREATE TABLE` of a table that another module creates too.
    SharedCreate { table: String },
}

#[derive(Debug, Clone)]
pub struct ModulePlan {
    /// The module's name in `boundaries.toml`, also its directory or package name.
    pub name: String,
    /// The name in CamelCase, for type names.
    pub camel: String,
    pub krate: usize,
    /// Modules whose public API this one legitimately uses (all of lower index).
    pub deps: Vec<usize>,
    /// `depends_on` in `boundaries.toml`, when the module has one.
    pub depends_on: Option<Vec<usize>>,
    /// Table names claimed in `boundaries.toml` besides `<name>_*`.
    pub extra_tables: Vec<String>,
    pub plants: Vec<Plant>,
    pub table_plants: Vec<TablePlant>,
}

#[derive(Debug, Clone)]
pub struct CratePlan {
    pub package: String,
    /// The library's crate name (`-` turned into `_`).
    pub lib: String,
    /// A whole-crate module, or a host of `path` modules under `src/modules/`.
    pub whole: bool,
    pub modules: Vec<usize>,
    /// Dependencies renamed in this crate's Cargo.toml: (crate, alias).
    pub renames: Vec<(usize, String)>,
}

impl CratePlan {
    pub fn dir(&self) -> String {
        format!("crates/{}", self.package)
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub modules: Vec<ModulePlan>,
    pub crates: Vec<CratePlan>,
    /// Rust lines to write per module, about.
    pub lines_per_module: usize,
    pub seed: u64,
}

pub fn camel_case(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for character in name.chars() {
        if character == '_' {
            upper = true;
        } else if upper {
            out.extend(character.to_uppercase());
            upper = false;
        } else {
            out.push(character);
        }
    }
    out
}

impl Plan {
    /// Decides everything. `modules` is at least 6, so that every kind of crate and both
    /// planted cycles fit.
    pub fn new(lines: usize, modules: usize, seed: u64) -> Plan {
        let count = modules.max(6);
        let mut rng = Rng::new(seed);
        let mut names: Vec<String> = (0..count)
            .map(|index| {
                let word = WORDS[index % WORDS.len()];
                match index / WORDS.len() {
                    0 => word.to_owned(),
                    round => format!("{word}{}", round + 1),
                }
            })
            .collect();
        // Index order is alphabetical order, so that "the alphabetically first module" of a
        // cycle is known from the indices.
        names.sort();

        // Crates in index order: a host crate of three path modules first, then whole crates and
        // hosts of two to four modules, so that every dependency between crates points down.
        let mut crates: Vec<CratePlan> = Vec::new();
        let mut krate_of = vec![0; count];
        let mut next = 0;
        let mut host_number = 0;
        while next < count {
            let remaining = count - next;
            let whole = !crates.is_empty() && (crates.len() % 2 == 1 || remaining == 1);
            let size = if whole {
                1
            } else if crates.is_empty() {
                3.min(remaining)
            } else {
                (2 + rng.below(3)).min(remaining)
            };
            let members: Vec<usize> = (next..next + size).collect();
            let package = if whole {
                names[next].clone()
            } else {
                host_number += 1;
                format!("platform-{host_number}")
            };
            for member in &members {
                krate_of[*member] = crates.len();
            }
            crates.push(CratePlan {
                lib: package.replace('-', "_"),
                package,
                whole,
                modules: members,
                renames: Vec::new(),
            });
            next += size;
        }

        let mut plans: Vec<ModulePlan> = names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let mut deps = Vec::new();
                if index >= 1 {
                    deps.push(index - 1);
                }
                if index >= 3 {
                    deps.push(rng.below(index - 2));
                }
                deps.sort_unstable();
                deps.dedup();
                // Every fifth module has no `depends_on`: it may use any module's API.
                let depends_on = (index % 5 != 4).then(|| deps.clone());
                ModulePlan {
                    name: name.clone(),
                    camel: camel_case(name),
                    krate: krate_of[index],
                    deps,
                    depends_on,
                    extra_tables: Vec::new(),
                    plants: Vec::new(),
                    table_plants: Vec::new(),
                }
            })
            .collect();

        // Cycles: three modules in the first host crate (closed by 0 → 2), and two modules in
        // the last host crate that has two (closed by its first → its second).
        let close_cycle = |plans: &mut Vec<ModulePlan>, from: usize, to: usize| {
            plans[from].plants.push(Plant::CycleBack { to });
            if let Some(declared) = &mut plans[from].depends_on {
                declared.push(to);
            }
        };
        close_cycle(&mut plans, 0, 2);
        if let Some(host) = crates.iter().skip(1).rev().find(|krate| !krate.whole && krate.modules.len() >= 2) {
            let first = host.modules[host.modules.len() - 2];
            close_cycle(&mut plans, first, first + 1);
        }

        // A renamed dependency: the first whole crate after the first host is renamed in the
        // crate that follows it.
        if let Some(whole) = crates.iter().position(|krate| krate.whole)
            && whole + 1 < crates.len()
        {
            let alias = format!("{}_svc", crates[whole].lib);
            crates[whole + 1].renames.push((whole, alias));
        }

        // Internal imports: every form at least once, more rounds in larger workspaces.
        let rounds = 1 + count / 24;
        for form in ImportForm::ALL {
            let eligible: Vec<usize> = (1..count)
                .filter(|module| {
                    let (from, to) = (&plans[*module], &plans[*module - 1]);
                    match form {
                        ImportForm::SuperPath => from.krate == to.krate,
                        ImportForm::LeadingColon => from.krate != to.krate,
                        _ => true,
                    }
                })
                .collect();
            if eligible.is_empty() {
                continue;
            }
            for _ in 0..rounds {
                let module = eligible[rng.below(eligible.len())];
                plans[module].plants.push(Plant::Internal { form: *form, to: module - 1 });
            }
        }
        // The renamed crate gets an internal import through its alias.
        for krate in &crates {
            for (renamed, _) in &krate.renames {
                let from = krate.modules[0];
                let to = crates[*renamed].modules[0];
                plans[from].plants.push(Plant::Internal { form: ImportForm::ExprPath, to });
            }
        }

        // Undeclared dependencies: modules with `depends_on` use a lower module outside it.
        let with_declared: Vec<usize> = (3..count).filter(|module| plans[*module].depends_on.is_some()).collect();
        for round in 0..(3 * rounds) {
            if with_declared.is_empty() {
                break;
            }
            let from = with_declared[rng.below(with_declared.len())];
            let candidates: Vec<usize> = (0..from).filter(|to| !plans[from].deps.contains(to)).collect();
            if candidates.is_empty() {
                continue;
            }
            let to = candidates[rng.below(candidates.len())];
            plans[from].plants.push(Plant::Undeclared { to, internal: round % 3 == 2, in_expression: round % 3 == 1 });
        }

        // Tables: foreign references of every kind, foreign keys, and shared tables.
        for round in 0..rounds {
            let pick_pair = |rng: &mut Rng| {
                let from = rng.below(count);
                let to = (from + 1 + rng.below(count - 1)) % count;
                (from, to)
            };
            let kinds: [fn(usize) -> TablePlant; 6] = [
                |to| TablePlant::ForeignLiteral { to },
                |to| TablePlant::ForeignRaw { to },
                |to| TablePlant::ForeignMacro { to },
                |to| TablePlant::ForeignSqlFile { to },
                |to| TablePlant::ForeignKeyColumn { to },
                |to| TablePlant::ForeignKeyTable { to },
            ];
            for kind in kinds {
                let (from, to) = pick_pair(&mut rng);
                plans[from].table_plants.push(kind(to));
            }
            let (first, second) = pick_pair(&mut rng);
            let table = format!("legacy_audit_{round}");
            plans[first].table_plants.push(TablePlant::SharedCreate { table: table.clone() });
            plans[second].table_plants.push(TablePlant::SharedCreate { table });
            // A table claimed in boundaries.toml by a module that does not create it.
            let (claimer, creator) = pick_pair(&mut rng);
            let settings = format!("{}_settings", plans[creator].name);
            if !plans[claimer].extra_tables.contains(&settings) {
                plans[claimer].extra_tables.push(settings);
            }
        }

        let lines_per_module = (lines / count).max(120);
        Plan { modules: plans, crates, lines_per_module, seed }
    }

    /// The modules of each planted cycle: a back edge from `from` to `to` closes the chain
    /// `to → to - 1 → … → from` of legitimate dependencies, and nothing else joins it, because
    /// every other reference points to a module of lower index.
    pub fn cycle_components(&self) -> Vec<Vec<usize>> {
        let mut components = Vec::new();
        for (from, module) in self.modules.iter().enumerate() {
            for plant in &module.plants {
                if let Plant::CycleBack { to } = plant {
                    components.push((from..=*to).collect());
                }
            }
        }
        components
    }

    /// How code in `from_crate` writes the root of module `to`, and how the checker displays it.
    pub fn root_of(&self, from_crate: usize, to: usize) -> (String, String) {
        let module = &self.modules[to];
        let krate = &self.crates[module.krate];
        if module.krate == from_crate {
            let path = if krate.whole { "crate".to_owned() } else { format!("crate::modules::{}", module.name) };
            return (path.clone(), path);
        }
        let written_crate = self.crates[from_crate]
            .renames
            .iter()
            .find(|(renamed, _)| *renamed == module.krate)
            .map_or_else(|| krate.lib.clone(), |(_, alias)| alias.clone());
        if krate.whole {
            (written_crate, krate.lib.clone())
        } else {
            (format!("{written_crate}::modules::{}", module.name), format!("{}::modules::{}", krate.lib, module.name))
        }
    }

    /// The file that holds a module's root, relative to the workspace.
    pub fn module_dir(&self, module: usize) -> String {
        let plan = &self.modules[module];
        let krate = &self.crates[plan.krate];
        if krate.whole { format!("{}/src", krate.dir()) } else { format!("{}/src/modules/{}", krate.dir(), plan.name) }
    }

    /// The directory of a module's migrations.
    pub fn migrations_dir(&self, module: usize) -> String {
        let plan = &self.modules[module];
        let krate = &self.crates[plan.krate];
        if krate.whole {
            format!("{}/migrations", krate.dir())
        } else {
            format!("{}/migrations", self.module_dir(module))
        }
    }
}
