//! Writing table snapshots as a database file, rows encoded on worker threads.
//!
//! The layout is [`write_database`](super::write_database)'s, byte for byte. Rows
//! are cut into chunks of [`CHUNK_ROWS`]; workers encode chunks into buffers
//! (field names pre-encoded once per column) while the calling thread writes the
//! finished ones in order. A fixed pool of buffers bounds the memory: encoding
//! never runs more than a few chunks ahead of the writes.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use dictdb_engine::{TableData, TableSnapshot};

use super::database::DatabaseWriter;
use super::error::JsonError;
use super::write::{write_str, write_value};

/// Rows per chunk (~2 MB of text for the standard workload's rows: more than
/// the 1 MiB buffer of `write_atomic`, so a chunk bypasses it).
pub(crate) const CHUNK_ROWS: usize = 16384;

/// Most encoding threads.
const MAX_WORKERS: usize = 4;

/// One table to write: its snapshot, its live positions and its encoded keys.
struct Part<'s> {
    snap: &'s TableSnapshot,
    positions: Vec<u32>,
    /// `"name": ` for each column id.
    keys: Vec<Vec<u8>>,
}

impl<'s> Part<'s> {
    fn new(snap: &'s TableSnapshot) -> Self {
        let data = snap.data();
        let keys = data
            .field_names()
            .iter()
            .map(|name| {
                let mut k = Vec::with_capacity(name.len() + 4);
                write_str(&mut k, name);
                k.extend_from_slice(b": ");
                k
            })
            .collect();
        Part {
            snap,
            positions: data.positions().collect(),
            keys,
        }
    }

    fn n_chunks(&self) -> usize {
        self.positions.len().div_ceil(CHUNK_ROWS)
    }

    /// Appends chunk `i`'s rows as [`DatabaseWriter::write_row`] writes them.
    fn encode(&self, i: usize, out: &mut Vec<u8>) {
        let data: &TableData = self.snap.data();
        let start = i * CHUNK_ROWS;
        let end = (start + CHUNK_ROWS).min(self.positions.len());
        for (k, &pos) in self.positions[start..end].iter().enumerate() {
            out.extend_from_slice(if start + k == 0 {
                b"\n                {"
            } else {
                b",\n                {"
            });
            let row = data.row(pos);
            for (j, &c) in row.column_ids().iter().enumerate() {
                if j > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(&self.keys[c as usize]);
                write_value(out, data.column(c).get(pos as usize));
            }
            out.push(b'}');
        }
    }
}

/// Writes `snaps` as a database file to `w` (python-api.md §11.2), calling
/// `progress` with the rows written so far after each chunk. Only I/O fails.
pub(crate) fn write_snapshots<W: Write>(
    w: &mut W,
    snaps: &[TableSnapshot],
    progress: &mut dyn FnMut(u64),
) -> Result<(), JsonError> {
    let parts: Vec<Part<'_>> = snaps.iter().map(Part::new).collect();
    // (part, chunk) in file order.
    let chunks: Vec<(usize, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(t, p)| (0..p.n_chunks()).map(move |c| (t, c)))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_WORKERS)
        .min(chunks.len());
    if workers <= 1 {
        // One chunk or one core: encode and write in turn, in one buffer.
        let spare = std::cell::Cell::new(Vec::new());
        return write_in_order(
            w,
            &parts,
            progress,
            |t, c| {
                let mut buf = spare.take();
                buf.clear();
                parts[t].encode(c, &mut buf);
                Ok(buf)
            },
            |buf| spare.set(buf),
        );
    }
    let next = AtomicUsize::new(0);
    let (free_tx, free_rx): (Sender<Vec<u8>>, Receiver<Vec<u8>>) = unbounded();
    let (done_tx, done_rx) = bounded::<(usize, Vec<u8>)>(2 * workers + 2);
    for _ in 0..2 * workers + 2 {
        free_tx.send(Vec::new()).expect("the pool is open");
    }
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (free_rx, done_tx) = (free_rx.clone(), done_tx.clone());
            let (next, chunks, parts) = (&next, &chunks, &parts);
            scope.spawn(move || {
                // Take a buffer first, then a chunk: the lowest chunk not yet
                // written always has a buffer, so the writer never waits in vain.
                while let Ok(mut buf) = free_rx.recv() {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(t, c)) = chunks.get(i) else {
                        return;
                    };
                    buf.clear();
                    parts[t].encode(c, &mut buf);
                    if done_tx.send((i, buf)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let mut want = 0;
        let result = write_in_order(
            w,
            &parts,
            progress,
            |_, _| {
                let i = want;
                want += 1;
                loop {
                    if let Some(buf) = pending.remove(&i) {
                        return Ok(buf);
                    }
                    let (j, buf) = done_rx
                        .recv()
                        .map_err(|_| JsonError::Io(std::io::Error::other("an encoder stopped")))?;
                    pending.insert(j, buf);
                }
            },
            |buf| {
                let _ = free_tx.send(buf);
            },
        );
        // Stop the workers: no more buffers, and nobody listens.
        drop(free_tx);
        drop(done_rx);
        result
    })
}

/// The framing of the file around the chunks, which `chunk(t, c)` hands over in
/// file order; each buffer is given back through `recycle` once written.
fn write_in_order<W: Write>(
    w: &mut W,
    parts: &[Part<'_>],
    progress: &mut dyn FnMut(u64),
    mut chunk: impl FnMut(usize, usize) -> Result<Vec<u8>, JsonError>,
    mut recycle: impl FnMut(Vec<u8>),
) -> Result<(), JsonError> {
    let mut writer = DatabaseWriter::new(w);
    let mut done = 0u64;
    for (t, part) in parts.iter().enumerate() {
        let s = part.snap;
        writer.begin_table(&super::TableDef {
            name: s.name(),
            primary_key: s.primary_key(),
            schema: s.schema(),
            indexes: &s.indexes,
            next_pk: s.next_pk,
        })?;
        for c in 0..part.n_chunks() {
            let buf = chunk(t, c)?;
            let rows = CHUNK_ROWS.min(part.positions.len() - c * CHUNK_ROWS);
            writer.write_encoded_rows(&buf, rows)?;
            recycle(buf);
            done += rows as u64;
            progress(done);
        }
        writer.end_table()?;
    }
    writer.finish()?;
    Ok(())
}
