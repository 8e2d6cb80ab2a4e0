//! Validated points values: idempotency keys, purchase amounts and QR codes within their bounds.

use crate::api::PointsError;

const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 64;
const MAX_PURCHASE_CENTS: i64 = 10_000_000;
const QR_CODE_BYTES: usize = 16;

/// A client-chosen key of 1 to 64 characters from `[A-Za-z0-9_.:-]`.
pub(crate) fn idempotency_key(raw: &str) -> Result<&str, PointsError> {
    let well_formed = !raw.is_empty()
        && raw.len() <= MAX_IDEMPOTENCY_KEY_LENGTH
        && raw.chars().all(|character| character.is_ascii_alphanumeric() || "_.:-".contains(character));
    if !well_formed {
        return Err(PointsError::InvalidInput(format!(
            "idempotency_key must have 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters of A-Z, a-z, 0-9, _ . : -"
        )));
    }
    Ok(raw)
}

/// A purchase of 1 centavo to Bs 100,000.
pub(crate) fn purchase_cents(raw: i64) -> Result<i64, PointsError> {
    if !(1..=MAX_PURCHASE_CENTS).contains(&raw) {
        return Err(PointsError::InvalidInput("purchase_bs must be positive and at most 100000".to_owned()));
    }
    Ok(raw)
}

/// The points a purchase earns at a rate, rounded down; at least one point is required.
pub(crate) fn points_for_purchase(purchase_cents: i64, points_per_boliviano: i64) -> Result<i64, PointsError> {
    let points = purchase_cents.saturating_mul(points_per_boliviano) / 100;
    if points < 1 {
        return Err(PointsError::InvalidInput("purchase_bs is too small to earn a point".to_owned()));
    }
    Ok(points)
}

/// A fresh QR code: 128 random bits in lowercase hex.
pub(crate) fn new_qr_code() -> String {
    let bytes: [u8; QR_CODE_BYTES] = rand::random();
    hex::encode(bytes)
}

/// A QR code as typed or scanned: exactly the shape [`new_qr_code`] produces.
pub(crate) fn qr_code(raw: &str) -> Result<&str, PointsError> {
    let well_formed = raw.len() == QR_CODE_BYTES * 2
        && raw.chars().all(|character| character.is_ascii_digit() || ('a'..='f').contains(&character));
    if !well_formed {
        return Err(PointsError::InvalidInput("code must be 32 lowercase hexadecimal characters".to_owned()));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bounded() {
        assert!(idempotency_key("order-17:a").is_ok());
        assert!(idempotency_key("").is_err());
        assert!(idempotency_key("white space").is_err());
        assert!(idempotency_key(&"k".repeat(65)).is_err());
        assert!(purchase_cents(0).is_err());
        assert!(purchase_cents(10_000_001).is_err());
        assert_eq!(points_for_purchase(1_050, 2).unwrap(), 21);
        assert!(points_for_purchase(10, 1).is_err());
        let code = new_qr_code();
        assert_eq!(qr_code(&code).unwrap(), code);
        assert!(qr_code("ABC").is_err());
    }
}
