"""DictDB's `core` package path (python-api.md §2)."""
