//! Validated business values: names, titles, rates and costs within their bounds.

use crate::api::BusinessError;

const MAX_TEXT_LENGTH: usize = 100;
const MAX_POINTS_PER_BOLIVIANO: i64 = 1_000;
const MAX_OFFER_COST: i64 = 1_000_000;

/// A trimmed, non-empty, printable text of at most 100 characters, used for business names and offer titles.
pub(crate) fn bounded_text(field: &str, raw: &str) -> Result<String, BusinessError> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_LENGTH || !rewards_platform::is_printable_text(text) {
        return Err(BusinessError::InvalidInput(format!(
            "{field} must have 1 to {MAX_TEXT_LENGTH} printable characters"
        )));
    }
    Ok(text.to_owned())
}

pub(crate) fn emission_rate(points_per_boliviano: i64) -> Result<i64, BusinessError> {
    if !(1..=MAX_POINTS_PER_BOLIVIANO).contains(&points_per_boliviano) {
        return Err(BusinessError::InvalidInput(format!(
            "points_per_boliviano must be between 1 and {MAX_POINTS_PER_BOLIVIANO}"
        )));
    }
    Ok(points_per_boliviano)
}

pub(crate) fn offer_cost(cost_points: i64) -> Result<i64, BusinessError> {
    if !(1..=MAX_OFFER_COST).contains(&cost_points) {
        return Err(BusinessError::InvalidInput(format!("cost_points must be between 1 and {MAX_OFFER_COST}")));
    }
    Ok(cost_points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced() {
        assert_eq!(bounded_text("name", "  Café  ").unwrap(), "Café");
        assert!(bounded_text("name", "").is_err());
        assert!(bounded_text("name", &"x".repeat(101)).is_err());
        assert!(bounded_text("name", "Caf\u{e9}\u{202e}latot").is_err(), "a bidi override");
        assert!(bounded_text("title", "Free\u{200b}coffee").is_err(), "a zero-width space");
        assert!(emission_rate(0).is_err());
        assert!(emission_rate(1_001).is_err());
        assert_eq!(emission_rate(10).unwrap(), 10);
        assert!(offer_cost(-5).is_err());
        assert!(offer_cost(1_000_001).is_err());
    }
}
