//! The shape of a config document, checked before a parser builds values from it:
//! how deeply it nests and whether a mapping holds a key twice.
//!
//! Why before: libyaml's scanner re-checks every open flow level at each token, so
//! `x: [[[[...]]]]` costs time quadratic in its depth (20,000 levels took seconds, a
//! 1 MiB document minutes), and serde_yaml_ng's recursion limit only applies after the
//! whole document has been scanned. A config is a flat mapping; nothing real nests
//! anywhere near [`MAX_NESTING`] levels, so deeper documents are refused at the first
//! level too many, after work bounded by the limit rather than the document.
//!
//! - JSON: [`scan_json`], a lexer over the text that tracks the open objects and arrays
//!   exactly (JSON has no context-dependent syntax), and the keys of each object.
//! - YAML: [`yaml_nesting_bound`], a cheap upper bound on the nesting that never
//!   under-counts; only when it exceeds the limit is the exact [`scan_yaml`] run (libyaml's
//!   own event stream, stopped at the first level too many). A config holding a key thus
//!   never goes through a second libyaml pass (whose buffers libmondoo cannot wipe)
//!   unless it looks deep. The bound's soundness is checked by a test over many
//!   documents and by the `config_parse` fuzz target.
//!
//! Duplicate keys: the top-level keys of a config match case-insensitively (`MRN:` is
//! `mrn:`), so two of them that differ only in case are as much a duplicate as two equal
//! keys; keys of nested mappings (labels, other tools' sections) are compared exactly.
//! Keys are compared by their text (YAML `1` and `"1"` are the same key here).

use std::collections::HashMap;
use std::fmt;

/// Deepest nesting of mappings and lists accepted (the top-level mapping is level 1).
pub const MAX_NESTING: usize = 64;

/// A place in the document: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What a scan found wrong with the document's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A mapping or list opened at this position is nested deeper than [`MAX_NESTING`].
    TooDeep(Position),
    /// A mapping holds the same key twice (`first` is the earlier spelling).
    DuplicateKey { first: (String, Position), second: (String, Position) },
}

/// The keys seen so far in one open mapping, by how they are compared.
#[derive(Default)]
struct KeysSeen {
    seen: HashMap<String, (String, Position)>,
}

