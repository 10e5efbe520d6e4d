// SPDX-License-Identifier: Apache-2.0

//go:build mondoo_static

package mondoo

// Static linking (go build -tags mondoo_static): the Go binary carries libmondoo and needs
// no libmondoo.so at run time. pkg-config --static adds what the archive needs from the
// system (Libs.private); `-l:libmondoo.a` (GNU ld and lld) picks the archive over the
// shared library installed beside it, and --as-needed then drops the unused -lmondoo.

/*
#cgo pkg-config: --static mondoo
#cgo LDFLAGS: -Wl,--as-needed -l:libmondoo.a
*/
import "C"
