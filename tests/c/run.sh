#!/usr/bin/env bash
# The C tests as tests/run-all runs them: plain, under AddressSanitizer + UBSan, and under
# Valgrind (each builds the library and the local platform first). Any failure fails.
set -euo pipefail
cd "$(dirname "$0")"
make test
make asan
if command -v valgrind >/dev/null; then
  make valgrind
else
  echo "valgrind not installed: .ci/run installs it" >&2
  exit 1
fi
