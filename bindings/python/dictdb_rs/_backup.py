"""`BackupManager` (python-api.md §13): full and delta backups of a `DictDB`
into a directory, periodically, on demand, or on change with a debounce.

The engine's backup manager (`_native.BackupManagerCore`) owns the thread, the
mutex, the debounce, the file names and the failure count; it calls back into
`_Hooks` (with the GIL) to write each file: a full backup through
``db.save(<str path>, <format>)`` looked up on the database (a subclass's
override is honoured), a delta through `storage.persist.save_delta`.
"""

import atexit as _atexit
import os as _os
from pathlib import Path as _Path

from . import _native
from ._db import _FULL_BACKUP
from ._logging import logger

__all__ = ["BackupManager"]

_DEBUG = 10
_INFO = 20
_ERROR = 40


def _emit(level, message, **extra):
    logger._log(level, message, extra, interpolate=False)


# Managers started and not stopped. A running manager stays alive without a
# reference of the caller's, as a DictDB manager's thread keeps it alive. At
# interpreter exit their threads are stopped (a backup in progress finishes)
# before the interpreter finalises: a native thread calling into a finalising
# interpreter would be killed mid-call.
_RUNNING = set()


@_atexit.register
def _stop_running():
    for manager in list(_RUNNING):
        try:
            manager._core.stop()
        except RuntimeError:
            pass


class _Hooks:
    """What the native manager calls to write backups and report failures.
    It holds the database, not the manager (no reference cycle through the
    native object)."""

    __slots__ = ("db", "file_format", "on_failure")

    def __init__(self, db, file_format, on_failure):
        self.db = db
        self.file_format = file_format
        self.on_failure = on_failure

    def full(self, path):
        if logger._enabled(_INFO):
            _emit(_INFO, f"[BackupManager] Performing full backup to '{path}'",
                  component="BackupManager", action="full", path=path,
                  format=self.file_format)
        token = _FULL_BACKUP.set(True)
        try:
            self.db.save(path, self.file_format)
        finally:
            _FULL_BACKUP.reset(token)
        if logger._enabled(_INFO):
            _emit(_INFO, f"[BackupManager] Full backup saved to '{path}'",
                  component="BackupManager", action="full", path=path,
                  format=self.file_format)

    def delta(self, path):
        from .storage.persist import has_changes, save_delta

        if not has_changes(self.db):
            if logger._enabled(_DEBUG):
                _emit(_DEBUG, "[BackupManager] No changes since the last backup: delta skipped",
                      component="BackupManager", action="delta")
            return False
        if logger._enabled(_INFO):
            _emit(_INFO, f"[BackupManager] Performing delta backup to '{path}'",
                  component="BackupManager", action="delta", path=path)
        written = save_delta(self.db, path, clear_tracking=True)
        if written and logger._enabled(_INFO):
            _emit(_INFO, f"[BackupManager] Delta backup saved to '{path}'",
                  component="BackupManager", action="delta", path=path)
        return written

    def periodic(self):
        if logger._enabled(_DEBUG):
            _emit(_DEBUG, "[BackupManager] Periodic backup triggered",
                  component="BackupManager", action="periodic")

    def failed(self, exc, n, delta):
        what = "Delta backup" if delta else "Backup"
        if logger._enabled(_ERROR):
            _emit(_ERROR, f"{what} failed ({n} consecutive): {exc}",
                  component="BackupManager", action="delta" if delta else "full",
                  count=n)
        callback = self.on_failure
        if callback is None:
            return
        try:
            callback(exc, n)
        except Exception as e:  # a failing callback must not stop the backups
            if logger._enabled(_ERROR):
                _emit(_ERROR, f"[BackupManager] on_backup_failure callback raised: {e!r}",
                      component="BackupManager", action="callback", count=n)


