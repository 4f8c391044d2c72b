//! CSV import and export against python-api.md §12. Expected rows and texts are
//! what Python's `csv` module and DictDB give (checked against CPython).

use super::*;
use dictdb_engine::value::{FixedOffset, NaiveDate};
use dictdb_engine::{DateTime, SchemaError, record};
use proptest::prelude::*;
use std::path::PathBuf;

fn read_with(text: &str, opts: &ImportOptions) -> (Vec<String>, Vec<Record>) {
    read_csv(text.as_bytes(), opts).unwrap()
}

fn read(text: &str) -> (Vec<String>, Vec<Record>) {
    read_with(text, &ImportOptions::default())
}

fn as_text() -> ImportOptions {
    ImportOptions {
        infer_types: false,
        ..ImportOptions::default()
    }
}

/// The rows as lists of `(name, value)` pairs, in field order.
fn pairs(records: &[Record]) -> Vec<Vec<(String, Value)>> {
    records
        .iter()
        .map(|r| r.iter().map(|(n, v)| (n.to_string(), v.clone())).collect())
        .collect()
}

fn row(fields: &[(&str, Value)]) -> Vec<(String, Value)> {
    fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect()
}

fn s(text: &str) -> Value {
    Value::str(text)
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

fn write_with(records: &[Record], opts: &ExportOptions) -> String {
    let mut out = Vec::new();
    let n = write_csv(&mut out, records, opts).unwrap();
    assert_eq!(n, records.len());
    String::from_utf8(out).unwrap()
}

fn write(records: &[Record]) -> String {
    write_with(records, &ExportOptions::default())
}

fn with_columns(columns: &[&str]) -> ExportOptions {
    ExportOptions {
        columns: Some(names(columns)),
        ..ExportOptions::default()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dictdb-csv-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

// ---- Splitting rows (Python's csv.reader) ----

fn split(text: &str) -> Vec<Vec<String>> {
    split_rows(text, b',')
        .unwrap()
        .into_iter()
        .map(|r| r.fields)
        .collect()
}

fn lists(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| names(r)).collect()
}

#[test]
fn splits_like_python_csv_reader() {
    let cases: &[(&str, &[&[&str]])] = &[
        ("", &[]),
        ("a,b\n1,2\n", &[&["a", "b"], &["1", "2"]]),
        ("a,b\r\n1,2", &[&["a", "b"], &["1", "2"]]),
        ("a\rb\r", &[&["a"], &["b"]]),
        // Quoted delimiters, doubled quotes, newlines kept inside quotes.
        (
            "\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\",\"c\r\nd\"\n",
            &[&["x,y", "say \"hi\"", "l1\nl2", "c\r\nd"]],
        ),
        // Quotes inside an unquoted field are text; text after a closing quote joins.
        ("a\"b,\"ab\"cd\n", &[&["a\"b", "abcd"]]),
        // No whitespace stripping.
        (" a , b \n", &[&[" a ", " b "]]),
        // Empty fields, a quoted empty field, an unterminated quote at the end.
        (
            "a,,\n\"\"\n\"open,x\n",
            &[&["a", "", ""], &[""], &["open,x\n"]],
        ),
        // Blank lines are rows with no fields, wherever they are.
        ("\na\n\nb\n\n", &[&[], &["a"], &[], &["b"], &[]]),
        ("a\r\n\r\nb\r\r\n", &[&["a"], &[], &["b"], &[]]),
        ("a\r\rb", &[&["a"], &[], &["b"]]),
        ("\r\n", &[&[]]),
        ("\"q\"\r\n\n", &[&["q"], &[]]),
        // One leading BOM is not data; a second one is.
        ("\u{feff}\n\"a\"", &[&[], &["a"]]),
        ("\u{feff}\u{feff}\"a\"", &[&["\u{feff}\"a\""]]),
    ];
    for (text, want) in cases {
        assert_eq!(split(text), lists(want), "{text:?}");
    }
}

#[test]
fn rows_know_their_line() {
    let rows = split_rows("h\n\"a\nb\"\n\r\nc\rd", b',').unwrap();
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 4, 5, 6]);
}

// ---- Header, BOM, fitting ----

