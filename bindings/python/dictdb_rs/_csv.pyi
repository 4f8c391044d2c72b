from contextlib import AbstractContextManager

from ._typing import StrPath

__all__ = ["import_path", "export_path"]

def import_path(filepath: StrPath, encoding: str) -> AbstractContextManager[str]: ...
def export_path(filepath: StrPath, encoding: str) -> AbstractContextManager[str]: ...
