//! comfyctl: tells people, shell scripts and CI pipelines whether a ComfyUI
//! server is up, ready and keeping up.
//!
//! Data flows one way: [`config`] → [`manager`] → events → [`render`] → exit
//! code. Embedders use [`manager::ConnectionManager`] with a [`config::Config`].

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod manager;
pub mod render;
pub mod sinks;

use std::io::Write;

use cli::{Cli, Command};
use error::{Error, Exit};

/// Runs a parsed command line to its exit code. Ctrl-C and SIGTERM end it
/// with [`Exit::Interrupted`], after the renderers have cleaned up.
pub async fn run(cli: Cli) -> Result<Exit, Error> {
    let out = config::output(&cli.global);
    let global = &cli.global;
    if global.insecure && !matches!(cli.command, Command::Completions(_)) {
        out.warn("--insecure: TLS certificates are NOT verified; anyone on the path can read and change this traffic");
    }
    let work = async {
        match &cli.command {
            Command::Health(args) => commands::health::run(global, args, &out).await,
            Command::Connect(args) => commands::connect::run(global, args, &out).await,
            Command::Reconnect(args) => commands::reconnect::run(global, args, &out).await,
            // watch turns Ctrl-C into a summary and exit 0 itself.
            Command::Watch(args) => return commands::watch::run(global, args, &out).await,
            Command::Completions(args) => {
                std::io::stdout().write_all(&commands::completions::script(args.shell))?;
                Ok(Exit::Ok)
            }
        }
    };
    let interruptible = !matches!(cli.command, Command::Watch(_));
    tokio::select! {
        result = work => result,
        () = shutdown_signal(), if interruptible => {
            out.eprintln("comfyctl: interrupted");
            Ok(Exit::Interrupted)
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
