//! `BackupManager` (python-api.md §13.1): full and delta backups into a
//! directory, periodically on a background thread, on demand, or on change with
//! a debounce; compaction into a full backup after `max_deltas_before_full`
//! deltas; an optional retention of the last K full backups.
//!
//! What a backup writes is the [`BackupSource`]'s business (the `dictdb` crate
//! implements it for a database); the manager decides when, names the files
//! (`dictdb_backup_<sec>_<usec>.json`, `dictdb_delta_<sec>_<usec>.json`, unique
//! by construction), serialises backups under one mutex, and counts failures.
//! The failure callback runs after the mutex is released, so it may call the
//! manager (even `stop`) without deadlocking.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, bounded};
use parking_lot::Mutex;

/// An error of a backup, as the source reports it.
pub type BackupError = Box<dyn std::error::Error + Send + Sync>;

/// What the manager backs up.
pub trait BackupSource: Send + Sync {
    /// Writes a full backup to `path` and resets change tracking in the same
    /// step as the snapshot (so the next delta holds exactly the later changes).
    fn backup_full(&self, path: &Path) -> Result<(), BackupError>;
    /// Writes the changes since the last backup to `path`; `false` (and nothing
    /// written) when there are none.
    fn backup_delta(&self, path: &Path) -> Result<bool, BackupError>;
    /// Told by the periodic thread each time its interval elapses, just before
    /// it backs up (for a host that logs the trigger). Does nothing by default.
    fn periodic_trigger(&self) {}
}

/// The callback told of each failed backup: the error and the number of
/// consecutive failures so far (1, 2, …).
pub type FailureCallback = Box<dyn Fn(&BackupError, u32) + Send + Sync>;

/// How a [`BackupManager`] works.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupOptions {
    /// Time between periodic backups (default 300 s).
    pub interval: Duration,
    /// [`BackupManager::notify_change`] skips a backup when the last successful
    /// one is more recent than this (default 5 s).
    pub min_interval: Duration,
    /// Deltas between full backups (default `false`: every backup is full).
    pub incremental: bool,
    /// With `incremental`, a full backup replaces the delta once this many
    /// deltas followed the last full one (default 10).
    pub max_deltas_before_full: u32,
    /// Keep only the newest K full backups, and the deltas after the oldest one
    /// kept (default `None`: keep everything).
    pub keep_full: Option<usize>,
    /// The extension of full backup files (default `"json"`; a host writing
    /// full backups in another format, e.g. Python's pickle, names it here).
    /// Only `.json` full backups count for [`backup_files`], retention and
    /// restore.
    pub full_extension: String,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            interval: Duration::from_secs(300),
            min_interval: Duration::from_secs(5),
            incremental: false,
            max_deltas_before_full: 10,
            keep_full: None,
            full_extension: "json".into(),
        }
    }
}

/// What one backup call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupOutcome {
    /// A full backup was written to this file.
    Full(PathBuf),
    /// A delta was written to this file.
    Delta(PathBuf),
    /// Nothing had changed: no delta was written.
    Unchanged,
    /// `notify_change` came within `min_interval` of the last backup.
    Debounced,
    /// The backup failed (counted, logged to the callback).
    Failed,
}

/// The kind of a backup file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupKind {
    /// `dictdb_backup_<ts>.json`.
    Full,
    /// `dictdb_delta_<ts>.json`.
    Delta,
}

/// A backup file found in a directory: its kind and timestamp (µs since the
/// epoch), ordered by timestamp.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BackupFile {
    /// Microseconds since the Unix epoch, from the name.
    pub micros: u64,
    /// The path.
    pub path: PathBuf,
    /// Full or delta.
    pub kind: BackupKind,
}

impl PartialOrd for BackupKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BackupKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self == BackupKind::Delta).cmp(&(*other == BackupKind::Delta))
    }
}

/// The backup files of a directory, oldest first (a full backup before a delta
/// of the same timestamp). Other files are ignored.
pub fn backup_files(dir: &Path) -> std::io::Result<Vec<BackupFile>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((kind, micros)) = parse_name(name) {
            out.push(BackupFile {
                micros,
                path: entry.path(),
                kind,
            });
        }
    }
    out.sort();
    Ok(out)
}

