//! Signed bearer tokens: `base64url(user_id.role.expires_at) . base64url(Ed25519 signature)`.
//!
//! Only auth holds the private key ([`TokenSigner`]) and issues tokens. Every other process holds the public key
//! ([`TokenVerifier`]) and re-verifies each token on each hop: a process that can check a token cannot make one, so
//! a breach of any service but auth yields no way to speak for a user.
//!
//! Ed25519 verification costs tens of microseconds, about a hundred times an HMAC, and the dashboard's call chain
//! checks one token at every hop. So each verifier remembers the tokens whose signature it has already checked (a
//! bounded table from the token's text to its claims): only a token's first check in a process pays for the
//! signature, and the expiry is still compared with the clock on every use. A token that fails its check is never
//! remembered, so made-up tokens cannot fill the table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::Role;

/// The longest token accepted, so that a hostile header cannot make verification do unbounded work.
const MAX_TOKEN_LENGTH: usize = 512;

/// The most verified tokens one verifier remembers. At about 200 bytes each, 16,384 of them take ~3 MiB.
const MAX_REMEMBERED_TOKENS: usize = 16_384;

/// The length of an Ed25519 seed (the private key) and of a public key, in bytes.
pub const TOKEN_KEY_LENGTH: usize = 32;

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

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenKeyError(String);

/// The private key that signs tokens. Only the process that hosts auth holds one.
#[derive(Clone)]
pub struct TokenSigner {
    key_pair: Arc<Ed25519KeyPair>,
    verifier: TokenVerifier,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TokenSigner(<redacted>)")
    }
}

impl TokenSigner {
    /// The signer for a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8]) -> Result<TokenSigner, TokenKeyError> {
        if seed.len() != TOKEN_KEY_LENGTH {
            return Err(TokenKeyError(format!("a token signing key is {TOKEN_KEY_LENGTH} bytes, not {}", seed.len())));
        }
        let key_pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|error| TokenKeyError(format!("not an Ed25519 seed: {error}")))?;
        let verifier = TokenVerifier::from_public_key(key_pair.public_key().as_ref())?;
        Ok(TokenSigner { key_pair: Arc::new(key_pair), verifier })
    }

    /// A fresh random signer, for commands that issue no token anyone keeps (`verify`) and for tests.
    pub fn random() -> TokenSigner {
        TokenSigner::from_seed(&rand::random::<[u8; TOKEN_KEY_LENGTH]>()).expect("32 random bytes are a valid seed")
    }

    /// The public key that verifies this signer's tokens, as 32 bytes.
    pub fn public_key(&self) -> [u8; TOKEN_KEY_LENGTH] {
        self.verifier.public_key
    }

    /// The verifier for this signer's tokens.
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// Signs claims into a token string.
    pub fn sign(&self, claims: &TokenClaims) -> String {
        let payload = format!("{}.{}.{}", claims.user_id, claims.role.as_str(), claims.expires_at);
        let signature = self.key_pair.sign(payload.as_bytes());
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload.as_bytes()), URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// The public key that verifies tokens, with the table of tokens it has already verified. Clones share the table.
#[derive(Clone)]
pub struct TokenVerifier {
    public_key: [u8; TOKEN_KEY_LENGTH],
    verified: Arc<Mutex<HashMap<Box<str>, TokenClaims>>>,
    capacity: usize,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TokenVerifier").field("public_key", &hex::encode(self.public_key)).finish()
    }
}

impl TokenVerifier {
    /// The verifier for a 32-byte Ed25519 public key.
    pub fn from_public_key(public_key: &[u8]) -> Result<TokenVerifier, TokenKeyError> {
        let public_key: [u8; TOKEN_KEY_LENGTH] = public_key.try_into().map_err(|_| {
            TokenKeyError(format!("a token public key is {TOKEN_KEY_LENGTH} bytes, not {}", public_key.len()))
        })?;
        Ok(TokenVerifier {
            public_key,
            verified: Arc::new(Mutex::new(HashMap::new())),
            capacity: MAX_REMEMBERED_TOKENS,
        })
    }

    /// The public key, as 32 bytes.
    pub fn public_key(&self) -> [u8; TOKEN_KEY_LENGTH] {
        self.public_key
    }

