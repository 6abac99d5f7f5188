"""The file-system layer of the safe kernel.

* ``stat``      -- ``struct stat`` / ``struct statx`` byte layouts (the user ABI)
* ``ramfs``     -- the in-memory file system: inodes and directory operations
* ``devfs``     -- character devices (/dev/null, /dev/zero, ...) attached to inodes
* ``vfs``       -- path resolution, ``OpenFile`` and path-based operations
* ``initramfs`` -- reading/writing the cpio "newc" boot archive

Everything works on Python ``bytes``; copying to and from user memory is the syscall
layer's job. Submodules are imported explicitly (``from asterinas_lab.kernel.fs.vfs
import Vfs``) so importing the package stays cheap.
"""