/// `dictdb_backup_<sec>_<usec>.json` / `dictdb_delta_<sec>_<usec>.json`.
fn parse_name(name: &str) -> Option<(BackupKind, u64)> {
    let (kind, rest) = if let Some(r) = name.strip_prefix("dictdb_backup_") {
        (BackupKind::Full, r)
    } else if let Some(r) = name.strip_prefix("dictdb_delta_") {
        (BackupKind::Delta, r)
    } else {
        return None;
    };
    let stem = rest.strip_suffix(".json")?;
    let (sec, usec) = stem.split_once('_')?;
    if usec.len() != 6 || !usec.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sec: u64 = sec.parse().ok()?;
    let usec: u64 = usec.parse().ok()?;
    Some((kind, sec.checked_mul(1_000_000)?.checked_add(usec)?))
}

fn file_name(kind: BackupKind, micros: u64) -> String {
    file_name_ext(kind, micros, "json")
}

/// `file_name` with full backups' extension `ext` (deltas are always JSON).
fn file_name_ext(kind: BackupKind, micros: u64, ext: &str) -> String {
    let (prefix, ext) = match kind {
        BackupKind::Full => ("dictdb_backup", ext),
        BackupKind::Delta => ("dictdb_delta", "json"),
    };
    format!(
        "{prefix}_{}_{:06}.{ext}",
        micros / 1_000_000,
        micros % 1_000_000
    )
}

/// A new backup file name in `dir` for a backup taken now: the current time to
/// the microsecond, moved on past any name already there (what a one-off
/// backup, e.g. the shell's `.backup`, uses; a manager also never reuses its
/// own last timestamp).
pub fn new_backup_path(dir: &Path, kind: BackupKind) -> PathBuf {
    let mut micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    loop {
        let path = dir.join(file_name(kind, micros));
        if !path.exists() {
            return path;
        }
        micros += 1;
    }
}

/// The manager's counters, under its mutex.
#[derive(Debug, Default)]
struct State {
    last_success: Option<Instant>,
    failures: u32,
    deltas_since_full: u32,
    last_micros: u64,
}

struct Inner {
    source: Arc<dyn BackupSource>,
    dir: PathBuf,
    options: BackupOptions,
    state: Mutex<State>,
    on_failure: Mutex<Option<Arc<FailureCallback>>>,
}

/// Where the periodic thread is.
enum Thread {
    NotStarted,
    Running {
        stop: Sender<()>,
        handle: JoinHandle<()>,
        id: std::thread::ThreadId,
    },
    Stopped,
}

/// Backups of a [`BackupSource`] into a directory (python-api.md §13).
pub struct BackupManager {
    inner: Arc<Inner>,
    thread: Mutex<Thread>,
}

impl fmt::Debug for BackupManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupManager")
            .field("dir", &self.inner.dir)
            .field("options", &self.inner.options)
            .field("state", &*self.inner.state.lock())
            .finish()
    }
}

/// Misuse of `start` / `stop`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// `start` on a manager already started (or stopped: it cannot restart).
    #[error("the backup manager was already started")]
    AlreadyStarted,
    /// `stop` before `start`.
    #[error("the backup manager is not running")]
    NotStarted,
}

