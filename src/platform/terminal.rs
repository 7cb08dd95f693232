//! Keeps the terminal from echoing `^C` into a live region.
//!
//! indicatif leaves the cursor at the right edge of the last line it drew, so
//! the `^C` a terminal echoes on Ctrl-C wraps onto a new row; every redraw
//! until the exit then lands one row too low and leaves the region's top
//! row behind. While a live region is shown, control characters are not
//! echoed (`stty -echoctl`); the setting is restored when the region ends,
//! and by the panic hook.
//!
//! Windows consoles do not echo `^C`, so there the guard does nothing; what
//! they need instead is ANSI switched on ([`ansi_ready`]).

pub use imp::{QuietEcho, restore};

/// Whether escape sequences (colour, the live view's cursor moves) will
/// render on this terminal. Always on Unix; on Windows it switches the
/// console to virtual-terminal processing and says whether that worked
/// (Windows Terminal and Windows 10+ consoles: yes; older ones: plain).
pub fn ansi_ready() -> bool {
    #[cfg(windows)]
    {
        let out = console::Term::stdout();
        // colors_supported enables ENABLE_VIRTUAL_TERMINAL_PROCESSING as it
        // asks; a pipe is not a console and needs nothing.
        !out.is_term() || out.features().colors_supported()
    }
    #[cfg(not(windows))]
    {
        true
    }
}

#[cfg(unix)]
mod imp {
    use std::os::fd::{AsFd, BorrowedFd};
    use std::sync::Mutex;

    use rustix::termios::{LocalModes, OptionalActions, Termios, isatty, tcgetattr, tcsetattr};

    use crate::render::Stream;

    /// The terminal settings to put back: the stream and its termios.
    static SAVED: Mutex<Option<(Stream, Termios)>> = Mutex::new(None);

    /// While alive, the terminal behind `stream` does not echo control
    /// characters. A no-op when it is not a terminal or already quiet.
    pub struct QuietEcho {
        active: bool,
    }

    /// The descriptor behind `stream`, borrowed from std's handle.
    fn on(stream: Stream, f: impl FnOnce(BorrowedFd<'_>) -> bool) -> bool {
        match stream {
            Stream::Stdout => f(std::io::stdout().as_fd()),
            Stream::Stderr => f(std::io::stderr().as_fd()),
        }
    }

    impl QuietEcho {
        /// Turns `ECHOCTL` off on `stream`'s terminal until dropped.
        pub fn new(stream: Stream) -> QuietEcho {
            let Ok(mut saved) = SAVED.lock() else {
                return QuietEcho { active: false };
            };
            if saved.is_some() {
                // An outer region already did it and will restore it.
                return QuietEcho { active: false };
            }
            let active = on(stream, |fd| {
                if !isatty(fd) {
                    return false;
                }
                let Ok(original) = tcgetattr(fd) else {
                    return false;
                };
                if !original.local_modes.contains(LocalModes::ECHOCTL) {
                    return false;
                }
                let mut quiet = original.clone();
                quiet.local_modes.remove(LocalModes::ECHOCTL);
                let ok = tcsetattr(fd, OptionalActions::Now, &quiet).is_ok();
                if ok {
                    *saved = Some((stream, original));
                }
                ok
            });
            QuietEcho { active }
        }
    }

    /// Puts back the terminal settings changed by a [`QuietEcho`], if any. Safe
    /// to call more than once (the panic hook calls it).
    pub fn restore() {
        let saved = match SAVED.lock() {
            Ok(mut s) => s.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some((stream, t)) = saved {
            on(stream, |fd| tcsetattr(fd, OptionalActions::Now, &t).is_ok());
        }
    }

    impl Drop for QuietEcho {
        fn drop(&mut self) {
            if self.active {
                restore();
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use crate::render::Stream;

    /// Nothing to quieten: a Windows console does not echo `^C`.
    pub struct QuietEcho;

    impl QuietEcho {
        /// A no-op guard.
        pub fn new(_stream: Stream) -> QuietEcho {
            QuietEcho
        }
    }

    /// Nothing was changed, so nothing is put back.
    pub fn restore() {}
}
