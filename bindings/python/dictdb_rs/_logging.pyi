import os
from collections.abc import Callable
from typing import Any, NamedTuple

from _typeshed import SupportsWrite
from typing_extensions import TypeAlias

__all__ = ["logger", "configure_logging", "Logger", "BoundLogger"]

DEBUG: int
INFO: int
WARNING: int
ERROR: int
CRITICAL: int

class Level(NamedTuple):
    name: str
    no: int

# A sink (§9.1): a file path (appended to), a callable receiving each formatted
# line, or a text stream with `write`.
_SinkTarget: TypeAlias = str | os.PathLike[str] | Callable[[str], object] | SupportsWrite[str]
# A filter receives {"level": Level, "message": <raw template>, "extra": dict, ...}.
_FilterFn: TypeAlias = Callable[[dict[str, Any]], object]

class Logger:
    def __init__(self, name: str = "dictdb") -> None: ...
    def add(
        self,
        sink: _SinkTarget,
        *,
        level: str | int = "DEBUG",
        format: object = None,
        serialize: bool = False,
        filter: _FilterFn | None = None,
    ) -> int: ...
    def remove(self) -> None: ...
    def bind(self, /, **extra: Any) -> BoundLogger: ...
    def debug(self, msg: str, /, **extra: Any) -> None: ...
    def info(self, msg: str, /, **extra: Any) -> None: ...
    def warning(self, msg: str, /, **extra: Any) -> None: ...
    def error(self, msg: str, /, **extra: Any) -> None: ...
    def critical(self, msg: str, /, **extra: Any) -> None: ...

class BoundLogger:
    def __init__(self, parent: Logger, extra: dict[str, Any]) -> None: ...
    def bind(self, /, **extra: Any) -> BoundLogger: ...
    def debug(self, msg: str, /, **extra: Any) -> None: ...
    def info(self, msg: str, /, **extra: Any) -> None: ...
    def warning(self, msg: str, /, **extra: Any) -> None: ...
    def error(self, msg: str, /, **extra: Any) -> None: ...
    def critical(self, msg: str, /, **extra: Any) -> None: ...

logger: Logger

def configure_logging(
    level: str = "INFO",
    console: bool = True,
    logfile: str | None = None,
    *,
    json: bool = False,
    sample_debug_every: int | None = None,
) -> None: ...
