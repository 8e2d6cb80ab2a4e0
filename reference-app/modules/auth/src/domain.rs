//! Validated auth values: an email and a password that are known to be well-formed once constructed.

use crate::api::AuthError;

/// The longest email accepted (the practical limit of SMTP paths).
const MAX_EMAIL_LENGTH: usize = 254;
/// Passwords shorter than this are refused.
const MIN_PASSWORD_LENGTH: usize = 8;
/// Passwords are capped so that hashing time stays bounded.
const MAX_PASSWORD_LENGTH: usize = 128;

/// A lowercase email with one `@`, a non-empty local part and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Email(String);

impl Email {
    pub(crate) fn parse(raw: &str) -> Result<Email, AuthError> {
        let email = raw.trim().to_lowercase();
        let invalid = || AuthError::InvalidInput("email must look like name@example.com".to_owned());
        if email.is_empty()
            || email.len() > MAX_EMAIL_LENGTH
            || email.chars().any(char::is_whitespace)
            || !rewards_platform::is_printable_text(&email)
        {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_is_dotted = domain.split('.').all(|label| !label.is_empty()) && domain.contains('.');
        if local.is_empty() || domain.contains('@') || !domain_is_dotted {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of acceptable length, counted in characters.
#[derive(Clone)]
pub(crate) struct Password(String);

impl Password {
    pub(crate) fn parse(raw: &str) -> Result<Password, AuthError> {
        let length = raw.chars().count();
        if length < MIN_PASSWORD_LENGTH {
            return Err(AuthError::InvalidInput(format!(
                "password must have at least {MIN_PASSWORD_LENGTH} characters"
            )));
        }
        if length > MAX_PASSWORD_LENGTH {
            return Err(AuthError::InvalidInput(format!(
                "password must have at most {MAX_PASSWORD_LENGTH} characters"
            )));
        }
        Ok(Password(raw.to_owned()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse(" Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@@example.com",
            "a na@example.com",
            "ana@example..com",
            "an\u{200b}a@example.com",
            "ana@exam\u{202e}ple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn passwords_have_bounded_length() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }
}
