//! The full-screen dashboard of `watch` on a terminal: one row per server
//! with history sparklines, the fleet's failed jobs, keys to filter, sort,
//! pause and drill down. Each frame is composed on a grid of styled cells
//! ([`canvas`]) and only the cells that changed are rewritten ([`paint`]);
//! crossterm gives raw mode, the alternate screen, keys and resize.
//!
//! The monitor events are folded into a [`model::Model`] by the watch loop
//! (through [`Renderer`]); a UI thread owns the terminal, reads keys and
//! draws when something changed, at most [`FPS`] frames a second. `q` and
//! Ctrl-C (which raw mode turns into a key) raise SIGINT, so quitting takes
//! the same path as Ctrl-C on the plain output: summary and exit 0.
//!
//! While it is open, stderr lines are held ([`super::held`]): the footer
//! shows the newest, and all are printed once the screen is restored.

mod canvas;
mod columns;
#[doc(hidden)]
pub mod costs;
mod draw;
mod keys;
mod model;
mod paint;
mod term;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent};

use super::plain::summary_lines;
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, Summary};
use model::Model;

/// Most frames drawn per second.
pub const FPS: u32 = 5;
/// How long the UI thread waits for a key while nothing needs drawing: the
/// longest a model change waits for its frame.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// The dashboard renderer; [`Dashboard::start`] opens it.
pub struct Dashboard {
    model: Arc<Mutex<Model>>,
    stop: Arc<AtomicBool>,
    ui: Option<JoinHandle<()>>,
    summaries: Vec<(Arc<str>, Summary)>,
    out: Output,
    /// Keeps SIGINT routed to tokio (see [`Dashboard::start`]).
    _sigint: Box<dyn std::any::Any + Send>,
}

fn lock(model: &Mutex<Model>) -> MutexGuard<'_, Model> {
    // A panic in the UI thread must not take monitoring down with it.
    model.lock().unwrap_or_else(|p| p.into_inner())
}

impl Dashboard {
    /// Opens the dashboard on the terminal, or `None` when stdin or stdout
    /// is not a terminal or it cannot be set up (the caller then falls back
    /// to the live view).
    pub fn start(out: Output) -> Option<Dashboard> {
        if !term::usable() {
            return None;
        }
        // tokio's handler replaces SIGINT's default action for good once
        // registered: a `q` pressed before the watch loop first polls its
        // shutdown signal must not kill the process with the terminal raw.
        let sigint = crate::platform::signals::hold_interrupt()?;
        let screen = term::Screen::open()?;
        let model = Arc::new(Mutex::new(Model::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let ui = {
            let (model, stop) = (model.clone(), stop.clone());
            std::thread::Builder::new()
                .name("dashboard".into())
                .spawn(move || ui_loop(screen, &model, &stop, out))
                .ok()?
        };
        // Stderr lines would now land on the screen: hold them until drop.
        super::held::hold();
        Some(Dashboard {
            model,
            stop,
            ui: Some(ui),
            summaries: Vec::new(),
            out,
            _sigint: Box::new(sigint),
        })
    }
}

/// Keys and frames until `stop`; the terminal is restored when it returns
/// (the screen guard drops with it, also on a panic).
fn ui_loop(_screen: term::Screen, model: &Mutex<Model>, stop: &AtomicBool, out: Output) {
    let frame = Duration::from_secs(1) / FPS;
    let mut last: Option<Instant> = None;
    let mut keyed = true;
    let mut painter = paint::Painter::default();
    // Test-only: proves that a panic puts the terminal back.
    let panic_after_frame = out.panic_test;
    while !stop.load(Ordering::SeqCst) {
        if panic_after_frame && last.is_some() {
            panic!("COMFYCTL_TEST_DASHBOARD_PANIC is set");
        }
        let wait = match last {
            Some(at) if keyed => frame.saturating_sub(at.elapsed()),
            _ => IDLE_WAIT,
        };
        match event::poll(wait) {
            Ok(true) => match event::read() {
                Ok(TermEvent::Key(key)) => {
                    keyed = true;
                    if keys::handle(&mut lock(model), key) {
                        quit();
                    }
                }
                // The next frame reads the new size and redraws it all.
                Ok(TermEvent::Resize(..)) => keyed = true,
                _ => {}
            },
            Ok(false) => {}
            // No input to read: keep drawing, at the idle pace.
            Err(_) => std::thread::sleep(IDLE_WAIT),
        }
        if last.is_some_and(|at| at.elapsed() < frame) {
            continue;
        }
        let mut m = lock(model);
        let message = super::held::latest();
        if message != m.message {
            m.message = message;
            m.dirty = true;
        }
        if keyed || (m.dirty && !m.paused) {
            m.dirty = false;
            keyed = false;
            let size = crossterm::terminal::size().unwrap_or((80, 24));
            let mut canvas = canvas::Canvas::new(size.0, size.1);
            draw::frame(&mut canvas, &m, out);
            drop(m);
            let _ = painter.draw(&mut std::io::stdout(), canvas);
            last = Some(Instant::now());
        }
    }
}

/// `q`: the same as Ctrl-C on a cooked terminal.
fn quit() {
    crate::platform::signals::ask_to_stop();
}

impl Renderer for Dashboard {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        if let Event::Summary(summary) = &envelope.event {
            self.summaries.push((envelope.url.clone(), *summary));
        }
        lock(&self.model).apply(envelope);
        Ok(())
    }

    fn tick(&mut self) {
        lock(&self.model).sample();
    }
}

impl Drop for Dashboard {
    /// Stops the UI thread (which restores the terminal), then prints on
    /// the main screen the stderr lines held meanwhile and the summaries:
    /// one line alone, else one per server in the dashboard's state order.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(ui) = self.ui.take() {
            let _ = ui.join();
        }
        term::restore();
        let held = super::held::release();
        if held.dropped > 0 {
            let dropped = held.dropped;
            self.out
                .note(&format!("{dropped} earlier messages not kept"));
        }
        for line in held.lines {
            self.out.eprintln(&line);
        }
        let model = lock(&self.model);
        let fleet = model.servers.len() > 1;
        let view_of = |url: &str| model.servers.get(url).map(|s| &s.view);
        let lines = summary_lines(&self.summaries, view_of, fleet);
        drop(model);
        for line in lines {
            let _ = self.out.println(&line);
        }
    }
}
