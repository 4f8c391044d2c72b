//! CSV import and export (python-api.md §12).