#[test]
fn header_names_the_columns() {
    let (columns, records) = read("id,name\n1,Ada\n2,Bob\n");
    assert_eq!(columns, ["id", "name"]);
    assert_eq!(
        pairs(&records),
        [
            row(&[("id", Value::Int(1)), ("name", s("Ada"))]),
            row(&[("id", Value::Int(2)), ("name", s("Bob"))]),
        ]
    );
}

#[test]
fn a_leading_bom_is_stripped() {
    let (columns, records) = read("\u{feff}id,name\r\n1,Ada\r\n");
    assert_eq!(columns, ["id", "name"]);
    assert_eq!(records[0].get("id"), Some(&Value::Int(1)));
    // Only one, and only at the start.
    let (columns, _) = read("\u{feff}\u{feff}a,b\u{feff}\n");
    assert_eq!(columns, ["\u{feff}a", "b\u{feff}"]);
    let (columns, _) = read("\u{feff}\u{feff}\"a\"\n");
    assert_eq!(columns, ["\u{feff}\"a\""]);
    // A BOM then a blank line: the header row is empty.
    let (columns, records) = read("\u{feff}\r\na\n");
    assert!(columns.is_empty());
    assert_eq!(pairs(&records), [vec![]]);
}

#[test]
fn without_header_columns_are_numbered_after_the_first_row() {
    let opts = ImportOptions {
        has_header: false,
        ..as_text()
    };
    let (columns, records) = read_with("a,b\nc\nd,e,f\n", &opts);
    assert_eq!(columns, ["col_0", "col_1"]);
    assert_eq!(
        pairs(&records),
        [
            row(&[("col_0", s("a")), ("col_1", s("b"))]),
            row(&[("col_0", s("c")), ("col_1", s(""))]),
            row(&[("col_0", s("d")), ("col_1", s("e"))]),
        ]
    );
    assert_eq!(read_with("", &opts), (vec![], vec![]));
    // A blank first row: no columns, every row empty.
    let (columns, records) = read_with("\na,b\n", &opts);
    assert!(columns.is_empty());
    assert_eq!(pairs(&records), [vec![], vec![]]);
}

#[test]
fn empty_file_and_header_only() {
    assert_eq!(read(""), (vec![], vec![]));
    assert_eq!(read("\u{feff}"), (vec![], vec![]));
    let (columns, records) = read("a,b\r\n");
    assert_eq!(columns, ["a", "b"]);
    assert!(records.is_empty());
}

#[test]
fn rows_are_padded_and_truncated_to_the_header() {
    let (_, records) = read_with("a,b,c\n1\n1,2,3,4,5\n", &as_text());
    assert_eq!(
        pairs(&records),
        [
            row(&[("a", s("1")), ("b", s("")), ("c", s(""))]),
            row(&[("a", s("1")), ("b", s("2")), ("c", s("3"))]),
        ]
    );
    // Inferred: the padding is an empty cell, so None in numeric columns.
    let (_, records) = read("a,b\n1\n2,x\n");
    assert_eq!(
        pairs(&records),
        [
            row(&[("a", Value::Int(1)), ("b", s(""))]),
            row(&[("a", Value::Int(2)), ("b", s("x"))]),
        ]
    );
}

#[test]
fn blank_lines_become_rows_of_empty_cells() {
    let (_, records) = read_with("a,b\n1,2\n\n3,4\n\n", &as_text());
    assert_eq!(
        pairs(&records),
        [
            row(&[("a", s("1")), ("b", s("2"))]),
            row(&[("a", s("")), ("b", s(""))]),
            row(&[("a", s("3")), ("b", s("4"))]),
            row(&[("a", s("")), ("b", s(""))]),
        ]
    );
    let (_, records) = read("a\r\n1\r\n\r\n");
    assert_eq!(
        pairs(&records),
        [row(&[("a", Value::Int(1))]), row(&[("a", Value::Null)])]
    );
    // A blank header line: no columns; every row is an empty record.
    let (columns, records) = read("\n1,2\n3\n");
    assert!(columns.is_empty());
    assert_eq!(pairs(&records), [vec![], vec![]]);
}

