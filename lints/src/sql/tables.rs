//! The tables a piece of SQL reads, writes, creates or references: the text is parsed in several
//! dialects, and the statements are walked for every table name with how it is used.

use std::ops::{ControlFlow, Range};
use std::panic::{AssertUnwindSafe, catch_unwind};

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, CopySource, Expr, FromTable, InTarget, ObjectName, ObjectNamePart, ObjectType,
    Query, RenameTableNameKind, Spanned, Statement, TableConstraint, TableFactor, TableObject, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Location;

use crate::diagnostic::LineIndex;

use super::names::normalize_table_name;

/// How a statement uses a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TableAccess {
    /// Named in FROM, JOIN, USING, a subquery or `CREATE TABLE … LIKE`, and any table name of a
    /// statement kind not listed here (`CREATE TRIGGER … ON t`, `LOCK TABLE t`).
    Read,
    /// The target of INSERT, REPLACE, UPDATE, DELETE, MERGE or `COPY … FROM`.
    Write,
    /// Created by CREATE TABLE, CREATE VIEW or CREATE VIRTUAL TABLE, or the new name of
    /// `ALTER TABLE … RENAME TO`: a claim of ownership.
    Create,
    /// The table of ALTER TABLE, and the table that CREATE TRIGGER, CREATE POLICY or CREATE RULE
    /// attaches to, since each changes how that table behaves.
    Alter,
    /// Named by DROP TABLE or DROP VIEW.
    Drop,
    /// Named by TRUNCATE.
    Truncate,
    /// The table of CREATE INDEX … ON.
    Index,
    /// The referenced side of a REFERENCES clause; `declared_by` names the declaring table.
    ForeignKey,
}

/// One table named in a piece of SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableReference {
    /// Lower-cased, quotes stripped, schema kept when written: "audit.log", "orders".
    pub(crate) name: String,
    /// Byte range of the table name within the text given to [`extract_table_references`],
    /// covering the whole possibly-qualified, possibly-quoted name as written.
    pub(crate) byte_range: Range<usize>,
    /// How the statement uses the table.
    pub(crate) access: TableAccess,
    /// For [`TableAccess::ForeignKey`]: the table that declares the constraint (the table being
    /// created or altered), normalised like `name`. `None` for every other access.
    pub(crate) declared_by: Option<String>,
}

/// The reason a text could not be parsed in any dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqlParseError {
    /// The parser's message, without its trailing line and column.
    pub(crate) message: String,
    /// Byte offset in the text when the parser reports a location.
    pub(crate) byte_offset: Option<usize>,
}

impl std::fmt::Display for SqlParseError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for SqlParseError {}

/// Parses `text` and returns every table it references, in source order.
///
/// `text` holds one or more `;`-separated statements, as found in a string literal or a `.sql`
/// file. The dialects are tried in the order PostgreSQL, SQLite, MySQL, generic, and the first one
/// that parses the whole text wins. PostgreSQL comes first because it is the usual target of sqlx
/// and its grammar is the strictest about quoting; SQLite next because it also accepts backticks,
/// `[brackets]` and `?1`/`:name`/`@name` placeholders; MySQL for its own statements; and the
/// generic dialect last as the most permissive. The error, when no dialect parses the text, is the
/// one that got furthest into the text.
///
/// Names bound by `WITH` are not tables inside their statement, aliases are never tables, and
/// table-valued functions (`FROM generate_series(1, 3)`) are not tables.
pub(crate) fn extract_table_references(text: &str) -> Result<Vec<TableReference>, SqlParseError> {
    let line_index = Positions::new(text);
    let dialects: [&dyn Dialect; 4] = [&PostgreSqlDialect {}, &SQLiteDialect {}, &MySqlDialect {}, &GenericDialect {}];
    let mut furthest_error: Option<SqlParseError> = None;
    for dialect in dialects {
        match parse_and_collect(dialect, text, &line_index) {
            Ok(references) => return Ok(references),
            Err(error) => {
                let is_further = match &furthest_error {
                    None => true,
                    Some(previous) => error.byte_offset > previous.byte_offset,
                };
                if is_further {
                    furthest_error = Some(error);
                }
            }
        }
    }
    Err(furthest_error.unwrap_or_else(|| SqlParseError {
        message: "no SQL dialect could parse the text".to_owned(),
        byte_offset: None,
    }))
}

