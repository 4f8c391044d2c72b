//! The shell's state (database, output mode, timer) and what it does with a
//! statement or a dot-command. The prompt itself (line editing, history) is in
//! `main.rs`; everything here also runs scripts, `-c` and the tests.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dictdb::{Database, FieldType, IndexKind, Output, SqlError, Table};

use crate::render::{self, Mode};
use crate::split::{Item, Splitter, Statement};

/// The dot-commands, as `.help` prints them.
pub const HELP: &str = "\
.help                  Show this message
.tables                List the tables
.schema [TABLE]        Show CREATE statements (of every table, or of TABLE)
.indexes [TABLE]       Show the indexes as CREATE INDEX statements
.mode [MODE]           Set the output mode (table, csv, json, line), or show it
.timer on|off          Print the run time of each statement
.read FILE             Run the SQL and dot-commands of FILE (stops at its first error)
.open FILE             Load a saved database (JSON) into the shell, replacing the
                       current one; a file that does not exist starts empty
.save [FILE]           Save the database as JSON (to the file opened, by default)
.backup DIR [delta]    Write a full backup (or a delta) into DIR
.restore DIR           Replace the database with DIR's newest full backup + deltas
.import FILE TABLE     Read a CSV file (header row; types inferred; .tsv: tabs) into
                       a new table
.export TABLE FILE     Write a table to a CSV file (.tsv: tabs)
.quit, .exit           Leave the shell

SQL statements end with `;` and may span lines. Dot-commands are read only at the
start of input (not in the middle of a statement).";

/// How deeply `.read` may nest (a file that reads itself stops here).
const MAX_READ_DEPTH: usize = 16;

/// An error the shell reports (as `Error: {error}`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShellError {
    /// A statement failed (SQL errors show the text with a caret).
    #[error(transparent)]
    Db(#[from] dictdb::Error),
    /// A dot-command that does not exist.
    #[error("unknown command {name} (enter .help for the list)")]
    UnknownCommand {
        /// The command as typed (`.foo`).
        name: String,
    },
    /// A dot-command with wrong arguments.
    #[error("usage: {usage}")]
    Usage {
        /// The command's synopsis.
        usage: &'static str,
    },
    /// `.mode` with a name that is not a mode.
    #[error("{message}")]
    UnknownMode {
        /// What was wrong, with the valid names.
        message: String,
    },
    /// A dot-command naming a table that does not exist.
    #[error("no table named {name}")]
    NoTable {
        /// The name given.
        name: String,
    },
    /// A script could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file (or `standard input`).
        path: String,
        /// Why.
        source: io::Error,
    },
    /// An error inside a file run by `.read`.
    #[error("{path}: {error}")]
    InFile {
        /// The file.
        path: String,
        /// The error.
        error: Box<ShellError>,
    },
    /// `.read` nested more than a few levels deep.
    #[error(".read is nested more than {MAX_READ_DEPTH} levels deep")]
    TooDeep,
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
}

impl ShellError {
    /// True when the output went away (a closed pipe, as in `dictdb … | head`):
    /// nothing is worth reporting then.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            ShellError::Output(e) => e.kind() == io::ErrorKind::BrokenPipe,
            ShellError::InFile { error, .. } => error.is_broken_pipe(),
            _ => false,
        }
    }
}

/// What the caller does after an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read on.
    Continue,
    /// `.quit` or `.exit`: stop reading.
    Quit,
}

/// The shell: a database, the output settings and where output goes.
pub struct Shell {
    db: Database,
    /// The file `.open` loaded (where `.save` writes by default).
    file: Option<PathBuf>,
    mode: Mode,
    timer: bool,
    out: Box<dyn Write>,
    read_depth: usize,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("mode", &self.mode)
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}

impl Shell {
    /// A shell over `db` writing results to `out` (errors are the caller's to
    /// print: every method returns them).
    pub fn new(db: Database, out: Box<dyn Write>) -> Shell {
        Shell {
            db,
            file: None,
            mode: Mode::Table,
            timer: false,
            out,
            read_depth: 0,
        }
    }

    /// Loads a saved database into the shell (a file that does not exist yet
    /// starts an empty database that `.save` will write there).
    pub fn open(&mut self, path: &Path) -> Result<(), ShellError> {
        let start = Instant::now();
        let db = if path.exists() {
            // Loading has no row count until it is done: a spinner on a
            // terminal for a large file.
            let big = std::fs::metadata(path).is_ok_and(|m| m.len() > 16 << 20);
            let spinner = if big {
                progress_spinner(&format!("loading {}", path.display()))
            } else {
                indicatif::ProgressBar::hidden()
            };
            let loaded = Database::load(path);
            spinner.finish_and_clear();
            loaded?
        } else {
            Database::new()
        };
        let n: usize = db
            .table_names()
            .iter()
            .filter_map(|t| db.table(t).ok())
            .map(|t| t.len())
            .sum();
        self.db = db;
        self.file = Some(path.to_path_buf());
        self.note(&format!(
            "opened {} ({} tables, {n} rows, {})",
            path.display(),
            self.db.table_names().len(),
            format_duration(start.elapsed())
        ))
    }

