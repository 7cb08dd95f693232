
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
            cand --url 'Server URL: http(s)://host[:port][/prefix] or host:port. Without it, 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable'
            cand --color 'When to use colour'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand health 'One health check, now, with no retries'
            cand connect 'Connect over HTTP and WebSocket, retrying with exponential backoff'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'comfyctl;health'= {
            cand --url 'Server URL: http(s)://host[:port][/prefix] or host:port. Without it, 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable'
            cand --color 'When to use colour'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;connect'= {
            cand --retries 'Retries after the first attempt'
            cand --backoff 'Backoff factor: the delay starts at 1s and grows by this much per retry'
            cand --url 'Server URL: http(s)://host[:port][/prefix] or host:port. Without it, 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable'
            cand --color 'When to use colour'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;completions'= {
            cand --url 'Server URL: http(s)://host[:port][/prefix] or host:port. Without it, 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first ComfyUI wins'
            cand -H 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --header 'Extra request header, e.g. for a reverse proxy with auth (repeatable)'
            cand --timeout 'Time limit for each request or attempt (e.g. 500ms, 5s, 1m)'
            cand --fallback 'What the calling pipeline should do while the backend is unavailable'
            cand --color 'When to use colour'
            cand --json 'Machine-readable output: one JSON object (NDJSON for streams)'
            cand -q 'Print nothing; the exit code says it all'
            cand --quiet 'Print nothing; the exit code says it all'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'comfyctl;help'= {
            cand health 'One health check, now, with no retries'
            cand connect 'Connect over HTTP and WebSocket, retrying with exponential backoff'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'comfyctl;help;health'= {
        }
        &'comfyctl;help;connect'= {
        }
        &'comfyctl;help;completions'= {
        }
        &'comfyctl;help;help'= {
        }
    ]
    $completions[$command]
}
