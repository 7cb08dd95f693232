//! The `comfyctl` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use comfyctl::cli::Cli;
use comfyctl::error::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Leave the terminal usable if anything panics mid-spinner.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = console::Term::stderr().show_cursor();
        comfyctl::render::tty::restore();
        default_hook(info);
    }));
    comfyctl::platform::processes::raise_fd_limit();
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
    match runtime.block_on(comfyctl::run(cli)) {
        Ok(exit) => exit.into(),
        // `comfyctl watch | head` closing the pipe is a normal way to stop.
        Err(comfyctl::error::Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Exit::Ok.into()
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit().into()
        }
    }
}
