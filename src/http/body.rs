//! Request bodies: JSON only (`Content-Type: application/json`, so that a
//! cross-site HTML form, which cannot send that type, cannot post), capped
//! in size, and every failure a JSON error rather than axum's plain text.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};

use super::error::ApiError;

/// The largest body pi7 reads: far more than any order a person types.
pub const MAX_BODY: usize = 256 * 1024;

/// How much of a body declared too large pi7 still reads (and drops)
/// before it answers 413: a client that is still sending when the answer
/// comes and the connection closes meets a broken pipe, not the 413.
const DRAIN_LIMIT: usize = 4 * MAX_BODY;

fn too_large() -> ApiError {
    ApiError::http(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the request body is larger than {MAX_BODY} bytes"),
    )
}

/// What errors call a request body, as the command line names a file.
pub const SOURCE: &str = "request body";

/// A body sent as JSON, as text: each endpoint reads it as what it takes,
/// so that an order's errors point at a line and column of it, as the
/// command line's do for a file.
pub struct JsonBody {
    pub text: String,
}

impl JsonBody {
    /// The body as `T`, or a bad-input error naming what is wrong and where.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_str(&self.text)
            .map_err(|e| ApiError::bad_input(format!("{SOURCE}:{}:{}: {e}", e.line(), e.column())))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a request body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        if let Some(length) = declared.filter(|&n| n > MAX_BODY) {
            if length <= DRAIN_LIMIT {
                let _ = axum::body::to_bytes(req.into_body(), DRAIN_LIMIT).await;
            }
            return Err(too_large());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::bad_input(format!("cannot read the request body: {e}"))
                }
            })?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|e| ApiError::bad_input(format!("{SOURCE} is not UTF-8 text: {e}")))?;
        Ok(JsonBody { text })
    }
}
