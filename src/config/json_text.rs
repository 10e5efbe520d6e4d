//! JSON parsing that leaves no unwiped copy of escaped strings behind.
//!
//! serde_json unescapes a string with escapes (a PEM key is full of `\n`) into an
//! internal scratch buffer that is freed without being wiped. Here every string literal
//! with an escape is unescaped by hand into a `Zeroizing` buffer and replaced in a
//! (wiped) copy of the text by a placeholder without escapes, which serde_json borrows
//! instead of copying; the placeholders are then swapped for the unescaped strings.
//! Documents serde_json would refuse are parsed by serde_json itself, so errors (and
//! their line and column) are exactly its own.

use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// `serde_json::from_str::<Value>` without unwiped temporaries of escaped strings.
pub fn parse(text: &str) -> serde_json::Result<Value> {
    let literals = escaped_literals(text);
    if literals.is_empty() {
        // nothing to unescape: serde_json borrows every string from `text`
        return serde_json::from_str(text);
    }
    let Some(prefix) = placeholder_prefix(text) else { return serde_json::from_str(text) };
    let mut unescaped: Vec<Zeroizing<String>> = Vec::with_capacity(literals.len());
    let mut rewritten = Zeroizing::new(String::with_capacity(text.len()));
    let mut copied = 0;
    for (start, end) in literals {
        match unescape(&text[start + 1..end - 1]) {
            Some(s) => unescaped.push(s),
            // an escape serde_json refuses: let it report the error where it is
            None => return serde_json::from_str(text),
        }
        rewritten.push_str(&text[copied..start]);
        rewritten.push('"');
        rewritten.push_str(&prefix);
        rewritten.push_str(&(unescaped.len() - 1).to_string());
        rewritten.push('"');
        copied = end;
    }
    rewritten.push_str(&text[copied..]);
    match serde_json::from_str::<Value>(&rewritten) {
        Ok(mut value) => {
            restore(&mut value, &prefix, &mut unescaped);
            Ok(value)
        }
        // the positions in `rewritten` are not the document's: the original's error
        Err(_) => serde_json::from_str(text),
    }
}

/// Byte ranges (quotes included) of the string literals that hold a backslash. Only
/// a lexer: whatever is not valid JSON is left for serde_json to refuse.
fn escaped_literals(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        let mut escaped = false;
        i += 1;
        while i < bytes.len() && bytes[i] != b'"' {
            if bytes[i] == b'\\' {
                escaped = true;
                i += 1; // the escaped byte (a quote or backslash among them)
            }
            i += 1;
        }
        if i >= bytes.len() {
            break; // unterminated: serde_json reports it
        }
        i += 1;
        if escaped {
            found.push((start, i));
        }
    }
    found
}

/// A placeholder prefix that occurs nowhere in `text`.
fn placeholder_prefix(text: &str) -> Option<String> {
    (0..8).map(|n| format!("libmondoo-unescaped-{n}-")).find(|p| !text.contains(p.as_str()))
}

/// The JSON string body `raw` unescaped, or None where serde_json would refuse it
/// (unknown escape, bad or lone surrogate, a control character).
pub(crate) fn unescape(raw: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len()));
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let decoded = match chars.next()? {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let high = hex4(&mut chars)?;
                        match high {
                            0xD800..=0xDBFF => {
                                if (chars.next()?, chars.next()?) != ('\\', 'u') {
                                    return None;
                                }
                                let low = hex4(&mut chars)?;
                                if !(0xDC00..=0xDFFF).contains(&low) {
                                    return None;
                                }
                                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
                            }
                            0xDC00..=0xDFFF => return None,
                            _ => char::from_u32(high)?,
                        }
                    }
                    _ => return None,
                };
                out.push(decoded);
            }
            c if (c as u32) < 0x20 => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

/// Swap every placeholder (value or key) for its unescaped string, moved, not copied.
fn restore(value: &mut Value, prefix: &str, unescaped: &mut [Zeroizing<String>]) {
    match value {
        Value::String(s) => {
            if let Some(original) = take(s, prefix, unescaped) {
                *s = original;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| restore(v, prefix, unescaped)),
        Value::Object(map) => {
            let mut rebuilt = Map::with_capacity(map.len());
            for (key, mut v) in std::mem::take(map) {
                restore(&mut v, prefix, unescaped);
                let key = take(&key, prefix, unescaped).unwrap_or(key);
                rebuilt.insert(key, v);
            }
            *map = rebuilt;
        }
        _ => {}
    }
}

/// The unescaped string a placeholder stands for, moved out of its buffer.
fn take(placeholder: &str, prefix: &str, unescaped: &mut [Zeroizing<String>]) -> Option<String> {
    let index: usize = placeholder.strip_prefix(prefix)?.parse().ok()?;
    unescaped.get_mut(index).map(|z| std::mem::take(&mut **z))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each document parses exactly as serde_json parses it (value, key order, errors).
    fn same_as_serde_json(text: &str) {
        let ours = parse(text);
        let theirs = serde_json::from_str::<Value>(text);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{text}");
                assert_eq!(a.to_string(), b.to_string(), "key order of {text}");
            }
            (Err(a), Err(b)) => {
                assert_eq!((a.line(), a.column(), a.to_string()), (b.line(), b.column(), b.to_string()))
            }
            _ => panic!("{text}: ours {ours:?}, serde_json {theirs:?}"),
        }
    }

    #[test]
    fn parses_as_serde_json_does() {
        for text in [
            r#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIG2\n-----END PRIVATE KEY-----\n", "mrn": "//x"}"#,
            r#"{"a\"b": "c\\d\/e\b\f\n\r\t", "k\u00e9y": ["\u20ac", "\ud83d\ude00", {"n\u0041": "\u0000"}]}"#,
            r#"{"a": "x", "\u0061": "y", "b": 1.5e3, "c": [true, null, -0]}"#,
            r#"["\"libmondoo-unescaped-0-0\"", "libmondoo-unescaped-0-0"]"#,
            r#"{"plain": "no escapes at all", "n": 18446744073709551615}"#,
            "{\"tab\": \"a\\tb\", \"\": \"\\\\\"}",
            r#"{"s": "\\"}"#,
            r#""just \n a string""#,
            // refused, with serde_json's own errors and positions
            r#"{"a": "\x"}"#,
            r#"{"a": "\ud800"}"#,
            r#"{"a": "\udc00\u0041"}"#,
            r#"{"a": "\ud800\u0041"}"#,
            "{\"a\": \"line\nbreak \\n\"}",
            r#"{"a": "\u12"}"#,
            r#"{"a": "x\n"  "b": 1}"#,
            r#"{"a": "x\n", }"#,
            r#"{"a": "unterminated \n"#,
            r#"{"a": "\"#,
            "",
        ] {
            same_as_serde_json(text);
        }
    }

    #[test]
    fn only_literals_with_escapes_are_rewritten() {
        let text = r#"{"a": "plain", "b\n": "x\"y", "c": "\\"}"#;
        let spans: Vec<&str> = escaped_literals(text).into_iter().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(spans, [r#""b\n""#, r#""x\"y""#, r#""\\""#]);
        assert_eq!(placeholder_prefix("libmondoo-unescaped-0-").as_deref(), Some("libmondoo-unescaped-1-"));
    }
}
