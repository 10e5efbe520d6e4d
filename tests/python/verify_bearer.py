#!/usr/bin/env python3
"""A second, independent verifier of libmondoo's request bearers (protocol section 4).

Written with Python `cryptography` only, from the protocol text, so the Rust signer is
checked against something other than itself.

    verify_bearer.py < request.json

request.json: {"bearer": str, "body_base64": str, "certificate_pem": str, "now": int}.
Exit 0 and the claims as JSON on stdout when the bearer verifies; exit 1 and the reason
on stderr when it does not. `pytest tests/python/verify_bearer.py` checks the fixture
vector.
"""

import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

LEEWAY = 60


class Invalid(Exception):
    pass


def b64url_decode(part: str) -> bytes:
    if "=" in part:
        raise Invalid("padded base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(bearer: str, body: bytes, certificate_pem: str, now: int) -> dict:
    parts = bearer.split(".")
    if len(parts) != 3:
        raise Invalid("not three parts")
    header_raw, claims_raw = b64url_decode(parts[0]), b64url_decode(parts[1])
    header = json.loads(header_raw)
    if header.get("alg") != "ES384":
        raise Invalid(f"alg {header.get('alg')!r} is not ES384")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise Invalid("no kid")

    sig = b64url_decode(parts[2])
    if len(sig) != 96:
        raise Invalid(f"signature is {len(sig)} bytes, not raw r||s (96)")
    r, s = int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise Invalid("certificate key is not P-384")
    signing_input = (parts[0] + "." + parts[1]).encode()
    try:
        key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise Invalid("signature does not verify")

    claims = json.loads(claims_raw)
    for name in ("exp", "iat", "nbf"):
        if not isinstance(claims.get(name), (int, float)):
            raise Invalid(f"claim {name} missing")
    if now > claims["exp"] + LEEWAY:
        raise Invalid("expired")
    if claims["nbf"] > now + LEEWAY:
        raise Invalid("not yet valid")
    if claims["iat"] > now + LEEWAY:
        raise Invalid("issued in the future")
    if "chash" in claims:
        want = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(str(claims["chash"]).encode(), want.encode()):
            raise Invalid("chash does not match the body")
    # Also report the exact encodings, so the caller can check key order and format.
    return {"header_json": header_raw.decode(), "claims_json": claims_raw.decode(), "claims": claims}


def main() -> int:
    req = json.load(sys.stdin)
    try:
        out = verify(req["bearer"], base64.b64decode(req["body_base64"]), req["certificate_pem"], int(req["now"]))
    except Invalid as e:
        print(f"invalid bearer: {e}", file=sys.stderr)
        return 1
    json.dump(out, sys.stdout)
    return 0


# ----------------------------------------------------------------- pytest: the fixture vector

def _testdata(rel: str) -> str:
    base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata")
    return os.path.join(base, rel)


def _vector():
    with open(_testdata("vectors/es384-bearer.json")) as f:
        vec = json.load(f)
    with open(_testdata("service-account/credentials.json")) as f:
        cert = json.load(f)["certificate"]
    return vec, cert


def test_vector_verifies():
    vec, cert = _vector()
    out = verify(vec["bearer"], base64.b64decode(vec["body_base64"]), cert, 4102444800)
    assert out["claims"]["chash"] == vec["chash_hex_sha256"]


def test_vector_tampered_body_fails():
    vec, cert = _vector()
    try:
        verify(vec["bearer"], base64.b64decode(vec["tampered_body_base64"]), cert, 4102444800)
    except Invalid as e:
        assert "chash" in str(e)
    else:
        raise AssertionError("tampered body verified")


if __name__ == "__main__":
    sys.exit(main())
