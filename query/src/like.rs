//! SQL `LIKE` / `ILIKE` pattern matching.
//!
//! `%` matches any run of characters (including none and including newlines),
//! `_` matches exactly one Unicode scalar value, an optional escape character
//! makes the following character literal, and every other character is
//! literal. The whole value must match. In case-insensitive mode both the
//! value and the pattern's literal segments go through `str::to_lowercase`
//! before matching.
//!
//! Patterns are compiled once into a specialised matcher (equality,
//! `starts_with`, `ends_with`, substring search, a `%`-only segment chain, or
//! a general backtracking wildcard matcher), so [`LikePattern::matches`] is
//! cheap and does not allocate for case-sensitive patterns.

use std::fmt;

use memchr::memmem::Finder;

/// A pattern token after escape resolution.
enum Tok {
    Lit(String),
    One,
    Any,
}

/// A token of the general matcher, one per pattern character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PTok {
    Char(char),
    One,
    Any,
}

/// The specialised shape a pattern was compiled into.
#[derive(Clone, Debug)]
enum Matcher {
    /// `%` alone: always true.
    All,
    /// No wildcard: string equality.
    Exact(String),
    /// `lit%`.
    Prefix(String),
    /// `%lit`.
    Suffix(String),
    /// `%lit%`.
    Contains(Box<Finder<'static>>),
    /// Only `%` wildcards: `first%mid1%...%midN%last` (`first`/`last` may be empty).
    Percent {
        first: String,
        middle: Vec<Finder<'static>>,
        last: String,
    },
    /// Patterns containing `_`.
    General(Vec<PTok>),
}

/// A compiled LIKE pattern.
#[derive(Clone, Debug)]
pub struct LikePattern {
    source: String,
    escape: Option<char>,
    case_insensitive: bool,
    prefix: Option<String>,
    exact: bool,
    matcher: Matcher,
}

impl PartialEq for LikePattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
            && self.escape == other.escape
            && self.case_insensitive == other.case_insensitive
    }
}

impl Eq for LikePattern {}

impl fmt::Display for LikePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Splits a pattern into literal runs and wildcards, resolving escapes and
/// collapsing runs of `%`.
fn parse(pattern: &str, escape: Option<char>) -> Vec<Tok> {
    fn flush(toks: &mut Vec<Tok>, lit: &mut String) {
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(lit)));
        }
    }
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            // A lone escape at the very end stands for itself.
            lit.push(chars.next().unwrap_or(c));
            continue;
        }
        if c == '%' || c == '_' {
            flush(&mut toks, &mut lit);
            if c == '_' {
                toks.push(Tok::One);
            } else if !matches!(toks.last(), Some(Tok::Any)) {
                toks.push(Tok::Any);
            }
        } else {
            lit.push(c);
        }
    }
    flush(&mut toks, &mut lit);
    toks
}

fn finder(s: &str) -> Finder<'static> {
    Finder::new(s.as_bytes()).into_owned()
}

/// Builds the specialised matcher for an escape-resolved token list.
fn compile(toks: Vec<Tok>) -> Matcher {
    if toks.iter().any(|t| matches!(t, Tok::One)) {
        let mut out = Vec::new();
        for t in toks {
            match t {
                Tok::Lit(s) => out.extend(s.chars().map(PTok::Char)),
                Tok::One => out.push(PTok::One),
                Tok::Any => out.push(PTok::Any),
            }
        }
        return Matcher::General(out);
    }
    match toks.as_slice() {
        [] => return Matcher::Exact(String::new()),
        [Tok::Any] => return Matcher::All,
        [Tok::Lit(s)] => return Matcher::Exact(s.clone()),
        [Tok::Lit(s), Tok::Any] => return Matcher::Prefix(s.clone()),
        [Tok::Any, Tok::Lit(s)] => return Matcher::Suffix(s.clone()),
        [Tok::Any, Tok::Lit(s), Tok::Any] => return Matcher::Contains(Box::new(finder(s))),
        _ => {}
    }
    // Two or more tokens here, so the first and last are distinct.
    let lit = |t: Option<&Tok>| match t {
        Some(Tok::Lit(s)) => s.clone(),
        _ => String::new(),
    };
    let middle = toks[1..toks.len() - 1].iter().filter_map(|t| match t {
        Tok::Lit(s) => Some(finder(s)),
        _ => None,
    });
    Matcher::Percent {
        first: lit(toks.first()),
        middle: middle.collect(),
        last: lit(toks.last()),
    }
}