    /// Checks the token's signature (once per token per verifier; see the module's documentation), then its expiry
    /// against `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<TokenClaims, TokenError> {
        let remembered = self.verified.lock().ok().and_then(|verified| verified.get(token).copied());
        let claims = match remembered {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signature(token)?;
                self.remember(token, claims, now);
                claims
            }
        };
        if now >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Checks the signature and decodes the claims, without the table: what a token's first check costs.
    pub fn verify_signature(&self, token: &str) -> Result<TokenClaims, TokenError> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(TokenError::Invalid);
        }
        let (encoded_payload, encoded_signature) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(encoded_payload).map_err(|_| TokenError::Invalid)?;
        let signature = URL_SAFE_NO_PAD.decode(encoded_signature).map_err(|_| TokenError::Invalid)?;
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(&payload, &signature)
            .map_err(|_| TokenError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Invalid)?;
        let mut fields = payload.split('.');
        let user_id = fields.next().and_then(|field| field.parse::<i64>().ok());
        let role = fields.next().and_then(Role::parse);
        let expires_at = fields.next().and_then(|field| field.parse::<i64>().ok());
        let (Some(user_id), Some(role), Some(expires_at), None) = (user_id, role, expires_at, fields.next()) else {
            return Err(TokenError::Invalid);
        };
        Ok(TokenClaims { user_id, role, expires_at })
    }

    fn remember(&self, token: &str, claims: TokenClaims, now: i64) {
        if now >= claims.expires_at {
            return;
        }
        let Ok(mut verified) = self.verified.lock() else {
            return;
        };
        if verified.len() >= self.capacity {
            verified.retain(|_, remembered| now < remembered.expires_at);
            // Still full of live tokens: start again. Each is verified once more on its next use, which costs time,
            // never correctness.
            if verified.len() >= self.capacity {
                verified.clear();
            }
        }
        verified.insert(token.into(), claims);
    }

    /// How many verified tokens are remembered (for tests).
    pub fn remembered_tokens(&self) -> usize {
        self.verified.lock().map(|verified| verified.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::from_seed(b"a seed of exactly thirty-two by!").unwrap()
    }

    fn claims() -> TokenClaims {
        TokenClaims { user_id: 42, role: Role::Member, expires_at: 1_000 }
    }

    #[test]
    fn signed_token_verifies_before_expiry_and_expires_after() {
        let signer = signer();
        let token = signer.sign(&claims());
        assert_eq!(signer.verifier().verify(&token, 999), Ok(claims()));
        assert_eq!(signer.verifier().verify(&token, 1_000), Err(TokenError::Expired));
        // The public key alone verifies it.
        let verifier = TokenVerifier::from_public_key(&signer.public_key()).unwrap();
        assert_eq!(verifier.verify(&token, 999), Ok(claims()));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid_and_never_remembered() {
        let signer = signer();
        let verifier = signer.verifier();
        let token = signer.sign(&claims());
        let forged_payload = URL_SAFE_NO_PAD.encode(b"1.business.99999");
        let (_, signature) = token.split_once('.').unwrap();
        assert_eq!(verifier.verify(&format!("{forged_payload}.{signature}"), 0), Err(TokenError::Invalid));
        let other = TokenSigner::from_seed(b"another seed of thirty-two bytes").unwrap();
        assert_eq!(verifier.verify(&other.sign(&claims()), 0), Err(TokenError::Invalid));
        assert_eq!(verifier.verify("not a token", 0), Err(TokenError::Invalid));
        assert_eq!(verifier.verify("", 0), Err(TokenError::Invalid));
        assert_eq!(verifier.verify(&format!("{token}x"), 0), Err(TokenError::Invalid));
        assert_eq!(verifier.remembered_tokens(), 0, "refused tokens are not remembered");
        assert_eq!(verifier.verify(&token, 0), Ok(claims()));
        assert_eq!(verifier.remembered_tokens(), 1);
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let signer = signer();
        let token = signer.sign(&claims());
        assert!(signer.verifier().verify(&token, 10).is_ok());
        assert_eq!(signer.verifier().verify(&token, 1_000), Err(TokenError::Expired));
        // An expired token is not remembered in the first place.
        let fresh = TokenVerifier::from_public_key(&signer.public_key()).unwrap();
        assert_eq!(fresh.verify(&token, 2_000), Err(TokenError::Expired));
        assert_eq!(fresh.remembered_tokens(), 0);
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused() {
        assert!(TokenSigner::from_seed(b"").is_err());
        assert!(TokenSigner::from_seed(&[7; 31]).is_err());
        assert!(TokenVerifier::from_public_key(&[7; 33]).is_err());
    }

    #[test]
    fn the_table_of_remembered_tokens_stays_bounded() {
        let signer = signer();
        let mut verifier = signer.verifier().clone();
        verifier.capacity = 64;
        for user_id in 0..200 {
            // Half of them expire at 500, so that a full table first forgets those.
            let expires_at = if user_id % 2 == 0 { 500 } else { 1_000 };
            let token = signer.sign(&TokenClaims { user_id, role: Role::Member, expires_at });
            let now = if user_id < 100 { 0 } else { 600 };
            assert_eq!(verifier.verify(&token, now).is_ok(), now < expires_at);
            assert!(verifier.remembered_tokens() <= 64);
        }
        assert!(verifier.remembered_tokens() > 0);
    }
}
