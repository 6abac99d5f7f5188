"""Character devices: files whose read/write run driver code instead of touching data.

In Unix "everything is a file": ``/dev/null`` is an inode of type ``S_IFCHR`` with a
device number (major 1, minor 3). When it is opened, Linux looks the number up and
routes read/write/ioctl to the driver's ``file_operations``. Here the inode simply holds
a :class:`CharDevice` object, and the VFS's ``OpenFile`` calls it.

The memory devices below are the ones from Linux's ``drivers/char/mem.c``. The
terminals come from ``kernel/device/tty.py``: ``/dev/ttyS0`` is the serial port as a
tty with a line discipline, and ``/dev/tty`` is the caller's controlling terminal.
``/dev/console`` is that serial tty when the machine was started on it (an interactive
``asterinas-lab boot``); otherwise it is the host's stdio stream that init was given
(the terminal or the captured output of ``asterinas-lab run``), which is no tty.
``/dev/stdin``, ``stdout`` and ``stderr`` are symlinks to ``/proc/self/fd/0``, ``1``
and ``2``, as on Linux (procfs makes them work).
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from asterinas_lab.kernel.device.tty import ControllingTtyDevice, SerialDriver, Tty, TtyDevice, tty_of
from asterinas_lab.kernel.error import EBADF, ENOSPC, ENOTTY, LinuxError
from asterinas_lab.kernel.fs.ramfs import Inode, RamFs
from asterinas_lab.kernel.fs.stat import S_IFCHR, makedev
from asterinas_lab.ostd import Task


class RandomSource(Protocol):
    """Anything with ``randbytes``, e.g. a seeded :class:`random.Random`."""

    def randbytes(self, n: int) -> bytes: ...


class CharDevice:
    """Base class of a character device driver (Linux: ``struct file_operations``).

    *offset* is the open file's position. Most character devices ignore it (a stream
    has no position), which is why the defaults do too.
    """

    #: (major, minor) reported as st_rdev of the device node.
    major = 0
    minor = 0

    def read(self, count: int, offset: int) -> bytes:
        """Return up to *count* bytes; ``b""`` means end of file."""
        return b""

    def write(self, data: bytes, offset: int) -> int:
        """Consume *data*, return how many bytes were accepted."""
        return len(data)

    def ioctl(self, cmd: int, arg: int) -> int:
        """Device-specific control. Devices that are not terminals say ENOTTY.

        That errno is why ``isatty()`` on /dev/null is false: it is literally the
        terminal ioctl TCGETS failing with "Inappropriate ioctl for device".
        """
        raise LinuxError(ENOTTY)

    def lseek(self, offset: int, whence: int, pos: int) -> int:
        """New file position; memory devices accept any seek and report 0 (``null_lseek``)."""
        return 0


class NullDevice(CharDevice):
    """/dev/null: reads hit end of file at once, writes vanish."""

    major, minor = 1, 3


class ZeroDevice(CharDevice):
    """/dev/zero: an endless supply of zero bytes; writes vanish."""

    major, minor = 1, 5

    def read(self, count: int, offset: int) -> bytes:
        return bytes(count)


class FullDevice(ZeroDevice):
    """/dev/full: reads like /dev/zero, but every write fails as if the disk were full.

    Programs use it to test their error handling of ENOSPC.
    """

    major, minor = 1, 7

    def write(self, data: bytes, offset: int) -> int:
        raise LinuxError(ENOSPC)


class RandomDevice(CharDevice):
    """/dev/random and /dev/urandom backed by an injected random source.

    The source is passed in (instead of calling ``os.urandom``) so the whole machine is
    reproducible: the same seed gives the same run. Written bytes would "add entropy" in
    Linux; here they are accepted and ignored.
    """

    def __init__(self, rng: RandomSource, minor: int = 9) -> None:
        self.rng = rng
        self.major, self.minor = 1, minor

    def read(self, count: int, offset: int) -> bytes:
        return self.rng.randbytes(count)

    def lseek(self, offset: int, whence: int, pos: int) -> int:
        return pos  # noop_llseek: the position never changes


def current_process() -> Any:
    """The process of the thread running now (None outside of a process's task)."""
    task = Task.current()
    return getattr(task.data if task is not None else None, "process", None)


class ConsoleDevice(CharDevice):
    """/dev/console: the host stream the kernel was started with (its stdout/stdin)."""

    major, minor = 5, 1

    def __init__(self, stream: Any = None, input_stream: Any = None) -> None:
        self.stream = stream
        self.input_stream = input_stream if input_stream is not None else stream

    def read(self, count: int, offset: int) -> bytes:
        if self.input_stream is None:
            raise LinuxError(EBADF)
        return self.input_stream.read(count)

    def write(self, data: bytes, offset: int) -> int:
        if self.stream is None:
            return len(data)  # no console attached: like a disconnected serial line
        return self.stream.write(data)


#: What a device node may dispatch to: a driver of this module or a terminal's.
AnyDevice = CharDevice | TtyDevice | ControllingTtyDevice


def register_char_device(fs: RamFs, directory: Inode, name: bytes, device: AnyDevice, perm: int = 0o666) -> Inode:
    """Create a device node *name* in *directory* that dispatches to *device*."""
    rdev = makedev(device.major, device.minor)
    return directory.mknod(name, S_IFCHR | (perm & 0o7777), rdev, device)


def populate_dev(fs: RamFs, rng: RandomSource | None = None, stdio: tuple[Any, Any, Any] | None = None) -> Inode:
    """Create ``/dev`` (if missing) with null, zero, full, random, urandom, tty, ttyS0,
    console and the stdin/stdout/stderr symlinks. *stdio* are init's fds 0-2: host
    streams (then /dev/console is the host's stdout) or open files of the console tty
    (``device.tty.console_stdio``; then /dev/console and /dev/ttyS0 are that tty).

    Without an explicit *rng*, a ``random.Random(0)`` is used so runs stay
    deterministic; pass a differently seeded generator for different "random" bytes.
    Returns the /dev directory inode so callers can add more devices (e.g. a tty).
    """
    if rng is None:
        rng = random.Random(0)
    root = fs.root
    dev = root.children.get(b"dev") if root.children is not None else None
    if dev is None:
        dev = root.mkdir(b"dev", 0o755)
    console_tty = tty_of(stdio[0]) if stdio else None
    serial_tty = console_tty if console_tty is not None else Tty(SerialDriver(has_input=False))
    console: CharDevice | TtyDevice
    if console_tty is not None:
        console = TtyDevice(console_tty, 5, 1, is_console=True)
    else:
        console = ConsoleDevice(stdio[1] if stdio else None, stdio[0] if stdio else None)
    nodes: dict[bytes, Inode] = {}
    devices: tuple[tuple[bytes, AnyDevice], ...] = (
        (b"null", NullDevice()),
        (b"zero", ZeroDevice()),
        (b"full", FullDevice()),
        (b"random", RandomDevice(rng, minor=8)),
        (b"urandom", RandomDevice(rng, minor=9)),
        (b"tty", ControllingTtyDevice()),
        (b"ttyS0", TtyDevice(serial_tty, 4, 64)),
        (b"console", console),
    )
    for name, device in devices:
        existing = dev.children.get(name) if dev.children is not None else None
        if existing is not None:
            # An initramfs may already contain the node (without a driver): attach one.
            dev.unlink(name)
        perm = 0o600 if name == b"console" else 0o620 if name == b"ttyS0" else 0o666
        nodes[name] = register_char_device(fs, dev, name, device, perm)
    for file in stdio or ():
        if tty_of(file) is not None:
            file.bind(nodes[b"console"], b"/dev/console")  # init's terminal is /dev/console
    for fd, name in enumerate((b"stdin", b"stdout", b"stderr")):
        if dev.children is not None and name in dev.children:
            dev.unlink(name)
        dev.symlink(name, b"/proc/self/fd/%d" % fd)
    return dev
