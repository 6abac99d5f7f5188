"""A serial port: the machine's console.

Output bytes go to a host sink (a callable). Input is a queue of bytes the host feeds
in (from a terminal, a notebook widget or a test), which the OS reads when it wants a
line. The device knows nothing about terminals or line discipline; that is the OS's job.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class SerialPort:
    def __init__(self, sink: Callable[[bytes], object] | None = None) -> None:
        self._sink = sink
        self._input: deque[bytes] = deque()
        self.transcript = bytearray()
        self.keep_transcript = sink is None

    def connect(self, sink: Callable[[bytes], object] | None) -> None:
        self._sink = sink

    def write(self, data: bytes) -> None:
        if self.keep_transcript:
            self.transcript += data
        if self._sink is not None:
            self._sink(data)

    def feed(self, data: bytes) -> None:
        """Host side: bytes typed at the console."""
        if data:
            self._input.append(bytes(data))

    def read_available(self, limit: int) -> bytes:
        """Take up to ``limit`` bytes of pending input (b"" if none)."""
        out = bytearray()
        while self._input and len(out) < limit:
            chunk = self._input.popleft()
            take = limit - len(out)
            out += chunk[:take]
            if len(chunk) > take:
                self._input.appendleft(chunk[take:])
        return bytes(out)

    @property
    def has_input(self) -> bool:
        return bool(self._input)
