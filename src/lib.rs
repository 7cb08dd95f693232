//! comfyctl: tells people, shell scripts and CI pipelines whether a ComfyUI
//! server is up, ready and keeping up.
//!
//! Data flows one way: `config` (the command line → a validated [`Plan`]
//! and the [`Output`] settings) → [`manager`] → events → `render` → exit
//! code. The binary parses the command line ([`Cli`]), asks [`plan`] and
//! [`output`] for what to run and how to show it, and calls [`run`].
//! Embedders use the manager alone, with its own settings types. There is
//! one connection engine, [`manager::Monitor`]: [`manager::Fleet`] runs it
//! as a watch (configured by [`manager::WatchSettings`]) and
//! [`manager::connect_all`] as a one-shot connect (a
//! [`manager::ConnectPolicy`]); both report [`manager::Envelope`]s and take
//! [`manager::ClientSettings`].

#![forbid(unsafe_code)]

pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub mod error;
pub mod manager;
pub mod platform;
pub(crate) mod render;
pub mod safe;
pub(crate) mod sinks;
pub mod wire;

pub use cli::Cli;
pub use config::{Plan, output, plan};
pub use render::Output;
/// The dashboard's frame costs, for `benches/dashboard.rs`.
#[doc(hidden)]
pub use render::dashboard::costs as dashboard_costs;

use error::{Error, Exit};
use manager::Target;

/// Runs a validated plan to its exit code, showing it as `out` says.
/// Ctrl-C and SIGTERM end it with [`Exit::Interrupted`], after the
/// renderers have cleaned up.
pub async fn run(plan: Plan, out: Output) -> Result<Exit, Error> {
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
        () = platform::signals::shutdown(), if interruptible => {
            out.eprintln("comfyctl: interrupted");
            Ok(Exit::Interrupted)
        }
    }
}
