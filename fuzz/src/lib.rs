//! Shared setup for the fuzz targets: a small deterministic database, the
//! parameters every input runs with, and the planner oracle.
//!
//! The oracle: every input runs on two identical databases, one planned with
//! every rule on (indexes, top-k, unions, …) and one with every rule off (full
//! scans). ARCHITECTURE.md promises that switching a planner rule off never
//! changes a result, so the two must return the same thing, statement by
//! statement; a difference panics, which the fuzzer records as a crash.

use dictdb::{Database, IndexKind, Output, Params, PlannerConfig, Record, Value, record};

/// The fixture: a typed table `t` (sorted index on `age`, hash index on `name`),
/// a schemaless table `s` (hash index on `tag`, sorted index on `n`) and an empty
/// typed table `e`. Built afresh for every input, so runs are deterministic.
pub fn fixture(planner: PlannerConfig) -> Database {
    let db = Database::new();
    db.set_planner(planner);
    db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score REAL, \
         active BOOLEAN, data JSON)",
        (),
    )
    .expect("create t");
    let t = db.table("t").expect("table t");
    let names = [
        Some("Ada"),
        Some("Grace"),
        Some("Linus"),
        None,
        Some("ada"),
        Some(""),
        Some("Bob"),
        Some("Ada"),
        Some("Zoë"),
        Some("a%b_c"),
    ];
    let ages = [
        Some(36),
        Some(45),
        Some(17),
        None,
        Some(0),
        Some(-3),
        Some(45),
    ];
    let scores = [
        Some(1.5),
        None,
        Some(-0.0),
        Some(99.25),
        Some(f64::NAN),
        Some(3.0),
    ];
    let datas = [
        Value::Null,
        Value::Int(1),
        Value::str("x"),
        Value::list([Value::Int(1), Value::str("a")]),
        Value::map([("k", Value::Int(2))]),
        Value::Float(2.5),
        Value::Bool(false),
    ];
    let mut rows: Vec<Record> = Vec::new();
    for i in 0..20usize {
        let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
        rows.push(record! {
            "id" => (i as i64) + 1,
            "name" => opt(names[i % names.len()].map(Value::str)),
            "age" => opt(ages[i % ages.len()].map(Value::Int)),
            "score" => opt(scores[i % scores.len()].map(Value::Float)),
            "active" => if i % 5 == 4 { Value::Null } else { Value::Bool(i % 2 == 0) },
            "data" => datas[i % datas.len()].clone(),
        });
    }
    t.insert_many(rows).expect("rows of t");
    t.create_index("age", IndexKind::Sorted);
    t.create_index("name", IndexKind::Hash);

    let s = db.create_table("s", "id").expect("create s");
    s.insert_many(vec![
        record! { "id" => 1, "tag" => "a", "n" => 10, "x" => 1.5 },
        record! { "id" => 2, "tag" => "b", "n" => Value::Null },
        record! { "id" => 3, "n" => 7, "x" => "text", "l" => Value::list([Value::Int(1)]) },
        record! { "id" => "k4", "tag" => "a", "n" => 10.0, "m" => Value::map([("a", Value::Int(1))]) },
        record! { "id" => 5, "tag" => Value::Bytes(vec![0, 255].into()), "n" => -1 },
        record! { "id" => 6, "tag" => Value::Null, "n" => i64::MAX, "x" => Value::Bool(true) },
        record! { "id" => 7, "tag" => "c", "n" => Value::date(2024, 2, 29).expect("a date") },
    ])
    .expect("rows of s");
    s.create_index("tag", IndexKind::Hash);
    s.create_index("n", IndexKind::Sorted);

    db.execute(
        "CREATE TABLE e (k TEXT PRIMARY KEY, v INTEGER NOT NULL, w REAL)",
        (),
    )
    .expect("create e");
    db
}

/// The parameter values of `sql_execute` inputs: `$1`…`$8` (and `?` in order,
/// `:name`s by their index) take these, see [`params_for`].
pub fn params() -> Vec<Value> {
    vec![
        Value::Int(2),
        Value::str("Ada"),
        Value::Null,
        Value::Float(1.5),
        Value::Bool(true),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::Float(f64::NAN),
    ]
}

/// Values for the placeholders of `sql`, so that a statement gets exactly as
/// many as it takes (`execute` refuses more or fewer): placeholder `i` (0-based,
/// as the SQL front end numbers them) gets `pool[i % pool.len()]`, by position,
/// or by name when the statement has named placeholders. No placeholders, a pool
/// that is empty, or text that does not prepare: no values.
pub fn params_for(sql: &str, pool: &[Value]) -> Params {
    let Ok(prepared) = dictdb_query::sql::prepare(sql) else {
        return Params::None;
    };
    let slots = prepared.params();
    if slots.is_empty() || pool.is_empty() {
        return Params::None;
    }
    let value = |i: usize| pool[i % pool.len()].clone();
    if slots.iter().any(|s| s.name.is_some()) {
        Params::Named(
            slots
                .iter()
                .filter_map(|s| Some((s.name.clone()?, value(s.index))))
                .collect(),
        )
    } else {
        let n = slots.iter().map(|s| s.index + 1).max().unwrap_or(0);
        Params::Positional((0..n).map(value).collect())
    }
}

/// `DICTDB_FUZZ_STRICT_ERRORS=1`: a statement that fails with the planner rules
/// on and not with them off (or the reverse) is a crash too.
fn strict_errors() -> bool {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("DICTDB_FUZZ_STRICT_ERRORS").is_some_and(|v| v == "1"))
}

