"""The built-in boot image, assembled from the programs in the repository's images/.

The root file system of ``asterinas-lab boot`` (and of ``run`` without ``--root``) is a
cpio archive made at boot time from ``images/bin`` (the committed, prebuilt static
programs): ``/init``, the programs in ``/bin``, and a few files in ``/etc``.
"""

from __future__ import annotations

import stat
from pathlib import Path

from .kernel.fs.initramfs import build_cpio_files

IMAGES_DIR = Path(__file__).resolve().parents[1] / "images"
BIN_DIR = IMAGES_DIR / "bin"
MOTD = b"asterinas-lab: a framekernel in Python. Everything you see ran in user mode.\n"


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
    return files


def default_initramfs() -> bytes:
    return build_cpio_files(image_files())
