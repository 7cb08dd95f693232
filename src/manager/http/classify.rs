//! Turning transport failures into a [`ProbeError`] with its own kind and
//! a message that says what to fix.

use super::*;

pub(super) fn too_large(route: &str, cap: usize) -> ProbeError {
    ProbeError::new(
        ErrorKind::NotComfyui,
        format!(
            "GET {route} sent a body larger than {} MiB; that is not ComfyUI's JSON",
            cap >> 20
        ),
    )
}

pub(super) fn not_comfyui(route: &str, detail: &str) -> ProbeError {
    // Column 1 exactly (with its closing paren, so not column 12): the very
    // first byte was not JSON.
    let hint = if detail.contains("expected value at line 1 column 1)") {
        " (an HTML page or plain text, perhaps from a proxy)"
    } else {
        ""
    };
    ProbeError::new(
        ErrorKind::NotComfyui,
        format!("not ComfyUI: GET {route} answered 200 with {detail}{hint}"),
    )
}

/// A non-2xx status, with a hint for the usual causes.
pub fn http_status_error(route: &str, code: u16, reason: Option<&str>) -> ProbeError {
    let hint = match code {
        401 => " (check --header / the URL's credentials)",
        403 => {
            " (a proxy refused the request, or ComfyUI did: it refuses a foreign Origin header and Sec-Fetch-Site: cross-site; comfyctl sends neither, so check what a proxy adds)"
        }
        404 => " (is the URL's path prefix right?)",
        502..=504 => " (a proxy is up but ComfyUI behind it is not)",
        300..=399 => " (redirects to another origin are not followed)",
        _ => "",
    };
    let reason = reason.map(|r| format!(" {r}")).unwrap_or_default();
    ProbeError::new(
        ErrorKind::HttpStatus,
        format!("GET {route} answered HTTP {code}{reason}{hint}"),
    )
    .with_status(code)
}

/// No answer in time.
pub fn timeout_error(target: &Target, what: &str, timeout: Duration) -> ProbeError {
    ProbeError::new(
        ErrorKind::Timeout,
        format!(
            "timed out: no answer from {} within {} ({what})",
            target.authority(),
            humantime::format_duration(timeout)
        ),
    )
}

pub(super) fn classify_reqwest(
    e: &reqwest::Error,
    target: &Target,
    route: &str,
    timeout: Duration,
) -> ProbeError {
    if e.is_timeout() {
        return timeout_error(target, &format!("GET {route}"), timeout);
    }
    classify_chain(e, target).unwrap_or_else(|| {
        ProbeError::new(
            ErrorKind::Network,
            format!(
                "GET {route} on {} failed: {}",
                target.authority(),
                innermost(e)
            ),
        )
    })
}

/// Walks an error's source chain for the causes that have their own kind.
pub fn classify_chain(
    e: &(dyn std::error::Error + 'static),
    target: &Target,
) -> Option<ProbeError> {
    let authority = target.authority();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => {
                    return Some(ProbeError::new(
                        ErrorKind::ConnectionRefused,
                        format!(
                            "connection refused: nothing is listening on {authority} (is ComfyUI running?)"
                        ),
                    ));
                }
                K::TimedOut => {
                    return Some(ProbeError::new(
                        ErrorKind::Timeout,
                        format!("timed out connecting to {authority}"),
                    ));
                }
                K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
                    return Some(ProbeError::new(
                        ErrorKind::Network,
                        format!("{authority} closed the connection without answering"),
                    ));
                }
                _ => {}
            }
        }
        let text = err.to_string().to_ascii_lowercase();
        // hyper's "incomplete message": closed before a whole response head.
        if text.contains("connection closed before message completed") {
            return Some(ProbeError::new(
                ErrorKind::Network,
                format!("{authority} closed the connection without answering"),
            ));
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            let host = authority
                .rsplit_once(':')
                .map(|(h, _)| h)
                .unwrap_or(&authority);
            return Some(ProbeError::new(
                ErrorKind::Dns,
                format!("cannot resolve host '{host}' (DNS lookup failed; check the URL)"),
            ));
        }
        // rustls reading an HTTP answer as a TLS record.
        if text.contains("invalidcontenttype") || text.contains("corrupt message") {
            return Some(ProbeError::new(
                ErrorKind::Tls,
                format!("TLS with {authority} failed: the server speaks plain HTTP? try http://"),
            ));
        }
        if text.contains("certificate")
            || text.contains("tls")
            || text.contains("handshake")
            || text.contains("invalid peer")
        {
            let detail = innermost(err);
            // An unknown issuer or a name mismatch is what a private CA or a
            // self-signed proxy looks like; say how to trust it.
            let hint = if detail.contains("invalid peer certificate") {
                " (trust its CA with --cacert FILE, or skip verification with --insecure)"
            } else {
                ""
            };
            return Some(ProbeError::new(
                ErrorKind::Tls,
                format!("TLS with {authority} failed: {detail}{hint}"),
            ));
        }
        current = err.source();
    }
    None
}

/// The deepest message in a chain: usually the most specific one, and never
/// one that carries the request URL.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
