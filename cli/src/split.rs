//! Cutting shell input into SQL statements and dot-commands.
//!
//! Input arrives line by line (from the prompt, a script or `-c`). A statement ends
//! at a `;` outside quotes and comments, so it may span lines and one line may hold
//! several statements. A dot-command is a line that starts with `.` while no
//! statement is pending; inside a statement, a line starting with `.` is SQL.
//!
//! The splitter knows just enough SQL lexing to find the `;`s that end
//! statements: `'text'` (with `''` inside), `"identifiers"`, `` `identifiers` ``,
//! `-- line comments` and `/* block comments */`. Everything else is the parser's
//! business.

/// One piece of input ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A SQL statement.
    Statement(Statement),
    /// A dot-command line, trimmed (`.mode csv`).
    DotCommand {
        /// The line's text.
        text: String,
        /// Its line number in the input (from 1).
        line: usize,
    },
}

/// A statement and where its text starts in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The text through its `;` (if any), from the start of its first line (lines
    /// holding only blanks or comments before it are left out) or from just after
    /// the `;` that ended the previous statement on that line.
    pub text: String,
    /// Line of the text's first character (from 1).
    pub line: usize,
    /// Column of the text's first character (from 1, in characters).
    pub column: usize,
    /// The text before it on its first line (what ended the previous statement
    /// there), `column - 1` characters.
    pub prefix: String,
}

impl Statement {
    /// The text preceded by line breaks and spaces so that it stands at its
    /// line and column of the input: positions in parser errors are then those of
    /// the script rather than of the statement.
    pub fn text_in_place(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + self.line + self.column);
        s.extend(std::iter::repeat_n('\n', self.line - 1));
        s.extend(std::iter::repeat_n(' ', self.column - 1));
        s.push_str(&self.text);
        s
    }
}

/// Where the scanner is inside the pending text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lex {
    Code,
    SingleQuote,
    DoubleQuote,
    Backtick,
    LineComment,
    BlockComment,
}

/// Collects input lines and hands out complete statements and dot-commands.
///
/// ```
/// use dictdb_cli::split::{Item, Splitter};
///
/// let mut s = Splitter::new();
/// assert!(s.push_line("SELECT 'a;b'").is_empty());
/// assert!(s.is_pending());
/// let items = s.push_line("FROM t; .tables");
/// assert_eq!(items.len(), 1);
/// let Item::Statement(st) = &items[0] else { panic!() };
/// assert_eq!(st.text, "SELECT 'a;b'\nFROM t;");
/// // `.tables` followed a statement on its line: it is SQL, and pending.
/// assert!(s.is_pending());
/// ```
#[derive(Debug)]
pub struct Splitter {
    /// Text not yet handed out.
    pending: String,
    /// Line and column (1-based, characters) of `pending`'s first character.
    start_line: usize,
    start_column: usize,
    /// The text of that line before `pending`.
    start_prefix: String,
    /// Lines pushed so far.
    lines: usize,
    /// Scanner state at the end of `pending`.
    lex: Lex,
    /// True once `pending` holds something other than blanks and comments.
    significant: bool,
}

impl Default for Splitter {
    fn default() -> Self {
        Splitter::new()
    }
}

impl Splitter {
    /// A splitter at the start of input.
    pub fn new() -> Splitter {
        Splitter {
            pending: String::new(),
            start_line: 1,
            start_column: 1,
            start_prefix: String::new(),
            lines: 0,
            lex: Lex::Code,
            significant: false,
        }
    }

    /// True while a statement (or a quote or comment) is open: the prompt shows
    /// the continuation prompt.
    pub fn is_pending(&self) -> bool {
        self.significant || self.lex != Lex::Code
    }

