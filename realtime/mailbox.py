"""One-slot "latest wins" mailbox joining two pipeline stages.

``put`` overwrites the pending item (the overwritten one is counted as dropped), so a slow
consumer always gets the newest item and nothing stale queues up. ``put(block=True)`` waits for
the slot to be free instead (lossless hand-off, for offline runs that must keep every frame).
``close()`` marks the end of the stream: the pending item can still be taken, then ``get``
raises :class:`MailboxClosed`. Generic helper: imports nothing from the project.
"""
from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class MailboxClosed(Exception):
    """The producer closed the mailbox and no item is pending."""


class Mailbox(Generic[T]):
    """A single slot shared by one producer and one consumer (thread-safe)."""

    def __init__(self, name: str = "mailbox") -> None:
        self.name = name
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.puts = 0      #: items offered
        self.dropped = 0   #: items overwritten before anyone took them

    def put(self, item: T, block: bool = False, timeout: float | None = None) -> bool:
        """Offer an item. Non-blocking: overwrite any pending one. Blocking: wait for a free slot.

        Returns False when the mailbox is closed (the item is discarded) or a blocking put timed out.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if block:
                while self._full and not self._closed:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(left)
            if self._closed:
                return False
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self.puts += 1
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """Take the pending item, waiting up to ``timeout`` seconds (None: forever).

        Returns None on timeout; raises MailboxClosed once closed and empty.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._full:
                if self._closed:
                    raise MailboxClosed(self.name)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            item, self._item, self._full = self._item, None, False
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """End of stream: wake every waiter; a pending item stays available to ``get``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def discard(self) -> None:
        """Drop any pending item and close (used when stopping early)."""
        with self._cond:
            self._item, self._full, self._closed = None, False, True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return f"Mailbox({self.name!r}, full={self._full}, closed={self._closed}, dropped={self.dropped})"
