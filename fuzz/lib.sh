# Shared by fuzz/smoke and fuzz/run: seed corpora from the fixtures, run one target,
# report its executions. Sourced, not run.
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGETS=(config_parse token_inspect bearer_verify rpc_decode)
# the repository's fixtures (the bearer target reads the fixture certificate there too)
TESTDATA="$(cd "$FUZZ_DIR/../testdata" && pwd)"

need_tools() {
    if ! cargo +nightly --version >/dev/null 2>&1; then
        echo "fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2
        exit 2
    fi
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        echo "fuzz: cargo-fuzz is required (cargo install cargo-fuzz --locked)" >&2
        exit 2
    fi
}

# seed FILE NAME: copy a fixture into a corpus (missing fixtures are skipped).
seed() {
    local dir="$FUZZ_DIR/corpus/$1" src="$2" name="$3"
    mkdir -p "$dir"
    [ -f "$src" ] && cp "$src" "$dir/$name" || true
}

# Seed corpora from the fixtures each time (corpus/ is gitignored; what the fuzzer
# found in earlier runs stays there and is reused).
seed_corpora() {
    local t="$TESTDATA" c="$FUZZ_DIR/corpus"
    mkdir -p "$c"/{config_parse,token_inspect,bearer_verify,rpc_decode}
    seed config_parse "$t/configs/mondoo.yml" seed-mondoo.yml
    for f in "$t"/service-account/*.json; do seed config_parse "$f" "seed-$(basename "$f")"; done
    base64 -d "$t/service-account/credentials.json.b64" > "$c/config_parse/seed-b64-decoded.json" 2>/dev/null || true
    printf 'mrn: x\nprivate_key: |\n  -----BEGIN PRIVATE KEY-----\n  AAAA\n  -----END PRIVATE KEY-----\n' > "$c/config_parse/seed-broken-key.yml"
    printf '{"auth": {"method": "ssh"}}' > "$c/config_parse/seed-auth.json"
    # nesting at and past the limit (64), in flow and block style, and duplicate keys
    python3 - "$c/config_parse" <<'PY' || true
import pathlib, sys
out = pathlib.Path(sys.argv[1])
(out / "seed-nested-flow.yml").write_text("x: " + "[" * 70 + "]" * 70 + "\n")
(out / "seed-nested-json.json").write_text('{"x": ' + "[" * 63 + "]" * 63 + "}")
(out / "seed-nested-block.yml").write_text("".join(" " * i + "k%d:\n" % i for i in range(66)))
(out / "seed-nested-seq.yml").write_text("- " * 66 + "x\n")
(out / "seed-duplicate.yml").write_text("mrn: //a\nMRN: //b\n")
PY

    for f in "$t"/tokens/*; do seed token_inspect "$f" "seed-$(basename "$f")"; done

    # bearer_verify input: bearer, newline, body
    python3 - "$t/vectors/es384-bearer.json" "$c/bearer_verify" <<'PY' || true
import base64, json, sys, pathlib
v = json.load(open(sys.argv[1]))
out = pathlib.Path(sys.argv[2])
bearer = v["bearer"].encode()
(out / "seed-valid").write_bytes(bearer + b"\n" + base64.b64decode(v["body_base64"]))
(out / "seed-tampered").write_bytes(bearer + b"\n" + base64.b64decode(v["tampered_body_base64"]))
(out / "seed-no-body").write_bytes(bearer)
PY

    # rpc_decode input: HTTP status (u16 little-endian), then the body
    local r="$c/rpc_decode"
    printf '\xc8\x00{"agent_mrn":"//agents.api.mondoo.app/x","credential":{"mrn":"m","private_key":"k"}}' > "$r/seed-200-register"
    printf '\xc8\x00{"status":"SERVING","time":"2024-01-01T00:00:00Z","apiVersion":"1","build":"b"}' > "$r/seed-200-health"
    printf '\x99\x01{"code":10,"message":"the request was aborted, please retry"}' > "$r/seed-409-aborted"
    printf '\x91\x01{"code":16,"message":"request permission unauthenticated"}' > "$r/seed-401"
    printf '\xf6\x01<html><head><title>502 Bad Gateway</title></head></html>' > "$r/seed-502-html"
    printf '\xf4\x01' > "$r/seed-500-empty"
    printf '\xc8\x00{"agent_mrn":"//agents.api.mondoo.app/spa' > "$r/seed-200-truncated"
}

# run_target TARGET LIBFUZZER-ARGS...: run it, print "TARGET: N executions" (also left in
# FUZZ_LAST_RUNS), fail on a crash.
run_target() {
    local target="$1"; shift
    local log="$FUZZ_DIR/artifacts/$target.log"
    mkdir -p "$FUZZ_DIR/artifacts/$target"
    echo "fuzz: $target $*"
    # -timeout: one input taking 10 s is a hang and counts as a failure
    if ! (cd "$FUZZ_DIR" && cargo +nightly fuzz run "$target" -- -timeout=10 -print_final_stats=1 "$@") > "$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz: $target FAILED (log: $log, inputs: $FUZZ_DIR/artifacts/$target/)" >&2
        return 1
    fi
    local runs
    runs="$(grep -Eo '^Done [0-9]+ runs' "$log" | tail -1 | awk '{print $2}')"
    echo "fuzz: $target: ${runs:-?} executions ($(grep -Eo 'in [0-9]+ second' "$log" | tail -1 | awk '{print $2}') s)"
    echo "$target ${runs:-0}" >> "$FUZZ_DIR/artifacts/executions.txt"
    FUZZ_LAST_RUNS="${runs:-0}"
}
