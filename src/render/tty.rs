//! The terminal guard the live views hold; it lives in
//! [`crate::platform::terminal`], which knows what each OS needs.

pub use crate::platform::terminal::QuietEcho;
