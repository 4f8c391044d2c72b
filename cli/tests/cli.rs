//! The `dictdb` binary driven as a user drives it: `-c`, standard input, files,
//! the demo, and one interactive session through a pseudo-terminal.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dictdb");

/// Runs `dictdb ARGS` with `stdin` piped in; returns (status code, stdout, stderr).
fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dictdb");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for dictdb");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

/// `dictdb -c SQL -c SQL …`, expected to succeed; its standard output.
fn commands(sqls: &[&str]) -> String {
    let args: Vec<&str> = sqls.iter().flat_map(|s| ["-c", s]).collect();
    let (code, out, err) = run(&args, "");
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(err, "");
    out
}

const SETUP: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL);\
                     INSERT INTO t VALUES (1, 'Ada', 9.5), (2, 'Grace', 7), (3, 'O''Neil; Jr', NULL)";

/// A file in the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("dictdb-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn create_insert_select_prints_aligned_tables() {
    assert_eq!(
        commands(&[
            SETUP,
            "SELECT * FROM t ORDER BY id",
            "UPDATE t SET score = 1 WHERE id = 2"
        ]),
        "\
3 rows affected
+----+------------+-------+
| id | name       | score |
+----+------------+-------+
|  1 | Ada        |   9.5 |
|  2 | Grace      |   7.0 |
|  3 | O'Neil; Jr |  NULL |
+----+------------+-------+
(3 rows)
1 row affected
"
    );
}

#[test]
fn statements_may_span_lines_and_share_them() {
    let out = commands(&[
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO t\nVALUES (1, 'a;b');",
        "SELECT name\n  FROM t; SELECT id FROM t WHERE name = 'a;b'",
    ]);
    assert_eq!(
        out,
        "1 row affected\n\
         +------+\n| name |\n+------+\n| a;b  |\n+------+\n(1 row)\n\
         +----+\n| id |\n+----+\n|  1 |\n+----+\n(1 row)\n"
    );
}