/// Byte equality, ASCII-case-folding `a` when `fold` (`b` is already lowercase).
fn eq(a: &[u8], b: &[u8], fold: bool) -> bool {
    if fold {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn starts(v: &[u8], p: &[u8], fold: bool) -> bool {
    v.len() >= p.len() && eq(&v[..p.len()], p, fold)
}

fn ends(v: &[u8], p: &[u8], fold: bool) -> bool {
    v.len() >= p.len() && eq(&v[v.len() - p.len()..], p, fold)
}

/// Finds the lowercase `needle` in `hay`, comparing `hay` with ASCII case
/// folding, without allocating.
fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some(&b) = needle.first() else {
        return Some(0);
    };
    if needle.len() > hay.len() {
        return None;
    }
    let window = &hay[..=hay.len() - needle.len()];
    let mut i = 0;
    while i < window.len() {
        let rest = &window[i..];
        let off = if b.is_ascii_lowercase() {
            memchr::memchr2(b, b.to_ascii_uppercase(), rest)
        } else {
            memchr::memchr(b, rest)
        };
        let j = i + off?;
        if eq(&hay[j..j + needle.len()], needle, true) {
            return Some(j);
        }
        i = j + 1;
    }
    None
}

fn find(hay: &[u8], f: &Finder<'_>, fold: bool) -> Option<usize> {
    if fold {
        find_ascii_ci(hay, f.needle())
    } else {
        f.find(hay)
    }
}

/// Two-pointer wildcard matching over chars, backtracking to the last `%`.
/// With `fold`, `value` must be ASCII and is compared ASCII-lowercased.
fn general(toks: &[PTok], value: &str, fold: bool) -> bool {
    let next = |i: usize| value[i..].chars().next();
    let (mut p, mut i) = (0usize, 0usize);
    // (token index after the last `%`, value index it is currently matched up to)
    let mut star: Option<(usize, usize)> = None;
    loop {
        let step = match toks.get(p) {
            Some(PTok::Any) => {
                star = Some((p + 1, i));
                p += 1;
                continue;
            }
            Some(PTok::One) => next(i),
            Some(&PTok::Char(pc)) => {
                next(i).filter(|&c| pc == c || (fold && pc == c.to_ascii_lowercase()))
            }
            None if i == value.len() => return true,
            None => None,
        };
        if let Some(c) = step {
            i += c.len_utf8();
            p += 1;
            continue;
        }
        // Mismatch: let the last `%` absorb one more character and retry.
        let Some((sp, si)) = star else {
            return false;
        };
        let Some(c) = next(si) else {
            return false;
        };
        let ni = si + c.len_utf8();
        star = Some((sp, ni));
        p = sp;
        i = ni;
    }
}

impl Matcher {
    /// Runs the matcher. With `fold`, `value` must be ASCII and is compared
    /// as if ASCII-lowercased (the pattern literals are already lowercase).
    fn run(&self, value: &str, fold: bool) -> bool {
        let v = value.as_bytes();
        match self {
            Matcher::All => true,
            Matcher::Exact(s) => eq(v, s.as_bytes(), fold),
            Matcher::Prefix(s) => starts(v, s.as_bytes(), fold),
            Matcher::Suffix(s) => ends(v, s.as_bytes(), fold),
            Matcher::Contains(f) => find(v, f, fold).is_some(),
            Matcher::Percent {
                first,
                middle,
                last,
            } => {
                let (first, last) = (first.as_bytes(), last.as_bytes());
                if v.len() < first.len() + last.len()
                    || !starts(v, first, fold)
                    || !ends(v, last, fold)
                {
                    return false;
                }
                let (mut pos, end) = (first.len(), v.len() - last.len());
                for f in middle {
                    match find(&v[pos..end], f, fold) {
                        Some(at) => pos += at + f.needle().len(),
                        None => return false,
                    }
                }
                true
            }
            Matcher::General(toks) => general(toks, value, fold),
        }
    }
}

impl LikePattern {
    /// Compiles `pattern`. `escape` is the optional escape character; with
    /// `case_insensitive` the pattern behaves as `ILIKE`.
    pub fn new(pattern: &str, escape: Option<char>, case_insensitive: bool) -> LikePattern {
        let mut toks = parse(pattern, escape);
        let exact = toks.iter().all(|t| matches!(t, Tok::Lit(_)));
        let prefix = match toks.first() {
            Some(Tok::Lit(s)) if !case_insensitive => Some(s.clone()),
            _ => None,
        };
        if case_insensitive {
            for t in &mut toks {
                if let Tok::Lit(s) = t {
                    *s = s.to_lowercase();
                }
            }
        }
        LikePattern {
            source: pattern.to_owned(),
            escape,
            case_insensitive,
            prefix,
            exact,
            matcher: compile(toks),
        }
    }

    /// Returns true when the whole of `value` matches the pattern.
    pub fn matches(&self, value: &str) -> bool {
        if !self.case_insensitive || matches!(self.matcher, Matcher::All) {
            self.matcher.run(value, false)
        } else if value.is_ascii() {
            self.matcher.run(value, true)
        } else {
            self.matcher.run(&value.to_lowercase(), false)
        }
    }

    /// For a case-sensitive `%literal%` pattern, a substring finder for the
    /// literal: a value matches exactly when the finder finds it. Lets a scan
    /// search many values' bytes in one pass.
    pub fn contains_finder(&self) -> Option<&Finder<'static>> {
        match &self.matcher {
            Matcher::Contains(f) if !self.case_insensitive => Some(f),
            _ => None,
        }
    }

    /// The source pattern text.
    pub fn pattern(&self) -> &str {
        &self.source
    }

    /// The escape character, if any.
    pub fn escape(&self) -> Option<char> {
        self.escape
    }

    /// True for `ILIKE` (case-insensitive) patterns.
    pub fn case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// For a case-sensitive pattern: the literal text before the first
    /// wildcard (`%` or `_`), with escapes resolved, when it is non-empty;
    /// `None` otherwise, and always `None` for case-insensitive patterns.
    /// Every matching value starts with this prefix, so a planner can turn
    /// `LIKE 'abc%'` into a range scan.
    pub fn literal_prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// True when the pattern has no wildcard at all (it is an equality test
    /// on the resolved literal, lowercased for case-insensitive patterns).
    pub fn is_exact(&self) -> bool {
        self.exact
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BS: Option<char> = Some('\\');

    /// Asserts every value in `yes` matches and every value in `no` does not.
    fn check(pat: &str, esc: Option<char>, ci: bool, yes: &[&str], no: &[&str]) {
        let p = LikePattern::new(pat, esc, ci);
        for (values, want) in [(yes, true), (no, false)] {
            for v in values {
                assert_eq!(p.matches(v), want, "{pat:?} esc {esc:?} ci {ci} on {v:?}");
            }
        }
    }

    fn cs(pat: &str, yes: &[&str], no: &[&str]) {
        check(pat, None, false, yes, no);
    }

    fn ci(pat: &str, yes: &[&str], no: &[&str]) {
        check(pat, None, true, yes, no);
    }

    #[test]
    fn whole_string_and_newlines() {
        cs("", &[""], &["a", " ", "\n"]);
        cs("%", &["", "a\nb", "%"], &[]);
        cs("%%%", &["", "xyz"], &[]);
        cs("abc", &["abc"], &["abc\n", "\nabc", "ab", "xabc", "ABC"]);
        cs("a%", &["a", "a\nb"], &["ba", ""]);
        cs("%b", &["b", "a\nb"], &["b\n", "ba"]);
        cs("%\n%", &["a\nb", "\n"], &["ab"]);
        cs("a%c", &["ac", "a\n\nc"], &["a", "ca", "acx"]);
        cs("a%b%c", &["a_b_c", "abbc", "abc"], &["acb", "ab"]);
        cs("%a%b%", &["xaxbx", "ab"], &["xxbxa", "a"]);
        cs("ab%ba", &["abba", "abxba"], &["aba"]);
        cs("%aa%aa", &["aaaa", "aabaa"], &["aaa"]);
    }

    #[test]
    fn underscore_is_one_char() {
        cs("_", &["é", "a", "\n", "🎉"], &["", "ab"]);
        cs("__", &["ab", "éé"], &["é", "a"]);
        cs("a_c", &["a\nc", "aéc", "abc"], &["ac", "abbc"]);
        cs("%_", &["x", "xyz"], &[""]);
        cs("_%", &["x", "x\ny"], &[""]);
        cs("%_%_%", &["éa", "abc"], &["é", ""]);
        cs("%a_", &["xxaé", "ab"], &["xxaéx", "a"]);
        cs("_%_b", &["a\nxb", "aab"], &["ab", "abbc"]);
        cs("🎉_🎉", &["🎉x🎉", "🎉é🎉"], &["🎉🎉", "🎉xx🎉"]);
    }

    #[test]
    fn escapes() {
        check("%\\%", BS, false, &["50%", "%"], &["50", "%5"]);
        check("file\\_1", BS, false, &["file_1"], &["fileX1", "file\\_1"]);
        check("a\\\\b", BS, false, &["a\\b"], &["a\\\\b", "ab"]);
        check("a\\\\%", BS, false, &["a\\xyz", "a\\"], &["axyz"]);
        check("ab\\", BS, false, &["ab\\"], &["ab"]);
        check("\\", BS, false, &["\\"], &["", "\\\\"]);
        check("\\a", BS, false, &["a"], &["\\a"]);
        check("\\%%", BS, false, &["%abc", "%"], &["abc"]);
        // An escape character that is a letter (or a wildcard).
        check("10x%", Some('x'), false, &["10%"], &["10abc", "10x%"]);
        check("axxb", Some('x'), false, &["axb"], &["axxb"]);
        check("x_%", Some('x'), false, &["_abc", "_"], &["aabc"]);
        check("ax", Some('x'), false, &["ax"], &["a"]);
        check("%%_", Some('%'), false, &["%x"], &["ax", "%"]);
        check("!__%", Some('!'), false, &["_ab", "_a"], &["_", "aab"]);
        // Without an escape character a backslash is an ordinary literal.
        cs("a\\_c", &["a\\xc", "a\\_c"], &["a_c"]);
        cs("a\\c", &["a\\c"], &["ac", "a\\\\c"]);
        cs("%\\", &["x\\"], &["x"]);
    }

    #[test]
    fn metacharacters_are_literal() {
        cs("a.c", &["a.c"], &["abc"]);
        cs("a.*", &["a.*"], &["abc", "a"]);
        cs("(a|b)*", &["(a|b)*"], &["a", ""]);
        cs("^$", &["^$"], &[""]);
        cs("[ab]+?", &["[ab]+?"], &["a"]);
        cs("%{2}%", &["x{2}y"], &["xx"]);
        cs("a\\d", &["a\\d"], &["a1"]);
    }

    #[test]
    fn case_insensitive() {
        ci("ÉCOLE", &["école", "ÉCOLE", "École"], &["ecole"]);
        ci("école", &["ÉCOLE"], &["ECOLE"]);
        cs("ÉCOLE", &["ÉCOLE"], &["école"]);
        ci("%COLE", &["ÉCOLE", "cole"], &["ÉCOL"]);
        ci("straße", &["STRAßE", "Straße"], &["STRASSE"]);
        ci("STRASSE", &["strasse"], &["straße"]);
        ci("%ẞ%", &["straße", "ẞ"], &["ss"]);
        ci("STRA_E", &["straße", "STRASE"], &["STRASSE"]);
        ci("abc", &["ABC", "aBc", "abc"], &["abd", "ABCD"]);
        ci("ABC", &["abc"], &["ab"]);
        ci("a%C", &["AbC", "ac"], &["AbCd"]);
        ci("A%", &["abc", "a"], &["ba"]);
        ci("%B", &["AB", "b"], &["BA"]);
        ci("%B%", &["aBc", "b"], &["aXc"]);
        ci("a%b%c", &["A-B-C", "abc"], &["A-C-B"]);
        ci("a_c", &["AXC", "aéc", "AÉC"], &["AC"]);
        ci("%é%", &["É", "xéx"], &["ABC", "E"]);
        check("%\\%", BS, true, &["ABC%"], &["ABC"]);
        check("A\\_", BS, true, &["a_", "A_"], &["aX"]);
        // 'İ' lowercases to "i\u{307}" (two chars).
        ci("İ%", &["İSTANBUL", "i\u{307}x"], &["ISTANBUL"]);
        ci("_stanbul", &["Istanbul"], &["İstanbul"]);
        ci("__stanbul", &["İstanbul"], &["Istanbul"]);
        // The Kelvin sign lowercases to ASCII 'k'.
        ci("\u{212A}%", &["KELVIN", "kelvin"], &["elvin"]);
        ci("%", &["ANYTHING É", ""], &[]);
    }

    #[test]
    fn literal_prefix_and_is_exact() {
        type Case<'a> = (&'a str, Option<char>, bool, Option<&'a str>, bool);
        let cases: &[Case] = &[
            ("abc%", None, false, Some("abc"), false),
            ("a\\%b%", BS, false, Some("a%b"), false),
            ("%x", None, false, None, false),
            ("abc", None, false, Some("abc"), true),
            ("ab_c", None, false, Some("ab"), false),
            ("_abc", None, false, None, false),
            ("", None, false, None, true),
            ("a\\_b", BS, false, Some("a_b"), true),
            ("ab\\", BS, false, Some("ab\\"), true),
            ("abc%", None, true, None, false),
            ("abc", None, true, None, true),
            ("%", None, false, None, false),
        ];
        for &(pat, esc, ci, prefix, exact) in cases {
            let p = LikePattern::new(pat, esc, ci);
            assert_eq!(p.literal_prefix(), prefix, "prefix of {pat:?}");
            assert_eq!(p.is_exact(), exact, "is_exact of {pat:?}");
        }
    }

    #[test]
    fn accessors_eq_display() {
        let p = LikePattern::new("a\\%%", BS, true);
        assert_eq!(p.pattern(), "a\\%%");
        assert_eq!(p.escape(), BS);
        assert!(p.case_insensitive());
        assert_eq!(p.to_string(), "a\\%%");
        assert_eq!(p, p.clone());
        assert_eq!(p, LikePattern::new("a\\%%", BS, true));
        assert_ne!(p, LikePattern::new("a\\%%", None, true));
        assert_ne!(p, LikePattern::new("a\\%%", BS, false));
        assert_ne!(p, LikePattern::new("a\\%", BS, true));
    }

    #[test]
    fn shapes_are_specialised() {
        let shape = |pat: &str| match LikePattern::new(pat, BS, false).matcher {
            Matcher::All => "all",
            Matcher::Exact(_) => "exact",
            Matcher::Prefix(_) => "prefix",
            Matcher::Suffix(_) => "suffix",
            Matcher::Contains(_) => "contains",
            Matcher::Percent { .. } => "percent",
            Matcher::General(_) => "general",
        };
        let cases = [
            ("all", &["%", "%%"][..]),
            ("exact", &["", "a\\%"]),
            ("prefix", &["ab%", "ab%%"]),
            ("suffix", &["%ab", "%%ab"]),
            ("contains", &["%ab%", "%%a\\%%"]),
            ("percent", &["a%b", "%a%b%", "a%b%"]),
            ("general", &["a_%", "_", "%_%"]),
        ];
        for (want, pats) in cases {
            for pat in pats {
                assert_eq!(shape(pat), want, "shape of {pat:?}");
            }
        }
    }

    #[test]
    fn million_rows_contains() {
        let rows: Vec<String> = (0..10_000).map(|i| format!("name{}", 10_000 + i)).collect();
        let pats = [
            LikePattern::new("%99%", None, false),
            LikePattern::new("%99%", None, true),
        ];
        for p in &pats {
            let mut hits = 0usize;
            for _ in 0..100 {
                hits += rows.iter().filter(|r| p.matches(r)).count();
            }
            let want = rows.iter().filter(|r| r.contains("99")).count() * 100;
            assert_eq!(hits, want);
        }
    }

    /// Reference: translate to an anchored regex.
    fn oracle(pattern: &str, escape: Option<char>, ci: bool, value: &str) -> bool {
        let mut re = String::from("(?s)^");
        let mut lit = String::new();
        let flush = |re: &mut String, lit: &mut String| {
            let s = if ci { lit.to_lowercase() } else { lit.clone() };
            re.push_str(&regex::escape(&s));
            lit.clear();
        };
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                lit.push(chars.next().unwrap_or(c));
            } else if c == '%' || c == '_' {
                flush(&mut re, &mut lit);
                re.push_str(if c == '%' { ".*" } else { "." });
            } else {
                lit.push(c);
            }
        }
        flush(&mut re, &mut lit);
        re.push('$');
        let value = if ci {
            value.to_lowercase()
        } else {
            value.to_owned()
        };
        regex::Regex::new(&re).unwrap().is_match(&value)
    }

    fn text(alphabet: &[char], max: usize) -> impl Strategy<Value = String> + use<> {
        prop::collection::vec(prop::sample::select(alphabet.to_vec()), 0..max)
            .prop_map(|v| v.into_iter().collect())
    }

    const PAT_MIXED: &[char] = &['a', 'b', '%', '_', '\\', 'é', '.', '\n', 'A', 'É', 'İ'];
    const VAL_MIXED: &[char] = &['a', 'b', 'é', '.', '\n', '%', '_', 'A', 'É', 'İ', '\\'];
    // ASCII-only alphabets exercise the allocation-free ILIKE path.
    const PAT_ASCII: &[char] = &['a', 'b', 'A', 'B', '%', '%', '_', '\\', '.'];
    const VAL_ASCII: &[char] = &['a', 'b', 'A', 'B', '.', '%', '_', '\\', '\n'];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn matches_regex_oracle(
            (pat, vals) in prop_oneof![Just((PAT_MIXED, VAL_MIXED)), Just((PAT_ASCII, VAL_ASCII))]
                .prop_flat_map(|(p, v)| (text(p, 10), prop::collection::vec(text(v, 12), 1..8))),
            esc in prop::option::of(Just('\\')),
            ci in any::<bool>(),
        ) {
            let p = LikePattern::new(&pat, esc, ci);
            for v in &vals {
                prop_assert_eq!(p.matches(v), oracle(&pat, esc, ci, v), "{:?} {:?}", pat, v);
            }
        }

        #[test]
        fn prefix_and_exact_are_sound(
            pat in text(PAT_ASCII, 8),
            v in text(VAL_ASCII, 10),
            esc in prop::option::of(Just('\\')),
        ) {
            let p = LikePattern::new(&pat, esc, false);
            if let Some(prefix) = p.literal_prefix() && p.matches(&v) {
                prop_assert!(v.starts_with(prefix));
            }
            if p.is_exact() {
                let lit = p.literal_prefix().unwrap_or("");
                prop_assert_eq!(p.matches(&v), v == lit);
                prop_assert!(p.matches(lit));
            }
        }
    }
}
