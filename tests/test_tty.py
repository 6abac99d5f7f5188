"""The console tty: line discipline, termios ioctls and job control, Linux as the oracle.

Keystrokes are scripted: a list of steps ``(expect, keys)`` -- wait until *expect*
(bytes in the output since the previous step, or a :class:`Foreground` condition) and
then type *keys*. In the lab the script is the tty's driver (:class:`ScriptedConsole`);
natively the same script drives a program on the slave side of a host pty
(``os.openpty``), so both see the same keys at the same points and their terminal
transcripts -- echo, rub-outs, ``^C``, job messages, ``\\r\\n`` -- can be compared
byte for byte. A step that never comes true ends the run (the lab's line hangs up,
the native program is killed) and fails the test instead of hanging it.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shlex
import signal
import struct
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from asterinas_lab import runner
from asterinas_lab.kernel.device.tty import (
    ECHO,
    ECHOCTL,
    ECHOE,
    ECHOK,
    ECHOKE,
    ECHOPRT,
    ICANON,
    ISIG,
    NOFLSH,
    VEOF,
    VMIN,
    VTIME,
    Tty,
    console_stdio,
)

REPO = Path(__file__).resolve().parent.parent
BUSYBOX = Path("/usr/bin/busybox")
TTY_IOCTLS = REPO / "images" / "bin" / "tty_ioctls"
STEP_TIMEOUT = 20.0
NATIVE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PS1": "$ "}

needs_busybox = pytest.mark.skipif(not BUSYBOX.is_file(), reason=f"{BUSYBOX} not installed")


@dataclass(frozen=True)
class Foreground:
    """A step condition: the tty's foreground process group runs *comm*; with
    *reading* (*writing*), that process also sleeps reading (writing) the terminal."""

    comm: bytes
    reading: bool = False
    writing: bool = False

    def in_lab(self, tty: Tty) -> bool:
        kernel = tty.kernel
        if kernel is None or tty.pgrp is None:
            return False
        members = [p for p in kernel.processes.values() if p.pgid == tty.pgrp and not p.zombie]
        return (
            any(p.comm == self.comm for p in members)
            and (not self.reading or len(tty.read_queue) > 0)
            and (not self.writing or len(tty.write_queue) > 0)
        )

    def natively(self, master: int) -> bool:
        try:
            pgrp = os.tcgetpgrp(master)
        except OSError:
            return False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
                comm = stat[stat.index(b"(") + 1 : stat.rindex(b")")]
                state, _ppid, group = stat[stat.rindex(b")") + 2 :].split()[:3]
                if int(group) != pgrp or comm != self.comm or state != b"S":
                    continue
                if not self.reading and not self.writing:
                    return True
                syscall = Path(f"/proc/{entry}/syscall").read_text()
                if syscall.startswith("0 0x0 " if self.reading else "1 0x1 "):
                    return True  # read(0, ...) or write(1, ...)
            except (OSError, ValueError):
                continue
        return False


Step = tuple["bytes | Foreground | None", bytes]


@dataclass
class Transcript:
    output: bytes
    status: int
    stuck: object = None  # the step that never came true, if any
    termios_restored: bool = True  # natively: the pty's settings are as before the run

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")


class ScriptedConsole:
    """A tty driver that types a script of keys and records what the terminal shows."""

    has_input = True

    def __init__(self, steps: list[Step]) -> None:
        self.steps = list(steps)
        self.output = bytearray()
        self.mark = 0
        self.since = time.monotonic()
        self.tty: Tty | None = None
        self.stuck: object = None

    def write(self, data: bytes) -> None:
        self.output += data

    def read_input(self) -> bytes | None:
        if not self.steps:
            # Everything typed: a session that has not ended a while later is hung up.
            return None if time.monotonic() - self.since > STEP_TIMEOUT else b""
        expect, keys = self.steps[0]
        if isinstance(expect, Foreground):
            met = self.tty is not None and expect.in_lab(self.tty)
        else:
            met = expect is None or expect in self.output[self.mark :]
        if met:
            self.steps.pop(0)
            self.mark = len(self.output)
            self.since = time.monotonic()
            return keys
        if time.monotonic() - self.since > STEP_TIMEOUT:
            self.stuck = expect
            self.steps.clear()
            return None  # hang up: the session gets SIGHUP, readers end of file
        return b""


def in_lab(
    argv: list[str],
    steps: list[Step],
    env: dict[str, str] | None = None,
    host_files: dict[bytes, tuple[int, bytes]] | None = None,
) -> Transcript:
    """Run *argv* on the lab's console tty, typing *steps*."""
    driver = ScriptedConsole(steps)
    tty = Tty(driver)
    driver.tty = tty
    stdio = console_stdio(tty)
    result = runner.run(
        argv, env=env, host_files=host_files, with_kernel=lambda kernel: setattr(kernel.config, "stdio", stdio)
    )
    assert not result.oopses and result.panic is None, (result.oopses, result.panic)
    return Transcript(bytes(driver.output), result.status, driver.stuck)