    fn save(&mut self, path: &Path) -> Result<(), ShellError> {
        let start = Instant::now();
        // A progress bar on a terminal, for large databases.
        let bar = progress_bar("rows saved");
        self.db.save_with_progress(path, &mut |done, total| {
            if total >= PROGRESS_ROWS {
                bar.set_length(total);
                bar.set_position(done);
            }
        })?;
        bar.finish_and_clear();
        self.note(&format!(
            "saved {} ({})",
            path.display(),
            format_duration(start.elapsed())
        ))
    }

    fn backup(&mut self, dir: &Path, delta: bool) -> Result<(), ShellError> {
        use dictdb_backup::manager::{BackupKind, new_backup_path};
        std::fs::create_dir_all(dir).map_err(|source| ShellError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        let kind = if delta {
            BackupKind::Delta
        } else {
            BackupKind::Full
        };
        let path = new_backup_path(dir, kind);
        let wrote = if delta {
            self.db.save_delta(&path)?
        } else {
            self.db.backup_full(&path)?;
            true
        };
        if wrote {
            self.note(&format!("wrote {}", path.display()))
        } else {
            self.note("no changes since the last backup: nothing written")
        }
    }

    fn restore(&mut self, dir: &Path) -> Result<(), ShellError> {
        let (db, report) = Database::restore(dir)?;
        self.db = db;
        self.note(&format!("restored {}: {report}", dir.display()))
    }

    /// A line about what a dot-command did (in table and line modes only, so
    /// csv and json output stay pure data).
    fn note(&mut self, text: &str) -> Result<(), ShellError> {
        if matches!(self.mode, Mode::Table | Mode::Line) {
            self.write(&format!("{text}\n"))?;
        }
        Ok(())
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The output mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Sets the output mode.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// Turns the timer on or off.
    pub fn set_timer(&mut self, on: bool) {
        self.timer = on;
    }

    /// Writes text to the output as is.
    pub fn write(&mut self, text: &str) -> Result<(), ShellError> {
        self.out
            .write_all(text.as_bytes())
            .map_err(ShellError::Output)
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> Result<(), ShellError> {
        self.out.flush().map_err(ShellError::Output)
    }

    /// Runs one item. With `in_place`, a statement keeps its line and column in
    /// the input, so errors point into the script rather than into the statement.
    pub fn run_item(&mut self, item: &Item, in_place: bool) -> Result<Flow, ShellError> {
        let flow = match item {
            Item::Statement(s) => {
                if in_place {
                    self.run_sql(&s.text_in_place())
                        .map_err(|e| restore_prefix(e, s))?;
                } else {
                    self.run_sql(s.text.trim())?;
                }
                Flow::Continue
            }
            Item::DotCommand { text, .. } => self.run_dot(text)?,
        };
        self.flush()?;
        Ok(flow)
    }

    /// Runs SQL text and prints its result (then its run time with `.timer on`).
    pub fn run_sql(&mut self, sql: &str) -> Result<(), ShellError> {
        let (output, elapsed) = self.execute_timed(sql)?;
        self.print_output(&output)?;
        if self.timer {
            self.write(&format!("Run Time: {}\n", format_duration(elapsed)))?;
        }
        Ok(())
    }

    /// Runs SQL text and measures how long the database took (printing excluded).
    pub fn execute_timed(&self, sql: &str) -> Result<(Output, Duration), ShellError> {
        let start = Instant::now();
        let output = self.db.execute(sql, ())?;
        Ok((output, start.elapsed()))
    }

    /// Prints what a statement returned in the current mode. Row counts of writes
    /// (`3 rows affected`) show in table and line modes; CSV and JSON output holds
    /// nothing but rows.
    pub fn print_output(&mut self, output: &Output) -> Result<(), ShellError> {
        match output {
            Output::Rows { columns, rows } => {
                let text = render::render(self.mode, columns, rows);
                self.write(&text)
            }
            Output::Affected(n) => match self.mode {
                Mode::Table | Mode::Line => {
                    let rows = if *n == 1 { "row" } else { "rows" };
                    self.write(&format!("{n} {rows} affected\n"))
                }
                Mode::Csv | Mode::Json => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Runs every statement and dot-command of a script, stopping at the first
    /// error or at `.quit`. `path` names the input in read errors. Positions in
    /// SQL errors are those of the script.
    pub fn run_script(&mut self, input: impl BufRead, path: &str) -> Result<Flow, ShellError> {
        let mut splitter = Splitter::new();
        for line in input.lines() {
            let line = line.map_err(|source| ShellError::Read {
                path: path.to_string(),
                source,
            })?;
            for item in splitter.push_line(&line) {
                if self.run_item(&item, true)? == Flow::Quit {
                    return Ok(Flow::Quit);
                }
            }
        }
        match splitter.finish() {
            Some(item) => self.run_item(&item, true),
            None => Ok(Flow::Continue),
        }
    }

    /// Runs a dot-command line (`.mode csv`).
    pub fn run_dot(&mut self, line: &str) -> Result<Flow, ShellError> {
        let words = dot_words(line);
        let Some((command, args)) = words.split_first() else {
            return Ok(Flow::Continue);
        };
        match (command.as_str(), args) {
            (".quit" | ".exit", []) => return Ok(Flow::Quit),
            (".quit" | ".exit", _) => {
                return Err(ShellError::Usage {
                    usage: ".quit (or .exit)",
                });
            }
            (".help", _) => self.write(&format!("{HELP}\n"))?,
            (".tables", []) => {
                let mut text = String::new();
                for name in self.db.table_names() {
                    text.push_str(&name);
                    text.push('\n');
                }
                self.write(&text)?;
            }
            (".tables", _) => return Err(ShellError::Usage { usage: ".tables" }),
            (".schema", [] | [_]) => {
                let mut text = String::new();
                for t in self.tables(args.first())? {
                    text.push_str(&create_table_sql(&t));
                    text.push_str(&create_index_sql(&self.db, &t));
                }
                self.write(&text)?;
            }
            (".schema", _) => {
                return Err(ShellError::Usage {
                    usage: ".schema [TABLE]",
                });
            }
            (".indexes" | ".indices", [] | [_]) => {
                let text: String = self
                    .tables(args.first())?
                    .iter()
                    .map(|t| create_index_sql(&self.db, t))
                    .collect();
                self.write(&text)?;
            }
            (".indexes" | ".indices", _) => {
                return Err(ShellError::Usage {
                    usage: ".indexes [TABLE]",
                });
            }
            (".mode", []) => {
                let text = format!("{}\n", self.mode);
                self.write(&text)?;
            }
            (".mode", [name]) => {
                self.mode = name
                    .parse()
                    .map_err(|message| ShellError::UnknownMode { message })?;
            }
            (".mode", _) => {
                return Err(ShellError::Usage {
                    usage: ".mode [table|csv|json|line]",
                });
            }
            (".timer", [on]) if on.eq_ignore_ascii_case("on") => self.timer = true,
            (".timer", [off]) if off.eq_ignore_ascii_case("off") => self.timer = false,
            (".timer", _) => {
                return Err(ShellError::Usage {
                    usage: ".timer on|off",
                });
            }
            (".read", [path]) => return self.read_file(path),
            (".read", _) => {
                return Err(ShellError::Usage {
                    usage: ".read FILE",
                });
            }
            (".open", [path]) => self.open(Path::new(path))?,
            (".open", _) => {
                return Err(ShellError::Usage {
                    usage: ".open FILE",
                });
            }
            (".save", []) => match self.file.clone() {
                Some(path) => self.save(&path)?,
                None => {
                    return Err(ShellError::Usage {
                        usage: ".save FILE (no file is open)",
                    });
                }
            },
            (".save", [path]) => self.save(Path::new(path))?,
            (".save", _) => {
                return Err(ShellError::Usage {
                    usage: ".save [FILE]",
                });
            }
            (".backup", [dir] | [dir, _]) => {
                let delta = match args.get(1).map(|s| s.as_str()) {
                    None => false,
                    Some("delta") => true,
                    Some(_) => {
                        return Err(ShellError::Usage {
                            usage: ".backup DIR [delta]",
                        });
                    }
                };
                self.backup(Path::new(dir), delta)?;
            }
            (".backup", _) => {
                return Err(ShellError::Usage {
                    usage: ".backup DIR [delta]",
                });
            }
            (".restore", [dir]) => self.restore(Path::new(dir))?,
            (".import", [file, table]) => {
                let options = dictdb::ImportOptions {
                    delimiter: delimiter_for(file),
                    ..dictdb::ImportOptions::default()
                };
                let n = self.db.import_csv(file, table, &options)?;
                self.note(&format!("imported {n} rows into {table}"))?;
            }
            (".import", _) => {
                return Err(ShellError::Usage {
                    usage: ".import FILE TABLE",
                });
            }
            (".export", [table, file]) => {
                let t = self.db.table(table).map_err(|_| ShellError::NoTable {
                    name: table.clone(),
                })?;
                let options = dictdb::ExportOptions {
                    delimiter: delimiter_for(file),
                    ..dictdb::ExportOptions::default()
                };
                let n = t.export_csv(file, None, &options)?;
                self.note(&format!("exported {n} rows to {file}"))?;
            }
            (".export", _) => {
                return Err(ShellError::Usage {
                    usage: ".export TABLE FILE",
                });
            }
            (".restore", _) => {
                return Err(ShellError::Usage {
                    usage: ".restore DIR",
                });
            }
            _ => {
                return Err(ShellError::UnknownCommand {
                    name: command.clone(),
                });
            }
        }
        Ok(Flow::Continue)
    }

    /// The table named `name`, or every table in creation order.
    fn tables(&self, name: Option<&String>) -> Result<Vec<Table>, ShellError> {
        match name {
            Some(name) => Ok(vec![
                self.db
                    .table(name)
                    .map_err(|_| ShellError::NoTable { name: name.clone() })?,
            ]),
            None => Ok(self
                .db
                .table_names()
                .iter()
                .filter_map(|n| self.db.table(n).ok())
                .collect()),
        }
    }

    /// `.read FILE`: runs the file as a script; errors name the file.
    fn read_file(&mut self, path: &str) -> Result<Flow, ShellError> {
        if self.read_depth >= MAX_READ_DEPTH {
            return Err(ShellError::TooDeep);
        }
        let file = File::open(PathBuf::from(path)).map_err(|source| ShellError::Read {
            path: path.to_string(),
            source,
        })?;
        self.read_depth += 1;
        let result = self.run_script(BufReader::new(file), path);
        self.read_depth -= 1;
        result.map_err(|error| match error {
            // Errors of a nested file already name it; reading errors name it too.
            e @ (ShellError::InFile { .. } | ShellError::Read { .. } | ShellError::TooDeep) => e,
            e => ShellError::InFile {
                path: path.to_string(),
                error: Box::new(e),
            },
        })
    }
}

/// An error of a statement run in place shows its first line with blanks where
/// the text before the statement stood ([`Statement::text_in_place`]): puts that
/// text back, so the caret line shows the input as it was written.
fn restore_prefix(mut e: ShellError, statement: &Statement) -> ShellError {
    if let ShellError::Db(dictdb::Error::Sql(
        SqlError::Syntax {
            position: Some(p),
            snippet,
            ..
        }
        | SqlError::Unsupported {
            position: Some(p),
            snippet,
            ..
        }
        | SqlError::Invalid {
            position: Some(p),
            snippet,
            ..
        },
    )) = &mut e
    {
        let n = statement.prefix.chars().count();
        let blanks = snippet.chars().take(n).all(|c| c == ' ');
        if p.line as usize == statement.line && blanks && snippet.chars().count() >= n {
            let rest: String = snippet.chars().skip(n).collect();
            *snippet = format!("{}{rest}", statement.prefix);
        }
    }
    e
}

/// The words of a dot-command line; `'…'` or `"…"` quote a word with spaces.
fn dot_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '\'' || c == '"' {
            chars.next();
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                word.push(d);
            }
        } else {
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() {
                    break;
                }
                word.push(d);
                chars.next();
            }
        }
        words.push(word);
    }
    words
}

/// `0.42 ms` below a second, `1.234 s` from there.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 1e3 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.3} s", ms / 1e3)
    }
}

