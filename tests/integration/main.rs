mod support;
mod util;

mod cli;
mod connect;
mod fleet;
mod fuzz;
mod health;
mod hostile;
mod mock;
mod netfaults;
mod pacing;
mod readiness;
mod soak;
mod watch;
