//! CSV import and export (python-api.md §12), as DictDB does them on Python's
//! `csv` module: [`import_csv`] reads a file into a new table, [`export_csv`]
//! writes records to a file atomically; [`read_csv`] and [`write_csv`] are the
//! same work on a reader or writer.
//!
//! ```
//! use dictdb_backup::csv::{ExportOptions, ImportOptions, read_csv, write_csv};
//! use dictdb_engine::{Value, record};
//!
//! let rows = [record! { "id" => 1, "name" => "Ada, Countess", "score" => 1.5 }];
//! let mut out = Vec::new();
//! write_csv(&mut out, &rows, &ExportOptions::default())?;
//! assert_eq!(out, b"id,name,score\r\n1,\"Ada, Countess\",1.5\r\n");
//!
//! let (columns, records) = read_csv(&out[..], &ImportOptions::default())?;
//! assert_eq!(columns, ["id", "name", "score"]);
//! assert_eq!(records[0].get("score"), Some(&Value::Float(1.5)));
//! # Ok::<(), dictdb_backup::csv::CsvError>(())
//! ```
//!
//! # Reading
//!
//! Rows are split exactly as Python's `csv.reader` with the default dialect and a
//! file opened with `newline=""`: `"` quotes, doubled quotes inside quotes,
//! newlines kept inside quotes, no whitespace stripping, `\r`, `\n` and `\r\n`
//! all ending a row, and a blank line being a row with no fields. The `csv` crate
//! does the splitting; it skips blank lines, so they are recovered from the bytes
//! it passed over. One difference: Python's limit of 131 072 characters per field
//! is not enforced.
//!
//! Then, as DictDB: the header (or `col_0 … col_{k-1}`) names the columns, rows
//! are padded with `""` or truncated to the column count, a repeated column name
//! keeps its first position and its last value, and values are converted by the
//! schema, by inference or not at all (see [`ImportOptions`]).
//!
//! # Writing
//!
//! Output equals Python's `csv.DictWriter` with the default dialect: a header
//! row, minimal quoting (a field holding the delimiter, `"`, `\r` or `\n` is
//! quoted with quotes doubled; a row of one empty field is written `""`), `\r\n`
//! after every row, `None` and missing fields empty, every other value as
//! Python's `str()` of it.
//!
//! # Encoding
//!
//! Files are read and written as UTF-8 only. The `encoding` options accept the
//! names Python gives UTF-8 (`utf-8`, `utf8`, `UTF_8`, `u8`, `cp65001`, …) and
//! `utf-8-sig` (which writes a BOM on export); any other name fails with
//! [`CsvError::UnsupportedEncoding`] before a file is touched. A leading BOM is
//! stripped on import whatever the name; bytes that are not UTF-8 fail the import
//! with [`CsvError::InvalidUtf8`].

mod py;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use dictdb_engine::{Catalog, Error, FieldType, Name, Record, Schema, Table, Value};

use crate::atomic::write_atomic;
use py::IntParse;

/// The name errors give a [`read_csv`] input, which has no path.
const INPUT: &str = "<input>";
/// The name errors give a [`write_csv`] output, which has no path.
const OUTPUT: &str = "<output>";

