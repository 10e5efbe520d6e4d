//go:build !mondoo_dynamic

package mondoo

// Static linking (the default): the Go binary carries libmondoo and needs nothing at
// run time. Build the archive first: cargo build --release -p mondoo.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libmondoo.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
*/
import "C"
