"""Config, tokens, signing and the error mapping: everything that needs no platform."""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
from pathlib import Path

import jwt
import pytest
from cryptography import x509

import mondoo
from mondoo import _native

LEAF_CLASSES = [
    mondoo.ConfigError,
    mondoo.NotRegisteredError,
    mondoo.TokenError,
    mondoo.KeyMaterialError,
    mondoo.NetworkError,
    mondoo.RpcError,
    mondoo.InternalError,
]


# --- errors -------------------------------------------------------------------------


def test_every_code_maps_to_exactly_one_class() -> None:
    codes = _native.all_codes()
    assert len(codes) == len({value for value, _ in codes}) > 40
    used = set()
    for value, name in codes:
        err = _native._error_for_code(value, "what failed")
        matching = [cls for cls in LEAF_CLASSES if isinstance(err, cls)]
        assert len(matching) == 1, f"{name} maps to {matching}"
        assert isinstance(err, mondoo.MondooError)
        assert (err.code, err.code_name) == (value, name)
        assert name.startswith("MONDOO_RESULT_")
        used.add(matching[0])
    assert used == set(LEAF_CLASSES), "every exception class is some code's class"


@pytest.mark.parametrize(
    "value, cls",
    [
        (0, mondoo.InternalError),
        (1004, mondoo.InternalError),
        (1005, mondoo.InternalError),
        (2001, mondoo.ConfigNotFoundError),
        (2006, mondoo.ConfigError),
        (2008, mondoo.NotRegisteredError),
        (3001, mondoo.TokenError),
        (3002, mondoo.TokenError),
        (4002, mondoo.KeyMaterialError),
        (4007, mondoo.KeyMaterialError),
        (5001, mondoo.NetworkError),
        (5002, mondoo.NetworkTimeoutError),
        (5009, mondoo.CanceledError),
        (6016, mondoo.RpcError),
        (7001, mondoo.GraphQLError),
    ],
)
def test_codes_map_to_their_area(value: int, cls: type) -> None:
    assert type(_native._error_for_code(value)) is cls


def test_a_canceled_error_is_a_network_error_not_asyncios_cancellation() -> None:
    import asyncio

    canceled = _native._error_for_code(5009, "register: cancelled by the caller")
    assert isinstance(canceled, mondoo.NetworkError) and isinstance(canceled, Exception)
    # asyncio's CancelledError is a BaseException that `except Exception` lets through
    assert not isinstance(canceled, asyncio.CancelledError)
    assert canceled.code_name == "MONDOO_RESULT_CANCELED"


def test_exception_fields() -> None:
    expired = _native._error_for_code(3002)
    assert isinstance(expired, mondoo.TokenError)
    assert (expired.expired, expired.malformed) == (True, False)
    malformed = _native._error_for_code(3001)
    assert isinstance(malformed, mondoo.TokenError)
    assert (malformed.expired, malformed.malformed) == (False, True)
    rpc = _native._error_for_code(6016, "request permission unauthenticated")
    assert isinstance(rpc, mondoo.RpcError)
    assert (rpc.rpc_code, rpc.rpc_status) == (16, "Unauthenticated")
    assert str(rpc) == "rpc error: code = Unauthenticated desc = request permission unauthenticated"
    timeout = _native._error_for_code(5002)
    assert isinstance(timeout, mondoo.NetworkError) and timeout.timeout
    graphql = _native._error_for_code(7001, "the Platform API answered with errors: no")
    assert isinstance(graphql, mondoo.RpcError) and isinstance(graphql, mondoo.GraphQLError)
    assert (graphql.errors, graphql.data) == ([], None)
    again = pickle.loads(pickle.dumps(graphql))
    assert type(again) is mondoo.GraphQLError and (again.errors, str(again)) == ([], str(graphql))


def test_exceptions_are_python_classes_that_pickle() -> None:
    for cls in LEAF_CLASSES + [mondoo.ConfigNotFoundError, mondoo.NetworkTimeoutError, mondoo.ClientClosedError]:
        assert cls.__module__ == "mondoo.errors"
    rpc = _native._error_for_code(6007, "denied")
    again = pickle.loads(pickle.dumps(rpc))
    assert type(again) is mondoo.RpcError
    assert (again.code, again.rpc_code, str(again)) == (6007, 7, str(rpc))
    timeout = _native._error_for_code(5002, "POST http://x/Echo/Say: timed out")
    again = pickle.loads(pickle.dumps(timeout))
    assert type(again) is mondoo.NetworkTimeoutError
    assert (again.code, again.timeout, str(again)) == (5002, True, "POST http://x/Echo/Say: timed out")


