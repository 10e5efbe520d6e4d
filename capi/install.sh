#!/usr/bin/env bash
# Install libmondoo for C users into PREFIX: `cargo cinstall` (cargo-c, release build),
# then strip the debug info that the Rust standard library's precompiled objects bring
# into the static archive (the shared library is already built without any:
# profile.release strip = "debuginfo"). The tests install with this script.
#   bash capi/install.sh PREFIX [cargo cinstall options, e.g. --destdir DIR]
set -euo pipefail
prefix=${1:?usage: capi/install.sh PREFIX [cargo cinstall options]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo cinstall --locked -p mondoo-capi --release --prefix "$prefix" --libdir "$prefix/lib" "$@"
destdir=""
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--destdir" ]; then j=$((i + 1)); destdir=${!j}; fi
done
strip --strip-debug "$destdir$prefix/lib/libmondoo.a"
