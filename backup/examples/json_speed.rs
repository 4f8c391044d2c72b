//! Save/load speed of the JSON format on the standard workload
//! (performance.md: ≥ 300 MB/s write, ≥ 200 MB/s read for 1M rows).
//!
//! `cargo run --release -p dictdb-backup --example json_speed [N_ROWS]`
//!
//! Writes the table from the engine's columns with the one-row-at-a-time writer,
//! to memory and to a file through `write_atomic` (fsync included), and reads the
//! bytes back into records; then the whole paths `Database::save` and
//! `Database::load` take (`store::save`: snapshot, rows encoded on worker
//! threads, atomic write; `store::load`: records parsed straight into the
//! table, indexes built). Prints MB/s (10^6 bytes per second) for each.

use std::time::Instant;

use dictdb_backup::json::{TableOut, read_database, write_database};
use dictdb_engine::{Catalog, IndexKind, Name, Record, Value};

/// xorshift64*: a small seeded generator, enough for a workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N_ROWS"))
        .unwrap_or(1_000_000);
    let cities: Vec<String> = (0..50).map(|i| format!("city{i:02}")).collect();
    let names: Vec<Name> = ["id", "name", "age", "city", "score", "active"]
        .iter()
        .map(|&s| s.into())
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let records: Vec<Record> = (1..=n as i64)
        .map(|id| {
            let mut r = Record::with_capacity(6);
            r.push_unique(names[0].clone(), Value::Int(id));
            r.push_unique(names[1].clone(), Value::from(format!("name{id}")));
            r.push_unique(names[2].clone(), Value::Int(18 + rng.below(63) as i64));
            r.push_unique(
                names[3].clone(),
                Value::str(cities[rng.below(50) as usize].as_str()),
            );
            r.push_unique(names[4].clone(), Value::Float(rng.unit() * 100.0));
            r.push_unique(names[5].clone(), Value::Bool(rng.below(2) == 1));
            r
        })
        .collect();
    let catalog = Catalog::new();
    let table = catalog.create_table("t", "id", None).unwrap();
    table.insert_many(records).unwrap();
    table.create_index("city", IndexKind::Hash);
    table.create_index("age", IndexKind::Sorted);

    let data = table.read();
    let indexes: Vec<(Name, IndexKind)> = data
        .indexes()
        .map(|(name, index)| (name.clone(), index.kind()))
        .collect();
    let save = |w: &mut dyn std::io::Write| {
        write_database(
            w,
            [TableOut {
                name: "t",
                primary_key: "id",
                schema: None,
                indexes: &indexes,
                next_pk: data.next_key(),
                rows: data.positions().map(|p| data.row(p).iter()),
            }],
        )
    };
    let mb = |bytes: usize, secs: f64| bytes as f64 / 1e6 / secs;

    // Warm-up, and the size of the output.
    let mut bytes = Vec::new();
    save(&mut bytes).unwrap();
    let size = bytes.len();
    println!(
        "{n} rows, {:.1} MB of JSON ({:.0} bytes/row)",
        size as f64 / 1e6,
        size as f64 / n as f64
    );

    let runs = 5;
    let mut best = f64::MAX;
    for _ in 0..runs {
        let mut out = Vec::with_capacity(size);
        let t = Instant::now();
        save(&mut out).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "write to memory: {:7.1} MB/s  ({:.3} s)",
        mb(size, best),
        best
    );

    let dir = std::env::temp_dir().join(format!("dictdb-json-speed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.json");
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        dictdb_backup::write_atomic(&path, |w| Ok(save(w)?)).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "write to file:   {:7.1} MB/s  ({:.3} s, atomic, fsync included)",
        mb(size, best),
        best
    );

    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let tables = read_database(&bytes).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(tables[0].records.len(), n);
        drop(tables);
    }
    println!(
        "read from memory:{:7.1} MB/s  ({:.3} s, records built)",
        mb(size, best),
        best
    );

    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let file = std::fs::read(&path).unwrap();
        let tables = read_database(&file).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(tables[0].records.len(), n);
    }
    println!(
        "read from file:  {:7.1} MB/s  ({:.3} s)",
        mb(size, best),
        best
    );

    drop(data);
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        dictdb_backup::store::save(&catalog, &path).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "store::save:     {:7.1} MB/s  ({:.3} s, snapshot + encoders + atomic write)",
        mb(size, best),
        best
    );

    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let back = dictdb_backup::store::load(&path).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(back.table("t").unwrap().len(), n);
    }
    println!(
        "store::load:     {:7.1} MB/s  ({:.3} s, file to table, indexes built)",
        mb(size, best),
        best
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
