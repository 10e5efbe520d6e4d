// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

func countRequests(t *testing.T, p *platform, service, method string) int {
	t.Helper()
	n := 0
	for _, r := range p.requests(t) {
		if r.Service == service && r.Method == method {
			n++
		}
	}
	return n
}

// A context deadline is libmondoo's deadline for the call: the platform answers after
// 3 s, the client's own timeout is 20 s, so only the 200 ms deadline can end the call,
// and it ends inside libmondoo (its message, not the bindings'), leaving the client usable.
func TestContextDeadlineEndsTheCallInLibmondoo(t *testing.T) {
	p := newPlatform(t)
	client, path, reg := login(t, p)
	before := readFile(t, path)
	p.admin(t, "fault", map[string]any{"kind": "slow", "millis": 3000, "only": "Echo/Say"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := client.Call(ctx, "Echo", "Say", nil, nil)
	e := checkError(t, err, mondoo.CodeTimeout, "ErrNetwork", "ErrTimeout")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("not context.DeadlineExceeded: %v", err)
	}
	if strings.Contains(e.Message, "before libmondoo was called") {
		t.Errorf("the bindings gave up instead of libmondoo ending the call: %v", err)
	}

	// Consistent afterwards: the file untouched, the same client calls on (the slow
	// fault fired once), a generous deadline does not get in the way.
	if after := readFile(t, path); after != before {
		t.Errorf("config changed by a timed-out call:\n%s\n---\n%s", before, after)
	}
	roomy, cancelRoomy := context.WithTimeout(context.Background(), time.Minute)
	defer cancelRoomy()
	var echoed map[string]any
	if err := client.Call(roomy, "Echo", "Say", map[string]int{"x": 1}, &echoed); err != nil {
		t.Fatalf("call after the timeout: %v", err)
	}
	status, err := client.Status(roomy)
	if err != nil {
		t.Fatal(err)
	}
	if !status.Authenticated || status.ClientMRN != reg.AgentMRN {
		t.Errorf("status after the timeout: %+v", status)
	}

	// A deadline already past sends nothing.
	sent := countRequests(t, p, "Echo", "Say")
	past, cancelPast := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelPast()
	err = client.Call(past, "Echo", "Say", nil, nil)
	checkError(t, err, mondoo.CodeTimeout, "ErrNetwork", "ErrTimeout")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("past deadline: not context.DeadlineExceeded: %v", err)
	}
	if n := countRequests(t, p, "Echo", "Say"); n != sent {
		t.Errorf("%d requests sent past the deadline", n-sent)
	}
}

// A cancellation returns at once with context.Canceled (not a timeout); the request
// itself runs on until it ends, which Close waits for.
func TestContextCancel(t *testing.T) {
	p := newPlatform(t)
	p.admin(t, "fault", map[string]any{"kind": "slow", "millis": 1000, "only": "Echo/Say"}, nil)
	client := clientFor(t, testdata(t, "service-account/credentials.json"), mondoo.WithAPIEndpoint(p.URL))
	ctx, cancel := context.WithCancel(context.Background())
	stop := time.AfterFunc(100*time.Millisecond, cancel)
	defer stop.Stop()
	err := client.Call(ctx, "Echo", "Say", nil, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, mondoo.ErrTimeout) {
		t.Errorf("canceled call: %v", err)
	}
	// A context canceled before the call makes none.
	if err := client.CheckIn(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
	if n := countRequests(t, p, "AgentManager", "HealthCheck"); n != 0 {
		t.Errorf("%d check-ins sent with a canceled context", n)
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
}

// Register under a deadline shorter than the retry backoff: the platform answers Aborted
// three times, so without the deadline the fourth attempt (after 3 x 5 s) would register
// and write the config. With it, the first Aborted is final and nothing is written.
func TestContextDeadlineStopsRegistrationRetries(t *testing.T) {
	slowRetries := []mondoo.Option{
		mondoo.WithRetryDelays(5*time.Second, 5*time.Second, 5*time.Second, 5*time.Second),
		mondoo.WithRetryJitter(0),
	}
	register := func(t *testing.T, p *platform, client *mondoo.Client, token string) {
		t.Helper()
		p.admin(t, "fault", map[string]any{"kind": "aborted", "times": 3, "only": "AgentManager/RegisterAgent"}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := client.Register(ctx, token)
		e := checkError(t, err, mondoo.CodeRPCAborted, "ErrRPC")
		if !strings.Contains(e.Message, "deadline") {
			t.Errorf("message does not say the deadline stopped the retries: %v", err)
		}
		if n := countRequests(t, p, "AgentManager", "RegisterAgent"); n != 1 {
			t.Errorf("%d RegisterAgent attempts, want 1", n)
		}
		configJSON, err := client.ConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(configJSON, "agent_mrn") {
			t.Errorf("the client's config has an agent after the failed registration: %s", configJSON)
		}
	}

	t.Run("new file", func(t *testing.T) {
		p := newPlatform(t)
		path := freshConfigPath(t)
		client := registrationClient(t, path, append(slowRetries, mondoo.WithAPIEndpoint(p.URL))...)
		register(t, p, client, p.token(t, map[string]any{}))
		if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the failed registration created %s: %v", filepath.Dir(path), err)
		}
	})

	t.Run("existing file", func(t *testing.T) {
		p := newPlatform(t)
		path, _ := serviceAccountFile(t, p)
		before := readFile(t, path)
		client := clientFor(t, path, slowRetries...)
		register(t, p, client, "")
		if after := readFile(t, path); after != before {
			t.Errorf("the failed registration rewrote the config:\n%s\n---\n%s", before, after)
		}
	})
}
