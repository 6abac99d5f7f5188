"""Run one static program under Qiling: the driver behind ``bench.py --qiling PYTHON``.

Qiling pins its own unicorn and pulls in many packages, so it lives in a separate
environment (``python -m venv /tmp/qvenv && /tmp/qvenv/bin/pip install qiling``) and
bench.py runs this file with that environment's Python:

    PYTHON qiling_run.py ROOTFS PROGRAM [ARGS...]

PROGRAM is a path inside ROOTFS. The program's stdout goes to this process's stdout.
"""

import sys

from qiling import Qiling
from qiling.const import QL_VERBOSE


def main() -> None:
    rootfs, program, *args = sys.argv[1:]
    ql = Qiling([rootfs + program, *args], rootfs, verbose=QL_VERBOSE.DISABLED, console=True)
    ql.run()


if __name__ == "__main__":
    main()
