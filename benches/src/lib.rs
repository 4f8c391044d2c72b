//! Benchmarks of dictdb-rs (see benches/).