def test_a_timeout_is_also_a_builtin_timeout_error() -> None:
    timeout = _native._error_for_code(5002, "POST http://x/Echo/Say: timed out")
    assert isinstance(timeout, mondoo.NetworkError) and isinstance(timeout, mondoo.MondooError)
    assert isinstance(timeout, TimeoutError)
    assert timeout.timeout and timeout.code_name == "MONDOO_RESULT_TIMEOUT"
    # the builtin side adds nothing that changes the message
    assert str(timeout) == "POST http://x/Echo/Say: timed out" and timeout.errno is None
    # other network errors are not timeouts
    assert not isinstance(_native._error_for_code(5001), TimeoutError)


def test_a_missing_config_file_is_its_own_config_error() -> None:
    missing = _native._error_for_code(2001, "no config at /x/mondoo.yml (from --config)")
    assert isinstance(missing, mondoo.ConfigNotFoundError) and isinstance(missing, mondoo.ConfigError)
    assert type(_native._error_for_code(2002)) is mondoo.ConfigError


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError):
        _native._error_for_code(4242)


# --- config -------------------------------------------------------------------------


def test_config_from_the_fixture(testdata: Path) -> None:
    path = testdata / "configs" / "mondoo.yml"
    config = mondoo.Config.load(path)
    assert config.source == "--config"
    assert config.path == str(path)
    assert config.format == "yaml"
    assert config.registered
    assert config.service_account_mrn and config.service_account_mrn.startswith("//agents.api.mondoo.app/")
    assert config.space_mrn
    assert config.api_endpoint.startswith("https://")
    assert "PRIVATE KEY" not in repr(config)
    assert "PRIVATE KEY" not in str(config.to_dict())
    assert config.to_dict()["private_key"] == "<redacted>"
    # keys owned by other tools are kept
    assert "scan_interval" in config.to_dict()


