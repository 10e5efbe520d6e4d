"""The flows against the local platform: the seed status states, login and logout with the
config file checked after each, errors where they belong, threads."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import mondoo
from conftest import Platform

UNAUTHENTICATED = "rpc error: code = Unauthenticated desc = request permission unauthenticated"


@pytest.fixture(autouse=True)
def fresh_platform(platform: Platform) -> Iterator[None]:
    platform.reset()
    yield
    platform.reset()


def with_test_defaults(platform: Platform | None, options: dict[str, Any]) -> dict[str, Any]:
    """Client options that see no proxy variable of the machine and retry without sleeping."""
    options.setdefault("env", {})
    options.setdefault("retry_delays", [0, 0, 0])
    options.setdefault("retry_jitter", 0)
    options.setdefault("timeout", 10)
    if platform is not None:
        options.setdefault("api_endpoint", platform.url)
    return options


def client_for(config: Any, platform: Platform | None = None, **options: Any) -> mondoo.Client:
    """A client with the test options."""
    return mondoo.Client(config, **with_test_defaults(platform, options))


def registration_client_for(path: Path, platform: Platform | None = None, **options: Any) -> mondoo.Client:
    """client_for, for a config file that registration may create."""
    return mondoo.Client.for_registration(path, **with_test_defaults(platform, options))


def login(platform: Platform, path: Path, **register: Any) -> tuple[mondoo.Client, mondoo.Registration]:
    client = registration_client_for(path)
    registration = client.register(platform.mint_token(), **register)
    return client, registration


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# --- status: the four seed states ------------------------------------------------------


def test_status_unregistered(platform: Platform, tmp_path: Path) -> None:
    with registration_client_for(tmp_path / "mondoo.yml", platform) as client:
        status = client.status()
    text = str(status)
    assert "→ API Status:\t\tSERVING" in text
    assert "x client is not registered" in text
    assert "authenticated successfully" not in text
    assert (status.registered, status.authenticated, status.exit_code) == (False, False, 1)
    assert status.api_status == "SERVING"
    assert status.to_dict()["client"]["registered"] is False
    # no signed call was attempted
    assert {r["service"] for r in platform.requests()} == {"Health"}


def test_status_registered_and_authenticated(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    _, registration = login(platform, path)
    with client_for(mondoo.Config.load(path)) as client:
        status = client.status()
    text = str(status)
    assert text.startswith(f"→ loaded configuration from {path} using source --config\n"), text
    for want in ["→ client is registered", "→ client authenticated successfully", f"→ Client:\t\t{registration.agent_mrn}"]:
        assert want in text, f"missing {want!r} in\n{text}"
    assert (status.registered, status.authenticated, status.exit_code) == (True, True, 0)
    assert status.agent_mrn == registration.agent_mrn
    assert status.service_account_mrn == registration.service_account_mrn
    assert status.space_mrn == registration.space_mrn
    assert status.ping_pong_error is None
    assert status.warnings == []


def test_status_revoked_service_account(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    client, registration = login(platform, path)
    platform.revoke(registration.service_account_mrn)
    status = client.status()
    text = str(status)
    assert "→ client is registered" in text
    assert f'x could not connect to mondoo platform error="{UNAUTHENTICATED}"' in text, text
    assert (status.registered, status.authenticated, status.exit_code) == (True, False, 1)
    error = status.to_dict()["client"]["pingPongError"]
    assert error["rpc_code"] == 16 and error["rpc_status"] == "Unauthenticated"
    assert error["http_status"] == 401
    assert error["message"] == "request permission unauthenticated"
    assert error["error"] == UNAUTHENTICATED
    assert status.ping_pong_error == error
    # a signed call raises the same error as an exception
    with pytest.raises(mondoo.RpcError) as info:
        client.call("Echo", "Say", {"x": 1})
    assert (info.value.rpc_code, info.value.http_status) == (16, 401)
    assert info.value.code_name == "MONDOO_RESULT_RPC_UNAUTHENTICATED"
    assert str(info.value) == UNAUTHENTICATED


def test_status_clock_72h_off(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    login(platform, path)
    # The platform's clock 72 h ahead: to the client its own clock looks 72 h behind.
    platform.set_clock_offset(72 * 3600 + 6)
    status = client_for(mondoo.Config.load(path)).status()
    text = str(status)
    warnings = [line for line in text.splitlines() if line.startswith("! possible clock skew detected: ")]
    assert len(warnings) == 1 and ": 72h0m" in warnings[0], text
    assert any(w.startswith("possible clock skew detected: 72h0m") for w in status.warnings)
    assert status.clock_skew_seconds is not None and status.clock_skew_seconds > 72 * 3600
    # every signed call is refused by a platform whose clock is that far off...
    assert not status.authenticated
    # ...unless the client corrects its signing time by the skew it measured
    corrected = client_for(mondoo.Config.load(path), correct_clock_skew=True)
    assert corrected.call("Echo", "Say", {"x": 1})["x"] == 1


def test_status_with_a_static_token_credential(platform: Platform, tmp_path: Path) -> None:
    account = platform.token_service_account()
    path = tmp_path / "token-credentials.json"
    path.write_text(json.dumps(account))
    config = mondoo.Config.load(path)
    assert config.registered, "mrn + token is a registered config"
    assert config.to_dict()["token"] == "<redacted>"
    with client_for(config) as client:
        status = client.status()
    text = str(status)
    assert "→ client authenticated successfully" in text, text
    assert (status.registered, status.authenticated, status.exit_code) == (True, True, 0)
    assert status.service_account_mrn == account["mrn"]
    assert account["token"] not in text and account["token"] not in json.dumps(status.to_dict())
    # the token itself was the bearer of the PingPong (unsigned), and it was accepted
    ping = [r for r in platform.requests() if r["method"] == "PingPong"][-1]
    headers = {name.lower(): value for name, value in ping["headers"]}
    assert headers["authorization"] == f"Bearer {account['token']}"
    assert (ping["auth"], ping["subject"]) == ("accepted", account["mrn"])


def test_a_401_after_a_measured_skew_carries_the_skew(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    login(platform, path)
    platform.set_clock_offset(72 * 3600)
    client = client_for(mondoo.Config.load(path))
    # nothing measured yet: the 401 carries no skew
    with pytest.raises(mondoo.RpcError) as before:
        client.call("Echo", "Say", {})
    assert before.value.clock_skew_seconds is None
    # status measures it: platform minus local, positive when the platform is ahead
    status = client.status()
    measured = status.clock_skew_seconds
    assert measured is not None and 72 * 3600 - 5 < measured < 72 * 3600 + 5, measured
    assert status.ping_pong_error is not None
    assert status.ping_pong_error["clock_skew_seconds"] == measured
    # and every later refused call carries it, with the same sign
    with pytest.raises(mondoo.RpcError) as after:
        client.call("Echo", "Say", {})
    assert (after.value.rpc_code, after.value.http_status) == (16, 401)
    assert after.value.clock_skew_seconds == measured


def test_not_registered_names_the_config_file(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "unregistered.yml"
    path.write_text("name: nobody\n")
    with client_for(mondoo.Config.load(path), platform) as client:
        with pytest.raises(mondoo.NotRegisteredError) as info:
            client.call("Echo", "Say", {})
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert info.value.clock_skew_seconds is None


# --- login and logout ------------------------------------------------------------------


def test_login_writes_the_config(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "new" / "mondoo.json"
    client, registration = login(platform, path, name="py-test", annotations={"team": "sec"})
    written = read_json(path)  # a .json path stays JSON: read it with Python's own parser
    assert written["agent_mrn"] == registration.agent_mrn
    assert written["mrn"] == registration.service_account_mrn
    assert written["space_mrn"] == registration.space_mrn
    assert written["api_endpoint"] == platform.url == registration.api_endpoint
    assert "BEGIN PRIVATE KEY" in written["private_key"]
    assert "BEGIN CERTIFICATE" in written["certificate"]
    assert written["name"] == "py-test" and written["annotations"] == {"team": "sec"}
    assert registration.config_path == str(path)
    assert not registration.already_registered
    assert client.config.registered and client.config.agent_mrn == registration.agent_mrn
    assert [a["name"] for a in platform.agents()] == ["py-test"]
    assert "PRIVATE KEY" not in repr(client) + repr(client.config) + repr(registration)


def test_login_keeps_keys_of_other_tools(platform: Platform, testdata: Path, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    # the fixture's api_proxy does not exist: leave it out so the login reaches the platform
    text = (testdata / "configs" / "mondoo.yml").read_text()
    path.write_text("".join(l for l in text.splitlines(keepends=True) if not l.startswith("api_proxy:")))
    before = mondoo.Config.load(path).to_dict()
    registration = client_for(mondoo.Config.for_registration(path)).register(platform.mint_token())
    after = mondoo.Config.load(path).to_dict()
    for key in ("scan_interval", "updates_url", "features", "annotations"):
        assert key in before and after[key] == before[key], key
    assert after["agent_mrn"] == registration.agent_mrn != before["agent_mrn"]
    assert after["api_endpoint"] == platform.url


def test_logout_removes_the_credentials(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.json"
    client, registration = login(platform, path, name="to-forget")
    client.logout()
    written = read_json(path)
    for key in ("agent_mrn", "mrn", "private_key", "certificate"):
        assert key not in written, key
    assert written["api_endpoint"] == platform.url and written["name"] == "to-forget"
    assert platform.agents() == []
    assert not client.config.registered
    status = client.status()
    assert not status.registered and "x client is not registered" in str(status)
    with pytest.raises(mondoo.NotRegisteredError):
        client.sign(b"{}")
    with pytest.raises(mondoo.NotRegisteredError):
        client.logout()
    assert registration.agent_mrn not in path.read_text()


def test_logout_keeping_the_service_account(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.json"
    client, registration = login(platform, path)
    client.logout(keep_service_account=True)
    written = read_json(path)
    assert "agent_mrn" not in written
    assert written["mrn"] == registration.service_account_mrn and "PRIVATE KEY" in written["private_key"]


def test_register_with_the_configured_service_account(platform: Platform, fixture_config: Path) -> None:
    client = client_for(mondoo.Config.load(fixture_config), platform)
    registration = client.register(name="from-credentials")
    assert not registration.already_registered
    written = read_json(fixture_config)
    assert written["agent_mrn"] == registration.agent_mrn
    assert [a["name"] for a in platform.agents()] == ["from-credentials"]
    # a second time there is nothing to register
    assert client.register().already_registered


def test_failed_logout_leaves_the_file(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.json"
    client, _ = login(platform, path)
    before = path.read_text()
    platform.fault(kind="status", http_status=503, code=14, message="maintenance")
    with pytest.raises(mondoo.RpcError) as info:
        client.logout()
    assert (info.value.rpc_code, info.value.http_status, info.value.rpc_status) == (14, 503, "Unavailable")
    assert "config was left unchanged" in str(info.value)
    assert path.read_text() == before


# --- errors where they belong ----------------------------------------------------------


def test_expired_token_fails_before_any_request(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    client = registration_client_for(path)
    with pytest.raises(mondoo.TokenError) as info:
        client.register(platform.mint_token(ttl_seconds=-3600))
    assert info.value.expired and not info.value.malformed
    with pytest.raises(mondoo.TokenError) as info:
        client.register("not a token")
    assert info.value.malformed
    assert platform.requests() == []
    assert not path.exists()


def test_register_retries_aborted(platform: Platform, tmp_path: Path) -> None:
    platform.fault(kind="aborted", times=3, only="AgentManager/RegisterAgent")
    _, registration = login(platform, tmp_path / "mondoo.yml")
    assert registration.agent_mrn
    assert sum(r["method"] == "RegisterAgent" for r in platform.requests()) == 4


def test_register_gives_up_after_four_aborted(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "mondoo.yml"
    platform.fault(kind="aborted", times=4, only="AgentManager/RegisterAgent")
    with pytest.raises(mondoo.RpcError) as info:
        login(platform, path)
    assert info.value.code_name == "MONDOO_RESULT_RPC_ABORTED" and info.value.http_status == 409
    assert not path.exists()


def test_not_registered_calls(platform: Platform, tmp_path: Path) -> None:
    client = registration_client_for(tmp_path / "mondoo.yml", platform)
    for call in (lambda: client.call("Echo", "Say", {}), client.checkin, lambda: client.sign("x"), client.register):
        with pytest.raises(mondoo.NotRegisteredError):
            call()


def test_base64_config_cannot_be_written_back(platform: Platform, testdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b64 = (testdata / "service-account" / "credentials.json.b64").read_text().strip()
    monkeypatch.setenv("MONDOO_CONFIG_BASE64", b64)
    client = client_for(None, platform)
    assert client.config.source == "$MONDOO_CONFIG_BASE64"
    with pytest.raises(mondoo.ConfigError) as info:
        client.register(platform.mint_token())
    assert info.value.code_name == "MONDOO_RESULT_CONFIG_NOT_WRITABLE"


def test_unwritable_config_path_is_an_internal_io_error(platform: Platform, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(mondoo.InternalError) as info:
        login(platform, blocker / "mondoo.yml")
    assert info.value.code_name == "MONDOO_RESULT_IO"
    assert str(blocker) in str(info.value)


def test_a_config_write_failing_after_registering_hands_over_the_agents_credentials(platform: Platform, tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    # RegisterAgent answers 4 s late; 1.5 s in (after the check before it), a file takes
    # the config directory's name, so the write after RegisterAgent fails
    platform.fault(kind="slow", millis=4000, only="AgentManager/RegisterAgent")

    def replace_directory_by_a_file() -> None:
        time.sleep(1.5)
        shutil.rmtree(config_dir, ignore_errors=True)
        config_dir.write_text("now a file")

    saboteur = threading.Thread(target=replace_directory_by_a_file)
    saboteur.start()
    with pytest.raises(mondoo.MondooError) as info:
        login(platform, config_dir / "mondoo.yml")
    saboteur.join()
    [agent] = platform.agents()
    assert f"agent {agent['mrn']} was registered" in str(info.value)
    assert "PRIVATE KEY" not in str(info.value) and "PRIVATE KEY" not in repr(info.value)
    credentials = info.value.orphaned_credentials
    assert credentials is not None and json.loads(credentials)["agent_mrn"] == agent["mrn"]
    saved = tmp_path / "saved.json"
    saved.write_text(credentials)
    client_for(saved).checkin()
    assert platform.agents()[0]["check_ins"] == 1


def test_network_errors(platform: Platform, fixture_config: Path) -> None:
    # nothing listens on port 1
    client = client_for(mondoo.Config.load(fixture_config), api_endpoint="http://127.0.0.1:1")
    with pytest.raises(mondoo.NetworkError) as info:
        client.call("Echo", "Say", {})
    assert not info.value.timeout
    status = client.status()
    assert status.api_status is None and status.api_error is not None
    assert "x API Status:\t\tcould not reach the API" in str(status)

    slow = client_for(mondoo.Config.load(fixture_config), platform, timeout=0.3)
    platform.fault(kind="slow", millis=3000)
    with pytest.raises(TimeoutError) as timed_out:
        slow.call("Echo", "Say", {})
    assert isinstance(timed_out.value, mondoo.NetworkTimeoutError)
    assert timed_out.value.timeout and timed_out.value.code_name == "MONDOO_RESULT_TIMEOUT"

    # The timeout bounds the whole call: headers at once, then a byte every 500 ms for 30 s.
    dripping = client_for(mondoo.Config.load(fixture_config), platform, timeout=1.0)
    platform.fault(kind="slow_drip", bytes=60, interval_millis=500, only="Echo/Say")
    started = time.monotonic()
    with pytest.raises(mondoo.NetworkTimeoutError):
        dripping.call("Echo", "Say", {})
    elapsed = time.monotonic() - started
    print(f"slow-drip answer with a 1 s timeout: timed out after {elapsed * 1000:.0f} ms")
    assert elapsed < 10, elapsed


def test_require_tls_refuses_a_remote_http_endpoint_and_allows_loopback(platform: Platform, fixture_config: Path) -> None:
    remote = "http://api.mondoo.invalid:8080"
    strict = client_for(mondoo.Config.load(fixture_config), api_endpoint=remote, require_tls=True)
    # refused before any request: an unresolvable host would otherwise be a DNS error
    with pytest.raises(mondoo.NetworkError) as info:
        strict.call("Echo", "Say", {})
    assert info.value.code_name == "MONDOO_RESULT_INSECURE_ENDPOINT"
    assert f"{remote}/Echo/Say" in str(info.value)
    # without it, status warns that credentials go in clear text
    lax = client_for(mondoo.Config.load(fixture_config), api_endpoint=remote)
    assert any("sends credentials in clear text" in w for w in lax.status().warnings)
    loopback = client_for(mondoo.Config.load(fixture_config), platform, require_tls=True)
    assert loopback.call("Echo", "Say", {"x": 1})["signed_by"]


def test_rpc_error_fields(platform: Platform, fixture_config: Path) -> None:
    client = client_for(mondoo.Config.load(fixture_config), platform)
    platform.fault(kind="status", http_status=403, code=7, message="not yours")
    with pytest.raises(mondoo.RpcError) as info:
        client.call("Echo", "Say", {})
    assert (info.value.rpc_code, info.value.http_status, info.value.code) == (7, 403, 6007)
    assert str(info.value) == "rpc error: code = PermissionDenied desc = not yours"
    platform.fault(kind="html502")
    with pytest.raises(mondoo.RpcError) as info:
        client.call("Echo", "Say", {})
    assert info.value.http_status == 502


# --- signed calls, check-in, threads ---------------------------------------------------


def test_call_checkin_and_sign(platform: Platform, tmp_path: Path) -> None:
    client, registration = login(platform, tmp_path / "mondoo.yml")
    answer = client.call("Echo", "Say", {"n": 1, "f": 1.5, "s": "ü", "l": [True, None], "d": {"k": "v"}})
    assert answer == {"n": 1, "f": 1.5, "s": "ü", "l": [True, None], "d": {"k": "v"}, "signed_by": registration.service_account_mrn}
    client.checkin()
    assert [a["check_ins"] for a in platform.agents()] == [1]
    assert client.sign("{}").count(".") == 2
    with pytest.raises(TypeError):
        client.call("Echo", "Say", {"x": object()})
    with pytest.raises(TypeError):
        client.call("Echo", "Say", {1: "non-str key"})  # type: ignore[dict-item]


def test_health_needs_no_credentials_and_measures_the_skew(platform: Platform, tmp_path: Path) -> None:
    platform.set_clock_offset(3600)
    with registration_client_for(tmp_path / "mondoo.yml", platform) as client:
        health = client.health()
        status = client.status()
    assert (health.status, health.api_version) == ("SERVING", status.api_version)
    assert health.time is not None and health.build is not None
    assert health.round_trip_ms > 0
    # platform time minus local time: positive, the platform's clock being an hour ahead
    assert health.clock_skew_seconds is not None and 3590 < health.clock_skew_seconds < 3610
    assert set(health.to_dict()) == {"status", "api_version", "build", "time", "round_trip_ms", "clock_skew_seconds"}
    assert {r["service"] for r in platform.requests()} == {"Health"}


def test_closed_client(platform: Platform, tmp_path: Path) -> None:
    with registration_client_for(tmp_path / "mondoo.yml", platform) as client:
        assert not client.closed
    assert client.closed and repr(client) == "Client(closed)"
    uses: list[Callable[[], object]] = [
        client.status,
        client.checkin,
        client.register,
        client.logout,
        lambda: client.call("Echo", "Say"),
        lambda: client.sign(b"x"),
        lambda: client.config,
        lambda: client.api_endpoint,
    ]
    for use in uses:
        with pytest.raises(mondoo.ClientClosedError, match="closed") as info:
            use()
        # one except clause catches every libmondoo failure, this one included
        assert isinstance(info.value, mondoo.MondooError) and not isinstance(info.value, ValueError)
        assert info.value.code_name == "MONDOO_RESULT_INVALID_ARGUMENT"
    client.close()  # twice is fine


def test_the_with_block_closes_and_lets_exceptions_through(platform: Platform, tmp_path: Path) -> None:
    client = registration_client_for(tmp_path / "mondoo.yml", platform)
    # The point is the value: None (not False), as the stub's `-> None` says; mypy
    # rightly calls using it pointless in code, so the check is silenced for it here.
    assert client.__exit__(None, None, None) is None  # type: ignore[func-returns-value]
    assert client.closed
    with pytest.raises(KeyError):
        with registration_client_for(tmp_path / "mondoo.yml", platform) as other:
            raise KeyError("from the block")
    assert other.closed


def test_one_client_shared_by_threads(platform: Platform, tmp_path: Path) -> None:
    client, registration = login(platform, tmp_path / "mondoo.yml")

    def work(i: int) -> tuple[int, bool]:
        answer = client.call("Echo", "Say", {"i": i})
        authenticated = client.status().authenticated if i % 8 == 0 else True
        return answer["i"], authenticated

    with client, ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(64)))
    assert results == [(i, True) for i in range(64)]
    echoes = [r for r in platform.requests() if r["service"] == "Echo"]
    assert len(echoes) == 64 and all(r["auth"] == "accepted" for r in echoes)
    assert {r["subject"] for r in echoes} == {registration.service_account_mrn}


def test_gil_is_released_during_a_call(fixture_config: Path) -> None:
    """The answer to a call comes from Python code in this thread: it can only run while
    the calling thread has released the GIL (if not, the call times out and fails)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = client_for(mondoo.Config.load(fixture_config), api_endpoint=f"http://127.0.0.1:{port}", timeout=20)
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["answer"] = client.call("Echo", "Say", {"x": 1})
        except Exception as e:  # reported below
            result["error"] = e

    caller = threading.Thread(target=call)
    caller.start()
    server.settimeout(20)
    conn, _ = server.accept()
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(65536)
        head, _, body = request.partition(b"\r\n\r\n")
        length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length"))
        while len(body) < length:
            body += conn.recv(65536)
        # the caller is still inside client.call, waiting for this answer
        assert caller.is_alive()
        answer = b'{"answered":"by python"}'
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
        )
    caller.join(30)
    server.close()
    assert result == {"answer": {"answered": "by python"}}
    assert head.startswith(b"POST /Echo/Say ")
    assert json.loads(body) == {"x": 1}
