"""Errors raised by OSTD's public API.

OSTD never trusts its callers: when safe kernel code asks for something that would break
an invariant (map a typed frame to user space, write a page-table frame, free a frame
twice) OSTD refuses with an :class:`OstdError`. Such a refusal is a bug in the kernel,
contained like any other kernel exception: it kills the process being served (an
"oops"), not the machine. Any *other* exception that escapes from OSTD's own code is a
broken invariant inside the trusted core, which is a panic.
"""

from __future__ import annotations


class OstdError(Exception):
    """Safe code asked OSTD for something that would break one of its invariants."""


class AccessDenied(OstdError):
    """A typed frame cannot be read, written or mapped to user space."""


class PageFaultError(Exception):
    """A user-memory copy hit an address that is not mapped (or not with that access).

    VmReader and VmWriter raise it; the kernel turns it into EFAULT.
    """

    def __init__(self, address: int, write: bool) -> None:
        super().__init__(f"bad user address {address:#x} ({'write' if write else 'read'})")
        self.address = address
        self.write = write


class Panic(Exception):
    """The trusted core found its own invariants broken: the machine must stop."""
