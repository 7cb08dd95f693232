//! Asking a run to stop: SIGINT/SIGTERM on Unix, Ctrl-C/Ctrl-Break on
//! Windows (the console's two interrupt keys; Ctrl-Break is what `taskkill`
//! without `/F` and many IDE "stop" buttons send).

use std::future::Future;
use std::io;

/// Installs the handlers now (so a signal right after this is not lost);
/// the future resolves with the name of the first one that arrives.
pub fn install() -> io::Result<impl Future<Output = &'static str>> {
    imp::install()
}

/// Resolves when the user asks the run to stop; never, if no handler could
/// be installed.
pub async fn shutdown() {
    match install() {
        Ok(signal) => {
            signal.await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(unix)]
mod imp {
    use std::future::Future;
    use std::io;

    use tokio::signal::unix::{SignalKind, signal};

    pub fn install() -> io::Result<impl Future<Output = &'static str>> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        })
    }
}

#[cfg(windows)]
mod imp {
    use std::future::Future;
    use std::io;

    use tokio::signal::windows::{ctrl_break, ctrl_c};

    pub fn install() -> io::Result<impl Future<Output = &'static str>> {
        let mut int = ctrl_c()?;
        let mut brk = ctrl_break()?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => "Ctrl-C",
                _ = brk.recv() => "Ctrl-Break",
            }
        })
    }
}
