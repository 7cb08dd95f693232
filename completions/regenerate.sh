#!/usr/bin/env bash
# Regenerates the committed completion scripts from the CLI definition.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin comfyctl
bin=target/debug/comfyctl
"$bin" completions bash > completions/comfyctl.bash
"$bin" completions zsh > completions/_comfyctl
"$bin" completions fish > completions/comfyctl.fish
"$bin" completions powershell > completions/_comfyctl.ps1
"$bin" completions elvish > completions/comfyctl.elv
