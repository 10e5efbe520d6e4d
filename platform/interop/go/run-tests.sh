#!/usr/bin/env bash
# The local platform against a Go protobuf client (see platform_test.go): vet, gofmt,
# go test. Builds the platform binary first unless MONDOO_PLATFORM_BIN names one.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
if [ -z "${MONDOO_PLATFORM_BIN:-}" ]; then
    (cd "$repo" && cargo build --quiet -p mondoo-platform)
    export MONDOO_PLATFORM_BIN="$repo/target/debug/mondoo-platform"
fi
cd "$here"
go vet ./...
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || { echo "gofmt: $unformatted"; exit 1; }
go test -count=1 ./...
