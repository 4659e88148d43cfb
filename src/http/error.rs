//! An error as HTTP speaks it: a status decided from the error's kind in one
//! exhaustive match, and a JSON body `{"error": "<the CLI's one-line
//! message>", "kind": "…"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::{self, Kind};

/// What a request failed with.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

/// The JSON body of every error response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The one line the command line would print after `pi7: error: `.
    pub error: String,
    /// `bad_input`, `not_found`, `ambiguous`, `refused`, `conflict`,
    /// `busy`, `storage`, … or, for what HTTP itself refuses,
    /// `unauthorized`, `too_large`, `unsupported_media_type`.
    pub kind: String,
}

/// The HTTP status for a kind of error.
pub fn status(kind: Kind) -> StatusCode {
    match kind {
        Kind::Usage | Kind::BadInput => StatusCode::BAD_REQUEST,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Ambiguous | Kind::Refused | Kind::Conflict => StatusCode::CONFLICT,
        Kind::Busy | Kind::Storage => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Violation | Kind::Internal | Kind::DeliveryFailed => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl ApiError {
    /// A refusal of HTTP's own (size, media type, credentials).
    pub fn http(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::http(
            status(Kind::BadInput),
            Kind::BadInput.as_str(),
            message.into(),
        )
    }
}

impl From<app::Error> for ApiError {
    fn from(error: app::Error) -> Self {
        ApiError {
            status: status(error.kind),
            kind: error.kind.as_str(),
            message: error.message(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            kind: self.kind.to_string(),
        };
        (self.status, axum::Json(body)).into_response()
    }
}