def leader_in_lab(
    argv: list[str],
    steps: list[Step],
    env: dict[str, str] | None = None,
    host_files: dict[bytes, tuple[int, bytes]] | None = None,
) -> Transcript:
    """Run *argv* in a session of its own whose controlling tty is the console: what a
    program started on a pty (below) has natively. pid 1 stays a plain parent."""
    command = "setsid -c " + " ".join(shlex.quote(a) for a in argv) + "; exit $?"
    return in_lab(["/bin/busybox", "sh", "-c", command], steps, env, host_files)


def on_host_pty(
    argv: list[str], steps: list[Step], env: dict[str, str], winsize: tuple[int, int] = (0, 0)
) -> Transcript:
    """Run *argv* natively as a session leader on a new pty, typing *steps*. The test
    keeps the slave open too, to compare its settings before and after the run."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", winsize[0], winsize[1], 0, 0))
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the slave
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    output = bytearray()
    steps, mark, since, stuck, status = list(steps), 0, time.monotonic(), None, None
    try:
        while True:
            if steps:
                expect, keys = steps[0]
                met = expect.natively(master) if isinstance(expect, Foreground) else (
                    expect is None or expect in output[mark:])  # fmt: skip
                if met:
                    steps.pop(0)
                    mark, since = len(output), time.monotonic()
                    os.write(master, keys)
                elif time.monotonic() - since > STEP_TIMEOUT:
                    stuck = expect
                    steps.clear()
                    os.kill(pid, signal.SIGKILL)
            if select.select([master], [], [], 0.01)[0]:
                output += os.read(master, 4096)
            elif status is not None:
                break  # exited, and everything it wrote has been read
            else:
                done, raw = os.waitpid(pid, os.WNOHANG)
                status = raw if done else None
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            status = os.waitpid(pid, 0)[1]
        after = termios.tcgetattr(slave)
        os.close(master)
        os.close(slave)
    code = os.waitstatus_to_exitcode(status)
    return Transcript(bytes(output), 128 - code if code < 0 else code, stuck, before == after)


def both(argv: list[str], steps: list[Step], env: dict[str, str] | None = None) -> tuple[Transcript, Transcript]:
    """The same busybox command on the lab's console and on a host pty."""
    lab = leader_in_lab(["/bin/busybox", *argv], steps, {"PS1": NATIVE_ENV["PS1"], **(env or {})})
    native = on_host_pty([str(BUSYBOX), *argv], steps, {**NATIVE_ENV, **(env or {})})
    assert lab.stuck is None, f"lab: waited in vain for {lab.stuck!r}; output so far: {lab.text!r}"
    assert native.stuck is None, f"Linux: waited in vain for {native.stuck!r}; output so far: {native.text!r}"
    return lab, native


# --- the line discipline on its own (no machine) --------------------------------------------


class Screen:
    has_input = False

    def __init__(self) -> None:
        self.output = bytearray()

    def write(self, data: bytes) -> None:
        self.output += data

    def read_input(self) -> bytes:
        return b""


def typed(keys: bytes, lflag_on: int = 0, lflag_off: int = 0) -> tuple[Tty, bytes]:
    screen = Screen()
    tty = Tty(screen)
    tty.termios.lflag = (tty.termios.lflag | lflag_on) & ~lflag_off
    tty.receive(keys)
    return tty, bytes(screen.output)


def test_canonical_lines_become_readable_only_at_end_of_line() -> None:
    tty, echo = typed(b"ab\x7fc\nhalf")
    assert echo == b"ab\b \bc\r\nhalf"  # DEL rubs out; NL is echoed as CR NL (ONLCR)
    assert tty.ldisc.take_line(100) == b"ac\n"
    assert not tty.ldisc.lines  # "half" is still being edited
    tty.receive(b"\x15")  # VKILL with ECHOKE: the line is rubbed out character by character
    assert tty.ldisc.edit == b""


