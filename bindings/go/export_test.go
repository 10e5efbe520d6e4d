// SPDX-License-Identifier: Apache-2.0

package mondoo

// LiveHandles is the number of libmondoo handles made by the package and not yet freed
// (a test hook; see liveHandles).
func LiveHandles() int64 { return liveHandles.Load() }
