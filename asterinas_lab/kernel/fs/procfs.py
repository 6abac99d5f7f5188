"""procfs: the /proc file system, whose files describe the live kernel.

Design. Nothing in /proc is stored: every directory listing, file content and symlink
target is computed from the kernel's state at the moment it is asked for. To fit the
existing VFS (which walks ``inode.children``, reads ``inode.data`` and follows
``inode.target``) the three inode kinds here are :class:`~.ramfs.Inode` subclasses
whose ``children``, ``data`` and ``target`` are *properties* that call a generator:

* :class:`ProcDir` -- ``children`` calls a function returning ``{name: inode}``; so
  ``/proc`` lists the processes alive *now*, and ``/proc/PID/fd`` the open fds.
* :class:`ProcFile` -- ``data`` renders the text afresh on every read (Linux's
  ``seq_file`` also regenerates on read); ``st_size`` is 0, as on Linux. Writes fail
  with EINVAL (root may open the file for writing, but there is no write method).
* :class:`ProcLink` -- ``target`` is computed: ``/proc/self`` names the *calling*
  process, found through the current task (``Task.current().data`` is a Thread).

Inodes are cached by a key (e.g. ``(pid, b"status")``) so an entry keeps its inode
number between lookups, as ``ls -i`` and ``find`` expect.

Linux's ``/proc/PID/fd/N`` links are "magic": opening one opens the very file the
process has at fd N, even a pipe or a terminal that has no path. Here an fd link's
``target`` is the file's absolute path when it has one; otherwise it points at a
hidden (never listed) entry ``/proc/PID/fd/fdfile/N``: a character device
that forwards read/write/ioctl to the process's open file. ``readlink`` shows
Linux's text (``pipe:[ino]``, the path, ...) through :meth:`ProcLink.link_text`,
which :meth:`Kernel.readlink` uses. That is how ``/dev/stdout`` -> ``/proc/self/fd/1``
works for a program whose stdout is the host's terminal or a pipe.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...ostd import PAGE_SIZE, memory_stats
from ..device.tty import controlling_tty
from ..error import EINVAL, ENOENT, EPERM, LinuxError
from ..time import clock
from .devfs import CharDevice, current_process
from .ramfs import Inode, RamFs
from .stat import S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, makedev

if TYPE_CHECKING:
    from ..main import Kernel

PROC_SUPER_MAGIC = 0x9FA0
#: Linux's clock ticks per second for /proc/PID/stat's times (USER_HZ).
USER_HZ = 100


class _ReadOnlyBytes(bytearray):
    """Contents of a /proc file: writing into them is EINVAL (no ``write`` method)."""

    def _refuse(self, *args: Any) -> None:
        raise LinuxError(EINVAL)

    __setitem__ = __delitem__ = extend = append = _refuse  # type: ignore[assignment]


class _ProcInode(Inode):
    __slots__ = ()

    # Inode.__init__ assigns data/children/target; the subclasses compute them instead.
    def _new_child(self, name: bytes, mode: int, uid: int, gid: int, rdev: int = 0) -> Inode:
        raise LinuxError(ENOENT)  # mkdir /proc/x, open(O_CREAT): ENOENT, as on Linux

    def link(self, name: bytes, inode: Inode) -> None:
        raise LinuxError(EPERM)

    def unlink(self, name: bytes) -> Inode:
        raise LinuxError(EPERM)

    def move(self, name: bytes, new_dir: Inode, new_name: bytes) -> None:
        raise LinuxError(EPERM)

    def truncate(self, length: int) -> None:
        pass  # O_TRUNC on a /proc file is ignored


class ProcDir(_ProcInode):
    __slots__ = ("gen", "hidden")

    def lookup(self, name: bytes) -> Inode:
        # A few entries can be looked up but are never listed (see the fd links above).
        if self.hidden is not None and name in self.hidden:
            return self.hidden[name]()
        return super().lookup(name)

    @property  # type: ignore[override]
    def children(self) -> dict[bytes, Inode]:
        return self.gen()

    @children.setter
    def children(self, value: object) -> None:
        pass

    @property
    def size(self) -> int:
        return 0


class ProcFile(_ProcInode):
    __slots__ = ("gen",)

    @property  # type: ignore[override]
    def data(self) -> bytearray:
        return _ReadOnlyBytes(self.gen())

    @data.setter
    def data(self, value: object) -> None:
        pass

    @property
    def size(self) -> int:
        return 0


class ProcLink(_ProcInode):
    __slots__ = ("gen", "text")

    @property  # type: ignore[override]
    def target(self) -> bytes:
        return self.gen()

    @target.setter
    def target(self, value: object) -> None:
        pass

    def link_text(self) -> bytes:
        """What readlink(2) shows (may differ from the followed target for fd links)."""
        return self.text() if self.text is not None else self.gen()

    @property
    def size(self) -> int:
        return 64 if self.text is not None else len(self.gen())


class FdProxy(CharDevice):
    """An open file of some process, reopened through /proc/PID/fd/N (a magic link)."""

    def __init__(self, file: Any) -> None:
        self.file = file

    def read(self, count: int, offset: int) -> bytes:
        return self.file.read(count)

    def write(self, data: bytes, offset: int) -> int:
        return self.file.write(data)

    def ioctl(self, cmd: int, arg: int) -> int:
        return self.file.ioctl(cmd, arg)


class ProcFs(RamFs):
    """The /proc file system of one kernel."""

    magic = PROC_SUPER_MAGIC
    fs_type = b"proc"

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._cache: dict[tuple, Inode] = {}
        self._ino = itertools.count(2)
        super().__init__()
        self.root = self._node(("root",), ProcDir, S_IFDIR | 0o555, self._root_entries)
        self.root.parent = self.root

    def alloc_inode(self, mode: int, uid: int = 0, gid: int = 0, rdev: int = 0) -> Inode:
        # RamFs.__init__ makes a plain root first; it is replaced right after.
        return Inode(self, 1, mode, uid, gid, rdev)

    # ----- inode cache -----

    def _node(self, key: tuple, kind: type, mode: int, gen: Callable, parent: Inode | None = None,
              text: Callable[[], bytes] | None = None) -> Inode:  # fmt: skip
        inode = self._cache.get(key)
        if inode is None:
            inode = kind(self, next(self._ino), mode, 0, 0, 0)
            self._cache[key] = inode
        inode.gen = gen
        if kind is ProcDir:
            inode.hidden = None
        if kind is ProcLink:
            inode.text = text
        if parent is not None:
            inode.parent = parent
        return inode

    def _file(self, key: tuple, gen: Callable[[], bytes], mode: int = 0o444) -> Inode:
        return self._node(key, ProcFile, S_IFREG | mode, gen)

    def _link(self, key: tuple, gen: Callable[[], bytes], text: Callable[[], bytes] | None = None) -> Inode:
        return self._node(key, ProcLink, S_IFLNK | 0o777, gen, text=text)

    def _dir(self, key: tuple, gen: Callable[[], dict[bytes, Inode]], parent: Inode) -> Inode:
        return self._node(key, ProcDir, S_IFDIR | 0o555, gen, parent)

    # ----- /proc -----

    def _root_entries(self) -> dict[bytes, Inode]:
        entries: dict[bytes, Inode] = {}
        for pid in sorted(self.kernel.processes):
            entries[str(pid).encode()] = self._pid_dir(pid)
        entries[b"self"] = self._link(("self",), self._self_target)
        for name, gen in (
            (b"meminfo", self._meminfo),
            (b"cpuinfo", self._cpuinfo),
            (b"uptime", self._uptime),
            (b"loadavg", self._loadavg),
            (b"mounts", self._mounts),
            (b"filesystems", self._filesystems),
            (b"version", self._version),
        ):
            entries[name] = self._file((name,), gen)
        return entries

    @staticmethod
    def _self_target() -> bytes:
        process = current_process()
        if process is None:
            raise LinuxError(ENOENT)
        return str(process.pid).encode()

    def _process(self, pid: int) -> Any:
        process = self.kernel.processes.get(pid)
        if process is None:
            raise LinuxError(ENOENT)
        return process

    def _pid_dir(self, pid: int) -> Inode:
        return self._dir((pid,), lambda: self._pid_entries(pid), self.root)

    def _pid_entries(self, pid: int) -> dict[bytes, Inode]:
        process = self._process(pid)
        d = self._cache[(pid,)]
        entries: dict[bytes, Inode] = {
            b"stat": self._file((pid, b"stat"), lambda: self._stat(self._process(pid))),
            b"status": self._file((pid, b"status"), lambda: self._status(self._process(pid))),
            b"cmdline": self._file((pid, b"cmdline"), lambda: self._cmdline(self._process(pid))),
            b"comm": self._file((pid, b"comm"), lambda: self._process(pid).comm + b"\n", 0o644),
            b"maps": self._file((pid, b"maps"), lambda: self._maps(self._process(pid))),
            b"exe": self._link((pid, b"exe"), lambda: self._process(pid).exe_path or _enoent()),
            b"cwd": self._link((pid, b"cwd"), lambda: self.kernel.vfs.path_of(self._process(pid).cwd)),
            b"root": self._link((pid, b"root"), lambda: self.kernel.vfs.path_of(self._process(pid).fs.root)),
            b"fd": self._dir((pid, b"fd"), lambda: self._fd_entries(pid), d),
        }
        fd_dir = entries[b"fd"]
        fd_dir.hidden = {  # type: ignore[attr-defined]
            b"fdfile": lambda: self._dir((pid, b"fdfile"), lambda: self._fdfile_entries(pid), fd_dir)
        }
        if process.zombie:
            entries[b"exe"] = self._link((pid, b"exe-zombie"), _enoent)
        return entries

    # ----- /proc/PID/fd -----

    def _fd_entries(self, pid: int) -> dict[bytes, Inode]:
        process = self._process(pid)
        if process.zombie:
            return {}
        entries: dict[bytes, Inode] = {}
        for fd, _file in process.files.items():
            entries[str(fd).encode()] = self._link(
                (pid, b"fd", fd),
                lambda fd=fd: self._fd_target(pid, fd),
                lambda fd=fd: self._fd_text(pid, fd),
            )
        return entries

    def _fd_file(self, pid: int, fd: int) -> Any:
        try:
            return self._process(pid).files.get(fd)
        except LinuxError:
            raise LinuxError(ENOENT) from None

    def _fd_text(self, pid: int, fd: int) -> bytes:
        file = self._fd_file(pid, fd)
        inode = getattr(file, "inode", None)
        path = getattr(file, "path", b"") or b""
        if inode is not None and inode.is_dir:
            try:
                return self.kernel.vfs.path_of(inode)
            except LinuxError:
                pass
        if path.startswith(b"/") and inode is not None:
            return self._canonical(path, inode)
        if path.startswith(b"/") or path.startswith(b"pipe:"):
            return path
        if inode is None:
            return b"/dev/console"  # the host's stdio streams
        return path or b"anon_inode:[%s]" % type(file).__name__.lower().encode()

    def _canonical(self, path: bytes, inode: Inode) -> bytes:
        """The path with symlinks resolved (``/proc/self/x`` -> ``/proc/1/x``), if it
        still names *inode*; else the name it was opened by."""
        try:
            canonical = self.kernel.vfs_absolute(path, None)
            if self.kernel.vfs.lookup(canonical) is inode:
                return canonical
        except LinuxError:
            pass
        return path

    def _fd_target(self, pid: int, fd: int) -> bytes:
        file = self._fd_file(pid, fd)
        path = getattr(file, "path", b"") or b""
        inode = getattr(file, "inode", None)
        if inode is not None and path.startswith(b"/"):
            try:
                if self.kernel.vfs.lookup(path) is inode:
                    return path
            except LinuxError:
                pass
        return b"/proc/%d/fd/fdfile/%d" % (pid, fd)

    def _fdfile_entries(self, pid: int) -> dict[bytes, Inode]:
        # Fresh inodes on every lookup, each bound to the file the fd names *now*:
        # after ``exec 1>/dev/stdout`` fd 1 is the proxy itself, and a proxy that looked
        # fd 1 up at each write would call itself forever.
        entries: dict[bytes, Inode] = {}
        for fd, file in self._process(pid).files.items():
            inode = Inode(self, next(self._ino), S_IFCHR | 0o666, 0, 0, makedev(5, 1))
            inode.device = FdProxy(file)
            entries[str(fd).encode()] = inode
        return entries

    # ----- per-process files -----

    def _state(self, process: Any) -> tuple[str, str]:
        if process.zombie:
            return "Z", "zombie"
        if process.stopped:
            return "T", "stopped"
        if current_process() is process:
            return "R", "running"
        return "S", "sleeping"

    @staticmethod
    def _vm_sizes(process: Any) -> tuple[int, int]:
        """(virtual size in bytes, resident pages); resident = file/written areas, roughly."""
        areas = process.vm.areas if not process.zombie else []
        vsize = sum(a.end - a.start for a in areas)
        rss = sum(
            (min(a.end, a.file_end) - a.start) // PAGE_SIZE for a in areas if a.backing is not None and a.file_end
        )
        return vsize, max(rss, 1 if areas else 0)

    def _stat(self, process: Any) -> bytes:
        state, _ = self._state(process)
        ppid = process.parent.pid if process.parent is not None else 0
        utime = process.total_cpu_ns() * USER_HZ // 1_000_000_000
        cutime = process.children_cpu_ns * USER_HZ // 1_000_000_000
        vsize, rss = self._vm_sizes(process)
        threads = len(process.live_threads) or 1
        # The controlling terminal, as Linux encodes a dev_t here, and its foreground group.
        tty = controlling_tty(process)
        if tty is not None:
            tty_nr, tpgid = makedev(*tty.rdev), tty.pgrp or -1
        else:
            tty_nr, tpgid = 0, -1
        nice = process.nice
        fields = [
            process.pid, f"({process.comm.decode(errors='replace')})", state, ppid, process.pgid, process.sid,
            tty_nr, tpgid, 0x400000, 0, 0, 0, 0, utime, 0, cutime, 0, 20 + nice, nice, threads, 0, 0, vsize, rss,
            (1 << 64) - 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]  # fmt: skip
        return (" ".join(str(f) for f in fields) + "\n").encode()

    def _status(self, process: Any) -> bytes:
        _, state_name = self._state(process)
        state, _ = self._state(process)
        ppid = process.parent.pid if process.parent is not None else 0
        vsize, rss = self._vm_sizes(process)
        cred = process.cred
        uid = [getattr(cred, n, 0) for n in ("uid", "euid", "suid", "fsuid")]
        gid = [getattr(cred, n, 0) for n in ("gid", "egid", "sgid", "fsgid")]
        lines = [
            f"Name:\t{process.comm.decode(errors='replace')}",
            f"Umask:\t{process.umask:04o}",
            f"State:\t{state} ({state_name})",
            f"Tgid:\t{process.pid}",
            "Ngid:\t0",
            f"Pid:\t{process.pid}",
            f"PPid:\t{ppid}",
            "TracerPid:\t0",
            "Uid:\t" + "\t".join(str(u) for u in uid),
            "Gid:\t" + "\t".join(str(g) for g in gid),
            f"FDSize:\t{64 if process.zombie else max(64, len(process.files.items()))}",
            f"VmSize:\t{vsize // 1024:8d} kB",
            f"VmRSS:\t{rss * PAGE_SIZE // 1024:8d} kB",
            f"Threads:\t{len(process.live_threads) or 1}",
        ]
        return ("\n".join(lines) + "\n").encode()

    @staticmethod
    def _cmdline(process: Any) -> bytes:
        if process.zombie:
            return b""
        return b"".join(arg + b"\0" for arg in process.argv)

    def _maps(self, process: Any) -> bytes:
        if process.zombie:
            return b""
        out = []
        exe = process.exe_path.decode(errors="replace")
        for area in process.vm.areas:
            perms = "".join(c if area.prot & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))
            perms += "s" if area.shared else "p"
            if area.name in ("[text]", "[data]"):
                name, offset, inode = exe, area.file_base, 1
            else:
                name, offset, inode = area.name, 0, 0
            dev = "00:00"
            line = f"{area.start:08x}-{area.end:08x} {perms} {offset:08x} {dev} {inode}"
            out.append(f"{line:<73}{name}".rstrip() if name else line)
        return ("\n".join(out) + "\n").encode() if out else b""

    # ----- system-wide files -----

    @staticmethod
    def _meminfo() -> bytes:
        total, free = memory_stats()
        kb = PAGE_SIZE // 1024
        rows = [
            ("MemTotal", total * kb), ("MemFree", free * kb), ("MemAvailable", free * kb),
            ("Buffers", 0), ("Cached", 0), ("SwapCached", 0), ("Active", 0), ("Inactive", 0),
            ("SwapTotal", 0), ("SwapFree", 0), ("Shmem", 0), ("SReclaimable", 0),
        ]  # fmt: skip
        return "".join(f"{name + ':':<16}{value:8d} kB\n" for name, value in rows).encode()

    @staticmethod
    def _cpuinfo() -> bytes:
        lines = [
            "processor\t: 0", "vendor_id\t: GenuineIntel", "cpu family\t: 6", "model\t\t: 85",
            "model name\t: asterinas-lab emulated x86-64 CPU", "stepping\t: 0", "cpu MHz\t\t: 1000.000",
            "cache size\t: 0 KB", "physical id\t: 0", "siblings\t: 1", "core id\t\t: 0", "cpu cores\t: 1",
            "fpu\t\t: yes", "cpuid level\t: 13", "wp\t\t: yes",
            "flags\t\t: fpu tsc cx8 cmov mmx fxsr sse sse2 syscall lm sse3 ssse3 cx16 sse4_1 sse4_2 popcnt",
            "bogomips\t: 2000.00", "clflush size\t: 64", "cache_alignment\t: 64",
            "address sizes\t: 48 bits physical, 48 bits virtual", "", "",
        ]  # fmt: skip
        return "\n".join(lines).encode()

    @staticmethod
    def _uptime() -> bytes:
        up = clock.monotonic_ns() / 1e9
        return f"{up:.2f} {0.0:.2f}\n".encode()

    def _loadavg(self) -> bytes:
        running = sum(1 for p in self.kernel.processes.values() if not p.zombie)
        last = max(self.kernel.processes, default=0)
        return f"0.00 0.00 0.00 1/{running} {last}\n".encode()

    def _mounts(self) -> bytes:
        """The mount table as the reading process sees it (its chroot hides the rest)."""
        return self.kernel.vfs.mounts_text()

    @staticmethod
    def _filesystems() -> bytes:
        return b"nodev\tramfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tpipefs\n"

    @staticmethod
    def _version() -> bytes:
        return b"Linux version 6.1.0-asterinas-lab (asterinas-lab) #1 SMP\n"


def _enoent() -> bytes:
    raise LinuxError(ENOENT)
