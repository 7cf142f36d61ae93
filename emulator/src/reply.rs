//! Response builders for XNAT's answer shapes: plain-text errors (even under a JSON content
//! type, §1.9), bare JSON numbers/booleans, empty bodies, the 401/302 login answers.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub const JSON_UTF8: &str = "application/json;charset=UTF-8";
/// XNAT's global advice prefix; the space before the colon is real.
pub const ADVICE_PREFIX: &str = "There was an error in the request : ";

fn with_type(status: StatusCode, content_type: &str, body: String) -> Response {
    let mut r = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

pub fn text(code: u16, body: impl Into<String>) -> Response {
    with_type(status(code), "text/plain;charset=UTF-8", body.into())
}

/// A plain-text body labelled as JSON, as XNAT's controller-local handlers answer.
pub fn text_as_json(code: u16, body: impl Into<String>) -> Response {
    with_type(status(code), JSON_UTF8, body.into())
}

/// The global advice's answer for an exception with a message (status from the exception).
pub fn advice(code: u16, message: &str) -> Response {
    text(code, format!("{ADVICE_PREFIX}{message}"))
}

pub fn json(code: u16, value: &Value) -> Response {
    with_type(status(code), JSON_UTF8, value.to_string())
}

pub fn empty(code: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status(code);
    r
}

pub fn html(code: u16, body: String) -> Response {
    with_type(status(code), "text/html;charset=utf-8", body)
}

pub fn redirect(location: &str) -> Response {
    let mut r = empty(302);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// 401 with a Basic challenge: what a non-browser client gets without credentials.
pub fn challenge(realm: &str) -> Response {
    let mut r = html(401, error_page(401, "Unauthorized"));
    if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// A small imitation of the servlet container's HTML error page.
pub fn error_page(code: u16, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status {code} – {message}</title></head>\
         <body><h1>HTTP Status {code} – {message}</h1><hr class=\"line\" />\
         <p><b>Type</b> Status Report</p><p><b>Message</b> {message}</p></body></html>"
    )
}
