//! `dictdb`: the interactive SQL shell of dictdb-rs (see `dictdb --help`).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use dictdb::Database;
use dictdb_cli::split::Splitter;
use dictdb_cli::{Flow, Mode, Shell, ShellError, demo};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

const PROMPT: &str = "dictdb> ";
const CONTINUATION: &str = "   ...> ";
const HISTORY_FILE: &str = ".dictdb_history";

const AFTER_HELP: &str = "\
How it runs:
  With -c, runs each SQL text or dot-command in order and exits.
  Otherwise, when standard input is a terminal, opens the interactive prompt
  (`dictdb> `, continuation `   ...> `; line editing; history in ~/.dictdb_history).
  When standard input is not a terminal (a pipe or a file), runs it as a script.
  With --demo, the demo runs first; then -c runs if given, else the prompt opens
  if standard input is a terminal, else dictdb exits (standard input is not read).

  Statements end with `;` and may span lines; `;` inside quotes or comments does
  not count. Dot-commands are lines starting with `.` between statements.

Dot-commands:
  .help                  Show the dot-commands
  .tables                List the tables
  .schema [TABLE]        Show CREATE statements (a comment for schemaless tables)
  .indexes [TABLE]       Show the indexes as CREATE INDEX statements
  .mode [MODE]           Set the output mode, or show it
  .timer on|off          Print `Run Time: …` after each statement
  .read FILE             Run the SQL and dot-commands of FILE
  .open FILE, .save FILE Not available yet: files arrive with persistence
  .quit, .exit           Leave the shell

Output modes:
  table  aligned table with a header, numbers right-aligned, `(N rows)` footer
  csv    header line, RFC 4180 quoting, NULL as an empty field
  json   an array of objects (keys in column order): NULL → null, NaN and
         infinities → null, bytes → a string of lowercase hex digits, lists →
         arrays, maps → objects, dates and times → ISO 8601 strings
  line   one `column = value` line per field, rows apart by a blank line
  INSERT, UPDATE and DELETE print `N rows affected` in table and line modes.

Exit status:
  0 on success; 1 when a statement or command of -c or of a script fails (the
  first error stops the run and is printed on standard error as `Error: …`).
  At the prompt, errors are printed and the shell goes on.

Examples:
  dictdb
  dictdb -c \"CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)\" \\
         -c \"INSERT INTO t VALUES (1, 'Ada')\" -c \"SELECT * FROM t\"
  dictdb --mode csv < script.sql > out.csv
  dictdb --demo 100000";

/// The dictdb-rs SQL shell: an in-memory database you query with SQL, in the
/// manner of the sqlite3 and duckdb shells.
#[derive(Debug, Parser)]
#[command(name = "dictdb", version, after_help = AFTER_HELP)]
struct Args {
    /// A database file (JSON, as `.save` writes it) to open; `.save` with no
    /// argument writes back to it.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,

    /// Run SQL statements (or a dot-command) and exit; may be repeated, runs in
    /// order and stops with exit status 1 at the first error.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    commands: Vec<String>,

    /// Build the standard workload's table `t` with N rows (default 1,000,000;
    /// `_` separators allowed) with a progress bar, print the load rate, then run
    /// example queries showing their first rows, run times and EXPLAIN plans.
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        default_missing_value = "1000000",
        value_parser = parse_rows
    )]
    demo: Option<usize>,

    /// Output mode: table, csv, json or line.
    #[arg(short, long, value_name = "MODE", default_value = "table")]
    mode: Mode,

    /// Print the run time of each statement (as `.timer on`).
    #[arg(long)]
    timer: bool,
}