def test_eof_ends_a_partial_line_and_an_empty_one_reads_as_zero() -> None:
    tty, echo = typed(b"abc\x04\x04")
    assert echo == b"abc"  # ^D is not echoed
    assert tty.ldisc.take_line(2) == b"ab"
    assert tty.ldisc.take_line(100) == b"c"  # the ^D went with the rest of its line
    assert tty.ldisc.take_line(100) == b""  # the second ^D: end of file
    assert not tty.ldisc.lines
    # A read exactly as long as the line leaves the ^D for the next read (Linux does).
    tty.receive(b"xy\x04")
    assert tty.ldisc.take_line(2) == b"xy"
    assert tty.ldisc.take_line(2) == b""


def test_werase_tab_and_control_character_rubouts() -> None:
    _, echo = typed(b"foo bar\x17")
    assert echo == b"foo bar\b \b\b \b\b \b"  # ^W: back to the start of the word
    _, echo = typed(b"ab\tc\x7f\x7f")
    assert echo == b"ab\tc\b \b" + b"\b" * 6  # the tab took columns 2..7
    _, echo = typed(b"x\x01\x7f")
    assert echo == b"x^A\b \b\b \b"  # ^A was shown as two columns
    _, echo = typed(b"abc\x15", lflag_off=ECHOKE)
    assert echo == b"abc^U\r\n"  # without ECHOKE, VKILL is echoed, and ECHOK adds a newline
    _, echo = typed(b"abc\x15", lflag_off=ECHOKE | ECHOK)
    assert echo == b"abc^U"
    _, echo = typed(b"ab\x7f\x7fc", lflag_on=ECHOPRT, lflag_off=ECHOE)
    assert echo == b"ab\\ba/c"  # a hard-copy terminal prints what it erases
    _, echo = typed(b"ab\x7f", lflag_off=ECHOE | ECHOCTL)
    assert echo == b"ab\x7f"


def test_non_canonical_input_is_readable_at_once_and_not_edited() -> None:
    tty, echo = typed(b"a\x7fb\n", lflag_off=ICANON)
    assert echo == b"a^?b^J" and tty.ldisc.take(10) == b"a\x7fb\n"
    tty, echo = typed(b"a\r", lflag_off=ICANON | ECHO)
    assert echo == b"" and tty.ldisc.take(10) == b"a\n"  # ICRNL still applies


def test_switching_modes_moves_pending_input() -> None:
    tty, _ = typed(b"par")
    raw = tty.termios.copy()
    raw.lflag &= ~ICANON
    tty.ldisc.set_termios(tty.termios, raw)
    tty.termios = raw
    assert tty.ldisc.take(10) == b"par"  # a half-typed line becomes readable in raw mode
    tty.receive(b"tial")
    canon = raw.copy()
    canon.lflag |= ICANON
    tty.ldisc.set_termios(raw, canon)
    tty.termios = canon
    assert tty.ldisc.take_line(10) == b"tial"  # and pending raw input one line


def test_signal_keys_flush_typeahead_unless_noflsh() -> None:
    tty, echo = typed(b"abc\x03")
    assert echo == b"abc^C" and not tty.ldisc.edit  # no foreground group here: no signal
    tty, echo = typed(b"abc\x03", lflag_on=NOFLSH)
    assert tty.ldisc.edit == b"abc"
    tty, echo = typed(b"abc\x03", lflag_off=ISIG)
    assert echo == b"abc^C" and tty.ldisc.edit == b"abc\x03"  # just a character


def test_disabled_special_characters_match_nothing() -> None:
    tty, _ = typed(b"")
    tty.termios.cc[VEOF] = 0
    tty.receive(b"a\x04\x00\n")
    assert tty.ldisc.take_line(10) == b"a\x04\x00\n"
    assert tty.termios.cc[VMIN] == 1 and tty.termios.cc[VTIME] == 0


# --- the console tty in the lab, against a host pty ---------------------------------------------


