//! Limits and executables: what a process may open, and whether a path
//! names a program the OS will start without a shell.

use std::path::{Path, PathBuf};

/// Watching a fleet needs a few descriptors per server; on Unix this lifts
/// the soft limit to the hard one. Windows has no such per-process limit
/// for sockets, so there it does nothing.
pub fn raise_fd_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        // `None` is "unlimited": then there is nothing to raise.
        if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
            && current < maximum
        {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(maximum),
                    maximum: Some(maximum),
                },
            );
        }
    }
}

/// The soft limit on open descriptors, if the OS has one (Unix); `None`
/// where it has no such limit for sockets (Windows) or will not say.
pub fn fd_soft_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        Some(
            limit
                .current
                .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        )
    }
    #[cfg(not(unix))]
    None
}

/// Whether `path` is a file the OS can run directly: an execute bit on
/// Unix; on Windows an extension listed in `PATHEXT` (`.exe`, `.cmd`, …),
/// since Windows has no execute bit.
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        exe_extensions().iter().any(|e| e.eq_ignore_ascii_case(ext))
    }
}

/// The files a bare program name may stand for in one `PATH` directory:
/// the name itself, and on Windows also `NAME.exe`, which is what the
/// spawn (no shell, so no `PATHEXT` search) will start; a `.cmd` hook must
/// be named with its extension.
pub fn candidates(dir: &Path, program: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.join(program)];
    if cfg!(windows) && program.extension().is_none() {
        out.push(dir.join(program).with_extension("exe"));
    }
    out
}

/// Starts `cmd` in a process group of its own, so a signal or kill meant
/// for a hook (and what it started) can reach them all and a Ctrl-C at the
/// console does not. Windows: a new console process group
/// (`CREATE_NEW_PROCESS_GROUP`), which also keeps Ctrl-C away from it.
pub fn own_group(cmd: &mut tokio::process::Command) {
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(windows)]
    cmd.creation_flags(0x0000_0200);
}

/// `PATHEXT` without dots, lower-cased; Windows' default when unset.
#[cfg_attr(unix, allow(dead_code))]
fn exe_extensions() -> Vec<String> {
    let raw = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
    raw.split(';')
        .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_and_a_missing_file_are_not_executable() {
        assert!(!is_executable(Path::new(env!("CARGO_MANIFEST_DIR"))));
        assert!(!is_executable(Path::new("/no/such/program")));
    }

    #[cfg(unix)]
    #[test]
    fn unix_needs_the_execute_bit() {
        assert!(is_executable(Path::new("/bin/sh")));
        assert!(!is_executable(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")
        ));
        assert_eq!(candidates(Path::new("/bin"), Path::new("sh")).len(), 1);
    }
}