#[test]
fn quoted_cells_keep_newlines_quotes_and_delimiters() {
    let text = "id,note\r\n1,\"two\r\nlines\"\r\n2,\"a \"\"quote\"\"\"\r\n3,\"x,y\"\r\n";
    let (_, records) = read(text);
    let notes: Vec<&Value> = records.iter().map(|r| r.get("note").unwrap()).collect();
    assert_eq!(notes, [&s("two\r\nlines"), &s("a \"quote\""), &s("x,y")]);
}

#[test]
fn repeated_column_names_keep_first_position_and_last_value() {
    let (columns, records) = read_with("a,b,a\n1,2,3\n4\n", &as_text());
    assert_eq!(columns, ["a", "b"]);
    assert_eq!(
        pairs(&records),
        [
            row(&[("a", s("3")), ("b", s("2"))]),
            row(&[("a", s("")), ("b", s(""))]),
        ]
    );
    // Inference sees the kept (last) values only.
    let (_, records) = read("a,a\nx,1\n");
    assert_eq!(pairs(&records), [row(&[("a", Value::Int(1))])]);
}

#[test]
fn other_delimiters() {
    let opts = ImportOptions {
        delimiter: b';',
        ..ImportOptions::default()
    };
    let (columns, records) = read_with("a;b\n1,5;\"x;y\"\n", &opts);
    assert_eq!(columns, ["a", "b"]);
    assert_eq!(pairs(&records), [row(&[("a", s("1,5")), ("b", s("x;y"))])]);
    let tabs = ImportOptions {
        delimiter: b'\t',
        ..ImportOptions::default()
    };
    let (_, records) = read_with("a\tb\n1\t2.5\n", &tabs);
    assert_eq!(
        pairs(&records),
        [row(&[("a", Value::Int(1)), ("b", Value::Float(2.5))])]
    );
}

// ---- Inference ----

/// The single column `v` of `cells` after inference.
fn infer_column(cells: &[&str]) -> Vec<Value> {
    let text = format!("v\n{}\n", cells.join("\n"));
    // Blank lines would be rows too; keep "" cells as quoted empties.
    let text = text.replace("\n\n", "\n\"\"\n").replace("\n\n", "\n\"\"\n");
    let (_, records) = read(&text);
    assert_eq!(records.len(), cells.len(), "{text:?}");
    records
        .iter()
        .map(|r| r.get("v").unwrap().clone())
        .collect()
}

#[test]
fn inference_uses_python_int_and_float() {
    assert_eq!(
        infer_column(&["007", " 42 ", "1_000", "-5", "+3", ""]),
        [
            Value::Int(7),
            Value::Int(42),
            Value::Int(1000),
            Value::Int(-5),
            Value::Int(3),
            Value::Null
        ]
    );
    // One float widens the column: ints become floats.
    assert_eq!(
        infer_column(&["1", "1e3", "2.5", "-inf", ""]),
        [
            Value::Float(1.0),
            Value::Float(1000.0),
            Value::Float(2.5),
            Value::Float(f64::NEG_INFINITY),
            Value::Null
        ]
    );
    let nan = infer_column(&["nan", "1"]);
    assert!(matches!(nan[0], Value::Float(x) if x.is_nan()));
    assert_eq!(nan[1], Value::Float(1.0));
    // One non-number makes the column text, and then "" stays "".
    assert_eq!(infer_column(&["1", "true", ""]), [s("1"), s("true"), s("")]);
    assert_eq!(infer_column(&["1", " "]), [s("1"), s(" ")]);
    // A column of empty cells is int: all None.
    assert_eq!(infer_column(&["", ""]), [Value::Null, Value::Null]);
}

#[test]
fn inference_off_keeps_text() {
    let (_, records) = read_with("a,b\n1,\n", &as_text());
    assert_eq!(pairs(&records), [row(&[("a", s("1")), ("b", s(""))])]);
}

