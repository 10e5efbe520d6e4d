"""The GIL is released while a body is signed: another Python thread runs during the call.

How it is measured, without timing thresholds: the switch interval is raised so far that
CPython never takes the GIL from a thread by force during the test. Another thread can then
run Python code only while the signing thread has released the GIL of its own accord. The
signing thread raises a flag around each call; an observer thread counts the iterations in
which it sees the flag up. If the sign held the GIL, the observer could only run outside the
calls (the flag down): zero ticks, whatever the load of the machine. The observer itself
releases the GIL at every iteration (time.sleep(0)) so the signing thread gets it back as
soon as its call returns.

The probe is checked both ways on standard-library calls: one that releases the GIL
(hashlib on a large buffer) and one that holds it (bytes.count).
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

import mondoo

BODY = b"x" * (32 * 1024 * 1024)  # 32 MiB: hashing dominates the sign
WANT_TICKS = 1000
MAX_CALLS = 40


class _Shared:
    def __init__(self) -> None:
        self.in_call = False
        self.done = False
        self.ticks = 0


def ticks_during(work: Callable[[], object], want: int = WANT_TICKS, max_calls: int = MAX_CALLS) -> tuple[int, int]:
    """Call `work` until an observer thread has run `want` iterations while a call was in
    progress, at most `max_calls` times; returns (those iterations, calls made)."""
    shared = _Shared()
    started = threading.Event()

    def observe() -> None:
        started.wait()
        while not shared.done:
            if shared.in_call:
                shared.ticks += 1
            time.sleep(0)  # releases the GIL: the signing thread gets it back after its call

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)  # no forced GIL switch during the test
    observer = threading.Thread(target=observe, name="gil-observer")
    observer.start()
    calls = 0
    try:
        started.set()
        while calls < max_calls and shared.ticks < want:
            shared.in_call = True
            work()
            shared.in_call = False
            calls += 1
    finally:
        shared.in_call = False
        shared.done = True
        sys.setswitchinterval(previous)
        observer.join(60)
    assert not observer.is_alive()
    return shared.ticks, calls


@pytest.fixture(autouse=True)
def gil_enabled() -> Iterator[None]:
    # A free-threaded build has no GIL to release: the probe would prove nothing there.
    is_gil_enabled: Callable[[], bool] | None = getattr(sys, "_is_gil_enabled", None)
    assert is_gil_enabled is None or is_gil_enabled(), "these tests need a GIL build of CPython"
    yield


def test_probe_sees_a_call_that_releases_the_gil() -> None:
    ticks, calls = ticks_during(lambda: hashlib.sha256(BODY).digest())
    assert ticks >= WANT_TICKS, f"only {ticks} observer iterations during {calls} hashlib calls"


def test_probe_sees_nothing_during_a_call_that_holds_the_gil() -> None:
    # bytes.count holds the GIL for the whole scan: the observer never runs inside a call.
    ticks, calls = ticks_during(lambda: BODY.count(b"\x00\x01\x02"), max_calls=5)
    assert (ticks, calls) == (0, 5)


def test_signer_sign_releases_the_gil(fixture_config: Path) -> None:
    signer = mondoo.Signer.from_config(mondoo.Config.load(fixture_config))
    bearers: list[str] = []
    ticks, calls = ticks_during(lambda: bearers.append(signer.sign(BODY)))
    assert ticks >= WANT_TICKS, f"only {ticks} observer iterations during {calls} Signer.sign calls"
    assert len(bearers) == calls and all(b.count(".") == 2 for b in bearers)


def test_signer_sign_of_a_str_releases_the_gil(fixture_config: Path) -> None:
    signer = mondoo.Signer.from_config(mondoo.Config.load(fixture_config))
    text = BODY.decode()
    ticks, calls = ticks_during(lambda: signer.sign(text))
    assert ticks >= WANT_TICKS, f"only {ticks} observer iterations during {calls} Signer.sign(str) calls"


def test_client_sign_releases_the_gil(fixture_config: Path) -> None:
    with mondoo.Client(mondoo.Config.load(fixture_config), env={}) as client:
        bearers: list[str] = []
        ticks, calls = ticks_during(lambda: bearers.append(client.sign(BODY)))
    assert ticks >= WANT_TICKS, f"only {ticks} observer iterations during {calls} Client.sign calls"
    assert len(bearers) == calls and all(b.count(".") == 2 for b in bearers)
