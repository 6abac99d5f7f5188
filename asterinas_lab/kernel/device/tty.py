"""Terminals: the serial console as a tty with a line discipline (Linux ``n_tty``).

A keyboard sends bytes, one per key; a screen receives bytes. Everything in between --
that typed characters appear on the screen, that Backspace rubs one out, that ``cat``
sees a line only after Enter, that ^C kills the program in front and not the shell --
is the kernel's *line discipline*, which sits between the device driver and the
programs (as in Linux and Asterinas):

    keys -> driver -> LineDiscipline.receive -> (echo, signals, line editing) -> read()
    write() -> LineDiscipline.process_output (ONLCR, tabs) -> driver -> screen

:class:`Tty` holds what ``stty`` shows and sets (a :class:`Termios`, the window size)
and the job-control state: the *session* it is the controlling terminal of and the
*foreground process group* -- the only group allowed to read it, and the one ^C, ^Z
and ^\\ signal. A process of a background group that reads is stopped with SIGTTIN,
which is how a shell keeps ``cat &`` from stealing the keyboard.

Input arrives by polling the driver from a kernel timer (a real UART would raise an
interrupt): every ``POLL_INTERVAL_NS`` the tty takes what was typed and runs it through
the line discipline, even while nobody reads -- otherwise ^C could not stop a program
that never reads the terminal. The timer runs only while a driver says it has an input
and some process is alive, so a machine whose programs have all exited still powers off.

Drivers are tiny: :class:`SerialDriver` is the machine's serial port (through OSTD's
console); a test or a notebook passes any object with ``write(bytes)`` and
``read_input() -> bytes | None`` (None: the line hung up, e.g. the host closed it).
"""

from __future__ import annotations

import struct
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...ostd import Task, WaitQueue, log, print_console, read_console
from ..error import EAGAIN, EBADF, EINVAL, EIO, ENOTTY, ENXIO, EPERM, ESRCH, ETIMEDOUT, LinuxError, MustBlock
from ..fs.pollee import POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, Pollee
from ..fs.stat import S_IFCHR, Kstat, makedev
from ..fs.stream import StreamFile
from ..fs.vfs import O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY, SETFL_MASK
from ..process.signal.constants import (
    ERESTARTSYS,
    SI_KERNEL,
    SIG_IGN,
    SIGCONT,
    SIGHUP,
    SIGINT,
    SIGQUIT,
    SIGTSTP,
    SIGTTIN,
    SIGTTOU,
    SIGWINCH,
    sig_bit,
)
from ..process.signal.deliver import send_to_process
from ..process.signal.pause import pause_until
from ..process.signal.state import SigInfo
from ..time import clock

# --- ioctl numbers (asm-generic/ioctls.h) -------------------------------------------------
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TCSBRK, TCXONC, TCFLSH = 0x5409, 0x540A, 0x540B
TIOCEXCL, TIOCNXCL, TIOCSCTTY = 0x540C, 0x540D, 0x540E
TIOCGPGRP, TIOCSPGRP, TIOCOUTQ = 0x540F, 0x5410, 0x5411
TIOCGWINSZ, TIOCSWINSZ = 0x5413, 0x5414
FIONREAD = TIOCINQ = 0x541B
TIOCNOTTY, TIOCSETD, TIOCGETD, TCSBRKP = 0x5422, 0x5423, 0x5424, 0x5425
TIOCGSID = 0x5429
TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
TCIFLUSH, TCOFLUSH, TCIOFLUSH = 0, 1, 2
TCOOFF, TCOON, TCIOFF, TCION = 0, 1, 2, 3
O_NOCTTY = 0o400

# --- termios bits (asm-generic/termbits.h) -------------------------------------------------
# c_iflag
IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
INLCR, IGNCR, ICRNL, IUCLC, IXON, IXANY, IXOFF, IMAXBEL, IUTF8 = (
    0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000, 0o10000, 0o20000, 0o40000)  # fmt: skip
# c_oflag
OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
TABDLY, XTABS = 0o14000, 0o14000
# c_cflag
CBAUD, B9600, B38400, CS8, CREAD, HUPCL, CLOCAL = 0o10017, 0o15, 0o17, 0o60, 0o200, 0o2000, 0o4000
# c_lflag
ISIG, ICANON, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, TOSTOP = 0o1, 0o2, 0o10, 0o20, 0o40, 0o100, 0o200, 0o400
ECHOCTL, ECHOPRT, ECHOKE, IEXTEN = 0o1000, 0o2000, 0o4000, 0o100000
# c_cc indices
VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC = 0, 1, 2, 3, 4, 5, 6, 7
VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 = 8, 9, 10, 11, 12, 13, 14, 15, 16
NCCS = 19
#: Linux's INIT_C_CC: ^C ^\ DEL ^U ^D, TIME 0, MIN 1, -, ^Q ^S ^Z, -, ^R ^O ^W ^V.
INIT_C_CC = bytes([3, 0x1C, 0x7F, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1A, 0, 0x12, 0x0F, 0x17, 0x16, 0, 0, 0])
DISABLED_CHAR = 0  # _POSIX_VDISABLE: a c_cc slot holding 0 matches no input byte

N_TTY_BUF_SIZE = 4096
POLL_INTERVAL_NS = 10_000_000  # how often the driver's input is looked at (a 100 Hz "IRQ")
_BAUD = {0o15: 9600, 0o16: 19200, 0o17: 38400, 0o10001: 57600, 0o10002: 115200}
_TERMIOS = struct.Struct("<IIIIB19s")
_TERMIOS2 = struct.Struct("<IIIIB19sII")
_WINSIZE = struct.Struct("<HHHH")


