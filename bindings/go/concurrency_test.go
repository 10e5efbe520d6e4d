// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// One Client shared by many goroutines: signing, signed calls and status at once.
func TestOneClientManyGoroutines(t *testing.T) {
	client, _, _ := login(t, sharedPlatform(t))
	creds := fixtureCredentials(t)
	signer := fixtureClient(t)
	const workers, rounds = 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	type signed struct {
		body   []byte
		bearer string
	}
	bearers := make(chan signed, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				body := []byte(fmt.Sprintf(`{"worker":%d,"round":%d}`, w, i))
				bearer, err := signer.Sign(body)
				if err != nil {
					errs <- err
					continue
				}
				bearers <- signed{body, bearer}
				var out map[string]any
				if err := client.Call(context.Background(), "Echo", "Say", map[string]int{"w": w, "i": i}, &out); err != nil {
					errs <- err
				}
				if i%4 == 0 {
					if s, err := client.Status(context.Background()); err != nil {
						errs <- err
					} else if !s.Authenticated {
						errs <- fmt.Errorf("not authenticated:\n%s", s)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	close(bearers)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	for b := range bearers {
		verifyBearer(t, creds, b.bearer, b.body)
		n++
	}
	if n != workers*rounds {
		t.Errorf("%d bearers, want %d", n, workers*rounds)
	}
}

// Garbage collection while calls are in flight: bodies lent to C, clients and configs
// dropped without Close (their finalizers free them) and a shared client in use.
func TestGCWhileCallsInFlight(t *testing.T) {
	url := sharedPlatform(t).URL
	client := fixtureClient(t, mondoo.WithAPIEndpoint(url))
	path := testdata(t, "service-account/credentials.json")
	var done atomic.Bool
	gcDone := make(chan int)
	go func() {
		n := 0
		for !done.Load() {
			runtime.GC()
			n++
		}
		gcDone <- n
	}()
	var wg sync.WaitGroup
	var failures atomic.Int32
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				body := make([]byte, 64<<10) // fresh garbage each time
				body[i] = byte(i)
				if _, err := client.Sign(body); err != nil {
					failures.Add(1)
				}
				if err := client.Call(context.Background(), "Echo", "Say", nil, nil); err != nil {
					failures.Add(1)
				}
				// Left for the finalizers.
				cfg, err := mondoo.LoadConfig(path)
				if err != nil {
					failures.Add(1)
					continue
				}
				c, err := mondoo.NewClient(cfg, mondoo.WithAPIEndpoint(url))
				if err != nil {
					failures.Add(1)
					continue
				}
				if _, err := c.Sign(body); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	if n := <-gcDone; n == 0 {
		t.Error("no garbage collection ran during the calls")
	}
	// Run the finalizers of everything dropped above.
	runtime.GC()
	runtime.GC()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d calls failed under GC", n)
	}
}