#[test]
fn an_integer_beyond_64_bits_fails_the_import() {
    let err = read_csv(
        "id,big\n1,2\n\n3,99999999999999999999\n".as_bytes(),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            CsvError::IntegerOverflow { file, line: 4, row: 3, column, value }
                if file == "<input>" && column == "big" && value == "99999999999999999999"
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "<input>: line 4, row 3, column 'big': integer 99999999999999999999 does not fit in 64 bits"
    );
    // In a float column it is a float; in a text column, text.
    let (_, records) = read("v\n99999999999999999999\n1.5\n");
    assert_eq!(records[0].get("v"), Some(&Value::Float(1e20)));
    let (_, records) = read("v\n99999999999999999999\nx\n");
    assert_eq!(records[0].get("v"), Some(&s("99999999999999999999")));
    // The limits themselves fit.
    let (_, records) = read("v\n-9223372036854775808\n9223372036854775807\n");
    assert_eq!(records[0].get("v"), Some(&Value::Int(i64::MIN)));
    assert_eq!(records[1].get("v"), Some(&Value::Int(i64::MAX)));
}

#[test]
fn long_values_are_cut_in_the_overflow_message() {
    let digits = "9".repeat(100);
    let err = read_csv(
        format!("v\n{digits}\n").as_bytes(),
        &ImportOptions::default(),
    )
    .unwrap_err();
    match err {
        CsvError::IntegerOverflow { value, .. } => {
            assert_eq!(value, format!("{}…", "9".repeat(60)))
        }
        other => panic!("{other:?}"),
    }
}

// ---- Schema conversion ----

fn typed() -> ImportOptions {
    ImportOptions {
        schema: Some(
            Schema::new()
                .field("id", FieldType::Int)
                .nullable("n", FieldType::Int)
                .nullable("x", FieldType::Float)
                .nullable("ok", FieldType::Bool)
                .field("name", FieldType::Str)
                .nullable("tags", FieldType::List)
                .nullable("day", FieldType::Date),
        ),
        ..ImportOptions::default()
    }
}

#[test]
fn schema_converts_with_python_rules() {
    let text = "id,n,x,ok,name,tags,day\n\
                1, 42 ,7,TRUE,007,ab,2024-05-01\n\
                2,1_0,nan,no,,,\n\
                3,,1e3,Yes,x,,\n\
                4,,,0,,,\n";
    let (_, records) = read_with(text, &typed());
    let day = s("2024-05-01");
    assert_eq!(
        pairs(&records[..1]),
        [row(&[
            ("id", Value::Int(1)),
            ("n", Value::Int(42)),
            ("x", Value::Float(7.0)),
            ("ok", Value::Bool(true)),
            ("name", s("007")),
            ("tags", Value::list([s("a"), s("b")])),
            // A date cannot be built from text (Python's date(text) raises).
            ("day", day),
        ])]
    );
    assert_eq!(records[1].get("n"), Some(&Value::Int(10)));
    assert!(matches!(records[1].get("x"), Some(Value::Float(x)) if x.is_nan()));
    assert_eq!(records[1].get("ok"), Some(&Value::Bool(false)));
    // "" is None for non-str fields, "" for str ones.
    assert_eq!(records[1].get("name"), Some(&s("")));
    assert_eq!(records[1].get("tags"), Some(&Value::Null));
    assert_eq!(records[1].get("day"), Some(&Value::Null));
    assert_eq!(records[2].get("n"), Some(&Value::Null));
    assert_eq!(records[2].get("x"), Some(&Value::Float(1000.0)));
    assert_eq!(records[2].get("ok"), Some(&Value::Bool(true)));
    assert_eq!(records[3].get("ok"), Some(&Value::Bool(false)));
    assert_eq!(records[3].get("x"), Some(&Value::Null));
}

#[test]
fn failed_conversions_keep_the_text() {
    let (_, records) = read_with("id,n,x,ok\n1,1.5,abc,maybe\n2,1e3,1_,true \n", &typed());
    assert_eq!(
        pairs(&records),
        [
            row(&[
                ("id", Value::Int(1)),
                ("n", s("1.5")),
                ("x", s("abc")),
                ("ok", s("maybe")),
            ]),
            row(&[
                ("id", Value::Int(2)),
                ("n", s("1e3")),
                ("x", s("1_")),
                ("ok", s("true ")),
            ]),
        ]
    );
}

#[test]
fn columns_outside_the_schema_stay_text() {
    let opts = ImportOptions {
        schema: Some(Schema::new().field("id", FieldType::Int)),
        ..ImportOptions::default()
    };
    let (_, records) = read_with("id,age\n1,30\n", &opts);
    assert_eq!(
        pairs(&records),
        [row(&[("id", Value::Int(1)), ("age", s("30"))])]
    );
    // An empty schema converts nothing: inference applies.
    let opts = ImportOptions {
        schema: Some(Schema::new()),
        ..ImportOptions::default()
    };
    let (_, records) = read_with("id,age\n1,30\n", &opts);
    assert_eq!(records[0].get("age"), Some(&Value::Int(30)));
}