@dataclass
class Termios:
    """The kernel's ``struct termios`` (36 bytes; ``termios2`` adds the two speeds).

    The defaults are Linux's ``tty_std_termios`` as a serial port's driver adjusts it:
    canonical mode with echo, erase and signals (``stty sane``), CR typed -> NL read
    (ICRNL), NL written -> CR NL sent (ONLCR).
    """

    iflag: int = ICRNL | IXON
    oflag: int = OPOST | ONLCR
    cflag: int = B38400 | CS8 | CREAD | HUPCL
    lflag: int = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    line: int = 0  # N_TTY
    cc: bytearray = field(default_factory=lambda: bytearray(INIT_C_CC))

    def pack(self) -> bytes:
        return _TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytes(self.cc))

    def pack2(self) -> bytes:
        speed = _BAUD.get(self.cflag & CBAUD, 0)
        flags = (self.iflag, self.oflag, self.cflag, self.lflag)
        return _TERMIOS2.pack(*flags, self.line, bytes(self.cc), speed, speed)

    @classmethod
    def unpack(cls, data: bytes) -> Termios:
        iflag, oflag, cflag, lflag, line, cc = _TERMIOS.unpack_from(data)
        return cls(iflag, oflag, cflag, lflag, line, bytearray(cc))

    def copy(self) -> Termios:
        return Termios(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytearray(self.cc))

    def char_is(self, c: int, index: int) -> bool:
        """Is *c* the special character in slot *index* (a slot of 0 is disabled)?"""
        value = self.cc[index]
        return value != DISABLED_CHAR and c == value


class TtyDriver(Protocol):
    """The hardware side of a tty (Linux's ``tty_operations``, reduced to two calls)."""

    def write(self, data: bytes) -> object: ...

    def read_input(self) -> bytes | None: ...


class SerialDriver:
    """The machine's serial port (COM1, ``/dev/ttyS0``), reached through OSTD's console.

    ``has_input`` says whether anything is connected to the receive line: the CLI's
    interactive ``boot`` feeds the port from the host terminal; a captured run has no
    keyboard, so the tty does not poll and a reader blocks as on an unplugged line.
    The host sets ``winsize_request`` to (rows, cols) when its terminal was resized,
    and ``carrier_lost`` when the line is "unplugged" (the tty then hangs up); the tty
    picks both up on its next poll.
    """

    def __init__(self, has_input: bool = False) -> None:
        self.has_input = has_input
        self.winsize_request: tuple[int, int] | None = None
        self.carrier_lost = False

    def write(self, data: bytes) -> None:
        print_console(data)

    def read_input(self) -> bytes | None:
        if not self.has_input:
            return b""
        data = read_console(N_TTY_BUF_SIZE)
        return None if self.carrier_lost and not data else data


def _iscntrl(c: int) -> bool:
    return c < 0x20 or c == 0x7F


