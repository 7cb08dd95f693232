//! `--require-token`: a server behind a login node or token proxy, which
//! wants `?token=T` or `Authorization: Bearer T` on every request.

use std::fmt;

use axum::extract::Request;
use axum::http::{StatusCode, header};

use crate::state::Mock;

/// How one request carried a token, and whether it sent an `Origin`.
pub struct Seen {
    query: Option<String>,
    bearer: Option<String>,
    origin: bool,
}

/// What `req` carried, read before it is routed.
pub fn seen(req: &Request) -> Seen {
    let query = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned())
    });
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(String::from);
    Seen {
        query,
        bearer,
        origin: req.headers().contains_key(header::ORIGIN),
    }
}

/// 401 without a token, 403 with a wrong one, `None` when it may pass.
pub fn refusal(mock: &Mock, req: &Request) -> Option<StatusCode> {
    let required = mock.args.require_token.as_deref()?;
    let seen = seen(req);
    let given = [seen.query.as_deref(), seen.bearer.as_deref()];
    if given.contains(&Some(required)) {
        None
    } else if given.iter().all(Option::is_none) {
        Some(StatusCode::UNAUTHORIZED)
    } else {
        Some(StatusCode::FORBIDDEN)
    }
}

/// ` token=query|bearer|none origin=yes|no`, for the request log (never
/// the token itself).
impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match (&self.query, &self.bearer) {
            (Some(_), Some(_)) => "query+bearer",
            (Some(_), None) => "query",
            (None, Some(_)) => "bearer",
            (None, None) => "none",
        };
        let origin = if self.origin { "yes" } else { "no" };
        write!(f, " token={how} origin={origin}")
    }
}
