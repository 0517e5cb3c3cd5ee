//! Numbers as the Russian-reading users expect them: `12 345`, `5 000 ₸`, `12,5 %`, and
//! "—" where a ratio has no denominator. Groups are separated by no-break spaces.

/// What a missing ratio or cost shows.
pub const NONE: &str = "—";

/// Groups thousands with no-break spaces: `1 234 567`.
pub fn count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() * 2);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(digit);
    }
    if value < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// Whole tenge: `5 000 ₸`.
pub fn tenge(value: i64) -> String {
    format!("{}\u{a0}₸", count(value))
}

/// Whole tenge or "—".
pub fn tenge_or_none(value: Option<i64>) -> String {
    value.map(tenge).unwrap_or_else(|| NONE.into())
}

/// A percentage with one decimal and a decimal comma, `12,5 %`, or "—".
pub fn percent(value: Option<f64>) -> String {
    match value {
        Some(value) if value.is_finite() => {
            let rounded = (value * 10.0).round() / 10.0;
            let whole = rounded.trunc() as i64;
            let tenth = ((rounded - rounded.trunc()).abs() * 10.0).round() as i64;
            let sign = if rounded < 0.0 && whole == 0 { "-" } else { "" };
            format!("{sign}{},{tenth}\u{a0}%", count(whole))
        }
        _ => NONE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_with_no_break_spaces() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(count(-490_000), "-490\u{a0}000");
    }

    #[test]
    fn money_and_ratios_read_the_russian_way() {
        assert_eq!(tenge(5_000), "5\u{a0}000\u{a0}₸");
        assert_eq!(tenge_or_none(None), "—");
        assert_eq!(percent(Some(12.46)), "12,5\u{a0}%");
        assert_eq!(percent(Some(1234.0)), "1\u{a0}234,0\u{a0}%");
        assert_eq!(percent(Some(-0.25)), "-0,3\u{a0}%");
        assert_eq!(percent(Some(-37.5)), "-37,5\u{a0}%");
        assert_eq!(percent(None), "—");
        assert_eq!(percent(Some(f64::NAN)), "—");
    }
}

/// `dd.mm.yyyy` from `yyyy-mm-dd`; anything else unchanged.
pub fn date(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(year), Some(month), Some(day)) => format!("{day}.{month}.{year}"),
        _ => iso.to_owned(),
    }
}

/// Percent-encodes everything but unreserved ASCII (RFC 3986), for links the pages build.
pub fn url_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod url_tests {
    #[test]
    fn only_unreserved_characters_stay_as_they_are() {
        assert_eq!(super::url_encode("rm almaty/Ä-1"), "rm%20almaty%2F%C3%84-1");
    }
}