    /// Forgets the pending text (Ctrl-C at the prompt).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.lex = Lex::Code;
        self.significant = false;
        self.start_line = self.lines + 1;
        self.start_column = 1;
        self.start_prefix.clear();
    }

    /// Adds one line of input (without its line break) and returns what it
    /// completed, in order.
    pub fn push_line(&mut self, line: &str) -> Vec<Item> {
        self.lines += 1;
        if !self.is_pending() && line.trim_start().starts_with('.') {
            self.clear();
            return vec![Item::DotCommand {
                text: line.trim().to_string(),
                line: self.lines,
            }];
        }
        let scan_from = self.pending.len();
        self.pending.push_str(line);
        self.pending.push('\n');
        let mut items = Vec::new();
        // Byte offset in `pending` where the next statement's text starts.
        let mut stmt_start = 0;
        let bytes = self.pending.as_bytes();
        let mut i = scan_from;
        while i < bytes.len() {
            let c = bytes[i];
            let next = bytes.get(i + 1).copied();
            match self.lex {
                Lex::Code => match c {
                    b'\'' => {
                        self.lex = Lex::SingleQuote;
                        self.significant = true;
                    }
                    b'"' => {
                        self.lex = Lex::DoubleQuote;
                        self.significant = true;
                    }
                    b'`' => {
                        self.lex = Lex::Backtick;
                        self.significant = true;
                    }
                    b'-' if next == Some(b'-') => {
                        self.lex = Lex::LineComment;
                        i += 1;
                    }
                    b'/' if next == Some(b'*') => {
                        self.lex = Lex::BlockComment;
                        i += 1;
                    }
                    b';' => {
                        if self.significant {
                            items.push(self.statement(stmt_start, i + 1));
                        }
                        stmt_start = i + 1;
                        self.significant = false;
                    }
                    c if c.is_ascii_whitespace() => {}
                    _ => self.significant = true,
                },
                Lex::SingleQuote if c == b'\'' => self.lex = Lex::Code,
                Lex::DoubleQuote if c == b'"' => self.lex = Lex::Code,
                Lex::Backtick if c == b'`' => self.lex = Lex::Code,
                Lex::LineComment if c == b'\n' => self.lex = Lex::Code,
                Lex::BlockComment if c == b'*' && next == Some(b'/') => {
                    self.lex = Lex::Code;
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
        if stmt_start > 0 {
            self.consume(stmt_start);
        }
        if !self.is_pending() {
            // Only blanks and comments are left: the next statement starts on the
            // next line.
            self.clear();
        }
        items
    }

    /// What is left at the end of input: the last statement when it lacks its `;`.
    pub fn finish(&mut self) -> Option<Item> {
        let item = self
            .significant
            .then(|| self.statement(0, self.pending.len()));
        self.clear();
        item
    }

    /// The statement `pending[from..to]` (`from` is where the pending text starts
    /// or just after a `;`).
    fn statement(&self, from: usize, to: usize) -> Item {
        let before = &self.pending[..from];
        let (line, column) = advance(self.start_line, self.start_column, before);
        let prefix = match before.rfind('\n') {
            Some(i) => before[i + 1..].to_string(),
            None => format!("{}{before}", self.start_prefix),
        };
        let text = self.pending[from..to].trim_end().to_string();
        Item::Statement(Statement {
            text,
            line,
            column,
            prefix,
        })
    }

    /// Drops `pending[..n]`, keeping track of where the rest starts.
    fn consume(&mut self, n: usize) {
        let consumed = &self.pending[..n];
        let (line, column) = advance(self.start_line, self.start_column, consumed);
        match consumed.rfind('\n') {
            Some(i) => self.start_prefix = consumed[i + 1..].to_string(),
            None => self.start_prefix.push_str(consumed),
        }
        self.start_line = line;
        self.start_column = column;
        self.pending.drain(..n);
    }
}

/// The position just after `text` when it starts at `(line, column)`.
fn advance(mut line: usize, mut column: usize, text: &str) -> (usize, usize) {
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// Splits a whole text into items (the last statement may lack its `;`).
pub fn split(text: &str) -> Vec<Item> {
    let mut s = Splitter::new();
    let mut items: Vec<Item> = text.lines().flat_map(|l| s.push_line(l)).collect();
    items.extend(s.finish());
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        split(input)
            .into_iter()
            .map(|i| match i {
                Item::Statement(s) => s.text,
                Item::DotCommand { text, .. } => format!("DOT {text}"),
            })
            .collect()
    }

    #[test]
    fn statements_end_at_semicolons() {
        assert_eq!(texts("SELECT 1; SELECT 2;"), ["SELECT 1;", " SELECT 2;"]);
        assert_eq!(texts("SELECT 1"), ["SELECT 1"]);
        assert_eq!(texts("SELECT\n1\n;\n"), ["SELECT\n1\n;"]);
        assert!(texts(";;  ;\n\n").is_empty());
    }

    #[test]
    fn semicolons_inside_quotes_and_comments_do_not_count() {
        assert_eq!(
            texts("INSERT INTO t VALUES ('a;b', 'it''s; ok');"),
            ["INSERT INTO t VALUES ('a;b', 'it''s; ok');"]
        );
        assert_eq!(texts("SELECT \"a;b\" FROM t;"), ["SELECT \"a;b\" FROM t;"]);
        assert_eq!(texts("SELECT `a;b` FROM t;"), ["SELECT `a;b` FROM t;"]);
        assert_eq!(texts("SELECT 1 -- no; end\n;"), ["SELECT 1 -- no; end\n;"]);
        assert_eq!(texts("SELECT /* ; */ 1;"), ["SELECT /* ; */ 1;"]);
        assert_eq!(
            texts("SELECT 'multi\nline;'\n;"),
            ["SELECT 'multi\nline;'\n;"]
        );
        assert_eq!(texts("SELECT 2 - -1;"), ["SELECT 2 - -1;"]);
    }

    #[test]
    fn comments_alone_are_not_statements() {
        assert!(texts("-- just a comment\n/* and\nanother */\n").is_empty());
        // Lines holding only comments before a statement are not part of it.
        assert_eq!(texts("-- lead\nSELECT 1;"), ["SELECT 1;"]);
        assert_eq!(texts("/* a */ SELECT 1;"), ["/* a */ SELECT 1;"]);
    }

    #[test]
    fn dot_commands_only_at_the_start_of_input() {
        assert_eq!(texts(".tables\nSELECT 1;"), ["DOT .tables", "SELECT 1;"]);
        assert_eq!(texts("  .mode csv  "), ["DOT .mode csv"]);
        // Inside a statement a leading dot is SQL.
        assert_eq!(texts("SELECT\n.5;"), ["SELECT\n.5;"]);
        // After a complete statement (even with a trailing comment) it is a command.
        assert_eq!(
            texts("SELECT 1; -- done\n.tables"),
            ["SELECT 1;", "DOT .tables"]
        );
        // Inside an open block comment it is not.
        assert!(texts("/*\n.tables\n*/").is_empty());
    }

    #[test]
    fn pending_state_drives_the_continuation_prompt() {
        let mut s = Splitter::new();
        assert!(!s.is_pending());
        assert!(s.push_line("SELECT 'a").is_empty());
        assert!(s.is_pending());
        assert!(s.push_line("b';").len() == 1);
        assert!(!s.is_pending());
        assert!(s.push_line("   ").is_empty());
        assert!(!s.is_pending());
        s.push_line("SELECT");
        s.clear();
        assert!(!s.is_pending());
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn statements_know_where_they_start() {
        let items = split("SELECT 1;\n\n  SELECT\n  2; SELECT 3;\nSELECT 4");
        let pos: Vec<(usize, usize)> = items
            .iter()
            .map(|i| match i {
                Item::Statement(s) => (s.line, s.column),
                Item::DotCommand { line, .. } => (*line, 0),
            })
            .collect();
        // Blank lines between statements are dropped; text after a `;` on the
        // same line starts right after it.
        assert_eq!(pos, [(1, 1), (3, 1), (4, 5), (5, 1)]);
        let Item::Statement(second) = &items[1] else {
            panic!("not a statement")
        };
        assert_eq!(second.text_in_place(), "\n\n  SELECT\n  2;");
        let Item::Statement(third) = &items[2] else {
            panic!("not a statement")
        };
        assert_eq!(third.text, " SELECT 3;");
        assert_eq!(third.prefix, "  2;");
        assert_eq!(third.text_in_place(), "\n\n\n     SELECT 3;");
    }

    #[test]
    fn dot_command_lines_are_counted() {
        let items = split("SELECT 1;\n.tables\n\nSELECT\n 2;");
        assert_eq!(
            items[1],
            Item::DotCommand {
                text: ".tables".into(),
                line: 2
            }
        );
        let Item::Statement(s) = &items[2] else {
            panic!("not a statement")
        };
        assert_eq!((s.line, s.column), (4, 1));
        assert_eq!(s.text, "SELECT\n 2;");
    }
}
