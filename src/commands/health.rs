//! `comfyctl health`: one check, now, with no retries.

use crate::cli::{GlobalArgs, HealthArgs};
use crate::config::{self, Problems};
use crate::error::{Error, Exit};
use crate::manager::ConnectionManager;
use crate::render::{Output, human, json::Report};

/// Runs one health check and prints it.
pub async fn run(global: &GlobalArgs, _args: &HealthArgs, out: &Output) -> Result<Exit, Error> {
    let mut problems = Problems::default();
    let config = config::from_global(global, None, None, &mut problems);
    problems.finish()?;
    let target = super::resolve_target(&config, out).await;
    let fallback = config.fallback_mode;
    let mut manager = ConnectionManager::new(config, target, None);
    let status = manager.check_health().await;
    if out.json {
        out.println(&Report::new(&status, fallback, None).to_line())?;
    } else {
        out.println(&human::status_block(&status, out))?;
    }
    if status.available {
        Ok(Exit::Ok)
    } else {
        out.warn(&manager.trigger_fallback_warning());
        Ok(Exit::Unavailable)
    }
}