class BackupManager:
    """Backs a `DictDB` up into ``backup_dir``: periodically once `start`ed,
    or on demand (`backup_now`, `backup_full`, `backup_delta`,
    `notify_change`). Full backups are ``dictdb_backup_<ts>.<format>`` written
    by ``db.save``; deltas ``dictdb_delta_<ts>.json`` (python-api.md §13).

    The constructor's settings stay readable as attributes: ``db`` (the
    database), ``backup_dir`` (a `pathlib.Path`, created at construction),
    ``backup_interval`` (seconds between periodic backups), ``file_format``
    (``"json"`` or ``"pickle"``, lower-cased), ``min_backup_interval`` (the
    debounce of `notify_change`, in seconds), ``incremental`` (deltas between
    full backups) and ``max_deltas_before_full`` (deltas before the next full
    backup in incremental mode)."""

    def __init__(self, db, backup_dir, backup_interval=300, file_format="json",
                 min_backup_interval=5.0, on_backup_failure=None, incremental=False,
                 max_deltas_before_full=10):
        self.db = db
        self.backup_dir = _Path(backup_dir)
        self.backup_interval = backup_interval
        self.file_format = file_format.lower()
        self.min_backup_interval = min_backup_interval
        self.incremental = incremental
        self.max_deltas_before_full = max_deltas_before_full
        self._hooks = _Hooks(db, self.file_format, on_backup_failure)
        self._core = _native.BackupManagerCore(
            self._hooks,
            _os.fspath(self.backup_dir),
            float(backup_interval),
            float(min_backup_interval),
            bool(incremental),
            int(max_deltas_before_full),
            self.file_format,
        )

    @property
    def on_backup_failure(self):
        """The callback told of each failed backup as ``(exception, n)``, with
        ``n`` the consecutive failures so far; None for none."""
        return self._hooks.on_failure

    @on_backup_failure.setter
    def on_backup_failure(self, callback):
        self._hooks.on_failure = callback

    def start(self):
        """Starts the periodic thread (first backup one interval from now);
        RuntimeError if it was started before."""
        self._core.start()
        _RUNNING.add(self)
        if logger._enabled(_INFO):
            _emit(_INFO,
                  f"[BackupManager] Started: backups every {self.backup_interval} s "
                  f"into '{self.backup_dir}'",
                  component="BackupManager", action="start", path=str(self.backup_dir))

    def stop(self):
        """Stops the periodic thread and waits for a backup in progress (from
        the backup thread itself, only signals); RuntimeError before `start`.
        A stopped manager cannot be started again."""
        self._core.stop()
        _RUNNING.discard(self)
        if logger._enabled(_INFO):
            _emit(_INFO, "[BackupManager] Stopped", component="BackupManager",
                  action="stop", path=str(self.backup_dir))

    def backup_now(self):
        """A backup now: full, or in incremental mode a delta unless
        ``max_deltas_before_full`` deltas followed the last full backup.
        Never raises: failures are counted, logged and reported."""
        self._core.backup_now()

    def backup_full(self):
        """A full backup now through ``db.save``; resets change tracking.
        Never raises."""
        self._core.backup_full()

    def backup_delta(self):
        """A delta of the changes since the last backup (nothing written when
        nothing changed). Never raises."""
        self._core.backup_delta()

    def notify_change(self):
        """Tells the manager the data changed: `backup_now` at once, unless the
        last successful backup is less than ``min_backup_interval`` seconds
        old (then nothing). The check and the backup are one step."""
        if self._core.notify_change() == "debounced" and logger._enabled(_DEBUG):
            _emit(_DEBUG, "[BackupManager] Change noted; backup debounced "
                  f"(last backup less than {self.min_backup_interval} s ago)",
                  component="BackupManager", action="debounce")

    @property
    def consecutive_failures(self):
        """Failed backups since the last successful one."""
        return self._core.consecutive_failures

    @property
    def deltas_since_full(self):
        """Deltas written since the last full backup."""
        return self._core.deltas_since_full

    def __repr__(self):
        return (f"<dictdb_rs.BackupManager dir={str(self.backup_dir)!r} "
                f"format={self.file_format!r} incremental={self.incremental}>")


BackupManager.__module__ = "dictdb_rs"
