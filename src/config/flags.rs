//! The command line's names for what the manager's messages mention: each
//! [`Setting`] is the flag that sets it.

use crate::manager::Setting;

/// The flag that sets `setting`, as messages show it.
pub fn flag_name(setting: Setting) -> &'static str {
    match setting {
        Setting::Url => "--url",
        Setting::Token => "--token",
        Setting::Header => "--header",
        Setting::CaCert => "--cacert",
        Setting::Insecure => "--insecure",
        Setting::MaxJobTime => "--max-job-time",
        Setting::BusyGrace => "--busy-grace",
    }
}

/// Makes the manager's messages name flags (`--max-job-time`), for this
/// whole run. Called by [`super::plan`]; tests of those messages call it too.
pub fn name_flags() {
    crate::manager::name_settings(flag_name);
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
