"""Ctrl-C during a slow call (issue 14 F6): SIGINT raises KeyboardInterrupt at once, not
when the request ends. The platform delays its answer by 10 s; SIGINT comes 1 s in."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

import mondoo
from conftest import Platform


@pytest.fixture(autouse=True)
def fresh_platform(platform: Platform) -> Iterator[None]:
    platform.reset()
    yield
    platform.reset()


@pytest.fixture(autouse=True)
def default_sigint_handler() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_sigint_interrupts_a_slow_call_at_once(platform: Platform, fixture_config: Path) -> None:
    client = mondoo.Client(mondoo.Config.load(fixture_config), api_endpoint=platform.url, timeout=30, env={})
    platform.fault(kind="slow", millis=10_000, only="Echo/Say")
    signalled_at: list[float] = []

    def interrupt() -> None:
        signalled_at.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(1.0, interrupt)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.call("Echo", "Say", {"slow": True})
        interrupted_at = time.monotonic()
    finally:
        timer.cancel()
    assert signalled_at, "the timer never sent SIGINT"
    after_signal = interrupted_at - signalled_at[0]
    print(f"KeyboardInterrupt {after_signal * 1000:.0f} ms after SIGINT ({interrupted_at - started:.2f} s into the call)")
    # loose on purpose (a loaded machine); without the fix this is about 9 s
    assert after_signal < 2.0
    # the client still works afterwards
    assert client.call("Echo", "Say", {"after": 1})["after"] == 1