/// Parses the whole text in one dialect and collects its table references.
fn parse_and_collect(
    dialect: &dyn Dialect,
    text: &str,
    line_index: &Positions,
) -> Result<Vec<TableReference>, SqlParseError> {
    // sqlparser is not supposed to panic, but this runs on every SQL-looking literal of a whole
    // workspace, and one parser bug must become an error for that literal, not a crashed check.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let statements = Parser::parse_sql(dialect, text)?;
        let mut references = Vec::new();
        for statement in &statements {
            let mut collector = ReferenceCollector::new(text, line_index, statement);
            // The collector never breaks, so the flow it returns carries nothing.
            let _ = statement.visit(&mut collector);
            references.extend(collector.references);
        }
        // The visitor meets DDL names (DROP, REFERENCES) at their statement rather than in text
        // order; a stable sort restores source order without reordering equal starts.
        references.sort_by_key(|reference: &TableReference| reference.byte_range.start);
        Ok::<_, ParserError>(references)
    }));
    match outcome {
        Ok(Ok(references)) => Ok(references),
        Ok(Err(error)) => Err(parse_error(&error, line_index)),
        Err(_) => Err(SqlParseError { message: "the SQL parser failed on this text".to_owned(), byte_offset: None }),
    }
}

/// Turns sqlparser's error into ours, moving its " at Line: L, Column: C" suffix into a byte offset.
fn parse_error(error: &ParserError, line_index: &Positions) -> SqlParseError {
    let full_message = match error {
        ParserError::TokenizerError(message) | ParserError::ParserError(message) => message.clone(),
        ParserError::RecursionLimitExceeded => "the SQL is nested too deeply to parse".to_owned(),
    };
    const LOCATION_MARKER: &str = " at Line: ";
    if let Some(marker_start) = full_message.rfind(LOCATION_MARKER) {
        let location_text = &full_message[marker_start + LOCATION_MARKER.len()..];
        let parsed_location = location_text.split_once(", Column: ").and_then(|(line, column)| {
            Some(Location { line: line.trim().parse().ok()?, column: column.trim().parse().ok()? })
        });
        if let Some(location) = parsed_location {
            return SqlParseError {
                message: full_message[..marker_start].to_owned(),
                byte_offset: line_index.byte_offset(location),
            };
        }
    }
    SqlParseError { message: full_message, byte_offset: None }
}

/// sqlparser's positions as byte offsets.
///
/// sqlparser counts lines from 1, advancing on `\n`, and columns from 1 in characters (its
/// tokenizer adds one per `char`, whatever its UTF-8 length), so a column is turned into a byte
/// offset by walking that many characters from the start of the line.
pub(super) struct Positions<'text> {
    text: &'text str,
    lines: LineIndex,
}

impl<'text> Positions<'text> {
    pub(super) fn new(text: &'text str) -> Self {
        Positions { text, lines: LineIndex::new(text) }
    }

    /// The byte offset of a location, or `None` for the empty location (line 0) and for positions
    /// outside the text. The column just past the end of a line is valid, as span ends are
    /// exclusive in practice.
    pub(super) fn byte_offset(&self, location: Location) -> Option<usize> {
        let line = usize::try_from(location.line).ok()?;
        let column = usize::try_from(location.column).ok()?;
        self.lines.byte_offset(self.text, line, column.checked_sub(1)?)
    }

    fn byte_range(&self, span: sqlparser::tokenizer::Span) -> Option<Range<usize>> {
        let start = self.byte_offset(span.start)?;
        let end = self.byte_offset(span.end)?;
        (start < end).then_some(start..end)
    }
}

/// The CTE names bound by one `WITH` clause, and how many of them are visible at this point of
/// the walk.
struct CteScope {
    query: *const Query,
    /// The lower-cased CTE names with the address of each body, in declaration order.
    ctes: Vec<(String, *const Query)>,
    /// In a plain `WITH`, CTE number `i` sees only the CTEs before it, so this grows as the walk
    /// leaves each body; in `WITH RECURSIVE` every name is visible everywhere.
    visible: usize,
    recursive: bool,
}

