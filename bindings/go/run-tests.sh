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

echo "== go test -asan (every C string and handle freed: LeakSanitizer at exit)"
(cd bindings/go && go test -asan -count=1 ./...) || status=1

echo "== go test (shared libmondoo, -tags mondoo_dynamic)"
(cd bindings/go && go test -tags mondoo_dynamic -count=1 ./...) || status=1

echo "== go build examples/go/status (static and -tags mondoo_dynamic), check what each links"
# needed BINARY: the shared libraries BINARY names directly (ELF NEEDED entries).
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }
bindir="$(mktemp -d)"
trap 'rm -rf "$bindir"' EXIT
if (cd examples/go/status && go build -o "$bindir/status-static" . &&
  go build -tags mondoo_dynamic -o "$bindir/status-dynamic" .); then
  # Captured first: with pipefail, `ldd | grep -q` could fail on SIGPIPE.
  static_needed="$(needed "$bindir/status-static")" || static_needed=""
  static_ldd="$(ldd "$bindir/status-static" 2>&1)" || true
  dynamic_needed="$(needed "$bindir/status-dynamic")" || dynamic_needed=""
  dynamic_ldd="$(ldd "$bindir/status-dynamic" 2>&1)" || true
  # The static binary still links libc dynamically: an empty list means readelf failed.
  if ! grep -q '^libc\.so' <<<"$static_needed"; then
    echo "readelf -d status-static: no NEEDED entries read (got: $static_needed)"
    status=1
  elif grep -q 'libmondoo' <<<"$static_needed$static_ldd"; then
    echo "the default (static) build of examples/go/status depends on libmondoo.so:"
    echo "$static_ldd"
    status=1
  fi
  if ! grep -qx 'libmondoo\.so' <<<"$dynamic_needed"; then
    echo "the mondoo_dynamic build of examples/go/status does not depend on libmondoo.so (NEEDED: $dynamic_needed)"
    status=1
  elif ! grep -q 'libmondoo\.so => /' <<<"$dynamic_ldd"; then
    echo "the mondoo_dynamic build of examples/go/status does not find libmondoo.so (rpath):"
    echo "$dynamic_ldd"
    status=1
  fi
else
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "Go bindings: FAILED"
fi
exit "$status"
