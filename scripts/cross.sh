#!/usr/bin/env bash
# Builds comfyctl for Windows and macOS on a Debian machine, smoke-tests the
# Windows build under Wine against a Linux comfyui-mock, and writes one
# archive per target plus SHA256SUMS into target/cross/.
#
# No rustup target can be downloaded here, so the standard library is built
# from Debian's source (rust-web-src) with -Zbuild-std, using Debian's
# rustc/cargo (RUSTC_BOOTSTRAP unlocks -Z on a stable compiler). Windows links
# with mingw-w64, macOS with zig (cargo-zigbuild); nothing links an Apple
# framework, which is why reqwest has no system-configuration feature.
#
# Idempotent: packages, the venv, the Wine prefix and the shim are made once;
# cargo rebuilds only what changed. Each step prints how long it took.
#   CROSS_TARGETS="x86_64-pc-windows-gnu"  build only some targets
#   CROSS_SKIP_SMOKE=1                     do not run the tests under Wine
#   CROSS_DEADLINE=EPOCH_SECONDS           CI's budget: a macOS build that
#                                          cannot finish by then is skipped
#                                          (or stopped) with a line saying so
#   CROSS_PROFILE=release                  fat LTO, as `cargo install`
#                                          (default: the cross profile, no
#                                          LTO, parallel codegen: 3x faster)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/cross
mkdir -p "$out"

win=x86_64-pc-windows-gnu
targets=${CROSS_TARGETS:-"$win x86_64-apple-darwin aarch64-apple-darwin"}
profile=${CROSS_PROFILE:-cross}
version=$(awk -F'"' '/^version *=/{print $2; exit}' Cargo.toml)

t_start=$(date +%s)
t_last=$t_start
cpu_last=0
# CPU seconds (user + system) of every finished child so far.
# (`times` in this shell: in a $(…) subshell it would count nothing.)
cpu_now() {
  times >"$out/.times"
  awk 'NR == 2 {
    split($1, u, /[ms]/); split($2, s, /[ms]/)
    printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2]
  }' "$out/.times"
}
# Wall and CPU time of the step just finished: on a busy machine the CPU
# time is what predicts a quiet one (CPU / cores).
step() {
  local now cpu
  now=$(date +%s)
  cpu_now >"$out/.cpu"
  cpu=$(cat "$out/.cpu")
  echo "cross: [$((now - t_last))s, $((cpu - cpu_last)) CPU s] $1 done" >&2
  t_last=$now
  cpu_last=$cpu
}
die() {
  echo "cross: $*" >&2
  exit 1
}

# --- packages: Debian's Rust 1.96 with std source, mingw, Wine; zig in a venv --
need=()
[ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || need+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
command -v zip >/dev/null || need+=(zip)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null >/dev/null
fi
venv=$out/venv
if [ ! -x "$venv/bin/cargo-zigbuild" ] || ! "$venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check ziglang cargo-zigbuild
fi
step "packages"

# Debian's toolchain for every cross build, in one target dir of its own:
# the host's target/debug (rustup's compiler) is never invalidated, and the
# host's part of each build (proc macros, build scripts) is built once for
# all three targets.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=$out/build
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
dcargo=/usr/bin/cargo
# The release profile has panic = "abort", so its runtime is built too.

# --- Windows ------------------------------------------------------------------
build_windows() {
  nice -n 19 "$dcargo" build --locked --profile "$profile" -Zbuild-std=std,panic_abort --target "$win" --bins
  mkdir -p "$out/$win"
  for bin in comfyctl comfyui-mock; do
    cp -p "$CARGO_TARGET_DIR/$win/$profile/$bin.exe" "$out/$win/"
  done
  step "build $win"
}

# --- macOS (linked, not run: no Mac here) -----------------------------------
build_macos() {
  local triple=$1 dir=$CARGO_TARGET_DIR frameworks=$out/frameworks-$1
  # strip = true runs rust-objcopy, which Debian's rustc lacks; rustup's has it.
  local tools
  tools=$(find "${RUSTUP_HOME:-$HOME/.rustup}/toolchains" -name rust-objcopy -path '*linux*' 2>/dev/null | head -n1)
  # It loads libLLVM from its toolchain's lib/, which is on no search path.
  local zb=(env "PATH=$venv/bin:/usr/bin:${tools%/*}:$PATH" "LD_LIBRARY_PATH=${tools%%/rustlib/*}"
    "CARGO=$dcargo" "CARGO_TARGET_DIR=$dir"
    nice -n 19 "$venv/bin/cargo-zigbuild")
  local flags=(--locked --profile "$profile" -Zbuild-std=std,panic_abort --target "$triple")
  # Every dependency first (no link), then stubs for the Apple frameworks
  # they import (no SDK here; see macos-stubs.py), then the one link.
  "${zb[@]}" build "${flags[@]}" --lib
  python3 scripts/macos-stubs.py "$dir/$triple/$profile/deps" "$frameworks"
  "${zb[@]}" rustc "${flags[@]}" --bin comfyctl -- -L "framework=$frameworks"
  mkdir -p "$out/$triple"
  cp -p "$dir/$triple/$profile/comfyctl" "$out/$triple/"
}

for triple in $targets; do
  case $triple in
    "$win" | *-apple-darwin) ;;
    *) die "unknown target $triple" ;;
  esac
