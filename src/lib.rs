//! comfyctl: tells people, shell scripts and CI pipelines whether a ComfyUI
//! server is up, ready and keeping up.
//!
//! Data flows one way: [`config`] (the command line → a validated
//! [`config::Plan`]) → [`manager`] → events → [`render`] → exit code.
//! Embedders use the manager alone, with its own settings types. There is
//! one connection engine, [`manager::Monitor`]: [`manager::Fleet`] runs it
//! as a watch (configured by [`manager::WatchSettings`]) and
//! [`manager::connect_all`] as a one-shot connect (a
//! [`manager::ConnectPolicy`]); both report [`manager::Envelope`]s and take
//! [`manager::ClientSettings`].

pub mod cli;
pub(crate) mod commands;
pub mod config;
pub mod error;
pub mod manager;
pub mod platform;
pub mod render;
pub mod sinks;
pub mod wire;

use cli::Cli;
use config::Plan;
use error::{Error, Exit};
use manager::Target;

/// Runs a parsed command line to its exit code. Ctrl-C and SIGTERM end it
/// with [`Exit::Interrupted`], after the renderers have cleaned up.
pub async fn run(cli: Cli) -> Result<Exit, Error> {
    let out = config::output(&cli.global);
    let plan = config::plan(&cli)?;
    if let Some(common) = plan.common() {
        // Only where it changes something: plain http:// has no
        // certificate to skip.
        if common.client.tls.insecure && common.targets.iter().any(Target::uses_tls) {
            out.warn("--insecure: TLS certificates are NOT verified; anyone on the path can read and change this traffic");
        }
        for note in &common.notes {
            out.eprintln(&format!("note: {note}"));
        }
    }
    let work = async {
        match &plan {
            Plan::Health(plan) => commands::health::run(plan, &out).await,
            Plan::Connect(plan) => commands::connect::run(plan, &out).await,
            Plan::Reconnect(plan) => commands::reconnect::run(plan, &out).await,
            // watch turns Ctrl-C into a summary and exit 0 itself.
            Plan::Watch(plan) => return commands::watch::run(plan, &out).await,
            Plan::Completions(script) => commands::completions::run(script),
        }
    };
    let interruptible = !matches!(plan, Plan::Watch(_));
    tokio::select! {
        result = work => result,
        () = shutdown_signal(), if interruptible => {
            out.eprintln("comfyctl: interrupted");
            Ok(Exit::Interrupted)
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM; on Windows, Ctrl-C or Ctrl-Break.
pub async fn shutdown_signal() {
    platform::signals::shutdown().await
}