#[test]
fn schema_overflow_fails_too() {
    let err = read_csv("id,n\n1,-9223372036854775809\n".as_bytes(), &typed()).unwrap_err();
    assert!(
        matches!(err, CsvError::IntegerOverflow { row: 1, line: 2, ref column, .. } if column == "n")
    );
}

// ---- Options and input errors ----

#[test]
fn bad_options_and_input_are_errors() {
    for delimiter in [b'"', b'\r', b'\n', 0xe9] {
        let opts = ImportOptions {
            delimiter,
            ..ImportOptions::default()
        };
        let err = read_csv("a".as_bytes(), &opts).unwrap_err();
        assert!(matches!(err, CsvError::InvalidDelimiter { delimiter: d } if d == delimiter));
    }
    let err = read_csv(
        "a".as_bytes(),
        &ImportOptions {
            delimiter: b'"',
            ..ImportOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid CSV delimiter '\\\"': it must be one ASCII character other than '\"', '\\r' and '\\n'"
    );
    for encoding in ["latin-1", "utf-16", "ascii", "utf8-sig", ""] {
        let opts = ImportOptions {
            encoding: encoding.to_owned(),
            ..ImportOptions::default()
        };
        let err = read_csv("a".as_bytes(), &opts).unwrap_err();
        assert!(
            matches!(err, CsvError::UnsupportedEncoding { .. }),
            "{encoding}"
        );
    }
    for encoding in [
        "utf-8",
        "UTF8",
        " utf--8 ",
        "u8",
        "cp65001",
        "utf_8_sig",
        "UTF-8-SIG",
    ] {
        let opts = ImportOptions {
            encoding: encoding.to_owned(),
            ..ImportOptions::default()
        };
        assert!(read_csv("a".as_bytes(), &opts).is_ok(), "{encoding}");
    }
    let err = read_csv(&b"a,b\n1,2\r\nx\xff\n"[..], &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            CsvError::InvalidUtf8 {
                line: 3,
                byte: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "<input>: line 3: invalid UTF-8 at byte 10 (CSV files are read as UTF-8)"
    );
}

// ---- import_csv ----

fn csv_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("data.csv");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn import_registers_a_filled_table() {
    let dir = scratch("import");
    let path = csv_file(&dir, "id,name,score\n1,Ada,1.5\n2,Bob,\n");
    let catalog = Catalog::new();
    let n = import_csv(&catalog, &path, "people", &ImportOptions::default()).unwrap();
    assert_eq!(n, 2);
    let table = catalog.table("people").unwrap();
    assert_eq!(table.len(), 2);
    assert_eq!(table.primary_key(), "id");
    assert_eq!(
        table.get(&Value::Int(2)),
        Some(record! { "id" => 2, "name" => "Bob", "score" => Value::Null })
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rows_without_a_key_get_auto_keys() {
    let dir = scratch("auto");
    let catalog = Catalog::new();
    let path = csv_file(&dir, "name\nAda\nBob\n");
    assert_eq!(
        import_csv(&catalog, &path, "t", &ImportOptions::default()).unwrap(),
        2
    );
    let table = catalog.table("t").unwrap();
    assert_eq!(
        table.get(&Value::Int(2)),
        Some(record! { "name" => "Bob", "id" => 2 })
    );
    // An empty key cell is None: auto too, past the keys in use.
    let path = csv_file(&dir, "key,name\n5,Ada\n,Bob\n");
    let opts = ImportOptions {
        primary_key: "key".to_owned(),
        ..ImportOptions::default()
    };
    assert_eq!(import_csv(&catalog, &path, "u", &opts).unwrap(), 2);
    let table = catalog.table("u").unwrap();
    assert_eq!(
        table.get(&Value::Int(6)),
        Some(record! { "key" => 6, "name" => "Bob" })
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_import_registers_nothing() {
    let dir = scratch("atomic");
    let catalog = Catalog::new();
    let path = csv_file(&dir, "id,name\n1,a\n2,b\n1,c\n3,d\n");
    let err = import_csv(&catalog, &path, "t", &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(err, CsvError::Engine(Error::DuplicateKey { ref key, .. }) if *key == Value::Int(1)),
        "{err:?}"
    );
    assert!(catalog.table("t").is_err());
    assert!(catalog.table_names().is_empty());
    // An overflow and a missing file likewise.
    let path = csv_file(&dir, "id\n1\n99999999999999999999\n");
    assert!(matches!(
        import_csv(&catalog, &path, "t", &ImportOptions::default()),
        Err(CsvError::IntegerOverflow { .. })
    ));
    let missing = dir.join("missing.csv");
    let err = import_csv(&catalog, &missing, "t", &ImportOptions::default()).unwrap_err();
    assert!(matches!(&err, CsvError::Io { file, .. } if file.ends_with("missing.csv")));
    assert!(catalog.table_names().is_empty());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_existing_name_fails_before_the_file_is_read() {
    let catalog = Catalog::new();
    catalog.create_table("t", "id", None).unwrap();
    let err = import_csv(
        &catalog,
        Path::new("/nonexistent/never-read.csv"),
        "t",
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, CsvError::Engine(Error::DuplicateTable { ref table }) if table == "t"));
    assert_eq!(err.to_string(), "table 't' already exists");
    assert!(catalog.table("t").unwrap().is_empty());
}

#[test]
fn a_kept_string_fails_validation_unless_skipped() {
    let dir = scratch("validate");
    let path = csv_file(&dir, "id,age\n1,30\n2,unknown\n");
    let opts = ImportOptions {
        schema: Some(
            Schema::new()
                .field("id", FieldType::Int)
                .field("age", FieldType::Int),
        ),
        ..ImportOptions::default()
    };
    let catalog = Catalog::new();
    let err = import_csv(&catalog, &path, "t", &opts).unwrap_err();
    assert!(
        matches!(
            &err,
            CsvError::Engine(Error::Schema(SchemaError::WrongType { field, .. })) if field == "age"
        ),
        "{err:?}"
    );
    assert!(catalog.table("t").is_err());
    let skip = ImportOptions {
        skip_validation: true,
        ..opts.clone()
    };
    assert_eq!(import_csv(&catalog, &path, "t", &skip).unwrap(), 2);
    assert_eq!(
        catalog.table("t").unwrap().get(&Value::Int(2)),
        Some(record! { "id" => 2, "age" => "unknown" })
    );
    // A column outside the schema is an undefined field.
    let path = csv_file(&dir, "id,age,extra\n1,30,x\n");
    let err = import_csv(&catalog, &path, "u", &opts).unwrap_err();
    assert!(matches!(
        err,
        CsvError::Engine(Error::Schema(SchemaError::UndefinedField { ref field, .. })) if field == "extra"
    ));
    fs::remove_dir_all(dir).unwrap();
}

// ---- Export ----

#[test]
fn export_writes_python_str_of_values() {
    let d = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let rec = record! {
        "t" => true,
        "f" => false,
        "i" => -3,
        "x" => 1.5,
        "big" => 1e20,
        "one" => 1.0,
        "nan" => f64::NAN,
        "inf" => f64::INFINITY,
        "s" => "it's raw",
        "l" => Value::list([s("a"), s("b")]),
        "m" => Value::map([("k", Value::Int(1))]),
        "b" => Value::Bytes(b"ab".as_slice().into()),
        "d" => Value::Date(d),
        "dt" => Value::DateTime(DateTime::naive(d.and_hms_opt(12, 30, 0).unwrap())),
        "tz" => Value::DateTime(DateTime::aware(
            d.and_hms_opt(12, 30, 0).unwrap(),
            FixedOffset::east_opt(7200).unwrap(),
        )),
        "none" => Value::Null,
    };
    assert_eq!(
        write(&[rec]),
        "t,f,i,x,big,one,nan,inf,s,l,m,b,d,dt,tz,none\r\n\
         True,False,-3,1.5,1e+20,1.0,nan,inf,it's raw,\"['a', 'b']\",{'k': 1},b'ab',\
         2024-05-01,2024-05-01 12:30:00,2024-05-01 12:30:00+02:00,\r\n"
    );
}

#[test]
fn export_quotes_minimally() {
    let records = [
        record! { "a" => "x,y", "b" => "say \"hi\"" },
        record! { "a" => "l1\nl2", "b" => "cr\r" },
        record! { "a" => "", "b" => "" },
        record! { "a" => " pad ", "b" => "'q'#" },
    ];
    assert_eq!(
        write(&records),
        "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n\"l1\nl2\",\"cr\r\"\r\n,\r\n pad ,'q'#\r\n"
    );
    // A row of one empty field is written "".
    let records = [
        record! { "a" => "" },
        record! { "a" => Value::Null },
        record! {},
    ];
    assert_eq!(write(&records), "a\r\n\"\"\r\n\"\"\r\n\"\"\r\n");
    // The delimiter decides what needs quotes.
    let opts = ExportOptions {
        delimiter: b';',
        ..ExportOptions::default()
    };
    assert_eq!(
        write_with(&[record! { "a" => "x,y", "b" => "p;q" }], &opts),
        "a;b\r\nx,y;\"p;q\"\r\n"
    );
}

#[test]
fn export_columns() {
    let records = [
        record! { "id" => 1, "name" => "Ada", "secret" => "x" },
        record! { "id" => 2 },
    ];
    assert_eq!(
        write_with(&records, &with_columns(&["name", "id", "missing"])),
        "name,id,missing\r\nAda,1,\r\n,2,\r\n"
    );
    // Without columns: every field, in first-seen order.
    let records = [
        record! { "b" => 1, "a" => 2 },
        record! { "c" => 3, "a" => 4 },
    ];
    assert_eq!(write(&records), "b,a,c\r\n1,2,\r\n,4,3\r\n");
    // An empty list counts as none given.
    assert_eq!(
        write_with(&records, &with_columns(&[])),
        "b,a,c\r\n1,2,\r\n,4,3\r\n"
    );
    // Header names are quoted like any field.
    assert_eq!(
        write_with(&[], &with_columns(&["a,b", "c"])),
        "\"a,b\",c\r\n"
    );
}

#[test]
fn export_empty_cases() {
    assert_eq!(write(&[]), "");
    assert_eq!(write_with(&[], &with_columns(&[])), "");
    assert_eq!(write_with(&[], &with_columns(&["a", "b"])), "a,b\r\n");
    // Records without fields: an empty header and empty rows, as DictWriter.
    assert_eq!(write(&[record! {}, record! {}]), "\r\n\r\n\r\n");
}

#[test]
fn export_with_bom() {
    let opts = ExportOptions {
        encoding: "utf-8-sig".to_owned(),
        ..ExportOptions::default()
    };
    assert_eq!(
        write_with(&[record! { "a" => "é" }], &opts),
        "\u{feff}a\r\né\r\n"
    );
    assert_eq!(write_with(&[], &opts), "");
    let bad = ExportOptions {
        encoding: "latin-1".to_owned(),
        ..ExportOptions::default()
    };
    let mut out = Vec::new();
    assert!(matches!(
        write_csv(&mut out, [record! { "a" => 1 }], &bad),
        Err(CsvError::UnsupportedEncoding { .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn export_csv_writes_files_atomically() {
    let dir = scratch("export");
    let path = dir.join("out.csv");
    let records = vec![record! { "id" => 1 }, record! { "id" => 2 }];
    assert_eq!(
        export_csv(&path, &records, &ExportOptions::default()).unwrap(),
        2
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "id\r\n1\r\n2\r\n");
    // Records by value work too; no records and no columns: an empty file.
    assert_eq!(
        export_csv(&path, records, &with_columns(&["id"])).unwrap(),
        2
    );
    let empty = dir.join("empty.csv");
    assert_eq!(
        export_csv(&empty, Vec::<Record>::new(), &ExportOptions::default()).unwrap(),
        0
    );
    assert_eq!(fs::read(&empty).unwrap(), b"");
    // Bad options leave the old file as it was.
    let bad = ExportOptions {
        delimiter: b'\n',
        ..ExportOptions::default()
    };
    assert!(matches!(
        export_csv(&path, [record! { "id" => 3 }], &bad),
        Err(CsvError::InvalidDelimiter { .. })
    ));
    assert_eq!(fs::read_to_string(&path).unwrap(), "id\r\n1\r\n2\r\n");
    // A directory cannot be written.
    let err = export_csv(&dir, [record! { "id" => 3 }], &ExportOptions::default()).unwrap_err();
    assert!(matches!(err, CsvError::Io { .. }));
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    fs::remove_dir_all(dir).unwrap();
}

// ---- Round trips ----

#[test]
fn typed_values_survive_export_then_import() {
    let dir = scratch("roundtrip");
    let path = dir.join("t.csv");
    let records = vec![
        record! { "id" => 1, "name" => "Ada, \"the\" first", "score" => 1.5, "ok" => true, "n" => 7 },
        record! { "id" => 2, "name" => "multi\r\nline", "score" => 1e20, "ok" => false, "n" => Value::Null },
        record! { "id" => 3, "name" => "", "score" => -0.25, "ok" => true, "n" => i64::MIN },
    ];
    assert_eq!(
        export_csv(&path, &records, &ExportOptions::default()).unwrap(),
        3
    );
    let opts = ImportOptions {
        schema: Some(
            Schema::new()
                .field("id", FieldType::Int)
                .field("name", FieldType::Str)
                .field("score", FieldType::Float)
                .field("ok", FieldType::Bool)
                .nullable("n", FieldType::Int),
        ),
        ..ImportOptions::default()
    };
    let catalog = Catalog::new();
    assert_eq!(import_csv(&catalog, &path, "t", &opts).unwrap(), 3);
    let table = catalog.table("t").unwrap();
    for rec in &records {
        assert_eq!(table.get(rec.get("id").unwrap()).as_ref(), Some(rec));
    }
    // Inferred instead: numbers come back, bools as their text.
    let (_, back) = read_csv(fs::File::open(&path).unwrap(), &ImportOptions::default()).unwrap();
    assert_eq!(back[0].get("score"), Some(&Value::Float(1.5)));
    assert_eq!(back[1].get("n"), Some(&Value::Null));
    assert_eq!(back[2].get("n"), Some(&Value::Int(i64::MIN)));
    assert_eq!(back[0].get("ok"), Some(&s("True")));
    fs::remove_dir_all(dir).unwrap();
}

fn text_cell() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a,\"\r\n é;\t]{0,6}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No input makes the reader panic, whatever the options.
    #[test]
    fn reading_any_bytes_never_panics(
        bytes in proptest::collection::vec(
            prop_oneof![
                Just(b'"'), Just(b','), Just(b';'), Just(b'\r'), Just(b'\n'), Just(b' '),
                Just(b'1'), Just(b'_'), Just(b'e'), Just(b'a'), Just(0xff), Just(0xef),
                Just(0xbb), Just(0xbf), any::<u8>()
            ],
            0..64,
        ),
        delimiter in any::<u8>(),
        has_header in any::<bool>(),
        infer_types in any::<bool>(),
        typed in any::<bool>(),
    ) {
        let opts = ImportOptions {
            delimiter,
            has_header,
            infer_types,
            schema: typed.then(|| Schema::new().nullable("col_0", FieldType::Int).nullable("a", FieldType::Bool)),
            ..ImportOptions::default()
        };
        let _ = read_csv(&bytes[..], &opts);
    }

    /// Text written by the exporter reads back as the same text.
    #[test]
    fn text_round_trips(
        rows in proptest::collection::vec(proptest::collection::vec(text_cell(), 3), 0..6),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
    ) {
        let columns = ["a", "b", "c"];
        let records: Vec<Record> = rows
            .iter()
            .map(|cells| columns.iter().zip(cells).map(|(c, v)| (*c, Value::str(v.as_str()))).collect())
            .collect();
        let mut out = Vec::new();
        let export = ExportOptions { columns: Some(names(&columns)), delimiter, ..ExportOptions::default() };
        write_csv(&mut out, &records, &export).unwrap();
        let import = ImportOptions { delimiter, infer_types: false, ..ImportOptions::default() };
        let (back_columns, back) = read_csv(&out[..], &import).unwrap();
        prop_assert_eq!(back_columns, names(&columns));
        prop_assert_eq!(back, records);
    }
}