done
built=()
skipped=()

# Windows first, then its tests under Wine: what CI must never skip.
if [[ " $targets " == *" $win "* ]]; then
  build_windows
  built+=("$win")
  if [ -z "${CROSS_SKIP_SMOKE:-}" ]; then
    bash scripts/cross-wine.sh "$out/$win"
    step "tests under Wine"
  fi
fi

# Then each macOS target, within CROSS_DEADLINE when it is set: a build
# is not started with less time left than the last one took, and one
# still running at the deadline is stopped (timeout ends its process
# group). What it compiled stays cached for the next run.
last_build=300
for triple in $targets; do
  [ "$triple" = "$win" ] && continue
  started=$(date +%s)
  if [ -n "${CROSS_DEADLINE:-}" ]; then
    left=$((CROSS_DEADLINE - started))
    if [ "$left" -lt "$last_build" ]; then
      echo "cross: skipped $triple: ${left}s left of the CI budget, the last build took ${last_build}s" >&2
      skipped+=("$triple")
      continue
    fi
    rc=0
    timeout --kill-after=10 "$left" bash -c "set -euo pipefail; $(declare -f build_macos)
      $(declare -p out venv profile dcargo); build_macos $triple" || rc=$?
    # 124: the deadline came (137: and it had to be killed); else it failed.
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      echo "cross: stopped $triple at the CI deadline" >&2
      skipped+=("$triple")
      continue
    fi
    [ "$rc" = 0 ] || die "build $triple failed (exit $rc)"
  else
    build_macos "$triple"
  fi
  # Timed here, in this shell: `times` counts the build once it is reaped.
  step "build $triple"
  built+=("$triple")
  last_build=$(($(date +%s) - started))
done

# --- archives and checksums -----------------------------------------------------
rm -f "$out"/comfyctl-*.tar.gz "$out"/comfyctl-*.zip "$out/SHA256SUMS"
sums=()
for triple in ${built[@]+"${built[@]}"}; do
  name=comfyctl-$version-$triple
  stage=$out/stage/$name
  rm -rf "$stage"
  mkdir -p "$stage"
  cp README.md "$stage/"
  if [ "$triple" = "$win" ]; then
    cp "$out/$win/comfyctl.exe" "$stage/"
    (cd "$out/stage" && zip -qr -X "$out/$name.zip" "$name")
    sums+=("$name.zip" "$win/comfyctl.exe" "$win/comfyui-mock.exe")
  else
    cp "$out/$triple/comfyctl" "$stage/"
    tar -C "$out/stage" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"
    sums+=("$name.tar.gz" "$triple/comfyctl")
  fi
done
rm -rf "$out/stage"
if [ ${#sums[@]} -gt 0 ]; then
  (cd "$out" && sha256sum "${sums[@]}" >SHA256SUMS)
fi
step "archives"
for triple in ${built[@]+"${built[@]}"}; do
  file "$out/$triple"/comfyctl* | sed "s|$out/||"
done
if [ ${#skipped[@]} -gt 0 ]; then
  echo "cross: NOT built within the CI budget: ${skipped[*]} (run scripts/cross.sh again: it resumes from the cache)" >&2
fi
echo "cross: built ${built[*]:-nothing} in $(($(date +%s) - t_start))s; see target/cross/SHA256SUMS" >&2
