//! The flag table against clap, the manager and its own limits.

use super::*;
use crate::config::names::{flag_name, name_flags};
use crate::manager::Setting;

/// A row of the table, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub enum Row {
    /// A duration flag (`DURATION` in `--help`).
    Duration(&'static Flag<Durations>),
    /// A whole-number flag (`N`).
    Count(&'static Flag<Counts>),
    /// A factor (`FACTOR`).
    Factor(&'static Flag<Factors>),
}

/// Every row.
pub const TABLE: [Row; 19] = [
    Row::Duration(&TIMEOUT),
    Row::Duration(&WATCH_INTERVAL),
    Row::Duration(&HEALTH_INTERVAL),
    Row::Duration(&WAIT),
    Row::Duration(&WATCH_DEADLINE),
    Row::Duration(&RECONNECT_DEADLINE),
    Row::Duration(&MAX_DELAY),
    Row::Duration(&HOOK_TIMEOUT),
    Row::Duration(&BUSY_GRACE),
    Row::Duration(&FAILED_WITHIN),
    Row::Duration(&MAX_JOB_TIME),
    Row::Count(&RETRIES),
    Row::Count(&FAIL_AFTER),
    Row::Count(&RECOVER_AFTER),
    Row::Count(&COUNT),
    Row::Count(&MAX_ATTEMPTS),
    Row::Count(&MAX_QUEUE),
    Row::Count(&MAX_FAILED),
    Row::Factor(&BACKOFF),
];

impl Row {
    /// The flag's name, its commands, default and implied default.
    pub fn parts(
        self,
    ) -> (
        &'static str,
        &'static [&'static str],
        Option<&'static str>,
        Option<&'static str>,
    ) {
        match self {
            Row::Duration(f) => (f.name, f.commands, f.default, f.implied),
            Row::Count(f) => (f.name, f.commands, f.default, f.implied),
            Row::Factor(f) => (f.name, f.commands, f.default, f.implied),
        }
    }

    /// The value name `--help` shows for this kind.
    pub fn value_name(self) -> &'static str {
        match self {
            Row::Duration(_) => "DURATION",
            Row::Count(_) => "N",
            Row::Factor(_) => "FACTOR",
        }
    }
}

/// Every argument of `command` (its subcommand's name, `""` for the
/// globals) that takes a duration, a whole number or a factor.
fn numeric_args(cli: &clap::Command) -> Vec<(String, &clap::Arg)> {
    let globals = cli.get_arguments().map(|a| (String::new(), a));
    let commands = cli
        .get_subcommands()
        .flat_map(|c| c.get_arguments().map(|a| (c.get_name().to_string(), a)));
    globals
        .chain(commands)
        .filter(|(_, a)| {
            let names = a.get_value_names().unwrap_or_default();
            names
                .iter()
                .any(|n| ["DURATION", "N", "FACTOR"].contains(&n.as_str()))
        })
        .collect()
}

#[test]
fn every_numeric_flag_has_exactly_one_row_and_its_default() {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let mut used = Vec::new();
    for (command, arg) in numeric_args(&cli) {
        let long = format!("--{}", arg.get_long().unwrap_or_default());
        let rows: Vec<(usize, Row)> = TABLE
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, r)| {
                let (name, commands, ..) = r.parts();
                name == long && commands.contains(&command.as_str())
            })
            .collect();
        assert_eq!(rows.len(), 1, "{command} {long}: one row in the flag table");
        let (i, row) = rows[0];
        used.push((i, command.clone()));
        let (_, _, default, implied) = row.parts();
        let value_names = arg.get_value_names().unwrap_or_default();
        assert_eq!(value_names[0].as_str(), row.value_name(), "{long}");
        let clap_default: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            clap_default,
            default.map(String::from).into_iter().collect::<Vec<_>>(),
            "{command} {long}: clap's default is the row's"
        );
        if let Some(implied) = implied {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(help.contains(&format!("[default: {implied}]")), "{help}");
        }
    }
    for (i, row) in TABLE.iter().enumerate() {
        let (name, commands, ..) = row.parts();
        for command in commands {
            assert!(
                used.contains(&(i, command.to_string())),
                "row {name} for '{command}' has no clap argument"
            );
        }
    }
}