/// How [`import_csv`] and [`read_csv`] read a file (DictDB's `import_csv`
/// keywords).
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    /// The primary-key field of the new table (default `"id"`). Rows without it,
    /// or with an empty cell there (`None`), get auto-assigned keys.
    pub primary_key: String,
    /// The field delimiter (default `,`): one ASCII character other than `"`,
    /// `\r` and `\n`.
    pub delimiter: u8,
    /// Whether the first row names the columns (default `true`). Without a
    /// header the columns are `col_0 … col_{k-1}` after the first row's width,
    /// and the first row is data.
    pub has_header: bool,
    /// The file's encoding (default `"utf-8"`); only UTF-8 names are accepted
    /// (see the module docs).
    pub encoding: String,
    /// The new table's schema (default none). A non-empty schema also converts
    /// the text of its fields: `""` becomes `None` except for `str` fields; `int`
    /// and `float` follow Python's `int()` / `float()` (surrounding whitespace,
    /// `_` between digits, signs, Unicode digits, `nan`, `inf`, `1e3`); `bool`
    /// takes `true/1/yes` and `false/0/no` in any case; `list` makes a list of
    /// the characters (Python's `list(text)`); other types cannot be built from
    /// text. A failed conversion keeps the text (which then fails validation);
    /// columns outside the schema stay text.
    pub schema: Option<Schema>,
    /// Without a non-empty schema: whether to infer column types (default
    /// `true`). Each column takes the widest of `int` < `float` < `str` over its
    /// non-empty cells (a cell is `int` if `int()` accepts it, else `float` if
    /// `float()` does), a column of empty cells counts as `int`, and cells are
    /// then converted as a schema would. `false` keeps every cell as text.
    pub infer_types: bool,
    /// Whether to insert the rows without checking them against the schema
    /// (default `false`).
    pub skip_validation: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            primary_key: "id".to_owned(),
            delimiter: b',',
            has_header: true,
            encoding: "utf-8".to_owned(),
            schema: None,
            infer_types: true,
            skip_validation: false,
        }
    }
}

/// How [`export_csv`] and [`write_csv`] write records (DictDB's `export_csv`
/// keywords; choosing the records, `where` included, is the caller's part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportOptions {
    /// The columns to write, in this order (other fields are left out, missing
    /// ones written empty). `None` or an empty list: the union of the records'
    /// fields in first-seen order.
    pub columns: Option<Vec<String>>,
    /// The field delimiter (default `,`): one ASCII character other than `"`,
    /// `\r` and `\n`.
    pub delimiter: u8,
    /// The output encoding (default `"utf-8"`): a UTF-8 name, or `utf-8-sig` to
    /// start the file with a BOM (see the module docs).
    pub encoding: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            columns: None,
            delimiter: b',',
            encoding: "utf-8".to_owned(),
        }
    }
}

/// Why a CSV import or export failed. Nothing was registered (import) and no
/// file was replaced (export).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// Reading or writing the file failed.
    #[error("{file}: {source}")]
    Io {
        /// The file's path (`<input>` / `<output>` for readers and writers).
        file: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not valid UTF-8 (Python's `UnicodeDecodeError`).
    #[error("{file}: line {line}: invalid UTF-8 at byte {byte} (CSV files are read as UTF-8)")]
    InvalidUtf8 {
        /// The file's path (`<input>` for readers).
        file: String,
        /// The line (1-based) holding the first invalid byte.
        line: u64,
        /// The offset of the first invalid byte in the file.
        byte: u64,
    },
    /// An encoding other than UTF-8 was asked for (Python's `LookupError` for
    /// names it does not know; dictdb-rs supports no others).
    #[error("unsupported encoding '{encoding}': CSV files are read and written as UTF-8 only")]
    UnsupportedEncoding {
        /// The name given.
        encoding: String,
    },
    /// The delimiter is not one ASCII character other than `"`, `\r` and `\n`.
    #[error(
        "invalid CSV delimiter '{}': it must be one ASCII character other than '\"', '\\r' and '\\n'",
        .delimiter.escape_ascii()
    )]
    InvalidDelimiter {
        /// The delimiter given.
        delimiter: u8,
    },
    /// A cell converts to an integer outside [-2**63, 2**63-1] (Python's
    /// `OverflowError`).
    #[error(
        "{file}: line {line}, row {row}, column '{column}': integer {value} does not fit in 64 bits"
    )]
    IntegerOverflow {
        /// The file's path (`<input>` for readers).
        file: String,
        /// The line (1-based) the row starts on.
        line: u64,
        /// The data row (1-based, the header not counted).
        row: usize,
        /// The column.
        column: String,
        /// The cell's text (cut after 60 characters).
        value: String,
    },
    /// The engine refused the table: its name is taken
    /// ([`Error::DuplicateTable`]), or a row has a duplicate or invalid key or
    /// fails the schema.
    #[error(transparent)]
    Engine(#[from] Error),
}

