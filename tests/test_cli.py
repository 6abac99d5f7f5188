"""The ``asterinas-lab`` command, run as a subprocess like a user would.

``asterinas-lab run`` must behave like ``qemu-x86_64``: the guest's status becomes the
command's status (128 + N on signal N), stdin/stdout/stderr are the host's, and every
failure is one clear line on stderr with a shell-style status, never a traceback.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IMAGES_BIN = REPO / "images" / "bin"
HELLO = IMAGES_BIN / "hello"
ARGS = IMAGES_BIN / "args"
BUSYBOX = Path("/usr/bin/busybox")


def cli(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "asterinas_lab.cli", *argv], input=stdin, capture_output=True, timeout=120
    )
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc


def stderr_lines(proc: subprocess.CompletedProcess[bytes]) -> list[str]:
    return proc.stderr.decode(errors="replace").splitlines()


@pytest.fixture(scope="module")
def busybox_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not installed")
    root = tmp_path_factory.mktemp("cliroot")
    (root / "bin").mkdir()
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    return root


# --- status and environment ---------------------------------------------------------


def test_hello() -> None:
    proc = cli("run", str(HELLO))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"hello, world\n", b"")


def test_exit_status_is_passed_through() -> None:
    proc = cli("run", "-E", "EXIT_CODE=3", str(ARGS))
    assert proc.returncode == 3
    assert b"env[2]=EXIT_CODE=3\n" in proc.stdout


def test_env_and_args() -> None:
    proc = cli("run", "-E", "FOO=bar", "-E", "EMPTY=", str(ARGS), "one", "two words")
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines() == [
        "argc=3",
        f"argv[0]={ARGS}",
        "argv[1]=one",
        "argv[2]=two words",
        "env[0]=PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "env[1]=HOME=/",
        "env[2]=FOO=bar",
        "env[3]=EMPTY=",
    ]


def test_bad_env_option() -> None:
    proc = cli("run", "-E", "NOEQUALS", str(HELLO))
    assert proc.returncode == 2
    assert len(stderr_lines(proc)) == 1 and "NOEQUALS" in proc.stderr.decode()


def test_sigsegv_is_128_plus_11() -> None:
    proc = cli("run", str(IMAGES_BIN / "segv_null"))
    assert proc.returncode == 139


def test_stdin_is_connected(busybox_root: Path) -> None:
    proc = cli("run", "--root", str(busybox_root), "/bin/busybox", "cat", stdin=b"abc\n")
    assert (proc.returncode, proc.stdout) == (0, b"abc\n")


def test_stdin_through_a_shell_pipe(busybox_root: Path) -> None:
    command = f"echo abc | {sys.executable} -m asterinas_lab.cli run --root {busybox_root} /bin/busybox cat"
    proc = subprocess.run(["sh", "-c", command], capture_output=True, timeout=120)
    assert (proc.returncode, proc.stdout) == (0, b"abc\n"), proc.stderr


# --- failures: one line, shell-style status ------------------------------------------


def test_missing_program(tmp_path: Path) -> None:
    proc = cli("run", str(tmp_path / "no-such-program"))
    assert proc.returncode == 127
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "no-such-program" in lines[0] and "No such file or directory" in lines[0]


def test_missing_program_in_root(busybox_root: Path) -> None:
    proc = cli("run", "--root", str(busybox_root), "/bin/nothere")
    assert proc.returncode == 127
    assert len(stderr_lines(proc)) == 1 and "/bin/nothere" in proc.stderr.decode()


def _text(path: Path) -> Path:
    path.write_text("just some text\n")
    return path


def _truncated(path: Path) -> Path:
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not installed")
    path.write_bytes(BUSYBOX.read_bytes()[:200])
    return path


def _patched(offset: int, value: bytes) -> object:
    def make(path: Path) -> Path:
        data = bytearray(HELLO.read_bytes())
        data[offset : offset + len(value)] = value
        path.write_bytes(bytes(data))
        return path

    return make


@pytest.mark.parametrize(
    "make",
    [_text, _truncated, _patched(4, b"\x01"), _patched(18, (183).to_bytes(2, "little"))],
    ids=["text-file", "truncated-elf", "elf32", "aarch64-elf"],
)
def test_not_executable(tmp_path: Path, make) -> None:
    prog = make(tmp_path / "prog")
    prog.chmod(0o755)
    proc = cli("run", str(prog))
    assert proc.returncode == 126
    lines = stderr_lines(proc)
    assert len(lines) == 1, lines
    assert "exec format error" in lines[0] and str(prog) in lines[0]
    assert proc.stdout == b""


def test_root_not_a_directory(tmp_path: Path) -> None:
    not_dir = _text(tmp_path / "file")
    proc = cli("run", "--root", str(not_dir), "/bin/hello")
    assert proc.returncode == 2
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "not a directory" in lines[0]


def test_root_does_not_exist(tmp_path: Path) -> None:
    proc = cli("run", "--root", str(tmp_path / "missing"), "/bin/hello")
    assert proc.returncode == 2
    assert len(stderr_lines(proc)) == 1


# --- --strace -----------------------------------------------------------------------


def test_strace_musl_hello() -> None:
    proc = cli("run", "--strace", str(HELLO))
    assert proc.returncode == 0
    assert proc.stdout == b"hello, world\n"
    lines = stderr_lines(proc)
    assert 'writev(1, [{iov_base="hello, world", iov_len=12}, {iov_base="\\n", iov_len=1}], 2) = 13' in lines
    assert lines[-1] == "exit_group(0) = ?"


def test_strace_write_line(busybox_root: Path) -> None:
    proc = cli("run", "--root", str(busybox_root), "--strace", "/bin/busybox", "echo", "hello, world")
    assert proc.returncode == 0
    assert proc.stdout == b"hello, world\n"
    lines = stderr_lines(proc)
    assert 'write(1, "hello, world\\n", 13) = 13' in lines
    assert lines[-1] == "exit_group(0) = ?"
    assert all(
        re.match(r"^[a-z_0-9]+\(.*\) += (-?\d+|0x[0-9a-f]+|\?)( [A-Z]+ \(.*\))?$", line) for line in lines
    ), lines


# --- boot ---------------------------------------------------------------------------


def test_boot() -> None:
    proc = cli("boot")
    assert proc.returncode == 0
    out = proc.stdout.decode(errors="replace")
    assert re.search(r"^\[ *\d+\.\d+\] ostd: ", out, re.M), out
    assert "ostd: entering the kernel" in out
    assert "Welcome to asterinas-lab!" in out
    assert "init: done" in out


# --- the bug catalogue ---------------------------------------------------------------


def test_bugs_prints_the_table_and_succeeds_when_outcomes_are_as_claimed() -> None:
    proc = cli("bugs", "syscall_exception", "double_put")
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    assert re.search(r"syscall_exception\s+safe kernel\s+contained", out)
    assert re.search(r"double_put\s+OSTD\s+memory corrupted", out)


def test_bugs_without_the_bugs_runs_every_demonstration_clean() -> None:
    proc = cli("bugs", "--without", "no_tlb_flush", "read_overflow")
    assert proc.returncode == 0
    assert proc.stdout.decode().count("contained") == 2


def test_bugs_unknown_name() -> None:
    proc = cli("bugs", "no_such_bug")
    assert proc.returncode == 2 and b"unknown bug" in proc.stderr