class LineDiscipline:
    """N_TTY: input editing, echo, signals and output post-processing of one tty.

    Input that readers may take lives in ``buffer``. In canonical mode, ``edit`` is the
    line being typed (not yet readable) and ``lines`` lists where readable lines end:
    ``[end, is_eof]`` pairs, offsets into ``buffer``. A line ended by ^D holds no ^D
    byte; an empty one is how a read returns 0 (end of file) while the terminal stays
    open. ``column`` is the cursor column the output processing has reached, needed to
    rub out a tab.
    """

    def __init__(self, tty: Tty) -> None:
        self.tty = tty
        self.buffer = bytearray()
        self.edit = bytearray()
        self.lines: list[list[Any]] = []
        self.column = 0
        self.canon_column = 0
        self.lnext = False
        self.erasing = False
        self.last_input_ns = 0

    # --- input -------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the driver (keys typed): Linux's ``n_tty_receive_buf``."""
        out = bytearray()
        for c in data:
            self._receive_char(c, out)
        self.last_input_ns = clock.monotonic_ns()
        if out:
            self.tty.output(bytes(out))
        self.tty.wake_readers()

    def _special(self, c: int) -> bool:
        """Is *c* in n_tty's ``char_map`` (does it need more than "store and echo")?"""
        t = self.tty.termios
        if c == DISABLED_CHAR:
            return False
        if c == 0x0D and t.iflag & (IGNCR | ICRNL) or c == 0x0A and t.iflag & INLCR:
            return True
        cc = t.cc
        if t.lflag & ICANON:
            if c in (cc[VERASE], cc[VKILL], cc[VEOF], 0x0A, cc[VEOL]):
                return True
            if t.lflag & IEXTEN and (c in (cc[VWERASE], cc[VLNEXT], cc[VEOL2])
                                     or t.lflag & ECHO and c == cc[VREPRINT]):  # fmt: skip
                return True
        if t.iflag & IXON and c in (cc[VSTART], cc[VSTOP]):
            return True
        return bool(t.lflag & ISIG and c in (cc[VINTR], cc[VQUIT], cc[VSUSP]))

    def _receive_char(self, c: int, out: bytearray) -> None:
        t = self.tty.termios
        if t.iflag & ISTRIP:
            c &= 0x7F
        if t.iflag & IUCLC and t.lflag & IEXTEN and 0x41 <= c <= 0x5A:
            c += 0x20
        if self.lnext:
            self.lnext = False
            self._store(c, out, literal=True)
            return
        tty = self.tty
        if not self._special(c):
            if tty.stopped and t.iflag & IXON and t.iflag & IXANY:
                tty.start()  # IXANY: any key restarts output
            self._store(c, out)
            return
        lflag = t.lflag
        if t.iflag & IXON and (t.char_is(c, VSTOP) or t.char_is(c, VSTART)):
            # ^S holds output back (writers sleep, echo waits), ^Q lets it go.
            if t.char_is(c, VSTART):
                tty.start()
            else:
                tty.stop()
            return
        if lflag & ISIG:
            for index, sig in ((VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)):
                if t.char_is(c, index):
                    if not lflag & NOFLSH:
                        self.flush_input()
                    tty.signal_foreground(sig)
                    if t.iflag & IXON:
                        tty.start()
                    if lflag & ECHO:
                        self._echo_char(c, out)
                    return
        if tty.stopped and t.iflag & IXON and t.iflag & IXANY:
            tty.start()
        if c == 0x0D:
            if t.iflag & IGNCR:
                return
            if t.iflag & ICRNL:
                c = 0x0A
        elif c == 0x0A and t.iflag & INLCR:
            c = 0x0D
        if lflag & ICANON and self._receive_canon(c, out):
            return
        if lflag & ECHO and c == 0x0A:
            self._finish_erasing(out)
            self._output_char(0x0A, out)
            self._put(c)
            return
        self._store(c, out)

    def _store(self, c: int, out: bytearray, literal: bool = False) -> None:
        """An ordinary character: echo it and queue it (``n_tty_receive_char``)."""
        t = self.tty.termios
        if len(self.buffer) + len(self.edit) >= N_TTY_BUF_SIZE - 1:
            return  # full: drop (Linux throttles the sender instead)
        if t.lflag & ECHO:
            self._finish_erasing(out)
            if t.lflag & ICANON and not self.edit:
                self.canon_column = self.column
            self._echo_char(c, out)
        self._put(c)

    def _put(self, c: int) -> None:
        if self.tty.termios.lflag & ICANON:
            self.edit.append(c)
        else:
            self.buffer.append(c)

    def _receive_canon(self, c: int, out: bytearray) -> bool:
        """Canonical-mode specials; False if *c* is an ordinary character after all."""
        t = self.tty.termios
        lflag = t.lflag
        iexten = lflag & IEXTEN
        if t.char_is(c, VERASE) or t.char_is(c, VKILL) or iexten and t.char_is(c, VWERASE):
            self._erase(c, out)
            return True
        if iexten and t.char_is(c, VLNEXT):
            self.lnext = True
            if lflag & ECHO and lflag & ECHOCTL:
                self._finish_erasing(out)
                out += b"^\b"
            return True
        if iexten and lflag & ECHO and t.char_is(c, VREPRINT):
            self._finish_erasing(out)
            self._echo_char(c, out)
            self._output_char(0x0A, out)
            for ch in self.edit:
                self._echo_char(ch, out)
            return True
        if c == 0x0A:
            if lflag & (ECHO | ECHONL):
                self._output_char(0x0A, out)
            self._end_line(c, eof=False)
            return True
        if t.char_is(c, VEOF):
            self._end_line(None, eof=True)
            return True
        if t.char_is(c, VEOL) or iexten and t.char_is(c, VEOL2):
            if lflag & ECHO:
                if not self.edit:
                    self.canon_column = self.column
                self._echo_char(c, out)
            self._end_line(c, eof=False)
            return True
        return False

    def _end_line(self, c: int | None, eof: bool) -> None:
        if c is not None:
            self.edit.append(c)
        self.buffer += self.edit
        self.edit.clear()
        self.lines.append([len(self.buffer), eof])

    def _erase(self, c: int, out: bytearray) -> None:
        """VERASE, VWERASE and VKILL (Linux's ``eraser``), echoing the rub-out."""
        t = self.tty.termios
        lflag = t.lflag
        edit = self.edit
        if not edit:
            return
        if t.char_is(c, VERASE):
            kind = "erase"
        elif t.char_is(c, VWERASE):
            kind = "werase"
        else:
            if not lflag & ECHO:
                edit.clear()
                return
            if not (lflag & ECHOK and lflag & ECHOKE and lflag & ECHOE):
                edit.clear()
                self._finish_erasing(out)
                self._echo_char(c, out)
                if lflag & ECHOK:
                    self._output_char(0x0A, out)
                return
            kind = "kill"
        utf8 = t.iflag & IUTF8
        seen_alnums = 0
        while edit:
            head = len(edit) - 1
            while utf8 and edit[head] & 0xC0 == 0x80 and head > 0:
                head -= 1  # a multi-byte character goes as a whole
            ch = edit[head]
            if utf8 and ch & 0xC0 == 0x80:
                break
            if kind == "werase":
                if chr(ch).isalnum() and ch < 0x80 or ch == 0x5F:
                    seen_alnums += 1
                elif seen_alnums:
                    break
            removed = bytes(edit[head:])
            del edit[head:]
            if lflag & ECHO:
                self._echo_erase(ch, removed, kind, out)
            if kind == "erase":
                break
        if not edit and lflag & ECHO:
            self._finish_erasing(out)

    def _echo_erase(self, ch: int, removed: bytes, kind: str, out: bytearray) -> None:
        t = self.tty.termios
        lflag = t.lflag
        if lflag & ECHOPRT:
            if not self.erasing:
                out += b"\\"
                self.erasing = True
            self._echo_char(ch, out)
            for extra in removed[1:]:
                self._output_char(extra, out)
        elif kind == "erase" and not lflag & ECHOE:
            self._echo_char(t.cc[VERASE], out)  # a hard-copy terminal: show the erase key
        elif ch == 0x09:
            columns, after_tab = 0, False
            for prev in reversed(self.edit):
                if prev == 0x09:
                    after_tab = True
                    break
                if _iscntrl(prev):
                    columns += 2 if lflag & ECHOCTL else 0
                elif not (t.iflag & IUTF8 and prev & 0xC0 == 0x80):
                    columns += 1
            if not after_tab:
                columns += self.canon_column
            for _ in range(8 - (columns & 7)):
                out += b"\b"
                self.column = max(0, self.column - 1)
        else:
            rubout = 0
            if _iscntrl(ch) and lflag & ECHOCTL:
                rubout += 1
            if not _iscntrl(ch) or lflag & ECHOCTL:
                rubout += 1
            for _ in range(rubout):
                out += b"\b \b"
                self.column = max(0, self.column - 1)

    def _finish_erasing(self, out: bytearray) -> None:
        if self.erasing:
            out += b"/"
            self.erasing = False

    def _echo_char(self, c: int, out: bytearray) -> None:
        """Echo one input byte: control characters as ``^X`` under ECHOCTL."""
        if self.tty.termios.lflag & ECHOCTL and _iscntrl(c) and c != 0x09:
            out += b"^" + bytes([c ^ 0x40])
            self.column += 2
        else:
            self._output_char(c, out)

    def flush_input(self) -> None:
        self.buffer.clear()
        self.edit.clear()
        self.lines.clear()
        self.lnext = False
        self.erasing = False

    def set_termios(self, old: Termios, new: Termios) -> None:
        """Switching ICANON moves pending input across (``n_tty_set_termios``): a
        half-typed line becomes readable in raw mode; in canonical mode, what is
        pending becomes one readable line."""
        if (old.lflag ^ new.lflag) & ICANON:
            if new.lflag & ICANON:
                self.lines = [[len(self.buffer), False]] if self.buffer else []
            else:
                self.buffer += self.edit
                self.edit.clear()
                self.lines.clear()
            self.erasing = False
            self.lnext = False

    # --- reading -----------------------------------------------------------------------

    def available(self) -> int:
        """Bytes a read could return now (FIONREAD)."""
        if self.tty.termios.lflag & ICANON:
            return self.lines[-1][0] if self.lines else 0
        return len(self.buffer)

    def readable(self, for_poll: bool = False) -> bool:
        t = self.tty.termios
        if t.lflag & ICANON:
            return bool(self.lines)
        amount = 1
        if for_poll and not t.cc[VTIME] and t.cc[VMIN]:
            amount = t.cc[VMIN]
        return len(self.buffer) >= amount

    def take_line(self, count: int) -> bytes:
        """Canonical read: up to *count* bytes of the first line, never past its end.

        The ^D that ended a line is consumed together with the line only when the read
        asked for more than the line holds; otherwise the next read sees it and returns
        0 (as ``canon_copy_from_read_buf`` does).
        """
        end, eof = self.lines[0]
        n = min(count, end)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        for mark in self.lines:
            mark[0] -= n
        if self.lines[0][0] == 0 and (not eof or count > n or n == 0):
            self.lines.pop(0)
        return data

    def take(self, count: int) -> bytes:
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def read(self, thread: Any, count: int, nonblock: bool) -> bytes:
        """read(2) on the tty (Linux's ``n_tty_read``): a whole line in canonical mode;
        otherwise VMIN/VTIME decide when enough bytes or time have come."""
        tty = self.tty
        t = tty.termios
        if t.lflag & ICANON:
            if not self.lines and not tty.hung_up:
                if nonblock:
                    raise LinuxError(EAGAIN)
                _sleep(thread, lambda: bool(self.lines) or tty.hung_up, tty.read_queue)
            return self.take_line(count) if self.lines else b""
        vmin, vtime = t.cc[VMIN], t.cc[VTIME]
        want = min(vmin, count) if vmin else 1
        if len(self.buffer) >= want or tty.hung_up or (not vmin and not vtime):
            return self.take(count)
        if nonblock:
            raise LinuxError(EAGAIN)
        interval = vtime * 100_000_000
        if not vmin:
            # VMIN 0, VTIME > 0: wait up to VTIME tenths of a second for one byte.
            deadline = clock.monotonic_ns() + interval
            _sleep(thread, lambda: bool(self.buffer) or tty.hung_up, tty.read_queue, deadline)
            return self.take(count)
        if not vtime:
            _sleep(thread, lambda: len(self.buffer) >= want or tty.hung_up, tty.read_queue)
            return self.take(count)
        # VMIN > 0, VTIME > 0: an inter-byte timer, started by the first byte.
        _sleep(thread, lambda: bool(self.buffer) or tty.hung_up, tty.read_queue)
        while len(self.buffer) < want and not tty.hung_up:
            seen = len(self.buffer)
            deadline = self.last_input_ns + interval
            _sleep(thread, lambda seen=seen: len(self.buffer) != seen or tty.hung_up, tty.read_queue, deadline)
            if len(self.buffer) == seen:
                break
        return self.take(count)

    # --- output ------------------------------------------------------------------------

    def process_output(self, data: bytes) -> bytes:
        """OPOST processing of written bytes (``do_output_char``): NL -> CR NL..."""
        if not self.tty.termios.oflag & OPOST:
            return data
        out = bytearray()
        for c in data:
            self._output_char(c, out)
        return bytes(out)

    def _output_char(self, c: int, out: bytearray) -> None:
        oflag = self.tty.termios.oflag
        if not oflag & OPOST:
            out.append(c)
            return
        if c == 0x0A:
            if oflag & ONLRET:
                self.column = 0
            if oflag & ONLCR:
                self.canon_column = self.column = 0
                out += b"\r\n"
                return
            self.canon_column = self.column
        elif c == 0x0D:
            if oflag & ONOCR and self.column == 0:
                return
            if oflag & OCRNL:
                c = 0x0A
                if oflag & ONLRET:
                    self.canon_column = self.column = 0
            else:
                self.canon_column = self.column = 0
        elif c == 0x09:
            spaces = 8 - (self.column & 7)
            self.column += spaces
            if oflag & TABDLY == XTABS:
                out += b" " * spaces
                return
        elif c == 0x08:
            self.column = max(0, self.column - 1)
        elif not _iscntrl(c):
            if oflag & OLCUC and 0x61 <= c <= 0x7A:
                c -= 0x20
            if not (self.tty.termios.iflag & IUTF8 and c & 0xC0 == 0x80):
                self.column += 1
        out.append(c)


