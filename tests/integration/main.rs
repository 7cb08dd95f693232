mod support;
mod util;

mod cli;
mod connect;
mod fleet;
mod health;
mod mock;
mod readiness;
mod watch;
