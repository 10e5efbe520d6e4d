"""Keyless credentials (issue 17) from Python against the local platform: `auth.method: ssh`
through a real OpenSSH ssh-agent and a workload-identity document with a token of the
platform's local OIDC issuer, exchanged at its SecureTokenService; `Client.exchange()`
reports what came back without the key; each fault raises its typed error."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import mondoo
import mondoo.aio
from conftest import Platform, SshAgent

IDENTITY = "//captain.api.mondoo.app/users/python-ssh-user"
AUDIENCE = "mondoo-python-keyless"
WORKLOAD = "repo:mondoohq/libmondoo:ref:refs/heads/main"


@pytest.fixture(autouse=True)
def fresh_platform(platform: Platform) -> Iterator[None]:
    platform.reset()
    yield
    platform.reset()


def fixture_space(platform: Platform) -> str:
    space: str = platform.info()["fixture_space"]
    return space


def ssh_config(platform: Platform, tmp_path: Path) -> Path:
    path = tmp_path / "mondoo.yml"
    path.write_text(
        f"auth:\n  method: ssh\nmrn: {IDENTITY}\nspace_mrn: {fixture_space(platform)}\napi_endpoint: {platform.url}\n"
    )
    return path


# Every metadata endpoint (GCP, Azure MSI, Azure IMDS) at a port where nothing listens,
# so a test neither waits on nor reaches the real ones of the machine it runs on.
NO_METADATA_SERVERS = {
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "MSI_ENDPOINT": "http://127.0.0.1:9/oauth2/token",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9",
}


def wif_document(platform: Platform, jwt: Optional[str]) -> str:
    document: dict[str, Any] = {
        "type": "external_account",
        "audience": AUDIENCE,
        "issuerUri": platform.info()["oidc_issuer"],
        "universeDomain": platform.url,
    }
    if jwt is not None:
        document["jwtToken"] = jwt
    return json.dumps(document)


def exchanges(platform: Platform, method: str) -> int:
    return sum(1 for r in platform.requests() if r["method"] == method and r["status"] == 200)


def shown(*objects: object) -> str:
    """Everything a user could print of these objects."""
    parts = []
    for obj in objects:
        parts += [str(obj), repr(obj)]
        to_dict = getattr(obj, "to_dict", None)
        if to_dict is not None:
            parts.append(json.dumps(to_dict()))
    return "\n".join(parts)


def assert_no_secret(text: str, *secrets: str) -> None:
    assert "PRIVATE KEY" not in text, text
    for secret in secrets:
        # the key material itself, not only its armour
        for line in secret.strip().splitlines():
            if line and not line.startswith("-----"):
                assert line not in text, "a secret's line shows"


# --- SSH --------------------------------------------------------------------------------


def test_ssh_exchange_through_a_real_agent(platform: Platform, ssh_agent: SshAgent, tmp_path: Path) -> None:
    ed25519 = ssh_agent.add_key("ed25519")
    ssh_agent.add_key("ecdsa")
    platform.authorize_ssh_key(IDENTITY, fixture_space(platform), ed25519)
    path = ssh_config(platform, tmp_path)
    before = path.read_text()
    client = mondoo.Client(path, env=ssh_agent.env())

    report = client.exchange()
    assert isinstance(report, mondoo.ExchangeReport)
    assert report.method == "ssh"
    assert report.scope_mrn == fixture_space(platform)
    assert report.service_account_mrn.startswith("//")
    assert report.expires_at is not None and report.expires_at.endswith("Z")
    assert report.to_dict() == {
        "method": "ssh",
        "service_account_mrn": report.service_account_mrn,
        "scope_mrn": report.scope_mrn,
        "expires_at": report.expires_at,
        "api_endpoint": report.api_endpoint,
    }
    assert report.api_endpoint == platform.url, "the platform answers its own URL"
    assert exchanges(platform, "ExchangeSSH") == 1

    # later calls use the exchanged account: a signed call and the Platform API
    assert client.call("AgentManager", "PingPong", {}) == {}
    assert client.graphql("{ viewer { mrn } }")["viewer"]["mrn"] == report.service_account_mrn
    status = client.status()
    assert status.authenticated and status.to_dict()["client"]["authMethod"] == "ssh"
    assert exchanges(platform, "ExchangeSSH") == 1, "the calls share the exchanged account"

    # exchange now: a new account, even while the old one is fresh
    again = client.exchange()
    assert again.service_account_mrn != report.service_account_mrn
    assert exchanges(platform, "ExchangeSSH") == 2

    assert path.read_text() == before, "the exchanged account lives in memory only"
    assert_no_secret(shown(report, again, status, client, client.config), *ssh_agent.private_keys())


def test_ssh_faults_raise_their_typed_errors(platform: Platform, ssh_agent: SshAgent, tmp_path: Path) -> None:
    path = ssh_config(platform, tmp_path)

    def failure(env: dict[str, str]) -> mondoo.MondooError:
        with pytest.raises(mondoo.MondooError) as raised:
            mondoo.Client(path, env=env).exchange()
        return raised.value

    no_agent = failure({})
    assert isinstance(no_agent, mondoo.KeyMaterialError)
    assert no_agent.code_name == "MONDOO_RESULT_SSH_AGENT_UNAVAILABLE"
    assert failure({"SSH_AUTH_SOCK": "/nonexistent/agent.sock"}).code_name == "MONDOO_RESULT_SSH_AGENT_UNAVAILABLE"
    assert failure(ssh_agent.env()).code_name == "MONDOO_RESULT_SSH_AGENT_NO_KEYS"

    ed25519 = ssh_agent.add_key("ed25519")
    unknown = failure(ssh_agent.env())
    assert unknown.code_name == "MONDOO_RESULT_SSH_KEY_UNKNOWN"
    fingerprint = platform.authorize_ssh_key(IDENTITY, fixture_space(platform), ed25519)
    assert fingerprint in str(unknown), "the keys tried are named by fingerprint"

    platform.refuse_exchanges(1)
    refused = failure(ssh_agent.env())
    assert refused.code_name == "MONDOO_RESULT_EXCHANGE_REFUSED"
    assert_no_secret(shown(no_agent, unknown, refused), *ssh_agent.private_keys())
    assert mondoo.Client(path, env=ssh_agent.env()).exchange().method == "ssh"


def test_a_config_with_its_own_key_has_nothing_to_exchange(platform: Platform, fixture_config: Path) -> None:
    with pytest.raises(mondoo.NotRegisteredError):
        mondoo.Client(fixture_config, api_endpoint=platform.url, env={}).exchange()


# --- workload identity ------------------------------------------------------------------


def test_wif_document_with_a_token_of_the_local_issuer(platform: Platform, tmp_path: Path) -> None:
    platform.authorize_workload(AUDIENCE, WORKLOAD, fixture_space(platform))
    jwt = platform.oidc_token(WORKLOAD, AUDIENCE)
    path = tmp_path / "wif.json"
    path.write_text(wif_document(platform, jwt))
    client = mondoo.Client(path, env={})
    assert client.api_endpoint == platform.url, "universeDomain is the endpoint"

    report = client.exchange()
    assert report.method == "workload_identity"
    assert report.scope_mrn == fixture_space(platform)
    assert report.expires_at is not None
    assert client.call("AgentManager", "PingPong", {}) == {}
    assert client.graphql("{ viewer { mrn } }")["viewer"]["mrn"] == report.service_account_mrn
    assert exchanges(platform, "ExchangeExternalToken") == 1
    assert jwt not in shown(report, client, client.config, client.status())


def test_wif_from_mondoo_config_base64_with_the_token_from_jwt_token(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.authorize_workload(AUDIENCE, WORKLOAD, fixture_space(platform))
    jwt = platform.oidc_token(WORKLOAD, AUDIENCE)
    monkeypatch.setenv("MONDOO_CONFIG_BASE64", base64.b64encode(wif_document(platform, None).encode()).decode())
    client = mondoo.Client(env={"JWT_TOKEN": jwt})
    assert client.config.source == "$MONDOO_CONFIG_BASE64"
    assert client.exchange().method == "workload_identity"


def test_wif_faults_raise_their_typed_errors(platform: Platform, tmp_path: Path) -> None:
    platform.authorize_workload(AUDIENCE, WORKLOAD, fixture_space(platform))

    def failure(jwt: str) -> mondoo.MondooError:
        path = tmp_path / "wif.json"
        path.write_text(wif_document(platform, jwt))
        with pytest.raises(mondoo.MondooError) as raised:
            mondoo.Client(path, env={}).exchange()
        assert jwt not in shown(raised.value), "the identity token is never shown"
        return raised.value

    assert failure(platform.oidc_token(WORKLOAD, AUDIENCE, -600)).code_name == "MONDOO_RESULT_IDENTITY_TOKEN_EXPIRED"
    wrong_audience = failure(platform.oidc_token(WORKLOAD, "another-audience"))
    assert wrong_audience.code_name == "MONDOO_RESULT_IDENTITY_TOKEN_AUDIENCE"
    unbound = failure(platform.oidc_token("repo:someone/else", AUDIENCE))
    assert unbound.code_name == "MONDOO_RESULT_EXCHANGE_REFUSED"
    platform.refuse_exchanges(1)
    assert failure(platform.oidc_token(WORKLOAD, AUDIENCE)).code_name == "MONDOO_RESULT_EXCHANGE_REFUSED"

    # no token anywhere: the document names none and the environment has none
    path = tmp_path / "no-token.json"
    path.write_text(wif_document(platform, None))
    with pytest.raises(mondoo.KeyMaterialError) as nowhere:
        mondoo.Client(path, env=NO_METADATA_SERVERS).exchange()
    assert nowhere.value.code_name == "MONDOO_RESULT_IDENTITY_TOKEN_UNAVAILABLE"


# --- asyncio ----------------------------------------------------------------------------


def test_aio_exchange_with_ssh_and_wif(platform: Platform, ssh_agent: SshAgent, tmp_path: Path) -> None:
    platform.authorize_ssh_key(IDENTITY, fixture_space(platform), ssh_agent.add_key("ecdsa"))
    platform.authorize_workload(AUDIENCE, WORKLOAD, fixture_space(platform))
    wif = tmp_path / "wif.json"
    wif.write_text(wif_document(platform, platform.oidc_token(WORKLOAD, AUDIENCE)))
    ssh = ssh_config(platform, tmp_path)

    async def main() -> tuple[mondoo.ExchangeReport, mondoo.ExchangeReport, dict[str, Any]]:
        async with mondoo.aio.Client(ssh, env=ssh_agent.env()) as ssh_client, mondoo.aio.Client(wif, env={}) as wif_client:
            by_ssh, by_wif = await asyncio.gather(ssh_client.exchange(), wif_client.exchange())
            viewer = await ssh_client.graphql("{ viewer { mrn } }")
            return by_ssh, by_wif, viewer

    by_ssh, by_wif, viewer = asyncio.run(main())
    assert (by_ssh.method, by_wif.method) == ("ssh", "workload_identity")
    assert viewer["viewer"]["mrn"] == by_ssh.service_account_mrn
    assert_no_secret(shown(by_ssh, by_wif), *ssh_agent.private_keys())
