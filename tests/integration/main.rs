mod support;
mod util;

mod cli;
mod connect;
mod fleet;
mod fuzz;
mod health;
mod hostile;
mod jobs;
mod mock;
mod neighbours;
mod readiness;
mod soak;
mod trial_config;
mod trial_output;
mod watch;
