"""Run a bring-your-own serve command tied to the pytest process that started it.

A BYO server runs in a session of its own (so teardown can stop its children too), which also
means it outlives a pytest killed with SIGKILL, still answering /ping. This small supervisor
runs the command as its child, in its own process group, and stops that whole group as soon as
its parent pytest process is gone; otherwise it exits with the command's own exit code.
`python -m pytest_smendpoint.serving.tethered PARENT_PID -- COMMAND...`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

# How often the parent is checked: a leftover server lives at most this long.
PARENT_CHECK_SECONDS = 0.5
STOP_GRACE_SECONDS = 5.0


def main(argv: list[str]) -> int:
    parent = int(argv[0])
    command = argv[argv.index("--") + 1 :]
    child = subprocess.Popen(command)  # our process group: the plugin's killpg reaches it
    while True:
        try:
            code = child.wait(PARENT_CHECK_SECONDS)
        except subprocess.TimeoutExpired:
            if os.getppid() == parent:
                continue
            _stop_group(child)
            return 1
        return code if code >= 0 else 128 - code  # a signal's death, as a shell reports it


def _stop_group(child: subprocess.Popen[bytes]) -> None:
    """The parent is gone: SIGTERM the group (the command and its children), then SIGKILL."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # not this process: it finishes the job
    os.killpg(os.getpgrp(), signal.SIGTERM)
    try:
        child.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(os.getpgrp(), signal.SIGKILL)  # ends this process too


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
