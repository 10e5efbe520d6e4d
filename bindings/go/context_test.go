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
	if !status.Authenticated || status.AgentMRN != reg.AgentMRN {
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

// A cancellation stops the call inside libmondoo: it returns promptly with
// context.Canceled and ErrCanceled (not a timeout), and Close does not wait for the slow
// answer.
func TestContextCancel(t *testing.T) {
	p := newPlatform(t)
	p.admin(t, "fault", map[string]any{"kind": "slow", "millis": 3000, "only": "Echo/Say"}, nil)
	client := clientFor(t, testdata(t, "service-account/credentials.json"), mondoo.WithAPIEndpoint(p.URL))
	ctx, cancel := context.WithCancel(context.Background())
	stop := time.AfterFunc(100*time.Millisecond, cancel)
	defer stop.Stop()
	err := client.Call(ctx, "Echo", "Say", nil, nil)
	checkError(t, err, mondoo.CodeCanceled, "ErrNetwork", "ErrCanceled")
	if !errors.Is(err, context.Canceled) || errors.Is(err, mondoo.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("canceled call: %v", err)
	}
	// A context canceled before the call makes none.
	err = client.CheckIn(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, mondoo.ErrCanceled) {
		t.Errorf("canceled context: %v", err)
	}
	if n := countRequests(t, p, "AgentManager", "HealthCheck"); n != 0 {
		t.Errorf("%d check-ins sent with a canceled context", n)
	}
	closing := time.Now()
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	// bounded, generously: the slow answer is 3 s away
	if took := time.Since(closing); took > time.Second {
		t.Errorf("Close took %v after a canceled call", took)
	}
}

// cancelDuring runs call under a context canceled 200 ms in, while the platform delays
// the answer of method by slow; it returns call's error and how long after the cancel
// the call returned.
func cancelDuring(t *testing.T, p *platform, method string, slow time.Duration, call func(ctx context.Context) error) (error, time.Duration) {
	t.Helper()
	p.admin(t, "fault", map[string]any{"kind": "slow", "millis": slow.Milliseconds(), "only": method}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	timer := time.AfterFunc(200*time.Millisecond, func() {
		cancelledAt = time.Now()
		cancel()
	})
	defer timer.Stop()
	err := call(ctx)
	returned := time.Now()
	<-ctx.Done()
	return err, returned.Sub(cancelledAt)
}

// checkCanceledPromptly checks a call that cancelDuring canceled.
func checkCanceledPromptly(t *testing.T, err error, afterCancel time.Duration) {
	t.Helper()
	t.Logf("returned %v after the cancel", afterCancel)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, mondoo.ErrCanceled) {
		t.Errorf("not context.Canceled and ErrCanceled: %v", err)
	}
	if afterCancel > time.Second {
		t.Errorf("returned %v after the cancel (bound 1 s)", afterCancel)
	}
}

// A Register canceled while RegisterAgent is slow returns promptly and never writes the
// config, not even once the platform's answer was due.
func TestContextCancelStopsASlowRegister(t *testing.T) {
	p := newPlatform(t)
	path, _ := serviceAccountFile(t, p)
	before := readFile(t, path)
	client := clientFor(t, path, mondoo.WithAPIEndpoint(p.URL))
	const slow = 2 * time.Second
	err, afterCancel := cancelDuring(t, p, "AgentManager/RegisterAgent", slow, func(ctx context.Context) error {
		_, err := client.Register(ctx, "")
		return err
	})
	checkCanceledPromptly(t, err, afterCancel)
	if after := readFile(t, path); after != before {
		t.Errorf("config changed by a canceled Register:\n%s\n---\n%s", before, after)
	}
	time.Sleep(slow + 500*time.Millisecond)
	if after := readFile(t, path); after != before {
		t.Errorf("config changed after the canceled Register returned:\n%s\n---\n%s", before, after)
	}
	configJSON, err := client.ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(configJSON, "agent_mrn") {
		t.Errorf("the client's config has an agent after the canceled Register: %s", configJSON)
	}
}

// A Logout canceled while UnRegisterAgent is slow leaves the config as it was.
func TestContextCancelStopsASlowLogout(t *testing.T) {
	p := newPlatform(t)
	client, path, reg := login(t, p)
	before := readFile(t, path)
	const slow = 2 * time.Second
	err, afterCancel := cancelDuring(t, p, "AgentManager/UnRegisterAgent", slow, func(ctx context.Context) error {
		return client.Logout(ctx)
	})
	checkCanceledPromptly(t, err, afterCancel)
	time.Sleep(slow + 500*time.Millisecond)
	if after := readFile(t, path); after != before {
		t.Errorf("config changed by a canceled Logout:\n%s\n---\n%s", before, after)
	}
	cfg, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if cfg.AgentMRN != reg.AgentMRN {
		t.Errorf("agent after the canceled Logout: %q, want %q", cfg.AgentMRN, reg.AgentMRN)
	}
}

// Status whose deadline passes while the platform is slow is an error (the report would
// only show cut-short requests), matching context.DeadlineExceeded and ErrTimeout.
func TestStatusDeadline(t *testing.T) {
	p := newPlatform(t)
	client, _, _ := login(t, p)
	p.admin(t, "fault", []map[string]any{
		{"kind": "slow", "millis": 3000, "only": "Health/Check"},
		{"kind": "slow", "millis": 3000, "only": "AgentManager/PingPong"},
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	started := time.Now()
	status, err := client.Status(ctx)
	t.Logf("Status returned after %v", time.Since(started))
	if status != nil || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, mondoo.ErrTimeout) {
		t.Errorf("Status past its deadline: %+v, %v", status, err)
	}
}

// The package takes each call's error object from the call itself: no OS thread is
// locked anywhere (the needle is split so this file does not match itself).
func TestNoOSThreadLocking(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
	}
	needle := "Lock" + "OSThread"
	for _, f := range files {
		if strings.Contains(readFile(t, f), needle) {
			t.Errorf("%s calls runtime.%s", f, needle)
		}
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
