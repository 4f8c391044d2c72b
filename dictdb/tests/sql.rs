//! SQL through `Database::execute`: results equal the builder's, errors say where.

use dictdb::{
    Database, EngineError, Error, IndexKind, Output, Params, Query, SqlError, Value, col, record,
};

fn db() -> Database {
    let db = Database::new();
    db.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, \
         score REAL, city TEXT)",
        (),
    )
    .unwrap();
    db.execute(
        "INSERT INTO people (id, name, age, score, city) VALUES \
         (1, 'Ada', 36, 9.5, 'London'), (2, 'Grace', 45, 7, 'New York'), \
         (3, 'Linus', NULL, 8.25, 'Helsinki'), (4, 'Alan', 41, NULL, 'London'), \
         (5, 'Edsger', 72, 6.5, NULL)",
        (),
    )
    .unwrap();
    db.table("people")
        .unwrap()
        .create_index("age", IndexKind::Sorted);
    db
}

fn rows(out: Output) -> Vec<Vec<Value>> {
    match out {
        Output::Rows { rows, .. } => rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

fn columns(out: &Output) -> Vec<String> {
    match out {
        Output::Rows { columns, .. } => columns.to_vec(),
        other => panic!("expected rows, got {other:?}"),
    }
}

#[test]
fn select_equals_the_builder() {
    let db = db();
    let t = db.table("people").unwrap();
    let cases: Vec<(&str, Query)> = vec![
        (
            "SELECT name FROM people WHERE age >= 40 ORDER BY age DESC",
            Query::new()
                .filter(col("age").ge(40))
                .order_by_desc("age")
                .columns(["name"]),
        ),
        (
            "SELECT name, age FROM people WHERE city = 'London' OR age < 40 LIMIT 2 OFFSET 1",
            Query::new()
                .filter(col("city").eq("London") | col("age").lt(40))
                .offset(1)
                .limit(2)
                .columns(["name", "age"]),
        ),
        (
            "SELECT city FROM people WHERE name LIKE 'A%' ORDER BY city",
            Query::new()
                .filter(col("name").like("A%"))
                .order_by("city")
                .columns(["city"]),
        ),
        (
            "SELECT DISTINCT city FROM people WHERE city IS NOT NULL",
            Query::new()
                .filter(col("city").is_not_null())
                .distinct()
                .columns(["city"]),
        ),
        (
            "SELECT id FROM people WHERE age BETWEEN 36 AND 45 AND id IN (1, 2, 4)",
            Query::new()
                .filter(col("age").between(36, 45) & col("id").is_in([1, 2, 4]))
                .columns(["id"]),
        ),
    ];
    for (sql, q) in cases {
        let got = rows(db.execute(sql, ()).unwrap());
        let expected: Vec<Vec<Value>> = t
            .select(&q)
            .unwrap()
            .into_iter()
            .map(|r| r.iter().map(|(_, v)| v.clone()).collect())
            .collect();
        assert_eq!(got, expected, "{sql}");
        assert!(!got.is_empty(), "{sql}");
    }
}

#[test]
fn select_items_aliases_ordinals_and_null_ordering() {
    let db = db();
    let out = db
        .execute(
            "SELECT name AS who, age + 1, age FROM people ORDER BY 3 DESC NULLS FIRST, who",
            (),
        )
        .unwrap();
    assert_eq!(columns(&out), ["who", "age + 1", "age"]);
    let r = rows(out);
    assert_eq!(r[0], [Value::str("Linus"), Value::Null, Value::Null]);
    assert_eq!(r[1], [Value::str("Edsger"), Value::Int(73), Value::Int(72)]);
    let out = db
        .execute(
            "SELECT age FROM people ORDER BY age NULLS LAST LIMIT 1 OFFSET 4",
            (),
        )
        .unwrap();
    assert_eq!(rows(out), [[Value::Null]]);
    // Duplicate result names get suffixes.
    let out = db
        .execute("SELECT age, age FROM people WHERE id = 1", ())
        .unwrap();
    assert_eq!(columns(&out), ["age", "age_1"]);
    assert_eq!(rows(out), [[Value::Int(36), Value::Int(36)]]);
    // SELECT * follows the declared column order.
    let out = db.execute("SELECT * FROM people WHERE id = 2", ()).unwrap();
    assert_eq!(columns(&out), ["id", "name", "age", "score", "city"]);
    assert_eq!(
        rows(out)[0][3],
        Value::Float(7.0),
        "REAL stores an int as a float"
    );
}

#[test]
fn sql_not_is_three_valued() {
    let db = db();
    // Linus has no age: NOT (age = 36) is unknown for him, so he is not selected.
    let out = db
        .execute(
            "SELECT name FROM people WHERE NOT (age = 36) ORDER BY id",
            (),
        )
        .unwrap();
    let names: Vec<Value> = rows(out).into_iter().map(|mut r| r.remove(0)).collect();
    assert_eq!(names, ["Grace", "Alan", "Edsger"].map(Value::str));
    let out = db
        .execute("SELECT name FROM people WHERE (age = 36) IS NOT TRUE", ())
        .unwrap();
    assert_eq!(rows(out).len(), 4);
}

#[test]
fn placeholders() {
    let db = db();
    let q = "SELECT name FROM people WHERE age > ? AND city = ?";
    let out = db
        .execute(q, [Value::Int(40), Value::str("London")])
        .unwrap();
    assert_eq!(rows(out), [[Value::str("Alan")]]);
    let out = db
        .execute(
            "SELECT name FROM people WHERE id = $2 OR id = $1",
            [Value::Int(1), Value::Int(3)],
        )
        .unwrap();
    assert_eq!(rows(out).len(), 2);
    let named = Params::Named(vec![("who".into(), Value::str("Ada"))]);
    let out = db
        .execute("SELECT id FROM people WHERE name = :who", named)
        .unwrap();
    assert_eq!(rows(out), [[Value::Int(1)]]);
    let err = db
        .execute("SELECT id FROM people WHERE id = ?", ())
        .unwrap_err();
    assert!(
        err.to_string().contains("no value for the parameter"),
        "{err}"
    );
}

#[test]
fn writes_are_atomic_and_count_rows() {
    let db = db();
    // A duplicate key in the second row rejects the whole statement.
    let err = db
        .execute(
            "INSERT INTO people (id, name) VALUES (10, 'X'), (1, 'Y')",
            (),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Engine(EngineError::DuplicateKey { .. })),
        "{err}"
    );
    assert_eq!(db.table("people").unwrap().len(), 5);
    // A NULL key means an automatic one.
    let out = db
        .execute("INSERT INTO people (id, name) VALUES (NULL, 'Auto')", ())
        .unwrap();
    assert_eq!(out, Output::Affected(1));
    assert_eq!(
        rows(
            db.execute("SELECT id FROM people WHERE name = 'Auto'", ())
                .unwrap()
        ),
        [[Value::Int(6)]]
    );
    // Storing rules: a bool into INTEGER, text into REAL.
    for sql in [
        "INSERT INTO people (id, name, age) VALUES (20, 'B', TRUE)",
        "INSERT INTO people (id, name, score) VALUES (21, 'C', 'high')",
        "INSERT INTO people (id, age) VALUES (22, 1)",
    ] {
        let err = db.execute(sql, ()).unwrap_err();
        assert!(
            matches!(err, Error::Engine(EngineError::Schema(_))),
            "{sql}: {err}"
        );
    }
    // UPDATE: right-hand sides see the old row (a swap), counts, keys shift.
    let out = db
        .execute(
            "UPDATE people SET name = city, city = name WHERE id = 1",
            (),
        )
        .unwrap();
    assert_eq!(out, Output::Affected(1));
    let swapped = rows(
        db.execute("SELECT name, city FROM people WHERE id = 1", ())
            .unwrap(),
    );
    assert_eq!(swapped, [[Value::str("London"), Value::str("Ada")]]);
    let err = db
        .execute("UPDATE people SET age = score WHERE id = 2", ())
        .unwrap_err();
    assert!(
        matches!(err, Error::Engine(EngineError::Schema(_))),
        "a float into INTEGER: {err}"
    );
    assert_eq!(
        db.execute("UPDATE people SET city = 'Paris' WHERE id > 100", ())
            .unwrap(),
        Output::Affected(0)
    );
    assert_eq!(
        db.execute("UPDATE people SET id = id + 100", ()).unwrap(),
        Output::Affected(6)
    );
    let ids = rows(db.execute("SELECT id FROM people ORDER BY id", ()).unwrap());
    assert_eq!(ids.first().unwrap(), &[Value::Int(101)]);
    // Ada's city became 'Ada' above: only Alan is left in London.
    assert_eq!(
        db.execute("DELETE FROM people WHERE city = 'London'", ())
            .unwrap(),
        Output::Affected(1)
    );
    assert_eq!(
        db.execute("DELETE FROM people", ()).unwrap(),
        Output::Affected(5)
    );
}

#[test]
fn ddl_and_schemaless_tables() {
    let db = Database::new();
    db.execute("CREATE TABLE IF NOT EXISTS t (a INT)", ())
        .unwrap();
    db.execute("CREATE TABLE IF NOT EXISTS t (a INT)", ())
        .unwrap();
    assert!(db.execute("CREATE TABLE t (a INT)", ()).is_err());
    let t = db.table("t").unwrap();
    assert_eq!(t.primary_key(), "id", "no PRIMARY KEY: an implicit id key");
    db.execute("INSERT INTO t (a) VALUES (1), (2)", ()).unwrap();
    assert_eq!(
        rows(db.execute("SELECT id, a FROM t", ()).unwrap())[1],
        [Value::Int(2), Value::Int(2)]
    );
    db.execute("DROP TABLE t; DROP TABLE IF EXISTS t", ())
        .unwrap();
    assert!(db.execute("DROP TABLE t", ()).is_err());
    // A schemaless table made through the API reads and writes any column.
    let free = db.create_table("free", "id").unwrap();
    free.insert(record! { "x" => 1 }).unwrap();
    db.execute("INSERT INTO free (y) VALUES ('a')", ()).unwrap();
    let out = db.execute("SELECT x, y FROM free ORDER BY id", ()).unwrap();
    assert_eq!(
        rows(out),
        [[Value::Int(1), Value::Null], [Value::Null, Value::str("a")]]
    );
}

#[test]
fn explain_shows_the_plan() {
    let db = db();
    let lines = rows(
        db.execute(
            "EXPLAIN SELECT name FROM people WHERE age > 40 ORDER BY age LIMIT 2",
            (),
        )
        .unwrap(),
    );
    let text: Vec<String> = lines
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text.last().unwrap(), "btree range age (40, +inf) on people");
    let lines = rows(
        db.execute("EXPLAIN DELETE FROM people WHERE id = 3", ())
            .unwrap(),
    );
    assert_eq!(lines[0], [Value::str("delete from people")]);
    assert_eq!(
        lines.last().unwrap(),
        &[Value::str("pk lookup [3] on people")]
    );
}

