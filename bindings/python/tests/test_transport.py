"""HTTPS and proxies against a second platform started with `--tls --proxy`: `ca_file=`
trusts the test CA, `api_proxy=` carries the calls through the platform's CONNECT proxy.

Which connection reached the platform is told by its recorded `peer`: a direct call comes
from a socket of this process (the client's), a proxied one from a socket of the platform
process (its proxy's upstream side of the tunnel, which stays open while the client keeps
the connection in its pool). Linux's /proc tells which process holds the socket.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

import mondoo
from conftest import Platform

PROC_NET = Path("/proc/self/net/tcp")


@pytest.fixture(autouse=True)
def fresh_platform(tls_platform: Platform) -> Iterator[None]:
    tls_platform.reset()
    yield
    tls_platform.reset()


@pytest.fixture
def proxy_url(tls_platform: Platform) -> str:
    url: str = tls_platform.info()["proxy_url"]
    assert url.startswith("http://127.0.0.1:"), url
    return url


def client_for(platform: Platform, config: Path, **options: Any) -> mondoo.Client:
    """A client of the TLS platform that sees no proxy variable of the machine and does not retry."""
    options.setdefault("env", {})
    options.setdefault("retry_delays", [])
    options.setdefault("timeout", 10)
    options.setdefault("api_endpoint", platform.url)
    return mondoo.Client(mondoo.Config.load(config), **options)


def local_tcp_ports(pid: int) -> set[int]:
    """Local ports of the TCP sockets open in process `pid` (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rpartition(":")[2], 16))
    return ports


def peer_opened_by(platform: Platform, peer: str) -> str:
    """'client' when the connection the platform recorded from `peer` was opened by this
    process, 'platform' when by the platform process (its proxy), else 'unknown'."""
    host, _, port = peer.rpartition(":")
    assert host == "127.0.0.1", peer
    mine, platform_side = local_tcp_ports(os.getpid()), local_tcp_ports(platform.process.pid)
    if int(port) in mine and int(port) not in platform_side:
        return "client"
    if int(port) in platform_side and int(port) not in mine:
        return "platform"
    return "unknown"


def echo_peers(platform: Platform) -> list[str]:
    echoes = [r for r in platform.requests() if r["service"] == "Echo"]
    assert all(r["auth"] == "accepted" for r in echoes), echoes
    return [r["peer"] for r in echoes]


def test_linux_proc_is_there() -> None:
    # The peer checks below read /proc: fail loudly rather than skip where it is missing.
    assert PROC_NET.is_file(), "these tests need Linux /proc to tell who opened a connection"


# --- ca_file --------------------------------------------------------------------------


def test_ca_file_trusts_the_tls_platform(tls_platform: Platform, fixture_config: Path) -> None:
    assert tls_platform.ca_file is not None
    with client_for(tls_platform, fixture_config, ca_file=tls_platform.ca_file) as client:
        answer = client.call("Echo", "Say", {"over": "tls"})
        status = client.status()
        assert answer["over"] == "tls" and answer["signed_by"] == client.config.service_account_mrn
        assert status.authenticated and status.api_status == "SERVING"
        assert status.proxy_url is None
        # direct: the platform saw a connection of this process
        [peer] = echo_peers(tls_platform)
        assert peer_opened_by(tls_platform, peer) == "client"


def test_ca_file_as_str_path(tls_platform: Platform, fixture_config: Path) -> None:
    with client_for(tls_platform, fixture_config, ca_file=str(tls_platform.ca_file)) as client:
        assert client.call("Echo", "Say", {"x": 1})["x"] == 1


def test_without_the_ca_the_tls_platform_is_refused(tls_platform: Platform, fixture_config: Path) -> None:
    with client_for(tls_platform, fixture_config) as client:
        with pytest.raises(mondoo.NetworkError) as info:
            client.call("Echo", "Say", {"x": 1})
        status = client.status()
    assert not isinstance(info.value, mondoo.RpcError)
    assert info.value.code_name == "MONDOO_RESULT_TLS", info.value
    assert not info.value.timeout
    assert status.api_status is None and status.api_error is not None and not status.authenticated
    # the handshake failed: no request reached the platform
    assert tls_platform.requests() == []


def test_a_ca_file_of_another_ca_is_refused(tls_platform: Platform, fixture_config: Path, tmp_path: Path) -> None:
    # a valid PEM certificate, but not the one that issued the platform's certificate
    other = tmp_path / "other-ca.pem"
    other.write_text(mondoo.Config.load(fixture_config).to_dict()["certificate"])
    with client_for(tls_platform, fixture_config, ca_file=other) as client:
        with pytest.raises(mondoo.NetworkError) as info:
            client.call("Echo", "Say", {"x": 1})
    assert info.value.code_name == "MONDOO_RESULT_TLS", info.value
    assert tls_platform.requests() == []


