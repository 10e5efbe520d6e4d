#!/usr/bin/env bash
# The wheel and the sdist a user gets, checked as a user meets them:
#  - `maturin build --release` makes one abi3 wheel, manylinux-compliant (auditwheel show),
#    with README, license and URLs in its metadata, and an extension that exports no
#    C-ABI (mondoo_*) symbols; `maturin sdist` makes the source distribution;
#  - the wheel installs into a fresh venv on a PATH without cargo or rustc, and the
#    example (examples/python/status.py) runs with it against the local platform.
#
#   bindings/python/test-wheel.sh OUT_DIR     (the wheel and sdist are left in OUT_DIR)
# $MONDOO_PYTHON: a Python with maturin and auditwheel (run-tests.sh sets it);
# $MONDOO_TESTDATA: the fixtures (default: testdata/ of the repository), as the tests use it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:?usage: test-wheel.sh OUT_DIR}
py=${MONDOO_PYTHON:?set MONDOO_PYTHON to a Python with maturin and auditwheel}
step() { printf '\n== python wheel: %s\n' "$*"; }
fail() { echo "python wheel: $*" >&2; exit 1; }

step "maturin build --release, maturin sdist"
# The host triple given explicitly, as cargo-c gives it: the release build of the
# dependencies under target/<triple>/release is then shared with the C library's.
host=$(rustc -vV | sed -n 's/^host: //p')
(cd "$here" && "$py" -m maturin build --quiet --release --locked --target "$host" --out "$out" &&
  "$py" -m maturin sdist --out "$out")
wheels=("$out"/*.whl)
[ "${#wheels[@]}" -eq 1 ] || fail "expected one wheel, got: ${wheels[*]}"
wheel=${wheels[0]}
ls "$out"/*.tar.gz >/dev/null || fail "no sdist in $out"
echo "wheel $(basename "$wheel"): $(du -k "$wheel" | cut -f1) KiB; sdist $(du -k "$out"/*.tar.gz | cut -f1) KiB"
[[ "$(basename "$wheel")" == *-cp39-abi3-manylinux_* ]] || fail "not an abi3 manylinux wheel: $(basename "$wheel")"

step "auditwheel show"
audit=$("$py" -m auditwheel show "$wheel")
echo "$audit"
# auditwheel wraps its sentences: read them as one line.
tr -s ' \n' ' ' <<<"$audit" | grep -q 'is consistent with the following platform tag: "manylinux_' || fail "auditwheel finds the wheel not manylinux-compliant"

step "metadata and contents"
"$py" - "$wheel" <<'PY'
import email, sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
names = wheel.namelist()
meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
meta = email.message_from_bytes(wheel.read(meta_name))
problems = []
# (newer maturin adds parameters: "text/markdown; charset=UTF-8; variant=GFM")
content_type = (meta.get("Description-Content-Type") or "").split(";")[0].strip()
if content_type != "text/markdown" or "libmondoo" not in (meta.get_payload() or ""):
    problems.append("no README as the long description")
if meta.get("License-Expression") != "Apache-2.0":
    problems.append(f"License-Expression is {meta.get('License-Expression')!r}")
if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
    problems.append("no LICENSE file in the dist-info")
urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
for label in ("Homepage", "Repository", "Documentation"):
    if not urls.get(label, "").startswith("https://"):
        problems.append(f"no {label} URL")
if problems:
    sys.exit("wheel metadata: " + "; ".join(problems))
print("README, Apache-2.0 license file and URLs:", ", ".join(sorted(urls)))
PY
extracted=$(mktemp -d)
trap 'rm -rf "$extracted"' EXIT
"$py" -m zipfile -e "$wheel" "$extracted"
native=$(ls "$extracted"/mondoo/_native*.so)
if nm -D --defined-only "$native" | grep -q ' mondoo_'; then fail "the extension exports C-ABI symbols"; fi
if readelf -S "$native" | grep -q '\.debug_info'; then fail "the extension carries debug info"; fi
echo "$(basename "$native"): $(du -k "$native" | cut -f1) KiB, no mondoo_* exports, no debug info"

step "install into a fresh venv without cargo or rustc, run the example"
venv=$extracted/venv
python3 -m venv "$venv"
clean_path="$venv/bin:/usr/bin:/bin"
if PATH=$clean_path command -v cargo >/dev/null || PATH=$clean_path command -v rustc >/dev/null; then
  fail "cargo or rustc is on the clean PATH $clean_path"
fi
start=$(date +%s%N)
env -i HOME="$HOME" PATH="$clean_path" "$venv/bin/python" -m pip install --quiet --no-index --disable-pip-version-check "$wheel"
end=$(date +%s%N)
echo "pip install of the wheel: $(((end - start) / 1000000)) ms"

(cd "$repo" && cargo build --quiet -p mondoo-platform)
platform_bin=${MONDOO_PLATFORM_BIN:-$repo/target/debug/mondoo-platform}
testdata=${MONDOO_TESTDATA:-$repo/testdata}
coproc PLATFORM { "$platform_bin" --testdata "$testdata"; }
read -r url <&"${PLATFORM[0]}" || fail "the local platform did not start"
# The fixture service account is known to the platform: status must authenticate.
set +e
output=$(env -i HOME="$extracted" PATH="$clean_path" MONDOO_API_ENDPOINT="$url" \
  "$venv/bin/python" "$repo/examples/python/status.py" --config "$testdata/service-account/credentials.json")
rc=$?
set -e
exec {PLATFORM[1]}>&-
wait "$PLATFORM_PID" 2>/dev/null || true
echo "$output"
[ "$rc" -eq 0 ] || fail "examples/python/status.py exited $rc"
grep -q "client authenticated successfully" <<<"$output" || fail "the example did not authenticate"
echo "python wheel: ok"