impl BackupManager {
    /// A manager writing into `dir` (created with its parents now). The periodic
    /// thread is not started.
    pub fn new(
        source: Arc<dyn BackupSource>,
        dir: impl Into<PathBuf>,
        options: BackupOptions,
    ) -> std::io::Result<BackupManager> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(BackupManager {
            inner: Arc::new(Inner {
                source,
                dir,
                options,
                state: Mutex::new(State::default()),
                on_failure: Mutex::new(None),
            }),
            thread: Mutex::new(Thread::NotStarted),
        })
    }

    /// The backup directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The options.
    pub fn options(&self) -> &BackupOptions {
        &self.inner.options
    }

    /// Sets the callback told of each failed backup.
    pub fn on_failure(&self, callback: FailureCallback) {
        *self.inner.on_failure.lock() = Some(Arc::new(callback));
    }

    /// Failed backups since the last successful one.
    pub fn consecutive_failures(&self) -> u32 {
        self.inner.state.lock().failures
    }

    /// Deltas written since the last full backup.
    pub fn deltas_since_full(&self) -> u32 {
        self.inner.state.lock().deltas_since_full
    }

    /// Starts the periodic thread: a backup every `interval`, the first one
    /// interval after now, until [`BackupManager::stop`].
    pub fn start(&self) -> Result<(), LifecycleError> {
        let mut thread = self.thread.lock();
        if !matches!(*thread, Thread::NotStarted) {
            return Err(LifecycleError::AlreadyStarted);
        }
        let (stop, stopped): (Sender<()>, Receiver<()>) = bounded(1);
        let inner = self.inner.clone();
        let handle = std::thread::Builder::new()
            .name("dictdb-backup".into())
            .spawn(move || {
                // `recv_timeout` returns at once when `stop` sends or drops.
                while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(inner.options.interval)
                {
                    inner.source.periodic_trigger();
                    inner.backup_now();
                }
            })
            .expect("spawn the backup thread");
        let id = handle.thread().id();
        *thread = Thread::Running { stop, handle, id };
        Ok(())
    }

    /// Stops the periodic thread and waits for it (and for a backup in
    /// progress). From the backup thread itself (a failure callback), it only
    /// signals. A stopped manager cannot be started again.
    pub fn stop(&self) -> Result<(), LifecycleError> {
        let mut thread = self.thread.lock();
        match std::mem::replace(&mut *thread, Thread::Stopped) {
            Thread::NotStarted => {
                *thread = Thread::NotStarted;
                Err(LifecycleError::NotStarted)
            }
            Thread::Stopped => Err(LifecycleError::NotStarted),
            Thread::Running { stop, handle, id } => {
                drop(thread);
                let _ = stop.try_send(());
                drop(stop);
                if std::thread::current().id() != id {
                    let _ = handle.join();
                }
                Ok(())
            }
        }
    }

    /// A backup now: full, or (incremental) a delta unless enough deltas
    /// followed the last full backup.
    pub fn backup_now(&self) -> BackupOutcome {
        self.inner.backup_now()
    }

    /// A full backup now.
    pub fn backup_full(&self) -> BackupOutcome {
        self.inner.run(BackupKind::Full)
    }

    /// A delta now (nothing written when nothing changed).
    pub fn backup_delta(&self) -> BackupOutcome {
        self.inner.run(BackupKind::Delta)
    }

    /// Tells the manager the data changed: a backup now, unless the last
    /// successful one is more recent than `min_interval`. The check and the
    /// backup are one step, so concurrent calls within the interval make one
    /// backup.
    pub fn notify_change(&self) -> BackupOutcome {
        self.inner.notify_change()
    }
}

impl Drop for BackupManager {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

impl Inner {
    fn backup_now(&self) -> BackupOutcome {
        let mut state = self.state.lock();
        let kind = self.kind_now(&state);
        self.run_locked(&mut state, kind)
    }

    fn kind_now(&self, state: &State) -> BackupKind {
        if self.options.incremental && state.deltas_since_full < self.options.max_deltas_before_full
        {
            BackupKind::Delta
        } else {
            BackupKind::Full
        }
    }

    fn notify_change(&self) -> BackupOutcome {
        let mut state = self.state.lock();
        if let Some(last) = state.last_success
            && last.elapsed() < self.options.min_interval
        {
            return BackupOutcome::Debounced;
        }
        let kind = self.kind_now(&state);
        self.run_locked(&mut state, kind)
    }

    fn run(&self, kind: BackupKind) -> BackupOutcome {
        let mut state = self.state.lock();
        self.run_locked(&mut state, kind)
    }

