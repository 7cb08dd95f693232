//! The closed sets of names the JSON carries (states, fallbacks, message
//! types, job statuses, error kinds). Each mirrors a manager enum through an
//! exhaustive `From`, so a new manager variant fails to compile here until
//! it is given its wire name (and, by the schema tests, its schema entry).

use serde::Serialize;

use crate::manager;

/// Declares a wire enum, its `From` the manager's, and `ALL` its variants.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident from $src:path {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order (for the schema tests).
            #[cfg(test)]
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            /// The name it has on the wire.
            #[cfg(test)]
            pub fn text(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        const _: () = {
            type Source = $src;
            impl From<Source> for $name {
                fn from(value: Source) -> Self {
                    match value {
                        $(Source::$variant => $name::$variant,)+
                    }
                }
            }
        };
    };
}

wire_enum! {
    /// `state`, `previous`: the connection state machine.
    State from manager::State {
        /// The first attempt is under way.
        Connecting => "connecting",
        /// HTTP answers and the WebSocket is open and answering.
        Connected => "connected",
        /// HTTP answers, the WebSocket does not.
        Degraded => "degraded",
        /// Connected, one job over `--max-job-time`.
        Stalled => "stalled",
        /// The server went away.
        Disconnected => "disconnected",
        /// Getting the session back.
        Reconnecting => "reconnecting",
        /// Reconnection gave up.
        Failed => "failed",
    }
}

wire_enum! {
    /// `fallback`: what the pipeline should do while the backend is down.
    FallbackMode from manager::FallbackMode {
        /// Generate placeholder images.
        Placeholder => "placeholder",
        /// Skip generation.
        Skip => "skip",
        /// Abort the operation.
        Abort => "abort",
    }
}

wire_enum! {
    /// `progress` lines' `type`: the ComfyUI WebSocket message.
    ProgressKind from manager::ProgressKind {
        /// `executing`.
        Executing => "executing",
        /// `progress`.
        Progress => "progress",
        /// `progress_state`.
        ProgressState => "progress_state",
        /// `execution_start`.
        ExecutionStart => "execution_start",
        /// `execution_cached`.
        ExecutionCached => "execution_cached",
        /// `execution_success`.
        ExecutionSuccess => "execution_success",
        /// `execution_error`.
        ExecutionError => "execution_error",
        /// `execution_interrupted`.
        ExecutionInterrupted => "execution_interrupted",
    }
}

wire_enum! {
    /// A job's `status`, as the Jobs API names it.
    JobStatus from manager::jobs::JobStatus {
        /// Queued.
        Pending => "pending",
        /// Running.
        InProgress => "in_progress",
        /// Finished successfully.
        Completed => "completed",
        /// A node raised.
        Failed => "failed",
        /// Interrupted.
        Cancelled => "cancelled",
    }
}

wire_enum! {
    /// `error.kind`: the class of failure.
    ErrorKind from manager::ErrorKind {
        /// Nothing listens on the port.
        ConnectionRefused => "connection_refused",
        /// The host name did not resolve.
        Dns => "dns",
        /// No answer in time.
        Timeout => "timeout",
        /// The TLS handshake failed.
        Tls => "tls",
        /// A non-success HTTP status.
        HttpStatus => "http_status",
        /// Not ComfyUI.
        NotComfyui => "not_comfyui",
        /// The WebSocket upgrade was refused.
        WsRefused => "ws_refused",
        /// The WebSocket closed, broke or went silent.
        WsClosed => "ws_closed",
        /// Any other network failure.
        Network => "network",
        /// The watched ComfyUI process exited.
        ProcessExited => "process_exited",
    }
}
