"""Typing aliases at DictDB's path `dictdb.core.types`."""

from typing import Any, Dict

Record = Dict[str, Any]
Schema = Dict[str, type]

__all__ = ["Record", "Schema"]
