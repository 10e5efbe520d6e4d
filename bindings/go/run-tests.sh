#!/usr/bin/env bash
# Go bindings: build libmondoo (static, release) and the local test platform, then vet,
# format-check and test the package (with the race detector) and the example.
# Exits non-zero on any failure. Called by CI; the README's test command.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

cargo build --release -p mondoo
cargo build -p mondoo-platform

export GODEBUG=cgocheck=1
export MONDOO_PLATFORM_BIN="${MONDOO_PLATFORM_BIN:-$root/target/debug/mondoo-platform}"
export MONDOO_TESTDATA="${MONDOO_TESTDATA:-$root/../shared/testdata}"

status=0
for dir in bindings/go examples/go/status; do
  echo "== go vet $dir"
  (cd "$dir" && go vet ./... && go vet -tags mondoo_dynamic ./...) || status=1
  unformatted="$(cd "$dir" && gofmt -l .)"
  if [ -n "$unformatted" ]; then
    echo "gofmt -l $dir: not formatted:"
    echo "$unformatted"
    status=1
  fi
done

echo "== go test -race (static libmondoo)"
(cd bindings/go && go test -race -count=1 ./...) || status=1

echo "== go test (shared libmondoo, -tags mondoo_dynamic)"
(cd bindings/go && go test -tags mondoo_dynamic -count=1 ./...) || status=1

echo "== go build examples/go/status"
(cd examples/go/status && go build -o /dev/null .) || status=1

if [ "$status" -ne 0 ]; then
  echo "Go bindings: FAILED"
fi
exit "$status"