#[test]
fn errors_say_where_and_what() {
    let db = db();
    let err = db
        .execute("SELECT name\nFROM people WHER age > 1", ())
        .unwrap_err();
    let Error::Sql(SqlError::Syntax {
        position: Some(p), ..
    }) = &err
    else {
        panic!("expected a syntax error with a position: {err:?}");
    };
    assert_eq!(p.line, 2);
    let text = err.to_string();
    assert!(text.contains("line 2") && text.contains('^'), "{text}");

    for (sql, feature) in [
        (
            "SELECT * FROM people JOIN other ON people.id = other.id",
            "JOIN",
        ),
        (
            "SELECT * FROM people WHERE id IN (SELECT id FROM people)",
            "subqueries",
        ),
        ("SELECT id FROM people UNION SELECT id FROM people", "UNION"),
        ("BEGIN", "transactions"),
        ("SELECT soundex(name) FROM people", "soundex()"),
    ] {
        let err = db.execute(sql, ()).unwrap_err();
        assert!(
            matches!(err, Error::Sql(SqlError::Unsupported { .. })),
            "{sql}: {err:?}"
        );
        assert!(err.to_string().contains(feature), "{sql}: {err}");
    }
    let err = db.execute("SELECT nme FROM people", ()).unwrap_err();
    assert!(err.to_string().contains("did you mean name?"), "{err}");
    let err = db.execute("SELECT name FROM peple", ()).unwrap_err();
    assert!(err.to_string().contains("did you mean people?"), "{err}");
    let err = db
        .execute("SELECT name FROM people WHERE name = \"Ada\"", ())
        .unwrap_err();
    assert!(
        err.to_string().contains("no column named Ada"),
        "double quotes are identifiers: {err}"
    );
    let err = db
        .execute("SELECT name FROM people WHERE name", ())
        .unwrap_err();
    assert!(
        matches!(err, Error::Query(_)),
        "text as a condition: {err:?}"
    );
    let err = db.execute("SELECT 1 / 0 FROM people", ()).unwrap_err();
    assert!(err.to_string().contains("division by zero"), "{err}");
}

