mod support;
mod util;

mod cli;
mod connect;
mod health;
mod mock;
mod readiness;
mod watch;