def _sleep(thread: Any, condition: Any, queue: WaitQueue, deadline_ns: int | None = None) -> None:
    """Sleep for tty input; a timeout just ends the wait (VTIME), a signal -ERESTARTSYS."""
    if thread.in_fast_path:
        raise MustBlock
    try:
        pause_until(thread, condition, queue, deadline_ns)
    except LinuxError as error:
        if error.errno != ETIMEDOUT:
            raise


_ttys: weakref.WeakSet[Tty] = weakref.WeakSet()


def controlling_tty(process: Any) -> Tty | None:
    """The controlling terminal of *process*: the tty of its session, if any."""
    for tty in list(_ttys):
        if tty.kernel is process.kernel and tty.session == process.sid and process.pid not in tty.detached:
            if tty.session_alive():
                return tty
    return None


def current_thread() -> Any:
    """The user thread making the current call (a device has no other way to know)."""
    task = Task.current()
    thread = task.data if task is not None else None
    if thread is None or not hasattr(thread, "process"):
        raise LinuxError(ENXIO)
    return thread


class Tty:
    """One terminal (Linux's ``tty_struct``): termios, window size, job control.

    ``session`` is the session id it is the controlling terminal of (None: none);
    ``pgrp`` the foreground process group. ``kernel`` is learnt from the first process
    that uses it; from then on input is polled (when the driver has an input).
    """

    def __init__(self, driver: TtyDriver, name: bytes = b"ttyS0", rdev: tuple[int, int] = (4, 64)) -> None:
        self.driver = driver
        self.name = name
        self.rdev = rdev
        self.termios = Termios()
        self.winsize = (0, 0, 0, 0)  # rows, cols, xpixel, ypixel
        self.ldisc = LineDiscipline(self)
        self.session: int | None = None
        self.pgrp: int | None = None
        self.detached: set[int] = set()  # non-leaders that gave it up with TIOCNOTTY
        self.kernel: Any = None
        self.hung_up = False
        self.read_queue = WaitQueue()
        self.pollee = Pollee()
        self.stopped = False  # output held back by ^S (IXON) or TCXONC
        self.write_queue = WaitQueue()  # writers waiting for ^Q
        self.held = bytearray()  # echo produced while stopped
        self._timer: Any = None
        _ttys.add(self)

    def __repr__(self) -> str:
        return f"<Tty {self.name.decode()} session={self.session} pgrp={self.pgrp}>"

    # --- input polling -------------------------------------------------------------------

    def attach(self, kernel: Any) -> None:
        """Bind to the kernel of the first user; start polling the driver's input."""
        if self.kernel is None:
            self.kernel = kernel
            self._schedule()

    def _schedule(self) -> None:
        if self._timer is None and not self.hung_up and getattr(self.driver, "has_input", True):
            self._timer = self.kernel.timers.add(clock.monotonic_ns() + POLL_INTERVAL_NS, self._poll)

    def _poll(self) -> None:
        """The "interrupt": take typed bytes and a new window size from the driver.

        It runs from a timer, outside any process, so an error here has no process to
        kill (an oops): it is logged, the line hangs up, and the machine runs on.
        """
        self._timer = None
        try:
            data = self.driver.read_input()
            request = getattr(self.driver, "winsize_request", None)
            if request is not None:
                self.driver.winsize_request = None  # type: ignore[attr-defined]
                self.set_winsize((request[0], request[1], 0, 0))
            if data is None:
                self.hangup()
            elif data:
                self.ldisc.receive(data)
            self.session_alive()
        except Exception as error:  # noqa: BLE001 - contain it: see the docstring
            log(f"kernel: {self.name.decode()}: input stopped: {type(error).__name__}: {error}")
            self.hung_up = True
            self.wake_readers()
            return
        if any(not p.zombie and not p.exiting for p in self.kernel.processes.values()):
            self._schedule()

    def receive(self, data: bytes) -> None:
        """Feed typed bytes straight into the line discipline (tests, notebooks)."""
        self.ldisc.receive(data)

    def wake_readers(self) -> None:
        self.read_queue.wake_all()
        self.pollee.notify()

    def output(self, data: bytes) -> None:
        """Send processed bytes to the screen, or hold them while output is stopped."""
        if self.stopped:
            self.held += data
        else:
            self.driver.write(data)

    def stop(self) -> None:
        self.stopped = True
        self.pollee.notify()

    def start(self) -> None:
        """Output may flow again (``start_tty``): held echo first, then the writers."""
        if not self.stopped:
            return
        self.stopped = False
        if self.held:
            held, self.held = bytes(self.held), bytearray()
            self.driver.write(held)
        self.write_queue.wake_all()
        self.pollee.notify()

    def hangup(self) -> None:
        """The line went away: readers get end of file; the session leader and the
        foreground group get SIGHUP and SIGCONT (``tty_vhangup``, simplified)."""
        if self.hung_up:
            return
        self.hung_up = True
        self.start()
        if self.session is not None and self.kernel is not None:
            leader = self.kernel.processes.get(self.session)
            for sig in (SIGHUP, SIGCONT):
                if leader is not None and not leader.zombie:
                    send_to_process(leader, SigInfo(sig, code=SI_KERNEL))
                if self.pgrp is not None:
                    self.signal_group(self.pgrp, sig)
        self.wake_readers()

    # --- sessions and process groups ------------------------------------------------------

    def session_alive(self) -> bool:
        """Is the session still led by a live process? When its leader has exited the
        tty stops being anyone's controlling terminal, and the foreground group gets
        SIGHUP and SIGCONT (``disassociate_ctty`` on exit)."""
        if self.session is None or self.kernel is None:
            return self.session is not None
        leader = self.kernel.processes.get(self.session)
        if leader is not None and not leader.zombie and not leader.exiting:
            return True
        self._hang_up()
        return False

    def _hang_up(self) -> None:
        """The session loses its terminal: the foreground group gets SIGHUP, SIGCONT."""
        pgrp = self.pgrp
        self.session = self.pgrp = None
        self.detached.clear()
        if pgrp is not None:
            self.signal_group(pgrp, SIGHUP)
            self.signal_group(pgrp, SIGCONT)

    def signal_group(self, pgrp: int, sig: int) -> None:
        for process in list(self.kernel.processes.values()):
            if process.pgid == pgrp and not process.zombie:
                send_to_process(process, SigInfo(sig, code=SI_KERNEL))

    def signal_foreground(self, sig: int) -> None:
        """^C, ^\\, ^Z: signal the foreground process group."""
        if self.pgrp is not None and self.kernel is not None and self.session_alive():
            self.signal_group(self.pgrp, sig)

    def _is_orphaned(self, pgrp: int) -> bool:
        """No member has a parent in another group of the same session (POSIX): such a
        group cannot be continued by a shell, so it is never stopped by the tty."""
        for process in self.kernel.processes.values():
            if process.pgid != pgrp or process.zombie:
                continue
            parent = process.parent
            if parent is None or parent.pid == 1 or parent.zombie:
                continue
            if parent.pgid != pgrp and parent.sid == process.sid:
                return False
        return True

    def check_change(self, thread: Any, sig: int = SIGTTOU) -> None:
        """May *thread* read (sig=SIGTTIN) or change (SIGTTOU) the tty? A process of a
        background group of the tty's session is stopped with *sig* (the call is
        restarted once it is continued); if it ignores or blocks SIGTTOU it may go on;
        reading when SIGTTIN is ignored, or from an orphaned group, is EIO
        (``__tty_check_change``)."""
        process = thread.process
        if controlling_tty(process) is not self or self.pgrp is None or process.pgid == self.pgrp:
            return
        if process.sig_actions[sig].handler == SIG_IGN or thread.sig_mask & sig_bit(sig):
            if sig == SIGTTIN:
                raise LinuxError(EIO)
            return
        if self._is_orphaned(process.pgid):
            raise LinuxError(EIO)
        if thread.in_fast_path:
            raise MustBlock
        self.signal_group(process.pgid, sig)
        raise LinuxError(ERESTARTSYS)

    def open_by(self, thread: Any, flags: int, may_become_ctty: bool) -> None:
        """open(2) of the tty: a session leader without a controlling terminal that
        opens a free tty (not /dev/console, not with O_NOCTTY) acquires it, with its
        own group in the foreground (``tty_open_proc_set_tty``)."""
        process = thread.process
        self.attach(thread.kernel)
        if not may_become_ctty or flags & O_NOCTTY or process.sid != process.pid:
            return
        if controlling_tty(process) is None and not self.session_alive():
            self._set_ctty(process)

    def _set_ctty(self, process: Any) -> None:
        for other in list(_ttys):
            if other is not self and other.kernel is process.kernel and other.session == process.sid:
                other.session = other.pgrp = None
        self.session = process.sid
        self.pgrp = process.pgid
        self.detached.clear()

    def set_winsize(self, winsize: tuple[int, int, int, int]) -> None:
        """A new size: the foreground group learns it from SIGWINCH."""
        if winsize != self.winsize:
            self.winsize = winsize
            self.signal_foreground(SIGWINCH)

    # --- file operations -------------------------------------------------------------------

    def read(self, thread: Any, count: int, nonblock: bool = False) -> bytes:
        self.attach(thread.kernel)
        self.check_change(thread, SIGTTIN)
        if count == 0:
            return b""
        return self.ldisc.read(thread, count, nonblock)

    def write(self, thread: Any, data: bytes, nonblock: bool = False) -> int:
        """write(2): through OPOST processing to the driver; while output is stopped
        (^S) the writer sleeps until ^Q (EAGAIN with O_NONBLOCK)."""
        if thread is not None:
            self.attach(thread.kernel)
            if self.termios.lflag & TOSTOP:
                self.check_change(thread, SIGTTOU)
            if self.stopped and data:
                if nonblock:
                    raise LinuxError(EAGAIN)
                _sleep(thread, lambda: not self.stopped or self.hung_up, self.write_queue)
        if data:
            self.output(self.ldisc.process_output(bytes(data)))
        return len(data)

    def poll(self) -> int:
        mask = 0 if self.stopped else POLLOUT | POLLWRNORM
        if self.ldisc.readable(for_poll=True):
            mask |= POLLIN | POLLRDNORM
        if self.hung_up:
            mask |= POLLHUP | POLLIN | POLLRDNORM
        return mask

    def ioctl(self, thread: Any, cmd: int, arg: int, readable: bool = True) -> int:
        """The terminal ioctls (``tty_ioctl`` and ``n_tty_ioctl``)."""
        self.attach(thread.kernel)
        process = thread.process
        cmd &= 0xFFFF_FFFF
        if cmd in (TCGETS, TCGETS2):
            data = self.termios.pack() if cmd == TCGETS else self.termios.pack2()
            process.write_bytes(arg, data)
            return 0
        if cmd in (TCSETS, TCSETSW, TCSETSF, TCSETS2, TCSETSW2, TCSETSF2):
            size = _TERMIOS.size if cmd in (TCSETS, TCSETSW, TCSETSF) else _TERMIOS2.size
            new = Termios.unpack(process.read_bytes(arg, size))
            self.check_change(thread)
            if cmd in (TCSETSF, TCSETSF2):
                self.ldisc.flush_input()
            old, self.termios = self.termios, new
            self.ldisc.set_termios(old, new)
            self.wake_readers()  # a reader may now have enough (VMIN, ICANON changed)
            return 0
        if cmd == TIOCGWINSZ:
            process.write_bytes(arg, _WINSIZE.pack(*self.winsize))
            return 0
        if cmd == TIOCSWINSZ:
            self.set_winsize(_WINSIZE.unpack(process.read_bytes(arg, _WINSIZE.size)))
            return 0
        if cmd == TIOCGPGRP:
            if controlling_tty(process) is not self:
                raise LinuxError(ENOTTY)
            process.write_bytes(arg, struct.pack("<i", self.pgrp or 0))
            return 0
        if cmd == TIOCSPGRP:
            return self._set_pgrp(thread, arg)
        if cmd == TIOCGSID:
            if controlling_tty(process) is not self or self.session is None:
                raise LinuxError(ENOTTY)
            process.write_bytes(arg, struct.pack("<i", self.session))
            return 0
        if cmd == TIOCSCTTY:
            return self._steal(process, arg, readable)
        if cmd == TIOCNOTTY:
            return self._give_up(process)
        if cmd == TIOCINQ:
            process.write_bytes(arg, struct.pack("<i", self.ldisc.available()))
            return 0
        if cmd == TIOCOUTQ:
            process.write_bytes(arg, struct.pack("<i", 0))  # output leaves at once
            return 0
        if cmd == TCFLSH:
            if arg not in (TCIFLUSH, TCOFLUSH, TCIOFLUSH):
                raise LinuxError(EINVAL)
            self.check_change(thread)
            if arg in (TCIFLUSH, TCIOFLUSH):
                self.ldisc.flush_input()
            return 0
        if cmd == TCXONC:
            if arg not in (TCOOFF, TCOON, TCIOFF, TCION):
                raise LinuxError(EINVAL)
            self.check_change(thread)
            if arg == TCOOFF:
                self.stop()
            elif arg == TCOON:
                self.start()
            else:  # ask the other end to stop or restart sending: send it ^S or ^Q
                char = self.termios.cc[VSTOP if arg == TCIOFF else VSTART]
                if char != DISABLED_CHAR:
                    self.driver.write(bytes([char]))
            return 0
        if cmd in (TCSBRK, TCSBRKP):
            self.check_change(thread)
            return 0  # drain or send a break: output leaves at once
        if cmd in (TIOCEXCL, TIOCNXCL):
            return 0
        if cmd == TIOCGETD:
            process.write_bytes(arg, struct.pack("<i", self.termios.line))
            return 0
        if cmd == TIOCSETD:
            if struct.unpack("<i", process.read_bytes(arg, 4))[0] != 0:
                raise LinuxError(EINVAL)  # only N_TTY exists
            return 0
        raise LinuxError(ENOTTY)

    def _set_pgrp(self, thread: Any, arg: int) -> int:
        """TIOCSPGRP (tcsetpgrp): only on one's controlling tty, only to a group of
        one's own session (``tiocspgrp``)."""
        process = thread.process
        try:
            self.check_change(thread)
        except LinuxError as error:
            if error.errno == EIO:
                raise LinuxError(ENOTTY) from None
            raise
        if controlling_tty(process) is not self or self.session != process.sid:
            raise LinuxError(ENOTTY)
        pgrp = struct.unpack("<i", process.read_bytes(arg, 4))[0]
        if pgrp < 0:
            raise LinuxError(EINVAL)
        # Zombies count: until reaped, a dead group leader still holds its pid and group
        # (a shell may move a pipeline to the foreground after its first member exited).
        processes = list(process.kernel.processes.values())
        members = [p for p in processes if p.pgid == pgrp] or [p for p in processes if p.pid == pgrp]
        if not members:
            raise LinuxError(ESRCH)
        if members[0].sid != process.sid:
            raise LinuxError(EPERM)
        self.pgrp = pgrp
        return 0

    def _steal(self, process: Any, arg: int, readable: bool) -> int:
        """TIOCSCTTY: a session leader takes the tty as its controlling terminal; with
        arg 1, root may take it from another session (``tiocsctty``)."""
        if process.sid == process.pid and controlling_tty(process) is self:
            return 0
        if process.sid != process.pid or controlling_tty(process) is not None:
            raise LinuxError(EPERM)
        root = process.cred.euid == 0
        if not readable and not root:
            raise LinuxError(EPERM)
        if self.session_alive():
            if arg == 1 and root:
                for other in list(process.kernel.processes.values()):
                    if other.sid == self.session:
                        self.detached.add(other.pid)
            else:
                raise LinuxError(EPERM)
        self._set_ctty(process)
        return 0

    def _give_up(self, process: Any) -> int:
        """TIOCNOTTY: drop the controlling terminal. When the session leader does it,
        the whole session loses it and the foreground group gets SIGHUP, SIGCONT."""
        if controlling_tty(process) is not self:
            raise LinuxError(ENOTTY)
        if process.sid == process.pid:
            self._hang_up()
        else:
            self.detached.add(process.pid)
        return 0


