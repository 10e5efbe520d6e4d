// SPDX-License-Identifier: Apache-2.0

//go:build !mondoo_static

package mondoo

// Linking (the default): libmondoo.so found through pkg-config, as git2go finds libgit2.
// Install libmondoo first (cargo cinstall, see README.md); set PKG_CONFIG_PATH when its
// prefix is not a system one, and make the library findable at run time (ldconfig, an
// rpath, or LD_LIBRARY_PATH).

/*
#cgo pkg-config: mondoo
*/
import "C"