@needs_busybox
def test_echo_erase_and_end_of_file_are_linuxs() -> None:
    steps: list[Step] = [
        (None, b"ab\x7fc\n"),  # DEL
        (b"\r\nac\r\n", b"hello wor\x17there\n"),  # ^W
        (b"\r\nhello there\r\n", b"xyz\x15q\n"),  # ^U
        (b"\r\nq\r\n", b"a\tb\x7f\x7f\n"),  # rubbing out a tab
        (b"\r\na\r\n", b"x\x01\x7fy\n"),  # a control character shows as ^A
        (b"\r\nxy\r\n", b"abc\x04"),  # ^D sends a partial line
        (b"abcabc", b"\x04"),  # ^D on an empty line: end of file, cat ends
    ]
    lab, native = both(["cat"], steps)
    assert lab.output == native.output
    assert lab.output.startswith(b"ab\b \bc\r\nac\r\nhello wor\b \b\b \b\b \bthere\r\nhello there\r\n")
    assert b"x^A\b \b\b \by\r\nxy\r\n" in lab.output
    assert lab.status == native.status == 0


@needs_busybox
def test_job_control_keys_in_an_interactive_shell_are_linuxs() -> None:
    """^C ends the foreground job and the shell survives; ^\\ quits; ^Z stops a job,
    which ``fg`` brings back (the shell moves the terminal between groups each time);
    ^D ends a reading ``cat``, then the shell."""
    # ash asks the terminal where the cursor is (ESC [6n) after each prompt, unless keys
    # are already waiting: type only after that, or the transcripts differ by a race.
    steps: list[Step] = [
        (b"$ \x1b[6n", b"cat\n"),
        (Foreground(b"cat", reading=True), b"hi\n"),
        (b"hi\r\nhi\r\n", b"\x03"),
        (b"$ \x1b[6n", b"echo status $?\n"),
        (b"status 130\r\n$ \x1b[6n", b"ulimit -c 0; sleep 30\n"),
        (Foreground(b"sleep"), b"\x1c"),
        (b"$ \x1b[6n", b"echo status $?\n"),
        (b"status 131\r\n$ \x1b[6n", b"cat\n"),
        (Foreground(b"cat", reading=True), b"\x1a"),
        (b"Stopped                    cat\r\n$ \x1b[6n", b"fg\n"),
        (Foreground(b"cat", reading=True), b"back\n"),
        (b"back\r\nback\r\n", b"\x04"),
        (b"$ \x1b[6n", b"echo status $?\n"),
        (b"status 0\r\n$ \x1b[6n", b"nosuchcmd | cat\n"),  # the group leader is dead (a zombie) when
        (b"not found\r\n$ \x1b[6n", b"\x04"),  # cat's turn comes to take the terminal
    ]
    lab, native = both(["sh", "-i"], steps)

    def normal(output: bytes) -> bytes:
        return output.replace(b" (core dumped)", b"")  # only if a core was written

    assert normal(lab.output) == normal(native.output)
    assert b"hi\r\n^C\r\n$ " in lab.output  # ^C is echoed, the shell prompts again
    assert re.search(rb"\^Z\[1\]\+ +Stopped +cat\r\n", lab.output), lab.output
    assert lab.status == native.status == 0


@needs_busybox
def test_proc_stat_shows_the_terminal_and_its_foreground_group() -> None:
    """/proc/PID/stat's tty_nr and tpgid: a job in the foreground of its terminal, a
    background job, and a process in a new session without a terminal (setsid)."""
    facts = ("busybox awk '{print ($8 == $5) ? \"foreground\" : \"background\", "
             "($7 != 0) ? \"terminal\" : \"no terminal\", ($8 == -1) ? \"no tpgid\" : \"tpgid\"}' /proc/self/stat")
    script = f"{facts}; {facts} & wait; busybox setsid {facts} | busybox cat"  # cat waits for the fork
    steps: list[Step] = [(b"$ \x1b[6n", script.encode() + b"\n"), (b"terminal no tpgid\r\n", b"exit\n")]
    lab, native = both(["sh", "-i"], steps)
    expected = [b"foreground terminal tpgid", b"background terminal tpgid", b"background no terminal no tpgid"]
    assert [line for line in native.output.split(b"\r\n") if line in expected] == expected, native.output
    assert [line for line in lab.output.split(b"\r\n") if line in expected] == expected, lab.output