def test_config_from_base64_env(testdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b64 = (testdata / "service-account" / "credentials.json.b64").read_text().strip()
    monkeypatch.setenv("MONDOO_CONFIG_BASE64", b64)
    config = mondoo.Config.load()
    assert config.source == "$MONDOO_CONFIG_BASE64"
    assert config.path is None
    assert config.registered
    assert "PRIVATE KEY" not in repr(config)


def test_no_config_is_unregistered() -> None:
    config = mondoo.Config.load()
    assert config.source == "none"
    assert not config.registered
    assert config.service_account_mrn is None
    assert config.api_endpoint == "https://us.api.mondoo.com"


def test_a_client_of_a_missing_path_is_config_not_found(tmp_path: Path) -> None:
    # protocol 1.2: an explicit path that does not exist is an error, never an empty config
    missing = tmp_path / "typo" / "mondoo.yml"
    for path in (missing, str(missing)):
        with pytest.raises(mondoo.ConfigNotFoundError) as info:
            mondoo.Client(path, env={})
        assert info.value.code_name == "MONDOO_RESULT_CONFIG_NOT_FOUND"
        assert info.value.path == str(missing)
        assert "no config at" in str(info.value) and str(missing) in str(info.value)
    assert not missing.parent.exists(), "nothing created"


def test_a_client_for_registration_may_name_a_new_file(tmp_path: Path) -> None:
    new = tmp_path / "sub" / "mondoo.yml"
    with mondoo.Client.for_registration(new, api_endpoint="http://127.0.0.1:1", env={}) as client:
        assert client.config.path == str(new)
        assert not client.config.registered
        assert client.api_endpoint == "http://127.0.0.1:1"
    assert not new.exists(), "only register() writes the file"
    # options are checked as Client() checks them
    with pytest.raises(ValueError, match="timeout"):
        mondoo.Client.for_registration(new, timeout=0)


def test_missing_explicit_config_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "mondoo.yml"
    with pytest.raises(mondoo.ConfigError) as info:
        mondoo.Config.load(str(missing))
    assert info.value.code_name == "MONDOO_RESULT_CONFIG_NOT_FOUND"
    assert info.value.path == str(missing)
    assert str(missing) in str(info.value)
    # ...but a registration may create it
    config = mondoo.Config.for_registration(missing)
    assert config.path == str(missing) and not config.registered


def test_broken_and_unsupported_configs(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("mrn: [unclosed\n")
    with pytest.raises(mondoo.ConfigError) as info:
        mondoo.Config.load(broken)
    assert info.value.code_name == "MONDOO_RESULT_CONFIG_PARSE"
    ssh = tmp_path / "ssh.yml"
    ssh.write_text("auth:\n  method: oauth\n")
    with pytest.raises(mondoo.ConfigError) as info:
        mondoo.Config.load(ssh)
    assert info.value.code_name == "MONDOO_RESULT_CONFIG_UNSUPPORTED_AUTH"


# --- tokens -------------------------------------------------------------------------


def test_valid_token(testdata: Path) -> None:
    raw = (testdata / "tokens" / "registration-valid.jwt").read_text()
    token = mondoo.inspect_token(raw)
    assert token.alg == "ES384"
    assert token.space_mrn and token.space_mrn.startswith("//captain.api.mondoo.app/spaces/")
    assert token.expires == 4102444800
    assert token.labels == {"env": "test"}
    assert token.api_endpoint == "https://us.api.mondoo.com"
    assert mondoo.inspect_token(raw, api_endpoint="http://127.0.0.1:1").api_endpoint == "http://127.0.0.1:1"
    assert token.to_dict()["expires_at"] == "2100-01-01T00:00:00Z"
    signature = raw.strip().rsplit(".", 1)[1]
    assert signature not in repr(token) and signature not in str(token.to_dict())


@pytest.mark.parametrize(
    "fixture, code_name, expired, malformed",
    [
        ("registration-expired.jwt", "MONDOO_RESULT_TOKEN_EXPIRED", True, False),
        ("not-a-jwt.txt", "MONDOO_RESULT_TOKEN_MALFORMED", False, True),
        ("registration-nospace.jwt", "MONDOO_RESULT_TOKEN_NO_SPACE", False, False),
    ],
)
def test_bad_tokens(testdata: Path, fixture: str, code_name: str, expired: bool, malformed: bool) -> None:
    raw = (testdata / "tokens" / fixture).read_text()
    with pytest.raises(mondoo.TokenError) as info:
        mondoo.inspect_token(raw)
    assert info.value.code_name == code_name
    assert (info.value.expired, info.value.malformed) == (expired, malformed)
    for piece in raw.strip().split("."):
        if len(piece) > 8:
            assert piece not in str(info.value)


# --- signing ------------------------------------------------------------------------


def _verify(bearer: str, body: bytes, credentials: dict[str, str]) -> dict[str, object]:
    """Verify as the platform does, with PyJWT and the certificate (a second implementation)."""
    public_key = x509.load_pem_x509_certificate(credentials["certificate"].encode()).public_key()
    header = jwt.get_unverified_header(bearer)
    assert header == {"alg": "ES384", "kid": credentials["mrn"], "typ": "JWT"}
    claims: dict[str, object] = jwt.decode(bearer, public_key, algorithms=["ES384"], issuer="mondoo/ams")  # type: ignore[arg-type]
    assert claims["sub"] == credentials["mrn"]
    assert claims["chash"] == hashlib.sha256(body).hexdigest()
    return claims


def test_signer_signs_bytes_and_str(fixture_config: Path) -> None:
    credentials = json.loads(fixture_config.read_text())
    signer = mondoo.Signer.from_config(mondoo.Config.load(fixture_config))
    assert signer.mrn == credentials["mrn"]
    body = b'{"mrn":"//x"}'
    _verify(signer.sign(body), body, credentials)
    _verify(signer.sign("grüße"), "grüße".encode(), credentials)
    _verify(signer.sign(b""), b"", credentials)
    with pytest.raises(TypeError):
        signer.sign(42)  # type: ignore[arg-type]
    assert "PRIVATE KEY" not in repr(signer)


def test_signer_needs_a_registered_config() -> None:
    with pytest.raises(mondoo.NotRegisteredError):
        mondoo.Signer.from_config(mondoo.Config.load())


def test_p256_key_is_refused(testdata: Path, tmp_path: Path) -> None:
    path = tmp_path / "p256.json"
    path.write_text((testdata / "service-account" / "credentials-p256.json").read_text())
    config = mondoo.Config.load(path)
    with pytest.raises(mondoo.KeyMaterialError) as info:
        mondoo.Signer.from_config(config)
    assert str(path) in str(info.value)
    assert "PRIVATE KEY" not in str(info.value)
    # a client over it fails the same way, before any request
    with pytest.raises(mondoo.KeyMaterialError):
        mondoo.Client(config, api_endpoint="http://127.0.0.1:1", env={})


def test_fixture_vector_verifies_with_the_same_check(testdata: Path) -> None:
    # The second implementation's bearer passes _verify: the check is not tailored to us.
    vector = json.loads((testdata / "vectors" / "es384-bearer.json").read_text())
    credentials = json.loads((testdata / "service-account" / "credentials.json").read_text())
    body = base64.b64decode(vector["body_base64"])
    public_key = x509.load_pem_x509_certificate(credentials["certificate"].encode()).public_key()
    claims = jwt.decode(
        vector["bearer"], public_key, algorithms=["ES384"], options={"verify_exp": False, "verify_nbf": False, "verify_iat": False}  # type: ignore[arg-type]
    )
    assert claims["chash"] == hashlib.sha256(body).hexdigest() == vector["chash_hex_sha256"]
