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
