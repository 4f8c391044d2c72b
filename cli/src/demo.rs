//! `dictdb --demo [N]`: the standard workload loaded with a progress bar, then a
//! few example queries, each with its first rows, its run time and its plan.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use dictdb::Output;
use indicatif::{ProgressBar, ProgressStyle};

use crate::render::{self, thousands};
use crate::shell::{Shell, ShellError, format_duration};

/// Rows shown of each example query's result.
pub const PREVIEW_ROWS: usize = 5;

/// Rows of the demo table when `--demo` is given without a number.
pub const DEFAULT_ROWS: usize = 1_000_000;

/// The example queries over the standard table of `n` rows: `(what, SQL)`.
pub fn queries(n: usize) -> Vec<(&'static str, String)> {
    let id = if n >= 4242 {
        4242
    } else {
        n.div_ceil(2).max(1)
    };
    vec![
        (
            "point lookup by primary key",
            format!("SELECT * FROM t WHERE id = {id}"),
        ),
        (
            "equality on a hash-indexed column",
            "SELECT * FROM t WHERE city = 'Paris'".into(),
        ),
        (
            "range on a sorted-indexed column",
            "SELECT * FROM t WHERE age BETWEEN 30 AND 32".into(),
        ),
        (
            "top-k: a bounded heap instead of a full sort",
            "SELECT * FROM t WHERE active ORDER BY score DESC LIMIT 10".into(),
        ),
        (
            "aggregates per group",
            "SELECT city, count(*), avg(score) FROM t GROUP BY city".into(),
        ),
        (
            "LIKE with a substring pattern (a memmem scan)",
            "SELECT count(*) FROM t WHERE name LIKE '%99%'".into(),
        ),
    ]
}

/// Times each example query over this many runs and shows the fastest (the first
/// run also pays for cold caches).
pub const RUNS: usize = 3;

/// Runs a (read-only) query `runs` times: its output and its fastest run time.
fn best_of(shell: &Shell, sql: &str, runs: usize) -> Result<(Output, Duration), ShellError> {
    let (output, mut best) = shell.execute_timed(sql)?;
    for _ in 1..runs {
        best = best.min(shell.execute_timed(sql)?.1);
    }
    Ok((output, best))
}

fn run_time(elapsed: Duration) -> String {
    format!("Run Time: {} (best of {RUNS})\n", format_duration(elapsed))
}

/// Loads table `t` (N rows of the standard workload) into the shell's database,
/// drawing a progress bar on standard error when it is a terminal, then runs
/// [`queries`] ([`RUNS`] times each). A query that fails (a feature not supported yet) prints its error
/// and the demo goes on.
///
/// # Errors
/// When `t` cannot be created (it exists) or the output cannot be written.
pub fn run(shell: &mut Shell, n: usize) -> Result<(), ShellError> {
    shell.write(&format!(
        "Loading the standard workload: table t, {} rows \
         (hash index on city, sorted index on age)\n",
        thousands(n)
    ))?;
    shell.flush()?;
    let bar = if std::io::stderr().is_terminal() {
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {human_pos}/{human_len} rows ({eta} left)",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        ProgressBar::new(n as u64).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let loaded = dictdb_workload::load_standard(shell.database(), n, |done, _| {
        bar.set_position(done as u64)
    });
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    loaded?;
    let rate = n as f64 / elapsed.as_secs_f64().max(1e-9);
    shell.write(&format!(
        "Loaded {} rows in {} ({} rows/s, indexes included)\n\n",
        thousands(n),
        format_duration(elapsed),
        thousands(rate.round() as usize)
    ))?;

    for (what, sql) in queries(n) {
        shell.write(&format!("-- {what}\n{sql};\n"))?;
        match best_of(shell, &sql, RUNS) {
            Ok((Output::Rows { columns, rows }, elapsed)) => {
                shell.write(&render::table_preview(&columns, &rows, PREVIEW_ROWS))?;
                shell.write(&run_time(elapsed))?;
            }
            Ok((other, elapsed)) => {
                shell.print_output(&other)?;
                shell.write(&run_time(elapsed))?;
            }
            Err(e) => shell.write(&format!("Error: {e}\n"))?,
        }
        match shell.execute_timed(&format!("EXPLAIN {sql}")) {
            Ok((Output::Rows { rows, .. }, _)) => {
                let mut text = String::from("EXPLAIN:\n");
                for row in &rows {
                    let line: Vec<String> = row.iter().map(render::cell_text).collect();
                    text.push_str(&format!("  {}\n", line.join(" ")));
                }
                shell.write(&text)?;
            }
            Ok(_) => {}
            Err(e) => shell.write(&format!("EXPLAIN: Error: {e}\n"))?,
        }
        shell.write("\n")?;
        shell.flush()?;
    }
    Ok(())
}
