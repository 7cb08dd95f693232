//! The `comfyctl` binary: parse, run, map the outcome to an exit code.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use comfyctl::Cli;
use comfyctl::error::{Error, Exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    // Leave the terminal usable if anything panics mid-spinner.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = console::Term::stderr().show_cursor();
        comfyctl::platform::terminal::restore();
        default_hook(info);
    }));
    comfyctl::platform::processes::raise_fd_limit();
    let out = comfyctl::output(&cli);
    let plan = match comfyctl::plan(&cli) {
        Ok(plan) => plan,
        Err(e) => return failed(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Unavailable.into();
        }
    };
    match runtime.block_on(comfyctl::run(plan, out)) {
        Ok(exit) => exit.into(),
        // `comfyctl watch | head` closing the pipe is a normal way to stop.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok.into(),
        Err(e) => failed(&e),
    }
}

/// Prints an error that ended the run and gives its exit code.
fn failed(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    e.exit().into()
}

/// What clap would do with its error (print help, the version or a usage
/// error, and exit 0 or 2), except that a `--help` or `--version` that
/// cannot be written (`> /dev/full`) exits 4 like every other command.
fn clap_exit(e: &clap::Error) -> ExitCode {
    let printed = e.print().and_then(|()| {
        if e.use_stderr() {
            std::io::stderr().flush()
        } else {
            std::io::stdout().flush()
        }
    });
    match printed {
        Ok(()) => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write output: {err}");
            Exit::Output.into()
        }
    }
}
