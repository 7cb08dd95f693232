
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'comfyctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'comfyctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'comfyctl' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins')
            [CompletionResult]::new('--targets', '--targets', [CompletionResultType]::ParameterName, 'A file with one server URL per line (`#` starts a comment)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--any', '--any', [CompletionResultType]::ParameterName, 'With several servers, succeed when at least one is ready (default: all must be)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output: one JSON object (NDJSON for streams)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('--no-tui', '--no-tui', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'One health check, now, with no retries')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Connect over HTTP and WebSocket, retrying with exponential backoff')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Live monitor: state changes, queue, progress; reconnects in the background')
            [CompletionResult]::new('reconnect', 'reconnect', [CompletionResultType]::ParameterValue, 'Keep trying until the full session (HTTP, WebSocket, status) is back')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'comfyctl;health' {
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Poll until every check passes or this overall deadline runs out (e.g. 5m). Without it, one check, now')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Poll interval for --wait [default: 1s]; only with --wait')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Wait for the server to come up (default) or to go away (port released)')
            [CompletionResult]::new('--workflow', '--workflow', [CompletionResultType]::ParameterName, 'A workflow in API format ("Export (API)") or a /prompt body that must validate against the server''s /object_info (repeatable)')
            [CompletionResult]::new('--require-node', '--require-node', [CompletionResultType]::ParameterName, 'A node class that must exist in /object_info (repeatable)')
            [CompletionResult]::new('--require-model', '--require-model', [CompletionResultType]::ParameterName, 'A model file that GET /models/FOLDER must list (repeatable)')
            [CompletionResult]::new('--require-cors', '--require-cors', [CompletionResultType]::ParameterName, 'The server must answer this Origin with CORS headers (ComfyUI started with --enable-cors-header)')
            [CompletionResult]::new('--max-queue', '--max-queue', [CompletionResultType]::ParameterName, 'Ready only while queue_remaining is at most N')
            [CompletionResult]::new('--max-failed', '--max-failed', [CompletionResultType]::ParameterName, 'Not ready (exit 3) when more than N of the newest 10 jobs failed within --failed-within (N is 0 to 9)')
            [CompletionResult]::new('--failed-within', '--failed-within', [CompletionResultType]::ParameterName, 'The window --max-failed counts failures in, on the server''s clock [default: 10m]')
            [CompletionResult]::new('--max-job-time', '--max-job-time', [CompletionResultType]::ParameterName, 'Not ready (exit 3) when the running job has run longer than this')
            [CompletionResult]::new('--min-vram-free', '--min-vram-free', [CompletionResultType]::ParameterName, 'Not ready (exit 3) while the primary device has less free VRAM than SIZE: 8GiB, 512MB (MB, GB: powers of 1000), 2G (K, M, G, T: powers of 1024, as KiB, MiB, GiB, TiB) or bytes')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'With --wait: give up at once (exit 1) when this process (the ComfyUI you started) exits')
            [CompletionResult]::new('--pid-file', '--pid-file', [CompletionResultType]::ParameterName, 'Like --pid, the PID read from FILE; a file not there yet is waited for')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins')
            [CompletionResult]::new('--targets', '--targets', [CompletionResultType]::ParameterName, 'A file with one server URL per line (`#` starts a comment)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--any', '--any', [CompletionResultType]::ParameterName, 'With several servers, succeed when at least one is ready (default: all must be)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output: one JSON object (NDJSON for streams)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('--no-tui', '--no-tui', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'comfyctl;connect' {
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after the first attempt')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Backoff factor: the delay starts at 1s and grows by this much per retry')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins')
            [CompletionResult]::new('--targets', '--targets', [CompletionResultType]::ParameterName, 'A file with one server URL per line (`#` starts a comment)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--any', '--any', [CompletionResultType]::ParameterName, 'With several servers, succeed when at least one is ready (default: all must be)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output: one JSON object (NDJSON for streams)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('--no-tui', '--no-tui', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'comfyctl;watch' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'HTTP poll and WebSocket ping period')
            [CompletionResult]::new('--fail-after', '--fail-after', [CompletionResultType]::ParameterName, 'Consecutive failed probe rounds before the server counts as hung or degraded. A closed socket is reported at once regardless')
            [CompletionResult]::new('--recover-after', '--recover-after', [CompletionResultType]::ParameterName, 'Consecutive good WebSocket attempts before `degraded` ends')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after N HTTP polls')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Stop as soon as the server is in this state')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'Give up (state `failed`, exit 1) when one outage lasts this long')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Backoff factor between reconnection attempts (delays start at 100ms)')
            [CompletionResult]::new('--max-delay', '--max-delay', [CompletionResultType]::ParameterName, 'Longest wait between reconnection attempts. Short, so a server that comes back is noticed quickly; a refused connect costs it nothing')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Give up after this many attempts in one outage')
            [CompletionResult]::new('--max-job-time', '--max-job-time', [CompletionResultType]::ParameterName, 'A job running longer than this puts the server in state `stalled` (off by default: long video jobs are legitimate)')
            [CompletionResult]::new('--busy-grace', '--busy-grace', [CompletionResultType]::ParameterName, 'A server that goes silent (no pong, HTTP times out) while a job runs still counts as up for this long: custom nodes that block ComfyUI''s event loop (off by default)')
            [CompletionResult]::new('--metrics', '--metrics', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics on this address, e.g. 127.0.0.1:9464 (GET /metrics: OpenMetrics if the scraper asks for it, else classic text)')
            [CompletionResult]::new('--on-change', '--on-change', [CompletionResultType]::ParameterName, 'Run this program (no shell) on every state change, with COMFYCTL_URL, COMFYCTL_STATE, COMFYCTL_PREVIOUS, COMFYCTL_REASON and COMFYCTL_TS set')
            [CompletionResult]::new('--webhook', '--webhook', [CompletionResultType]::ParameterName, 'POST every state change as JSON to this URL')
            [CompletionResult]::new('--hook-timeout', '--hook-timeout', [CompletionResultType]::ParameterName, 'Time limit for one --on-change run or one --webhook attempt')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins')
            [CompletionResult]::new('--targets', '--targets', [CompletionResultType]::ParameterName, 'A file with one server URL per line (`#` starts a comment)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--any', '--any', [CompletionResultType]::ParameterName, 'With several servers, succeed when at least one is ready (default: all must be)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output: one JSON object (NDJSON for streams)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('--no-tui', '--no-tui', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'comfyctl;reconnect' {
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'Give up after this long in all')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Backoff factor between reconnection attempts (delays start at 100ms)')
            [CompletionResult]::new('--max-delay', '--max-delay', [CompletionResultType]::ParameterName, 'Longest wait between reconnection attempts. Short, so a server that comes back is noticed quickly; a refused connect costs it nothing')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'Give up after this many attempts in one outage')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins')
            [CompletionResult]::new('--targets', '--targets', [CompletionResultType]::ParameterName, 'A file with one server URL per line (`#` starts a comment)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--any', '--any', [CompletionResultType]::ParameterName, 'With several servers, succeed when at least one is ready (default: all must be)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output: one JSON object (NDJSON for streams)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('--no-tui', '--no-tui', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'comfyctl;completions' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port] (port 8188 when neither scheme nor port is given); repeat for several servers. Default: $COMFYUI_URL (comma-separated); without either (or --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins')
            [CompletionResult]::new('--targets', '--targets', [CompletionResultType]::ParameterName, 'A file with one server URL per line (`#` starts a comment)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header, e.g. for a reverse proxy with auth (repeatable)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Send `Authorization: Bearer TOKEN` on every request and the WebSocket upgrade. -H Authorization wins over it; it wins over the URL''s user:password. Prefer the variable: a flag shows in `ps`')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file for https:// servers (a private CA, or a proxy''s self-signed certificate), instead of the system''s')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'What the calling pipeline should do while the backend is unavailable [default: $COMFYCTL_FALLBACK, else placeholder]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--any', '--any', [CompletionResultType]::ParameterName, 'With several servers, succeed when at least one is ready (default: all must be)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify TLS certificates at all (prints a warning; anyone on the path could read and change the traffic). Wins over --cacert')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output: one JSON object (NDJSON for streams)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing; the exit code says it all')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('--no-tui', '--no-tui', [CompletionResultType]::ParameterName, '`watch` on a terminal: status lines (or the fleet table) instead of the full-screen dashboard')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'comfyctl;help' {
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'One health check, now, with no retries')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Connect over HTTP and WebSocket, retrying with exponential backoff')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Live monitor: state changes, queue, progress; reconnects in the background')
            [CompletionResult]::new('reconnect', 'reconnect', [CompletionResultType]::ParameterValue, 'Keep trying until the full session (HTTP, WebSocket, status) is back')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'comfyctl;help;health' {
            break
        }
        'comfyctl;help;connect' {
            break
        }
        'comfyctl;help;watch' {
            break
        }
        'comfyctl;help;reconnect' {
            break
        }
        'comfyctl;help;completions' {
            break
        }
        'comfyctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
