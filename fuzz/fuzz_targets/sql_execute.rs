//! Raw SQL text (the input, as lossy UTF-8) run against a small fixture database
//! with a few positional parameters (`dictdb_fuzz::params`: `$6` is `i64::MIN`),
//! on a thread with a 2 MiB stack. Errors are fine; panics, hangs and the two
//! planners disagreeing are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    dictdb_fuzz::on_small_stack(|| {
        let dbs = dictdb_fuzz::Pair::new();
        dbs.execute(&sql, &dictdb_fuzz::params());
        dbs.check_tables();
    });
});
