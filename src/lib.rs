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

use std::io::Write;

use cli::{Cli, Command};
use error::{Error, Exit};

/// Runs a parsed command line to its exit code. Ctrl-C and SIGTERM end it
/// with [`Exit::Interrupted`], after the renderers have cleaned up.
pub async fn run(cli: Cli) -> Result<Exit, Error> {
    let out = config::output(&cli.global);
    let global = &cli.global;
    let work = async {
        match &cli.command {
            Command::Health(args) => commands::health::run(global, args, &out).await,
            Command::Connect(args) => commands::connect::run(global, args, &out).await,
            Command::Completions(args) => {
                std::io::stdout().write_all(&commands::completions::script(args.shell))?;
                Ok(Exit::Ok)
            }
        }
    };
    tokio::select! {
        result = work => result,
        () = shutdown_signal() => {
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
