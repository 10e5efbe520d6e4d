#!/usr/bin/env bash
# bench section "go": signing a request body through the Go bindings (libmondoo) against
# the same ES384 bearer made natively with Go's crypto/ecdsa, in one `go test -bench` run.
# Prints `go.sign_libmondoo <ops/s>`, `go.sign_crypto_ecdsa <ops/s>` and their ratio; then
# `go.graphql <calls/s> <signatures/call>`: Client.GraphQL through a warm client (bearer
# cached) against the release local platform on loopback.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The Go bindings link an installed libmondoo (static, as a Go binary that ships it would).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash capi/install.sh "$work/prefix" >&2
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# Go's build cache does not key a cgo package on what pkg-config printed: a package built
# against an earlier (since removed) prefix would be reused with its -L. CGO_CFLAGS is part
# of the key, so naming the prefix there rebuilds the package for this one.
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -I$work/prefix/include"

cargo build --quiet --release -p mondoo-platform >&2
export MONDOO_PLATFORM_BIN="$root/target/release/mondoo-platform"

out="$(cd bindings/go && go test -tags mondoo_static -run '^$' -bench '^Benchmark(Sign(Libmondoo|GoECDSA)|GraphQL)$' \
  -benchtime "${GO_BENCHTIME:-3s}" -count 1 .)"
echo "$out" >&2

echo "$out" | awk '
  /^BenchmarkSignLibmondoo/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") lib = 1e9 / $i }
  /^BenchmarkSignGoECDSA/   { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") go  = 1e9 / $i }
  /^BenchmarkGraphQL/       { for (i = 1; i <= NF; i++) { if ($(i+1) == "ns/op") gql = 1e9 / $i; if ($(i+1) == "signatures/call") sig = $i } }
  END {
    if (!lib || !go || !gql) { print "go_bench: benchmark output not found" > "/dev/stderr"; exit 1 }
    printf "go.sign_libmondoo %.0f\n", lib
    printf "go.sign_crypto_ecdsa %.0f\n", go
    printf "go.sign_ratio %.2f\n", lib / go
    printf "go.graphql %.0f %.6f\n", gql, sig
  }'
