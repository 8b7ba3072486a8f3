"""SIGINT, SIGTERM and SIGHUP as one exception, so that every command unwinds the same way.

``handle_signals()`` (the CLI wraps every command but ``live`` in it) turns each of the three
signals into ``Interrupted`` (a KeyboardInterrupt, so ``except KeyboardInterrupt`` code keeps
working) raised in the main thread: ``finally`` blocks and context managers run, and the output
layer's temporary files are deleted (``realtime.outputs``). A second signal while unwinding is
ignored, so the clean-up finishes. The CLI turns ``Interrupted`` into one line and exit 128+signum
(130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())


_received: list[int] = []
_deferring: list[bool] = []    # one entry per open ``deferred()`` block (main thread)
_pending: list[int] = []       # signals that arrived inside one


def received() -> int | None:
    """The first signal ``handle_signals`` turned into ``Interrupted`` in this process, if any."""
    return _received[0] if _received else None


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``exit_code`` is 128 + the signal number."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def exit_code_of(e: KeyboardInterrupt) -> int:
    return e.exit_code if isinstance(e, Interrupted) else 128 + signal.SIGINT


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM/SIGHUP raise ``Interrupted`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {"fired": False}
    _received.clear()

    def on_signal(signum: int, _frame) -> None:
        if state["fired"]:
            return   # already unwinding: let the clean-up finish
        if _deferring:
            _pending.append(signum)   # raised when the deferred() block ends
            return
        state["fired"] = True
        _received.append(signum)
        raise Interrupted(signum)

    def on_unraisable(info) -> None:
        # the exception landed where Python cannot raise it (a __del__, logging's lock release, ...)
        # and was dropped: deliver the signal again, so the run still stops
        if isinstance(info.exc_value, Interrupted) and not state.get("done"):
            state["fired"] = False
            os.kill(os.getpid(), info.exc_value.signum)
            return
        old_hook(info)

    old_hook, sys.unraisablehook = sys.unraisablehook, on_unraisable
    old = {}
    for sig in HANDLED:
        try:
            old[sig] = signal.signal(sig, on_signal)
        except (ValueError, OSError):   # not settable here
            pass
    try:
        yield
    finally:
        state["done"] = True
        sys.unraisablehook = old_hook
        for sig, handler in old.items():
            signal.signal(sig, handler)



@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block, a signal that ``handle_signals`` turns into ``Interrupted`` waits: it is
    raised when the block ends (main thread; the outermost block, when they nest).

    For a write that must not be cut in half, such as one video frame into ffmpeg's pipe: a signal
    that interrupts it leaves a partial frame that ffmpeg reports on the terminal. While deferred,
    the handler only notes the signal and returns, so the interrupted write resumes (PEP 475).
    Other threads are not affected (Python runs signal handlers in the main thread only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()
        if not _deferring and _pending:
            signum = _pending.pop()
            _pending.clear()
            handler = signal.getsignal(signum)
            if callable(handler):
                handler(signum, None)      # handle_signals' handler: raises Interrupted here
