// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// platform is a running mondoo-platform process (the local test platform).
type platform struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

var (
	sharedOnce sync.Once
	shared     *platform
	sharedErr  error
)

// sharedPlatform is one platform for the tests that change no global state of it, started
// on first use (benchmarks need none) and stopped by TestMain.
func sharedPlatform(t testing.TB) *platform {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = startPlatform() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	// The machine's MONDOO_* and proxy variables would override the tests' configs.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		keep := name == "MONDOO_PLATFORM_BIN"
		if !keep && (strings.HasPrefix(name, "MONDOO_") || upper == "HTTP_PROXY" || upper == "HTTPS_PROXY" || upper == "ALL_PROXY" || upper == "NO_PROXY") {
			os.Unsetenv(name)
		}
	}
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

func platformBin() string {
	if bin := os.Getenv("MONDOO_PLATFORM_BIN"); bin != "" {
		return bin
	}
	return filepath.Join("..", "..", "target", "debug", "mondoo-platform")
}

// testdataDir is the repository's fixtures (go test runs in bindings/go).
func testdataDir() string {
	return filepath.Join("..", "..", "testdata")
}

func testdata(t testing.TB, rel string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(testdataDir(), rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return path
}

// startPlatform runs the platform binary with these extra flags; it serves until its
// stdin closes.
func startPlatform(flags ...string) (*platform, error) {
	bin := platformBin()
	cmd := exec.Command(bin, append([]string{"--testdata", testdataDir()}, flags...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s (build it: cargo build -p mondoo-platform, or set MONDOO_PLATFORM_BIN): %w", bin, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s printed no URL: %w", bin, err)
	}
	return &platform{URL: strings.TrimSpace(line), cmd: cmd, stdin: stdin}, nil
}

// newPlatform is a platform of the test's own, for tests that revoke, shift its clock or
// inject faults, or that need flags (--tls).
func newPlatform(t testing.TB, flags ...string) *platform {
	t.Helper()
	p, err := startPlatform(flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

func (p *platform) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// admin calls /_admin/<what> with body as JSON and decodes the answer into out.
func (p *platform) admin(t testing.TB, what string, body, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(p.URL+"/_admin/"+what, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("admin %s: %v", what, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin %s: HTTP %d: %s", what, resp.StatusCode, answer)
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			t.Fatalf("admin %s: %v in %s", what, err, answer)
		}
	}
}

// token mints a registration token; spec fields as the platform's TokenSpec.
func (p *platform) token(t testing.TB, spec map[string]any) string {
	t.Helper()
	var out struct{ Token string }
	p.admin(t, "token", spec, &out)
	return out.Token
}

type recorded struct {
	Service string `json:"service"`
	Method  string `json:"method"`
	Auth    string `json:"auth"`
	Status  int    `json:"status"`
}

func (p *platform) requests(t testing.TB) []recorded {
	t.Helper()
	var out []recorded
	p.admin(t, "requests", nil, &out)
	return out
}

// fastOptions keep tests quick: no registration backoff, a bounded timeout.
func fastOptions(extra ...mondoo.Option) []mondoo.Option {
	return append([]mondoo.Option{
		mondoo.WithRetryDelays(time.Millisecond, time.Millisecond, time.Millisecond),
		mondoo.WithRetryJitter(0),
		mondoo.WithTimeout(20 * time.Second),
	}, extra...)
}

// freshConfigPath is where a registration is to create the config: a file in
// directories that do not exist yet.
func freshConfigPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "home", ".config", "mondoo", "mondoo.yml")
}

// serviceAccountFile creates a service account at p and writes its credentials (a
// credentials.json as the console downloads it) into a temporary directory.
func serviceAccountFile(t testing.TB, p *platform) (path string, account map[string]any) {
	t.Helper()
	p.admin(t, "service-account", map[string]any{}, &account)
	path = filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, mustJSON(t, account), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, account
}

// login registers a fresh config file at p with a minted token; returns the client and the file.
func login(t testing.TB, p *platform, opts ...mondoo.Option) (*mondoo.Client, string, *mondoo.Registration) {
	t.Helper()
	path := freshConfigPath(t)
	client := registrationClient(t, path, append([]mondoo.Option{mondoo.WithAPIEndpoint(p.URL)}, opts...)...)
	reg, err := client.Register(context.Background(), p.token(t, map[string]any{}))
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return client, path, reg
}

// clientFor loads path and makes a client for it, closed at the end of the test.
func clientFor(t testing.TB, path string, opts ...mondoo.Option) *mondoo.Client {
	t.Helper()
	cfg, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return testClient(t, cfg, opts...)
}

// registrationClient is clientFor for a config that registration is to create at path
// (LoadConfigForRegistration): path need not exist.
func registrationClient(t testing.TB, path string, opts ...mondoo.Option) *mondoo.Client {
	t.Helper()
	cfg, err := mondoo.LoadConfigForRegistration(path)
	if err != nil {
		t.Fatalf("load for registration %s: %v", path, err)
	}
	return testClient(t, cfg, opts...)
}

// testClient makes a client with fastOptions from cfg (then closed), closed at the end of the test.
func testClient(t testing.TB, cfg *mondoo.Config, opts ...mondoo.Option) *mondoo.Client {
	t.Helper()
	defer cfg.Close()
	client, err := mondoo.NewClient(cfg, fastOptions(opts...)...)
	if err != nil {
		t.Fatalf("client for %s: %v", cfg.Path, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// configFile is a config file as libmondoo reads it: a JSON map, private_key redacted.
func configFile(t testing.TB, path string) map[string]any {
	t.Helper()
	cfg, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	defer cfg.Close()
	text, err := cfg.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// startProxyPlatform starts a platform with --proxy and returns its CONNECT proxy's URL.
func startProxyPlatform(t testing.TB) string {
	t.Helper()
	bin := platformBin()
	cmd := exec.Command(bin, "--proxy", "--testdata", testdataDir())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatal(err)
	}
	p := &platform{URL: strings.TrimSpace(line), cmd: cmd, stdin: stdin}
	t.Cleanup(p.stop)
	var info struct {
		ProxyURL string `json:"proxy_url"`
	}
	p.admin(t, "info", nil, &info)
	if info.ProxyURL == "" {
		t.Fatal("platform --proxy names no proxy_url")
	}
	return info.ProxyURL
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
