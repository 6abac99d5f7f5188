#!/usr/bin/env python3
"""Reproducible build of asterinas-lab's own user programs (images/src/*.c).

Usage::

    python images/build.py                 # musl (zig cc) -> images/bin/<name>
    python images/build.py --out DIR       # musl build into DIR instead
    python images/build.py --glibc         # gcc -static  -> images/build-glibc/
    python images/build.py --check         # rebuild in a temp dir, compare with images/bin/

The musl build uses the ``ziglang`` PyPI package (``python -m ziglang cc``),
so no system cross toolchain is needed and the output is byte-for-byte
reproducible: the binaries are stripped, carry no build-id and no compiler
ident string, and the compiler is run from images/src/ with relative file
names so no absolute path can leak into the output.

Importable API: :func:`build_all`, :func:`build_one`, :func:`compiler_command`,
:func:`check`.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

IMAGES_DIR = Path(__file__).resolve().parent
SRC_DIR = IMAGES_DIR / "src"
BIN_DIR = IMAGES_DIR / "bin"
GLIBC_OUT_DIR = IMAGES_DIR / "build-glibc"

#: Programs built without libc (raw ``syscall`` from ``_start``).
FREESTANDING = frozenset({"tiny", "tiny_data"})

#: Programs that are expected to die with SIGSEGV.
CRASHING = frozenset({"segv_null", "segv_kernel", "segv_nx"})

#: Programs meant to run only inside the lab (as pid 1, with little RAM).
#: Natively they print a refusal and exit 0.
LAB_ONLY = frozenset({"fork_bomb", "fuzz_syscalls"})

#: Per-program extra flags (both toolchains).
EXTRA_FLAGS = {
    "clone_threads": ["-pthread"],
    "futex_wake": ["-pthread"],
    "pthread_counter": ["-pthread"],
}

#: Flags shared by both toolchains.
COMMON_FLAGS = [
    "-std=c11",
    "-O2",
    "-static",
    "-s",                        # strip: no symbols, no debug info, no paths
    "-fno-ident",                # no .comment "clang version ..." from the compiler
    "-Wl,--build-id=none",       # no content hash note
    "-Wall",
]

#: Extra flags for the libc-free programs.
FREESTANDING_FLAGS = [
    "-nostdlib",
    "-ffreestanding",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
]

MUSL_TARGET_FLAGS = ["-target", "x86_64-linux-musl", "-mcpu=baseline"]
GLIBC_TARGET_FLAGS = ["-march=x86-64", "-mtune=generic"]


def program_names() -> list[str]:
    """Names (without ``.c``) of all programs in images/src, sorted."""
    return sorted(p.stem for p in SRC_DIR.glob("*.c"))


def compiler_command(name: str, output: Path | str, libc: str = "musl") -> list[str]:
    """The argv that compiles ``images/src/<name>.c`` to ``output``.

    The command must be run with ``cwd=SRC_DIR`` (the source is named
    relatively so that no absolute path is seen by the compiler).
    """
    if libc == "musl":
        cmd = [sys.executable, "-m", "ziglang", "cc", *MUSL_TARGET_FLAGS]
    elif libc == "glibc":
        cmd = [os.environ.get("CC", "gcc"), *GLIBC_TARGET_FLAGS]
    else:
        raise ValueError(f"unknown libc {libc!r} (expected 'musl' or 'glibc')")
    cmd += COMMON_FLAGS
    if name in FREESTANDING:
        cmd += FREESTANDING_FLAGS
    cmd += EXTRA_FLAGS.get(name, [])
    cmd += ["-o", str(output), f"{name}.c"]
    return cmd


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Keep locale / timestamps out of anything the toolchain might record.
    env["LC_ALL"] = "C"
    env["SOURCE_DATE_EPOCH"] = "0"
    env.pop("ZIG_DEBUG_COLOR", None)
    return env


def build_one(name: str, out_dir: Path, libc: str = "musl") -> Path:
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / name
    cmd = compiler_command(name, output, libc)
    proc = subprocess.run(cmd, cwd=SRC_DIR, env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"building {name} ({libc}) failed with status {proc.returncode}:\n"
            f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
        )
    if proc.stderr.strip():
        print(f"[{name}] {proc.stderr.strip()}", file=sys.stderr)
    output.chmod(0o755)
    return output


def build_all(out_dir: Path, libc: str = "musl") -> dict[str, Path]:
    """Build every program in images/src into ``out_dir``; return name -> path."""
    return {name: build_one(name, out_dir, libc) for name in program_names()}


def check(reference_dir: Path = BIN_DIR) -> list[str]:
    """Rebuild (musl) in a temp dir; return the names that differ from ``reference_dir``.

    A program missing from ``reference_dir`` or an extra binary there with no
    source also counts as a difference.
    """
    reference_dir = Path(reference_dir)
    with tempfile.TemporaryDirectory(prefix="asterinas-lab-images-") as tmp:
        built = build_all(Path(tmp), "musl")
        bad = []
        for name, path in built.items():
            ref = reference_dir / name
            if not ref.is_file() or not filecmp.cmp(path, ref, shallow=False):
                bad.append(name)
        committed = {p.name for p in reference_dir.iterdir() if p.is_file() and not p.name.startswith(".")}
        bad += sorted(committed - set(built))
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temp dir and fail if anything differs from images/bin/")
    ap.add_argument("--out", type=Path, default=None,
                    help="output directory (default images/bin/, or images/build-glibc/ with --glibc)")
    ap.add_argument("--glibc", action="store_true", help="build with gcc -static against glibc")
    args = ap.parse_args(argv)

    if args.check:
        if args.glibc:
            ap.error("--check only applies to the committed musl binaries")
        bad = check(args.out or BIN_DIR)
        if bad:
            print("images differ from a fresh build: " + ", ".join(bad), file=sys.stderr)
            return 1
        print(f"all {len(program_names())} images reproduce byte-for-byte")
        return 0

    libc = "glibc" if args.glibc else "musl"
    out = args.out or (GLIBC_OUT_DIR if args.glibc else BIN_DIR)
    if libc == "glibc" and shutil.which(os.environ.get("CC", "gcc")) is None:
        print("gcc not found", file=sys.stderr)
        return 1
    built = build_all(out, libc)
    for _name, path in built.items():
        print(f"{path.stat().st_size:8d}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
