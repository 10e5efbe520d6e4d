//go:build mondoo_dynamic

package mondoo

// Dynamic linking (go build -tags mondoo_dynamic): links libmondoo.so from the Rust
// release build; the rpath finds it there, LD_LIBRARY_PATH elsewhere.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lmondoo
*/
import "C"
