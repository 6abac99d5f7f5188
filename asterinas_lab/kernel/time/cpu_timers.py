"""ITIMER_VIRTUAL and ITIMER_PROF: signals after the process has used some CPU time.

They are checked whenever a thread's CPU time is accounted (each return from user
mode in the thread loop), so a busy loop gets its SIGVTALRM at the next timer tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..process.signal.constants import SI_KERNEL, SIGPROF, SIGVTALRM
from ..process.signal.deliver import send_to_process
from ..process.signal.state import SigInfo

if TYPE_CHECKING:
    from ..process.process import Process

ITIMER_VIRTUAL, ITIMER_PROF = 1, 2
_SIGNALS = {ITIMER_VIRTUAL: SIGVTALRM, ITIMER_PROF: SIGPROF}


def check_cpu_timers(process: Process) -> None:
    used = process.total_cpu_ns()
    for which, (deadline, interval) in list(process.cpu_timers.items()):
        if used < deadline:
            continue
        send_to_process(process, SigInfo(_SIGNALS[which], code=SI_KERNEL))
        if interval:
            missed = (used - deadline) // interval + 1
            process.cpu_timers[which] = (deadline + missed * interval, interval)
        else:
            del process.cpu_timers[which]
