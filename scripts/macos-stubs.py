#!/usr/bin/env python3
"""Writes link-time stubs (.tbd) for the two Apple frameworks comfyctl uses.

rustls' platform verifier and rustls-native-certs read the macOS trust store
through Security.framework (and CoreFoundation). zig ships libSystem's stub
but no framework stubs, and there is no macOS SDK here. A .tbd only names a
library's install path and the symbols it exports; the linker records the
path, and on a Mac dyld loads the real framework. So the stubs list exactly
the symbols the compiled crates import, read from their rlibs with llvm-nm.

Usage: macos-stubs.py DEPS_DIR OUT_DIR  (OUT_DIR gets NAME.framework/NAME.tbd)
"""

import pathlib
import subprocess
import sys

FRAMEWORKS = {
    # Framework: the symbol prefixes its C API uses.
    "Security": ("_Sec", "_kSec", "_SSL", "_Authorization", "_kAuthorization"),
    "CoreFoundation": ("_CF", "_kCF", "___CF"),
}
TARGETS = "[ x86_64-macos, arm64-macos, arm64e-macos ]"


def symbols(deps: pathlib.Path) -> tuple[set[str], set[str]]:
    """Undefined and defined symbols over every rlib in deps."""
    rlibs = sorted(str(p) for p in deps.glob("*.rlib"))
    if not rlibs:
        sys.exit(f"macos-stubs: no .rlib in {deps}")
    undefined, defined = set(), set()
    for flag, into in (("--undefined-only", undefined), ("--defined-only", defined)):
        out = subprocess.run(
            ["llvm-nm", flag, "--no-sort", "--format=just-symbols", *rlibs],
            capture_output=True, text=True, check=False,
        ).stdout
        into.update(line.strip() for line in out.splitlines() if line.startswith("_"))
    return undefined, defined


SOURCES = {"Security": "security-framework-sys", "CoreFoundation": "core-foundation-sys"}


def declared(name: str) -> set[str]:
    """The C symbols a -sys crate declares, from its source (the pinned
    version in Cargo.lock): used when the rlibs hold LLVM bitcode (fat LTO)
    that this llvm-nm cannot read. A superset of what is imported."""
    import os
    import re
    crate = SOURCES[name]
    lock = pathlib.Path("Cargo.lock").read_text()
    version = re.search(rf'name = "{crate}"\nversion = "([^"]+)"', lock).group(1)
    home = pathlib.Path(os.environ.get("CARGO_HOME", pathlib.Path.home() / ".cargo"))
    found = set()
    for src in home.glob(f"registry/src/*/{crate}-{version}/src/**/*.rs"):
        text = src.read_text(errors="replace")
        found.update("_" + m for m in re.findall(r"pub fn (\w+)\s*\(", text))
        found.update("_" + m for m in re.findall(r"pub static (?:mut )?(\w+)\s*:", text))
    return found


def tbd(name: str, syms: list[str]) -> str:
    listed = ", ".join(f"'{s}'" for s in syms)
    return (
        "--- !tapi-tbd\n"
        "tbd-version:     4\n"
        f"targets:         {TARGETS}\n"
        f"install-name:    '/System/Library/Frameworks/{name}.framework/Versions/A/{name}'\n"
        "exports:\n"
        f"  - targets:         {TARGETS}\n"
        f"    symbols:         [ {listed} ]\n"
        "...\n"
    )


def main() -> None:
    deps, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    undefined, defined = symbols(deps)
    wanted = undefined - defined
    for name, prefixes in FRAMEWORKS.items():
        syms = sorted(s for s in wanted if s.startswith(prefixes))
        if not syms:
            syms = sorted(s for s in declared(name) if s.startswith(prefixes))
        if not syms:
            sys.exit(f"macos-stubs: no {name} symbols found in {deps}")
        fw = out / f"{name}.framework"
        fw.mkdir(parents=True, exist_ok=True)
        (fw / f"{name}.tbd").write_text(tbd(name, syms))
        print(f"macos-stubs: {name}: {len(syms)} symbols", file=sys.stderr)


if __name__ == "__main__":
    main()
