//! Finds the tables a piece of SQL reads, writes, creates or references, for the table rules.
//!
//! The text comes from Rust string literals and `.sql` files, so it may be written for PostgreSQL,
//! SQLite or MySQL. It is parsed by sqlparser in several dialects; nothing is guessed from text
//! that no dialect accepts.

use std::ops::{ControlFlow, Range};
use std::panic::{AssertUnwindSafe, catch_unwind};

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, CopySource, Expr, FromTable, InTarget, ObjectName, ObjectNamePart, ObjectType,
    Query, RenameTableNameKind, Spanned, Statement, TableConstraint, TableFactor, TableObject, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Location;

/// The first words that make a string literal a candidate for SQL.
const STATEMENT_KEYWORDS: [&str; 11] =
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE", "REPLACE", "MERGE"];

/// Whether a string literal's text should be treated as SQL.
///
/// After leading whitespace and SQL comments (`-- …` lines and `/* … */` blocks) the text must
/// start with a statement keyword (SELECT, INSERT, UPDATE, DELETE, WITH, CREATE, ALTER, DROP,
/// TRUNCATE, REPLACE, MERGE), in any case, followed by a character that cannot continue a word
/// (or the end of the text), so that "Selection" is not SQL but "SELECT*FROM t" is. This runs on every string literal of a workspace, so it never allocates.
pub fn looks_like_sql(text: &str) -> bool {
    leading_statement_keyword(text).is_some()
}

/// The statement keyword that `text` starts with after whitespace and SQL comments, as written,
/// and the text after it; `None` when it starts with none (see [`looks_like_sql`]).
fn leading_statement_keyword(text: &str) -> Option<(&str, &str)> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after_dashes) = rest.strip_prefix("--") {
            rest = &after_dashes[after_dashes.find('\n')? + 1..];
        } else if let Some(after_opening) = rest.strip_prefix("/*") {
            rest = &after_opening[after_opening.find("*/")? + 2..];
        } else {
            break;
        }
    }
    STATEMENT_KEYWORDS.iter().find_map(|keyword| {
        let head = rest.as_bytes().get(..keyword.len())?;
        if !head.eq_ignore_ascii_case(keyword.as_bytes()) {
            return None;
        }
        // The keyword is ASCII, so its length is a character boundary of `rest`. It ends at any
        // character that cannot continue a word: `SELECT*FROM t` is SQL, `Selection` is not.
        let after = &rest[keyword.len()..];
        match after.chars().next() {
            Some(next) if next.is_alphanumeric() || next == '_' => None,
            _ => Some((&rest[..keyword.len()], after)),
        }
    })
}

/// Whether text that [`looks_like_sql`] accepted and [`extract_table_references`] rejected is
/// broken SQL worth a warning, rather than a message that starts with a statement keyword
/// ("Select a file to upload", "Update the docs.", "create it with `--init`", "SELECT query took
/// too long").
///
/// Text that reads like prose ([`looks_like_prose`]) never is. Otherwise the text must go on the
/// way SQL does after its keyword, in one of two ways:
/// - the keyword, in any case, is followed by the word SQL puts there (`FROM`, `WHERE` or `*`
///   after SELECT, `SET` after UPDATE, `INTO` after INSERT, `TABLE` after CREATE, …); or
/// - the keyword is written in upper case, as SQL keywords conventionally are, and the rest is
///   shaped like SQL: it holds SQL punctuation (`*`, `=`, `(`, `;`, `'`, `$`, `<`, `>`), or that
///   word misspelt by one letter (`FORM`, `WHER`, `INOT`, `TABEL`).
///
/// So "SELECT id FORM orders" and "UPDATE t SETT x=1" are reported, while "UPDATE AVAILABLE",
/// "SELECT query took too long" and a bare "SELECT" (a keyword as data) are not.
pub fn looks_like_broken_sql(text: &str) -> bool {
    if looks_like_prose(text) {
        return false;
    }
    let Some((keyword, rest)) = leading_statement_keyword(text) else { return false };
    let keyword_upper = keyword.to_ascii_uppercase();
    let words: Vec<String> = rest
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '*')
        .filter(|word| !word.is_empty())
        .map(|word| word.to_ascii_lowercase())
        .collect();
    // The words SQL puts after the keyword, and whether they must come straight after it.
    let (expected, anywhere): (&[&str], bool) = match keyword_upper.as_str() {
        "SELECT" => (&["from", "where", "*"], true),
        "INSERT" | "REPLACE" => (&["into", "or", "ignore"], false),
        "UPDATE" => (&["set"], true),
        "DELETE" => (&["from"], false),
        "MERGE" => (&["into"], false),
        "TRUNCATE" if words.len() == 1 => return true,
        "TRUNCATE" => (&["table"], false),
        "WITH" => return words.iter().any(|word| word == "as") && text.contains('('),
        _ => (CREATE_DROP_ALTER_OBJECTS, false),
    };
    let candidates = if anywhere { &words[..] } else { &words[..words.len().min(1)] };
    if candidates.iter().any(|word| expected.contains(&word.as_str())) {
        return true;
    }
    if keyword != keyword_upper || words.is_empty() {
        return false;
    }
    let has_sql_punctuation = rest.contains(['*', '=', '(', ';', '\'', '$', '<', '>']);
    let misspelt = candidates
        .iter()
        .any(|word| expected.iter().any(|wanted| wanted.len() >= 4 && edit_distance_is_one(word, wanted)));
    has_sql_punctuation || misspelt
}

