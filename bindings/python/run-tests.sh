#!/usr/bin/env bash
# Build the Python module and run its checks: pytest against the local platform,
# mypy --strict on the examples and the tests, mypy --strict for Python 3.9 (the oldest
# the abi3 wheel supports) on the package and the example, stubtest on the installed package.
#
#   bindings/python/run-tests.sh [VENV_DIR]
#
# The Python used: VENV_DIR's, else $MONDOO_PYTHON (set by tests/run-all), else the .venv
# at the repository root (created when missing).
# Exits non-zero on the first failure; nothing is skipped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

step() { printf '\n== python: %s\n' "$*"; }

if [ -z "${1:-}" ] && [ -n "${MONDOO_PYTHON:-}" ]; then
    py=$MONDOO_PYTHON
else
    venv=${1:-$repo/.venv}
    if [ ! -x "$venv/bin/python" ]; then
        step "creating the virtual environment $venv"
        python3 -m venv "$venv"
    fi
    py="$venv/bin/python"
fi
"$py" -m pip install --quiet --disable-pip-version-check maturin auditwheel pytest mypy cryptography pyjwt protobuf types-protobuf

step "building the local platform"
(cd "$repo" && cargo build --quiet -p mondoo-platform)
export MONDOO_PLATFORM_BIN="${MONDOO_PLATFORM_BIN:-$repo/target/debug/mondoo-platform}"

# The wheel a user installs: built once, checked, installed where no Rust toolchain is,
# then the same file installed for the tests below.
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
MONDOO_PYTHON=$py bash "$here/test-wheel.sh" "$dist"
wheel=$(ls "$dist"/*.whl)

step "pip install the wheel for the tests"
# --force-reinstall: the version does not change between builds of the same checkout.
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"

# Run the checks from the tests directory so `import mondoo` is the installed package,
# not the source tree.
cd "$here/tests"

step "pytest"
"$py" -m pytest -q -p no:cacheprovider .

step "mypy --strict (example, tests)"
"$py" -m mypy --strict --no-incremental "$repo/examples/python/status.py" "$repo/examples/python/assets.py"
"$py" -m mypy --strict --no-incremental .

step "mypy --strict --python-version 3.9 (installed package, example)"
# mypy 2 cannot check for Python 3.9 any more: the last mypy 1 runs from a directory of its
# own (per interpreter, ignored by git), put first on the path. Not the tests: they import
# test tools (packaging, ...) whose current releases are written for Python 3.10+.
mypy39="$here/.mypy39-$("$py" -c 'import sys; print(sys.implementation.cache_tag)')"
if ! PYTHONPATH="$mypy39" "$py" -m mypy --version 2>/dev/null | grep -q '^mypy 1\.'; then
    "$py" -m pip install --quiet --disable-pip-version-check --upgrade --target "$mypy39" "mypy>=1.20,<2"
fi
PYTHONPATH="$mypy39" "$py" -m mypy --strict --no-incremental --python-version 3.9 -p mondoo
PYTHONPATH="$mypy39" "$py" -m mypy --strict --no-incremental --python-version 3.9 "$repo/examples/python/status.py" "$repo/examples/python/assets.py"

step "stubtest"
"$py" -m mypy.stubtest mondoo

step "ok"
