#!/usr/bin/env bash
# libmondoo as a C user gets it: `cargo cinstall` into a prefix in a temporary folder (or
# $MONDOO_PREFIX when tests/run-all installed one), then
#  - the install layout: header, libmondoo.so.X with its SONAME and symlinks, libmondoo.a,
#    mondoo.pc, the CMake package, the Valgrind suppression file; no debug info;
#  - the C tests against it: plain, under AddressSanitizer+UBSan, and under Valgrind;
#  - examples/c/sign.c built with pkg-config (shared and --static) and examples/cmake with
#    find_package(mondoo CONFIG) (mondoo::mondoo and mondoo::mondoo_static), each run and
#    its bearer checked, the shared ones under Valgrind with only the shipped suppressions.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
testdata=$root/testdata

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=${MONDOO_PREFIX:-}
if [ -z "$prefix" ]; then
  prefix=$work/prefix
  bash "$root/capi/install.sh" "$prefix"
fi

echo "== install layout of $prefix"
fail() { echo "install layout: $*" >&2; exit 1; }
for f in include/mondoo.h lib/libmondoo.a lib/libmondoo.so lib/pkgconfig/mondoo.pc \
  share/mondoo/cmake/mondooConfig.cmake share/mondoo/cmake/mondooConfigVersion.cmake share/mondoo/mondoo.supp; do
  [ -e "$prefix/$f" ] || fail "missing $f"
done
soname=$(readelf -d "$prefix/lib/libmondoo.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
[[ "$soname" =~ ^libmondoo\.so\.[0-9] ]] || fail "libmondoo.so has no versioned SONAME (got '$soname')"
[ -e "$prefix/lib/$soname" ] || fail "the SONAME $soname is not installed"
[ -L "$prefix/lib/libmondoo.so" ] || fail "lib/libmondoo.so is not the development symlink"
echo "SONAME $soname"
for lib in libmondoo.so libmondoo.a; do
  if readelf -S "$prefix/lib/$lib" 2>/dev/null | grep -q '\.debug_info'; then fail "$lib carries debug info"; fi
done
echo "sizes: libmondoo.so $(du -kL "$prefix/lib/libmondoo.so" | cut -f1) KiB, libmondoo.a $(du -k "$prefix/lib/libmondoo.a" | cut -f1) KiB"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --static --libs mondoo | grep -q -- '-lpthread' || fail "mondoo.pc has no Libs.private for static links"
# Only C symbols: no Rust API or Python entry point leaks out of the shared library.
exports=$(nm -D --defined-only "$prefix/lib/libmondoo.so" | awk '$2 == "T" {print $3}')
if grep -v '^mondoo_' <<<"$exports" | grep -q .; then fail "libmondoo.so exports non-mondoo_ functions: $(grep -v '^mondoo_' <<<"$exports" | head -3 | tr '\n' ' ')"; fi
echo "$(wc -l <<<"$exports") exported functions, all mondoo_*"

echo "== C tests (make test, asan, valgrind)"
make -C "$here" PREFIX="$prefix" test asan valgrind

# check_bearer PROGRAM...: the program signs a body with NUL bytes and prints one bearer.
check_bearer() {
  local out
  out=$(printf 'body\0with NUL' | "$@" "$testdata/service-account/credentials.json")
  [[ "$out" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || { echo "$*: not a bearer: $out" >&2; return 1; }
}
supp=(valgrind -q --error-exitcode=99 --leak-check=full "--suppressions=$prefix/share/mondoo/mondoo.supp")

echo "== examples/c/sign.c with pkg-config"
cc -Wall -Wextra -Werror $(pkg-config --cflags mondoo) -o "$work/sign" "$root/examples/c/sign.c" \
  $(pkg-config --libs mondoo) -Wl,-rpath,"$prefix/lib"
cc -Wall -Wextra -Werror $(pkg-config --cflags mondoo) -o "$work/sign-static" "$root/examples/c/sign.c" \
  "$prefix/lib/libmondoo.a" $(pkg-config --static --libs-only-other --libs-only-l mondoo | sed 's/-lmondoo//')
readelf -d "$work/sign" | grep -q "NEEDED.*\[$soname\]" || fail "sign does not load $soname"
if readelf -d "$work/sign-static" | grep -q 'NEEDED.*libmondoo'; then fail "sign-static needs libmondoo.so"; fi
check_bearer "$work/sign"
check_bearer "$work/sign-static"
check_bearer "${supp[@]}" "$work/sign"

echo "== examples/cmake with find_package(mondoo CONFIG)"
cmake -S "$root/examples/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_RPATH="$prefix/lib" >/dev/null
cmake --build "$work/cmake" >/dev/null
check_bearer "$work/cmake/mondoo-sign"
check_bearer "$work/cmake/mondoo-sign-static"
check_bearer "${supp[@]}" "$work/cmake/mondoo-sign"
echo "C: ok"
