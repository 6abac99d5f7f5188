"""procfs, the new /dev entries and statfs/fstatfs, checked with busybox in the lab.

Where the output does not depend on the machine (file-system magic numbers, error
messages) the same command also runs natively and the outputs must agree.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from asterinas_lab import runner

BUSYBOX = Path("/usr/bin/busybox")
pytestmark = pytest.mark.skipif(not BUSYBOX.exists(), reason="needs /usr/bin/busybox")


def sh(script: str, stdin: bytes | None = None) -> runner.RunResult:
    kwargs = {} if stdin is None else {"stdin": stdin}
    result = runner.run([str(BUSYBOX), "sh", "-c", script], host_files=runner.host_program(str(BUSYBOX)), **kwargs)
    assert not result.oopses, result.oopses
    return result


def out(script: str) -> str:
    return sh(script).stdout.decode()


def native(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BUSYBOX), "sh", "-c", script], capture_output=True, timeout=30)


# --- /proc/PID ----------------------------------------------------------------------------


def test_self_cmdline_is_nul_separated_argv() -> None:
    assert sh("cat /proc/self/cmdline").stdout == b"cat\0/proc/self/cmdline\0"


def test_cmdline_of_the_shell() -> None:
    expected = b"%s\0sh\0-c\0cat /proc/$$/cmdline; true\0" % bytes(BUSYBOX)
    assert sh("cat /proc/$$/cmdline; true").stdout == expected


def test_self_exe_and_self_link() -> None:
    text = out("readlink /proc/self/exe; readlink /proc/self; echo $$")
    exe, self_pid, shell_pid = text.split()
    assert exe == str(BUSYBOX)
    assert int(self_pid) > int(shell_pid)  # readlink ran in a child process


def test_status_fields() -> None:
    text = out("cat /proc/$$/status; echo ppid=$PPID")
    fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
    assert fields["Name"] == "busybox"
    assert fields["Pid"] == fields["Tgid"] == "1"
    assert fields["PPid"] == "0"
    assert fields["State"].startswith(("R", "S"))
    assert fields["Uid"].split() == ["0"] * 4
    assert fields["Threads"] == "1"
    assert int(fields["VmSize"].split()[0]) > 0
    assert int(fields["VmRSS"].split()[0]) > 0


def test_grep_status() -> None:
    assert out("grep -E '^(Pid|PPid):' /proc/$$/status") == "Pid:\t1\nPPid:\t0\n"


def test_stat_format() -> None:
    text = out("cat /proc/self/stat; true")
    match = re.fullmatch(r"(\d+) \((.*)\) R (\d+) (\d+) (\d+) (.*)\n", text)
    assert match is not None, text
    assert match.group(2) in ("cat", "exe")
    assert match.group(3) == "1"  # the shell
    assert len(text.split()) == 52  # every field Linux has


def test_maps_has_program_stack_and_heap() -> None:
    text = out("cat /proc/self/maps")
    lines = text.splitlines()
    assert any(line.endswith("[stack]") for line in lines)
    assert any(line.endswith(str(BUSYBOX)) and " r-xp " in line for line in lines)
    for line in lines:
        assert re.match(r"[0-9a-f]{8,}-[0-9a-f]{8,} [r-][w-][x-][ps] [0-9a-f]{8} 00:00 \d+", line), line


def test_fd_directory_lists_open_fds() -> None:
    assert out("ls /proc/self/fd") == "0\n1\n2\n3\n"  # 3: the directory ls reads
    # The shell execs ls (its last command), so $$ is ls: 3 is its directory, 5 inherited.
    assert out("exec 5</proc/self/status; ls /proc/$$/fd") == "0\n1\n2\n3\n5\n"
    assert out("exec 5</proc/self/status; readlink /proc/$$/fd/5") == "/proc/1/status\n"


def test_fd_links_of_pipes() -> None:
    assert re.fullmatch(
        r"pipe:\[\d+\]\n", out("readlink /proc/self/fd/0 < /dev/null | true; echo | readlink /proc/self/fd/0")
    )


def test_cwd_link() -> None:
    assert out("cd /dev && readlink /proc/self/cwd; cd /proc/self && pwd -P") == "/dev\n/proc/1\n"


def test_proc_lists_processes() -> None:
    names = out("ls /proc").split()
    assert "1" in names and "self" in names and "meminfo" in names


def test_ps_lists_processes() -> None:
    lines = out("ps; true").splitlines()
    assert lines[0].split()[0] == "PID"
    assert any(line.split()[0] == "1" for line in lines[1:])
    assert len(lines) >= 3  # the shell and ps itself


def test_exited_child_disappears_and_stdio_links() -> None:
    # ash reaps the background child on SIGCHLD, so its directory is gone (as natively).
    result = sh("true & sleep 0.1; cat /proc/$!/stat; readlink /proc/$$/fd/1")
    assert result.stderr.startswith(b"cat: can't open '/proc/2/stat': No such file or directory")
    assert result.stdout == b"/dev/console\n"


# --- system-wide files ----------------------------------------------------------------------


def test_meminfo_and_free() -> None:
    meminfo = out("cat /proc/meminfo")
    total = int(re.search(r"MemTotal:\s+(\d+) kB", meminfo).group(1))
    assert total == 256 * 1024  # the lab's default RAM
    free = out("free").splitlines()
    assert free[1].split()[:2] == ["Mem:", str(total)]


def test_uptime_loadavg_cpuinfo() -> None:
    uptime, idle = out("cat /proc/uptime").split()
    assert float(uptime) >= 0 and float(idle) >= 0
    assert re.fullmatch(r"\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+/\d+ \d+\n", out("cat /proc/loadavg"))
    assert out("grep -c ^processor /proc/cpuinfo") == "1\n"


def test_mounts_and_filesystems() -> None:
    mounts = out("cat /proc/mounts").splitlines()
    # The real mount table: the boot-time tmpfs on /tmp is a mount of its own.
    assert [line.split()[1:3] for line in mounts] == [["/", "tmpfs"], ["/proc", "proc"], ["/tmp", "tmpfs"]]
    assert "\tproc" in out("cat /proc/filesystems")


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        "echo x > /proc/self/status; echo rc=$?",  # root may open it; write(2) is EINVAL
        "cat /proc/99999/stat; echo rc=$?",
        "mkdir /proc/foo; echo rc=$?",
        "busybox stat -f -c %t /proc",
    ],
)
def test_same_as_linux(script: str) -> None:
    expected = native(script)
    result = sh(script)
    assert (result.stdout, result.stderr) == (expected.stdout, expected.stderr)


# --- /dev -----------------------------------------------------------------------------------


def test_dev_stdout_stderr_stdin() -> None:
    result = sh("echo hi > /dev/stdout; echo err > /dev/stderr; echo in | cat /dev/stdin")
    assert result.stdout == b"hi\nin\n"
    assert result.stderr == b"err\n"
    assert out("readlink /dev/stdout") == "/proc/self/fd/1\n"


def test_dev_stdout_after_redirecting_stdout() -> None:
    # fd 1 becomes the file opened through /dev/stdout itself: no endless forwarding.
    assert out("exec 1>/dev/stdout; echo still") == "still\n"


def test_dev_tty_and_console() -> None:
    assert out("echo t > /dev/tty; echo c > /dev/console") == "t\nc\n"
    assert out("ls -l /dev/tty /dev/console | cut -c1") == "c\nc\n"


# --- statfs ---------------------------------------------------------------------------------


def test_statfs_types() -> None:
    assert out("stat -f -c %t / /proc /dev") == "1021994\n9fa0\n1021994\n"
    assert out("stat -f -c %T /") == "tmpfs\n"
    assert out("stat -f -c '%s %l' /") == "4096 255\n"


def test_df_reads_mounts_and_statfs() -> None:
    lines = out("df -k /").splitlines()
    assert lines[1].split()[0] == "none" and lines[1].split()[1] == str(256 * 1024 // 2)


def test_fstatfs_layout() -> None:
    import struct
    from types import SimpleNamespace

    from asterinas_lab.kernel.fs.ramfs import RamFs
    from asterinas_lab.kernel.syscall.fs import TMPFS_MAGIC, _pack_statfs

    t = SimpleNamespace(kernel=SimpleNamespace(memory_stats=lambda: (1000, 400)))
    packed = _pack_statfs(t, RamFs().root)
    assert len(packed) == 120  # sizeof(struct statfs) on x86-64
    f_type, bsize, blocks, bfree, bavail = struct.unpack_from("<qqQQQ", packed)
    assert (f_type, bsize, blocks, bfree, bavail) == (TMPFS_MAGIC, 4096, 500, 400, 400)
    pipe = SimpleNamespace(path=b"pipe:[3]")
    assert struct.unpack_from("<q", _pack_statfs(t, None, pipe))[0] == 0x50495045
