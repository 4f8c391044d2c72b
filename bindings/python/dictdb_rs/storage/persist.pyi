from .._db import DictDB
from .._typing import StrPath

__all__ = ["save", "load", "has_changes", "save_delta", "apply_delta"]

def save(
    db: DictDB, filename: StrPath, file_format: str, allowed_dir: StrPath | None = None
) -> None: ...
def load(filename: StrPath, file_format: str, allowed_dir: StrPath | None = None) -> DictDB: ...
def has_changes(db: DictDB) -> bool: ...
def save_delta(
    db: DictDB,
    filename: StrPath,
    allowed_dir: StrPath | None = None,
    clear_tracking: bool = True,
) -> bool: ...
def apply_delta(db: DictDB, filename: StrPath, allowed_dir: StrPath | None = None) -> int: ...