#[test]
fn every_default_is_within_its_limits() {
    let mut problems = super::super::Problems::default();
    for row in TABLE {
        match row {
            Row::Duration(f) => {
                for d in f.default.iter().chain(f.implied.iter()) {
                    assert_eq!(
                        f.parse(d).map(|v| v == f.fallback()),
                        Ok(true),
                        "{}",
                        f.name
                    );
                }
            }
            Row::Count(f) => {
                if let Some(d) = f.default {
                    assert_eq!(f.parse_u32(d), Ok(f.fallback()), "{}", f.name);
                }
            }
            Row::Factor(f) => {
                let d = f.default.unwrap_or_default();
                assert_eq!(f.parse(d, &mut problems), f.fallback(), "{}", f.name);
            }
        }
    }
    assert!(problems.finish().is_ok());
}

#[test]
fn the_table_agrees_with_the_managers_defaults_and_help() {
    use crate::manager::{Backoff, ClientSettings, ConnectPolicy, WatchSettings};
    let policy = ConnectPolicy::default();
    assert_eq!(RETRIES.fallback(), policy.retries);
    let mut problems = super::super::Problems::default();
    assert_eq!(BACKOFF.parse("2.0", &mut problems), policy.backoff);
    assert_eq!(TIMEOUT.fallback(), ClientSettings::default().timeout);
    // The two --backoff declarations share the row; each one's help
    // names the first delay of the schedule it paces.
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let help = |command: &str| {
        let sub = cli.find_subcommand(command).expect("a subcommand");
        let arg = sub
            .get_arguments()
            .find(|a| a.get_long() == Some("backoff"));
        arg.and_then(|a| a.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default()
    };
    let first = |b: Backoff| humantime::format_duration(b.base).to_string();
    let connect = first(Backoff::connect(BACKOFF.fallback()));
    assert!(
        help("connect").contains(&format!("starts at {connect}")),
        "{}",
        help("connect")
    );
    let reconnect = first(WatchSettings::reconnect_backoff(
        BACKOFF.fallback(),
        MAX_DELAY.fallback(),
    ));
    for command in ["watch", "reconnect"] {
        assert!(
            help(command).contains(&format!("start at {reconnect}")),
            "{}",
            help(command)
        );
    }
}

#[test]
fn every_setting_is_named_by_a_flag_the_cli_has() {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let mut longs: Vec<String> = cli
        .get_arguments()
        .chain(cli.get_subcommands().flat_map(|c| c.get_arguments()))
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    longs.dedup();
    for setting in crate::manager::SETTINGS {
        let flag = flag_name(setting);
        assert!(longs.iter().any(|l| l == flag), "{setting:?}: {flag}");
    }
    name_flags();
    assert_eq!(Setting::MaxJobTime.to_string(), "--max-job-time");
}

#[test]
fn every_duration_flag_is_bounded_by_its_row() {
    for row in TABLE {
        let Row::Duration(f) = row else { continue };
        let Durations { min, max } = f.limits;
        let flag = f.name;
        assert_eq!(f.check(max), Ok(max), "{flag}");
        assert_eq!(f.check(min), Ok(min), "{flag}");
        assert!(f.check(Duration::ZERO).is_err(), "{flag}");
        if max < Duration::MAX {
            let err = f.check(max + Duration::from_secs(1)).unwrap_err();
            assert!(err.starts_with(flag) && err.contains("must be"), "{err}");
            let err = f.parse("500000000000y").unwrap_err();
            assert!(err.starts_with(flag), "{err}");
        }
    }
    assert_eq!(
        MAX_JOB_TIME.parse("0"),
        Err("--max-job-time: must be greater than 0".into())
    );
}

#[test]
fn every_count_flag_is_bounded_by_its_row() {
    for row in TABLE {
        let Row::Count(f) = row else { continue };
        let Counts { min, max } = f.limits;
        let flag = f.name;
        assert_eq!(f.check(min), Ok(min), "{flag}");
        assert_eq!(f.check(max), Ok(max), "{flag}");
        let range = if max == u64::MAX {
            format!("of at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        if min > 0 {
            let err = f.check(min - 1).unwrap_err();
            assert_eq!(
                err,
                format!("{flag}: expected a whole number {range}, got '{}'", min - 1)
            );
        }
        if max < u64::MAX {
            let err = f.check(max + 1).unwrap_err();
            assert_eq!(
                err,
                format!("{flag}: expected a whole number {range}, got '{}'", max + 1)
            );
        }
        for bad in ["-1", "ten", "1.5", "99999999999999999999", "+1", ""] {
            let err = f.parse(bad).unwrap_err();
            assert_eq!(
                err,
                format!("{flag}: expected a whole number {range}, got '{bad}'")
            );
        }
    }
}
