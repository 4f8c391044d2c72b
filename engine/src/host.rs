//! Host hooks: code of the embedding program (the Python bindings) that the
//! engine runs in the middle of a write.
//!
//! A **host validator** replaces the schema check of a write: while
//! [`with_validator`] runs its closure, every record a write on this thread
//! would validate against the schema is handed to the validator instead
//! ([`Validation`]), under the table's write lock, before anything changes. A
//! Python `Table` whose `validate_record` is overridden uses it, so the override
//! sees the merged record of an `update` or `upsert` exactly as it is in the
//! table at that moment, and a failure leaves the table untouched.
//!
//! The validator is scoped to the current thread and to the closure: writes on
//! other threads, and the closure's nested calls after it returns, are not
//! affected. Writes validate on the calling thread (never on a thread pool).
//! The validator must not touch the table being written (the lock is held and
//! is not re-entrant).

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::record::Record;
use crate::value::Value;

/// An error raised by host code: a message for display, and the host's own
/// error value, carried unchanged back to the caller.
///
/// Clones share the payload; two errors are equal when they share it.
#[derive(Clone)]
pub struct HostError {
    message: Arc<str>,
    payload: Arc<dyn Any + Send + Sync>,
}

impl HostError {
    /// An error carrying `payload` (the host's error value), shown as `message`.
    pub fn new(message: impl Into<String>, payload: impl Any + Send + Sync) -> HostError {
        HostError {
            message: Arc::from(message.into()),
            payload: Arc::new(payload),
        }
    }

    /// The payload, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.payload.downcast_ref()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl PartialEq for HostError {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.payload), Arc::as_ptr(&other.payload))
    }
}

impl fmt::Debug for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostError")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

/// A record a write asks the host validator about.
#[derive(Debug)]
pub enum Validation<'a> {
    /// A new row: the `index`-th record of the insert (0 for a single insert or
    /// an upsert that inserts), and the automatic key it is about to get (`None`
    /// when the record names its key).
    New {
        /// Which record of the call.
        index: usize,
        /// The record as given.
        record: &'a Record,
        /// The automatic key assigned to it, if any.
        key: Option<&'a Value>,
    },
    /// An existing row about to be merged with `changes` (update, or upsert's
    /// update path).
    Merge {
        /// The stored row.
        stored: &'a Record,
        /// The fields written over it.
        changes: &'a Record,
    },
}

/// The function behind a host validator.
pub type HostValidator = dyn Fn(&Validation<'_>) -> Result<(), HostError> + Send + Sync;

thread_local! {
    static VALIDATOR: RefCell<Option<Arc<HostValidator>>> = const { RefCell::new(None) };
}

/// Runs `f` with `validator` standing in for schema validation in every write
/// this thread makes meanwhile (see the [module docs](self)); the previous
/// validator (if any) is back afterwards, also when `f` panics.
pub fn with_validator<R>(validator: Arc<HostValidator>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<HostValidator>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            VALIDATOR.with(|v| *v.borrow_mut() = previous);
        }
    }
    let previous = VALIDATOR.with(|v| v.borrow_mut().replace(validator));
    let _restore = Restore(previous);
    f()
}

/// The validator in force on this thread.
pub(crate) fn current() -> Option<Arc<HostValidator>> {
    VALIDATOR.with(|v| v.borrow().clone())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{OnConflict, Table, record};

    /// What a validator was asked, as text.
    fn describe(v: &Validation<'_>) -> String {
        match v {
            Validation::New { index, record, key } => format!(
                "new {index} {:?} key={:?}",
                record.get("n"),
                key.map(|k| k.to_string())
            ),
            Validation::Merge { stored, changes } => {
                format!("merge {:?} <- {:?}", stored.get("n"), changes.get("n"))
            }
        }
    }

    #[test]
    fn the_validator_replaces_the_schema_check_and_its_error_changes_nothing() {
        let t = Table::new("t", "id", None);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let v: Arc<HostValidator> = Arc::new(move |v: &Validation<'_>| {
            s.lock().unwrap().push(describe(v));
            match v {
                Validation::Merge { changes, .. } if changes.get("n") == Some(&Value::Int(13)) => {
                    Err(HostError::new("unlucky", 13u8))
                }
                _ => Ok(()),
            }
        });
        with_validator(v.clone(), || {
            let mut data = t.write();
            data.insert_many(
                vec![record! {"n" => 1}, record! {"id" => 7, "n" => 2}],
                true,
            )
            .unwrap();
            data.upsert(record! {"id" => 7, "n" => 3}, OnConflict::Update)
                .unwrap();
            let before = data.snapshot().len();
            let err = data
                .update_positions(&[0, 1], &record! {"n" => 13}, true)
                .unwrap_err();
            match err {
                crate::Error::Host(h) => assert_eq!(h.downcast_ref::<u8>(), Some(&13)),
                other => panic!("unexpected {other:?}"),
            }
            assert_eq!(data.snapshot().len(), before);
            assert_eq!(
                data.record(1).get("n"),
                Some(&Value::Int(3)),
                "nothing changed"
            );
            // Unvalidated writes skip it.
            data.insert_many(vec![record! {"n" => 4}], false).unwrap();
        });
        // Outside the closure the validator is gone.
        t.write()
            .update_positions(&[0], &record! {"n" => 13}, true)
            .unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "new 0 Some(Int(1)) key=Some(\"1\")",
                "new 1 Some(Int(2)) key=None",
                "merge Some(Int(2)) <- Some(Int(3))",
                "merge Some(Int(1)) <- Some(Int(13))",
            ]
        );
    }
}
