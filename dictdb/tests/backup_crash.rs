//! Crash safety of backups (python-api.md §11.1, §13): a child process (this test
//! binary, re-run with an environment variable) applies a deterministic sequence
//! of operations and backs up after each one; the parent kills it with SIGKILL at
//! a random moment, then checks that
//! - every file under a final name (`dictdb_backup_*.json`, `dictdb_delta_*.json`)
//!   is complete: full backups load, deltas parse and apply;
//! - only temporary files (`.*.tmp`) may be left besides them, and restore
//!   ignores them;
//! - `Database::restore` gives exactly the state after the last backup the child
//!   reported done, or after the one it was writing when killed (computed here by
//!   replaying the same operations), and nothing is skipped;
//! - backing up the restored database into the same directory and restoring
//!   again gives the same state.
//!
//! Two child modes: backups through `Database::backup_full` / `save_delta`
//! (full every fourth step, files numbered by step, so the exact step is known),
//! and through a `BackupManager` (incremental, compaction after 3 deltas,
//! retention of the 2 newest full backups).

mod persist_util;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dictdb::{BackupManager, BackupOptions, BackupOutcome, Database};
use persist_util::{
    Canon, DELTA_COMPARE, Op, apply, backup_name, canon, diff, listing, op, scratch,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Set in the child: the backup directory.
const CHILD_DIR: &str = "DICTDB_CRASH_CHILD_DIR";
/// Set in the child: `api` or `manager`.
const CHILD_MODE: &str = "DICTDB_CRASH_CHILD_MODE";
/// Operations in the sequence (the child is killed long before the end).
const STEPS: usize = 300;
/// Kill runs.
const RUNS: u64 = 24;

/// The operation sequence: the same in every process of this binary.
fn ops() -> Vec<Op> {
    let mut runner = TestRunner::deterministic();
    prop::collection::vec(op(), STEPS)
        .new_tree(&mut runner)
        .expect("generate operations")
        .current()
}

/// The child: operation k, then a backup, then `step k` on stdout; forever.
fn child(dir: &Path, mode: &str) -> ! {
    let ops = ops();
    let db = std::sync::Arc::new(Database::new());
    let manager = (mode == "manager").then(|| {
        BackupManager::new(
            db.clone(),
            dir,
            BackupOptions {
                incremental: true,
                max_deltas_before_full: 3,
                keep_full: Some(2),
                ..BackupOptions::default()
            },
        )
        .expect("manager")
    });
    let mut out = std::io::stdout().lock();
    for (i, op) in ops.iter().enumerate() {
        let k = i as u64 + 1;
        apply(&db, op);
        match &manager {
            None if k % 4 == 1 => db
                .backup_full(backup_name(dir, true, k))
                .expect("full backup"),
            None => {
                db.save_delta(backup_name(dir, false, k)).expect("delta");
            }
            Some(m) => {
                let outcome = m.backup_now();
                assert_ne!(outcome, BackupOutcome::Failed, "backup failed");
            }
        }
        writeln!(out, "step {k}").unwrap();
        out.flush().unwrap();
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The canonical states after steps `a` and `a + 1` (step 0: the empty database).
fn states_after(ops: &[Op], a: usize) -> (Canon, Canon) {
    let db = Database::new();
    for op in &ops[..a] {
        apply(&db, op);
    }
    let first = canon(&db);
    if let Some(op) = ops.get(a) {
        apply(&db, op);
    }
    (first, canon(&db))
}

/// Every file under a final name is complete; the rest are temporary files.
/// Returns the largest step number in a name (API mode's numbering).
fn check_files(dir: &Path, run: u64) -> u64 {
    let mut last = 0;
    for name in listing(dir) {
        let path = dir.join(&name);
        if name.starts_with("dictdb_backup_") && name.ends_with(".json") {
            Database::load(&path)
                .unwrap_or_else(|e| panic!("run {run}: a partial full backup {name}: {e}"));
        } else if name.starts_with("dictdb_delta_") && name.ends_with(".json") {
            Database::new()
                .apply_delta(&path)
                .unwrap_or_else(|e| panic!("run {run}: a partial delta {name}: {e}"));
        } else {
            assert!(
                name.starts_with('.') && name.ends_with(".tmp"),
                "run {run}: unexpected file {name}"
            );
            continue;
        }
        // `dictdb_x_<1000 + seq / 1e6>_<seq % 1e6>.json` (API mode).
        let stem = name.trim_end_matches(".json");
        let mut parts = stem.rsplitn(3, '_');
        let usec: u64 = parts.next().unwrap().parse().unwrap();
        let sec: u64 = parts.next().unwrap().parse().unwrap();
        if sec < 1_000_000 {
            last = last.max((sec - 1_000) * 1_000_000 + usec);
        }
    }
    last
}

#[test]
fn killed_backups_leave_a_restorable_directory() {
    if let (Ok(dir), Ok(mode)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_MODE)) {
        child(Path::new(&dir), &mode);
    }
    let started = Instant::now();
    let ops = ops();
    let exe = std::env::current_exe().unwrap();
    let mut rng = StdRng::seed_from_u64(0xC0FFEE);
    let (mut temps, mut mid_write) = (0, 0);
    for run in 0..RUNS {
        let dir = scratch("crash");
        let mode = if run % 3 == 2 { "manager" } else { "api" };
        let mut child = Command::new(&exe)
            .args([
                "killed_backups_leave_a_restorable_directory",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, &dir)
            .env(CHILD_MODE, mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Steps reported by the child, read as they come.
        let (tx, rx) = mpsc::channel::<u64>();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(k) = line.strip_prefix("step ") {
                    let _ = tx.send(k.trim().parse().unwrap());
                }
            }
        });
        // Wait for the first step, then kill after a random delay (some very
        // short, to hit the first backups).
        let first = rx.recv_timeout(Duration::from_secs(30));
        let delay = if run % 4 == 0 {
            rng.gen_range(0..3)
        } else {
            rng.gen_range(5..120)
        };
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let reported = rx
            .try_iter()
            .last()
            .or(first.as_ref().ok().copied())
            .unwrap_or(0);
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        assert!(
            first.is_ok(),
            "run {run}: the child reported no step ({status}); stderr:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "run {run}: the child failed before the kill:\n{stderr}"
        );

        let what = format!("run {run} ({mode}, killed {delay} ms after step {reported})");
        let last_file = check_files(&dir, run);
        temps += listing(&dir).iter().filter(|n| n.ends_with(".tmp")).count();
        let (db, report) = Database::restore(&dir).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            report.skipped.is_empty(),
            "{what}: restore skipped files: {report}"
        );
        let got = canon(&db);
        let k = reported as usize;
        let (done, in_flight) = states_after(&ops, k);
        let matches_done = diff(&done, &got, DELTA_COMPARE).is_none();
        let matches_next = diff(&in_flight, &got, DELTA_COMPARE).is_none();
        if !matches_done {
            mid_write += 1;
        }
        assert!(
            matches_done || matches_next,
            "{what}: restore is neither the state after step {k} nor after step {}:\n{}",
            k + 1,
            diff(&done, &got, DELTA_COMPARE).unwrap()
        );
        if mode == "api" && last_file > 0 {
            // The files are numbered by step: the newest one names the state.
            let (exact, _) = states_after(&ops, last_file as usize);
            assert!(
                diff(&exact, &got, DELTA_COMPARE).is_none(),
                "{what}: restore is not the state after step {last_file}, the newest file"
            );
        }
        // Life goes on: a full backup of the restored database into the same
        // directory restores to the same state, leftovers and all.
        db.backup_full(backup_name(&dir, true, 999_999)).unwrap();
        let (again, report) = Database::restore(&dir).unwrap();
        assert!(report.skipped.is_empty(), "{what}: {report}");
        assert!(
            diff(&got, &canon(&again), persist_util::Compare::EXACT).is_none(),
            "{what}: resumed"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{RUNS} kills in {:.1} s: {temps} temporary file(s) left, {mid_write} kill(s) during a \
         backup that then counted",
        started.elapsed().as_secs_f64()
    );
}
