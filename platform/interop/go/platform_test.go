// Package interop talks to the local platform as the Go client (ranger-rpc under
// cnspec/mql) does: messages encoded by Go's protobuf runtime, POSTed over net/http with
// Content-Length, Content-Type and Accept application/protobuf (net/http asks for gzip
// and decodes it), signed calls carrying a go-jose ES384 bearer bound to the body's
// SHA-256, and every non-200 body read as a google.rpc.Status.
//
// ranger-rpc itself is not in the module proxy this project can reach, so the client
// here does what its DoClientRequest and cert plugin do, written from the protocol
// document. The messages are built from descriptors (no protoc).
package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

var platformURL string

func TestMain(m *testing.M) {
	bin := os.Getenv("MONDOO_PLATFORM_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "..", "target", "debug", "mondoo-platform")
	}
	var args []string
	if dir := os.Getenv("MONDOO_TESTDATA"); dir != "" {
		args = append(args, "--testdata", dir)
	}
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		panic(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		panic(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot start %s (cargo build -p mondoo-platform): %v\n", bin, err)
		os.Exit(1)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	platformURL = strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(platformURL, "http://") {
		fmt.Fprintf(os.Stderr, "%s did not print its URL: %q %v\n", bin, line, err)
		_ = cmd.Process.Kill()
		os.Exit(1)
	}
	code := m.Run()
	// Closing stdin stops the platform.
	_ = stdin.Close()
	_ = cmd.Wait()
	os.Exit(code)
}

// ---- the client ----

// rpcError is a non-200 answer read as a google.rpc.Status.
type rpcError struct {
	httpStatus int
	code       int32
	message    string
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("HTTP %d: code %d %q", e.httpStatus, e.code, e.message)
}

// bearer returns the Authorization value for a body (empty: none).
type bearer func(body []byte) string

func call(t *testing.T, serviceMethod string, in proto.Message, out proto.Message, auth bearer) error {
	t.Helper()
	body, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", platformURL+"/"+serviceMethod, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/protobuf")
	req.Header.Set("Accept", "application/protobuf")
	if auth != nil {
		req.Header.Set("Authorization", auth(body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		var status spb.Status
		if err := proto.Unmarshal(answer, &status); err != nil || status.Code == 0 {
			t.Fatalf("%s: HTTP %d body is not a google.rpc.Status: %q (%v)", serviceMethod, resp.StatusCode, answer, err)
		}
		return &rpcError{resp.StatusCode, status.Code, status.Message}
	}
	if got := resp.Header.Get("Content-Type"); got != "application/protobuf" {
		t.Fatalf("%s: Content-Type %q", serviceMethod, got)
	}
	if err := proto.Unmarshal(answer, out); err != nil {
		t.Fatalf("%s: answer does not decode: %v", serviceMethod, err)
	}
	return nil
}

func staticToken(token string) bearer {
	return func([]byte) string { return "Bearer " + token }
}

// signedBy is Bearer for a test: a bad key fails the test.
func signedBy(t *testing.T, mrn, privateKeyPEM string) bearer {
	t.Helper()
	sign, err := Bearer(mrn, privateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return func(body []byte) string {
		value, err := sign(body)
		if err != nil {
			t.Fatal(err)
		}
		return value
	}
}

func admin(t *testing.T, method, what string, in any, out any) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, err := http.NewRequest(method, platformURL+"/_admin/"+what, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin %s: HTTP %d %v", what, resp.StatusCode, err)
	}
}

type recorded struct {
	Method  string     `json:"method"`
	Headers [][]string `json:"headers"`
	Status  int        `json:"status"`
	Auth    string     `json:"auth"`
	Gzipped bool       `json:"gzipped"`
}

func (r recorded) header(name string) (string, bool) {
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// ---- tests ----

func TestHealthCheck(t *testing.T) {
	out := dynamicpb.NewMessage(Messages["HealthCheckResponse"])
	if err := call(t, "Health/Check", NewMessage("HealthCheckRequest", nil), out, nil); err != nil {
		t.Fatal(err)
	}
	if status := Get(out, "status").Enum(); status != 1 {
		t.Errorf("status %d, want SERVING (1)", status)
	}
	if _, err := time.Parse(time.RFC3339Nano, Get(out, "time").String()); err != nil {
		t.Errorf("time: %v", err)
	}
	if v := Get(out, "apiVersion").String(); v != "local-test-platform" {
		t.Errorf("apiVersion %q", v)
	}
}

func TestErrorsAreStatuses(t *testing.T) {
	out := dynamicpb.NewMessage(Messages["Pong"])
	err := call(t, "AgentManager/PingPong", NewMessage("Ping", nil), out, nil)
	want := &rpcError{401, 16, "request permission unauthenticated"}
	if e, ok := err.(*rpcError); !ok || *e != *want {
		t.Errorf("unsigned PingPong: %v, want %v", err, want)
	}
	err = call(t, "AgentManager/NoSuchMethod", NewMessage("Ping", nil), out, nil)
	want = &rpcError{404, 5, "method not defined"}
	if e, ok := err.(*rpcError); !ok || *e != *want {
		t.Errorf("unknown method: %v, want %v", err, want)
	}
}

func TestRegisterPingCheckInAndUnregister(t *testing.T) {
	var token struct{ Token string }
	admin(t, "POST", "token", map[string]any{"labels": map[string]string{"env": "ci"}}, &token)

	info := NewMessage("AgentInfo", map[string]string{
		"version": "13.0.0", "platform_name": "debian", "platform_hostname": "go.example",
		"platform_id": "//platformid.api.mondoo.app/hostname/go.example",
	})
	labels := info.Mutable(Messages["AgentInfo"].Fields().ByName("labels")).Map()
	labels.Set(protoreflect.ValueOfString("team").MapKey(), protoreflect.ValueOfString("red"))
	request := NewMessage("AgentRegistrationRequest", map[string]string{"token": token.Token, "name": "go-agent"})
	request.Set(Messages["AgentRegistrationRequest"].Fields().ByName("agent_info"), protoreflect.ValueOfMessage(info))
	confirmation := dynamicpb.NewMessage(Messages["AgentRegistrationConfirmation"])
	if err := call(t, "AgentManager/RegisterAgent", request, confirmation, staticToken(token.Token)); err != nil {
		t.Fatal(err)
	}
	agentMrn := Get(confirmation, "agent_mrn").String()
	credential := Get(confirmation, "credential").Message()
	field := func(name string) string {
		return credential.Get(credential.Descriptor().Fields().ByName(protoreflect.Name(name))).String()
	}
	if field("api_endpoint") != platformURL || !strings.HasPrefix(agentMrn, "//agents.api.mondoo.app/spaces/") {
		t.Fatalf("confirmation: agent %q endpoint %q", agentMrn, field("api_endpoint"))
	}

	var agents []struct {
		Mrn    string
		Name   string
		Labels map[string]string
		Info   map[string]any
	}
	admin(t, "GET", "agents", nil, &agents)
	found := false
	for _, a := range agents {
		if a.Mrn == agentMrn {
			found = true
			if a.Name != "go-agent" || a.Labels["env"] != "ci" || a.Labels["team"] != "red" ||
				a.Info["platform_id"] != "//platformid.api.mondoo.app/hostname/go.example" {
				t.Errorf("agent as the platform decoded it: %+v", a)
			}
		}
	}
	if !found {
		t.Fatalf("agent %s not registered", agentMrn)
	}

	signed := signedBy(t, field("mrn"), field("private_key"))
	if err := call(t, "AgentManager/PingPong", NewMessage("Ping", nil), dynamicpb.NewMessage(Messages["Pong"]), signed); err != nil {
		t.Fatal(err)
	}
	checkIn := NewMessage("AgentInfo", map[string]string{"mrn": agentMrn, "platform_hostname": "go.example"})
	if err := call(t, "AgentManager/HealthCheck", checkIn, dynamicpb.NewMessage(Messages["AgentCheckinResponse"]), signed); err != nil {
		t.Fatal(err)
	}
	confirmed := dynamicpb.NewMessage(Messages["Confirmation"])
	if err := call(t, "AgentManager/UnRegisterAgent", NewMessage("Mrn", map[string]string{"mrn": agentMrn}), confirmed, signed); err != nil {
		t.Fatal(err)
	}
	if got := Get(confirmed, "mrn").String(); got != agentMrn {
		t.Errorf("Confirmation.mrn %q, want %q", got, agentMrn)
	}
	err := call(t, "AgentManager/PingPong", NewMessage("Ping", nil), dynamicpb.NewMessage(Messages["Pong"]), signed)
	if e, ok := err.(*rpcError); !ok || e.code != 16 {
		t.Errorf("PingPong after unregistering: %v, want code 16", err)
	}

	// What the platform saw of Go's requests: Content-Length framing (an empty Ping{} too),
	// and net/http's own Accept-Encoding: gzip, which the platform answered (RegisterAgent's
	// answer has a body; Pong{} has none).
	var requests []recorded
	admin(t, "GET", "requests", nil, &requests)
	seen := map[string]bool{}
	for _, r := range requests {
		if r.Auth != "accepted" || (r.Method != "PingPong" && r.Method != "RegisterAgent") {
			continue
		}
		seen[r.Method] = true
		length, hasLength := r.header("content-length")
		_, chunked := r.header("transfer-encoding")
		encoding, _ := r.header("accept-encoding")
		if !hasLength || chunked || (r.Method == "PingPong" && length != "0") {
			t.Errorf("%s framing: Content-Length %q (%v), chunked %v", r.Method, length, hasLength, chunked)
		}
		if encoding != "gzip" || (r.Method == "RegisterAgent" && !r.Gzipped) {
			t.Errorf("%s: net/http asks for gzip (%q) and the platform answers it (%v)", r.Method, encoding, r.Gzipped)
		}
	}
	if !seen["PingPong"] || !seen["RegisterAgent"] {
		t.Errorf("accepted calls recorded: %v", seen)
	}
}

func TestStatusAsTheGoClient(t *testing.T) {
	var account struct {
		Mrn        string `json:"mrn"`
		PrivateKey string `json:"private_key"`
	}
	admin(t, "POST", "service-account", map[string]any{}, &account)
	config := filepath.Join(t.TempDir(), "mondoo.yml")
	yml := fmt.Sprintf("mrn: %q\nprivate_key: %q\napi_endpoint: %q\nagent_mrn: //agents.api.mondoo.app/go\n",
		account.Mrn, account.PrivateKey, "http://127.0.0.1:1")
	if err := os.WriteFile(config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := Status(config, platformURL, &report); err != nil {
		t.Fatalf("status: %v", err)
	}
	if !strings.Contains(report.String(), "client authenticated successfully") {
		t.Errorf("report: %q", report.String())
	}
	var revoked struct{}
	admin(t, "POST", "revoke", map[string]string{"mrn": account.Mrn}, &revoked)
	if err := Status(config, platformURL, io.Discard); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("status with a revoked account: %v, want HTTP 401", err)
	}
}
