//! Where a sign-in may send the browser afterwards: a path on this site, never elsewhere.

/// The longest `next` followed; longer ones are someone's experiment.
const MAX_LEN: usize = 2048;

/// `next` if it is a local path, `None` otherwise.
///
/// A browser reads `//host`, `/\host` and `\\host` as another site, drops tabs and
/// newlines before deciding, and a server or proxy on the way may decode `%2F` and
/// `%5C`; so the path must start with one `/`, and neither it nor any decoding of it
/// may hold a backslash, a control character or a second leading `/`.
pub fn local_redirect(next: &str) -> Option<&str> {
    if next.len() > MAX_LEN {
        return None;
    }
    let mut form = next.to_owned();
    // Each round decodes one level of percent-encoding; a path still changing after
    // a few is deliberately nested and refused.
    for _ in 0..4 {
        if !looks_local(&form) {
            return None;
        }
        let decoded = percent_decode(&form)?;
        if decoded == form {
            return Some(next);
        }
        form = decoded;
    }
    None
}

fn looks_local(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/'))
        && !path.chars().any(|c| c == '\\' || c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

/// One level of `%XX` decoding; `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::local_redirect;

    #[test]
    fn hostile_values_are_refused() {
        // The list the API and browser tests use too.
        let hostile: Vec<String> =
            serde_json::from_str(include_str!("../../../end2end/tests/fixtures/hostile_next.json")).unwrap();
        assert!(hostile.len() >= 15);
        for value in &hostile {
            assert_eq!(local_redirect(value), None, "{value:?}");
        }
        assert_eq!(local_redirect(&format!("/{}", "a".repeat(3000))), None);
    }

    #[test]
    fn local_paths_are_followed_as_given() {
        for value in ["/target", "/traffic/cabinet/2?from=2026-11-01&to=2026-11-30", "/target?q=%23123", "/a%20b", "/"]
        {
            assert_eq!(local_redirect(value), Some(value));
        }
    }
}
