"""Fixtures: the local test platform (one process per test module; `tls_platform`: one
with --tls and its CONNECT proxy), a server that never answers (`silent_server`), the
repository's test data, and an environment with no MONDOO_* variable or proxy of the
machine leaking in."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]


def testdata_dir() -> Path:
    path = REPO / "testdata"
    if not (path / "README.md").is_file():
        pytest.fail(f"test data not found at {path}", pytrace=False)
    return path


def platform_binary() -> Path:
    override = os.environ.get("MONDOO_PLATFORM_BIN")
    path = Path(override) if override else REPO / "target" / "debug" / "mondoo-platform"
    if not path.is_file():
        # Never skip: a missing platform means the tests did not run.
        pytest.fail(
            f"platform binary not found at {path}: run `cargo build -p mondoo-platform` "
            "or set MONDOO_PLATFORM_BIN",
            pytrace=False,
        )
    return path


class Platform:
    """The running `mondoo-platform` binary, driven over its /_admin/ endpoints."""

    def __init__(self, process: subprocess.Popen[str], url: str, ca_file: Optional[Path] = None) -> None:
        self.process = process
        self.url = url
        #: with --tls: the test CA the platform wrote (--ca-out), which clients must trust
        self.ca_file = ca_file

    def admin(self, what: str, body: Any = None) -> Any:
        data = json.dumps(body if body is not None else {}).encode()
        request = urllib.request.Request(
            f"{self.url}/_admin/{what}", data=data, headers={"Content-Type": "application/json"}
        )
        # The admin endpoints are on loopback: no proxy of the machine may carry them.
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if self.ca_file is not None:
            # Under --tls the admin endpoints are served over TLS too, with the test CA.
            context = ssl.create_default_context(cafile=str(self.ca_file))
            handlers.append(urllib.request.HTTPSHandler(context=context))
        opener = urllib.request.build_opener(*handlers)
        with opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = self.admin("info")
        return info

    def mint_token(self, **spec: Any) -> str:
        token: str = self.admin("token", spec)["token"]
        return token

    def token_service_account(self) -> dict[str, str]:
        """A service account with a static token instead of a key: mrn, space_mrn, token, api_endpoint."""
        account: dict[str, str] = self.admin("token-service-account")
        return account

    def revoke(self, mrn: str) -> None:
        self.admin("revoke", {"mrn": mrn})

    def set_clock_offset(self, seconds: int) -> None:
        self.admin("clock", {"offset_seconds": seconds})

    def fault(self, **spec: Any) -> None:
        self.admin("fault", spec)

    def requests(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = self.admin("requests")
        return requests

    def agents(self) -> list[dict[str, Any]]:
        agents: list[dict[str, Any]] = self.admin("agents")
        return agents

    def reset(self) -> None:
        self.admin("reset")

    # --- the Platform API (GraphQL) ---

    def service_account(self, space_mrn: str) -> dict[str, Any]:
        """A new service account (with a key) in `space_mrn`: its credentials document."""
        account: dict[str, Any] = self.admin("service-account", {"space_mrn": space_mrn})
        return account

    def add_assets(self, space_mrn: str, count: int) -> list[dict[str, Any]]:
        """Add `count` assets to the space for the Platform API; every asset of the space."""
        assets: list[dict[str, Any]] = self.admin("assets", {"space_mrn": space_mrn, "count": count})
        return assets

    def api_token(self, space_mrn: str) -> str:
        """A new API token for `space_mrn` that the Platform API accepts."""
        token: str = self.admin("api-token", {"space_mrn": space_mrn})["token"]
        return token

    def graphql_requests(self) -> list[dict[str, Any]]:
        """The recorded requests to /query, with the credential each used."""
        return [r for r in self.requests() if r["service"] == "GraphQL"]

    # --- keyless (SecureTokenService and the local OIDC issuer) ---

    def authorize_ssh_key(self, subject_mrn: str, scope_mrn: str, public_key: str) -> str:
        """Let `public_key` (an OpenSSH public key line) exchange as `subject_mrn`; its fingerprint."""
        body = {"subject_mrn": subject_mrn, "scope_mrn": scope_mrn, "public_key": public_key}
        fingerprint: str = self.admin("authorize-ssh-key", body)["fingerprint"]
        return fingerprint

    def authorize_workload(self, audience: str, subject: str, scope_mrn: str) -> None:
        """Let identity tokens of the local issuer for `audience` and `subject` exchange into `scope_mrn`."""
        self.admin("authorize-workload", {"audience": audience, "subject": subject, "scope_mrn": scope_mrn})

    def oidc_token(self, subject: str, audience: str, ttl_seconds: int = 300) -> str:
        """An identity token the local OIDC issuer signed."""
        body = {"subject": subject, "audience": audience, "ttl_seconds": ttl_seconds}
        token: str = self.admin("oidc-token", body)["token"]
        return token

    def refuse_exchanges(self, times: int = 1) -> None:
        self.admin("refuse-exchanges", {"times": times})


@contextlib.contextmanager
def run_platform(*flags: str, ca_file: Optional[Path] = None) -> Iterator[Platform]:
    """The platform binary with these flags (with `ca_file`: `--tls --ca-out ca_file`),
    stopped on exit."""
    binary = platform_binary()
    args = [str(binary), "--testdata", str(testdata_dir()), *flags]
    if ca_file is not None:
        args += ["--tls", "--ca-out", str(ca_file)]
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdin is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        process.wait()
        pytest.fail(f"{binary} did not print its URL (got {url!r})", pytrace=False)
    try:
        yield Platform(process, url, ca_file)
    finally:
        # Closing stdin stops the platform; kill it if it does not stop.
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    with run_platform() as running:
        yield running


@pytest.fixture(scope="module")
def tls_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A second platform: HTTPS with the test CA (written to `ca_file`) and its CONNECT
    proxy (`info()["proxy_url"]`)."""
    ca_file = tmp_path_factory.mktemp("tls-platform") / "ca.pem"
    with run_platform("--proxy", ca_file=ca_file) as running:
        assert running.url.startswith("https://127.0.0.1:"), running.url
        yield running


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MONDOO_* override, proxy or home config of the machine reaches a test."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith("MONDOO_") and upper != "MONDOO_PLATFORM_BIN":
            monkeypatch.delenv(name)
        if upper in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