/// Walks one top-level statement and records its table references.
///
/// sqlparser's visitor reaches every relation name (FROM, JOIN, subqueries in any expression, DML
/// targets, CREATE/ALTER/TRUNCATE/INDEX targets), which saves walking its large AST by hand. What
/// it cannot tell is how the name is used, so each statement first registers its target names by
/// address with their access; any other relation is a read. Names the visitor does not treat as
/// relations (DROP lists, REFERENCES, LIKE sources) are recorded directly from their statement.
pub(super) struct ReferenceCollector<'walk> {
    text: &'walk str,
    line_index: &'walk Positions<'walk>,
    top_level_statement: &'walk Statement,
    /// Target names by address. Addresses only identify nodes of the statement being walked,
    /// which stays borrowed for the whole walk; they are compared, never dereferenced.
    targets: Vec<(*const ObjectName, TableAccess)>,
    /// Names of table-valued function calls, which the visitor also reports as relations.
    table_functions: Vec<*const ObjectName>,
    cte_scopes: Vec<CteScope>,
    references: Vec<TableReference>,
}

impl<'walk> ReferenceCollector<'walk> {
    pub(super) fn new(
        text: &'walk str,
        line_index: &'walk Positions<'walk>,
        top_level_statement: &'walk Statement,
    ) -> Self {
        ReferenceCollector {
            text,
            line_index,
            top_level_statement,
            targets: Vec::new(),
            table_functions: Vec::new(),
            cte_scopes: Vec::new(),
            references: Vec::new(),
        }
    }

    fn register_target(&mut self, name: &ObjectName, access: TableAccess) {
        self.targets.push((name, access));
    }

    fn record(&mut self, name: &ObjectName, access: TableAccess, declared_by: Option<String>) {
        self.references.push(TableReference {
            name: normalized_object_name(name),
            byte_range: self.name_range(name),
            access,
            declared_by,
        });
    }

    /// The byte range of a name as written. sqlparser gives identifiers a span; when a node has
    /// none, the name's text is searched for from the start of its top-level statement, and the
    /// statement's own start is the last resort, so a diagnostic still lands in the right place.
    pub(super) fn name_range(&self, name: &ObjectName) -> Range<usize> {
        if let Some(range) = self.line_index.byte_range(name.span()) {
            return range;
        }
        let statement_range = self.line_index.byte_range(self.top_level_statement.span()).unwrap_or(0..0);
        let written = name.to_string();
        let searched = &self.text.as_bytes()[statement_range.start..];
        let found =
            searched.windows(written.len().max(1)).position(|window| window.eq_ignore_ascii_case(written.as_bytes()));
        match found {
            Some(position) => {
                let start = statement_range.start + position;
                start..start + written.len()
            }
            None => statement_range.start..statement_range.start,
        }
    }

    /// The innermost non-recursive WITH scope and the position of `query` among its CTE bodies,
    /// when `query` is one of them. Recursive scopes are left alone: all their names stay visible.
    fn innermost_cte_body(&mut self, query: *const Query) -> Option<(&mut CteScope, usize)> {
        let scope = self.cte_scopes.last_mut()?;
        if scope.recursive {
            return None;
        }
        let index = scope.ctes.iter().position(|(_, body)| std::ptr::eq(*body, query))?;
        Some((scope, index))
    }

    fn is_bound_by_with(&self, name: &ObjectName) -> bool {
        let [ObjectNamePart::Identifier(identifier)] = name.0.as_slice() else {
            return false;
        };
        let lowered = identifier.value.to_lowercase();
        self.cte_scopes.iter().any(|scope| scope.ctes[..scope.visible].iter().any(|(cte_name, _)| *cte_name == lowered))
    }

