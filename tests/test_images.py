"""Tests for images/: the project's own static user programs.

(a) a fresh musl build reproduces the committed images/bin/ byte-for-byte
    (runs in the normal suite; the first zig build may take ~30-60 s);
(b) every committed binary is a static x86-64 ELF;
(c) the programs run natively with the expected output / exit status.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images"
BIN = IMAGES / "bin"
SRC = IMAGES / "src"


def _load_build():
    spec = importlib.util.spec_from_file_location("images_build", IMAGES / "build.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("images_build", mod)
    spec.loader.exec_module(mod)
    return mod


build = _load_build()
PROGRAMS = build.program_names()
CLEAN_ENV = {"PATH": "/usr/bin:/bin"}

# name -> (argv tail, expected stdout)
EXPECTED = {
    "hello": ([], b"hello, world\n"),
    "tiny": ([], b"Hello from user mode!\n"),
    "getppid_loop": (["100"], b"done 100\n"),
    "compute_loop": (["0"], b"result 11400714819323198487\n"),
    "sieve": (["1000"], b"primes below 1000: 168\n"),
    "args": (["one", "two words"],
             b"argc=3\nargv[0]=%s\nargv[1]=one\nargv[2]=two words\nenv[0]=PATH=/usr/bin:/bin\n"),
}


def _run(name, args=(), env=CLEAN_ENV, **kw):
    exe = BIN / name
    return subprocess.run([str(exe), *args], env=env, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=30, **kw)


def test_every_source_has_a_committed_binary():
    assert PROGRAMS, "no sources in images/src"
    missing = [p for p in PROGRAMS if not (BIN / p).is_file()]
    assert not missing, f"run `python images/build.py`; missing: {missing}"


# --- (a) reproducibility ---------------------------------------------------

def test_rebuild_reproduces_committed_binaries():
    pytest.importorskip("ziglang")
    differing = build.check(BIN)
    assert differing == [], (
        f"images/bin is stale or the build is not reproducible: {differing}; "
        "run `python images/build.py`")


# --- (b) static x86-64 ELF ------------------------------------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_binary_is_static_x86_64_elf(name):
    with open(BIN / name, "rb") as f:
        elf = ELFFile(f)
        assert elf.elfclass == 64
        assert elf.little_endian
        assert elf["e_machine"] == "EM_X86_64"
        assert elf["e_type"] in ("ET_EXEC", "ET_DYN")
        types = [seg["p_type"] for seg in elf.iter_segments()]
        assert "PT_INTERP" not in types, "dynamically linked (has an interpreter)"
        if elf["e_type"] == "ET_EXEC":
            assert "PT_DYNAMIC" not in types
        # (ET_DYN + PT_DYNAMIC without PT_INTERP would be static-pie: allowed)
        assert types.count("PT_LOAD") >= 1
        assert elf.get_section_by_name(".symtab") is None, "binary is not stripped"


def test_tiny_is_tiny():
    with open(BIN / "tiny", "rb") as f:
        elf = ELFFile(f)
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert len(loads) <= 2
    assert (BIN / "tiny").stat().st_size < 4096


def test_total_size_small():
    total = sum((BIN / p).stat().st_size for p in PROGRAMS)
    assert total < 2 * 1024 * 1024


# --- (c) native runs -------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_program_output(name):
    args, expected = EXPECTED[name]
    p = _run(name, args)
    assert p.returncode == 0, p.stderr
    if b"%s" in expected:
        expected = expected.replace(b"%s", str(BIN / name).encode())
    assert p.stdout == expected


@pytest.mark.parametrize("name", [p for p in PROGRAMS if p not in build.CRASHING])
def test_noncrashing_program_exits_zero(name):
    args = {"cat_file": [str(SRC / "hello.c")], "getppid_loop": ["10"],
            "compute_loop": ["1000"], "sieve": ["10000"]}.get(name, [])
    p = _run(name, args)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert p.stdout


def test_args_exit_code_from_env():
    p = _run("args", ["x"], env={**CLEAN_ENV, "EXIT_CODE": "42"})
    assert p.returncode == 42
    assert b"env[1]=EXIT_CODE=42\n" in p.stdout


def test_cat_file_copies_file():
    src = SRC / "errnos.c"   # > 100 bytes: several read() calls
    p = _run("cat_file", [str(src)])
    assert p.returncode == 0
    assert p.stdout == src.read_bytes()


def test_cat_file_missing_file():
    p = _run("cat_file", ["/nonexistent/file"])
    assert p.returncode == 1
    assert p.stdout == b"open: No such file or directory\n"


def test_errnos_output():
    p = _run("errnos")
    assert p.returncode == 0
    assert p.stdout == (
        b"write(-1) = -1 errno=EBADF\n"
        b"write(1, bad_ptr) = -1 errno=EFAULT\n"
        b"open(/nonexistent) = -1 errno=ENOENT\n"
        b"close(1000) = -1 errno=EBADF\n"
        b"syscall(9999) = -1 errno=ENOSYS\n"
        b"openat(bad_ptr) = -1 errno=EFAULT\n"
        b"read(-1) = -1 errno=EBADF\n"
        b"write(1, len=0) = 0 errno=0\n"
        b"ioctl(1, TIOCGWINSZ) = -1 errno=ENOTTY\n"
    )


def test_init_banner_and_env():
    p = _run("init", ["--flag"])
    assert p.returncode == 0
    out = p.stdout.decode()
    assert out.startswith("Welcome to asterinas-lab!\nargc = 2\n")
    assert "argv[1] = --flag\n" in out
    assert "env[0] = PATH=/usr/bin:/bin\n" in out
    assert out.endswith("init: done\n")
    if not os.path.exists("/etc/motd"):
        assert "(no /etc/motd)\n" in out


@pytest.mark.parametrize("name", sorted(build.CRASHING))
def test_segv_programs_die_with_sigsegv(name):
    p = _run(name)
    assert p.returncode == -signal.SIGSEGV
    assert p.stdout == b"before\n"


@pytest.mark.skipif(not Path("/usr/bin/busybox").is_file(), reason="busybox-static not installed")
def test_default_image_has_busybox_and_its_applet_links():
    from asterinas_lab import runner

    result = runner.run(["/bin/sh", "-c", "echo 6 7 | awk '{print $1*$2}'; readlink /usr/bin/sort; ls /bin/hello"])
    assert result.status == 0, result
    assert result.stdout == b"42\n/bin/busybox\n/bin/hello\n"