#[test]
fn every_output_mode() {
    let query = "SELECT id, name, score FROM t WHERE id < 3 ORDER BY id";
    assert_eq!(
        commands(&[SETUP, ".mode csv", query, "DELETE FROM t WHERE id = 3"]),
        "3 rows affected\nid,name,score\n1,Ada,9.5\n2,Grace,7.0\n"
    );
    assert_eq!(
        commands(&[SETUP, ".mode json", query]),
        "3 rows affected\n[{\"id\":1,\"name\":\"Ada\",\"score\":9.5},\n{\"id\":2,\"name\":\"Grace\",\"score\":7.0}]\n"
    );
    assert_eq!(
        commands(&[SETUP, ".mode line", query]),
        "3 rows affected\n   id = 1\n name = Ada\nscore = 9.5\n\n   id = 2\n name = Grace\nscore = 7.0\n"
    );
    assert_eq!(
        commands(&[
            ".mode csv",
            ".mode table",
            ".mode",
            SETUP,
            "SELECT name FROM t WHERE id = 1"
        ]),
        "table\n3 rows affected\n+------+\n| name |\n+------+\n| Ada  |\n+------+\n(1 row)\n"
    );
    // --mode sets the starting mode; csv quotes what needs quoting.
    let (code, out, _) = run(
        &[
            "--mode",
            "csv",
            "-c",
            SETUP,
            "-c",
            "INSERT INTO t VALUES (4, 'Hopper, \"Amazing\" Grace', NULL)",
            "-c",
            "SELECT name, score FROM t WHERE id > 2",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "name,score\nO'Neil; Jr,\n\"Hopper, \"\"Amazing\"\" Grace\",\n"
    );
}

#[test]
fn tables_schema_and_indexes() {
    let out = commands(&[
        SETUP,
        "CREATE TABLE u (k TEXT PRIMARY KEY, doc JSON, n INTEGER NOT NULL)",
        ".tables",
        ".schema",
        ".schema u",
        ".indexes",
        "CREATE INDEX u_by_n ON u (n) USING HASH",
        ".indexes u",
    ]);
    assert_eq!(
        out,
        "3 rows affected\nt\nu\n\
         CREATE TABLE t (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL,\n  score REAL\n);\n\
         CREATE TABLE u (\n  k TEXT PRIMARY KEY,\n  doc JSON,\n  n INTEGER NOT NULL\n);\n\
         CREATE TABLE u (\n  k TEXT PRIMARY KEY,\n  doc JSON,\n  n INTEGER NOT NULL\n);\n\
         CREATE INDEX u_by_n ON u (n) USING HASH;\n"
    );
    // The demo table is schemaless and indexed.
    let (code, out, err) = run(&["--demo", "50", "-c", ".schema t", "-c", ".indexes t"], "");
    assert_eq!(code, 0, "{err}");
    let tail = &out[out.rfind("\n\n").expect("demo output") + 2..];
    assert_eq!(
        tail,
        "-- t: schemaless table (records hold any fields), primary key id\n\
         --   fields in use: id, name, age, city, score, active\n\
         CREATE INDEX t_city ON t (city) USING HASH;\n\
         CREATE INDEX t_age ON t (age) USING BTREE;\n\
         CREATE INDEX t_city ON t (city) USING HASH;\n\
         CREATE INDEX t_age ON t (age) USING BTREE;\n"
    );
    let (code, _, err) = run(&["-c", ".schema nope"], "");
    assert_eq!((code, err.as_str()), (1, "Error: no table named nope\n"));
}

#[test]
fn timer_prints_run_times() {
    let out = commands(&[
        ".timer on",
        SETUP,
        "SELECT count(*) FROM t",
        ".timer off",
        "SELECT 1 AS x FROM t LIMIT 1",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let timings: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("Run Time: "))
        .collect();
    // CREATE, INSERT and the count: three statements timed, the last one not.
    assert_eq!(timings.len(), 3, "{out}");
    for t in timings {
        let number = t
            .strip_prefix("Run Time: ")
            .and_then(|s| s.strip_suffix(" ms").or_else(|| s.strip_suffix(" s")))
            .expect("Run Time: N ms");
        number.parse::<f64>().expect("a number");
    }
    // Each timing follows its statement's output.
    assert!(lines[0].starts_with("Run Time: "), "{out}");
    assert_eq!(lines[1], "3 rows affected");
    assert!(lines[2].starts_with("Run Time: "), "{out}");
    assert_eq!(lines[8], "(1 row)");
    assert!(lines[9].starts_with("Run Time: "), "{out}");
    assert!(out.ends_with("| 1 |\n+---+\n(1 row)\n"), "{out}");
}

#[test]
fn read_runs_a_file() {
    let script = TempFile::new(
        "read.sql",
        "-- a script\nCREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT);\n\
         INSERT INTO s VALUES (1, 'x'),\n  (2, 'y');\n.mode csv\nSELECT * FROM s\n",
    );
    let read = format!(".read {}", script.path());
    assert_eq!(commands(&[&read]), "2 rows affected\nid,v\n1,x\n2,y\n");

    // An error inside the file names the file and the line in it.
    let bad = TempFile::new(
        "bad.sql",
        "CREATE TABLE s (id INTEGER PRIMARY KEY);\n\nSELECT * FROM s WHERE id = = 1;\nSELECT 'not reached' FROM s;\n",
    );
    let (code, out, err) = run(&["-c", &format!(".read {}", bad.path())], "");
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with(&format!("Error: {}: syntax error", bad.path())),
        "{err}"
    );
    assert!(err.contains("at line 3, column 28"), "{err}");
    assert!(
        err.contains("\n  SELECT * FROM s WHERE id = = 1;\n"),
        "{err}"
    );

    let (code, _, err) = run(&["-c", ".read /nonexistent/dir/x.sql"], "");
    assert_eq!(code, 1);
    assert!(
        err.starts_with("Error: cannot read /nonexistent/dir/x.sql: "),
        "{err}"
    );
}

#[test]
fn read_stops_on_files_that_read_themselves() {
    let path = std::env::temp_dir().join(format!("dictdb-cli-{}-self.sql", std::process::id()));
    let me = TempFile::new("self.sql", &format!(".read {}\n", path.display()));
    let (code, _, err) = run(&["-c", &format!(".read {}", me.path())], "");
    assert_eq!(code, 1);
    assert!(err.contains("nested more than 16 levels"), "{err}");
}

#[test]
fn a_script_on_stdin_stops_at_the_first_error() {
    let (code, out, err) = run(
        &[],
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\n\
         INSERT INTO t VALUES (1, 'a');\n\
         SELECT nme FROM t;\n\
         INSERT INTO t VALUES (2, 'not run');\n",
    );
    assert_eq!(code, 1);
    assert_eq!(out, "1 row affected\n");
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("nme"), "{err}");
    assert!(err.contains("did you mean name?"), "{err}");
}

