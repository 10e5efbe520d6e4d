"""Ctrl-C during a slow call (issue 14 F6): SIGINT raises KeyboardInterrupt at once, not
when the request ends, and cancels the request (issue 13): its connection is closed and a
register that had not written the config yet never writes it."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

import mondoo
from conftest import Platform, SilentServer

T = TypeVar("T")


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


def interrupted(call: Callable[[], T], after: float = 0.5) -> float:
    """Run `call` with SIGINT sent to the process `after` seconds in; it must raise
    KeyboardInterrupt. Returns time.monotonic() when it did."""
    timer = threading.Timer(after, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
        return time.monotonic()
    finally:
        timer.cancel()


def test_sigint_closes_the_interrupted_requests_connection(silent_server: SilentServer, tmp_path: Path) -> None:
    client = mondoo.Client.for_registration(tmp_path / "mondoo.yml", api_endpoint=silent_server.url, timeout=60, env={})
    interrupted_at = interrupted(client.status)
    # Not cancelled, the request would hold its connection for the client's 60 s timeout.
    assert silent_server.wait_all_closed(2.0), "the interrupted request kept its connection open"
    assert silent_server.last_closed_at is not None
    print(f"the server saw the connection closed {(silent_server.last_closed_at - interrupted_at) * 1000:.0f} ms after KeyboardInterrupt")


def test_sigint_during_a_slow_register_writes_no_config(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    client = mondoo.Client.for_registration(path, timeout=30, retry_delays=[], env={})
    token = platform.mint_token()
    platform.fault(kind="slow", millis=1500, only="AgentManager/RegisterAgent")
    interrupted(lambda: client.register(token), after=0.3)
    # The platform answers after its delay (registering an agent nobody receives); the
    # cancelled register must not write the config then.
    deadline = time.monotonic() + 15
    while not any(r["method"] == "RegisterAgent" for r in platform.requests()):
        assert time.monotonic() < deadline, "the platform never answered the RegisterAgent"
        time.sleep(0.05)
    time.sleep(0.5)
    assert not path.exists(), "the interrupted register wrote the config"
    assert not client.config.registered


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
