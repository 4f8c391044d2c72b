"""Typing aliases at DictDB's path ``dictdb.core.types`` (python-api.md §2).

``Record`` (``dict[str, Any]``) is a row: field name to value. ``Schema``
(``dict[str, type]``) maps each field of a table's schema to its type.
"""

from typing import Any, Dict

Record = Dict[str, Any]
Schema = Dict[str, type]

__all__ = ["Record", "Schema"]