/// Reads the CSV file at `path` into a new table `name` of `catalog` and returns
/// the number of rows.
///
/// The table is built (`Table::new(name, primary_key, schema)`), filled with
/// every row in one bulk insert, and only then registered, so any failure
/// registers nothing. A name already in the catalog fails with
/// [`Error::DuplicateTable`] before the file is read (and again, should another
/// thread take the name meanwhile, instead of registering).
pub fn import_csv(
    catalog: &Catalog,
    path: &Path,
    name: &str,
    opts: &ImportOptions,
) -> Result<usize, CsvError> {
    let taken = || Error::DuplicateTable {
        table: name.to_owned(),
    };
    if catalog.table(name).is_ok() {
        return Err(taken().into());
    }
    check_encoding(&opts.encoding)?;
    check_delimiter(opts.delimiter)?;
    let file = path.display().to_string();
    let bytes = fs::read(path).map_err(|source| CsvError::Io {
        file: file.clone(),
        source,
    })?;
    let (_, records) = read_bytes(&bytes, &file, opts)?;
    let n_rows = records.len();
    let table = Arc::new(Table::new(
        name,
        opts.primary_key.as_str(),
        opts.schema.clone(),
    ));
    table.write().insert_many(records, !opts.skip_validation)?;
    if catalog.table(name).is_ok() {
        return Err(taken().into());
    }
    catalog.register(table);
    Ok(n_rows)
}

/// Reads CSV text into its column names (each once, in first-seen order) and its
/// rows as records, by the rules of [`import_csv`] (which also validates the
/// options the same way).
pub fn read_csv(
    mut reader: impl Read,
    opts: &ImportOptions,
) -> Result<(Vec<String>, Vec<Record>), CsvError> {
    check_encoding(&opts.encoding)?;
    check_delimiter(opts.delimiter)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| CsvError::Io {
            file: INPUT.to_owned(),
            source,
        })?;
    read_bytes(&bytes, INPUT, opts)
}

/// Writes `records` to the file at `path` as CSV and returns how many were
/// written. The file is replaced atomically (python-api.md §11.1); the options
/// are checked before anything is written.
///
/// With no records: a header-only file when `columns` are given, else an empty
/// file (DictDB writes none; Q36).
pub fn export_csv<I>(path: &Path, records: I, opts: &ExportOptions) -> Result<usize, CsvError>
where
    I: IntoIterator,
    I::Item: Borrow<Record>,
{
    let bom = check_encoding(&opts.encoding)? == Utf8::WithBom;
    check_delimiter(opts.delimiter)?;
    write_atomic(path, |w| write_records(w, records, opts, bom)).map_err(|source| CsvError::Io {
        file: path.display().to_string(),
        source,
    })
}

/// Writes `records` as CSV to `writer`, exactly as [`export_csv`] writes a file,
/// and returns how many were written.
pub fn write_csv<W, I>(mut writer: W, records: I, opts: &ExportOptions) -> Result<usize, CsvError>
where
    W: Write,
    I: IntoIterator,
    I::Item: Borrow<Record>,
{
    let bom = check_encoding(&opts.encoding)? == Utf8::WithBom;
    check_delimiter(opts.delimiter)?;
    write_records(&mut writer, records, opts, bom).map_err(|source| CsvError::Io {
        file: OUTPUT.to_owned(),
        source,
    })
}

/// The UTF-8 variant an encoding name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Utf8 {
    /// `utf-8` and its aliases.
    Plain,
    /// `utf-8-sig`: a BOM starts the text.
    WithBom,
}

/// Checks that `name` is one of Python's names for UTF-8, normalised as Python's
/// codec lookup does (case ignored, runs of other characters than letters,
/// digits and `.` read as one `_`, leading and trailing ones dropped).
fn check_encoding(name: &str) -> Result<Utf8, CsvError> {
    let mut norm = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars() {
        if c.is_alphanumeric() || c == '.' {
            if gap && !norm.is_empty() {
                norm.push('_');
            }
            if c.is_ascii() {
                norm.push(c.to_ascii_lowercase());
            }
            gap = false;
        } else {
            gap = true;
        }
    }
    match norm.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "utf8_ucs2" | "utf8_ucs4" | "cp65001" => Ok(Utf8::Plain),
        "utf_8_sig" => Ok(Utf8::WithBom),
        _ => Err(CsvError::UnsupportedEncoding {
            encoding: name.to_owned(),
        }),
    }
}

