// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// newTLSPlatform is a platform of the test's own serving HTTPS with a test CA, and the
// file that CA is written to (--ca-out). Its admin endpoints are HTTPS too: the
// platform's admin helper cannot reach them.
func newTLSPlatform(t *testing.T) (*platform, string) {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "platform-ca.pem")
	p := newPlatform(t, "--tls", "--ca-out", ca)
	if !strings.HasPrefix(p.URL, "https://127.0.0.1:") {
		t.Fatalf("platform --tls serves %s, want https://127.0.0.1:PORT", p.URL)
	}
	readFile(t, ca) // written before the URL was printed
	return p, ca
}

// WithCAFile: the platform's CA makes its certificate trusted; without it (the system
// roots alone) or with another CA the handshake fails with CodeTLS, a network error.
func TestCAFileTrustsTheTLSPlatform(t *testing.T) {
	p, ca := newTLSPlatform(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	trusted := fixtureClient(t, mondoo.WithAPIEndpoint(p.URL), mondoo.WithCAFile(ca))
	var echoed map[string]any
	if err := trusted.Call(ctx, "Echo", "Say", map[string]string{"over": "tls"}, &echoed); err != nil {
		t.Fatalf("signed call with the platform's CA: %v", err)
	}
	if echoed["over"] != "tls" || echoed["signed_by"] != fixtureCredentials(t).MRN {
		t.Errorf("echo over TLS: %v", echoed)
	}
	status, err := trusted.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status.APIStatus != "SERVING" || !status.Authenticated || status.APIEndpoint != p.URL {
		t.Errorf("status over TLS with the CA: %+v\n%s", status, status)
	}

	for name, opts := range map[string][]mondoo.Option{
		"no CA file": nil,
		// A valid PEM certificate, but not the one that issued the platform's.
		"another CA": {mondoo.WithCAFile(testdata(t, "platform/platform-cert.pem"))},
	} {
		t.Run(name, func(t *testing.T) {
			client := fixtureClient(t, append(opts, mondoo.WithAPIEndpoint(p.URL))...)
			err := client.Call(ctx, "Echo", "Say", nil, nil)
			e := checkError(t, err, mondoo.CodeTLS, "ErrNetwork")
			if !strings.Contains(e.Message, p.URL) {
				t.Errorf("message does not name the URL: %v", err)
			}
			status, err := client.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if status.Authenticated || status.APIError == nil || status.APIError.Code != mondoo.CodeTLS {
				t.Errorf("status without trust in the platform's CA: %+v\n%s", status, status)
			}
		})
	}

	t.Run("missing CA file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.pem")
		cfg, err := mondoo.LoadConfig(testdata(t, "service-account/credentials.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		client, err := mondoo.NewClient(cfg, mondoo.WithAPIEndpoint(p.URL), mondoo.WithCAFile(missing))
		if err == nil {
			client.Close()
			t.Fatal("NewClient accepted a CA file that does not exist")
		}
		e := checkError(t, err, mondoo.CodeTLS, "ErrNetwork")
		if e.Path != missing {
			t.Errorf("error path %q, want %q", e.Path, missing)
		}
	})
}

// WithConnectTimeout bounds the TLS handshake. The server below is a listening socket
// that never accepts: the kernel completes the TCP handshake, and the TLS handshake then
// waits forever. The context deadline (8 s) is before libmondoo's default connect
// timeout (10 s) and the request timeout (10 min), so only the 250 ms connect timeout can
// end the call without the error being the context's deadline.
func TestConnectTimeoutIsApplied(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	url := "https://" + ln.Addr().String()
	client := fixtureClient(t, mondoo.WithAPIEndpoint(url),
		mondoo.WithTimeout(10*time.Minute), mondoo.WithConnectTimeout(250*time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	err = client.Call(ctx, "Echo", "Say", nil, nil)
	checkError(t, err, mondoo.CodeTimeout, "ErrNetwork", "ErrTimeout")
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the context's deadline ended the call, not the connect timeout: %v", err)
	}
	if ctx.Err() != nil {
		t.Errorf("the call returned only after the context's deadline: %v", err)
	}
}

// WithRequireTLS: an http:// endpoint that is not loopback is refused before any
// request (an unresolvable host would otherwise fail with CodeDNS), naming the URL;
// without it, Status warns that credentials go in clear text; loopback stays allowed.
func TestRequireTLSRefusesRemoteHTTPAndAllowsLoopback(t *testing.T) {
	const remote = "http://api.mondoo.invalid:8080"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	strict := fixtureClient(t, mondoo.WithAPIEndpoint(remote), mondoo.WithRequireTLS(true))
	err := strict.Call(ctx, "Echo", "Say", map[string]string{}, nil)
	var merr *mondoo.Error
	if !errors.As(err, &merr) || merr.Code != mondoo.CodeInsecureEndpoint {
		t.Fatalf("call to %s with WithRequireTLS: %v, want CodeInsecureEndpoint", remote, err)
	}
	if !strings.Contains(merr.Message, remote+"/Echo/Say") {
		t.Errorf("the refusal does not name the URL: %q", merr.Message)
	}
	if !errors.Is(err, mondoo.ErrNetwork) {
		t.Errorf("CodeInsecureEndpoint is not a network error: %v", err)
	}

	lax := fixtureClient(t, mondoo.WithAPIEndpoint(remote), mondoo.WithConnectTimeout(5*time.Second))
	status, err := lax.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, w := range status.Warnings {
		warned = warned || strings.Contains(w, "sends credentials in clear text")
	}
	if !warned {
		t.Errorf("no clear-text warning for %s: %q", remote, status.Warnings)
	}

	loopback := fixtureClient(t, mondoo.WithAPIEndpoint(sharedPlatform(t).URL), mondoo.WithRequireTLS(true))
	var echoed map[string]any
	if err := loopback.Call(ctx, "Echo", "Say", map[string]string{"over": "loopback"}, &echoed); err != nil {
		t.Fatalf("loopback http with WithRequireTLS: %v", err)
	}
	if echoed["over"] != "loopback" {
		t.Errorf("echo: %v", echoed)
	}
}
