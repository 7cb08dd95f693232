//! The terminal the dashboard borrows: raw mode and the alternate screen
//! while it is open, put back by [`Screen`]'s drop, by [`restore`] and by
//! the panic hook, whichever comes first (restoring twice is harmless).

use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};

/// The terminal is in the dashboard's modes now.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// True when both stdin (keys) and stdout (the screen) are terminals.
pub fn usable() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Raw mode and the alternate screen, for as long as it lives.
pub struct Screen;

impl Screen {
    /// Switches the terminal over; `None` (and the terminal as it was) if
    /// it refuses.
    pub fn open() -> Option<Screen> {
        install_hook();
        terminal::enable_raw_mode().ok()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = std::io::stdout();
        if execute!(out, EnterAlternateScreen, cursor::Hide).is_err() {
            restore();
            return None;
        }
        Some(Screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen, shows the cursor and ends raw mode, once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = execute!(out, LeaveAlternateScreen, cursor::Show);
        let _ = out.flush();
        let _ = terminal::disable_raw_mode();
    }
}

/// A panic anywhere puts the terminal back before the message is printed,
/// so the message is readable and the shell usable.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
