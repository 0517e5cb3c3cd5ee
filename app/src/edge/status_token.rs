//! Each lead's `statusToken`: the capability to read that lead's delivery status, given to
//! whoever submitted it. An HMAC of the lead id under a key the database keeps, so every
//! process computes the same token and nothing is stored per lead.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::AnyConnection;
use subtle::ConstantTimeEq;

/// Hex digits of a token: 128 bits.
const TOKEN_HEX_LEN: usize = 32;

/// Makes and checks lead status tokens.
#[derive(Clone)]
pub struct StatusTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for StatusTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusTokens(..)")
    }
}

impl StatusTokens {
    /// Reads the key the migration made (`app_secret` row `lead_status`).
    pub async fn load(conn: &mut AnyConnection) -> Result<Self, sqlx::Error> {
        let key: String =
            sqlx::query_scalar("SELECT value FROM app_secret WHERE name = 'lead_status'").fetch_one(conn).await?;
        Ok(Self { key: key.into_bytes() })
    }

    /// The token of `lead_id`.
    pub fn token(&self, lead_id: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(b"lead-status:");
        mac.update(lead_id.to_string().as_bytes());
        let mut token = hex::encode(mac.finalize().into_bytes());
        token.truncate(TOKEN_HEX_LEN);
        token
    }

    /// Whether `given` is the token of `lead_id` (in constant time).
    pub fn verify(&self, lead_id: i64, given: &str) -> bool {
        bool::from(self.token(lead_id).as_bytes().ct_eq(given.trim().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_own_lead_only() {
        let tokens = StatusTokens { key: b"k".to_vec() };
        let token = tokens.token(41);
        assert_eq!(token.len(), 32);
        assert!(tokens.verify(41, &token));
        assert!(!tokens.verify(42, &token));
        assert!(!tokens.verify(41, &token[..31]));
        assert!(!tokens.verify(41, ""));
        assert_ne!(StatusTokens { key: b"other".to_vec() }.token(41), token, "another key, other tokens");
    }
}