/// The objects that CREATE, DROP and ALTER take as their second word.
const CREATE_DROP_ALTER_OBJECTS: &[&str] = &[
    "table",
    "index",
    "unique",
    "view",
    "temp",
    "temporary",
    "virtual",
    "trigger",
    "or",
    "schema",
    "materialized",
    "type",
    "extension",
    "sequence",
    "function",
    "policy",
    "rule",
    "database",
    "if",
];

/// Whether `word` becomes `wanted` by one insertion, deletion, substitution or swap of two
/// neighbouring letters (`form`, `frm`, `fromm` and `fron` for `from`). Both are ASCII.
fn edit_distance_is_one(word: &str, wanted: &str) -> bool {
    let (a, b) = (word.as_bytes(), wanted.as_bytes());
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match (a.len(), b.len()) {
        (x, y) if x == y => a[1..] == b[1..] || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..]),
        (x, y) if x > y => a[1..] == *b,
        _ => *a == b[1..],
    }
}

/// Whether text that starts like SQL but failed to parse reads like an English sentence, such as
/// "Select a plan to continue." or "Update your profile", so that a caller can stay silent about
/// it instead of warning that SQL did not parse.
///
/// It is a heuristic, meant only for text that [`looks_like_sql`] accepted and
/// [`extract_table_references`] rejected. The text reads like prose when it ends with sentence
/// punctuation (`.`, `!`, `…`, or a `?` straight after a letter, which a placeholder never is), or
/// when its first word is capitalised like a sentence ("Update", not "UPDATE" or "update") and it
/// holds none of the characters SQL needs beyond words (`*`, `=`, `(`, `,`, `;`, quotes, `$`, `?`,
/// `:`, `@`, `<`, `>`). SQL written in sentence case with such characters is still reported.
pub fn looks_like_prose(text: &str) -> bool {
    let trimmed = text.trim();
    let mut last_characters = trimmed.chars().rev();
    let ends_like_a_sentence = match (last_characters.next(), last_characters.next()) {
        (Some('.' | '!' | '…'), _) => true,
        (Some('?'), Some(before)) => before.is_alphabetic(),
        _ => false,
    };
    if ends_like_a_sentence {
        return true;
    }
    let first_word = trimmed.split(|character: char| !character.is_alphanumeric()).next().unwrap_or("");
    let mut first_word_characters = first_word.chars();
    let sentence_case =
        first_word_characters.next().is_some_and(char::is_uppercase) && first_word_characters.all(char::is_lowercase);
    let has_sql_punctuation = trimmed.contains(['*', '=', '(', ',', ';', '\'', '"', '`', '$', '?', ':', '@', '<', '>']);
    sentence_case && !has_sql_punctuation
}

/// How a statement uses a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableAccess {
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
pub struct TableReference {
    /// Lower-cased, quotes stripped, schema kept when written: "audit.log", "orders".
    pub name: String,
    /// Byte range of the table name within the text given to [`extract_table_references`],
    /// covering the whole possibly-qualified, possibly-quoted name as written.
    pub byte_range: Range<usize>,
    /// How the statement uses the table.
    pub access: TableAccess,
    /// For [`TableAccess::ForeignKey`]: the table that declares the constraint (the table being
    /// created or altered), normalised like `name`. `None` for every other access.
    pub declared_by: Option<String>,
}

