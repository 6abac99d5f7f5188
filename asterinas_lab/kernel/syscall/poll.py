"""I/O multiplexing: poll, ppoll, select, pselect6, epoll_*, and eventfd.

All of them wait the same way: check every watched file's ``poll()`` mask; if nothing
is ready, register one private WaitQueue on the pollee of each watched file and sleep
on it with :func:`pause_until` (so signals and timeouts end the wait) until a
notification makes some file ready. Nothing is written to user memory before the
wait ends, so a fast-path attempt that must block can simply be re-run.

ppoll, pselect6 and epoll_pwait install a signal mask for the duration of the wait;
when a signal interrupts them, the old mask is restored only after the handler ran
(``saved_sig_mask``), which is what makes the swap atomic.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from ...ostd import WaitQueue
from ..error import EINTR, EINVAL, EPERM, ETIMEDOUT, LinuxError
from ..fs.epoll import EPOLL_CLOEXEC, EpollFile, supports_epoll
from ..fs.eventfd import EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, EventFd
from ..fs.pollee import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    POLLRDBAND,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
    Pollee,
    poll_file,
    pollees_of,
)
from ..process.signal.constants import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, UNBLOCKABLE
from ..process.signal.pause import pause_until
from ..time import clock
from . import numbers as nr
from .args import s32

NS = 1_000_000_000
_pollfd = struct.Struct("<ihh")
_timespec = struct.Struct("<qq")
_epoll_event = struct.Struct("<IQ")  # packed on x86-64: 12 bytes
_u64 = struct.Struct("<Q")
POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR
POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR
POLLEX_SET = POLLPRI
EP_MAX_EVENTS = 0x7FFF_FFFF // _epoll_event.size


# --- waiting on many files ------------------------------------------------------------


def wait_for(t, check: Callable[[], Any], files: Callable[[], list[Any]], deadline: int | None,
             restart: int) -> Any:  # fmt: skip
    """Return ``check()``'s first truthy value, or None when ``deadline`` passed.

    ``files()`` lists the files whose pollees to observe; it is re-read after every
    wake-up (an epoll interest list may grow while we sleep).
    """
    queue = WaitQueue()
    registered: dict[int, Pollee] = {}

    def condition():
        result = check()
        if result:
            return result
        for file in files():
            for pollee in pollees_of(file):
                if id(pollee) not in registered:
                    registered[id(pollee)] = pollee
                    pollee.register(queue)
        return None

    try:
        return pause_until(t, condition, queue, deadline, restart)
    except LinuxError as error:
        if error.errno == ETIMEDOUT:
            return None
        raise
    finally:
        for pollee in registered.values():
            pollee.unregister(queue)


def with_sigmask(t, mask: int | None, interrupted: int, body: Callable[[], int]) -> int:
    """Run ``body`` with the signal mask ``mask`` (None: unchanged)."""
    if mask is None:
        return body()
    old = t.sig_mask
    t.sig_mask = mask & ~UNBLOCKABLE
    try:
        result = body()
    except LinuxError as error:
        if error.errno == interrupted:
            t.saved_sig_mask = old  # restored once the handler has run
        else:
            t.sig_mask = old
        raise
    except BaseException:
        t.sig_mask = old
        raise
    t.sig_mask = old
    return result


def _read_sigmask(t, addr: int, size: int) -> int | None:
    if not addr:
        return None
    if size != 8:
        raise LinuxError(EINVAL)
    return _u64.unpack(t.process.read_bytes(addr, 8))[0]


def _timespec_ns(t, addr: int) -> int | None:
    if not addr:
        return None
    sec, nsec = _timespec.unpack(t.process.read_bytes(addr, 16))
    if sec < 0 or not 0 <= nsec < NS:
        raise LinuxError(EINVAL)
    return sec * NS + nsec


def _write_remaining(t, addr: int, timeout_ns: int | None, deadline: int | None, usec: bool) -> None:
    """Linux updates a select/ppoll timeout with the time left (not a zero one)."""
    if not addr or not timeout_ns or deadline is None:
        return
    left = max(0, deadline - clock.monotonic_ns())
    sec, ns = divmod(left, NS)
    try:
        t.process.write_bytes(addr, _timespec.pack(sec, ns // 1000 if usec else ns))
    except LinuxError:
        pass  # Linux ignores a fault here


def _with_time_left(t, addr: int, timeout_ns: int | None, deadline: int | None, usec: bool, wait) -> int:
    """Run ``wait()``, then write the time left back to ``addr``: on success, and when
    a signal interrupts the wait (ERESTARTNOHAND), not on other errors."""
    try:
        result = wait()
    except LinuxError as error:
        if error.errno == ERESTARTNOHAND:
            _write_remaining(t, addr, timeout_ns, deadline, usec)
        raise
    _write_remaining(t, addr, timeout_ns, deadline, usec)
    return result


def _deadline(timeout_ns: int | None) -> int | None:
    return None if timeout_ns is None else clock.monotonic_ns() + timeout_ns


# --- poll -----------------------------------------------------------------------------


def _do_poll(t, fds_addr: int, nfds: int, deadline: int | None, restart: int) -> int:
    limit = t.process.files.limit
    if nfds > limit:
        raise LinuxError(EINVAL)
    raw = t.process.read_bytes(fds_addr, nfds * _pollfd.size) if nfds else b""
    entries = [_pollfd.unpack_from(raw, i * _pollfd.size) for i in range(nfds)]
    table = t.process.files

    def scan() -> list[int]:
        result = []
        for fd, events, _ in entries:
            if fd < 0:
                result.append(0)
                continue
            try:
                file = table.get(fd)
            except LinuxError:
                result.append(POLLNVAL)
                continue
            result.append(poll_file(file) & ((events & 0xFFFF) | POLLERR | POLLHUP))
        return result

    def check():
        revents = scan()
        return revents if any(revents) else None

    def watched():
        out = []
        for fd, _, _ in entries:
            if fd >= 0:
                try:
                    out.append(table.get(fd))
                except LinuxError:
                    pass
        return out

    revents = wait_for(t, check, watched, deadline, restart) or [0] * nfds
    pairs = zip(entries, revents, strict=True)
    out = b"".join(_pollfd.pack(fd, events, s16(rev)) for (fd, events, _), rev in pairs)
    if out:
        t.process.write_bytes(fds_addr, out)
    return sum(1 for rev in revents if rev)


def s16(value: int) -> int:
    value &= 0xFFFF
    return value - 0x10000 if value & 0x8000 else value


def sys_poll(t, fds, nfds, timeout_ms, *_):
    timeout = s32(timeout_ms)
    deadline = None if timeout < 0 else clock.monotonic_ns() + timeout * 1_000_000
    return _do_poll(t, fds, nfds & 0xFFFF_FFFF, deadline, ERESTART_RESTARTBLOCK)


def sys_ppoll(t, fds, nfds, tsp, sigmask, sigsetsize, *_):
    timeout_ns = _timespec_ns(t, tsp)
    mask = _read_sigmask(t, sigmask, sigsetsize)
    deadline = _deadline(timeout_ns)

    def wait() -> int:
        poll = lambda: _do_poll(t, fds, nfds & 0xFFFF_FFFF, deadline, ERESTARTNOHAND)  # noqa: E731
        return with_sigmask(t, mask, ERESTARTNOHAND, poll)

    return _with_time_left(t, tsp, timeout_ns, deadline, False, wait)


# --- select ---------------------------------------------------------------------------


def _do_select(t, nfds: int, addrs: tuple[int, int, int], deadline: int | None) -> int:
    if nfds < 0:
        raise LinuxError(EINVAL)
    nfds = min(nfds, t.process.files.limit)
    nbytes = (nfds + 63) // 64 * 8
    sets = [int.from_bytes(t.process.read_bytes(a, nbytes), "little") if a and nbytes else 0 for a in addrs]
    wanted = sets[0] | sets[1] | sets[2]
    table = t.process.files
    files: dict[int, Any] = {}
    for fd in range(nfds):
        if wanted >> fd & 1:
            files[fd] = table.get(fd)  # EBADF for a descriptor that is not open

    def check():
        result = [0, 0, 0]
        count = 0
        for fd, file in files.items():
            mask = poll_file(file)
            bit = 1 << fd
            for i, interest in enumerate((POLLIN_SET, POLLOUT_SET, POLLEX_SET)):
                if sets[i] & bit and mask & interest:
                    result[i] |= bit
                    count += 1
        return (count, result) if count else None

    found = wait_for(t, check, lambda: list(files.values()), deadline, ERESTARTNOHAND)
    count, result = found if found else (0, [0, 0, 0])
    for addr, bits in zip(addrs, result, strict=True):
        if addr and nbytes:
            t.process.write_bytes(addr, bits.to_bytes(nbytes, "little"))
    return count


def sys_select(t, nfds, readfds, writefds, exceptfds, timeout, *_):
    timeout_ns = None
    if timeout:
        sec, usec = _timespec.unpack(t.process.read_bytes(timeout, 16))
        # Linux normalises tv_usec >= 1e6 into seconds (C division truncates).
        whole = int(usec / 1_000_000)
        sec, usec = sec + whole, usec - whole * 1_000_000
        if sec < 0 or usec < 0:
            raise LinuxError(EINVAL)
        timeout_ns = sec * NS + usec * 1000
    deadline = _deadline(timeout_ns)
    fdsets = (readfds, writefds, exceptfds)
    select = lambda: _do_select(t, s32(nfds), fdsets, deadline)  # noqa: E731
    return _with_time_left(t, timeout, timeout_ns, deadline, True, select)


def sys_pselect6(t, nfds, readfds, writefds, exceptfds, timeout, sig):
    timeout_ns = _timespec_ns(t, timeout)
    mask = None
    if sig:
        ss, ss_len = struct.unpack("<QQ", t.process.read_bytes(sig, 16))
        mask = _read_sigmask(t, ss, ss_len)
    deadline = _deadline(timeout_ns)
    fdsets = (readfds, writefds, exceptfds)

    def wait() -> int:
        return with_sigmask(t, mask, ERESTARTNOHAND, lambda: _do_select(t, s32(nfds), fdsets, deadline))

    return _with_time_left(t, timeout, timeout_ns, deadline, False, wait)


# --- epoll ----------------------------------------------------------------------------


def sys_epoll_create1(t, flags, *_):
    flags = s32(flags)
    if flags & ~EPOLL_CLOEXEC:
        raise LinuxError(EINVAL)
    return t.process.files.install(EpollFile(), cloexec=bool(flags & EPOLL_CLOEXEC))


def sys_epoll_create(t, size, *_):
    if s32(size) <= 0:
        raise LinuxError(EINVAL)
    return t.process.files.install(EpollFile())


def _epoll(t, epfd: int) -> EpollFile:
    file = t.process.files.get(s32(epfd))
    if not isinstance(file, EpollFile):
        raise LinuxError(EINVAL)
    return file


def sys_epoll_ctl(t, epfd, op, fd, event, *_):
    op, fd = s32(op), s32(fd)
    events = data = 0
    if op != 2:  # EPOLL_CTL_DEL ignores the event
        events, data = _epoll_event.unpack(t.process.read_bytes(event, _epoll_event.size))
    ep = t.process.files.get(s32(epfd))
    file = t.process.files.get(fd)
    if not supports_epoll(file):
        raise LinuxError(EPERM)  # regular files and directories (Linux checks this first)
    if not isinstance(ep, EpollFile) or file is ep:
        raise LinuxError(EINVAL)
    ep.control(op, fd, file, events, data)
    return 0


def _do_epoll_wait(t, ep: EpollFile, events_addr: int, maxevents: int, deadline: int | None) -> int:
    files = t.process.files
    ready = wait_for(t, lambda: ep.collect(files, maxevents), lambda: [ep], deadline, EINTR)
    if not ready:
        return 0
    out = b"".join(_epoll_event.pack(ev, data) for ev, data in ready)
    t.process.write_bytes(events_addr, out)
    return len(ready)


def _epoll_wait_args(t, epfd: int, maxevents: int, timeout_ms: int):
    maxevents = s32(maxevents)
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        raise LinuxError(EINVAL)
    ep = _epoll(t, epfd)
    timeout = s32(timeout_ms)
    deadline = None if timeout < 0 else clock.monotonic_ns() + timeout * 1_000_000
    return ep, maxevents, deadline


def sys_epoll_wait(t, epfd, events, maxevents, timeout, *_):
    ep, maxevents, deadline = _epoll_wait_args(t, epfd, maxevents, timeout)
    return _do_epoll_wait(t, ep, events, maxevents, deadline)


def sys_epoll_pwait(t, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    ep, maxevents, deadline = _epoll_wait_args(t, epfd, maxevents, timeout)
    mask = _read_sigmask(t, sigmask, sigsetsize)
    return with_sigmask(t, mask, EINTR, lambda: _do_epoll_wait(t, ep, events, maxevents, deadline))


# --- eventfd --------------------------------------------------------------------------


def sys_eventfd2(t, initval, flags, *_):
    flags = s32(flags)
    if flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE):
        raise LinuxError(EINVAL)
    return t.process.files.install(EventFd(initval & 0xFFFF_FFFF, flags), cloexec=bool(flags & EFD_CLOEXEC))


def sys_eventfd(t, initval, *_):
    return sys_eventfd2(t, initval, 0)


SYSCALLS = (
    (nr.SYS_POLL, sys_poll, False),
    (nr.SYS_PPOLL, sys_ppoll, True),
    (nr.SYS_SELECT, sys_select, False),
    (nr.SYS_PSELECT6, sys_pselect6, True),
    (nr.SYS_EPOLL_CREATE, sys_epoll_create, False),
    (nr.SYS_EPOLL_CREATE1, sys_epoll_create1, False),
    (nr.SYS_EPOLL_CTL, sys_epoll_ctl, False),
    (nr.SYS_EPOLL_WAIT, sys_epoll_wait, False),
    (nr.SYS_EPOLL_PWAIT, sys_epoll_pwait, True),
    (nr.SYS_EVENTFD, sys_eventfd, False),
    (nr.SYS_EVENTFD2, sys_eventfd2, False),
)
