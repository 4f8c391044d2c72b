//! Arbitrary bytes as a saved database and as a delta file: loading, replaying
//! onto an empty database and onto a small one, and restoring a directory holding
//! the bytes as its newest full backup. Errors are fine; panics and hangs are not.
//! Whatever loads must save again and load back equal.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;

static RUN: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dictdb-fuzz-backup-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("dictdb_backup_1_000000.json");
    std::fs::write(&file, data).expect("write input");
    dictdb_fuzz::on_small_stack(|| {
        if let Ok(db) = dictdb::Database::load(&file) {
            let again = dir.join("again.json");
            db.save(&again).expect("a loaded database saves");
            let back = dictdb::Database::load(&again).expect("a saved database loads");
            assert_eq!(back.table_names(), db.table_names());
            for t in db.table_names() {
                assert_eq!(
                    back.table(&t).expect("table").len(),
                    db.table(&t).expect("table").len(),
                    "rows of {t}"
                );
            }
        }
        let _ = dictdb::Database::new().apply_delta(&file);
        let small = dictdb::Database::new();
        let _ = small.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); \
             INSERT INTO t VALUES (1, 'a'), (2, 'b')",
            (),
        );
        let _ = small.apply_delta(&file);
        let _ = dictdb::Database::restore(&dir);
    });
    let _ = std::fs::remove_dir_all(&dir);
});
