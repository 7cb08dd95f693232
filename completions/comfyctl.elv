
use builtin;
use str;

set edit:completion:arg-completer[comfyctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'comfyctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'comfyctl'= {
            cand --url 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand --targets 'A file with one server URL per line (`#` starts a comment)'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --token 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`'
            cand --cacert 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]'
            cand --color 'When to use colour'
            cand --any 'With several servers, succeed when at least one is ready (default: all must be)'
            cand --insecure 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand --plain '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand --no-tui '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand health 'One health check, now, with no retries'
            cand connect 'Connect over HTTP and WebSocket, retrying with exponential backoff'
            cand watch 'Live monitor: state changes, queue, progress; reconnects in the background'
            cand reconnect 'Keep trying until the full session (HTTP, WebSocket, status) is back'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'comfyctl;health'= {
            cand --wait 'Poll until every check passes or this overall deadline runs out (e.g. 5m). Without it, one check, now'
            cand --interval 'Poll interval for --wait [default: 1s]; only with --wait'
            cand --expect 'Wait for the server to come up (default) or to go away (port released)'
            cand --workflow 'A workflow in API format ("Export (API)") or a /prompt body that must validate against the server''s /object_info (repeatable)'
            cand --require-node 'A node class that must exist in /object_info (repeatable)'
            cand --require-model 'A model file that GET /models/FOLDER must list (repeatable)'
            cand --require-cors 'The server must answer this Origin with CORS headers (ComfyUI started with --enable-cors-header)'
            cand --max-queue 'Ready only while queue_remaining is at most N'
            cand --max-failed 'Not ready (exit 3) when more than N of the newest 10 jobs failed within --failed-within (N is 0 to 9)'
            cand --failed-within 'The window --max-failed counts failures in, on the server''s clock [default: 10m]'
            cand --max-job-time 'Not ready (exit 3) when the running job has run longer than this'
            cand --min-vram-free 'Not ready (exit 3) while the primary device has less free VRAM than SIZE: 8GiB, 512MB (MB, GB: powers of 1000), 2G (K, M, G, T: powers of 1024, as KiB, MiB, GiB, TiB) or bytes'
            cand --pid 'With --wait: give up at once (exit 1) when this process (the ComfyUI you started) exits'
            cand --pid-file 'Like --pid, the PID read from FILE; a file not there yet is waited for'
            cand --url 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand --targets 'A file with one server URL per line (`#` starts a comment)'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --token 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`'
            cand --cacert 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]'
            cand --color 'When to use colour'
            cand --any 'With several servers, succeed when at least one is ready (default: all must be)'
            cand --insecure 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand --plain '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand --no-tui '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;connect'= {
            cand --retries 'Retries after the first attempt'
            cand --backoff 'Backoff factor: the delay starts at 1s and grows by this much per retry'
            cand --url 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand --targets 'A file with one server URL per line (`#` starts a comment)'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --token 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`'
            cand --cacert 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]'
            cand --color 'When to use colour'
            cand --any 'With several servers, succeed when at least one is ready (default: all must be)'
            cand --insecure 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand --plain '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand --no-tui '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;watch'= {
            cand --interval 'HTTP poll and WebSocket ping period'
            cand --fail-after 'Consecutive failed probe rounds before the server counts as hung or degraded. A closed socket is reported at once regardless'
            cand --recover-after 'Consecutive good WebSocket attempts before `degraded` ends'
            cand --count 'Stop after N HTTP polls'
            cand --until 'Stop as soon as the server is in this state'
            cand --deadline 'Give up (state `failed`, exit 1) when one outage lasts this long'
            cand --backoff 'Backoff factor between reconnection attempts (delays start at 100ms)'
            cand --max-delay 'Longest wait between reconnection attempts. Short, so a server that comes back is noticed quickly; a refused connect costs it nothing'
            cand --max-attempts 'Give up after this many attempts in one outage'
            cand --max-job-time 'A job running longer than this puts the server in state `stalled` (off by default: long video jobs are legitimate)'
            cand --busy-grace 'A server that goes silent (no pong, HTTP times out) while a job runs still counts as up for this long: custom nodes that block ComfyUI''s event loop (off by default)'
            cand --metrics 'Serve Prometheus metrics on this address, e.g. 127.0.0.1:9464 (GET /metrics: OpenMetrics if the scraper asks for it, else classic text)'
            cand --on-change 'Run this program (no shell) on every state change, with COMFYCTL_URL, COMFYCTL_STATE, COMFYCTL_PREVIOUS, COMFYCTL_REASON and COMFYCTL_TS set'
            cand --webhook 'POST every state change as JSON to this URL'
            cand --hook-timeout 'Time limit for one --on-change run or one --webhook attempt'
            cand --url 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand --targets 'A file with one server URL per line (`#` starts a comment)'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --token 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`'
            cand --cacert 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]'
            cand --color 'When to use colour'
            cand --any 'With several servers, succeed when at least one is ready (default: all must be)'
            cand --insecure 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand --plain '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand --no-tui '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;reconnect'= {
            cand --deadline 'Give up after this long in all'
            cand --backoff 'Backoff factor between reconnection attempts (delays start at 100ms)'
            cand --max-delay 'Longest wait between reconnection attempts. Short, so a server that comes back is noticed quickly; a refused connect costs it nothing'
            cand --max-attempts 'Give up after this many attempts in one outage'
            cand --url 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand --targets 'A file with one server URL per line (`#` starts a comment)'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --token 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`'
            cand --cacert 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]'
            cand --color 'When to use colour'
            cand --any 'With several servers, succeed when at least one is ready (default: all must be)'
            cand --insecure 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand --plain '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand --no-tui '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;completions'= {
            cand --url 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand --targets 'A file with one server URL per line (`#` starts a comment)'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --token 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`'
            cand --cacert 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]'
            cand --color 'When to use colour'
            cand --any 'With several servers, succeed when at least one is ready (default: all must be)'
            cand --insecure 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand --plain '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand --no-tui '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;help'= {
            cand health 'One health check, now, with no retries'
            cand connect 'Connect over HTTP and WebSocket, retrying with exponential backoff'
            cand watch 'Live monitor: state changes, queue, progress; reconnects in the background'
            cand reconnect 'Keep trying until the full session (HTTP, WebSocket, status) is back'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'comfyctl;help;health'= {
        }
        &'comfyctl;help;connect'= {
        }
        &'comfyctl;help;watch'= {
        }
        &'comfyctl;help;reconnect'= {
        }
        &'comfyctl;help;completions'= {
        }
        &'comfyctl;help;help'= {
        }
    ]
    $completions[$command]
}