class TtyFile(StreamFile):
    """An open file of a tty: fds 0-2 of init on the console, or an open of a tty node.

    *inode* and *path* are those of the device node it was opened by (so ``fstat``,
    ``ttyname`` and /proc/PID/fd show ``/dev/ttyS0`` or ``/dev/console``).
    """

    def __init__(self, tty: Tty, flags: int = O_RDWR, path: bytes = b"/dev/console", inode: Any = None) -> None:
        self.tty = tty
        self.flags = flags & ~O_NOCTTY
        self.path = path
        self.inode = inode
        self.pos = 0

    def __repr__(self) -> str:
        return f"<TtyFile {self.path.decode(errors='replace')} {self.tty!r}>"

    @property
    def readable(self) -> bool:
        return self.flags & O_ACCMODE != O_WRONLY

    @property
    def writable(self) -> bool:
        return self.flags & O_ACCMODE != 0

    def bind(self, inode: Any, path: bytes) -> None:
        """Make it stat as the device node *inode* (done when /dev is populated)."""
        self.inode, self.path = inode, path

    def read(self, count: int) -> bytes:
        if not self.readable:
            raise LinuxError(EBADF)
        return self.tty.read(current_thread(), count, bool(self.flags & O_NONBLOCK))

    def write(self, data: bytes) -> int:
        if not self.writable:
            raise LinuxError(EBADF)
        task = Task.current()
        thread = task.data if task is not None and hasattr(task.data, "process") else None
        return self.tty.write(thread, data, bool(self.flags & O_NONBLOCK))

    def ioctl(self, cmd: int, arg: int) -> int:
        return self.tty.ioctl(current_thread(), cmd, arg, self.readable)

    def poll(self) -> int:
        return self.tty.poll()

    @property
    def pollee(self) -> Pollee:
        return self.tty.pollee

    def set_status_flags(self, flags: int) -> None:
        self.flags = (self.flags & ~SETFL_MASK) | (flags & SETFL_MASK)

    def _kstat(self) -> Kstat:
        if self.inode is not None:
            return self.inode.getattr()
        major, minor = self.tty.rdev
        return Kstat(dev=5, ino=1, mode=S_IFCHR | 0o620, nlink=1, uid=0, gid=0,
                     rdev=makedev(major, minor), size=0, blksize=1024, blocks=0,
                     atime_ns=0, mtime_ns=0, ctime_ns=0)  # fmt: skip


