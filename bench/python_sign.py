#!/usr/bin/env python3
"""Bearers per second from Python, against the Rust signer in the same process and run,
and against what a Python user would write instead (PyJWT with `cryptography`).

    python bench/python_sign.py        (with `mondoo`, `pyjwt` and `cryptography` installed)

Prints one line per figure, as bench/run does:  name  ops/s  ratio-to-rust
  rust.sign_1k     the Rust signer looping in Rust (no Python between bearers)
  python.sign_1k   mondoo.Signer.sign from a Python loop (goal: >= 0.9x rust)
  pyjwt.sign_1k    sha256 chash + claims dict + jwt.encode(ES384) per bearer
BENCH_ROUNDS (default 21) rounds run the three back to back; ops/s is the median round and
the ratio the median of the rounds' ratios, so load on a shared machine hits both sides of
a ratio alike. BENCH_MS (default 150) is the length of one round.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

try:
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    import mondoo
    from mondoo import _native
except ImportError as e:
    sys.exit(f"bench/python_sign.py: {e}: pip install ./bindings/python pyjwt cryptography")

REPO = Path(__file__).resolve().parents[1]
BODY = b'{"payload":"' + b"x" * (1024 - 14) + b'"}'
assert len(BODY) == 1024


def testdata() -> Path:
    return REPO / "testdata"


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "21"))
    round_s = int(os.environ.get("BENCH_MS", "150")) / 1000

    credentials = json.loads((testdata() / "service-account" / "credentials.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "credentials.json"
        path.write_text(json.dumps(credentials))
        signer = mondoo.Signer.from_config(mondoo.Config.load(path))

    def rust(n: int) -> float:
        return _native._bench_sign_rust(signer, n, BODY)

    def python(n: int) -> float:
        sign = signer.sign
        started = time.perf_counter()
        for _ in range(n):
            sign(BODY)
        return time.perf_counter() - started

    key = load_pem_private_key(credentials["private_key"].encode(), password=None)
    mrn = credentials["mrn"]
    headers = {"kid": mrn}

    def pyjwt(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            now = int(time.time())
            claims = {
                "chash": hashlib.sha256(BODY).hexdigest(),
                "exp": now + 60,
                "iat": now,
                "iss": "mondoo/ams",
                "nbf": now,
                "sub": mrn,
            }
            jwt.encode(claims, key, algorithm="ES384", headers=headers)  # type: ignore[arg-type]
        return time.perf_counter() - started

    # size each round from a short calibration of the Rust signer
    per_op = rust(50) / 50
    n = max(10, int(round_s / 3 / per_op))
    runs = {"rust": rust, "python": python, "pyjwt": pyjwt}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(rounds):
        # back to back, order alternating, so load changes hit both sides of a ratio alike
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        seconds = {name: runs[name](n) for name in order}
        for name in runs:
            rates[name].append(n / seconds[name])
            ratios[name].append(seconds["rust"] / seconds[name])
    for name in runs:
        print(f"{name}.sign_1k  {median(rates[name]):.0f}  {median(ratios[name]):.2f}")

if __name__ == "__main__":
    main()
