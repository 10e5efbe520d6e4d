//! What of a config may be shown: every rendering of a config (`config show`, its JSON,
//! Debug, errors about its URLs) goes through here.
//!
//! A config can hold secrets outside `private_key`: a proxy or endpoint URL with
//! `user:password@`, or a key or token pasted into the wrong field (`certificate`,
//! `privateKey`, a label, `name`, a nested `private_key`). Such values are recognised by
//! their shape, wherever they are: a PEM private key block, a JWT-like token, and the
//! userinfo of a URL.

/// What a value recognised as secret is shown as.
pub(crate) const REDACTED: &str = "<redacted>";

/// Keys whose value is a secret whatever it looks like, at any depth.
const SECRET_KEYS: &[&str] = &["private_key", "privatekey", "private-key", "token", "password", "secret"];

pub(crate) fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// `value` as it may be shown: a PEM private key or a token-like value wholly replaced,
/// else with the userinfo of any URL in it replaced.
pub(crate) fn value_for_display(value: &str) -> String {
    if looks_secret(value) {
        REDACTED.to_string()
    } else {
        url_userinfo(value)
    }
}

/// A key named in a message: redacted when it looks secret, shortened when long.
pub(crate) fn key_for_message(key: &str) -> String {
    const LONGEST: usize = 64;
    let shown = value_for_display(key);
    if shown.chars().count() > LONGEST {
        let mut cut: String = shown.chars().take(LONGEST).collect();
        cut.push('…');
        cut
    } else {
        shown
    }
}

/// Whether `value` holds a PEM private key (any kind: `BEGIN PRIVATE KEY`, `BEGIN EC
/// PRIVATE KEY`, `BEGIN ENCRYPTED PRIVATE KEY`, `BEGIN OPENSSH PRIVATE KEY`, ...) or a
/// JWT-like token, anywhere in it.
pub(crate) fn looks_secret(value: &str) -> bool {
    value.contains("PRIVATE KEY-----") || contains_jwt_like(value)
}

/// Three dot-separated base64url segments whose first decodes to a JSON object (starts
/// `eyJ`, the base64 of `{"`), the first two at least 8 characters long: the shape of a
/// JWT (a registration token, an API token), found anywhere in `value`.
fn contains_jwt_like(value: &str) -> bool {
    let is_segment_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut rest = value;
    while let Some(at) = rest.find("eyJ") {
        let candidate = &rest[at..];
        let run_end = candidate.find(|c: char| !(is_segment_char(c) || c == '.')).unwrap_or(candidate.len());
        let segments: Vec<&str> = candidate[..run_end].split('.').collect();
        if segments.len() >= 3 && segments[0].len() >= 8 && segments[1].len() >= 8 {
            return true;
        }
        rest = &rest[at + 3..];
    }
    false
}

/// `text` with the userinfo (`user:password@`) of a URL replaced by `redacted`, also when
/// the URL does not parse (an invalid proxy URL is echoed in its error). A URL that
/// parses is redacted exactly; otherwise everything between the scheme (or the start,
/// for a scheme-less `user:pass@host`) and the last `@` goes, which may hide more than
/// the userinfo but never less. An e-mail address is left alone.
pub(crate) fn url_userinfo(text: &str) -> String {
    if !text.contains('@') {
        return text.to_string();
    }
    if let Ok(mut url) = reqwest::Url::parse(text) {
        if url.has_host() && (!url.username().is_empty() || url.password().is_some()) {
            let _ = url.set_username("redacted");
            let _ = url.set_password(None);
            return url.to_string();
        }
        if url.has_host() {
            return text.to_string();
        }
    }
    let (authority_start, has_scheme) = match text.find("://") {
        Some(i) => (i + 3, true),
        None => (0, false),
    };
    let rest = &text[authority_start..];
    match rest.rfind('@') {
        // without a scheme, only `user:password@host` is taken for a URL, not an e-mail address
        Some(at) if has_scheme || rest[..at].contains(':') => {
            format!("{}redacted{}", &text[..authority_start], &rest[at..])
        }
        _ => text.to_string(),
    }
}

/// A JSON rendering of a config with every secret replaced: values under a secret key,
/// values that look secret, URL userinfo, and keys that look secret.
pub(crate) fn json_for_display(value: &mut serde_json::Value) {
    use serde_json::Value as J;
    match value {
        J::String(s) => {
            let shown = value_for_display(s);
            if shown != *s {
                zeroize::Zeroize::zeroize(s);
                *s = shown;
            }
        }
        J::Array(items) => items.iter_mut().for_each(json_for_display),
        J::Object(map) => {
            let mut shown = serde_json::Map::with_capacity(map.len());
            for (key, mut v) in std::mem::take(map) {
                if is_secret_key(&key) && !matches!(v, J::Null) {
                    super::scrub_json(&mut v);
                    v = J::String(REDACTED.to_string());
                } else {
                    json_for_display(&mut v);
                }
                let mut key_shown = value_for_display(&key);
                // two keys redacted to the same text must both stay visible as keys
                let mut n = 1;
                while shown.contains_key(&key_shown) {
                    n += 1;
                    key_shown = format!("{}-{n}", value_for_display(&key));
                }
                shown.insert(key_shown, v);
            }
            *map = shown;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo_is_redacted_parsed_or_not() {
        assert_eq!(url_userinfo("http://user:secret@proxy:3128"), "http://redacted@proxy:3128/");
        assert_eq!(url_userinfo("https://api.example.com/x"), "https://api.example.com/x");
        // unparseable: still no password
        assert_eq!(url_userinfo("http://user:secret@[::1"), "http://redacted@[::1");
        assert_eq!(url_userinfo("user:secret@proxy:3128"), "redacted@proxy:3128");
        assert_eq!(url_userinfo("ftp//u:p@@x y"), "redacted@x y");
        assert_eq!(url_userinfo("plain text"), "plain text");
        assert_eq!(url_userinfo("owner alice@example.com"), "owner alice@example.com");
    }

    #[test]
    fn pem_keys_and_tokens_look_secret() {
        assert!(looks_secret("-----BEGIN PRIVATE KEY-----\nMIG2\n-----END PRIVATE KEY-----\n"));
        assert!(looks_secret("x -----BEGIN EC PRIVATE KEY-----\nAA"));
        assert!(looks_secret("Bearer eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"));
        assert!(!looks_secret("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
        assert!(!looks_secret("//agents.api.mondoo.app/spaces/s/agents/eyJ.x.y"));
        assert!(!looks_secret("version 1.2.3"));
    }

    #[test]
    fn json_rendering_hides_every_kind_of_secret() {
        let mut v = serde_json::json!({
            "private_key": "k",
            "privateKey": "k2",
            "nested": {"private_key": "k3", "token": null, "ok": "fine"},
            "certificate": "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n",
            "labels": {"t": "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln"},
            "api_proxy": "http://u:p@proxy:3128",
            "-----BEGIN PRIVATE KEY----- a": 1,
            "-----BEGIN PRIVATE KEY----- b": 2,
        });
        json_for_display(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "private_key": "<redacted>",
                "privateKey": "<redacted>",
                "nested": {"private_key": "<redacted>", "token": null, "ok": "fine"},
                "certificate": "<redacted>",
                "labels": {"t": "<redacted>"},
                "api_proxy": "http://redacted@proxy:3128/",
                "<redacted>": 1,
                "<redacted>-2": 2,
            })
        );
    }
}