@needs_busybox
def test_ctrl_c_stops_programs_that_never_read_the_terminal() -> None:
    """Keys are taken from the line on every timer tick, not only when someone reads:
    ^C reaches ``yes`` (all syscalls) and a loop that makes none at all."""
    prompt = b"$ \x1b[6n"
    steps: list[Step] = [
        (prompt, b"yes >/dev/null\n"),
        (Foreground(b"yes"), b"\x03"),
        (prompt, b"/bin/compute_loop 100000000000\n"),
        (Foreground(b"compute_loop"), b"\x03"),
        (prompt, b"echo status $?\n"),
        (b"status 130\r\n" + prompt, b"exit\n"),
    ]
    lab = leader_in_lab(["/bin/busybox", "sh", "-i"], steps, {"PS1": "$ "})
    assert lab.stuck is None, lab.text
    assert lab.output.count(b"^C\r\n$ ") == 2 and lab.status == 0, lab.text


@needs_busybox
def test_ctrl_s_holds_output_until_ctrl_q() -> None:
    """IXON: after ^S a writer sleeps (and echo waits) until ^Q."""
    steps: list[Step] = [
        (Foreground(b"head", reading=True), b"\x13go\n"),
        (Foreground(b"head", writing=True), b"\x11"),
        (b"go\r\ngo\r\n", b""),
        (Foreground(b"head", reading=True), b"\x13x\n"),
        (Foreground(b"head", writing=True), b"\x11"),
    ]
    lab, native = both(["sh", "-c", "head -n 1; head -n 1"], steps)
    assert lab.output == native.output == b"go\r\ngo\r\nx\r\nx\r\n"
    assert lab.status == native.status == 0


@needs_busybox
def test_raw_modes_deliver_bytes_without_a_newline() -> None:
    """``stty -icanon`` (VMIN=1, VTIME=0): bytes arrive without Enter; ``stty raw``:
    even ^C is just a byte; VMIN=0 with VTIME: a read returns 0 when nothing comes;
    VMIN=3 VTIME=2: two bytes are returned once no third came for 0.2 s."""
    script = (
        'stty -icanon -echo; x=$(head -c 3); stty sane; echo "[$x]"; '
        'stty raw -echo; x=$(head -c 2 | od -An -c); stty sane; echo "[$x]"; '
        'stty -icanon min 0 time 2; x=$(head -c 5); stty sane; echo "[$x]"; '
        'stty -icanon -echo min 3 time 2; x=$(dd bs=8 count=1 2>/dev/null); stty sane; echo "[$x]"; '
        "stty rows 40 cols 100; stty size; stty -g | cut -d: -f4,5,6,7"
    )
    steps: list[Step] = [
        (Foreground(b"head", reading=True), b"abc"),
        (b"[abc]", b""),
        (Foreground(b"head", reading=True), b"\x03q"),
        (Foreground(b"dd", reading=True), b"ab"),  # fewer than VMIN: VTIME ends the read
    ]
    lab, native = both(["sh", "-c", script], steps)
    assert lab.output == native.output
    assert lab.text.startswith("[abc]\r\n[ 003   q]\r\n[]\r\n[ab]\r\n40 100\r\n"), lab.text
    assert lab.status == native.status == 0


