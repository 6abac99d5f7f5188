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

Other drivers (lab 6's ``/dev/ring``) are added to the machines booted inside
:func:`inject_device`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from asterinas_lab.kernel.device.tty import ControllingTtyDevice, SerialDriver, Tty, TtyDevice, tty_of
from asterinas_lab.kernel.error import EBADF, EINVAL, ENOSPC, ENOTTY, ESPIPE, LinuxError
from asterinas_lab.kernel.fs.ramfs import Inode, RamFs
from asterinas_lab.kernel.fs.stat import S_IFCHR, makedev
from asterinas_lab.kernel.fs.vfs import O_NONBLOCK, OpenFile
from asterinas_lab.kernel.process.signal.pause import slow_path_only
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


# --- injection point: more device drivers (lab 6) --------------------------------------------
#: ``name -> factory`` of the drivers :func:`inject_device` adds to /dev. A driver is any
#: object with
#:
#: * ``major``, ``minor``: its device number (``st_rdev`` of ``/dev/NAME``);
#: * ``read(count, nonblocking) -> bytes``: read(2), at most *count* bytes, ``b""`` for
#:   end of file;
#: * ``write(data, nonblocking) -> int``: write(2), how many bytes of *data* it took.
#:
#: ``nonblocking`` is the open file's O_NONBLOCK flag (Linux: ``file->f_flags``); errors
#: are raised as LinuxError. The factory is called at each boot, so every machine starts
#: with a fresh driver, and its methods run on the slow path only (never in a CPU hook).
#: The device is a stream: no position, so lseek, pread and pwrite fail with ESPIPE
#: (Linux's ``nonseekable_open``).
injected_devices: dict[bytes, Callable[[], Any]] = {}


@contextmanager
def inject_device(name: str | bytes, factory: Callable[[], Any]) -> Iterator[None]:
    """Machines booted in the block have ``/dev/<name>`` (mode 0666) served by ``factory()``."""
    key = name.encode() if isinstance(name, str) else bytes(name)
    if not key or b"/" in key or key in (b".", b".."):
        raise ValueError(f"not a device name: {name!r}")
    saved = injected_devices.get(key)
    injected_devices[key] = factory
    try:
        yield
    finally:
        if saved is None:
            injected_devices.pop(key, None)
        else:
            injected_devices[key] = saved


class InjectedDevice(CharDevice):
    """The node of an injected driver: each open gets a :class:`DriverFile`."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.major, self.minor = int(driver.major), int(driver.minor)

    def open(self, file: OpenFile, thread: Any) -> DriverFile:
        return DriverFile(file, self.driver)

    def read(self, count: int, offset: int) -> bytes:  # a file not made by open(): blocking
        slow_path_only()  # a driver is never run twice for one call
        return bytes(self.driver.read(count, False))

    def write(self, data: bytes, offset: int) -> int:
        slow_path_only()  # a driver is never run twice for one call
        return int(self.driver.write(bytes(data), False))

    def lseek(self, offset: int, whence: int, pos: int) -> int:
        raise LinuxError(ESPIPE)


class DriverFile(OpenFile):
    """An open file of an injected driver: hands it the file's O_NONBLOCK flag."""

    def __init__(self, file: OpenFile, driver: Any) -> None:
        super().__init__(file.inode, file.flags, file.path)
        self.driver = driver

    def _read_at(self, count: int, offset: int) -> bytes:
        slow_path_only()  # a driver is never run twice for one call
        data = bytes(self.driver.read(count, bool(self.flags & O_NONBLOCK)))
        if len(data) > count:
            raise LinuxError(EINVAL)  # a driver bug; Linux would have overrun the buffer
        return data

    def _write_at(self, data: bytes, offset: int) -> int:
        slow_path_only()  # a driver is never run twice for one call
        written = int(self.driver.write(bytes(data), bool(self.flags & O_NONBLOCK)))
        if not 0 <= written <= len(data):
            raise LinuxError(EINVAL)
        return written

    def pread(self, count: int, offset: int) -> bytes:
        raise LinuxError(ESPIPE)

    def pwrite(self, data: bytes, offset: int) -> int:
        raise LinuxError(ESPIPE)

    def lseek(self, offset: int, whence: int) -> int:
        raise LinuxError(ESPIPE)


#: What a device node may dispatch to: a driver of this module or a terminal's.
AnyDevice = CharDevice | TtyDevice | ControllingTtyDevice


def register_char_device(fs: RamFs, directory: Inode, name: bytes, device: AnyDevice, perm: int = 0o666) -> Inode:
    """Create a device node *name* in *directory* that dispatches to *device*."""
    rdev = makedev(device.major, device.minor)
    return directory.mknod(name, S_IFCHR | (perm & 0o7777), rdev, device)


def populate_dev(fs: RamFs, rng: RandomSource | None = None, stdio: tuple[Any, Any, Any] | None = None) -> Inode:
    """Create ``/dev`` (if missing) with null, zero, full, random, urandom, tty, ttyS0,
    console, the stdin/stdout/stderr symlinks and the injected devices (a fresh driver
    from each factory of :func:`inject_device`). *stdio* are init's fds 0-2: host
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
    for name, factory in injected_devices.items():
        if dev.children is not None and name in dev.children:
            dev.unlink(name)
        register_char_device(fs, dev, name, InjectedDevice(factory()), 0o666)
    for file in stdio or ():
        if tty_of(file) is not None:
            file.bind(nodes[b"console"], b"/dev/console")  # init's terminal is /dev/console
    for fd, name in enumerate((b"stdin", b"stdout", b"stderr")):
        if dev.children is not None and name in dev.children:
            dev.unlink(name)
        dev.symlink(name, b"/proc/self/fd/%d" % fd)
    return dev
