//! What differs between Unix and Windows, one module per concern, so the
//! rest of the crate calls one function and never names a platform.
//!
//! Unix keeps its behaviour (signals, termios, rlimit, mode bits); Windows
//! gets what its users expect instead: Ctrl-C and Ctrl-Break end a run,
//! the console is switched to ANSI (or output is plain), and hooks are
//! found by their `PATHEXT` extension.

pub mod processes;
pub mod signals;
pub mod terminal;
