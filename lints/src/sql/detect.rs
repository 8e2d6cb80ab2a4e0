//! Which string literals are SQL: text that starts with a statement keyword, and, among those
//! that no dialect parses, which are broken SQL worth a warning rather than an English sentence.

/// The first words that make a string literal a candidate for SQL.
const STATEMENT_KEYWORDS: [&str; 11] =
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE", "REPLACE", "MERGE"];

/// Whether a string literal's text should be treated as SQL.
///
/// After leading whitespace and SQL comments (`-- …` lines and `/* … */` blocks) the text must
/// start with a statement keyword (SELECT, INSERT, UPDATE, DELETE, WITH, CREATE, ALTER, DROP,
/// TRUNCATE, REPLACE, MERGE), in any case, followed by a character that cannot continue a word
/// (or the end of the text), so that "Selection" is not SQL but "SELECT*FROM t" is. This runs on every string literal of a workspace, so it never allocates.
pub(crate) fn looks_like_sql(text: &str) -> bool {
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
pub(crate) fn looks_like_broken_sql(text: &str) -> bool {
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
pub(super) fn edit_distance_is_one(word: &str, wanted: &str) -> bool {
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
pub(crate) fn looks_like_prose(text: &str) -> bool {
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