impl KeysSeen {
    /// Record `key`; the earlier key it duplicates, if any. `fold_case` for top-level keys.
    fn insert(&mut self, key: String, at: Position, fold_case: bool) -> Result<(), Finding> {
        let compared = if fold_case { key.to_lowercase() } else { key.clone() };
        match self.seen.get(&compared) {
            Some(first) => Err(Finding::DuplicateKey { first: first.clone(), second: (key, at) }),
            None => {
                self.seen.insert(compared, (key, at));
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// JSON

enum JsonFrame {
    Array,
    Object { keys: KeysSeen, next_is_key: bool },
}

/// Scan JSON text for nesting deeper than [`MAX_NESTING`] and for duplicate keys.
///
/// `TooDeep` is reported at the first level too many, whatever follows (the document is
/// refused either way). `DuplicateKey` is exact for valid JSON; on text that is not JSON
/// the scan stops quietly where the lexer gives up, and a caller must only trust a
/// duplicate once a JSON parser has accepted the document.
pub fn scan_json(text: &str) -> Result<(), Finding> {
    let bytes = text.as_bytes();
    let mut stack: Vec<JsonFrame> = Vec::new();
    let (mut line, mut line_start_chars, mut chars) = (1usize, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let at = Position { line, column: chars - line_start_chars + 1 };
        match b {
            b'{' | b'[' => {
                if stack.len() >= MAX_NESTING {
                    return Err(Finding::TooDeep(at));
                }
                stack.push(if b == b'{' {
                    JsonFrame::Object { keys: KeysSeen::default(), next_is_key: true }
                } else {
                    JsonFrame::Array
                });
            }
            b'}' | b']' => {
                // a closer without an opener is not JSON: the parser reports it
                let Some(_) = stack.pop() else { return Ok(()) };
            }
            b',' => {
                if let Some(JsonFrame::Object { next_is_key, .. }) = stack.last_mut() {
                    *next_is_key = true;
                }
            }
            b':' => {
                if let Some(JsonFrame::Object { next_is_key, .. }) = stack.last_mut() {
                    *next_is_key = false;
                }
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= bytes.len() {
                    return Ok(()); // unterminated string: the parser reports it
                }
                let literal = &text[start..=i];
                chars += literal.chars().count();
                let depth = stack.len();
                if let Some(JsonFrame::Object { keys, next_is_key: next_is_key @ true }) = stack.last_mut() {
                    // keys are names, not secrets: a plain String is fine here
                    let Some(key) = super::json_text::unescape(&literal[1..literal.len() - 1]) else {
                        return Ok(()); // a bad escape: the parser reports it
                    };
                    keys.insert(String::clone(&key), at, depth == 1)?;
                    *next_is_key = false;
                }
                i += 1;
                continue;
            }
            b'\n' => {
                line += 1;
                line_start_chars = chars + 1;
            }
            _ => {}
        }
        // count characters, not bytes: skip UTF-8 continuation bytes
        if b & 0xC0 != 0x80 {
            chars += 1;
        }
        i += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// YAML: the cheap bound

/// An upper bound on how deeply a YAML document nests, never below the truth, in one
/// pass over the text and without a parser.
///
/// Flow collections: each opens with `[` or `{`, and a `[` may hold an implicit
/// single-pair mapping (`[a: [b: ...]]`), so they nest at most `2 × [ + {` deep.
///
/// Block collections: libyaml opens one only at a column deeper than the enclosing
/// one's, so the open ones sit at strictly increasing columns, plus at most one
/// "indentless" list (`key:\n- item`) at each of those columns. A block collection opens
/// either at a line's first token (its column is the line's indentation) or after an
/// indicator on the same line (`- - a: b`: `-`, `?` or `:` followed by a blank). Of the
/// lines with one indentation only the last can still have such inline collections
/// open (the next line at that indentation closes everything deeper). So with `D`
/// distinct indentations and at most `I` indicators on any line, block nesting is at
/// most `D × (2 + I)`; flow collections only nest inside block ones, so the bound is
/// the sum. Every character libyaml takes as a line break ends a line here too.
pub fn yaml_nesting_bound(text: &str) -> usize {
    let mut flow = 0usize;
    let mut indentations: Vec<u64> = Vec::new(); // a bitset of the indentations seen
    let mut distinct = 0usize;
    let mut most_indicators = 0usize;

    let is_break = |c: char| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
    let is_blank_or_end = |c: Option<char>| match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c),
    };

    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        // one line: its indentation, then its indicators and flow brackets
        let mut indentation = 0usize;
        while let Some(&c) = chars.peek() {
            if c == ' ' || c == '\t' {
                indentation += 1;
                chars.next();
            } else {
                break;
            }
        }
        let mut has_token = false;
        let mut indicators = 0usize;
        while let Some(c) = chars.next() {
            if is_break(c) {
                break;
            }
            has_token = true;
            match c {
                '[' => flow += 2,
                '{' => flow += 1,
                '-' | '?' | ':' if is_blank_or_end(chars.peek().copied()) => indicators += 1,
                _ => {}
            }
        }
        if has_token {
            let (word, bit) = (indentation / 64, indentation % 64);
            if indentations.len() <= word {
                indentations.resize(word + 1, 0);
            }
            if indentations[word] & (1 << bit) == 0 {
                indentations[word] |= 1 << bit;
                distinct += 1;
            }
            most_indicators = most_indicators.max(indicators);
        }
    }
    distinct.saturating_mul(2 + most_indicators).saturating_add(flow)
}

// ---------------------------------------------------------------------------------------
// YAML: the exact scan

enum YamlFrame {
    Sequence,
    Mapping { keys: KeysSeen, next_is_key: bool },
}

/// Scan YAML text with libyaml's event parser (the one serde_yaml_ng uses) for nesting
/// deeper than [`MAX_NESTING`] and for duplicate keys, stopping at the first finding.
/// A syntax error ends the scan quietly: the parser that reads the document reports
/// it, after no more work than this scan did (libyaml looks ahead a bounded distance).
pub fn scan_yaml(text: &str) -> Result<(), Finding> {
    use std::mem::MaybeUninit;

    struct Parser(Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>>);
    impl Drop for Parser {
        fn drop(&mut self) {
            // SAFETY: only built after yaml_parser_initialize succeeded.
            unsafe { unsafe_libyaml::yaml_parser_delete(self.0.as_mut_ptr()) }
        }
    }

    let mut parser = Box::new(MaybeUninit::<unsafe_libyaml::yaml_parser_t>::uninit());
    // SAFETY: initialize writes the whole struct; on failure nothing is to be freed.
    if unsafe { unsafe_libyaml::yaml_parser_initialize(parser.as_mut_ptr()) }.fail {
        return Ok(()); // out of memory: the parser proper will say so
    }
    let mut parser = Parser(parser);
    // SAFETY: `text` outlives `parser` (dropped at the end of this function).
    unsafe { unsafe_libyaml::yaml_parser_set_input_string(parser.0.as_mut_ptr(), text.as_ptr(), text.len() as _) };

    let mut stack: Vec<YamlFrame> = Vec::new();
    loop {
        let mut event = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
        // SAFETY: the parser is initialized and has its input.
        if unsafe { unsafe_libyaml::yaml_parser_parse(parser.0.as_mut_ptr(), event.as_mut_ptr()) }.fail {
            return Ok(()); // a syntax error: the parser reports it
        }
        // SAFETY: a successful parse filled the event.
        let mut event = unsafe { event.assume_init() };
        let at = Position { line: event.start_mark.line as usize + 1, column: event.start_mark.column as usize + 1 };
        let outcome = match event.type_ {
            unsafe_libyaml::YAML_STREAM_END_EVENT => {
                // SAFETY: the event came from yaml_parser_parse.
                unsafe { unsafe_libyaml::yaml_event_delete(&mut event) };
                return Ok(());
            }
            unsafe_libyaml::YAML_SEQUENCE_START_EVENT | unsafe_libyaml::YAML_MAPPING_START_EVENT => {
                if stack.len() >= MAX_NESTING {
                    Err(Finding::TooDeep(at))
                } else {
                    stack.push(if event.type_ == unsafe_libyaml::YAML_MAPPING_START_EVENT {
                        YamlFrame::Mapping { keys: KeysSeen::default(), next_is_key: true }
                    } else {
                        YamlFrame::Sequence
                    });
                    Ok(())
                }
            }
            unsafe_libyaml::YAML_SEQUENCE_END_EVENT | unsafe_libyaml::YAML_MAPPING_END_EVENT => {
                stack.pop();
                node_done(&mut stack);
                Ok(())
            }
            unsafe_libyaml::YAML_SCALAR_EVENT => {
                // SAFETY: a scalar event's value points at `length` bytes.
                let value = unsafe {
                    let scalar = event.data.scalar;
                    std::slice::from_raw_parts_mut(scalar.value, scalar.length as usize)
                };
                let depth = stack.len();
                let result = match stack.last_mut() {
                    Some(YamlFrame::Mapping { keys, next_is_key: true }) => {
                        keys.insert(String::from_utf8_lossy(value).into_owned(), at, depth == 1)
                    }
                    _ => Ok(()),
                };
                // A value may be the private key: wipe libyaml's copy before it is freed.
                zeroize::Zeroize::zeroize(value);
                node_done(&mut stack);
                result
            }
            unsafe_libyaml::YAML_ALIAS_EVENT => {
                node_done(&mut stack);
                Ok(())
            }
            _ => Ok(()),
        };
        // SAFETY: the event came from yaml_parser_parse and is deleted once.
        unsafe { unsafe_libyaml::yaml_event_delete(&mut event) };
        outcome?;
    }
}

/// A complete node was read: inside a mapping, keys and values alternate.
fn node_done(stack: &mut [YamlFrame]) {
    if let Some(YamlFrame::Mapping { next_is_key, .. }) = stack.last_mut() {
        *next_is_key = !*next_is_key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    /// The exact depth libyaml sees (for checking the bound), without the limit.
    fn yaml_depth(text: &str) -> Option<usize> {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).ok()?;
        fn depth(v: &serde_yaml_ng::Value) -> usize {
            match v {
                serde_yaml_ng::Value::Sequence(s) => 1 + s.iter().map(depth).max().unwrap_or(0),
                serde_yaml_ng::Value::Mapping(m) => {
                    1 + m.iter().map(|(k, v)| depth(k).max(depth(v))).max().unwrap_or(0)
                }
                serde_yaml_ng::Value::Tagged(t) => depth(&t.value),
                _ => 0,
            }
        }
        Some(depth(&v))
    }

    #[test]
    fn json_depth_is_exact() {
        let nested = |n: usize| format!("{{\"x\": {}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        assert_eq!(scan_json(&nested(MAX_NESTING)), Ok(()));
        assert_eq!(scan_json(&nested(MAX_NESTING + 1)), Err(Finding::TooDeep(pos(1, 7 + MAX_NESTING - 1))));
        // brackets inside strings are text
        assert_eq!(scan_json(&format!("{{\"x\": \"{}\"}}", "[".repeat(1000))), Ok(()));
        // unclosed: refused at the first level too many, whatever follows
        assert_eq!(scan_json(&"[".repeat(100_000)), Err(Finding::TooDeep(pos(1, 65))));
        assert_eq!(scan_json("{\n  \"é\": [\n [[[[]]]]]}"), Ok(()));
    }

    #[test]
    fn json_duplicates_name_both_places() {
        let dup = |first: (&str, usize, usize), second: (&str, usize, usize)| {
            Err(Finding::DuplicateKey {
                first: (first.0.into(), pos(first.1, first.2)),
                second: (second.0.into(), pos(second.1, second.2)),
            })
        };
        assert_eq!(scan_json("{\"mrn\": \"a\",\n \"mrn\": \"b\"}"), dup(("mrn", 1, 2), ("mrn", 2, 2)));
        assert_eq!(scan_json("{\"mrn\": 1, \"MRN\": 2}"), dup(("mrn", 1, 2), ("MRN", 1, 12)));
        // an escape spells the same key
        assert_eq!(scan_json("{\"mrn\": 1, \"\\u006drn\": 2}"), dup(("mrn", 1, 2), ("mrn", 1, 12)));
        // nested keys are compared exactly; equal ones in different objects are fine
        assert_eq!(scan_json("{\"labels\": {\"Env\": 1, \"env\": 2}, \"b\": {\"Env\": 1}}"), Ok(()));
        assert_eq!(scan_json("{\"l\": {\"a\": 1, \"a\": 2}}"), dup(("a", 1, 8), ("a", 1, 16)));
        // string values are not keys
        assert_eq!(scan_json("{\"a\": \"a\", \"b\": [\"a\", \"a\"]}"), Ok(()));
        // columns count characters
        assert_eq!(scan_json("{\"é\": 1, \"É\": 2}"), dup(("é", 1, 2), ("É", 1, 10)));
    }

    #[test]
    fn yaml_scan_finds_depth_and_duplicates() {
        let deep = format!("x: {}{}\n", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert_eq!(scan_yaml(&deep), Err(Finding::TooDeep(pos(1, 4 + MAX_NESTING - 1))));
        let ok = format!("x: {}{}\n", "[".repeat(MAX_NESTING - 1), "]".repeat(MAX_NESTING - 1));
        assert_eq!(scan_yaml(&ok), Ok(()));
        let block: String = (0..70).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert_eq!(scan_yaml(&block), Err(Finding::TooDeep(pos(65, 65))));
        assert_eq!(scan_yaml(&format!("{}x\n", "- ".repeat(100))), Err(Finding::TooDeep(pos(1, 129))));

        assert_eq!(
            scan_yaml("mrn: a\nname: n\nMRN: b\n"),
            Err(Finding::DuplicateKey { first: ("mrn".into(), pos(1, 1)), second: ("MRN".into(), pos(3, 1)) })
        );
        // values, list items and nested keys differing in case are not duplicates
        assert_eq!(scan_yaml("a: a\nb: [a, a]\nl: {Env: 1, env: 2}\nc:\n  - {a: 1}\n  - {a: 2}\n"), Ok(()));
        assert_eq!(
            scan_yaml("l:\n  a: 1\n  \"a\": 2\n"),
            Err(Finding::DuplicateKey { first: ("a".into(), pos(2, 3)), second: ("a".into(), pos(3, 3)) })
        );
        // a complex key is skipped but still alternates key and value
        assert_eq!(scan_yaml("? [k]\n: v\nv: 1\n"), Ok(()));
        // a syntax error is left to the parser
        assert_eq!(scan_yaml("a: [\n"), Ok(()));
    }

    #[test]
    fn yaml_bound_is_small_for_real_configs_and_never_below_the_depth() {
        let config = "mrn: //agents.api.mondoo.app/spaces/s/serviceaccounts/x\nprivate_key: |\n  -----BEGIN PRIVATE KEY-----\n  MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDD\n  -----END PRIVATE KEY-----\nlabels:\n  env: prod\nfeatures: [a, b]\nscan_interval:\n  timer: 60\n";
        assert!(yaml_nesting_bound(config) <= 16, "{}", yaml_nesting_bound(config));
        let documents = [
            config.to_string(),
            "- - - - a: b\n        - c\n".to_string(),
            "a:\n- b:\n  - c:\n    - d\n".to_string(),
            "? - ? - a\n  : b\n: c\n".to_string(),
            "a: [b: [c: [d: {e: [f]}]]]\n".to_string(),
            "--- \n- - x\n...\n".to_string(),
            "a:\r  b:\r    c: d\r".to_string(),
            "a:\u{2028}  b:\u{85}    c: [[d]]".to_string(),
            "a: &x [1]\nb: *x\nc: !!map {d: [e]}\n".to_string(),
            "a:\n\t- b\n".to_string(),
            (0..40).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect(),
            format!("x: {}{}\n", "[".repeat(40), "]".repeat(40)),
            format!("{}x\n", "- ".repeat(40)),
        ];
        for doc in &documents {
            if let Some(depth) = yaml_depth(doc) {
                assert!(yaml_nesting_bound(doc) >= depth, "{doc:?}: bound {} < depth {depth}", yaml_nesting_bound(doc));
            }
        }
        assert!(yaml_depth(&documents[4]).unwrap() >= 5, "the corpus must hold nested documents");
    }
}