#[test]
fn group_by_having_and_aggregates_equal_the_builder() {
    use dictdb::{Agg, Aggregation};
    let db = db();
    let t = db.table("people").unwrap();
    // SQL groups, then HAVING / ORDER BY / items over the groups.
    let out = db
        .execute(
            "SELECT city, count(*) AS n, avg(score), sum(age), count(DISTINCT age), max(name) \
             FROM people GROUP BY city HAVING count(*) >= 1 ORDER BY n DESC, city NULLS FIRST",
            (),
        )
        .unwrap();
    assert_eq!(
        columns(&out),
        [
            "city",
            "n",
            "avg(score)",
            "sum(age)",
            "count(DISTINCT age)",
            "max(name)"
        ]
    );
    let got = rows(out);
    // The builder's aggregation gives the same groups (in first-appearance order).
    let mut want: Vec<Vec<Value>> = t
        .aggregate(
            Aggregation::new()
                .group_by(["city"])
                .agg("n", Agg::count())
                .agg("avg", Agg::avg("score"))
                .agg("sum", Agg::sum("age"))
                .agg("cd", Agg::count_distinct("age"))
                .agg("max", Agg::max("name")),
        )
        .unwrap()
        .into_iter()
        .map(|r| r.iter().map(|(_, v)| v.clone()).collect())
        .collect();
    // ORDER BY n DESC, city NULLS FIRST.
    let key = |r: &Vec<Value>| (-r[1].as_int().unwrap(), r[0].as_str().map(str::to_owned));
    want.sort_by_key(key);
    assert_eq!(got, want);
    assert_eq!(got[0][0], Value::str("London"));
    assert_eq!(got[0][1], Value::Int(2));
    assert_eq!(got[0][3], Value::Int(77));

    // No GROUP BY: one row, also over no rows.
    let out = db
        .execute(
            "SELECT count(*), sum(age), avg(age) FROM people WHERE id > 100",
            (),
        )
        .unwrap();
    assert_eq!(rows(out), [vec![Value::Int(0), Value::Null, Value::Null]]);
    // HAVING filters groups; expressions over aggregates and keys.
    let out = db
        .execute(
            "SELECT lower(city) AS c, sum(age) + 1 AS s FROM people \
             WHERE age IS NOT NULL GROUP BY lower(city) HAVING sum(age) > 50 ORDER BY 2",
            (),
        )
        .unwrap();
    assert_eq!(
        rows(out),
        [
            vec![Value::Null, Value::Int(73)],
            vec![Value::str("london"), Value::Int(78)],
        ]
    );
    // GROUP BY an ordinal; NULL keys form one group.
    let out = db
        .execute(
            "SELECT city IS NULL, count(*) FROM people GROUP BY 1 ORDER BY 1",
            (),
        )
        .unwrap();
    assert_eq!(
        rows(out),
        [
            vec![Value::Bool(false), Value::Int(4)],
            vec![Value::Bool(true), Value::Int(1)]
        ]
    );
    // Leniencies refused: a column neither grouped nor aggregated.
    let err = db
        .execute("SELECT name, count(*) FROM people GROUP BY city", ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("name must appear in GROUP BY"), "{err}");
    let err = db
        .execute("SELECT id FROM people WHERE count(*) > 1", ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not allowed here"), "{err}");
    assert!(err.contains("column 29"), "{err}");
    // EXPLAIN shows the steps over the groups, then the aggregation and its access.
    let plan = rows(
        db.execute(
            "EXPLAIN SELECT city, count(*) FROM people WHERE age >= 40 GROUP BY city \
             HAVING count(*) > 1 ORDER BY 2 DESC LIMIT 3",
            (),
        )
        .unwrap(),
    );
    let plan: Vec<&str> = plan.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(
        plan,
        [
            "project city, COUNT(*) AS count(*)",
            "limit 3 offset 0",
            "top-k 3 by COUNT(*) DESC",
            "filter COUNT(*) > 1",
            "aggregate COUNT(*) group by city",
            "filter age >= 40",
            "btree range age [40, +inf) on people",
        ]
    );
}

#[test]
fn scalar_functions_and_case() {
    let db = db();
    let q = |sql: &str| rows(db.execute(sql, ()).unwrap());
    assert_eq!(
        q(
            "SELECT upper(name), lower(city), length(name), substr(name, 2, 3), \
           coalesce(age, -1), nullif(city, 'London'), abs(0 - id), round(score) \
           FROM people WHERE id IN (3, 4) ORDER BY id"
        ),
        [
            vec![
                Value::str("LINUS"),
                Value::str("helsinki"),
                Value::Int(5),
                Value::str("inu"),
                Value::Int(-1),
                Value::str("Helsinki"),
                Value::Int(3),
                Value::Float(8.0),
            ],
            vec![
                Value::str("ALAN"),
                Value::str("london"),
                Value::Int(4),
                Value::str("lan"),
                Value::Int(41),
                Value::Null,
                Value::Int(4),
                Value::Null,
            ],
        ]
    );
    assert_eq!(
        q(
            "SELECT CASE WHEN age IS NULL THEN 'unknown' WHEN age < 40 THEN 'young' \
           ELSE 'older' END AS band, CASE city WHEN 'London' THEN 1 END \
           FROM people ORDER BY id"
        ),
        [
            vec![Value::str("young"), Value::Int(1)],
            vec![Value::str("older"), Value::Null],
            vec![Value::str("unknown"), Value::Null],
            vec![Value::str("older"), Value::Int(1)],
            vec![Value::str("older"), Value::Null],
        ]
    );
    assert_eq!(
        q(
            "SELECT trim('  a  '), ltrim('xxa', 'x'), trim(LEADING 'x' FROM 'xxaxx'), \
           substring('hello' FROM 2 FOR 3), round(2.675, 2), round(1250, -2) FROM people \
           WHERE id = 1"
        ),
        [vec![
            Value::str("a"),
            Value::str("a"),
            Value::str("axx"),
            Value::str("ell"),
            Value::Float(2.68),
            Value::Int(1300),
        ]]
    );
    // Functions in WHERE run through the same evaluator (and the same filter path).
    assert_eq!(
        q("SELECT id FROM people WHERE lower(name) LIKE 'a%' ORDER BY id"),
        [vec![Value::Int(1)], vec![Value::Int(4)]]
    );
    // Wrong types and arities are errors naming the function and the value.
    let err = db
        .execute("SELECT lower(age) FROM people", ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("lower() takes text, not 36"), "{err}");
    let err = db
        .execute("SELECT substr(name) FROM people", ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("substr() takes 2 to 3 argument(s), not 1"),
        "{err}"
    );
    // Result names are the expression text as written.
    let out = db
        .execute("SELECT substr(name, 1, 2), Upper( name ) FROM people", ())
        .unwrap();
    assert_eq!(columns(&out), ["substr(name, 1, 2)", "Upper( name )"]);
}

#[test]
fn returning_and_on_conflict() {
    let db = db();
    let q = |sql: &str| db.execute(sql, ());
    // INSERT … RETURNING, with an auto key.
    let out = q(
        "INSERT INTO people (id, name, age) VALUES (NULL, 'Barbara', 50), (10, 'Ken', 60) \
                 RETURNING id, upper(name) AS n",
    )
    .unwrap();
    assert_eq!(columns(&out), ["id", "n"]);
    assert_eq!(
        rows(out),
        [
            vec![Value::Int(6), Value::str("BARBARA")],
            vec![Value::Int(10), Value::str("KEN")]
        ]
    );
    // UPDATE … RETURNING sees the rows as updated; DELETE … RETURNING as they were.
    let out = q("UPDATE people SET age = age + 1 WHERE id IN (1, 2) RETURNING id, age").unwrap();
    assert_eq!(
        rows(out),
        [
            vec![Value::Int(1), Value::Int(37)],
            vec![Value::Int(2), Value::Int(46)]
        ]
    );
    let out = q("DELETE FROM people WHERE id = 10 RETURNING *").unwrap();
    assert_eq!(columns(&out), ["id", "name", "age", "score", "city"]);
    assert_eq!(
        rows(out),
        [vec![
            Value::Int(10),
            Value::str("Ken"),
            Value::Int(60),
            Value::Null,
            Value::Null
        ]]
    );
    // An error in RETURNING changes nothing.
    let before = rows(q("SELECT * FROM people ORDER BY id").unwrap());
    for bad in [
        "UPDATE people SET age = 1 RETURNING 1 / 0",
        "DELETE FROM people RETURNING lower(age)",
        "INSERT INTO people (id, name) VALUES (20, 'x') RETURNING id / 0",
        "INSERT INTO people (id, name) VALUES (1, 'x'), (21, 'y') ON CONFLICT DO UPDATE \
         SET name = excluded.name RETURNING id / 0",
    ] {
        assert!(q(bad).is_err(), "{bad}");
        assert_eq!(
            rows(q("SELECT * FROM people ORDER BY id").unwrap()),
            before,
            "{bad}"
        );
    }
    // ON CONFLICT DO NOTHING skips taken keys (also ones taken earlier in the statement).
    let out = q(
        "INSERT INTO people (id, name) VALUES (1, 'Dup'), (30, 'New'), (30, 'Again') \
                 ON CONFLICT (id) DO NOTHING",
    )
    .unwrap();
    assert_eq!(out, Output::Affected(1));
    assert_eq!(
        rows(q("SELECT name FROM people WHERE id IN (1, 30) ORDER BY id").unwrap()),
        [vec![Value::str("Ada")], vec![Value::str("New")]]
    );
    // DO UPDATE: bare columns read the existing row, excluded.* the proposed one.
    let out = q(
        "INSERT INTO people (id, name, age) VALUES (1, 'Ada L.', 1), (31, 'Fresh', 2) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, age = age + excluded.age \
                 RETURNING id, name, age",
    )
    .unwrap();
    assert_eq!(
        rows(out),
        [
            vec![Value::Int(1), Value::str("Ada L."), Value::Int(38)],
            vec![Value::Int(31), Value::str("Fresh"), Value::Int(2)]
        ]
    );
    // DO UPDATE … WHERE leaves rows where the condition fails alone.
    let out = q(
        "INSERT INTO people (id, name) VALUES (1, 'No'), (2, 'Yes') \
                 ON CONFLICT DO UPDATE SET name = excluded.name WHERE age > 40",
    )
    .unwrap();
    assert_eq!(out, Output::Affected(1));
    assert_eq!(
        rows(q("SELECT name FROM people WHERE id IN (1, 2) ORDER BY id").unwrap()),
        [vec![Value::str("Ada L.")], vec![Value::str("Yes")]]
    );
    // Atomic: a type error or a row changed twice rejects the whole statement.
    let before = rows(q("SELECT * FROM people ORDER BY id").unwrap());
    for bad in [
        "INSERT INTO people (id, name) VALUES (40, 'ok'), (1, 'x') \
         ON CONFLICT DO UPDATE SET age = 'old'",
        "INSERT INTO people (id, name) VALUES (1, 'a'), (1, 'b') \
         ON CONFLICT DO UPDATE SET name = excluded.name",
        "INSERT INTO people (id, name) VALUES (41, 'a'), (41, 'b') \
         ON CONFLICT DO UPDATE SET name = excluded.name",
        "INSERT INTO people (id, name) VALUES (42, 'a'), (1, 'b') \
         ON CONFLICT DO UPDATE SET id = 42",
        "INSERT INTO people (id, name) VALUES (1, 'a') ON CONFLICT (name) DO NOTHING",
    ] {
        let err = q(bad).unwrap_err().to_string();
        assert_eq!(
            rows(q("SELECT * FROM people ORDER BY id").unwrap()),
            before,
            "{bad}: {err}"
        );
    }
    let err = q("INSERT INTO people (id, name) VALUES (1, 'a'), (1, 'b') \
                 ON CONFLICT DO UPDATE SET name = excluded.name")
    .unwrap_err()
    .to_string();
    assert!(err.contains("key 1 of people twice"), "{err}");
    // excluded.* only in DO UPDATE.
    let err = q("UPDATE people SET name = excluded.name")
        .unwrap_err()
        .to_string();
    assert!(err.contains("only valid in ON CONFLICT"), "{err}");
}

#[test]
fn prepared_statements_and_the_statement_cache() {
    let db = db();
    // A prepared statement runs many times with different values.
    let by_age = db
        .prepare("SELECT name FROM people WHERE age >= ? ORDER BY age LIMIT ?")
        .unwrap();
    assert_eq!(by_age.param_count(), 2);
    assert_eq!(
        rows(by_age.execute([Value::Int(40), Value::Int(2)]).unwrap()),
        [vec![Value::str("Alan")], vec![Value::str("Grace")]]
    );
    assert_eq!(
        rows(by_age.execute([Value::Int(70), Value::Int(5)]).unwrap()),
        [vec![Value::str("Edsger")]]
    );
    // LIKE with a placeholder pattern is planned like a constant one.
    let like = db
        .prepare("SELECT id FROM people WHERE name LIKE ?")
        .unwrap();
    assert_eq!(
        rows(like.execute([Value::str("A%")]).unwrap()),
        [vec![Value::Int(1)], vec![Value::Int(4)]]
    );
    assert_eq!(
        rows(like.execute([Value::Null]).unwrap()),
        Vec::<Vec<Value>>::new()
    );
    // Named placeholders; one name used twice is one parameter.
    let named = db
        .prepare("SELECT id FROM people WHERE age > :a AND id <> :a ORDER BY id")
        .unwrap();
    assert_eq!(named.param_count(), 1);
    assert_eq!(
        rows(named.execute([("a", Value::Int(44))]).unwrap()),
        [vec![Value::Int(2)], vec![Value::Int(5)]]
    );
    // Wrong parameters are errors naming the placeholder.
    let err = by_age.execute([Value::Int(1)]).unwrap_err().to_string();
    assert!(
        err.contains("no value for the parameter ? number 2"),
        "{err}"
    );
    let err = by_age
        .execute([Value::Int(1), Value::Int(1), Value::Int(1)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("3 parameter values for 2 placeholders"),
        "{err}"
    );
    let err = by_age
        .execute([Value::Int(1), Value::str("x")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("LIMIT takes an integer"), "{err}");
    let err = named.execute([Value::Int(1)]).unwrap_err().to_string();
    assert!(err.contains("named placeholders"), "{err}");
    // The cache keeps each text once and stays bounded.
    let before = db.cached_statements();
    for _ in 0..3 {
        db.execute("SELECT id FROM people WHERE id = ?", [Value::Int(1)])
            .unwrap();
    }
    assert_eq!(db.cached_statements(), before + 1);
    for i in 0..dictdb::STATEMENT_CACHE_SIZE + 10 {
        db.execute(&format!("SELECT id FROM people WHERE id = {i}"), ())
            .unwrap();
    }
    assert_eq!(db.cached_statements(), dictdb::STATEMENT_CACHE_SIZE);
    // A cached statement sees DDL made after it was cached.
    let q = "SELECT name FROM people WHERE city = 'London' ORDER BY id";
    let plan = |db: &Database| {
        rows(db.execute(&format!("EXPLAIN {q}"), ()).unwrap())
            .last()
            .unwrap()[0]
            .clone()
    };
    assert_eq!(plan(&db), Value::str("full scan on people"));
    db.execute("CREATE INDEX people_city ON people (city) USING HASH", ())
        .unwrap();
    assert_eq!(
        plan(&db),
        Value::str("hash lookup city ['London'] on people")
    );
    assert_eq!(
        rows(db.execute(q, ()).unwrap()),
        [vec![Value::str("Ada")], vec![Value::str("Alan")]]
    );
}

#[test]
fn named_indexes() {
    let db = db();
    let q = |sql: &str| db.execute(sql, ());
    q("CREATE INDEX by_name ON people (name)").unwrap();
    q("CREATE INDEX IF NOT EXISTS by_name ON people (name)").unwrap();
    let t = db.table("people").unwrap();
    assert!(
        t.indexes()
            .contains(&("name".to_string(), IndexKind::Sorted))
    );
    let names: Vec<String> = db.index_names().into_iter().map(|n| n.name).collect();
    assert_eq!(names, ["by_name"]);
    // Errors: a taken name, an indexed field, an unknown column or table.
    let err = q("CREATE INDEX by_name ON people (city)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("index 'by_name' already exists"), "{err}");
    let err = q("CREATE INDEX other ON people (name)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("already has an index"), "{err}");
    let err = q("CREATE INDEX x ON people (nmae)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean name?"), "{err}");
    let err = q("CREATE INDEX x ON peple (name)").unwrap_err().to_string();
    assert!(err.contains("did you mean people?"), "{err}");
    let err = q("CREATE INDEX x ON people (name, age)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("several columns"), "{err}");
    let err = q("CREATE INDEX x ON people USING gin (name)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("HASH or BTREE"), "{err}");
    // Both spellings of USING.
    q("CREATE INDEX c1 ON people USING HASH (city)").unwrap();
    q("DROP INDEX c1").unwrap();
    q("CREATE INDEX c2 ON people (city) USING HASH").unwrap();
    assert!(t.indexes().contains(&("city".to_string(), IndexKind::Hash)));
    // DROP INDEX by name; IF EXISTS; dropping the table drops its names.
    q("DROP INDEX by_name").unwrap();
    assert!(!t.indexes().iter().any(|(f, _)| f == "name"));
    let err = q("DROP INDEX by_name").unwrap_err().to_string();
    assert!(err.contains("index 'by_name' does not exist"), "{err}");
    q("DROP INDEX IF EXISTS by_name").unwrap();
    q("DROP TABLE people").unwrap();
    assert!(db.index_names().is_empty());
}

#[test]
fn cached_point_plans_answer_like_the_planner() {
    use dictdb::PlannerConfig;
    let db = db();
    let slow = db_with_rules_off();
    let queries = [
        "SELECT * FROM people WHERE id = ?",
        "SELECT name, age, name FROM people WHERE id = ?",
        "SELECT name FROM people WHERE ? = id",
        "SELECT name FROM people WHERE id = ? LIMIT 0",
        "SELECT name FROM people WHERE id = :k",
    ];
    let keys = [
        Value::Int(2),
        Value::Float(2.0),
        Value::Int(99),
        Value::Null,
        Value::str("2"),
        Value::Bool(true),
    ];
    for q in queries {
        let fast = db.prepare(q).unwrap();
        for k in &keys {
            let params: Params = if q.contains(":k") {
                Params::Named(vec![("k".into(), k.clone())])
            } else {
                Params::Positional(vec![k.clone()])
            };
            // Twice: the second run uses the cached plan.
            for _ in 0..2 {
                assert_eq!(
                    fast.execute(params.clone()).unwrap(),
                    slow.execute(q, params.clone()).unwrap(),
                    "{q} with {k:?}"
                );
            }
        }
    }
    // A constant key; a re-created table; an index change.
    let q = "SELECT name FROM people WHERE id = 3";
    assert_eq!(
        rows(db.execute(q, ()).unwrap()),
        [vec![Value::str("Linus")]]
    );
    db.execute("DROP TABLE people", ()).unwrap();
    db.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        (),
    )
    .unwrap();
    db.execute("INSERT INTO people VALUES (3, 'Other')", ())
        .unwrap();
    assert_eq!(
        rows(db.execute(q, ()).unwrap()),
        [vec![Value::str("Other")]]
    );
    db.execute("CREATE INDEX n ON people (name)", ()).unwrap();
    assert_eq!(
        rows(db.execute(q, ()).unwrap()),
        [vec![Value::str("Other")]]
    );
    // A column the new table lacks is an error again, not a stale answer.
    let err = db
        .execute("SELECT age FROM people WHERE id = ?", [Value::Int(3)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no column named age"), "{err}");
    // With the pk_lookup rule off, the general path runs (same answer).
    db.set_planner(PlannerConfig::all(false));
    assert_eq!(
        rows(db.execute(q, ()).unwrap()),
        [vec![Value::str("Other")]]
    );
}

/// The standard test database, with every planner rule off.
fn db_with_rules_off() -> Database {
    let db = db();
    db.set_planner(dictdb::PlannerConfig::all(false));
    db
}

#[test]
fn unary_minus_and_qualified_names() {
    let db = db();
    let q = |sql: &str| db.execute(sql, ());
    assert_eq!(
        rows(q("SELECT -9223372036854775808, -(0.0), -age FROM people WHERE id = 1").unwrap()),
        [vec![
            Value::Int(i64::MIN),
            Value::Float(-0.0),
            Value::Int(-36)
        ]]
    );
    let err = q("SELECT -(-9223372036854775808) FROM people")
        .unwrap_err()
        .to_string();
    assert!(err.contains("integer overflow"), "{err}");
    let err = q("SELECT -name FROM people").unwrap_err().to_string();
    assert!(
        err.contains("unsupported operand type for unary -: 'Ada'"),
        "{err}"
    );
    assert_eq!(
        rows(q("SELECT people.name FROM people WHERE people.id = 2").unwrap()),
        [vec![Value::str("Grace")]]
    );
    let err = q("SELECT x.name FROM people").unwrap_err().to_string();
    assert!(
        err.contains("x is not a table of this statement (it reads people)"),
        "{err}"
    );
    assert!(err.contains("column 8"), "{err}");
}

#[test]
fn question_marks_bind_in_the_order_written() {
    let db = db();
    let q = |sql: &str, params: Vec<Value>| rows(db.execute(sql, params).unwrap());
    // HAVING and ORDER BY are translated before WHERE; binding follows the text.
    assert_eq!(
        q(
            "SELECT city, count(*) FROM people WHERE age > ? GROUP BY city HAVING count(*) > ?",
            vec![Value::Int(30), Value::Int(1)]
        ),
        [vec![Value::str("London"), Value::Int(2)]]
    );
    assert_eq!(
        q(
            "SELECT id FROM people WHERE age > ? ORDER BY age + ? DESC",
            vec![Value::Int(41), Value::Int(3)]
        ),
        [vec![Value::Int(5)], vec![Value::Int(2)]]
    );
    assert_eq!(
        q(
            "SELECT id FROM people WHERE ? LIKE ? AND id = 1",
            vec![Value::str("Ada"), Value::str("A%")]
        ),
        [vec![Value::Int(1)]]
    );
    assert_eq!(
        q(
            "SELECT trim(LEADING ? FROM ?) FROM people WHERE id = 1",
            vec![Value::str("x"), Value::str("xxaxx")]
        ),
        [vec![Value::str("axx")]]
    );
}

#[test]
fn upserts_check_every_row_and_every_column() {
    let db = db();
    let q = |sql: &str| db.execute(sql, ());
    let before = rows(q("SELECT * FROM people ORDER BY id").unwrap());
    for (bad, want) in [
        (
            "INSERT INTO people (id, name) VALUES (1, 'x') ON CONFLICT DO UPDATE SET age = zz",
            "no column named zz",
        ),
        (
            "INSERT INTO people (id, name) VALUES (1, 'x') ON CONFLICT DO UPDATE \
             SET name = excluded.zz",
            "no column named zz",
        ),
        (
            "INSERT INTO people (id, name) VALUES (1, 'x') ON CONFLICT DO UPDATE \
             SET name = excluded.name WHERE zz > 1",
            "no column named zz",
        ),
        // A conflicting row still has to fit the table.
        (
            "INSERT INTO people (id, name, age) VALUES (1, 'x', 'old') ON CONFLICT DO NOTHING",
            "expects type int",
        ),
        (
            "INSERT INTO people (id) VALUES (1) ON CONFLICT DO NOTHING",
            "missing field 'name'",
        ),
        ("DROP INDEX nothing_here", "does not exist"),
        (
            "DROP TABLE people, nothing_here",
            "no table named nothing_here",
        ),
    ] {
        let err = q(bad).unwrap_err().to_string();
        assert!(err.contains(want), "{bad}: {err}");
    }
    assert_eq!(rows(q("SELECT * FROM people ORDER BY id").unwrap()), before);
    // An automatic key is not a missing field.
    assert_eq!(
        q("INSERT INTO people (id, name) VALUES (NULL, 'auto') ON CONFLICT DO NOTHING").unwrap(),
        Output::Affected(1)
    );
    // DROP of several names is all or nothing.
    q("CREATE INDEX a1 ON people (score)").unwrap();
    assert!(q("DROP INDEX a1, nothing").is_err());
    assert_eq!(db.index_names().len(), 1);
}

#[test]
fn returning_star_on_a_schemaless_table_does_not_deadlock() {
    // Found by fuzzing: RETURNING * read the field names by locking the table
    // that the write already held.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let db = Database::new();
        db.create_table("s", "id").unwrap();
        let q = |sql: &str| db.execute(sql, ()).unwrap();
        let a = q("INSERT INTO s (id, a) VALUES (1, 'x') RETURNING *");
        let b = q("UPDATE s SET b = 2 RETURNING *");
        let c = q("DELETE FROM s RETURNING *");
        tx.send((a, b, c)).unwrap();
    });
    let (a, b, c) = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("RETURNING * finished");
    assert_eq!(columns(&a), ["id", "a"]);
    assert_eq!(columns(&b), ["id", "a", "b"]);
    assert_eq!(
        rows(c),
        [vec![Value::Int(1), Value::str("x"), Value::Int(2)]]
    );
}

#[test]
fn deep_expressions_are_errors_not_stack_overflows() {
    // Found by fuzzing: a long operator chain overflowed the stack. Test threads
    // have small stacks, which is the point.
    let db = db();
    let ok = format!("SELECT id FROM people WHERE {}1 = 191", "1+".repeat(190));
    assert_eq!(rows(db.execute(&ok, ()).unwrap()).len(), 5);
    for n in [600, 5_000, 20_000] {
        let sql = format!("SELECT id FROM people WHERE {}1 = 1", "1+".repeat(n));
        let err = db.execute(&sql, ()).unwrap_err().to_string();
        assert!(err.contains("nests too deeply"), "{n}: {err}");
    }
    let sql = format!("SELECT {}1 FROM people", "1+".repeat(200_000));
    let err = db.execute(&sql, ()).unwrap_err().to_string();
    assert!(err.contains("operators"), "{err}");
    // The caret shows a window of a long line, not all of it.
    let sql = format!("SELECT {} FROM people WHERE", "1+".repeat(5_000) + "1");
    let err = db.execute(&sql, ()).unwrap_err().to_string();
    assert!(err.len() < 400, "{err}");
    assert!(err.contains("…"), "{err}");
}

#[test]
fn cached_select_plans_follow_ddl_and_planner_settings() {
    let db = db();
    let q = "SELECT name FROM people WHERE city = 'London' ORDER BY id";
    let want = [vec![Value::str("Ada")], vec![Value::str("Alan")]];
    // Cached with a full scan, then with the index, then the index dropped
    // (a stale plan would look it up), then rules off, then a new table.
    assert_eq!(rows(db.execute(q, ()).unwrap()), want);
    db.execute("CREATE INDEX c ON people (city) USING HASH", ())
        .unwrap();
    assert_eq!(rows(db.execute(q, ()).unwrap()), want);
    db.execute("DROP INDEX c", ()).unwrap();
    assert_eq!(rows(db.execute(q, ()).unwrap()), want);
    db.table("people")
        .unwrap()
        .create_index("city", IndexKind::Sorted);
    assert_eq!(rows(db.execute(q, ()).unwrap()), want);
    db.set_planner(dictdb::PlannerConfig::all(false));
    assert_eq!(rows(db.execute(q, ()).unwrap()), want);
    db.execute("DROP TABLE people", ()).unwrap();
    assert!(db.execute(q, ()).is_err());
    db.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, city TEXT)",
        (),
    )
    .unwrap();
    db.execute("INSERT INTO people VALUES (7, 'Zed', 'London')", ())
        .unwrap();
    assert_eq!(rows(db.execute(q, ()).unwrap()), [vec![Value::str("Zed")]]);
}

/// A statement with placeholders is planned once: each run binds the values
/// into the cached plan (`plans_built` does not move), with the answers of a
/// database planning every run with every rule off; DDL on its table makes it
/// planned again, once. UPDATE and DELETE keep their access path the same way.
#[test]
fn statements_with_placeholders_are_planned_once() {
    let db = db();
    let slow = db_with_rules_off();
    let text = "SELECT name, age FROM people WHERE age BETWEEN ? AND ? OR city = ? \
                ORDER BY age DESC, id LIMIT ? OFFSET ?";
    let select = db.prepare(text).unwrap();
    let bindings = [
        vec![
            Value::Int(30),
            Value::Int(45),
            Value::str("Helsinki"),
            Value::Int(10),
            Value::Int(0),
        ],
        vec![
            Value::Int(40),
            Value::Int(80),
            Value::Null,
            Value::Int(1),
            Value::Int(1),
        ],
        vec![
            Value::Null,
            Value::Int(80),
            Value::str("London"),
            Value::Int(-1),
            Value::Int(0),
        ],
        vec![
            Value::Float(35.5),
            Value::str("z"),
            Value::Null,
            Value::Int(5),
            Value::Int(-3),
        ],
        vec![
            Value::Int(0),
            Value::Int(100),
            Value::str("London"),
            Value::Int(0),
            Value::Int(0),
        ],
    ];
    let check = |select: &dictdb::PreparedStatement<'_>| {
        for b in &bindings {
            assert_eq!(
                select.execute(b.clone()).unwrap(),
                slow.execute(text, b.clone()).unwrap(),
                "{b:?}"
            );
        }
    };
    check(&select);
    let planned = db.plans_built();
    check(&select);
    assert_eq!(
        db.plans_built(),
        planned,
        "a repeated statement was planned again"
    );
    // A bad LIMIT is an error, as without the cache.
    let err = select
        .execute([
            Value::Int(1),
            Value::Int(2),
            Value::Null,
            Value::str("x"),
            Value::Int(0),
        ])
        .unwrap_err()
        .to_string();
    assert!(err.contains("LIMIT takes an integer"), "{err}");

    // DDL on the table: planned again once, then cached again.
    db.execute("CREATE INDEX by_city ON people (city) USING HASH", ())
        .unwrap();
    check(&select);
    assert_eq!(db.plans_built(), planned + 1);
    // The first binding uses both indexes; EXPLAIN shows the bound plan.
    let explain = rows(
        db.execute(&format!("EXPLAIN {text}"), bindings[0].clone())
            .unwrap(),
    );
    assert!(
        explain.iter().any(
            |r| r[0].as_str().unwrap().contains("btree range age [30, 45]")
                && r[0]
                    .as_str()
                    .unwrap()
                    .contains("hash lookup city ['Helsinki']")
        ),
        "{explain:?}"
    );
    db.execute("DROP INDEX by_city", ()).unwrap();
    db.table("people").unwrap().drop_index("age");
    check(&select);
    check(&select);
    assert_eq!(db.plans_built(), planned + 2);

    // UPDATE and DELETE with placeholders, against the rules-off database.
    db.table("people")
        .unwrap()
        .create_index("age", IndexKind::Sorted);
    let update = "UPDATE people SET score = score + ? WHERE age > ? AND city = ?";
    let delete = "DELETE FROM people WHERE age < ? OR id IN (?, ?) RETURNING id";
    let before = db.plans_built();
    for (u, d) in [
        (
            vec![Value::Int(1), Value::Int(30), Value::str("London")],
            vec![Value::Int(0), Value::Int(99), Value::Null],
        ),
        (
            vec![Value::Float(0.5), Value::Null, Value::str("London")],
            vec![Value::Int(37), Value::Int(5), Value::Int(3)],
        ),
        (
            vec![Value::Int(2), Value::Int(0), Value::str("New York")],
            vec![Value::Int(50), Value::Int(2), Value::Int(2)],
        ),
    ] {
        assert_eq!(
            db.execute(update, u.clone()).unwrap(),
            slow.execute(update, u).unwrap()
        );
        assert_eq!(
            db.execute(delete, d.clone()).unwrap(),
            slow.execute(delete, d).unwrap()
        );
        assert_eq!(
            rows(db.execute("SELECT * FROM people ORDER BY id", ()).unwrap()),
            rows(
                slow.execute("SELECT * FROM people ORDER BY id", ())
                    .unwrap()
            )
        );
    }
    assert_eq!(
        db.plans_built(),
        before + 3,
        "UPDATE, DELETE, SELECT *: one plan each"
    );

    // An aggregate's WHERE.
    let group = "SELECT city, COUNT(*), MAX(age) FROM people WHERE age >= ? GROUP BY city \
                 HAVING COUNT(*) >= ? ORDER BY city";
    let before = db.plans_built();
    for (age, n) in [(0, 1), (40, 1), (0, 2)] {
        let b = [Value::Int(age), Value::Int(n)];
        assert_eq!(
            db.execute(group, b.clone()).unwrap(),
            slow.execute(group, b).unwrap()
        );
    }
    assert_eq!(db.plans_built(), before + 1);
}

/// `sync_tables` makes the catalog hold exactly the tables a host registry
/// holds (the Python package's `db.tables`), and SQL sees the change.
#[test]
fn sync_tables_follows_a_host_registry() {
    use std::sync::Arc;
    let db = Database::new();
    let a = Arc::new(dictdb_engine::Table::new("a", "id", None));
    let b = Arc::new(dictdb_engine::Table::new("b", "id", None));
    a.insert(dictdb::record! { "x" => 1 }).unwrap();
    db.sync_tables(&[b.clone(), a.clone()]);
    assert_eq!(db.table_names(), ["b", "a"]);
    assert_eq!(
        rows(db.execute("SELECT x FROM a", ()).unwrap()),
        [vec![Value::Int(1)]]
    );
    let generation = db.generation();
    db.sync_tables(&[b.clone(), a.clone()]);
    assert_eq!(db.generation(), generation, "no change, no new generation");
    // A new table under a known name replaces it; a missing one is dropped.
    let a2 = Arc::new(dictdb_engine::Table::new("a", "id", None));
    a2.insert(dictdb::record! { "x" => 2 }).unwrap();
    db.sync_tables(std::slice::from_ref(&a2));
    assert_eq!(db.table_names(), ["a"]);
    assert_eq!(
        rows(db.execute("SELECT x FROM a", ()).unwrap()),
        [vec![Value::Int(2)]]
    );
    assert!(db.execute("SELECT x FROM b", ()).is_err());
    assert!(Arc::ptr_eq(&db.engine_tables()[0], &a2));
}
