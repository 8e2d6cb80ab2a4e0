//! Signed bearer tokens: `base64url(user_id.role.expires_at) . base64url(HMAC-SHA256)`.
//!
//! Auth issues them, and every service re-verifies them on each hop with the shared key, which is the per-hop
//! security check of a real deployment.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Role;

type HmacSha256 = Hmac<Sha256>;

/// The longest token accepted, so that a hostile header cannot make verification do unbounded work.
const MAX_TOKEN_LENGTH: usize = 512;

/// Who a token speaks for, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenClaims {
    /// The account the token was issued to.
    pub user_id: i64,
    /// The account's role at the time of login.
    pub role: Role,
    /// The first second (Unix time) at which the token is no longer valid.
    pub expires_at: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is malformed or its signature does not match.
    #[error("the token is malformed or its signature does not match")]
    Invalid,
    /// The token was genuine but its lifetime is over.
    #[error("the token has expired")]
    Expired,
}

/// The secret key that signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    /// Wraps a secret; it should be at least 32 random bytes.
    pub fn new(secret: Vec<u8>) -> TokenKey {
        TokenKey { secret }
    }

    /// Signs claims into a token string.
    pub fn sign(&self, claims: &TokenClaims) -> String {
        let payload = format!("{}.{}.{}", claims.user_id, claims.role.as_str(), claims.expires_at);
        let signature = self.mac_of(payload.as_bytes()).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload.as_bytes()), URL_SAFE_NO_PAD.encode(signature))
    }

    /// Checks the signature in constant time, then the expiry against `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<TokenClaims, TokenError> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(TokenError::Invalid);
        }
        let (encoded_payload, encoded_signature) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(encoded_payload).map_err(|_| TokenError::Invalid)?;
        let signature = URL_SAFE_NO_PAD.decode(encoded_signature).map_err(|_| TokenError::Invalid)?;
        self.mac_of(&payload).verify_slice(&signature).map_err(|_| TokenError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Invalid)?;
        let mut fields = payload.split('.');
        let user_id = fields.next().and_then(|field| field.parse::<i64>().ok());
        let role = fields.next().and_then(Role::parse);
        let expires_at = fields.next().and_then(|field| field.parse::<i64>().ok());
        let (Some(user_id), Some(role), Some(expires_at), None) = (user_id, role, expires_at, fields.next()) else {
            return Err(TokenError::Invalid);
        };
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(TokenClaims { user_id, role, expires_at })
    }

    fn mac_of(&self, payload: &[u8]) -> HmacSha256 {
        // `new_from_slice` only fails for MACs with a fixed key length, and HMAC accepts keys of any length.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.secret).expect("HMAC accepts keys of any length");
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::new(b"a secret of thirty-two bytes ok!".to_vec())
    }

    fn claims() -> TokenClaims {
        TokenClaims { user_id: 42, role: Role::Member, expires_at: 1_000 }
    }

    #[test]
    fn signed_token_verifies_before_expiry_and_expires_after() {
        let token = key().sign(&claims());
        assert_eq!(key().verify(&token, 999), Ok(claims()));
        assert_eq!(key().verify(&token, 1_000), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let token = key().sign(&claims());
        let forged_payload = URL_SAFE_NO_PAD.encode(b"1.business.99999");
        let (_, signature) = token.split_once('.').unwrap();
        assert_eq!(key().verify(&format!("{forged_payload}.{signature}"), 0), Err(TokenError::Invalid));
        let other_key = TokenKey::new(b"another secret of 32 bytes long!".to_vec());
        assert_eq!(other_key.verify(&token, 0), Err(TokenError::Invalid));
        assert_eq!(key().verify("not a token", 0), Err(TokenError::Invalid));
        assert_eq!(key().verify("", 0), Err(TokenError::Invalid));
    }
}