@pytest.fixture(scope="module", params=["musl", "glibc"])
def tty_ioctls(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """images/bin/tty_ioctls (musl), or the same source built with ``gcc -static``."""
    if request.param == "musl":
        if not TTY_IOCTLS.is_file():
            pytest.skip("images/bin/tty_ioctls not built")
        return TTY_IOCTLS
    sys.path.insert(0, str(REPO / "images"))
    try:
        import build  # images/build.py
    finally:
        sys.path.pop(0)
    try:
        return build.build_one("tty_ioctls", tmp_path_factory.mktemp("glibc"), libc="glibc")
    except (OSError, RuntimeError) as error:
        pytest.skip(f"cannot build a static glibc program: {error}")


@needs_busybox
def test_terminal_ioctls_and_job_control_errors_are_linuxs(tty_ioctls: Path) -> None:
    """TCGETS/TCSETS*, TIOC[GS]WINSZ, TIOC[GS]PGRP with their errors, TIOCSCTTY,
    TIOCNOTTY, TIOCGSID, SIGTTIN/SIGTTOU for background groups (images/src/tty_ioctls.c),
    under both libcs."""
    program = {b"/bin/tty_ioctls_test": (0o100755, tty_ioctls.read_bytes())}
    lab = leader_in_lab(["/bin/tty_ioctls_test"], [], host_files=program)
    native = on_host_pty([str(tty_ioctls)], [], NATIVE_ENV)
    assert lab.text == native.text
    for line in (
        "roundtrip equal = 1",
        "winsize 33 101 7 9",
        "tcsetpgrp(group of another session) = -1 EPERM",
        "tcsetpgrp(no such group) = -1 ESRCH",
        "background read: stopped by SIGTTIN",
        "TIOCGPGRP on a pipe = -1 ENOTTY",
        "background write, TOSTOP on: stopped by SIGTTOU",
        "done",
    ):
        assert line + "\r\n" in lab.text or line + " \r\n" in lab.text, line  # fmt: skip
    assert lab.status == native.status == 0


@needs_busybox
def test_not_the_controlling_tty() -> None:
    """The console as plain fds of pid 1 (no session owns it): a tty, but tcgetpgrp
    says ENOTTY, as for /dev/console on Linux; opening /dev/ttyS0 as a session leader
    makes it the controlling terminal."""
    script = (
        "[ -t 0 ] && echo tty; stty -g >/dev/null && echo termios; "
        "(exec 3<>/dev/tty) 2>/dev/null || echo no /dev/tty; "
        "setsid sh -c 'exec 4<>/dev/ttyS0; ls -l /proc/self/fd/4 | grep -o ttyS0; "
        "exec 3<>/dev/tty && echo ctty'; true"
    )
    lab = in_lab(["/bin/busybox", "sh", "-c", script], [])
    assert lab.text == "tty\r\ntermios\r\nno /dev/tty\r\nttyS0\r\nctty\r\n", lab.text


# --- captured runs keep their host streams ---------------------------------------------


@needs_busybox
def test_captured_runs_are_unchanged() -> None:
    """Tests and notebooks capture stdio: no tty there (isatty false, stty fails), and
    /dev/tty still reaches fd 0; the serial tty exists as /dev/ttyS0 all the same."""
    script = (
        "[ -t 0 ] || echo no; [ -t 1 ] || echo no; stty 2>/dev/null || echo stty fails; "
        "echo t > /dev/tty; stty -F /dev/ttyS0 rows 24 cols 80; stty -F /dev/ttyS0 size"
    )
    result = runner.run(["/bin/busybox", "sh", "-c", script])
    assert result.stdout == b"no\nno\nstty fails\nt\n24 80\n", result.stdout


# --- asterinas-lab boot on a terminal -----------------------------------------------------


@needs_busybox
def test_interactive_boot_gives_a_shell_on_the_console() -> None:
    """``asterinas-lab boot`` on a terminal: a busybox shell with the host terminal in
    raw mode (the guest echoes and signals), the window size passed on, and the host
    terminal's settings restored when the shell exits."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    steps: list[Step] = [
        (b"/ # ", b"stty size; echo $((6 * 7))\n"),
        (b"42\r\n/ # ", b"cat\n"),
        (b"cat\r\n", b"ping\n"),
        (b"ping\r\n", b"\x03"),
        (b"/ # ", b"echo status $?\n"),
        (b"status 130\r\n/ # ", b"exit 3\n"),
    ]
    run = on_host_pty([sys.executable, "-m", "asterinas_lab.cli", "boot"], steps, env, winsize=(30, 90))
    assert run.stuck is None, run.text
    assert "ostd: entering the kernel" in run.text and "Welcome to asterinas-lab!" in run.text
    assert "30 90\r\n42\r\n" in run.text, run.text
    assert "^C\r\n" in run.text
    assert "asterinas-lab: the shell exited with status 3" in run.text
    assert "Traceback" not in run.text
    assert run.status == 3
    assert run.termios_restored


@needs_busybox
def test_ctrl_a_x_unplugs_the_console() -> None:
    """Ctrl-A x hangs the line up: the shell gets SIGHUP, the machine powers off."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = on_host_pty([sys.executable, "-m", "asterinas_lab.cli", "boot"], [(b"/ # ", b"\x01x")], env)
    assert run.stuck is None, run.text
    assert "Hangup\r\n" in run.text and "the shell exited with status 129" in run.text, run.text
    assert run.status == 129 and run.termios_restored
