#!/usr/bin/env bash
# Build the Python module and run its checks: pytest against the local platform,
# mypy --strict on the example and the tests, stubtest on the installed package.
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
"$py" -m pip install --quiet --disable-pip-version-check maturin pytest mypy cryptography pyjwt

step "building the local platform"
(cd "$repo" && cargo build --quiet -p mondoo-platform)
export MONDOO_PLATFORM_BIN="${MONDOO_PLATFORM_BIN:-$repo/target/debug/mondoo-platform}"

step "pip install ./bindings/python"
# --force-reinstall: the version does not change between builds of the same checkout.
(cd "$repo" && "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./bindings/python)

# Run the checks from the tests directory so `import mondoo` is the installed package,
# not the source tree.
cd "$here/tests"

step "pytest"
"$py" -m pytest -q -p no:cacheprovider .

step "mypy --strict (example, tests)"
"$py" -m mypy --strict --no-incremental "$repo/examples/python/status.py"
"$py" -m mypy --strict --no-incremental .

step "stubtest"
"$py" -m mypy.stubtest mondoo

step "ok"
