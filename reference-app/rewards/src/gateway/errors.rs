//! The public error shape, `{"error": {"code": "...", "message": "..."}}`, and how each module error maps to it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rewards_analytics::api::AnalyticsError;
use rewards_auth::api::AuthError;
use rewards_business::api::BusinessError;
use rewards_platform::HopRefusal;
use rewards_points::api::PointsError;
use rewards_users::api::UsersError;

/// An error answer of the public API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable snake_case code that clients can match on.
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
    /// When to try again, sent as `Retry-After` (429 and 503 answers that know it).
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// Builds an error answer.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after_seconds: None }
    }

    /// The same answer, telling the client to wait `seconds` before trying again.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_seconds = Some(seconds);
        self
    }

    /// 422 with code `invalid_input`.
    pub fn invalid_input(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
    }

    /// 403 with code `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 503 with a fixed message: the detail (which peer, which URL, what the transport said) is for the log, where
    /// the request's span gives it the trace id, and never for the client.
    fn unavailable(detail: &str) -> ApiError {
        tracing::warn!(%detail, "a module needed for this request is unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "a service needed for this is unavailable; try again shortly",
        )
    }

    /// A refusal of the member's token by a service on the way, answered as if the gateway itself had refused it.
    fn refused_at_hop(refusal: HopRefusal) -> ApiError {
        tracing::info!(%refusal, "a service refused the member's token");
        match refusal {
            HopRefusal::MissingToken => {
                ApiError::new(StatusCode::UNAUTHORIZED, "missing_token", "this needs a bearer token")
            }
            HopRefusal::InvalidToken => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", refusal.to_string()),
            HopRefusal::TokenExpired => ApiError::new(StatusCode::UNAUTHORIZED, "token_expired", refusal.to_string()),
            HopRefusal::Forbidden => ApiError::forbidden("this token does not allow this"),
        }
    }

    fn internal(message: String) -> ApiError {
        // The detail goes to the log; the client learns only that it was our fault.
        tracing::error!(%message, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        match error {
            AuthError::InvalidInput(_) => ApiError::invalid_input(message),
            AuthError::EmailTaken => ApiError::new(StatusCode::CONFLICT, "email_taken", message),
            AuthError::InvalidCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message),
            AuthError::InvalidToken => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", message),
            AuthError::TokenExpired => ApiError::new(StatusCode::UNAUTHORIZED, "token_expired", message),
            AuthError::TooManyFailedLogins { retry_after_seconds } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "login_backoff", message)
                    .with_retry_after(retry_after_seconds)
            }
            AuthError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "auth_busy", message).with_retry_after(1),
            AuthError::Unavailable(detail) => ApiError::unavailable(&detail),
            AuthError::RefusedAtHop(refusal) => ApiError::refused_at_hop(refusal),
            AuthError::Internal(_) => ApiError::internal(message),
        }
    }
}

impl From<UsersError> for ApiError {
    fn from(error: UsersError) -> Self {
        let message = error.to_string();
        match error {
            UsersError::InvalidInput(_) => ApiError::invalid_input(message),
            UsersError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "user_not_found", message),
            UsersError::Conflict => ApiError::new(StatusCode::CONFLICT, "profile_conflict", message),
            UsersError::Unavailable(detail) => ApiError::unavailable(&detail),
            UsersError::RefusedAtHop(refusal) => ApiError::refused_at_hop(refusal),
            UsersError::Internal(_) => ApiError::internal(message),
        }
    }
}

impl From<BusinessError> for ApiError {
    fn from(error: BusinessError) -> Self {
        let message = error.to_string();
        match error {
            BusinessError::InvalidInput(_) => ApiError::invalid_input(message),
            BusinessError::BusinessNotFound => ApiError::new(StatusCode::NOT_FOUND, "business_not_found", message),
            BusinessError::OfferNotFound => ApiError::new(StatusCode::NOT_FOUND, "offer_not_found", message),
            BusinessError::NotOwner => ApiError::forbidden(message),
            BusinessError::Unavailable(detail) => ApiError::unavailable(&detail),
            BusinessError::RefusedAtHop(refusal) => ApiError::refused_at_hop(refusal),
            BusinessError::Internal(_) => ApiError::internal(message),
        }
    }
}

impl From<PointsError> for ApiError {
    fn from(error: PointsError) -> Self {
        let message = error.to_string();
        match error {
            PointsError::InvalidInput(_) => ApiError::invalid_input(message),
            PointsError::BusinessNotFound => ApiError::new(StatusCode::NOT_FOUND, "business_not_found", message),
            PointsError::MemberNotFound => ApiError::new(StatusCode::NOT_FOUND, "member_not_found", message),
            PointsError::OfferNotFound => ApiError::new(StatusCode::NOT_FOUND, "offer_not_found", message),
            PointsError::CodeNotFound => ApiError::new(StatusCode::NOT_FOUND, "code_not_found", message),
            PointsError::NotOwner => ApiError::forbidden(message),
            PointsError::BusinessNotApproved => ApiError::new(StatusCode::FORBIDDEN, "business_not_approved", message),
            PointsError::EmissionBudgetExceeded => {
                ApiError::new(StatusCode::CONFLICT, "emission_budget_exceeded", message)
            }
            PointsError::CodeUsed => ApiError::new(StatusCode::CONFLICT, "code_used", message),
            PointsError::CodeExpired => ApiError::new(StatusCode::GONE, "code_expired", message),
            PointsError::InsufficientPoints => ApiError::new(StatusCode::CONFLICT, "insufficient_points", message),
            PointsError::IdempotencyKeyReused => ApiError::new(StatusCode::CONFLICT, "idempotency_key_reused", message),
            PointsError::Unavailable(detail) => ApiError::unavailable(&detail),
            PointsError::RefusedAtHop(refusal) => ApiError::refused_at_hop(refusal),
            PointsError::Internal(_) => ApiError::internal(message),
        }
    }
}

impl From<AnalyticsError> for ApiError {
    fn from(error: AnalyticsError) -> Self {
        let message = error.to_string();
        match error {
            AnalyticsError::Unavailable(detail) => ApiError::unavailable(&detail),
            AnalyticsError::RefusedAtHop(refusal) => ApiError::refused_at_hop(refusal),
            AnalyticsError::Internal(_) => ApiError::internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_keeps_its_detail_out_of_the_answer() {
        let detail = "analytics did not answer: error sending request for url (http://127.0.0.1:40123/rpc/analytics)";
        let answer = ApiError::from(AnalyticsError::Unavailable(detail.to_owned()));
        assert_eq!((answer.status, answer.code), (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"));
        assert!(!answer.message.contains("127.0.0.1") && !answer.message.contains("http"), "{}", answer.message);
    }

    #[test]
    fn a_refusal_at_a_hop_is_answered_as_the_401_or_403_it_is() {
        let cases = [
            (HopRefusal::MissingToken, StatusCode::UNAUTHORIZED, "missing_token"),
            (HopRefusal::InvalidToken, StatusCode::UNAUTHORIZED, "invalid_token"),
            (HopRefusal::TokenExpired, StatusCode::UNAUTHORIZED, "token_expired"),
            (HopRefusal::Forbidden, StatusCode::FORBIDDEN, "forbidden"),
        ];
        for (refusal, status, code) in cases {
            let answer = ApiError::from(PointsError::RefusedAtHop(refusal));
            assert_eq!((answer.status, answer.code), (status, code), "{refusal:?}");
            let answer = ApiError::from(UsersError::RefusedAtHop(refusal));
            assert_eq!((answer.status, answer.code), (status, code), "{refusal:?}");
        }
    }
}
