//! Request extractors of the public API that answer in the public error shape: JSON bodies, path ids and the
//! authenticated caller.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use rewards_auth::api::{Role, TokenClaims};
use serde::de::DeserializeOwned;

use crate::gateway::errors::ApiError;

/// A JSON body whose rejections (malformed JSON, wrong types, missing content type, oversized body) are answered in
/// the public error shape.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection_to_api_error(&rejection)),
        }
    }
}

fn json_rejection_to_api_error(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match rejection {
        JsonRejection::JsonSyntaxError(_) => "malformed_json",
        JsonRejection::JsonDataError(_) => "invalid_body",
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        _ => "bad_request",
    };
    ApiError::new(status, code, rejection.body_text())
}

/// Parses a positive integer id from a path segment.
pub fn parse_id(field: &str, raw: &str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 && raw.len() <= 19 => Ok(id),
        _ => Err(ApiError::invalid_input(format!("{field} must be a positive integer"))),
    }
}

/// Checks an id given in a request body: ids are positive integers.
pub fn positive_id(field: &str, id: i64) -> Result<i64, ApiError> {
    if id > 0 { Ok(id) } else { Err(ApiError::invalid_input(format!("{field} must be a positive integer"))) }
}

/// The caller whose token the gateway verified for this request.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub TokenClaims);

impl Caller {
    /// Refuses the request with 403 unless the caller has `role`.
    pub fn require_role(&self, role: Role) -> Result<i64, ApiError> {
        if self.0.role == role {
            Ok(self.0.user_id)
        } else {
            Err(ApiError::forbidden(format!("this needs a {} account", role.as_str())))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .copied()
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "missing_token", "this needs a bearer token"))
    }
}