    /// One backup under the mutex; a failure's callback runs after it is
    /// released (the guard is dropped here before calling it).
    fn run_locked(
        &self,
        state: &mut parking_lot::MutexGuard<'_, State>,
        kind: BackupKind,
    ) -> BackupOutcome {
        let path = self.next_path(state, kind);
        let result = match kind {
            BackupKind::Full => self.source.backup_full(&path).map(|()| true),
            BackupKind::Delta => self.source.backup_delta(&path),
        };
        match result {
            Ok(false) => BackupOutcome::Unchanged,
            Ok(true) => {
                state.last_success = Some(Instant::now());
                state.failures = 0;
                match kind {
                    BackupKind::Full => {
                        state.deltas_since_full = 0;
                        if let Some(k) = self.options.keep_full {
                            self.prune(k);
                        }
                        BackupOutcome::Full(path)
                    }
                    BackupKind::Delta => {
                        state.deltas_since_full += 1;
                        BackupOutcome::Delta(path)
                    }
                }
            }
            Err(e) => {
                state.failures += 1;
                let n = state.failures;
                let callback = self.on_failure.lock().clone();
                // Release the mutex before the callback, which may call us.
                parking_lot::MutexGuard::unlocked(state, || {
                    if let Some(cb) = callback {
                        let _ =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&e, n)));
                    }
                });
                BackupOutcome::Failed
            }
        }
    }

    /// A fresh file name: a timestamp above the last one used, not taken.
    fn next_path(&self, state: &mut State, kind: BackupKind) -> PathBuf {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let mut micros = now.max(state.last_micros + 1);
        loop {
            let name = file_name_ext(kind, micros, &self.options.full_extension);
            let path = self.dir.join(name);
            if !path.exists() {
                state.last_micros = micros;
                return path;
            }
            micros += 1;
        }
    }

    /// Keeps the newest `keep` full backups and the deltas after the oldest
    /// kept one; removes the rest (errors ignored: retention is best effort).
    fn prune(&self, keep: usize) {
        let Ok(files) = backup_files(&self.dir) else {
            return;
        };
        let fulls: Vec<&BackupFile> = files
            .iter()
            .filter(|f| f.kind == BackupKind::Full)
            .collect();
        if keep == 0 || fulls.len() <= keep {
            return;
        }
        let oldest_kept = fulls[fulls.len() - keep].micros;
        for f in &files {
            if f.micros < oldest_kept {
                let _ = fs::remove_file(&f.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    /// A source writing small files, failing on demand, counting changes.
    #[derive(Default)]
    struct Fake {
        fail: AtomicBool,
        changes: AtomicU32,
    }

    impl BackupSource for Fake {
        fn backup_full(&self, path: &Path) -> Result<(), BackupError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err("disk full".into());
            }
            self.changes.store(0, Ordering::SeqCst);
            fs::write(path, "{}")?;
            Ok(())
        }
        fn backup_delta(&self, path: &Path) -> Result<bool, BackupError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err("disk full".into());
            }
            if self.changes.swap(0, Ordering::SeqCst) == 0 {
                return Ok(false);
            }
            fs::write(path, "{}")?;
            Ok(true)
        }
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dictdb-mgr-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn kinds(d: &Path) -> Vec<BackupKind> {
        backup_files(d)
            .unwrap()
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn names_parse_and_sort() {
        assert_eq!(
            parse_name("dictdb_backup_1795288515_550660.json"),
            Some((BackupKind::Full, 1_795_288_515_550_660))
        );
        assert_eq!(
            parse_name("dictdb_delta_1_000001.json"),
            Some((BackupKind::Delta, 1_000_001))
        );
        assert_eq!(parse_name("dictdb_delta_1_1.json"), None);
        assert_eq!(parse_name("other.json"), None);
        assert_eq!(
            file_name(BackupKind::Full, 1_000_001),
            "dictdb_backup_1_000001.json"
        );
    }

    #[test]
    fn incremental_compacts_after_max_deltas_and_names_are_unique() {
        let d = dir("incr");
        let src = Arc::new(Fake::default());
        let m = BackupManager::new(
            src.clone(),
            &d,
            BackupOptions {
                incremental: true,
                max_deltas_before_full: 3,
                ..BackupOptions::default()
            },
        )
        .unwrap();
        // Nothing changed: no delta.
        assert_eq!(m.backup_now(), BackupOutcome::Unchanged);
        for _ in 0..3 {
            src.changes.store(1, Ordering::SeqCst);
            assert!(matches!(m.backup_now(), BackupOutcome::Delta(_)));
        }
        assert_eq!(m.deltas_since_full(), 3);
        assert!(matches!(m.backup_now(), BackupOutcome::Full(_)));
        assert_eq!(m.deltas_since_full(), 0);
        // Back-to-back full backups: distinct files.
        for _ in 0..5 {
            assert!(matches!(m.backup_full(), BackupOutcome::Full(_)));
        }
        use BackupKind::*;
        assert_eq!(
            kinds(&d),
            [Delta, Delta, Delta, Full, Full, Full, Full, Full, Full]
        );
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn failures_count_and_the_callback_may_call_the_manager() {
        let d = dir("fail");
        let src = Arc::new(Fake::default());
        let m = Arc::new(BackupManager::new(src.clone(), &d, BackupOptions::default()).unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (seen2, m2) = (seen.clone(), Arc::downgrade(&m));
        m.on_failure(Box::new(move |e, n| {
            seen2.lock().push((e.to_string(), n));
            // Calling back into the manager does not deadlock.
            if let Some(m) = m2.upgrade() {
                let _ = m.consecutive_failures();
            }
        }));
        src.fail.store(true, Ordering::SeqCst);
        assert_eq!(m.backup_now(), BackupOutcome::Failed);
        assert_eq!(m.backup_now(), BackupOutcome::Failed);
        assert_eq!(m.consecutive_failures(), 2);
        assert_eq!(
            *seen.lock(),
            [("disk full".to_string(), 1), ("disk full".to_string(), 2)]
        );
        src.fail.store(false, Ordering::SeqCst);
        assert!(matches!(m.backup_now(), BackupOutcome::Full(_)));
        assert_eq!(m.consecutive_failures(), 0);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn notify_change_debounces() {
        let d = dir("debounce");
        let m = BackupManager::new(
            Arc::new(Fake::default()),
            &d,
            BackupOptions {
                min_interval: Duration::from_millis(300),
                ..BackupOptions::default()
            },
        )
        .unwrap();
        assert!(matches!(m.notify_change(), BackupOutcome::Full(_)));
        assert_eq!(m.notify_change(), BackupOutcome::Debounced);
        std::thread::sleep(Duration::from_millis(350));
        assert!(matches!(m.notify_change(), BackupOutcome::Full(_)));
        assert_eq!(kinds(&d).len(), 2);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn periodic_thread_starts_stops_and_cannot_restart() {
        let d = dir("thread");
        let m = BackupManager::new(
            Arc::new(Fake::default()),
            &d,
            BackupOptions {
                interval: Duration::from_millis(50),
                ..BackupOptions::default()
            },
        )
        .unwrap();
        assert_eq!(m.stop(), Err(LifecycleError::NotStarted));
        m.start().unwrap();
        assert_eq!(m.start(), Err(LifecycleError::AlreadyStarted));
        let deadline = Instant::now() + Duration::from_secs(10);
        while kinds(&d).len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        m.stop().unwrap();
        let n = kinds(&d).len();
        assert!(n >= 2, "periodic backups: {n}");
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(kinds(&d).len(), n, "no backup after stop");
        assert_eq!(m.start(), Err(LifecycleError::AlreadyStarted));
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn retention_keeps_the_newest_full_backups_and_later_deltas() {
        let d = dir("keep");
        let src = Arc::new(Fake::default());
        let m = BackupManager::new(
            src.clone(),
            &d,
            BackupOptions {
                keep_full: Some(2),
                ..BackupOptions::default()
            },
        )
        .unwrap();
        for _ in 0..2 {
            m.backup_full();
            src.changes.store(1, Ordering::SeqCst);
            m.backup_delta();
        }
        m.backup_full();
        src.changes.store(1, Ordering::SeqCst);
        m.backup_delta();
        use BackupKind::*;
        assert_eq!(kinds(&d), [Full, Delta, Full, Delta]);
        fs::remove_dir_all(d).unwrap();
    }
}