    /// Registers and records what a statement does to its own tables before its parts are walked.
    fn enter_statement(&mut self, statement: &Statement) {
        match statement {
            Statement::Insert(insert) => {
                if let TableObject::TableName(name) = &insert.table {
                    self.register_target(name, TableAccess::Write);
                }
            }
            Statement::Update(update) => {
                if let TableFactor::Table { name, .. } = &update.table.relation {
                    self.register_target(name, TableAccess::Write);
                }
            }
            Statement::Delete(delete) => self.enter_delete(delete),
            Statement::Merge(merge) => {
                if let TableFactor::Table { name, .. } = &merge.table {
                    self.register_target(name, TableAccess::Write);
                }
            }
            Statement::CreateTable(create) => {
                self.register_target(&create.name, TableAccess::Create);
                let declared_by = normalized_object_name(&create.name);
                for column in &create.columns {
                    for option in &column.options {
                        self.record_foreign_key_option(&option.option, &declared_by);
                    }
                }
                for constraint in &create.constraints {
                    self.record_foreign_key_constraint(constraint, &declared_by);
                }
                if let Some(like) = &create.like {
                    let (sqlparser::ast::CreateTableLikeKind::Parenthesized(like)
                    | sqlparser::ast::CreateTableLikeKind::Plain(like)) = like;
                    self.record(&like.name, TableAccess::Read, None);
                }
                if let Some(clone) = &create.clone {
                    self.record(clone, TableAccess::Read, None);
                }
            }
            Statement::CreateView(view) => self.register_target(&view.name, TableAccess::Create),
            Statement::CreateVirtualTable { name, .. } => {
                self.register_target(name, TableAccess::Create);
            }
            Statement::AlterTable(alter) => {
                self.register_target(&alter.name, TableAccess::Alter);
                let declared_by = normalized_object_name(&alter.name);
                for operation in &alter.operations {
                    match operation {
                        AlterTableOperation::AddConstraint { constraint, .. } => {
                            self.record_foreign_key_constraint(constraint, &declared_by);
                        }
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            for option in &column_def.options {
                                self.record_foreign_key_option(&option.option, &declared_by);
                            }
                        }
                        AlterTableOperation::RenameTable {
                            table_name: RenameTableNameKind::As(new_name) | RenameTableNameKind::To(new_name),
                        } => self.record(new_name, TableAccess::Create, None),
                        AlterTableOperation::ChangeColumn { options, .. }
                        | AlterTableOperation::ModifyColumn { options, .. } => {
                            for option in options {
                                self.record_foreign_key_option(option, &declared_by);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Statement::Drop {
                object_type: ObjectType::Table | ObjectType::View | ObjectType::MaterializedView,
                names,
                ..
            } => {
                for name in names {
                    self.record(name, TableAccess::Drop, None);
                }
            }
            Statement::Truncate(truncate) => {
                for target in &truncate.table_names {
                    self.register_target(&target.name, TableAccess::Truncate);
                }
            }
            Statement::CreateIndex(index) => {
                self.register_target(&index.table_name, TableAccess::Index);
            }
            Statement::CreateTrigger(trigger) => {
                self.record(&trigger.table_name, TableAccess::Alter, None);
                if let Some(referenced) = &trigger.referenced_table_name {
                    self.record(referenced, TableAccess::Read, None);
                }
            }
            Statement::CreatePolicy(policy) => {
                self.register_target(&policy.table_name, TableAccess::Alter);
            }
            Statement::CreateRule(rule) => {
                self.register_target(&rule.table_name, TableAccess::Alter);
            }
            Statement::Copy { source: CopySource::Table { table_name, .. }, to, .. } => {
                let access = if *to { TableAccess::Read } else { TableAccess::Write };
                self.record(table_name, access, None);
            }
            _ => {}
        }
    }

    /// `DELETE FROM t` writes to the tables after FROM. MySQL's `DELETE a, b FROM t1 AS a JOIN t2
    /// AS b …` lists its targets first, often by alias, so each listed name is resolved to the
    /// FROM table it stands for; a name that resolves to nothing is recorded as written.
    fn enter_delete(&mut self, delete: &sqlparser::ast::Delete) {
        let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
        if delete.tables.is_empty() {
            for table in from {
                if let TableFactor::Table { name, .. } = &table.relation {
                    self.register_target(name, TableAccess::Write);
                }
            }
            return;
        }
        let from_tables: Vec<(&ObjectName, Option<String>)> = from
            .iter()
            .flat_map(|table| std::iter::once(&table.relation).chain(table.joins.iter().map(|join| &join.relation)))
            .filter_map(|relation| match relation {
                TableFactor::Table { name, alias, .. } => {
                    Some((name, alias.as_ref().map(|alias| alias.name.value.to_lowercase())))
                }
                _ => None,
            })
            .collect();
        for listed in &delete.tables {
            let listed_name = normalized_object_name(listed);
            let resolved = from_tables
                .iter()
                .find(|(_, alias)| alias.as_deref() == Some(listed_name.as_str()))
                .or_else(|| from_tables.iter().find(|(name, _)| normalized_object_name(name) == listed_name));
            match resolved {
                Some((name, _)) => self.register_target(name, TableAccess::Write),
                None => self.record(listed, TableAccess::Write, None),
            }
        }
    }

    fn record_foreign_key_option(&mut self, option: &ColumnOption, declared_by: &str) {
        if let ColumnOption::ForeignKey(foreign_key) = option {
            self.record(&foreign_key.foreign_table, TableAccess::ForeignKey, Some(declared_by.to_owned()));
        }
    }

    fn record_foreign_key_constraint(&mut self, constraint: &TableConstraint, declared_by: &str) {
        if let TableConstraint::ForeignKey(foreign_key) = constraint {
            self.record(&foreign_key.foreign_table, TableAccess::ForeignKey, Some(declared_by.to_owned()));
        }
    }
}

impl Visitor for ReferenceCollector<'_> {
    type Break = ();

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        self.enter_statement(statement);
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        let query_address: *const Query = query;
        // Entering CTE body number `index` of the innermost WITH: only earlier CTEs are visible.
        if let Some((scope, index)) = self.innermost_cte_body(query_address) {
            scope.visible = index;
        }
        if let Some(with) = &query.with {
            let ctes: Vec<(String, *const Query)> = with
                .cte_tables
                .iter()
                .map(|cte| {
                    let body: *const Query = &*cte.query;
                    (cte.alias.name.value.to_lowercase(), body)
                })
                .collect();
            let visible = if with.recursive { ctes.len() } else { 0 };
            self.cte_scopes.push(CteScope { query: query_address, ctes, visible, recursive: with.recursive });
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        let query_address: *const Query = query;
        if self.cte_scopes.last().is_some_and(|scope| std::ptr::eq(scope.query, query_address)) {
            self.cte_scopes.pop();
        }
        // Leaving CTE body number `index`: its name is now visible to later CTEs and the body.
        if let Some((scope, index)) = self.innermost_cte_body(query_address) {
            scope.visible = index + 1;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, table_factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, args: Some(_), .. } = table_factor {
            self.table_functions.push(name);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::In { target: InTarget::Table { name, args: Some(_) }, .. } = expr {
            self.table_functions.push(name);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let relation_address: *const ObjectName = relation;
        if self.table_functions.iter().any(|function| std::ptr::eq(*function, relation_address)) {
            return ControlFlow::Continue(());
        }
        if self.is_bound_by_with(relation) {
            return ControlFlow::Continue(());
        }
        let access = self
            .targets
            .iter()
            .find(|(target, _)| std::ptr::eq(*target, relation_address))
            .map_or(TableAccess::Read, |(_, access)| *access);
        self.record(relation, access, None);
        ControlFlow::Continue(())
    }
}

/// A name as the ownership rules compare it: parts lower-cased and joined by dots, quotes gone.
fn normalized_object_name(name: &ObjectName) -> String {
    let mut normalized = String::new();
    for (index, part) in name.0.iter().enumerate() {
        if index > 0 {
            normalized.push('.');
        }
        match part {
            ObjectNamePart::Identifier(identifier) => {
                normalized.extend(identifier.value.chars().flat_map(char::to_lowercase));
            }
            ObjectNamePart::Function(function) => {
                normalized.push_str(&normalize_table_name(&function.to_string()));
            }
        }
    }
    normalized
}
