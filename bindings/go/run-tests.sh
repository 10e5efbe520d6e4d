#!/usr/bin/env bash
# Go bindings against an INSTALLED libmondoo found through pkg-config (as a Go user has
# it): $MONDOO_PREFIX when tests/run-all installed one, else `cargo cinstall` into a
# temporary folder. Then vet, gofmt, go test (shared library; -race and -asan), go test
# -tags mondoo_static, what the example links in each mode, and a module outside this
# repository that requires the package (replace, and vendored) and builds and tests with
# nothing but pkg-config. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=${MONDOO_PREFIX:-}
if [ -z "$prefix" ]; then
  prefix=$work/prefix
  bash capi/install.sh "$prefix"
fi
cargo build --quiet -p mondoo-platform

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# Go's build cache does not key a cgo package on what pkg-config printed: a package built
# against an earlier (since removed) prefix would be reused with its -L. CGO_CFLAGS is part
# of the key, so naming the prefix there rebuilds the package for this one.
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -I$prefix/include"
# The shared library at run time (a system prefix would need nothing: ldconfig finds it).
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GODEBUG=cgocheck=1
export MONDOO_PLATFORM_BIN="${MONDOO_PLATFORM_BIN:-$root/target/debug/mondoo-platform}"
# The module outside the repository reads the fixture credentials from here.
export MONDOO_TESTDATA="$root/testdata"

status=0
for dir in bindings/go examples/go/status; do
  echo "== go vet $dir"
  (cd "$dir" && go vet ./... && go vet -tags mondoo_static ./...) || status=1
  unformatted="$(cd "$dir" && gofmt -l .)"
  if [ -n "$unformatted" ]; then
    echo "gofmt -l $dir: not formatted:"
    echo "$unformatted"
    status=1
  fi
done

echo "== go test -race (libmondoo.so)"
(cd bindings/go && go test -race -count=1 ./...) || status=1

echo "== go test -asan (every C string and handle freed: LeakSanitizer at exit)"
(cd bindings/go && go test -asan -count=1 ./...) || status=1

echo "== go test -tags mondoo_static (libmondoo.a)"
(cd bindings/go && go test -tags mondoo_static -count=1 ./...) || status=1

echo "== go build examples/go/status (default and -tags mondoo_static), check what each links"
# needed BINARY: the shared libraries BINARY names directly (ELF NEEDED entries).
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }
soname=$(readelf -d "$prefix/lib/libmondoo.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
if (cd examples/go/status && go build -o "$work/status-dynamic" . &&
  go build -tags mondoo_static -o "$work/status-static" .); then
  static_needed="$(needed "$work/status-static")" || static_needed=""
  dynamic_needed="$(needed "$work/status-dynamic")" || dynamic_needed=""
  # The static binary still links libc dynamically: an empty list means readelf failed.
  if ! grep -q '^libc\.so' <<<"$static_needed"; then
    echo "readelf -d status-static: no NEEDED entries read (got: $static_needed)"
    status=1
  elif grep -q 'libmondoo' <<<"$static_needed"; then
    echo "the mondoo_static build of examples/go/status needs libmondoo.so: $static_needed"
    status=1
  fi
  if ! grep -qx "$soname" <<<"$dynamic_needed"; then
    echo "the default build of examples/go/status does not load $soname (NEEDED: $dynamic_needed)"
    status=1
  fi
else
  status=1
fi

echo "== a module outside this repository: go build + go test through pkg-config only"
ext=$work/outside
mkdir -p "$ext"
cat >"$ext/go.mod" <<MOD
module example.com/outside

go 1.23

require github.com/mondoo-community/libmondoo/bindings/go v0.0.0

replace github.com/mondoo-community/libmondoo/bindings/go => $root/bindings/go
MOD
cat >"$ext/main.go" <<'GO'
package main

import (
	"fmt"
	"os"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

func main() {
	cfg, err := mondoo.LoadConfig(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cfg.Close()
	client, err := mondoo.NewClient(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer client.Close()
	bearer, err := client.Sign([]byte("body"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(bearer)
}
GO
cat >"$ext/main_test.go" <<'GO'
package main

import (
	"os"
	"strings"
	"testing"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

func TestVersionAndSigning(t *testing.T) {
	if mondoo.Version() == "" {
		t.Fatal("empty libmondoo version")
	}
	cfg, err := mondoo.LoadConfig(os.Getenv("MONDOO_TESTDATA") + "/service-account/credentials.json")
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	client, err := mondoo.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	bearer, err := client.Sign([]byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(bearer, ".") != 2 {
		t.Fatalf("not a JWT: %q", bearer)
	}
}
GO
if (cd "$ext" && go build -o "$work/outside-bin" . && go test -count=1 ./... &&
  go test -tags mondoo_static -count=1 ./... &&
  "$work/outside-bin" "$MONDOO_TESTDATA/service-account/credentials.json" | grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' &&
  go mod vendor && go build -mod=vendor -o "$work/outside-vendored" . &&
  "$work/outside-vendored" "$MONDOO_TESTDATA/service-account/credentials.json" >/dev/null); then
  echo "outside module: ok (replace and vendor, shared and static)"
else
  echo "the module outside the repository did not build, test or run"
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "Go bindings: FAILED"
fi
exit "$status"
