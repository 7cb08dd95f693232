//! The `/metrics` endpoint.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::Metrics;
use super::text::classic_text;

/// Serves `/metrics` on `addr` until the process ends. Returns the bound
/// address (port 0 picks one) or a one-line error naming the flag.
pub async fn serve(addr: &str, metrics: Arc<Mutex<Metrics>>) -> Result<SocketAddr, String> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics: cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("--metrics: {e}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move |headers: axum::http::HeaderMap| {
            let metrics = metrics.clone();
            async move {
                let body = metrics.lock().map(|m| m.render()).unwrap_or_default();
                let openmetrics = headers
                    .get_all(axum::http::header::ACCEPT)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(|v| v.contains("application/openmetrics-text"));
                if openmetrics {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        body,
                    )
                } else {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        classic_text(&body),
                    )
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
