//! What each key does to the [`Model`].

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::model::Model;

/// Longest filter kept: a held key must not grow it without bound.
const FILTER_MAX: usize = 200;

/// Applies `key`; true when it asks to quit (`q`, Ctrl-C).
pub fn handle(model: &mut Model, key: KeyEvent) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    model.dirty = true;
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return true;
    }
    if model.editing {
        edit_filter(model, key.code);
        return false;
    }
    let rows = model.rows().len();
    match key.code {
        KeyCode::Char('q') => return true,
        KeyCode::Char('?') => model.help = !model.help,
        KeyCode::Esc if model.help => model.help = false,
        KeyCode::Esc if model.details => model.details = false,
        KeyCode::Esc => model.filter.clear(),
        KeyCode::Char('p') => model.paused = !model.paused,
        KeyCode::Char('/') => {
            model.editing = true;
            model.filter.clear();
        }
        KeyCode::Char('s') => model.sort = model.sort.next(),
        KeyCode::Char('r') => model.reset(),
        KeyCode::Enter => model.details = !model.details,
        KeyCode::Down | KeyCode::Char('j') => {
            model.selected = (model.selected + 1).min(rows.saturating_sub(1));
        }
        KeyCode::Up | KeyCode::Char('k') => model.selected = model.selected.saturating_sub(1),
        KeyCode::PageDown => model.selected = (model.selected + 20).min(rows.saturating_sub(1)),
        KeyCode::PageUp => model.selected = model.selected.saturating_sub(20),
        KeyCode::Home | KeyCode::Char('g') => model.selected = 0,
        KeyCode::End | KeyCode::Char('G') => model.selected = rows.saturating_sub(1),
        _ => {}
    }
    false
}

/// Typing after `/`: Enter keeps the filter, Esc drops it.
fn edit_filter(model: &mut Model, code: KeyCode) {
    match code {
        KeyCode::Enter => model.editing = false,
        KeyCode::Esc => {
            model.editing = false;
            model.filter.clear();
        }
        KeyCode::Backspace => {
            model.filter.pop();
        }
        KeyCode::Char(c) if !c.is_control() && model.filter.chars().count() < FILTER_MAX => {
            model.filter.push(c);
        }
        _ => {}
    }
    model.selected = 0;
}