/// Checks that the delimiter is an ASCII character that can delimit fields.
fn check_delimiter(delimiter: u8) -> Result<(), CsvError> {
    if delimiter.is_ascii() && !matches!(delimiter, b'"' | b'\r' | b'\n') {
        Ok(())
    } else {
        Err(CsvError::InvalidDelimiter { delimiter })
    }
}

/// Decodes, splits and converts a whole file; `file` names it in errors.
fn read_bytes(
    bytes: &[u8],
    file: &str,
    opts: &ImportOptions,
) -> Result<(Vec<String>, Vec<Record>), CsvError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to();
            return Err(CsvError::InvalidUtf8 {
                file: file.to_owned(),
                line: LineCounter::new(bytes).line_at(at),
                byte: at as u64,
            });
        }
    };
    let rows = split_rows(text, opts.delimiter).map_err(|source| CsvError::Io {
        file: file.to_owned(),
        source,
    })?;
    build_records(rows, file, opts)
}

/// One row as Python's `csv.reader` yields it, with the line it starts on.
#[derive(Debug, PartialEq)]
struct RawRow {
    /// 1-based line of the row's first character.
    line: u64,
    /// The fields (none for a blank line).
    fields: Vec<String>,
}

/// Counts lines as Python's universal newlines do (`\r\n`, `\r` and `\n` each
/// end one), incrementally over increasing offsets.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// The 1-based line of the byte at `pos` (not before the previous `pos`).
    fn line_at(&mut self, pos: usize) -> u64 {
        debug_assert!(pos >= self.pos);
        for i in self.pos..pos.min(self.bytes.len()) {
            match self.bytes[i] {
                b'\r' => self.line += 1,
                b'\n' if i == 0 || self.bytes[i - 1] != b'\r' => self.line += 1,
                _ => {}
            }
        }
        self.pos = self.pos.max(pos);
        self.line
    }
}

/// Splits text into rows exactly as Python's `csv.reader` (default dialect but
/// for the delimiter, `newline=""`) does, after one leading BOM.
///
/// The `csv` crate's core parser makes the same decisions as CPython's for every
/// byte except one: it skips blank lines where Python yields an empty row. A
/// record starts at the first byte that is not `\r` or `\n` after the bytes the
/// previous one consumed, so the line ends in between are the blank lines, one
/// per `\r\n`, `\r` or `\n`, except that a `\n` right after a record that ended
/// with `\r` completes that record's terminator.
///
/// The parser also strips a BOM at the very start of its input (always, and only
/// there), which is exactly the one BOM to strip; the text is given to it whole.
fn split_rows(text: &str, delimiter: u8) -> io::Result<Vec<RawRow>> {
    let bytes = text.as_bytes();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .quote(b'"')
        .quoting(true)
        .double_quote(true)
        .escape(None)
        .comment(None)
        .trim(csv::Trim::None)
        .terminator(csv::Terminator::CRLF)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter::new(bytes);
    let mut rows = Vec::new();
    // Bytes consumed by the records read so far (and the BOM).
    let mut consumed = if text.starts_with('\u{feff}') { 3 } else { 0 };
    loop {
        let more = reader.read_byte_record(&mut record)?;
        let start = if more {
            consumed
                + bytes[consumed..]
                    .iter()
                    .take_while(|&&b| b == b'\r' || b == b'\n')
                    .count()
        } else {
            bytes.len()
        };
        let mut pos = consumed;
        if pos > 0 && pos < start && bytes[pos - 1] == b'\r' && bytes[pos] == b'\n' {
            pos += 1;
        }
        while pos < start {
            rows.push(RawRow {
                line: lines.line_at(pos),
                fields: Vec::new(),
            });
            pos += if bytes[pos] == b'\r' && bytes.get(pos + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
        }
        if !more {
            return Ok(rows);
        }
        rows.push(RawRow {
            line: lines.line_at(start),
            // The text is UTF-8 and every byte the parser splits on is ASCII, so
            // each field is UTF-8 too.
            fields: record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
        });
        consumed = usize::try_from(reader.position().byte()).unwrap_or(bytes.len());
    }
}

/// How the text of one column becomes values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conversion {
    /// Kept as text, `""` included (`str` fields, no conversion).
    Text,
    /// `int(text)`.
    Int,
    /// `float(text)`.
    Float,
    /// `true/1/yes`, `false/0/no`.
    Bool,
    /// `list(text)`: the characters.
    List,
    /// A type that cannot be built from text (`bytes`, `dict`, dates, …): only
    /// `""` → `None`.
    Unbuildable,
}

