from collections.abc import Callable
from pathlib import Path

from ._db import DictDB
from ._typing import StrPath

__all__ = ["BackupManager"]

class BackupManager:
    db: DictDB
    backup_dir: Path
    backup_interval: int
    file_format: str
    min_backup_interval: float
    incremental: bool
    max_deltas_before_full: int
    # Told of each failed backup as (exception, consecutive failures so far).
    on_backup_failure: Callable[[Exception, int], object] | None
    def __init__(
        self,
        db: DictDB,
        backup_dir: StrPath,
        backup_interval: int = 300,
        file_format: str = "json",
        min_backup_interval: float = 5.0,
        on_backup_failure: Callable[[Exception, int], object] | None = None,
        incremental: bool = False,
        max_deltas_before_full: int = 10,
    ) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def backup_now(self) -> None: ...
    def backup_full(self) -> None: ...
    def backup_delta(self) -> None: ...
    def notify_change(self) -> None: ...
    @property
    def consecutive_failures(self) -> int: ...
    @property
    def deltas_since_full(self) -> int: ...