/// The SQL type that declares a field type.
fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Int => "INTEGER",
        FieldType::Float => "REAL",
        FieldType::Str => "TEXT",
        FieldType::Bool => "BOOLEAN",
        FieldType::Bytes => "BLOB",
        FieldType::Date => "DATE",
        FieldType::DateTime => "TIMESTAMP",
        // Lists, maps and any value are stored in JSON columns.
        _ => "JSON",
    }
}

/// The `CREATE TABLE` statement of a typed table; a comment for a schemaless one
/// (it has no SQL definition: any field name goes).
pub fn create_table_sql(t: &Table) -> String {
    let name = t.name();
    let pk = t.primary_key();
    match t.schema() {
        Some(schema) => {
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| {
                    let mut c = format!("  {} {}", f.name, sql_type(f.ty));
                    if &*f.name == pk {
                        c.push_str(" PRIMARY KEY");
                    } else if !f.nullable {
                        c.push_str(" NOT NULL");
                    }
                    c
                })
                .collect();
            format!("CREATE TABLE {name} (\n{}\n);\n", columns.join(",\n"))
        }
        None => {
            let fields = t.engine().read().live_field_names();
            let fields: Vec<&str> = fields.iter().map(|f| &**f).collect();
            let mut text = format!(
                "-- {name}: schemaless table (records hold any fields), primary key {pk}\n"
            );
            if !fields.is_empty() {
                text.push_str(&format!("--   fields in use: {}\n", fields.join(", ")));
            }
            text
        }
    }
}