impl Conversion {
    fn for_type(ty: FieldType) -> Conversion {
        match ty {
            FieldType::Int => Conversion::Int,
            FieldType::Float => Conversion::Float,
            FieldType::Str => Conversion::Text,
            FieldType::Bool => Conversion::Bool,
            FieldType::List => Conversion::List,
            _ => Conversion::Unbuildable,
        }
    }
}

/// The type inference has settled on so far (`str` ends it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inferred {
    Int,
    Float,
}

/// Infers a column's type over its non-empty cells.
fn infer<'a>(cells: impl Iterator<Item = &'a str>) -> Conversion {
    let mut ty = Inferred::Int;
    for text in cells.filter(|t| !t.is_empty()) {
        ty = match ty {
            Inferred::Int if py::parse_int(text) != IntParse::Invalid => Inferred::Int,
            // Whatever `int()` accepts, `float()` accepts too.
            Inferred::Int | Inferred::Float if py::parse_float(text).is_some() => Inferred::Float,
            _ => return Conversion::Text,
        };
    }
    match ty {
        Inferred::Int => Conversion::Int,
        Inferred::Float => Conversion::Float,
    }
}

/// Converts one cell; `Err(text)` when it is an integer beyond 64 bits.
fn convert(conversion: Conversion, text: String) -> Result<Value, String> {
    if conversion == Conversion::Text {
        return Ok(Value::str(text));
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match conversion {
        Conversion::Text | Conversion::Unbuildable => Value::str(text),
        Conversion::Int => match py::parse_int(&text) {
            IntParse::Int(i) => Value::Int(i),
            IntParse::Overflow => return Err(text),
            IntParse::Invalid => Value::str(text),
        },
        Conversion::Float => py::parse_float(&text).map_or_else(|| Value::str(text), Value::Float),
        Conversion::Bool => {
            let is = |words: [&str; 3]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
            if is(["true", "1", "yes"]) {
                Value::Bool(true)
            } else if is(["false", "0", "no"]) {
                Value::Bool(false)
            } else {
                Value::str(text)
            }
        }
        Conversion::List => Value::list(text.chars().map(|c| Value::str(c.to_string()))),
    })
}