/// A positive row count; `1_000_000` and `1000000` are both accepted.
fn parse_rows(s: &str) -> Result<usize, String> {
    match s.replace('_', "").trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive number of rows, got {s:?}")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let out = Box::new(BufWriter::new(io::stdout()));
    let mut shell = Shell::new(Database::new(), out);
    shell.set_mode(args.mode);
    shell.set_timer(args.timer);
    if let Some(file) = &args.file {
        // Quietly: the note would precede script output.
        let mode = shell.mode();
        shell.set_mode(Mode::Csv);
        let opened = shell.open(file);
        shell.set_mode(mode);
        if let Err(e) = opened {
            return report(&e);
        }
    }
    let stdin_is_terminal = io::stdin().is_terminal();

    if let Some(n) = args.demo {
        if let Err(e) = demo::run(&mut shell, n) {
            return report(&e);
        }
        if args.commands.is_empty() && !stdin_is_terminal {
            return ExitCode::SUCCESS;
        }
    }
    if !args.commands.is_empty() {
        for command in &args.commands {
            match shell.run_script(command.as_bytes(), "the command") {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit) => break,
                Err(e) => return report(&e),
            }
        }
        return flushed(&mut shell);
    }
    if stdin_is_terminal {
        interactive(&mut shell, args.demo.is_some());
        return flushed(&mut shell);
    }
    match shell.run_script(io::stdin().lock(), "standard input") {
        Ok(_) => flushed(&mut shell),
        Err(e) => report(&e),
    }
}

/// Prints an error that ends a run; exit status 1 (0 for a closed output pipe,
/// where there is no one left to tell).
fn report(e: &ShellError) -> ExitCode {
    if e.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    eprintln!("Error: {e}");
    ExitCode::FAILURE
}

fn flushed(shell: &mut Shell) -> ExitCode {
    match shell.flush() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// The history file in the home directory, when there is one.
fn history_path() -> Option<PathBuf> {
    std::env::home_dir()
        .filter(|h| h.is_dir())
        .map(|h| h.join(HISTORY_FILE))
}

/// The prompt: reads lines until `.quit`, `.exit` or end of input (Ctrl-D);
/// Ctrl-C drops the statement being typed. Errors are printed and the shell
/// goes on.
fn interactive(shell: &mut Shell, demo_loaded: bool) {
    let mut editor = match DefaultEditor::new() {
        Ok(editor) => editor,
        Err(e) => {
            // No line editor (an odd terminal): read plain lines instead.
            eprintln!("note: no line editing ({e})");
            if let Err(e) = shell.run_script(io::stdin().lock(), "standard input") {
                eprintln!("Error: {e}");
            }
            return;
        }
    };
    let history = history_path();
    if let Some(path) = &history {
        // A missing or unreadable history file is no reason to complain.
        let _ = editor.load_history(path);
    }
    let banner = format!(
        "dictdb {} — an in-memory SQL database{}.\nEnter \".help\" for usage hints, \".quit\" to leave.\n",
        env!("CARGO_PKG_VERSION"),
        if demo_loaded {
            " (table t is loaded)"
        } else {
            ""
        }
    );
    if shell.write(&banner).and_then(|()| shell.flush()).is_err() {
        return;
    }

    let mut splitter = Splitter::new();
    'prompt: loop {
        let prompt = if splitter.is_pending() {
            CONTINUATION
        } else {
            PROMPT
        };
        match editor.readline(prompt) {
            Ok(input) => {
                for line in input.split('\n') {
                    for item in splitter.push_line(line) {
                        let entry = match &item {
                            dictdb_cli::split::Item::Statement(s) => s.text.trim().to_string(),
                            dictdb_cli::split::Item::DotCommand { text, .. } => text.clone(),
                        };
                        let _ = editor.add_history_entry(entry);
                        match shell.run_item(&item, false) {
                            Ok(Flow::Continue) => {}
                            Ok(Flow::Quit) => break 'prompt,
                            Err(e) => {
                                // Whatever was printed before the error goes first.
                                let _ = shell.flush();
                                eprintln!("Error: {e}");
                            }
                        }
                    }
                }
            }
            Err(ReadlineError::Interrupted) => splitter.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    let _ = io::stderr().flush();
}