#[test]
fn syntax_errors_show_a_caret_and_exit_1() {
    let (code, out, err) = run(
        &[
            "-c",
            "CREATE TABLE t (id INTEGER PRIMARY KEY); SELECT id FRM t",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert_eq!(out, "");
    let caret_line = err.lines().last().expect("lines");
    let text_line = err.lines().nth_back(1).expect("lines");
    assert_eq!(
        text_line, "  CREATE TABLE t (id INTEGER PRIMARY KEY); SELECT id FRM t",
        "{err}"
    );
    assert!(caret_line.trim() == "^", "{err}");
    // The caret stands under the text the parser complains about.
    let col = caret_line.len() - 1;
    assert_eq!(&text_line[col..col + 1], "t", "{err}");
    assert!(err.starts_with("Error: syntax error: "), "{err}");
}

#[test]
fn dot_command_errors_and_quit() {
    let (code, _, err) = run(&["-c", ".frobnicate"], "");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error: unknown command .frobnicate (enter .help for the list)\n"
    );
    let (code, _, err) = run(&["-c", ".open /nonexistent/x.json", "-c", ".save"], "");
    assert_eq!(code, 1);
    assert!(err.starts_with("Error: /nonexistent/x.json: "), "{err}");
    // `.quit` ends a script without error; what follows does not run.
    let (code, out, err) = run(
        &[],
        "CREATE TABLE t (id INTEGER PRIMARY KEY);\n.quit\nSELECT nope FROM nothing;\n",
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    // A dot inside a statement is SQL, not a command.
    let out = commands(&[
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL); INSERT INTO t VALUES (1,\n.5)",
        "SELECT x FROM t",
    ]);
    assert!(out.ends_with("| 0.5 |\n+-----+\n(1 row)\n"), "{out}");
    let help = commands(&[".help"]);
    for command in [
        ".tables", ".schema", ".indexes", ".mode", ".timer", ".read", ".open", ".save", ".backup",
        ".restore", ".quit",
    ] {
        assert!(help.contains(command), "{command} missing from .help");
    }
}

#[test]
fn help_documents_the_options() {
    let (code, out, _) = run(&["--help"], "");
    assert_eq!(code, 0);
    for needle in [
        "--command",
        "--demo",
        "--mode",
        "--timer",
        ".read FILE",
        "Exit status",
        "hex",
    ] {
        assert!(out.contains(needle), "{needle} missing from --help:\n{out}");
    }
    let (code, _, err) = run(&["--demo", "lots"], "");
    assert_eq!(code, 2);
    assert!(err.contains("expected a positive number of rows"), "{err}");
}

#[test]
fn demo_loads_and_explains() {
    let (code, out, err) = run(&["--demo", "2_000"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Loading the standard workload: table t, 2,000 rows"),
        "{out}"
    );
    assert!(out.contains("\nLoaded 2,000 rows in "), "{out}");
    assert!(out.contains(" rows/s"), "{out}");
    for sql in [
        "SELECT * FROM t WHERE id = 1000;",
        "SELECT * FROM t WHERE city = 'Paris';",
        "SELECT * FROM t WHERE age BETWEEN 30 AND 32;",
        "SELECT * FROM t WHERE active ORDER BY score DESC LIMIT 10;",
        "SELECT city, count(*), avg(score) FROM t GROUP BY city;",
        "SELECT count(*) FROM t WHERE name LIKE '%99%';",
    ] {
        assert!(out.contains(&format!("\n{sql}\n")), "{sql} missing:\n{out}");
    }
    assert_eq!(out.matches("\nEXPLAIN:\n").count(), 6, "{out}");
    assert!(out.matches("\nRun Time: ").count() >= 4, "{out}");
    assert!(out.contains("pk lookup"), "{out}");
    assert!(out.contains("hash lookup city"), "{out}");
    assert!(out.contains("(10 rows, 5 shown)"), "{out}");
    assert!(out.contains("| 1000 | name1000 |"), "{out}");
    // Standard input is not a terminal: the demo ends without reading it.
    assert_eq!(err, "");
}

/// One session at the prompt, through a pseudo-terminal.
#[cfg(unix)]
#[test]
fn interactive_session() {
    use rexpect::process::WaitStatus;

    let home = std::env::temp_dir().join(format!("dictdb-cli-{}-home", std::process::id()));
    std::fs::create_dir_all(&home).expect("home");
    let mut command = Command::new(BIN);
    command.env("HOME", &home).env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(command, Some(20_000)).expect("spawn in a pty");
    p.exp_string("Enter \".help\"").expect("banner");
    p.exp_string("dictdb> ").expect("prompt");
    p.send_line("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);")
        .expect("send");
    p.exp_string("dictdb> ").expect("prompt after CREATE");
    p.send_line("INSERT INTO t VALUES (1, 'Ada'),")
        .expect("send");
    p.exp_string("...> ").expect("continuation prompt");
    p.send_line("  (2, 'Grace');").expect("send");
    p.exp_string("2 rows affected").expect("insert output");
    p.send_line("SELECT name FROM t").expect("send");
    p.exp_string("...> ").expect("continuation prompt");
    p.send_line("WHERE id = 2;").expect("send");
    p.exp_string("| Grace |").expect("select output");
    p.exp_string("(1 row)").expect("row count");
    // An error is printed and the shell goes on.
    p.send_line("SELECT * FROM nope;").expect("send");
    p.exp_string("Error: no table named nope").expect("error");
    p.send_line(".tables").expect("send");
    p.exp_string("t\r\n").expect("tables");
    p.send_line(".quit").expect("send");
    p.exp_eof().expect("end of output");
    let status = p.process().wait().expect("exit status");
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    let history = std::fs::read_to_string(home.join(".dictdb_history")).unwrap_or_default();
    assert!(history.contains(".tables"), "history: {history:?}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn save_open_backup_and_restore() {
    let dir = std::env::temp_dir().join(format!("dictdb-cli-persist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("db.json");
    let backups = dir.join("backups");
    let f = file.to_str().unwrap();
    let b = backups.to_str().unwrap();
    let (code, out, err) = run(
        &[
            "-c",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'Zoë')",
            "-c",
            &format!(".save {f}"),
            "-c",
            &format!(".backup {b}"),
            "-c",
            "INSERT INTO t VALUES (2, 'Ada')",
            "-c",
            &format!(".backup {b} delta"),
            "-c",
            &format!(".backup {b} delta"),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("saved {f} (")), "{out}");
    assert!(
        out.contains("no changes since the last backup: nothing written"),
        "{out}"
    );
    // A file given on the command line is opened; `.restore` replays the backups.
    let (code, out, err) = run(&[f, "-c", "SELECT * FROM t"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("|  1 | Zoë  |"), "{out}");
    assert!(!out.contains("Ada"), "{out}");
    let (code, out, err) = run(
        &[
            "-c",
            &format!(".restore {b}"),
            "-c",
            "SELECT name FROM t ORDER BY id",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 delta(s)"), "{out}");
    assert!(out.contains("| Zoë  |\n| Ada  |"), "{out}");
    // `.open` of a new file starts empty, and `.save` writes there.
    let fresh = dir.join("fresh.json");
    let fr = fresh.to_str().unwrap();
    let (code, _, err) = run(
        &[
            "-c",
            &format!(".open {fr}"),
            "-c",
            "CREATE TABLE u (id INTEGER PRIMARY KEY)",
            "-c",
            ".save",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(fresh.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn import_and_export_csv() {
    let dir = std::env::temp_dir().join(format!("dictdb-cli-csv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("people.csv");
    std::fs::write(
        &input,
        "\u{feff}id,name,score\r\n1,Zoë,9.5\r\n2,\"Smith, J\",7\r\n",
    )
    .unwrap();
    let output = dir.join("out.tsv");
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let (code, out, err) = run(
        &[
            "-c",
            &format!(".import {i} people"),
            "-c",
            "SELECT name, score * 2 AS s FROM people ORDER BY id",
            "-c",
            &format!(".export people {o}"),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2 rows into people"), "{out}");
    assert!(out.contains("| Smith, J | 14.0 |"), "{out}");
    assert!(out.contains("exported 2 rows to"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "id\tname\tscore\r\n1\tZoë\t9.5\r\n2\tSmith, J\t7.0\r\n"
    );
    // Importing into an existing name fails and changes nothing.
    let (code, _, err) = run(
        &[
            "-c",
            &format!(".import {i} people"),
            "-c",
            &format!(".import {i} people"),
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