/// Databases with at least this many rows get a progress bar when saved.
const PROGRESS_ROWS: u64 = 200_000;

/// A progress bar on standard error when it is a terminal (else hidden).
fn progress_bar(what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} [{{elapsed_precise}}] [{{bar:40}}] {{human_pos}}/{{human_len}} {what}"
    ))
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    indicatif::ProgressBar::new(0).with_style(style)
}

/// A spinner on standard error when it is a terminal (else hidden).
fn progress_spinner(what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let spinner = indicatif::ProgressBar::new_spinner().with_message(what.to_string());
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// Tabs for `.tsv` files, commas otherwise.
fn delimiter_for(file: &str) -> u8 {
    if file.to_ascii_lowercase().ends_with(".tsv") {
        b'\t'
    } else {
        b','
    }
}

/// The `CREATE INDEX` statements of a table's indexes, in creation order. An
/// index made through the API has no name; it is shown as `{table}_{field}`.
pub fn create_index_sql(db: &Database, t: &Table) -> String {
    let names = db.index_names();
    t.indexes()
        .iter()
        .map(|(field, kind)| {
            let using = match kind {
                IndexKind::Hash => "HASH",
                IndexKind::Sorted => "BTREE",
            };
            let name = names
                .iter()
                .find(|n| n.table == t.name() && n.field == *field)
                .map_or_else(|| format!("{}_{field}", t.name()), |n| n.name.clone());
            format!(
                "CREATE INDEX {name} ON {table} ({field}) USING {using};\n",
                table = t.name()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// An output the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Rc<RefCell<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn take(&self) -> String {
            String::from_utf8(std::mem::take(&mut *self.0.borrow_mut())).expect("utf-8")
        }
    }

    fn shell() -> (Shell, Captured) {
        let out = Captured::default();
        (Shell::new(Database::new(), Box::new(out.clone())), out)
    }

    #[test]
    fn dot_words_split_and_quote() {
        assert_eq!(dot_words(".read  'my file.sql' "), [".read", "my file.sql"]);
        assert_eq!(dot_words(".mode csv"), [".mode", "csv"]);
        assert_eq!(dot_words("."), ["."]);
    }

    #[test]
    fn schema_of_typed_and_schemaless_tables() {
        let (mut sh, out) = shell();
        sh.run_script(
            "CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, doc JSON);"
                .as_bytes(),
            "test",
        )
        .expect("create");
        sh.database().create_table("free", "key").expect("create");
        sh.database()
            .table("free")
            .expect("table")
            .create_index("k2", IndexKind::Sorted);
        sh.run_dot(".schema").expect("schema");
        assert_eq!(
            out.take(),
            "CREATE TABLE u (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL,\n  score REAL,\n  doc JSON\n);\n\
             -- free: schemaless table (records hold any fields), primary key key\n\
             CREATE INDEX free_k2 ON free (k2) USING BTREE;\n"
        );
        assert!(matches!(
            sh.run_dot(".schema nope"),
            Err(ShellError::NoTable { .. })
        ));
    }

    #[test]
    fn errors_of_dot_commands() {
        let (mut sh, _out) = shell();
        for (line, want) in [
            (".frobnicate", "unknown command .frobnicate"),
            (".mode box", "unknown mode \"box\""),
            (".timer maybe", "usage: .timer on|off"),
            (".open", "usage: .open FILE"),
            (".save", "usage: .save FILE (no file is open)"),
            (".backup", "usage: .backup DIR [delta]"),
            (".restore /nonexistent-dir-xyz", "/nonexistent-dir-xyz"),
            (".read /nonexistent/x.sql", "cannot read /nonexistent/x.sql"),
        ] {
            let e = sh.run_dot(line).expect_err(line).to_string();
            assert!(e.contains(want), "{line}: {e}");
        }
        assert_eq!(sh.run_dot(".quit").expect("quit"), Flow::Quit);
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(format_duration(Duration::from_millis(2500)), "2.500 s");
    }
}
