"""When a ``doeff-migrate`` child process is far enough into its start-up to be interrupted meaningfully.

Tests that send SIGINT "while it starts" must not race the interpreter's own start-up: before the command's
first line runs, an interrupt is Python's ``KeyboardInterrupt`` in ``site`` or ``runpy``, which no code of the
tool can catch. Waiting a fixed time for that does not hold on a loaded machine, so the tests wait for an event.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

EXTENSION_MODULE = ".cpython-"
"""In a mapped file's name: a compiled extension module (``_heapq.cpython-311-x86_64-linux-gnu.so``)."""


def wait_until_importing(proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Return once ``proc`` has mapped its first compiled extension module (``/proc/PID/maps``).

    A bare interpreter maps none (``site`` and ``runpy`` are pure Python or built in), and ``codemod/cli.py``
    installs its interrupt handler before its first import that loads one (``difflib`` -> ``_heapq``), so
    from then on the process is in the command's own start-up: its imports, then the run. Returns early
    when the process ends; raises ``TimeoutError`` when it is not there after ``timeout`` seconds.
    """
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            if EXTENSION_MODULE in maps.read_text():
                return
        except OSError:
            return  # it ended between the poll and the read
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {proc.pid} loaded no extension module in {timeout:g} s")
        time.sleep(0.002)
