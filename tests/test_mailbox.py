import threading
import time

import pytest
from hypothesis import given, strategies as st

from realtime.mailbox import Mailbox, MailboxClosed


def test_put_overwrites_and_counts_drops():
    box: Mailbox[int] = Mailbox("t")
    for i in range(5):
        assert box.put(i)
    assert box.get(timeout=0) == 4
    assert box.dropped == 4 and box.puts == 5
    assert box.get(timeout=0.01) is None


@given(st.lists(st.integers(), min_size=1, max_size=50))
def test_latest_wins_for_any_sequence(items):
    box: Mailbox[int] = Mailbox()
    for x in items:
        box.put(x)
    assert box.get(timeout=0) == items[-1]
    assert box.dropped == len(items) - 1


def test_close_keeps_pending_item_then_raises():
    box: Mailbox[str] = Mailbox()
    box.put("last")
    box.close()
    assert box.put("after close") is False
    assert box.get() == "last"
    with pytest.raises(MailboxClosed):
        box.get()


def test_close_wakes_a_waiting_consumer():
    box: Mailbox[int] = Mailbox()
    got = []

    def consumer():
        try:
            box.get()
        except MailboxClosed:
            got.append("closed")

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.05)
    box.close()
    t.join(2)
    assert got == ["closed"]


def test_blocking_put_is_lossless():
    box: Mailbox[int] = Mailbox()
    received = []

    def consumer():
        while True:
            try:
                received.append(box.get())
            except MailboxClosed:
                return
            time.sleep(0.001)

    t = threading.Thread(target=consumer)
    t.start()
    for i in range(100):
        assert box.put(i, block=True)
    box.close()
    t.join(5)
    assert received == list(range(100))
    assert box.dropped == 0


def test_blocking_put_times_out_when_nobody_takes():
    box: Mailbox[int] = Mailbox()
    box.put(1)
    assert box.put(2, block=True, timeout=0.02) is False
    assert box.get(timeout=0) == 1


def test_discard_drops_pending_and_closes():
    box: Mailbox[int] = Mailbox()
    box.put(1)
    box.discard()
    with pytest.raises(MailboxClosed):
        box.get(timeout=0)
