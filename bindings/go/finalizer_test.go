// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// settledHandles collects garbage until the count of live libmondoo handles stops
// changing (finalizers of earlier tests' garbage have run) and returns it.
func settledHandles() int64 {
	last := int64(-1)
	for i := 0; i < 50; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		n := mondoo.LiveHandles()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

// waitHandles collects garbage until at most want handles are live, for at most a
// minute (a bound, not a timing assertion), and returns the count.
func waitHandles(want int64) int64 {
	deadline := time.Now().Add(time.Minute)
	for {
		runtime.GC()
		n := mondoo.LiveHandles()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close frees a handle once; a Config or Client dropped without Close is freed by its
// finalizer.
func TestFinalizersFreeUnclosedHandles(t *testing.T) {
	path := testdata(t, "service-account/credentials.json")
	baseline := settledHandles()

	// Close: one handle each, freed at once, and only once.
	cfg, client := configAndClient(t, path)
	if n := mondoo.LiveHandles(); n != baseline+2 {
		t.Fatalf("%d live handles after a Config and a Client, want %d", n, baseline+2)
	}
	for i := 0; i < 2; i++ {
		cfg.Close()
		client.Close()
	}
	if n := mondoo.LiveHandles(); n != baseline {
		t.Fatalf("%d live handles after Close (twice), want %d", n, baseline)
	}

	// Dropped without Close: only the finalizers can free them.
	const n = 25
	func() {
		var keep []any
		for i := 0; i < n; i++ {
			cfg, client := configAndClient(t, path)
			if _, err := client.Sign([]byte("{}")); err != nil { // used, then dropped
				t.Fatal(err)
			}
			keep = append(keep, cfg, client)
		}
		runtime.GC()
		if live := mondoo.LiveHandles(); live != baseline+2*n {
			t.Fatalf("%d live handles while %d Configs and Clients are referenced, want %d", live, n, baseline+2*n)
		}
		runtime.KeepAlive(keep)
	}()
	if live := waitHandles(baseline); live != baseline {
		t.Fatalf("%d live handles after dropping %d Configs and Clients unclosed, want %d: finalizers did not free them",
			live, n, baseline)
	}
}

// A call under a context deadline runs on a per-call handle, freed when the call ends.
func TestDeadlineCallFreesItsHandle(t *testing.T) {
	client := fixtureClient(t, mondoo.WithAPIEndpoint(sharedPlatform(t).URL))
	before := settledHandles()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 3; i++ {
		if err := client.Call(ctx, "Echo", "Say", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if after := mondoo.LiveHandles(); after != before {
		t.Errorf("%d live handles after calls under a deadline, want %d", after, before)
	}
}

// configAndClient loads the config at path and makes a client of it: two handles.
func configAndClient(t *testing.T, path string) (*mondoo.Config, *mondoo.Client) {
	t.Helper()
	cfg, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := mondoo.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, client
}
