"""libmondoo's request bearers checked by a second implementation (protocol section 4).

The verifier below is written with Python `cryptography` only, from the protocol text, so
the bearers libmondoo makes (through `mondoo.Signer`, the Rust signer itself) are checked
against something other than libmondoo's own verifier. This is the cross-check that used
to run inside `cargo test`; here it needs no Python in the Rust build, and
`tests/run-all` runs it in its Python section.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import mondoo

LEEWAY = 60
#: The fixture vector's instant: 2100-01-01T00:00:00Z.
VECTOR_NOW = 4102444800
CLAIM_ORDER = ["chash", "exp", "iat", "iss", "nbf", "sub"]


class InvalidBearer(Exception):
    pass


def _b64url_decode(part: str) -> bytes:
    if "=" in part:
        raise InvalidBearer("padded base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_bearer(bearer: str, body: bytes, certificate_pem: str, now: int) -> dict[str, Any]:
    """Verify as the platform does; return the exact header and claims JSON text and the
    claims. Raises InvalidBearer with the reason."""
    parts = bearer.split(".")
    if len(parts) != 3:
        raise InvalidBearer("not three parts")
    header_raw, claims_raw = _b64url_decode(parts[0]), _b64url_decode(parts[1])
    header = json.loads(header_raw)
    if header.get("alg") != "ES384":
        raise InvalidBearer(f"alg {header.get('alg')!r} is not ES384")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise InvalidBearer("no kid")

    signature = _b64url_decode(parts[2])
    if len(signature) != 96:
        raise InvalidBearer(f"signature is {len(signature)} bytes, not raw r||s (96)")
    r, s = int.from_bytes(signature[:48], "big"), int.from_bytes(signature[48:], "big")
    key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise InvalidBearer("certificate key is not P-384")
    try:
        key.verify(encode_dss_signature(r, s), f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise InvalidBearer("signature does not verify") from None

    claims: dict[str, Any] = json.loads(claims_raw)
    for name in ("exp", "iat", "nbf"):
        if not isinstance(claims.get(name), int):
            raise InvalidBearer(f"claim {name} missing")
    if now > claims["exp"] + LEEWAY:
        raise InvalidBearer("expired")
    if claims["nbf"] > now + LEEWAY:
        raise InvalidBearer("not yet valid")
    if claims["iat"] > now + LEEWAY:
        raise InvalidBearer("issued in the future")
    if "chash" in claims:
        want = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(str(claims["chash"]).encode(), want.encode()):
            raise InvalidBearer("chash does not match the body")
    return {"header_json": header_raw.decode(), "claims_json": claims_raw.decode(), "claims": claims}


def _credentials(path: Path) -> dict[str, str]:
    credentials: dict[str, str] = json.loads(path.read_text())
    return credentials


def _signer(fixture_config: Path) -> mondoo.Signer:
    return mondoo.Signer.from_config(mondoo.Config.load(fixture_config))


@pytest.mark.parametrize(
    "body",
    [b"", b'{"name":"host"}', bytes([0, 1, 2, 0, 255]), b"x" * 70_000],
    ids=["empty", "json", "binary-with-nul", "70k"],
)
def test_libmondoo_bearer_verifies_with_cryptography(fixture_config: Path, body: bytes) -> None:
    credentials = _credentials(fixture_config)
    before = int(time.time())
    bearer = _signer(fixture_config).sign(body)
    after = int(time.time())
    out = verify_bearer(bearer, body, credentials["certificate"], after)
    # exactly the header and claims the platform expects, in this order, nothing more
    assert out["header_json"] == f'{{"alg":"ES384","kid":{json.dumps(credentials["mrn"])},"typ":"JWT"}}'
    assert list(json.loads(out["claims_json"])) == CLAIM_ORDER
    claims = out["claims"]
    assert claims["chash"] == hashlib.sha256(body).hexdigest()
    assert (claims["sub"], claims["iss"]) == (credentials["mrn"], "mondoo/ams")
    assert before <= claims["iat"] == claims["nbf"] <= after
    assert claims["exp"] == claims["iat"] + 60


def test_cryptography_refuses_a_libmondoo_bearer_for_another_body_time_or_key(
    fixture_config: Path, testdata: Path
) -> None:
    # The check can fail: the same verifier refuses what the platform refuses.
    credentials = _credentials(fixture_config)
    now = int(time.time())
    bearer = _signer(fixture_config).sign(b"body")
    verify_bearer(bearer, b"body", credentials["certificate"], now)
    with pytest.raises(InvalidBearer, match="chash"):
        verify_bearer(bearer, b"tampered", credentials["certificate"], now)
    with pytest.raises(InvalidBearer, match="expired"):
        verify_bearer(bearer, b"body", credentials["certificate"], now + 60 + LEEWAY + 2)
    platform_certificate = (testdata / "platform" / "platform-cert.pem").read_text()
    with pytest.raises(InvalidBearer, match="signature does not verify"):
        verify_bearer(bearer, b"body", platform_certificate, now)
    head, claims, signature = bearer.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(InvalidBearer, match="signature does not verify"):
        verify_bearer(f"{head}.{claims}.{flipped}", b"body", credentials["certificate"], now)


def test_fixture_vector_verifies_with_cryptography(testdata: Path) -> None:
    vector = json.loads((testdata / "vectors" / "es384-bearer.json").read_text())
    certificate = _credentials(testdata / "service-account" / "credentials.json")["certificate"]
    body = base64.b64decode(vector["body_base64"])
    out = verify_bearer(vector["bearer"], body, certificate, VECTOR_NOW)
    assert out["claims"]["chash"] == vector["chash_hex_sha256"]
    assert hashlib.sha256(b"").hexdigest() == vector["empty_body_chash"]
    with pytest.raises(InvalidBearer, match="chash"):
        verify_bearer(vector["bearer"], base64.b64decode(vector["tampered_body_base64"]), certificate, VECTOR_NOW)
    with pytest.raises(InvalidBearer, match="expired"):
        verify_bearer(vector["bearer"], body, certificate, VECTOR_NOW + 121)