def test_unreadable_ca_file_fails_when_the_client_is_made(tls_platform: Platform, fixture_config: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(mondoo.NetworkError) as info:
        client_for(tls_platform, fixture_config, ca_file=missing)
    assert info.value.code_name == "MONDOO_RESULT_TLS" and info.value.path == str(missing)
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(mondoo.NetworkError) as info:
        client_for(tls_platform, fixture_config, ca_file=not_pem)
    assert info.value.code_name == "MONDOO_RESULT_TLS" and info.value.path == str(not_pem)


# --- api_proxy ------------------------------------------------------------------------


def test_api_proxy_carries_the_calls_through_connect(tls_platform: Platform, fixture_config: Path, proxy_url: str) -> None:
    with client_for(tls_platform, fixture_config, ca_file=tls_platform.ca_file, api_proxy=proxy_url) as client:
        for i in range(3):
            assert client.call("Echo", "Say", {"i": i})["i"] == i
        status = client.status()
        assert status.authenticated
        assert status.proxy_url is not None and status.proxy_url.rstrip("/") == proxy_url
        # every call arrived over a tunnel the platform's proxy opened, none from this process
        peers = echo_peers(tls_platform)
        assert len(peers) == 3
        assert {peer_opened_by(tls_platform, p) for p in set(peers)} == {"platform"}, peers


def test_mondoo_api_proxy_env_carries_the_calls(tls_platform: Platform, fixture_config: Path, proxy_url: str) -> None:
    env = {"MONDOO_API_PROXY": proxy_url}
    with client_for(tls_platform, fixture_config, ca_file=tls_platform.ca_file, env=env) as client:
        assert client.call("Echo", "Say", {"x": 1})["x"] == 1
        [peer] = echo_peers(tls_platform)
        assert peer_opened_by(tls_platform, peer) == "platform"


def test_api_proxy_is_not_bypassed(tls_platform: Platform, fixture_config: Path) -> None:
    # nothing listens on port 1: a client that honours api_proxy cannot reach the platform
    with client_for(tls_platform, fixture_config, ca_file=tls_platform.ca_file, api_proxy="http://127.0.0.1:1") as client:
        with pytest.raises(mondoo.NetworkError) as info:
            client.call("Echo", "Say", {"x": 1})
    assert not isinstance(info.value, mondoo.RpcError)
    assert info.value.code_name == "MONDOO_RESULT_PROXY", info.value
    assert tls_platform.requests() == []


def test_api_proxy_still_needs_the_ca(tls_platform: Platform, fixture_config: Path, proxy_url: str) -> None:
    # the tunnel carries TLS end to end: the proxy does not make the platform trusted
    with client_for(tls_platform, fixture_config, api_proxy=proxy_url) as client:
        with pytest.raises(mondoo.NetworkError) as info:
            client.call("Echo", "Say", {"x": 1})
    assert info.value.code_name == "MONDOO_RESULT_TLS", info.value
    assert tls_platform.requests() == []


def test_invalid_api_proxy_fails_when_the_client_is_made(tls_platform: Platform, fixture_config: Path) -> None:
    with pytest.raises(mondoo.NetworkError) as info:
        client_for(tls_platform, fixture_config, api_proxy="ftp://127.0.0.1:3128")
    assert info.value.code_name == "MONDOO_RESULT_PROXY"
    assert "--api-proxy" in str(info.value)


# --- the Platform API ------------------------------------------------------------------


def test_graphql_goes_over_tls_and_through_the_proxy(tls_platform: Platform, fixture_config: Path, proxy_url: str) -> None:
    mrn = mondoo.Config.load(fixture_config).service_account_mrn
    with client_for(tls_platform, fixture_config, ca_file=tls_platform.ca_file, api_proxy=proxy_url) as client:
        assert client.graphql("{ viewer { mrn } }")["viewer"]["mrn"] == mrn
        # asked while the client keeps the tunnel open (see the module's docstring)
        [request] = tls_platform.graphql_requests()
        assert request["credential"]["kind"] == "service-account", request["credential"]
        assert peer_opened_by(tls_platform, request["peer"]) == "platform", "not through the proxy"


def test_graphql_without_the_ca_is_refused_before_any_request(tls_platform: Platform, fixture_config: Path) -> None:
    with client_for(tls_platform, fixture_config) as client:
        with pytest.raises(mondoo.NetworkError) as info:
            client.graphql("{ viewer { mrn } }")
    assert info.value.code_name == "MONDOO_RESULT_TLS", info.value
    assert tls_platform.requests() == []
