//! Asking a run to stop: SIGINT/SIGTERM on Unix, Ctrl-C/Ctrl-Break on
//! Windows (the console's two interrupt keys; Ctrl-Break is what `taskkill`
//! without `/F` and many IDE "stop" buttons send).

use std::future::Future;
use std::io;

use tokio::sync::Notify;

/// A stop asked for from inside the process (the dashboard's `q`).
static ASKED: Notify = Notify::const_new();

/// Installs the handlers now (so a signal right after this is not lost);
/// the future resolves with the name of the first one that arrives.
pub fn install() -> io::Result<impl Future<Output = &'static str>> {
    imp::install()
}

/// Resolves when the user asks the run to stop, by a signal or by
/// [`ask_to_stop`]; only by the latter if no handler could be installed.
pub async fn shutdown() {
    let signal = async {
        match install() {
            Ok(signal) => {
                signal.await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = signal => {}
        () = ASKED.notified() => {}
    }
}

/// Asks the run to stop as Ctrl-C would, on every platform. Kept until a
/// [`shutdown`] is waiting, so an ask that comes first is not lost.
pub fn ask_to_stop() {
    ASKED.notify_one();
}

/// Holds the interrupt key's handler from now on, so that Ctrl-C (SIGINT)
/// reaches [`shutdown`] instead of killing the process before the first
/// `shutdown` is polled; `None` outside a tokio runtime.
pub fn hold_interrupt() -> Option<impl Sized> {
    tokio::runtime::Handle::try_current().ok()?;
    imp::interrupt().ok()
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

    pub fn interrupt() -> io::Result<tokio::signal::unix::Signal> {
        signal(SignalKind::interrupt())
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

    pub fn interrupt() -> io::Result<tokio::signal::windows::CtrlC> {
        ctrl_c()
    }
}