@pytest.fixture
def testdata() -> Path:
    return testdata_dir()


@pytest.fixture
def fixture_config(testdata: Path, tmp_path: Path) -> Path:
    """The fixture service account's credentials as a config file of its own."""
    path = tmp_path / "credentials.json"
    path.write_text((testdata / "service-account" / "credentials.json").read_text())
    return path


class SilentServer:
    """A TCP server on loopback that reads what clients send and never answers: a request
    to it runs until the client gives up on it, and the server sees when the client closes
    the connection (what a cancelled request must do at once)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open = 0
        self._accepted = 0
        self._changed = threading.Condition(self._lock)
        #: time.monotonic() when the last open connection was closed by the client
        self.last_closed_at: Optional[float] = None
        threading.Thread(target=self._accept, name="silent-server", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._changed:
                self._open += 1
                self._accepted += 1
                self._changed.notify_all()
            threading.Thread(target=self._drain, args=(connection,), daemon=True).start()

    def _drain(self, connection: socket.socket) -> None:
        with connection:
            try:
                while connection.recv(65536):
                    pass
            except OSError:
                pass  # a reset is a close too
        with self._changed:
            self._open -= 1
            self.last_closed_at = time.monotonic()
            self._changed.notify_all()

    def wait_connected(self, timeout: float) -> bool:
        """True once a client has connected."""
        with self._changed:
            return self._changed.wait_for(lambda: self._accepted > 0, timeout)

    def wait_all_closed(self, timeout: float) -> bool:
        """True once a client connected and every connection is closed again."""
        with self._changed:
            return self._changed.wait_for(lambda: self._accepted > 0 and self._open == 0, timeout)

    def close(self) -> None:
        # shutdown wakes the thread blocked in accept() (close alone does not on Linux)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()


class SshAgent:
    """OpenSSH's ssh-agent on a socket of its own (`ssh-agent -D -a SOCKET`), with keys made
    by ssh-keygen and added by ssh-add; killed by `stop`."""

    def __init__(self) -> None:
        # A short directory: a unix socket's path is limited to about 100 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="mondoo-agent-"))
        self.socket = self.dir / "agent.sock"
        self._process = subprocess.Popen(
            ["ssh-agent", "-D", "-a", str(self.socket)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while not self.socket.exists():
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.stop()
                pytest.fail("ssh-agent made no socket", pytrace=False)
            time.sleep(0.02)

    def env(self) -> dict[str, str]:
        """An environment (for Client's `env`) with SSH_AUTH_SOCK naming this agent."""
        return {"SSH_AUTH_SOCK": str(self.socket)}

    def add_key(self, kind: str) -> str:
        """A new key of `kind` (ed25519, ecdsa) added to the agent; its OpenSSH public key."""
        path = self.dir / f"id_{kind}"
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", kind, "-f", str(path)], check=True)
        subprocess.run(["ssh-add", "-q", str(path)], check=True, env={**os.environ, **self.env()})
        return path.with_suffix(".pub").read_text()

    def private_keys(self) -> list[str]:
        """The private keys the agent holds, as their files have them."""
        return [p.read_text() for p in self.dir.glob("id_*") if p.suffix != ".pub"]

    def stop(self) -> None:
        self._process.kill()
        self._process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def ssh_agent() -> Iterator[SshAgent]:
    agent = SshAgent()
    yield agent
    agent.stop()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()
