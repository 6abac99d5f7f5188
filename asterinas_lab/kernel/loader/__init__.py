"""The program loader: the pure, file-reading half of ``execve``.

:func:`parse_elf` checks that a file is a static x86-64 executable and turns its
program headers into page-granular :class:`Segment` mapping requests;
:func:`build_initial_stack` computes the bytes of the new program's stack (argc,
argv, envp and the auxiliary vector).  Neither touches memory: the caller maps the
segments and writes the stack, so a hostile binary can only make these functions
raise ``LinuxError``.
"""

from asterinas_lab.kernel.loader.elf import ElfImage, Prot, Segment, TlsInfo, parse_elf
from asterinas_lab.kernel.loader.init_stack import (
    AuxvParams,
    InitialStack,
    build_initial_stack,
)

__all__ = [
    "AuxvParams",
    "ElfImage",
    "InitialStack",
    "Prot",
    "Segment",
    "TlsInfo",
    "build_initial_stack",
    "parse_elf",
]
