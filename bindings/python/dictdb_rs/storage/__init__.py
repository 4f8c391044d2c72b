"""Persistence at DictDB's module paths (python-api.md §2): ``dictdb_rs.storage.persist``."""
