"""The asyncio API (mondoo.aio.Client) against the local platform: the flows, errors,
concurrency, and cancellation: a cancelled or timed-out call stops its request (the server
sees the connection closed) and a cancelled register or logout never writes the config."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Callable, Coroutine, Iterator, TypeVar

import pytest

import mondoo
import mondoo.aio
from conftest import Platform, SilentServer

T = TypeVar("T")

# Generous bounds for "at once" on a loaded machine; the measured figures are printed.
PROMPT_SECONDS = 2.0


@pytest.fixture(autouse=True)
def fresh_platform(platform: Platform) -> Iterator[None]:
    platform.reset()
    yield
    platform.reset()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def aio_client(config: Any, platform: Platform | None = None, **options: Any) -> mondoo.aio.Client:
    """An asyncio client with the test options (no proxy of the machine, no retry sleep)."""
    options.setdefault("env", {})
    options.setdefault("retry_delays", [0, 0, 0])
    options.setdefault("retry_jitter", 0)
    options.setdefault("timeout", 10)
    if platform is not None:
        options.setdefault("api_endpoint", platform.url)
    return mondoo.aio.Client(config, **options)


def aio_registration_client(path: Path, **options: Any) -> mondoo.aio.Client:
    options.setdefault("env", {})
    options.setdefault("timeout", 10)
    return mondoo.aio.Client.for_registration(path, **options)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def register_agent_answered(platform: Platform) -> bool:
    """The platform has handled (and recorded) a RegisterAgent, its fault's delay over."""
    return any(r["method"] == "RegisterAgent" for r in platform.requests())


# --- the flows ---------------------------------------------------------------------------


def test_register_status_logout(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.json"

    async def flow() -> tuple[mondoo.Status, mondoo.Registration, mondoo.Status, mondoo.Status]:
        async with aio_registration_client(path) as client:
            before = await client.status()
            registration = await client.register(platform.mint_token(), name="aio-test")
            after = await client.status()
            await client.logout()
            out = await client.status()
        assert client.closed
        return before, registration, after, out

    before, registration, after, logged_out = run(flow())
    assert (before.registered, before.authenticated) == (False, False)
    assert registration.agent_mrn and registration.config_path == str(path)
    assert not registration.already_registered
    assert (after.registered, after.authenticated, after.exit_code) == (True, True, 0)
    assert after.agent_mrn == registration.agent_mrn
    assert (logged_out.registered, logged_out.authenticated) == (False, False)
    written = json.loads(path.read_text())
    assert "agent_mrn" not in written and "private_key" not in written
    assert platform.agents() == []


def test_health_checkin_call_and_sign(platform: Platform, fixture_config: Path) -> None:
    async def calls() -> tuple[mondoo.Health, dict[str, Any], str]:
        async with aio_client(mondoo.Config.load(fixture_config), platform) as client:
            health = await client.health()
            await client.register()  # an agent for the check-in
            await client.checkin()
            answer = await client.call("Echo", "Say", {"n": 1})
            return health, answer, client.sign(b"{}")

    health, answer, bearer = run(calls())
    assert health.status == "SERVING"
    assert health.round_trip_ms > 0
    assert health.clock_skew_seconds is not None and abs(health.clock_skew_seconds) < 60
    assert health.to_dict()["status"] == "SERVING"
    assert answer["n"] == 1 and answer["signed_by"]
    assert bearer.count(".") == 2
    assert [a["check_ins"] for a in platform.agents()] == [1]


def test_errors_are_the_librarys_exceptions(platform: Platform, fixture_config: Path, tmp_path: Path) -> None:
    async def failing() -> None:
        client = aio_client(mondoo.Config.load(fixture_config), platform)
        with pytest.raises(mondoo.RpcError) as unknown:
            await client.call("Echo", "NoSuchMethod", {})
        assert (unknown.value.rpc_code, unknown.value.http_status) == (5, 404)
        with pytest.raises(mondoo.TokenError) as bad_token:
            await aio_registration_client(tmp_path / "new.yml").register("not-a-token")
        assert bad_token.value.malformed
        with pytest.raises(mondoo.NotRegisteredError):
            await aio_client(mondoo.Config.for_registration(tmp_path / "none.yml"), platform).call("Echo", "Say")
        client.close()
        with pytest.raises(mondoo.ClientClosedError):
            await client.status()

    run(failing())


def test_many_concurrent_calls_on_one_client(platform: Platform, fixture_config: Path) -> None:
    calls = 40

    async def concurrently() -> tuple[list[dict[str, Any]], list[mondoo.Status]]:
        async with aio_client(mondoo.Config.load(fixture_config), platform) as client:
            answers = asyncio.gather(*(client.call("Echo", "Say", {"i": i}) for i in range(calls)))
            statuses = asyncio.gather(*(client.status() for _ in range(5)))
            return await answers, await statuses

    answers, statuses = run(concurrently())
    assert [a["i"] for a in answers] == list(range(calls))
    assert all(s.authenticated for s in statuses)
    assert sum(r["method"] == "Say" for r in platform.requests()) == calls


def test_calls_overlap_instead_of_queueing(platform: Platform, fixture_config: Path) -> None:
    # Each call is held 1 s by the platform: ten of them one after the other take 10 s.
    calls, delay = 10, 1.0
    platform.fault(kind="slow", millis=int(delay * 1000), times=calls, only="Echo/Say")

    async def concurrently() -> float:
        async with aio_client(mondoo.Config.load(fixture_config), platform) as client:
            started = time.monotonic()
            await asyncio.gather(*(client.call("Echo", "Say", {"i": i}) for i in range(calls)))
            return time.monotonic() - started

    elapsed = run(concurrently())
    print(f"{calls} calls held {delay:.0f} s each by the platform took {elapsed:.2f} s together")
    assert elapsed < calls * delay / 2


# --- cancellation ------------------------------------------------------------------------


def test_wait_for_times_out_a_slow_status_promptly(platform: Platform, tmp_path: Path) -> None:
    platform.fault(kind="slow", millis=5000, only="Health/Check")

    async def timed_out() -> tuple[float, mondoo.Status]:
        async with aio_registration_client(tmp_path / "mondoo.yml", api_endpoint=platform.url) as client:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.status(), 0.2)
            elapsed = time.monotonic() - started
            # the client is fine afterwards: the fault is used up
            return elapsed, await client.status()

    elapsed, status = run(timed_out())
    print(f"wait_for(status(), 0.2) against a 5 s slow Health/Check raised after {elapsed * 1000:.0f} ms")
    assert elapsed < PROMPT_SECONDS
    assert status.api_status == "SERVING"


