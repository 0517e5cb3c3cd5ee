//! Email addresses: trimmed, lower-cased, and checked for a plausible shape.

/// A syntactically valid, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases `input` and checks it looks like `local@domain.tld`.
    ///
    /// Deliverability is the mail provider's business; this only rejects what can never
    /// be delivered (spaces, no domain, no top-level domain, over-long parts).
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err("укажите email");
        }
        if email.len() > 254 {
            return Err("email слишком длинный");
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err("в email нет символа @");
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
        if !(local_ok && domain_ok) {
            return Err("неверный формат email");
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Aida.Test@Example.KZ ").unwrap().as_str(), "aida.test@example.kz");
        assert_eq!(Email::parse("user+tag@mail.example.com").unwrap().as_str(), "user+tag@mail.example.com");
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for input in [
            "",
            "plain",
            "a@b",
            "a@b.c",
            "a b@example.com",
            "@example.com",
            "user@",
            "user@.com",
            "user@exa mple.com",
            "user..x@example.com",
            "user@-example.com",
            "user@example.123",
        ] {
            assert!(Email::parse(input).is_err(), "{input:?} should be rejected");
        }
    }
}
