//! Phone numbers as typed by people on landing pages, normalised to E.164.

use phonenumber::country::Id as Country;
use phonenumber::Mode;

/// A valid phone number in E.164 form (`+77051234567`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses any common spelling; numbers without a country code are read as Kazakh.
    ///
    /// A leading `8` is Kazakhstan's trunk prefix (`8 705 …` = `+7 705 …`), and ten bare
    /// digits are a Kazakh national number. Numbers with another country code are kept in
    /// that country.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("укажите номер телефона");
        }
        if trimmed.chars().any(|c| !(c.is_ascii_digit() || " +-()./".contains(c))) {
            return Err("номер телефона может содержать только цифры, пробелы, +, -, ( и )");
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if let Some(phone) = kazakh_mobile(trimmed.starts_with('+'), &digits) {
            return Ok(phone);
        }
        let candidate = match (trimmed.starts_with('+'), digits.len()) {
            // "77051234567": the country code without its "+".
            (false, 11) if digits.starts_with('7') => format!("+{digits}"),
            // "7051234567": a bare national number of the +7 zone (Kazakhstan and Russia).
            (false, 10) => format!("+7{digits}"),
            _ => trimmed.to_owned(),
        };
        let number = phonenumber::parse(Some(Country::KZ), &candidate).map_err(|_| "это не номер телефона")?;
        if !phonenumber::is_valid(&number) {
            return Err("такого номера телефона не существует");
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// The E.164 string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The mobile ranges of Kazakhstan (+7 7xx) in libphonenumber's metadata.
const KAZAKH_MOBILE_PREFIXES: &[&str] = &[
    "700", "701", "702", "705", "706", "707", "708", "747", "760", "761", "762", "763", "764", "771", "775", "776",
    "777", "778", "785",
];

/// Whether an E.164 number is a Kazakh mobile (+7 7xx, see [`KAZAKH_MOBILE_PREFIXES`]).
pub fn is_kazakh_mobile(phone_e164: &str) -> bool {
    phone_e164
        .strip_prefix("+7")
        .filter(|national| national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()))
        .is_some_and(|national| KAZAKH_MOBILE_PREFIXES.contains(&&national[..3]))
}

/// Recognises the common case, a Kazakh mobile number in any of its spellings, without
/// libphonenumber, whose parser costs about 100 µs a call on the intake's hot path.
/// Anything else is left to libphonenumber.
fn kazakh_mobile(has_plus: bool, digits: &str) -> Option<Phone> {
    let national = match (has_plus, digits.len()) {
        (true, 11) | (false, 11) => {
            digits.strip_prefix('7').or_else(|| digits.strip_prefix('8').filter(|_| !has_plus))?
        }
        (false, 10) => digits,
        _ => return None,
    };
    KAZAKH_MOBILE_PREFIXES.contains(&&national[..3]).then(|| Phone(format!("+7{national}")))
}

#[cfg(test)]
mod tests {
    use super::{kazakh_mobile, Phone};
    use phonenumber::Mode;

    #[test]
    fn the_fast_path_agrees_with_libphonenumber() {
        for prefix in 700..800 {
            for (has_plus, digits) in [(true, format!("7{prefix}1234567")), (false, format!("8{prefix}1234567"))] {
                let fast = kazakh_mobile(has_plus, &digits).map(|phone| phone.0);
                let number =
                    phonenumber::parse(Some(phonenumber::country::Id::KZ), format!("+7{prefix}1234567")).unwrap();
                let full = phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string());
                if fast.is_some() {
                    assert_eq!(fast, full, "{digits}");
                }
            }
        }
    }

    #[test]
    fn kazakh_spellings_normalise_to_the_same_number() {
        for input in [
            "+7 (705) 123-45-67",
            "87051234567",
            "8 705 123 45 67",
            "7051234567",
            "+77051234567",
            "77051234567",
            " 8(705)1234567 ",
        ] {
            assert_eq!(Phone::parse(input).map(|p| p.0), Ok("+77051234567".to_owned()), "{input}");
        }
    }

    #[test]
    fn other_valid_kazakh_numbers_are_accepted() {
        assert_eq!(Phone::parse("+7 777 000-11-22").unwrap().as_str(), "+77770001122");
    }

    #[test]
    fn numbers_of_other_countries_keep_their_code() {
        assert_eq!(Phone::parse("+998 90 123 45 67").unwrap().as_str(), "+998901234567");
        assert_eq!(Phone::parse("+49 30 12345678").unwrap().as_str(), "+493012345678");
    }

    #[test]
    fn impossible_numbers_are_rejected() {
        for input in ["12345", "+7 000", "", "   ", "abc", "+7 705 123 45 67 89 01", "705-12a-45"] {
            assert!(Phone::parse(input).is_err(), "{input:?} should be rejected");
        }
    }
}
