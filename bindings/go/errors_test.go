// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// sentinels are every sentinel error; each case below names the ones its error must match.
var sentinels = map[string]error{
	"ErrInternal":         mondoo.ErrInternal,
	"ErrConfig":           mondoo.ErrConfig,
	"ErrNotRegistered":    mondoo.ErrNotRegistered,
	"ErrToken":            mondoo.ErrToken,
	"ErrTokenExpired":     mondoo.ErrTokenExpired,
	"ErrKey":              mondoo.ErrKey,
	"ErrNetwork":          mondoo.ErrNetwork,
	"ErrTimeout":          mondoo.ErrTimeout,
	"ErrRPC":              mondoo.ErrRPC,
	"ErrUnauthenticated":  mondoo.ErrUnauthenticated,
	"ErrPermissionDenied": mondoo.ErrPermissionDenied,
	"ErrClosed":           mondoo.ErrClosed,
}

// checkError asserts err is an *Error with code, matching exactly the sentinels in want.
func checkError(t *testing.T, err error, code mondoo.Code, want ...string) *mondoo.Error {
	t.Helper()
	var e *mondoo.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *mondoo.Error %v, got %T %v", code, err, err)
	}
	if e.Code != code {
		t.Errorf("code %v, want %v (%v)", e.Code, code, err)
	}
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	for name, sentinel := range sentinels {
		if got := errors.Is(err, sentinel); got != wanted[name] {
			t.Errorf("errors.Is(%v, %s) = %v, want %v", err, name, got, wanted[name])
		}
	}
	if !errors.Is(err, &mondoo.Error{Code: code}) {
		t.Errorf("errors.Is by code %v failed", code)
	}
	return e
}

func TestErrorInternal(t *testing.T) {
	path := testdata(t, "service-account/credentials.json")
	cfg, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	_, _, err = cfg.Get("private_key")
	e := checkError(t, err, mondoo.CodeInvalidArgument, "ErrInternal")
	if !strings.Contains(e.Error(), "private key") || strings.Contains(e.Error(), "BEGIN") {
		t.Errorf("message: %v", e)
	}
	_, err = mondoo.InspectToken("a\x00b")
	checkError(t, err, mondoo.CodeInvalidArgument, "ErrInternal")
	if _, err := mondoo.NewClient(cfg, mondoo.WithTimeout(0)); err == nil {
		t.Error("a zero timeout was accepted")
	} else {
		checkError(t, err, mondoo.CodeInvalidArgument, "ErrInternal")
	}
}

func TestErrorConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yml")
	_, err := mondoo.LoadConfig(missing)
	e := checkError(t, err, mondoo.CodeConfigNotFound, "ErrConfig")
	if e.Path != missing || !strings.Contains(e.Message, missing) {
		t.Errorf("error does not name the file: %+v", e)
	}

	broken := filepath.Join(t.TempDir(), "broken.yml")
	if err := os.WriteFile(broken, []byte("mrn: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = mondoo.LoadConfig(broken)
	if e := checkError(t, err, mondoo.CodeConfigParse, "ErrConfig"); e.Path != broken {
		t.Errorf("path %q, want %q", e.Path, broken)
	}
}

func TestErrorNotRegistered(t *testing.T) {
	path := freshConfigPath(t)
	client := registrationClient(t, path, mondoo.WithAPIEndpoint(sharedPlatform(t).URL))
	checkError(t, client.CheckIn(context.Background()), mondoo.CodeNotRegistered, "ErrNotRegistered")
	_, err := client.Sign([]byte("{}"))
	checkError(t, err, mondoo.CodeNotRegistered, "ErrNotRegistered")
	// The error names the config in Path, not only in its message.
	e := checkError(t, client.Call(context.Background(), "Echo", "Say", nil, nil), mondoo.CodeNotRegistered, "ErrNotRegistered")
	if e.Path != path || !strings.Contains(e.Message, path) || e.ClockSkew != 0 {
		t.Errorf("path %q (want %q), skew %v: %v", e.Path, path, e.ClockSkew, e)
	}
	// Neither a token nor a service account to register with.
	_, err = client.Register(context.Background(), "")
	checkError(t, err, mondoo.CodeNotRegistered, "ErrNotRegistered")
}

func TestErrorToken(t *testing.T) {
	read := func(name string) string { return readFile(t, testdata(t, "tokens/"+name)) }

	claims, err := mondoo.InspectToken(read("registration-valid.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	if claims.SpaceMRN == "" || claims.Endpoint == "" || claims.ExpiresAt().Year() != 2100 || claims.Algorithm != "ES384" {
		t.Errorf("claims: %+v", claims)
	}

	_, err = mondoo.InspectToken(read("not-a-jwt.txt"))
	checkError(t, err, mondoo.CodeTokenMalformed, "ErrToken")
	_, err = mondoo.InspectToken(read("registration-nospace.jwt"))
	checkError(t, err, mondoo.CodeTokenNoSpace, "ErrToken")
	expired := read("registration-expired.jwt")
	_, err = mondoo.InspectToken(expired)
	e := checkError(t, err, mondoo.CodeTokenExpired, "ErrToken", "ErrTokenExpired")
	if !strings.Contains(e.Message, "2024-01-02") || strings.Contains(e.Error(), strings.TrimSpace(expired)) {
		t.Errorf("message: %v", e)
	}

	// Registration refuses an expired token before any request and writes nothing.
	p := newPlatform(t)
	path := freshConfigPath(t)
	client := registrationClient(t, path, mondoo.WithAPIEndpoint(p.URL))
	_, err = client.Register(context.Background(), p.token(t, map[string]any{"ttl_seconds": -3600}))
	checkError(t, err, mondoo.CodeTokenExpired, "ErrToken", "ErrTokenExpired")
	if n := len(p.requests(t)); n != 0 {
		t.Errorf("%d requests made with an expired token", n)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config written: %v", err)
	}
}

func TestErrorKey(t *testing.T) {
	cfg, err := mondoo.LoadConfig(testdata(t, "service-account/credentials-p256.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	_, err = mondoo.NewClient(cfg)
	e := checkError(t, err, mondoo.CodeKeyWrongCurve, "ErrKey")
	if strings.Contains(e.Message, "PRIVATE KEY") {
		t.Errorf("key material in the message: %v", e)
	}
}

func TestErrorNetwork(t *testing.T) {
	// A port nobody listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	client := clientFor(t, testdata(t, "service-account/credentials.json"), mondoo.WithAPIEndpoint(closed))
	checkError(t, client.Call(context.Background(), "Echo", "Say", nil, nil), mondoo.CodeNetwork, "ErrNetwork")

	// The client's timeout: a platform answering after it.
	p := newPlatform(t)
	p.admin(t, "fault", map[string]any{"kind": "slow", "millis": 3000, "only": "Echo/Say"}, nil)
	client = clientFor(t, testdata(t, "service-account/credentials.json"), mondoo.WithAPIEndpoint(p.URL), mondoo.WithTimeout(300*time.Millisecond))
	checkError(t, client.Call(context.Background(), "Echo", "Say", nil, nil), mondoo.CodeTimeout, "ErrNetwork", "ErrTimeout")

	// The timeout bounds the whole call: headers at once, then a byte every 500 ms for 30 s.
	p.admin(t, "fault", map[string]any{"kind": "slow_drip", "bytes": 60, "interval_millis": 500, "only": "Echo/Say"}, nil)
	client = clientFor(t, testdata(t, "service-account/credentials.json"), mondoo.WithAPIEndpoint(p.URL), mondoo.WithTimeout(time.Second))
	started := time.Now()
	checkError(t, client.Call(context.Background(), "Echo", "Say", nil, nil), mondoo.CodeTimeout, "ErrNetwork", "ErrTimeout")
	elapsed := time.Since(started)
	t.Logf("slow-drip answer with a 1 s timeout: timed out after %v", elapsed.Round(time.Millisecond))
	if elapsed > 10*time.Second {
		t.Errorf("the timeout did not bound the whole call: %v", elapsed)
	}
}

func TestErrorRPC(t *testing.T) {
	p := newPlatform(t)
	client := clientFor(t, testdata(t, "service-account/credentials.json"), mondoo.WithAPIEndpoint(p.URL))
	p.admin(t, "fault", map[string]any{"kind": "status", "http_status": 403, "code": 7, "message": "not in this space"}, nil)
	e := checkError(t, client.Call(context.Background(), "Echo", "Say", nil, nil), mondoo.CodeRPCPermissionDenied, "ErrRPC", "ErrPermissionDenied")
	if e.RPCCode != 7 || e.HTTPStatus != 403 || !strings.Contains(e.Message, "not in this space") {
		t.Errorf("%+v", e)
	}
	p.admin(t, "fault", map[string]any{"kind": "status", "http_status": 401, "code": 16, "message": "request permission unauthenticated"}, nil)
	e = checkError(t, client.Call(context.Background(), "Echo", "Say", nil, nil), mondoo.CodeRPCUnauthenticated, "ErrRPC", "ErrUnauthenticated")
	if e.RPCCode != 16 || e.HTTPStatus != 401 || !strings.Contains(e.Message, "rpc error: code = Unauthenticated desc = request permission unauthenticated") {
		t.Errorf("%+v", e)
	}
	p.admin(t, "fault", map[string]any{"kind": "html502"}, nil)
	e = checkError(t, client.Call(context.Background(), "Echo", "Say", nil, nil), mondoo.CodeRPCUnknown, "ErrRPC")
	if e.HTTPStatus != 502 || e.RPCCode != 2 {
		t.Errorf("%+v", e)
	}
}

func TestClosedClient(t *testing.T) {
	client := clientFor(t, testdata(t, "service-account/credentials.json"), mondoo.WithAPIEndpoint(sharedPlatform(t).URL))
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := client.Sign(nil); !errors.Is(err, mondoo.ErrClosed) {
		t.Errorf("Sign after Close: %v", err)
	}
	if _, err := client.Status(context.Background()); !errors.Is(err, mondoo.ErrClosed) {
		t.Errorf("Status after Close: %v", err)
	}
}