/// The reason a text could not be parsed in any dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlParseError {
    /// The parser's message, without its trailing line and column.
    pub message: String,
    /// Byte offset in the text when the parser reports a location.
    pub byte_offset: Option<usize>,
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
pub fn extract_table_references(text: &str) -> Result<Vec<TableReference>, SqlParseError> {
    let line_index = LineIndex::new(text);
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

/// Normalises a table name or an ownership pattern: lower case, with `"`, `` ` ``, `[` and `]`
/// quoting removed, so that `"Audit"."Log"`, `[audit].[log]` and `audit.log` are all "audit.log".
pub fn normalize_table_name(name: &str) -> String {
    name.chars().filter(|character| !matches!(character, '"' | '`' | '[' | ']')).flat_map(char::to_lowercase).collect()
}

/// Whether an ownership pattern (`"points_*"`, `"audit.log"`, `"Orders"`) matches a table name.
///
/// Both sides are normalised with [`normalize_table_name`]. `*` matches any run of characters. A
/// schema-qualified pattern is matched against the whole name as written, so `audit.log` does not
/// match a bare `log`; an unqualified pattern is matched against the last part of the name, so
/// `orders` matches both `orders` and `shop.orders`.
pub fn table_pattern_matches(pattern: &str, table: &str) -> bool {
    let pattern = normalize_table_name(pattern);
    let table = normalize_table_name(table);
    if pattern.contains('.') {
        glob_matches(pattern.as_bytes(), table.as_bytes())
    } else {
        let last_part = table.rsplit('.').next().unwrap_or(&table);
        glob_matches(pattern.as_bytes(), last_part.as_bytes())
    }
}

/// Matches `candidate` against `pattern`, where `*` stands for any run of bytes.
///
/// This is the classic greedy matcher that remembers the last star and retries from one byte
/// further on a mismatch, so it runs in linear time for patterns with a single star and never
/// recurses. Comparing bytes is correct for UTF-8 because `*` consumes whole runs and every other
/// byte must match exactly.
fn glob_matches(pattern: &[u8], candidate: &[u8]) -> bool {
    let mut pattern_position = 0;
    let mut candidate_position = 0;
    let mut last_star: Option<(usize, usize)> = None;
    while candidate_position < candidate.len() {
        if pattern.get(pattern_position) == Some(&b'*') {
            last_star = Some((pattern_position, candidate_position));
            pattern_position += 1;
        } else if pattern.get(pattern_position) == Some(&candidate[candidate_position]) {
            pattern_position += 1;
            candidate_position += 1;
        } else if let Some((star_position, star_candidate_position)) = last_star {
            pattern_position = star_position + 1;
            candidate_position = star_candidate_position + 1;
            last_star = Some((star_position, star_candidate_position + 1));
        } else {
            return false;
        }
    }
    pattern[pattern_position..].iter().all(|&byte| byte == b'*')
}

/// Parses the whole text in one dialect and collects its table references.
fn parse_and_collect(
    dialect: &dyn Dialect,
    text: &str,
    line_index: &LineIndex,
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
fn parse_error(error: &ParserError, line_index: &LineIndex) -> SqlParseError {
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

/// Converts sqlparser's line and column positions into byte offsets.
///
/// sqlparser counts lines from 1, advancing on `\n`, and columns from 1 in characters (its
/// tokenizer adds one per `char`, whatever its UTF-8 length), so a column is turned into a byte
/// offset by walking that many characters from the start of the line.
struct LineIndex<'text> {
    text: &'text str,
    line_starts: Vec<usize>,
}

impl<'text> LineIndex<'text> {
    fn new(text: &'text str) -> Self {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(newline, _)| newline + 1)).collect();
        LineIndex { text, line_starts }
    }

    /// The byte offset of a location, or `None` for the empty location (line 0) and for positions
    /// outside the text. The column just past the end of a line is valid, as span ends are
    /// exclusive in practice.
    fn byte_offset(&self, location: Location) -> Option<usize> {
        let line_number = usize::try_from(location.line).ok()?;
        let column_number = usize::try_from(location.column).ok()?;
        let line_start = *self.line_starts.get(line_number.checked_sub(1)?)?;
        let characters_before = column_number.checked_sub(1)?;
        let line = &self.text[line_start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        if characters_before == 0 {
            return Some(line_start);
        }
        let mut characters = line.char_indices().skip(characters_before - 1);
        let (last_index, last_character) = characters.next()?;
        Some(line_start + last_index + last_character.len_utf8())
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
struct ReferenceCollector<'walk> {
    text: &'walk str,
    line_index: &'walk LineIndex<'walk>,
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
    fn new(text: &'walk str, line_index: &'walk LineIndex<'walk>, top_level_statement: &'walk Statement) -> Self {
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
    fn name_range(&self, name: &ObjectName) -> Range<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use TableAccess::*;

    /// Extracts the references of `text`, checks that every byte range slices back to the name
    /// as written, and returns the names with their access for comparison.
    fn tables(text: &str) -> Vec<(String, TableAccess)> {
        let references = match extract_table_references(text) {
            Ok(references) => references,
            Err(error) => panic!("{text:?} did not parse: {error:?}"),
        };
        for reference in &references {
            let written = &text[reference.byte_range.clone()];
            assert_eq!(
                normalize_table_name(written),
                reference.name,
                "the range of {reference:?} covers {written:?} in {text:?}"
            );
        }
        references.into_iter().map(|reference| (reference.name, reference.access)).collect()
    }

    fn expected(pairs: &[(&str, TableAccess)]) -> Vec<(String, TableAccess)> {
        pairs.iter().map(|(name, access)| ((*name).to_owned(), *access)).collect()
    }

    #[test]
    fn select_from_and_join() {
        assert_eq!(
            tables(
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id \
                 LEFT JOIN addresses ON true"
            ),
            expected(&[("orders", Read), ("customers", Read), ("addresses", Read)])
        );
    }

    #[test]
    fn subqueries_at_any_depth_and_position() {
        assert_eq!(
            tables(
                "SELECT (SELECT count(*) FROM items), x.a FROM \
                 (SELECT a FROM (SELECT a FROM deep_table) AS inner_one) AS x \
                 WHERE x.a IN (SELECT a FROM allowed) \
                 AND EXISTS (SELECT 1 FROM flags WHERE flags.a = x.a)"
            ),
            expected(&[("items", Read), ("deep_table", Read), ("allowed", Read), ("flags", Read),])
        );
    }

    #[test]
    fn set_operations() {
        assert_eq!(
            tables(
                "SELECT id FROM a UNION SELECT id FROM b INTERSECT SELECT id FROM c \
                 EXCEPT SELECT id FROM d"
            ),
            expected(&[("a", Read), ("b", Read), ("c", Read), ("d", Read)])
        );
    }

    #[test]
    fn cte_names_are_not_tables() {
        assert_eq!(
            tables("WITH accounts AS (SELECT * FROM ledger) SELECT * FROM accounts"),
            expected(&[("ledger", Read)])
        );
    }

    #[test]
    fn later_ctes_see_earlier_ones_but_not_the_other_way_round() {
        // In a plain WITH, `orders` inside the first body is the real table, and `recent` in the
        // second body is the first CTE.
        assert_eq!(
            tables(
                "WITH recent AS (SELECT * FROM orders), orders AS (SELECT * FROM recent) \
                 SELECT * FROM orders JOIN recent USING (id)"
            ),
            expected(&[("orders", Read)])
        );
    }

    #[test]
    fn recursive_cte_refers_to_itself() {
        assert_eq!(
            tables(
                "WITH RECURSIVE tree AS (SELECT id FROM nodes UNION ALL \
                 SELECT n.id FROM nodes n JOIN tree t ON n.parent = t.id) SELECT * FROM tree"
            ),
            expected(&[("nodes", Read), ("nodes", Read)])
        );
    }

    #[test]
    fn cte_shadowing_follows_nested_scopes() {
        // The inner WITH binds `totals` only inside the subquery; the outer `totals` is a table.
        assert_eq!(
            tables(
                "SELECT * FROM totals WHERE id IN \
                 (WITH totals AS (SELECT id FROM sums) SELECT id FROM totals)"
            ),
            expected(&[("totals", Read), ("sums", Read)])
        );
        // An outer CTE is visible inside a nested subquery.
        assert_eq!(
            tables(
                "WITH active AS (SELECT id FROM users) \
                 SELECT * FROM orders WHERE user_id IN (SELECT id FROM active)"
            ),
            expected(&[("users", Read), ("orders", Read)])
        );
        // A qualified name is never a CTE.
        assert_eq!(tables("WITH users AS (SELECT 1) SELECT * FROM auth.users"), expected(&[("auth.users", Read)]));
    }

    #[test]
    fn insert_and_insert_select() {
        assert_eq!(tables("INSERT INTO orders (id, total) VALUES ($1, $2)"), expected(&[("orders", Write)]));
        assert_eq!(
            tables("INSERT INTO archive (id) SELECT id FROM orders WHERE closed"),
            expected(&[("archive", Write), ("orders", Read)])
        );
    }

    #[test]
    fn update_and_update_from() {
        assert_eq!(tables("UPDATE orders SET total = 0 WHERE id = $1"), expected(&[("orders", Write)]));
        assert_eq!(
            tables(
                "UPDATE orders o SET total = p.total FROM prices p \
                 WHERE p.id = o.price_id AND o.id IN (SELECT id FROM pending)"
            ),
            expected(&[("orders", Write), ("prices", Read), ("pending", Read)])
        );
    }

    #[test]
    fn delete_and_delete_using() {
        assert_eq!(tables("DELETE FROM sessions WHERE expires_at < now()"), expected(&[("sessions", Write)]));
        assert_eq!(
            tables("DELETE FROM sessions s USING users u WHERE s.user_id = u.id AND u.banned"),
            expected(&[("sessions", Write), ("users", Read)])
        );
    }

    #[test]
    fn mysql_multi_table_delete_resolves_aliases() {
        assert_eq!(
            tables("DELETE s FROM sessions AS s JOIN users AS u ON s.user_id = u.id WHERE u.banned"),
            expected(&[("sessions", Write), ("users", Read)])
        );
    }

    #[test]
    fn replace_into() {
        assert_eq!(tables("REPLACE INTO settings (key, value) VALUES (?, ?)"), expected(&[("settings", Write)]));
    }

    #[test]
    fn merge_into_using() {
        assert_eq!(
            tables(
                "MERGE INTO stock AS s USING deliveries AS d ON s.item = d.item \
                 WHEN MATCHED THEN UPDATE SET count = s.count + d.count \
                 WHEN NOT MATCHED THEN INSERT (item, count) VALUES (d.item, d.count)"
            ),
            expected(&[("stock", Write), ("deliveries", Read)])
        );
    }

    #[test]
    fn create_table_in_its_forms() {
        assert_eq!(tables("CREATE TABLE points (id BIGINT PRIMARY KEY)"), expected(&[("points", Create)]));
        assert_eq!(
            tables("CREATE TABLE IF NOT EXISTS points_history (id BIGINT)"),
            expected(&[("points_history", Create)])
        );
        assert_eq!(
            tables("CREATE TABLE points_copy AS SELECT * FROM points WHERE id > 10"),
            expected(&[("points_copy", Create), ("points", Read)])
        );
    }

    #[test]
    fn create_view_claims_the_view() {
        assert_eq!(
            tables("CREATE VIEW open_orders AS SELECT * FROM orders WHERE open"),
            expected(&[("open_orders", Create), ("orders", Read)])
        );
    }

    #[test]
    fn alter_table_with_foreign_key() {
        let references = extract_table_references(
            "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk \
             FOREIGN KEY (customer_id) REFERENCES customers (id)",
        )
        .expect("parses");
        let summary: Vec<_> = references
            .iter()
            .map(|reference| (reference.name.as_str(), reference.access, reference.declared_by.as_deref()))
            .collect();
        assert_eq!(summary, [("orders", Alter, None), ("customers", ForeignKey, Some("orders"))]);
    }

    #[test]
    fn alter_table_add_column_with_references() {
        let references =
            extract_table_references("ALTER TABLE orders ADD COLUMN coupon_id INT REFERENCES coupons").expect("parses");
        assert_eq!(references[1].name, "coupons");
        assert_eq!(references[1].access, ForeignKey);
        assert_eq!(references[1].declared_by.as_deref(), Some("orders"));
    }

    #[test]
    fn drop_table_with_several_names() {
        assert_eq!(
            tables("DROP TABLE IF EXISTS old_orders, shop.old_items CASCADE"),
            expected(&[("old_orders", Drop), ("shop.old_items", Drop)])
        );
        // Dropping an index names no table.
        assert_eq!(tables("DROP INDEX orders_idx"), expected(&[]));
    }

    #[test]
    fn truncate() {
        assert_eq!(
            tables("TRUNCATE TABLE events, audit.log"),
            expected(&[("events", Truncate), ("audit.log", Truncate)])
        );
    }

    #[test]
    fn create_index_on() {
        assert_eq!(
            tables("CREATE UNIQUE INDEX IF NOT EXISTS orders_number ON orders (number)"),
            expected(&[("orders", Index)])
        );
    }

    #[test]
    fn references_in_column_and_table_constraints() {
        let text = "CREATE TABLE order_lines (\n\
                    \x20   order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,\n\
                    \x20   product_id BIGINT NOT NULL,\n\
                    \x20   FOREIGN KEY (product_id) REFERENCES catalog.products (id)\n\
                    )";
        let references = extract_table_references(text).expect("parses");
        let summary: Vec<_> = references
            .iter()
            .map(|reference| (&text[reference.byte_range.clone()], reference.access, reference.declared_by.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("order_lines", Create, None),
                ("orders", ForeignKey, Some("order_lines")),
                ("catalog.products", ForeignKey, Some("order_lines")),
            ]
        );
    }

    #[test]
    fn aliases_are_not_tables() {
        assert_eq!(
            tables("SELECT orders.id FROM customers AS orders JOIN items i ON i.order_id = orders.id"),
            expected(&[("customers", Read), ("items", Read)])
        );
    }

    #[test]
    fn rename_claims_the_new_name() {
        assert_eq!(
            tables("ALTER TABLE orders RENAME TO purchases"),
            expected(&[("orders", Alter), ("purchases", Create)])
        );
    }

    #[test]
    fn triggers_policies_and_rules_alter_their_table() {
        assert_eq!(
            tables(
                "CREATE TRIGGER orders_audit AFTER INSERT ON orders \
                 FOR EACH ROW EXECUTE FUNCTION write_audit()"
            ),
            expected(&[("orders", Alter)])
        );
        assert_eq!(
            tables("CREATE POLICY own_rows ON accounts USING (owner = current_user)"),
            expected(&[("accounts", Alter)])
        );
        // A SQLite trigger body is SQL of its own, and its tables count too.
        assert_eq!(
            tables(
                "CREATE TRIGGER log_delete AFTER DELETE ON orders \
                 BEGIN INSERT INTO audit_log (note) VALUES ('deleted'); END"
            ),
            expected(&[("orders", Alter), ("audit_log", Write)])
        );
    }

    #[test]
    fn copy_from_writes_and_copy_to_reads() {
        assert_eq!(tables("COPY orders (id, total) FROM STDIN"), expected(&[("orders", Write)]));
        assert_eq!(tables("COPY orders TO STDOUT"), expected(&[("orders", Read)]));
    }

    #[test]
    fn table_functions_are_not_tables() {
        assert_eq!(
            tables("SELECT * FROM generate_series(1, 3) AS g JOIN slots ON slots.n = g"),
            expected(&[("slots", Read)])
        );
    }

    #[test]
    fn quoted_names_lose_their_quotes_and_case() {
        let text = r#"SELECT * FROM "Orders" WHERE id = $1"#;
        let references = extract_table_references(text).expect("parses");
        assert_eq!(references[0].name, "orders");
        assert_eq!(&text[references[0].byte_range.clone()], r#""Orders""#);

        let text = "SELECT * FROM `orders` WHERE id = ?";
        let references = extract_table_references(text).expect("parses");
        assert_eq!(references[0].name, "orders");
        assert_eq!(&text[references[0].byte_range.clone()], "`orders`");

        let text = "SELECT * FROM [Orders] WHERE id = ?1";
        let references = extract_table_references(text).expect("parses");
        assert_eq!(references[0].name, "orders");
        assert_eq!(&text[references[0].byte_range.clone()], "[Orders]");
    }

    #[test]
    fn schema_qualified_names_keep_their_schema() {
        let text = r#"INSERT INTO "Audit".log (message) SELECT message FROM public.events"#;
        let references = extract_table_references(text).expect("parses");
        assert_eq!(references[0].name, "audit.log");
        assert_eq!(&text[references[0].byte_range.clone()], r#""Audit".log"#);
        assert_eq!(references[1].name, "public.events");
        assert_eq!(&text[references[1].byte_range.clone()], "public.events");
    }

    #[test]
    fn byte_ranges_are_exact_in_multi_line_text_after_non_ascii() {
        let text = "-- Bestellungen für Kunden: ünïcödé ✓\n\
                    SELECT *\n\
                    /* größer als — 😀 */ FROM  shop.\"Bestellung_ü\"\n\
                    \tJOIN kunden k ON k.id = 1";
        let references = extract_table_references(text).expect("parses");
        let written: Vec<&str> = references.iter().map(|reference| &text[reference.byte_range.clone()]).collect();
        assert_eq!(written, ["shop.\"Bestellung_ü\"", "kunden"]);
        assert_eq!(references[0].name, "shop.bestellung_ü");
        let expected_start = text.find("shop.").expect("present");
        assert_eq!(references[0].byte_range.start, expected_start);
    }

    #[test]
    fn line_index_counts_columns_in_characters() {
        let index = LineIndex::new("ab\né😀x\n");
        assert_eq!(index.byte_offset(Location { line: 1, column: 1 }), Some(0));
        assert_eq!(index.byte_offset(Location { line: 1, column: 3 }), Some(2));
        assert_eq!(index.byte_offset(Location { line: 2, column: 2 }), Some(5));
        assert_eq!(index.byte_offset(Location { line: 2, column: 3 }), Some(9));
        assert_eq!(index.byte_offset(Location { line: 2, column: 4 }), Some(10));
        assert_eq!(index.byte_offset(Location { line: 2, column: 9 }), None);
        assert_eq!(index.byte_offset(Location { line: 3, column: 1 }), Some(11));
        assert_eq!(index.byte_offset(Location { line: 0, column: 0 }), None);
        assert_eq!(index.byte_offset(Location { line: 7, column: 1 }), None);
    }

    #[test]
    fn placeholders_of_every_dialect_parse() {
        for text in [
            "SELECT * FROM orders WHERE id = $1 AND total > $2",
            "SELECT * FROM orders WHERE id = ? AND total > ?",
            "SELECT * FROM orders WHERE id = ?1 AND total > ?2",
            "SELECT * FROM orders WHERE id = :id AND total > :total",
            "SELECT * FROM orders WHERE id = @id AND total > @total",
        ] {
            assert_eq!(tables(text), expected(&[("orders", Read)]), "{text}");
        }
    }

    #[test]
    fn several_statements_in_one_text() {
        assert_eq!(
            tables("DELETE FROM carts WHERE id = $1; INSERT INTO orders SELECT * FROM carts_archive;"),
            expected(&[("carts", Write), ("orders", Write), ("carts_archive", Read)])
        );
    }

    #[test]
    fn data_modifying_cte() {
        assert_eq!(
            tables(
                "WITH moved AS (DELETE FROM inbox WHERE done RETURNING *) \
                 INSERT INTO outbox SELECT * FROM moved"
            ),
            expected(&[("inbox", Write), ("outbox", Write)])
        );
        assert_eq!(
            tables(
                "WITH ids AS (SELECT id FROM expired) \
                 DELETE FROM sessions WHERE id IN (SELECT id FROM ids)"
            ),
            expected(&[("expired", Read), ("sessions", Write)])
        );
        assert_eq!(
            tables("WITH ids AS (SELECT id FROM stale) UPDATE carts SET open = false"),
            expected(&[("stale", Read), ("carts", Write)])
        );
    }

    const MIGRATION: &str = "\
-- Loyalty points: accounts, their movements, and the audit trail.
CREATE TABLE IF NOT EXISTS points_accounts (
    id          BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE points_movements (
    id         BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount <> 0),
    CONSTRAINT movements_account_fk FOREIGN KEY (account_id) REFERENCES points_accounts (id)
);

CREATE INDEX points_movements_account ON points_movements (account_id);

CREATE TABLE audit.log (id BIGSERIAL PRIMARY KEY, message TEXT NOT NULL);

ALTER TABLE points_movements ADD CONSTRAINT movements_order_fk
    FOREIGN KEY (order_id) REFERENCES orders (id);
";

    #[test]
    fn migration_with_several_tables_and_foreign_keys() {
        let references = extract_table_references(MIGRATION).expect("parses");
        let summary: Vec<_> = references
            .iter()
            .map(|reference| (reference.name.as_str(), reference.access, reference.declared_by.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("points_accounts", Create, None),
                ("customers", ForeignKey, Some("points_accounts")),
                ("points_movements", Create, None),
                ("points_accounts", ForeignKey, Some("points_movements")),
                ("points_movements", Index, None),
                ("audit.log", Create, None),
                ("points_movements", Alter, None),
                ("orders", ForeignKey, Some("points_movements")),
            ]
        );
        // The foreign key to `orders` stands on the last line, not on the line of its ALTER TABLE.
        let orders = &references[7];
        let line = MIGRATION[..orders.byte_range.start].matches('\n').count() + 1;
        assert_eq!(line, 20);
        assert_eq!(&MIGRATION[orders.byte_range.clone()], "orders");
    }

    #[test]
    fn english_sentences_are_errors_not_guesses() {
        for sentence in [
            "Select a plan to continue.",
            "Update your profile",
            "Delete this item?",
            "Create an account to get started!",
            "Drop us a line",
            "Replace the cartridge",
            "With great power comes great responsibility",
        ] {
            assert!(looks_like_sql(sentence), "{sentence}");
            assert!(extract_table_references(sentence).is_err(), "{sentence} should not parse");
        }
    }

    #[test]
    fn prose_is_told_apart_from_broken_sql() {
        for sentence in [
            "Select a plan to continue.",
            "Update your profile",
            "Delete this item?",
            "Create an account to get started!",
            "Drop us a line",
            "Replace the cartridge",
            "With great power comes great responsibility",
            "Merge the two branches…",
        ] {
            assert!(looks_like_prose(sentence), "{sentence}");
        }
        for broken_sql in [
            "SELECT * FROM orders WHERE",
            "Update orders set total = 1 wher id = 2",
            "update your profile",
            "UPDATE YOUR PROFILE",
            "DELETE FROM orders WHERE id = ?",
            "Select id from orders where id = :id and",
            "",
        ] {
            assert!(!looks_like_prose(broken_sql), "{broken_sql}");
        }
    }

    #[test]
    fn broken_sql_is_told_apart_from_messages() {
        for broken_sql in [
            "SELECT id FORM orders",
            "UPDATE t SETT x=1",
            "SELECT FROM WHERE",
            "select id from orders where",
            "INSERT INTO",
            "CREATE TABEL orders",
            "DELETE FROM WHERE id = 1",
            "SELECT COUNT(*) FRM orders",
            "TRUNCATE",
        ] {
            assert!(extract_table_references(broken_sql).is_err(), "{broken_sql} should not parse");
            if broken_sql != "TRUNCATE" {
                assert!(looks_like_broken_sql(broken_sql), "{broken_sql}");
            }
        }
        for message in [
            "Select a file to upload",
            "Update the docs.",
            "Select the form to upload",
            "Update your profile",
            "UPDATE AVAILABLE",
            "SELECT query took too long",
            "SELECT",
            "create it with `--init`, or remove it from the list",
            "Select a plan, then press Continue",
            "Create a new project (it's free)",
            "Update failed: {error}",
            "with the default settings",
        ] {
            assert!(!looks_like_broken_sql(message), "{message}");
        }
    }

    #[test]
    fn one_edit_away() {
        for (word, wanted) in [("form", "from"), ("frm", "from"), ("fromm", "from"), ("fron", "from"), ("rfom", "from")]
        {
            assert!(edit_distance_is_one(word, wanted), "{word}");
        }
        for (word, wanted) in [("from", "from"), ("file", "from"), ("fo", "from"), ("mrof", "from"), ("orfm", "from")] {
            assert!(!edit_distance_is_one(word, wanted), "{word}");
        }
    }

    #[test]
    fn errors_carry_the_parser_message_and_offset() {
        let text = "SELECT *\nFROM orders WHERE id = = 1";
        let error = extract_table_references(text).expect_err("does not parse");
        assert!(!error.message.contains("Line:"), "{}", error.message);
        assert!(!error.message.is_empty());
        assert_eq!(error.byte_offset, Some(text.rfind('=').expect("present")));
        assert_eq!(error.to_string(), error.message);
    }

    #[test]
    fn tokenizer_errors_carry_an_offset_too() {
        let text = "SELECT * FROM orders\nWHERE note = 'unterminated";
        let error = extract_table_references(text).expect_err("does not parse");
        assert_eq!(error.byte_offset, Some(text.find('\'').expect("present")));
    }

    #[test]
    fn sqlite_insert_or_replace() {
        assert_eq!(
            tables("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)"),
            expected(&[("settings", Write)])
        );
    }

    #[test]
    fn windows_line_endings_keep_ranges_exact() {
        let text = "SELECT *\r\nFROM orders\r\n  JOIN lines ON lines.order_id = orders.id\r\n";
        let references = extract_table_references(text).expect("parses");
        let written: Vec<&str> = references.iter().map(|reference| &text[reference.byte_range.clone()]).collect();
        assert_eq!(written, ["orders", "lines"]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 5_000;
        let text = format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth));
        assert!(extract_table_references(&text).is_err());
        let subqueries = 10;
        let text =
            format!("SELECT * FROM {}orders{}", "(SELECT * FROM ".repeat(subqueries), ") AS t".repeat(subqueries));
        assert_eq!(tables(&text), expected(&[("orders", Read)]));
    }

    #[test]
    fn a_name_without_a_span_is_found_from_its_statement() {
        let text = "SELECT 1;\n  DELETE FROM Orders WHERE id = 1";
        let line_index = LineIndex::new(text);
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, text).expect("parses");
        let collector = ReferenceCollector::new(text, &line_index, &statements[1]);
        let unspanned = ObjectName::from(vec![sqlparser::ast::Ident::new("orders")]);
        let range = collector.name_range(&unspanned);
        assert_eq!(&text[range], "Orders");
        // A name that is not written in the statement falls back to the statement's start.
        let absent = ObjectName::from(vec![sqlparser::ast::Ident::new("invoices")]);
        let start = text.find("DELETE").expect("present");
        assert_eq!(collector.name_range(&absent), start..start);
    }

    #[test]
    fn empty_text_and_comments_only_have_no_tables() {
        assert_eq!(tables(""), expected(&[]));
        assert_eq!(tables("   \n\t "), expected(&[]));
        assert_eq!(tables("-- nothing here\n/* nor here */\n"), expected(&[]));
    }

    #[test]
    fn every_prefix_of_real_sql_returns_without_panicking() {
        let text = format!(
            "{MIGRATION}\nWITH recent AS (SELECT * FROM \"Orders\" o WHERE o.id = $1) \
             SELECT r.*, (SELECT count(*) FROM `items` WHERE items.order_id = r.id) \
             FROM recent r WHERE r.total > ?2 UNION SELECT * FROM [archive] -- é ✓\n\
             ;MERGE INTO stock s USING deliveries d ON s.item = d.item \
             WHEN MATCHED THEN UPDATE SET count = s.count + d.count;"
        );
        let mut parsed_prefixes = 0;
        for (end, _) in text.char_indices() {
            let prefix = &text[..end];
            if let Ok(references) = extract_table_references(prefix) {
                parsed_prefixes += 1;
                for reference in references {
                    assert!(prefix.get(reference.byte_range.clone()).is_some());
                }
            }
        }
        // Many prefixes end between statements, so some must parse; most must not.
        assert!(parsed_prefixes > 10, "{parsed_prefixes}");
        assert!(parsed_prefixes < text.len() / 2, "{parsed_prefixes}");
    }

    #[test]
    fn looks_like_sql_needs_a_statement_keyword_as_the_first_word() {
        for sql in [
            "SELECT 1",
            "  select * from orders",
            "\n\tInsert INTO x VALUES (1)",
            "-- fetch the orders\nSELECT * FROM orders",
            "/* a */ /* b */ with x AS (SELECT 1) SELECT * FROM x",
            "update",
            "TRUNCATE orders",
            "REPLACE INTO a VALUES (1)",
            "MERGE INTO a USING b ON true WHEN MATCHED THEN DELETE",
            "DROP\nTABLE orders",
            "ALTER TABLE a ADD COLUMN b INT",
            "DELETE FROM a",
            "CREATE TABLE a (b INT)",
        ] {
            assert!(looks_like_sql(sql), "{sql:?}");
        }
        for not_sql in [
            "",
            "   ",
            "Selection",
            "selected items",
            "Updated",
            "-- SELECT only in a comment",
            "/* unterminated SELECT",
            "SELECT_ALL",
            "hello SELECT 1",
            "é SELECT",
            "Withdraw money",
            "Sel",
        ] {
            assert!(!looks_like_sql(not_sql), "{not_sql:?}");
        }
    }

    #[test]
    fn table_patterns() {
        assert!(table_pattern_matches("orders", "orders"));
        assert!(table_pattern_matches("Orders", "orders"));
        assert!(table_pattern_matches("\"Orders\"", "orders"));
        assert!(table_pattern_matches("orders", "shop.orders"));
        assert!(table_pattern_matches("points_*", "points_accounts"));
        assert!(table_pattern_matches("points_*", "points_"));
        assert!(table_pattern_matches("points_*", "loyalty.points_movements"));
        assert!(table_pattern_matches("*_log", "audit_log"));
        assert!(table_pattern_matches("*", "anything.at_all"));
        assert!(table_pattern_matches("a*b*c", "axxbyyc"));
        assert!(table_pattern_matches("audit.log", "audit.log"));
        assert!(table_pattern_matches("\"Audit\".\"Log\"", "audit.log"));
        assert!(table_pattern_matches("audit.*", "audit.events"));
        assert!(table_pattern_matches("pünkt_*", "PÜNKT_konto"));

        assert!(!table_pattern_matches("orders", "orders_archive"));
        assert!(!table_pattern_matches("points_*", "point_accounts"));
        assert!(!table_pattern_matches("audit.log", "log"));
        assert!(!table_pattern_matches("audit.log", "other.log"));
        assert!(!table_pattern_matches("audit.*", "events"));
        assert!(!table_pattern_matches("shop", "shop.orders"));
        assert!(!table_pattern_matches("a*b*c", "axxbyy"));
        assert!(!table_pattern_matches("", "orders"));
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize_table_name("\"Audit\".\"Log\""), "audit.log");
        assert_eq!(normalize_table_name("[dbo].[Orders]"), "dbo.orders");
        assert_eq!(normalize_table_name("`Orders`"), "orders");
    }
}
