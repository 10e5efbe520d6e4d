"""Fixtures: the local test platform (one process per test module), the shared test data,
and an environment with no MONDOO_* variable or proxy of the machine leaking in."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[3]


def testdata_dir() -> Path:
    override = os.environ.get("MONDOO_TESTDATA")
    path = Path(override) if override else REPO.parent / "shared" / "testdata"
    if not (path / "README.md").is_file():
        pytest.fail(f"test data not found at {path} (set MONDOO_TESTDATA)", pytrace=False)
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

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def admin(self, what: str, body: Any = None) -> Any:
        data = json.dumps(body if body is not None else {}).encode()
        request = urllib.request.Request(
            f"{self.url}/_admin/{what}", data=data, headers={"Content-Type": "application/json"}
        )
        # The admin endpoints are on loopback: no proxy of the machine may carry them.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def mint_token(self, **spec: Any) -> str:
        token: str = self.admin("token", spec)["token"]
        return token

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


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    binary = platform_binary()
    process = subprocess.Popen(
        [str(binary), "--testdata", str(testdata_dir())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        process.wait()
        pytest.fail(f"{binary} did not print its URL (got {url!r})", pytrace=False)
    try:
        yield Platform(process, url)
    finally:
        # Closing stdin stops the platform; kill it if it does not stop.
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MONDOO_* override, proxy or home config of the machine reaches a test."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith("MONDOO_") and upper not in ("MONDOO_TESTDATA", "MONDOO_PLATFORM_BIN"):
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
