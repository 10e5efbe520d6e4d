#!/usr/bin/env python3
"""Write libmondoo's test fixtures (see README.md beside this script).

An independent implementation: the Python standard library and `cryptography` only,
written from the protocol text and never from libmondoo's Rust code, so the tests compare
libmondoo against a second implementation instead of against itself.

    python3 testdata/generate.py            # (re)writes every file under testdata/

Every key is generated afresh on each run (a test key, never a credential); everything
else is fixed (names, MRNs, times), so a new run changes only keys, certificates and
signatures. The output is committed: the tests read the files, never this script.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

OUT = Path(__file__).resolve().parent

# The names the tests assert on.
SPACE_MRN = "//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456"
ORG_MRN = "//captain.api.mondoo.app/organizations/test-lunar-org-654321"
ACCOUNT_ID = "2Xa7TestServiceAccount01"
ACCOUNT_MRN = f"//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/serviceaccounts/{ACCOUNT_ID}"
AGENT_MRN = "//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/agents/2Xa7TestAgent000000000001"
API_ENDPOINT = "https://us.api.mondoo.com"
PLATFORM_CN = "test platform"
TOKEN_KID = f"{SPACE_MRN}/registration"

# Fixed instants (Unix seconds).
Y2024 = 1704067200  # 2024-01-01T00:00:00Z: tokens issued, certificates valid from
EXPIRED_AT = 1704153600  # 2024-01-02T00:00:00Z: the expired token's exp
Y2100 = 4102444800  # 2100-01-01T00:00:00Z: the valid tokens' exp and the vector's iat
CERT_NOT_AFTER = datetime.datetime(2099, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
BEARER_LIFETIME = 60  # protocol section 4: exp = iat + 60 s

VECTOR_BODY = b'{"token":"","name":"fixture-host"}'
# The same body with one byte changed ("} -> #}): a bearer for VECTOR_BODY must not verify.
VECTOR_TAMPERED_BODY = b'{"token":"","name":"fixture-host#}'


def utc(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def write(rel: str, text: str) -> None:
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote testdata/{rel}")


def pkcs8_pem(key: ec.EllipticCurvePrivateKey) -> str:
    """`BEGIN PRIVATE KEY`, what the console hands out and the platform issues."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def platform_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """The platform's self-signed P-384 certificate; it issues the account certificates."""
    return (
        x509.CertificateBuilder()
        .subject_name(name(PLATFORM_CN))
        .issuer_name(name(PLATFORM_CN))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(Y2024))
        .not_valid_after(CERT_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA384())
    )


