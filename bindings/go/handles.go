// SPDX-License-Identifier: Apache-2.0

package mondoo

import "sync/atomic"

// liveHandles counts the libmondoo handles this package holds: Configs, Clients and the
// per-call clients of a context deadline, made and not yet freed. It costs one atomic
// add per handle; the tests read it (export_test.go) to prove that Close and the
// finalizers free every handle.
var liveHandles atomic.Int64
