"""`dictdb_rs.storage.persist` (python-api.md §11.4): save/load with an optional
directory restriction, and the delta functions of §13.3–§13.4.

``save`` and ``load`` are the built-in ``DictDB.save`` / ``DictDB.load`` (not a
subclass's override, so an override may call these without recursing).
"""

import os as _os
from pathlib import Path as _Path

from .._db import DictDB
from .._table import Table

__all__ = ["save", "load", "has_changes", "save_delta", "apply_delta"]


def _check_allowed(filename, allowed_dir):
    """ValueError unless ``filename`` resolves inside ``allowed_dir``: the
    resolved path string must start with the resolved directory string."""
    if allowed_dir is None:
        return
    target = str(_Path(filename).resolve())
    root = str(_Path(allowed_dir).resolve())
    if not target.startswith(root):
        raise ValueError(
            f"path '{_os.fspath(filename)}' is outside the allowed directory "
            f"'{_os.fspath(allowed_dir)}'"
        )


def save(db, filename, file_format, allowed_dir=None):
    """Saves ``db`` as ``"json"`` or ``"pickle"`` (§11), atomically."""
    _check_allowed(filename, allowed_dir)
    DictDB.save(db, filename, file_format)


def load(filename, file_format, allowed_dir=None):
    """A new DictDB read from ``filename`` (§11)."""
    _check_allowed(filename, allowed_dir)
    return DictDB.load(filename, file_format)


def has_changes(db):
    """Whether some table has changes, or tables were created or dropped
    (registered in or removed from ``db.tables``), since the last backup."""
    return db._catalog().has_changes()


def save_delta(db, filename, allowed_dir=None, clear_tracking=True):
    """Writes the changes since the last backup as a delta file (§13.3),
    atomically; ``False`` and nothing written when nothing changed.

    With ``clear_tracking=True`` what the file holds counts as backed up (the
    tracking is reset in the same step as its capture). With ``False`` nothing
    is reset: the same changes (and table creations/drops) go into the next
    delta again, together with any made meanwhile.
    """
    _check_allowed(filename, allowed_dir)
    core = db._catalog()
    return core.save_delta(_os.fspath(filename), bool(clear_tracking))


def apply_delta(db, filename, allowed_dir=None):
    """Replays a delta file onto ``db`` (§13.4): drops, creations, then each
    listed table's upserts and deletes; returns the upserts processed plus the
    deletes that removed a row. ``db.tables`` follows (created tables appear,
    dropped ones go, in the catalog's order)."""
    _check_allowed(filename, allowed_dir)
    core = db._catalog()
    try:
        return core.apply_delta(_os.fspath(filename))
    finally:
        _absorb_in_order(db, core)


def _absorb_in_order(db, core):
    """Makes ``db.tables`` hold the catalog's tables in the catalog's order: a
    table already registered keeps its key and object, a new one is wrapped
    under its name."""
    tables = {}
    for c in core.tables():
        for key, table in db.tables.items():
            if table._core.same_table(c) and key not in tables:
                tables[key] = table
                break
        else:
            tables[c.name] = Table._from_core(c)
    if list(tables.items()) != list(db.tables.items()):
        db.tables.clear()
        db.tables.update(tables)
