"""Child processes that do not outlive the process that started them.

A child forked or spawned by `pbxcrm ari` (its mp3 converter) or `pbxcrm web --workers N`
(uvicorn's workers) is asked to get a signal when its parent dies, however it dies: a
SIGKILLed parent runs no clean-up of its own (Linux's PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """In the child: `sig` when the parent (`parent_pid`) dies; gone at once if it already has."""
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    except (OSError, AttributeError) as e:  # not Linux
        log.warning("process %d: not tied to its parent's life (%s)", os.getpid(), e)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(0)