class TtyDevice:
    """A tty's device node (``/dev/ttyS0``, ``/dev/console``), as a character device.

    Its ``open`` gives a :class:`TtyFile` (so O_NONBLOCK, poll and the controlling-tty
    rules work); the plain read/write/ioctl serve callers that reach the device without
    opening it that way (e.g. through /proc/PID/fd).
    """

    def __init__(self, tty: Tty, major: int, minor: int, is_console: bool = False) -> None:
        self.tty = tty
        self.major, self.minor = major, minor
        self.is_console = is_console

    def open(self, file: Any, thread: Any) -> TtyFile:
        # /dev/console never becomes a controlling terminal on open (Linux's noctty).
        self.tty.open_by(thread, file.flags, may_become_ctty=not self.is_console)
        return TtyFile(self.tty, file.flags, file.path, file.inode)

    def read(self, count: int, offset: int) -> bytes:
        return self.tty.read(current_thread(), count)

    def write(self, data: bytes, offset: int) -> int:
        return self.tty.write(current_thread(), data)

    def ioctl(self, cmd: int, arg: int) -> int:
        return self.tty.ioctl(current_thread(), cmd, arg)

    def lseek(self, offset: int, whence: int, pos: int) -> int:
        return 0


class ControllingTtyDevice:
    """``/dev/tty`` (5, 0): whatever terminal is the caller's controlling tty.

    Without one, Linux says ENXIO, and so does the lab when fd 0 is a tty (someone
    else's). When fd 0 is no tty at all -- a captured run (tests, notebooks) has no
    terminal -- the lab keeps its older, friendlier meaning, the caller's fd 0, so that
    ``echo x > /dev/tty`` there still shows up.
    """

    major, minor = 5, 0

    def open(self, file: Any, thread: Any) -> Any:
        tty = controlling_tty(thread.process)
        if tty is None:
            try:
                stdin = thread.process.files.get(0)
            except LinuxError:
                stdin = None
            if tty_of(stdin) is not None:
                raise LinuxError(ENXIO)  # on a real terminal, but not one's own: as Linux
            return file  # no terminal at all: the fd-0 fallback below serves it
        tty.open_by(thread, file.flags, may_become_ctty=False)
        return TtyFile(tty, file.flags, file.path, file.inode)

    def _target(self) -> Any:
        thread = current_thread()
        tty = controlling_tty(thread.process)
        if tty is not None:
            return tty, thread
        try:
            return thread.process.files.get(0), None
        except LinuxError:
            raise LinuxError(ENXIO) from None

    def read(self, count: int, offset: int) -> bytes:
        target, thread = self._target()
        return target.read(thread, count) if thread is not None else target.read(count)

    def write(self, data: bytes, offset: int) -> int:
        target, thread = self._target()
        return target.write(thread, data) if thread is not None else target.write(data)

    def ioctl(self, cmd: int, arg: int) -> int:
        target, thread = self._target()
        return target.ioctl(thread, cmd, arg) if thread is not None else target.ioctl(cmd, arg)

    def lseek(self, offset: int, whence: int, pos: int) -> int:
        return 0


def console_stdio(tty: Tty) -> tuple[TtyFile, TtyFile, TtyFile]:
    """Three open files of *tty* for init's fds 0, 1 and 2 (``/dev/console`` in Linux)."""
    return (TtyFile(tty), TtyFile(tty), TtyFile(tty))


def tty_of(file: Any) -> Tty | None:
    """The tty behind an open file, if it is one."""
    return file.tty if isinstance(file, TtyFile) else None


__all__ = [
    "ControllingTtyDevice",
    "LineDiscipline",
    "SerialDriver",
    "Termios",
    "Tty",
    "TtyDevice",
    "TtyDriver",
    "TtyFile",
    "console_stdio",
    "controlling_tty",
    "tty_of",
]