def test_a_timed_out_call_closes_its_connection(silent_server: SilentServer, tmp_path: Path) -> None:
    async def timed_out() -> float:
        client = aio_registration_client(tmp_path / "mondoo.yml", api_endpoint=silent_server.url, timeout=60)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.status(), 0.2)
        return time.monotonic()

    gave_up_at = run(timed_out())
    # The request would otherwise run on for the client's 60 s timeout.
    assert silent_server.wait_all_closed(PROMPT_SECONDS), "the cancelled request kept its connection open"
    assert silent_server.last_closed_at is not None
    print(f"the server saw the connection closed {(silent_server.last_closed_at - gave_up_at) * 1000:.0f} ms after the timeout")


def test_cancelling_a_slow_register_writes_no_config(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    delay = 1.5
    platform.fault(kind="slow", millis=int(delay * 1000), only="AgentManager/RegisterAgent")
    token = platform.mint_token()

    async def cancelled() -> tuple[float, mondoo.aio.Client]:
        client = aio_registration_client(path, retry_delays=[])
        task = asyncio.ensure_future(client.register(token))
        await asyncio.sleep(0.3)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started, client

    elapsed, client = run(cancelled())
    print(f"register cancelled 0.3 s into a {delay} s RegisterAgent: CancelledError after {elapsed * 1000:.0f} ms")
    assert elapsed < PROMPT_SECONDS
    # The platform finishes the request after its delay (it registers an agent whose
    # credentials nobody receives); the client, cancelled, must not write anything then.
    wait_until(lambda: register_agent_answered(platform), "the platform to answer the RegisterAgent")
    time.sleep(0.5)
    assert not path.exists(), "a cancelled register wrote the config"
    assert not client.config.registered


def test_cancelling_a_slow_logout_leaves_the_config(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"

    async def cancelled() -> None:
        async with aio_registration_client(path) as client:
            await client.register(platform.mint_token())
            platform.fault(kind="slow", millis=1500, only="AgentManager/UnRegisterAgent")
            task = asyncio.ensure_future(client.logout())
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(cancelled())
    registered = path.read_text()
    wait_until(
        lambda: any(r["method"] == "UnRegisterAgent" for r in platform.requests()),
        "the platform to answer the UnRegisterAgent",
    )
    time.sleep(0.5)
    assert path.read_text() == registered, "a cancelled logout rewrote the config"
    assert mondoo.Config.load(path).registered