def account_certificate(
    public_key: ec.EllipticCurvePublicKey, platform_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """A service account's certificate as the platform issues it: subject CN = the
    account's id, its MRN as a `mrn:` URI SAN, signed ES384 by the platform key."""
    return (
        x509.CertificateBuilder()
        .subject_name(name(ACCOUNT_ID))
        .issuer_name(name(PLATFORM_CN))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(Y2024))
        .not_valid_after(CERT_NOT_AFTER)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"mrn:{ACCOUNT_MRN}")]), critical=False
        )
        .sign(platform_key, hashes.SHA384())
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def es384_jws(key: ec.EllipticCurvePrivateKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact JWS: ECDSA P-384 over SHA-384 of `b64url(header).b64url(claims)`, the
    signature as JWS wants it (raw r||s, 48 bytes each), not DER."""
    signing_input = f"{b64url(compact_json(header))}.{b64url(compact_json(claims))}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA384())))
    return f"{signing_input}.{b64url(r.to_bytes(48, 'big') + s.to_bytes(48, 'big'))}"


def registration_token(platform_key: ec.EllipticCurvePrivateKey, *, space: bool, exp: int) -> str:
    """A registration token as the platform mints it (protocol section 2)."""
    claims: dict[str, Any] = {"iss": "mondoo/ams", "sub": SPACE_MRN, "iat": Y2024, "nbf": Y2024}
    if space:
        claims["space"] = SPACE_MRN
    claims.update(
        {
            "desc": "fixture token",
            "api_endpoint": API_ENDPOINT,
            "owner": "//captain.api.mondoo.app/users/fixture",
            "labels": {"env": "test"},
            "exp": exp,
        }
    )
    return es384_jws(platform_key, {"alg": "ES384", "kid": TOKEN_KID, "typ": "JWT"}, claims)


def request_bearer(key: ec.EllipticCurvePrivateKey, body: bytes, iat: int) -> str:
    """A request bearer (protocol section 4): header and claims exactly, in this order."""
    claims = {
        "chash": hashlib.sha256(body).hexdigest(),
        "exp": iat + BEARER_LIFETIME,
        "iat": iat,
        "iss": "mondoo/ams",
        "nbf": iat,
        "sub": ACCOUNT_MRN,
    }
    return es384_jws(key, {"alg": "ES384", "kid": ACCOUNT_MRN, "typ": "JWT"}, claims)


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_length(len(content)) + content


def sec1_without_public_key(key: ec.EllipticCurvePrivateKey) -> str:
    """SEC1 `ECPrivateKey` with the curve but without the optional public key (RFC 5915
    allows leaving it out; some tools do): version 1, the scalar, [0] secp384r1."""
    scalar = key.private_numbers().private_value.to_bytes(48, "big")
    secp384r1 = bytes.fromhex("06052b81040022")  # OID 1.3.132.0.34
    body = der(0x02, b"\x01") + der(0x04, scalar) + der(0xA0, secp384r1)
    b64 = base64.b64encode(der(0x30, body)).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN EC PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END EC PRIVATE KEY-----\n"


def yaml_block(pem: str) -> str:
    """A PEM as a YAML literal block under a key, as Go's yaml.v3 writes it."""
    return "|\n" + "".join(f"  {line}\n" for line in pem.strip("\n").split("\n"))


def main() -> None:
    platform_key = ec.generate_private_key(ec.SECP384R1())
    platform_cert = platform_certificate(platform_key)
    write("platform/platform-key.pem", pkcs8_pem(platform_key))
    write("platform/platform-cert.pem", cert_pem(platform_cert))

    account_key = ec.generate_private_key(ec.SECP384R1())
    account_key_pem = pkcs8_pem(account_key)
    account_cert_pem = cert_pem(account_certificate(account_key.public_key(), platform_key))

    credentials = {
        "mrn": ACCOUNT_MRN,
        "space_mrn": SPACE_MRN,
        "private_key": account_key_pem,
        "certificate": account_cert_pem,
        "api_endpoint": API_ENDPOINT,
    }
    write("service-account/credentials.json", json.dumps(credentials, indent=2) + "\n")
    # The console's "Base64" box: the document on one line, encoded without line breaks.
    write("service-account/credentials.json.b64", base64.b64encode(json.dumps(credentials).encode()).decode() + "\n")
    # An organization account names its scope with scope_mrn only.
    org = {k: v for k, v in credentials.items() if k != "space_mrn"}
    org["scope_mrn"] = ORG_MRN
    write("service-account/credentials-org.json", json.dumps(org, indent=2) + "\n")
    # The same account with a P-256 key (and a certificate for it): a bad input, the
    # platform verifies ES384 only.
    p256_key = ec.generate_private_key(ec.SECP256R1())
    p256 = dict(credentials)
    p256["private_key"] = pkcs8_pem(p256_key)
    p256["certificate"] = cert_pem(account_certificate(p256_key.public_key(), platform_key))
    write("service-account/credentials-p256.json", json.dumps(p256, indent=2) + "\n")
    # The account's key in SEC1 form, as `openssl ec` writes it (curve and public key),
    # and without the optional public key.
    sec1 = account_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    write("service-account/private-key-sec1.pem", sec1)
    write("service-account/private-key-sec1-no-public.pem", sec1_without_public_key(account_key))

    # An agent config as `cnspec login` leaves it, plus keys other tools own.
    write(
        "configs/mondoo.yml",
        f"agent_mrn: {AGENT_MRN}\n"
        f"api_endpoint: {API_ENDPOINT}\n"
        "api_proxy: http://127.0.0.1:3128\n"
        f"certificate: {yaml_block(account_cert_pem)}"
        f"mrn: {ACCOUNT_MRN}\n"
        f"private_key: {yaml_block(account_key_pem)}"
        f"space_mrn: {SPACE_MRN}\n"
        "annotations:\n"
        "  owner: platform-team\n"
        "features:\n"
        "  - MQLAssetContext\n"
        "scan_interval:\n"
        "  timer: 60\n"
        "  splay: 60\n"
        "updates_url: https://releases.example.internal\n",
    )

    write("tokens/registration-valid.jwt", registration_token(platform_key, space=True, exp=Y2100) + "\n")
    write("tokens/registration-expired.jwt", registration_token(platform_key, space=True, exp=EXPIRED_AT) + "\n")
    write("tokens/registration-nospace.jwt", registration_token(platform_key, space=False, exp=Y2100) + "\n")
    write("tokens/not-a-jwt.txt", "this.is-not.a-token!\n")

    vector = {
        "about": "ES384 bearer over body, made with Python cryptography; "
        "verify with the certificate in service-account/credentials.json at iat",
        "body_base64": base64.b64encode(VECTOR_BODY).decode(),
        "chash_hex_sha256": hashlib.sha256(VECTOR_BODY).hexdigest(),
        "bearer": request_bearer(account_key, VECTOR_BODY, Y2100),
        "tampered_body_base64": base64.b64encode(VECTOR_TAMPERED_BODY).decode(),
        "empty_body_chash": hashlib.sha256(b"").hexdigest(),
    }
    write("vectors/es384-bearer.json", json.dumps(vector, indent=2) + "\n")


if __name__ == "__main__":
    main()
