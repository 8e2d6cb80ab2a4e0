//! The SQL extraction's unit tests: dialects, statements, CTE scoping and positions.

use sqlparser::ast::ObjectName;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;

use super::detect::{edit_distance_is_one, looks_like_broken_sql, looks_like_prose, looks_like_sql};
use super::names::{normalize_table_name, table_pattern_matches};
use super::tables::{Positions, ReferenceCollector, TableAccess, extract_table_references};
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
    assert_eq!(tables("WITH accounts AS (SELECT * FROM ledger) SELECT * FROM accounts"), expected(&[("ledger", Read)]));
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
    assert_eq!(tables("TRUNCATE TABLE events, audit.log"), expected(&[("events", Truncate), ("audit.log", Truncate)]));
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
    assert_eq!(tables("ALTER TABLE orders RENAME TO purchases"), expected(&[("orders", Alter), ("purchases", Create)]));
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
    let index = Positions::new("ab\né😀x\n");
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
    for (word, wanted) in [("form", "from"), ("frm", "from"), ("fromm", "from"), ("fron", "from"), ("rfom", "from")] {
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
    let text = format!("SELECT * FROM {}orders{}", "(SELECT * FROM ".repeat(subqueries), ") AS t".repeat(subqueries));
    assert_eq!(tables(&text), expected(&[("orders", Read)]));
}

#[test]
fn a_name_without_a_span_is_found_from_its_statement() {
    let text = "SELECT 1;\n  DELETE FROM Orders WHERE id = 1";
    let line_index = Positions::new(text);
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