/// Names the columns, fits and converts the rows.
fn build_records(
    rows: Vec<RawRow>,
    file: &str,
    opts: &ImportOptions,
) -> Result<(Vec<String>, Vec<Record>), CsvError> {
    let mut rows = rows.into_iter().peekable();
    let header: Vec<String> = if opts.has_header {
        match rows.next() {
            Some(row) => row.fields,
            None => return Ok((Vec::new(), Vec::new())),
        }
    } else {
        match rows.peek() {
            Some(row) => (0..row.fields.len()).map(|i| format!("col_{i}")).collect(),
            None => return Ok((Vec::new(), Vec::new())),
        }
    };
    // A dict built from (name, value) pairs: each name at its first position,
    // with the value of its last.
    let mut names: Vec<String> = Vec::new();
    let mut source: Vec<usize> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        match seen.get(name.as_str()) {
            Some(&u) => source[u] = i,
            None => {
                seen.insert(name, names.len());
                names.push(name.clone());
                source.push(i);
            }
        }
    }
    // Each row fitted to the header: missing cells are "", extra ones dropped.
    let (lines, cells): (Vec<u64>, Vec<Vec<String>>) = rows
        .map(|row| {
            let mut fields = row.fields;
            let cells = source
                .iter()
                .map(|&i| fields.get_mut(i).map(std::mem::take).unwrap_or_default())
                .collect();
            (row.line, cells)
        })
        .unzip();
    let schema = opts.schema.as_ref().filter(|s| !s.fields().is_empty());
    let conversions: Vec<Conversion> = (0..names.len())
        .map(|u| match schema {
            Some(schema) => schema
                .get(&names[u])
                .map_or(Conversion::Text, |f| Conversion::for_type(f.ty)),
            None if opts.infer_types => infer(cells.iter().map(|row| row[u].as_str())),
            None => Conversion::Text,
        })
        .collect();
    let field_names: Vec<Name> = names.iter().map(|n| Name::from(n.as_str())).collect();
    let mut records = Vec::with_capacity(cells.len());
    for (r, row) in cells.into_iter().enumerate() {
        let mut record = Record::with_capacity(row.len());
        for (u, text) in row.into_iter().enumerate() {
            let value =
                convert(conversions[u], text).map_err(|text| CsvError::IntegerOverflow {
                    file: file.to_owned(),
                    line: lines[r],
                    row: r + 1,
                    column: names[u].clone(),
                    value: shorten(&text),
                })?;
            record.push_unique(field_names[u].clone(), value);
        }
        records.push(record);
    }
    Ok((names, records))
}

/// A cell's text for an error message: at most 60 characters, then `…`.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Writes the header and rows; the options are already checked.
fn write_records<W, I>(w: &mut W, records: I, opts: &ExportOptions, bom: bool) -> io::Result<usize>
where
    W: Write,
    I: IntoIterator,
    I::Item: Borrow<Record>,
{
    match opts.columns.as_deref().filter(|c| !c.is_empty()) {
        Some(columns) => write_rows(w, columns, records.into_iter(), opts.delimiter, bom),
        None => {
            let records: Vec<I::Item> = records.into_iter().collect();
            if records.is_empty() {
                return Ok(0);
            }
            let mut seen = HashSet::new();
            let columns: Vec<String> = records
                .iter()
                .flat_map(|r| r.borrow().names())
                .filter(|n| seen.insert(&***n))
                .map(|n| n.to_string())
                .collect();
            write_rows(w, &columns, records.into_iter(), opts.delimiter, bom)
        }
    }
}

/// Writes the header `columns` and one row per record.
fn write_rows<W, R>(
    w: &mut W,
    columns: &[String],
    records: impl Iterator<Item = R>,
    delimiter: u8,
    bom: bool,
) -> io::Result<usize>
where
    W: Write,
    R: Borrow<Record>,
{
    if bom {
        w.write_all("\u{feff}".as_bytes())?;
    }
    if columns.is_empty() {
        // Rows of no fields: Python's writer emits the bare terminator.
        w.write_all(b"\r\n")?;
        let mut n_rows = 0;
        for _ in records {
            w.write_all(b"\r\n")?;
            n_rows += 1;
        }
        return Ok(n_rows);
    }
    let mut out = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote(b'"')
        .double_quote(true)
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(&mut *w);
    out.write_record(columns)?;
    let mut fields = vec![String::new(); columns.len()];
    let mut n_rows = 0;
    for record in records {
        let record = record.borrow();
        // Records usually hold the columns in order: take those as they come,
        // look the others up.
        let mut in_order = record.iter();
        for (field, column) in fields.iter_mut().zip(columns) {
            field.clear();
            let value = match in_order.next() {
                Some((name, value)) if **name == **column => Some(value),
                _ => record.get(column),
            };
            match value {
                None | Some(Value::Null) => {}
                Some(value) => py::write_str(value, field),
            }
        }
        out.write_record(&fields)?;
        n_rows += 1;
    }
    out.flush()?;
    Ok(n_rows)
}
