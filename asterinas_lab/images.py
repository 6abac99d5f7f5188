"""The built-in boot image, assembled from the programs in the repository's images/.

The root file system of ``asterinas-lab boot`` (and of ``run`` without ``--root``) is a
cpio archive made from ``images/bin`` (the committed, prebuilt static programs):
``/init``, the programs in ``/bin``, and a few files in ``/etc``. When Debian's
busybox-static is installed on the host, the image also holds ``/bin/busybox`` and a
link for each of its applets at the path busybox gives it (``/usr/bin/awk``, ...), unless
one of our programs already has that path. The archive is built once per process.
"""

from __future__ import annotations

import functools
import os
import stat
import subprocess
from pathlib import Path

from .kernel.fs.initramfs import build_cpio_files

IMAGES_DIR = Path(__file__).resolve().parents[1] / "images"
BIN_DIR = IMAGES_DIR / "bin"
MOTD = b"asterinas-lab: a framekernel in Python. Everything you see ran in user mode.\n"
HOST_BUSYBOX = Path("/usr/bin/busybox")


def image_files() -> dict[bytes, tuple[int, bytes]]:
    if not BIN_DIR.is_dir():
        raise FileNotFoundError(f"no prebuilt programs in {BIN_DIR}")
    files: dict[bytes, tuple[int, bytes]] = {}
    for program in sorted(BIN_DIR.iterdir()):
        if program.is_file():
            files[b"/bin/" + program.name.encode()] = (stat.S_IFREG | 0o755, program.read_bytes())
    files[b"/init"] = files[b"/bin/init"]
    files[b"/etc/motd"] = (stat.S_IFREG | 0o644, MOTD)
    files[b"/etc/hostname"] = (stat.S_IFREG | 0o644, b"asterinas-lab\n")
    files[b"/tmp/.keep"] = (stat.S_IFREG | 0o644, b"")
    files.update(busybox_files(files))
    return files


def busybox_files(taken: dict[bytes, tuple[int, bytes]]) -> dict[bytes, tuple[int, bytes]]:
    """/bin/busybox and its applet links, if the host has busybox-static."""
    if not HOST_BUSYBOX.is_file() or b"/bin/busybox" in taken:
        return {}
    try:
        listing = subprocess.run([str(HOST_BUSYBOX), "--list-full"], capture_output=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    files = {b"/bin/busybox": (stat.S_IFREG | 0o755, HOST_BUSYBOX.read_bytes())}
    for line in listing.split():
        path = b"/" + line.strip(b"/")
        if path not in taken and path != b"/bin/busybox":
            files[path] = (stat.S_IFLNK | 0o777, b"/bin/busybox")
    return files


@functools.cache
def _initramfs(key: tuple) -> bytes:
    return build_cpio_files(image_files())


def default_initramfs() -> bytes:
    # Rebuilt when a program in images/bin (or the host's busybox) changes.
    watched = [*sorted(BIN_DIR.iterdir()), HOST_BUSYBOX] if BIN_DIR.is_dir() else []
    key = tuple((str(p), os.stat(p).st_mtime_ns) for p in watched if p.exists())
    return _initramfs(key)
