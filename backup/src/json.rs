//! JSON in DictDB's layout (python-api.md §11.2).