/// `DICTDB_FUZZ_PRINT=1`: print every statement run and what it returned (to
/// see what a target generates, or replay an artifact readably).
fn verbose() -> bool {
    static PRINT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("DICTDB_FUZZ_PRINT").is_some_and(|v| v == "1"))
}

/// Runs `f` on a new thread with 2 MiB of stack, the size `std::thread::spawn`
/// gives (and so what an application's worker threads usually have), rather than
/// on the fuzzer's 8 MiB main thread: a statement that nests deeply enough to
/// overflow there is a crash, reported as one (see [`overflow`]).
pub fn on_small_stack(f: impl FnOnce() + Send) {
    overflow::install();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(scope, || overflow::with_alt_stack(f))
            .expect("spawn a thread")
            .join()
            .expect("the fuzzed code panicked");
    });
}

/// Stack overflows as crashes libFuzzer can report.
///
/// A libFuzzer binary starts in libFuzzer's C++ `main`, so Rust's own stack
/// overflow handler is never installed, and libFuzzer's SIGSEGV handler runs on
/// the stack that just overflowed: the process dies silently, with no crash
/// file. Here SIGSEGV gets a handler on an alternate stack that says so and
/// aborts; libFuzzer's SIGABRT handler then saves and prints the input. (Safe
/// Rust has no other way to get a SIGSEGV.)
#[allow(unsafe_code)]
pub mod overflow {
    use std::ptr::null_mut;
    use std::sync::Once;

    extern "C" fn on_segv(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
        const MSG: &[u8] =
            b"\n==dictdb-fuzz: SIGSEGV in the fuzzed code: a stack overflow (2 MiB stack)\n";
        // SAFETY: write(2) and abort(3) are async-signal-safe.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::abort();
        }
    }

    /// Installs the SIGSEGV handler (once per process).
    pub fn install() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            // SAFETY: a zeroed sigaction is valid; the handler only makes
            // async-signal-safe calls.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_segv as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(libc::SIGSEGV, &sa, null_mut());
            }
        });
    }

    /// Runs `f` with an alternate signal stack for this thread.
    pub fn with_alt_stack<R>(f: impl FnOnce() -> R) -> R {
        let mut buf = vec![0u8; 64 << 10];
        let on = libc::stack_t {
            ss_sp: buf.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: buf.len(),
        };
        let off = libc::stack_t {
            ss_sp: null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: `buf` outlives the alternate stack, which is switched off
        // before it is freed (a panic aborts the process, so no unwinding
        // skips that).
        unsafe { libc::sigaltstack(&on, null_mut()) };
        let r = f();
        unsafe { libc::sigaltstack(&off, null_mut()) };
        drop(buf);
        r
    }
}

/// The two databases of the oracle.
pub struct Pair {
    fast: Database,
    slow: Database,
}

impl Default for Pair {
    fn default() -> Self {
        Pair::new()
    }
}

impl Pair {
    /// Two fresh fixtures: every planner rule on, every rule off.
    pub fn new() -> Pair {
        Pair {
            fast: fixture(PlannerConfig::all(true)),
            slow: fixture(PlannerConfig::all(false)),
        }
    }

    /// Runs `sql` (placeholders bound by [`params_for`] from `pool`) on both
    /// databases and panics if they disagree (one fails and
    /// the other does not, or they return different rows/counts). `Debug` text is
    /// compared so that NaN equals NaN.
    pub fn execute(&self, sql: &str, pool: &[Value]) {
        let params = params_for(sql, pool);
        if verbose() {
            eprintln!("sql: {sql}\n  params: {params:?}");
        }
        let a = self.fast.execute(sql, params.clone());
        if verbose() {
            eprintln!("  -> {a:?}");
        }
        let b = self.slow.execute(sql, params.clone());
        match (&a, &b) {
            // EXPLAIN shows the plans, which differ by design.
            (Ok(Output::Rows { columns, .. }), Ok(_))
                if columns.len() == 1
                    && &*columns[0] == "plan"
                    && sql.to_ascii_lowercase().contains("explain") => {}
            (Ok(x), Ok(y)) => {
                let (x, y) = (format!("{x:?}"), format!("{y:?}"));
                assert!(
                    x == y,
                    "planner rules changed a result\n  sql: {sql}\n  params: {params:?}\n  \
                     rules on:  {x}\n  rules off: {y}"
                );
            }
            (Err(_), Err(_)) => {}
            // A filter that fails on some rows only (overflow, a type error) may
            // fail under a full scan and not under an index that never looks at
            // those rows: a difference in failing alone is only checked on demand.
            _ if !strict_errors() => {}
            _ => panic!(
                "planner rules changed whether a statement fails\n  sql: {sql}\n  \
                 params: {params:?}\n  rules on:  {a:?}\n  rules off: {b:?}"
            ),
        }
    }

    /// After a run: every table holds the same rows on both sides, read with a
    /// plain full scan.
    pub fn check_tables(&self) {
        let names = self.fast.table_names();
        assert_eq!(names, self.slow.table_names(), "different tables");
        for n in names {
            let dump = |db: &Database| {
                let t = db.table(&n).expect("listed table");
                let rows = t.select(dictdb::Query::new()).expect("full scan");
                format!("{rows:?}")
            };
            let (x, y) = (dump(&self.fast), dump(&self.slow));
            assert!(
                x == y,
                "table {n} differs\n  rules on:  {x}\n  rules off: {y}"
            );
        }
    }
}
