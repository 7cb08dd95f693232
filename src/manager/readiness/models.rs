//! `--require-model FOLDER/NAME`: each model folder's listing, asked once
//! however many files it must hold.

use super::{Check, CheckResult, Due, Fetched, fetch_json};
use crate::manager::http::{HttpClient, QUEUE_BODY_CAP};
use crate::manager::target::Target;
use crate::manager::workflow;

/// Each model folder's listing, fetched once however many files it must
/// hold; the folders are asked at once.
pub(super) async fn model_listings(
    http: &HttpClient,
    target: &Target,
    models: &[(String, String)],
    due: Due,
) -> Vec<(String, Fetched)> {
    let mut folders: Vec<&str> = models.iter().map(|(f, _)| f.as_str()).collect();
    folders.sort_unstable();
    folders.dedup();
    let asks = folders.into_iter().map(|folder| async move {
        let route = format!("/models/{}", encode_segment(folder));
        let listing = fetch_json(http, target, &route, QUEUE_BODY_CAP);
        let listing = due.within(target, &format!("GET {route}"), listing).await;
        (folder.to_string(), listing)
    });
    futures_util::future::join_all(asks).await
}

/// `model FOLDER/FILE`: the folder's listing names the file.
pub(super) fn model_check(listing: Option<&Fetched>, folder: &str, file: &str) -> CheckResult {
    let check = Check::Model {
        folder: folder.to_string(),
        file: file.to_string(),
    };
    match listing {
        Some(Ok(serde_json::Value::Array(files))) => {
            if files.iter().any(|f| f.as_str() == Some(file)) {
                CheckResult::new(check, true, "listed")
            } else {
                CheckResult::new(
                    check,
                    false,
                    format!(
                        "'{file}' is not listed by GET /models/{folder} ({} file(s) there){}",
                        files.len(),
                        workflow::did_you_mean(&workflow::suggest_file(file, files))
                    ),
                )
            }
        }
        Some(Ok(_)) => CheckResult::new(
            check,
            false,
            format!("GET /models/{folder} did not answer with a list"),
        ),
        Some(Err(e)) if e.status == Some(404) => CheckResult::new(
            check,
            false,
            format!("the server has no model folder '{folder}'"),
        ),
        Some(Err(e)) => CheckResult::new(check, false, e.message.clone()),
        None => CheckResult::new(check, false, "not checked"),
    }
}

/// Percent-encodes one path segment (folder names are plain, but be safe).
fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
