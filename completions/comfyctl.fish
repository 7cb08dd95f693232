# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_comfyctl_global_optspecs
    string join \n url= targets= any H/header= token= cacert= insecure timeout= fallback= json color= q/quiet plain h/help V/version
end

function __fish_comfyctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_comfyctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_comfyctl_using_subcommand
    set -l cmd (__fish_comfyctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c comfyctl -n "__fish_comfyctl_needs_command" -l url -d 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins' -r
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l targets -d 'A file with one server URL per line (`#` starts a comment)' -r -F
complete -c comfyctl -n "__fish_comfyctl_needs_command" -s H -l header -d 'Extra request header, e.g. for a reverse proxy with auth (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l token -d 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL\'s user:password. Prefer the variable: a flag shows in `ps`' -r
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l cacert -d 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy\'s self-signed certificate), instead of the system\'s' -r -F
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l timeout -d 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)' -r
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l fallback -d 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]' -r -f -a "placeholder\t'Generate placeholder images instead'
skip\t'Skip generation'
abort\t'Abort the operation'"
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR and TERM=dumb are unset'
always\t'Always colour'
never\t'Never colour'"
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l any -d 'With several servers, succeed when at least one is ready (default: all must be)'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l insecure -d 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l json -d 'Machine-readable output: one JSON object (NDJSON for streams)'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -s q -l quiet -d 'Print nothing; the exit code says it all'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -l plain -l no-tui -d '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -s V -l version -d 'Print version'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -f -a "health" -d 'One health check, now, with no retries'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -f -a "connect" -d 'Connect over HTTP and WebSocket, retrying with exponential backoff'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -f -a "watch" -d 'Live monitor: state changes, queue, progress; reconnects in the background'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -f -a "reconnect" -d 'Keep trying until the full session (HTTP, WebSocket, status) is back'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c comfyctl -n "__fish_comfyctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l wait -d 'Poll until every check passes or this overall deadline runs out (e.g. 5m). Without it, one check, now' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l interval -d 'Poll interval for --wait [default: 1s]; only with --wait' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l expect -d 'Wait for the server to come up (default) or to go away (port released)' -r -f -a "up\t'Wait until the server is up and ready'
down\t'Wait until the server has gone away (connections refused)'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l workflow -d 'A workflow in API format ("Export (API)") or a /prompt body that must validate against the server\'s /object_info (repeatable)' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l require-node -d 'A node class that must exist in /object_info (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l require-model -d 'A model file that GET /models/FOLDER must list (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l require-cors -d 'The server must answer this Origin with CORS headers (ComfyUI started with --enable-cors-header)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l max-queue -d 'Ready only while queue_remaining is at most N' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l max-failed -d 'Not ready (exit 3) when more than N of the newest 10 jobs failed within --failed-within (N is 0 to 9)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l failed-within -d 'The window --max-failed counts failures in, on the server\'s clock [default: 10m]' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l max-job-time -d 'Not ready (exit 3) when the running job has run longer than this' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l min-vram-free -d 'Not ready (exit 3) while the primary device has less free VRAM than SIZE: 8GiB, 512MB (MB, GB: powers of 1000), 2G (K, M, G, T: powers of 1024, as KiB, MiB, GiB, TiB) or bytes' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l pid -d 'With --wait: give up at once (exit 1) when this process (the ComfyUI you started) exits' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l pid-file -d 'Like --pid, the PID read from FILE; a file not there yet is waited for' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l url -d 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l targets -d 'A file with one server URL per line (`#` starts a comment)' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -s H -l header -d 'Extra request header, e.g. for a reverse proxy with auth (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l token -d 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL\'s user:password. Prefer the variable: a flag shows in `ps`' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l cacert -d 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy\'s self-signed certificate), instead of the system\'s' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l timeout -d 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l fallback -d 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]' -r -f -a "placeholder\t'Generate placeholder images instead'
skip\t'Skip generation'
abort\t'Abort the operation'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR and TERM=dumb are unset'
always\t'Always colour'
never\t'Never colour'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l any -d 'With several servers, succeed when at least one is ready (default: all must be)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l insecure -d 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l json -d 'Machine-readable output: one JSON object (NDJSON for streams)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -s q -l quiet -d 'Print nothing; the exit code says it all'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -l plain -l no-tui -d '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand health" -s V -l version -d 'Print version'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l retries -d 'Retries after the first attempt' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l backoff -d 'Backoff factor: the delay starts at 1s and grows by this much per retry' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l url -d 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l targets -d 'A file with one server URL per line (`#` starts a comment)' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -s H -l header -d 'Extra request header, e.g. for a reverse proxy with auth (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l token -d 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL\'s user:password. Prefer the variable: a flag shows in `ps`' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l cacert -d 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy\'s self-signed certificate), instead of the system\'s' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l timeout -d 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l fallback -d 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]' -r -f -a "placeholder\t'Generate placeholder images instead'
skip\t'Skip generation'
abort\t'Abort the operation'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR and TERM=dumb are unset'
always\t'Always colour'
never\t'Never colour'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l any -d 'With several servers, succeed when at least one is ready (default: all must be)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l insecure -d 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l json -d 'Machine-readable output: one JSON object (NDJSON for streams)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -s q -l quiet -d 'Print nothing; the exit code says it all'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -l plain -l no-tui -d '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand connect" -s V -l version -d 'Print version'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l interval -d 'HTTP poll and WebSocket ping period' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l fail-after -d 'Consecutive failed probe rounds before the server counts as hung or degraded. A closed socket is reported at once regardless' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l recover-after -d 'Consecutive good WebSocket attempts before `degraded` ends' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l count -d 'Stop after N HTTP polls' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l until -d 'Stop as soon as the server is in this state' -r -f -a "connected\t'Stop once connected'
disconnected\t'Stop once disconnected'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l deadline -d 'Give up (state `failed`, exit 1) when one outage lasts this long' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l backoff -d 'Backoff factor between reconnection attempts (delays start at 100ms)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l max-delay -d 'Longest wait between reconnection attempts. Short, so a server that comes back is noticed quickly; a refused connect costs it nothing' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l max-attempts -d 'Give up after this many attempts in one outage' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l max-job-time -d 'A job running longer than this puts the server in state `stalled` (off by default: long video jobs are legitimate)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l busy-grace -d 'A server that goes silent (no pong, HTTP times out) while a job runs still counts as up for this long: custom nodes that block ComfyUI\'s event loop (off by default)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l metrics -d 'Serve Prometheus metrics on this address, e.g. 127.0.0.1:9464 (GET /metrics: OpenMetrics if the scraper asks for it, else classic text)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l on-change -d 'Run this program (no shell) on every state change, with COMFYCTL_URL, COMFYCTL_STATE, COMFYCTL_PREVIOUS, COMFYCTL_REASON and COMFYCTL_TS set' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l webhook -d 'POST every state change as JSON to this URL' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l hook-timeout -d 'Time limit for one --on-change run or one --webhook attempt' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l url -d 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l targets -d 'A file with one server URL per line (`#` starts a comment)' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -s H -l header -d 'Extra request header, e.g. for a reverse proxy with auth (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l token -d 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL\'s user:password. Prefer the variable: a flag shows in `ps`' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l cacert -d 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy\'s self-signed certificate), instead of the system\'s' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l timeout -d 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l fallback -d 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]' -r -f -a "placeholder\t'Generate placeholder images instead'
skip\t'Skip generation'
abort\t'Abort the operation'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR and TERM=dumb are unset'
always\t'Always colour'
never\t'Never colour'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l any -d 'With several servers, succeed when at least one is ready (default: all must be)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l insecure -d 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l json -d 'Machine-readable output: one JSON object (NDJSON for streams)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -s q -l quiet -d 'Print nothing; the exit code says it all'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -l plain -l no-tui -d '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand watch" -s V -l version -d 'Print version'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l deadline -d 'Give up after this long in all' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l backoff -d 'Backoff factor between reconnection attempts (delays start at 100ms)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l max-delay -d 'Longest wait between reconnection attempts. Short, so a server that comes back is noticed quickly; a refused connect costs it nothing' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l max-attempts -d 'Give up after this many attempts in one outage' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l url -d 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l targets -d 'A file with one server URL per line (`#` starts a comment)' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -s H -l header -d 'Extra request header, e.g. for a reverse proxy with auth (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l token -d 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL\'s user:password. Prefer the variable: a flag shows in `ps`' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l cacert -d 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy\'s self-signed certificate), instead of the system\'s' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l timeout -d 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l fallback -d 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]' -r -f -a "placeholder\t'Generate placeholder images instead'
skip\t'Skip generation'
abort\t'Abort the operation'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR and TERM=dumb are unset'
always\t'Always colour'
never\t'Never colour'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l any -d 'With several servers, succeed when at least one is ready (default: all must be)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l insecure -d 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l json -d 'Machine-readable output: one JSON object (NDJSON for streams)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -s q -l quiet -d 'Print nothing; the exit code says it all'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -l plain -l no-tui -d '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand reconnect" -s V -l version -d 'Print version'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l url -d 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l targets -d 'A file with one server URL per line (`#` starts a comment)' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -s H -l header -d 'Extra request header, e.g. for a reverse proxy with auth (repeatable)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l token -d 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL\'s user:password. Prefer the variable: a flag shows in `ps`' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l cacert -d 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy\'s self-signed certificate), instead of the system\'s' -r -F
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l timeout -d 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)' -r
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l fallback -d 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]' -r -f -a "placeholder\t'Generate placeholder images instead'
skip\t'Skip generation'
abort\t'Abort the operation'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR and TERM=dumb are unset'
always\t'Always colour'
never\t'Never colour'"
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l any -d 'With several servers, succeed when at least one is ready (default: all must be)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l insecure -d 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l json -d 'Machine-readable output: one JSON object (NDJSON for streams)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -s q -l quiet -d 'Print nothing; the exit code says it all'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -l plain -l no-tui -d '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand help; and not __fish_seen_subcommand_from health connect watch reconnect completions help" -f -a "health" -d 'One health check, now, with no retries'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand help; and not __fish_seen_subcommand_from health connect watch reconnect completions help" -f -a "connect" -d 'Connect over HTTP and WebSocket, retrying with exponential backoff'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand help; and not __fish_seen_subcommand_from health connect watch reconnect completions help" -f -a "watch" -d 'Live monitor: state changes, queue, progress; reconnects in the background'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand help; and not __fish_seen_subcommand_from health connect watch reconnect completions help" -f -a "reconnect" -d 'Keep trying until the full session (HTTP, WebSocket, status) is back'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand help; and not __fish_seen_subcommand_from health connect watch reconnect completions help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c comfyctl -n "__fish_comfyctl_using_subcommand help; and not __fish_seen_subcommand_from health connect watch reconnect completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
