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
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
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

// ---- messages of protocol section 3.1, from descriptors ----

type field struct {
	name     string
	number   int32
	kind     descriptorpb.FieldDescriptorProto_Type
	typeName string
	repeated bool
}

func message(name string, fields ...field) *descriptorpb.DescriptorProto {
	m := &descriptorpb.DescriptorProto{Name: proto.String(name)}
	for _, f := range fields {
		label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		if f.repeated {
			label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		}
		fd := &descriptorpb.FieldDescriptorProto{
			Name: proto.String(f.name), Number: proto.Int32(f.number), Type: f.kind.Enum(), Label: label.Enum(),
		}
		if f.typeName != "" {
			fd.TypeName = proto.String(f.typeName)
		}
		m.Field = append(m.Field, fd)
	}
	return m
}

const (
	str  = descriptorpb.FieldDescriptorProto_TYPE_STRING
	enum = descriptorpb.FieldDescriptorProto_TYPE_ENUM
	msg  = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	up   = ".mondoo.mql.upstream.v1."
)

var messages = buildMessages()

func buildMessages() map[string]protoreflect.MessageDescriptor {
	response := message("HealthCheckResponse",
		field{"status", 1, enum, ".mondoo.cnquery.health.v1.HealthCheckResponse.ServingStatus", false},
		field{"time", 2, str, "", false}, field{"apiVersion", 3, str, "", false}, field{"build", 4, str, "", false})
	serving := &descriptorpb.EnumDescriptorProto{Name: proto.String("ServingStatus")}
	for i, name := range []string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"} {
		serving.Value = append(serving.Value, &descriptorpb.EnumValueDescriptorProto{Name: proto.String(name), Number: proto.Int32(int32(i))})
	}
	response.EnumType = append(response.EnumType, serving)
	health := &descriptorpb.FileDescriptorProto{
		Name: proto.String("health.proto"), Package: proto.String("mondoo.cnquery.health.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{message("HealthCheckRequest", field{"service", 1, str, "", false}), response},
	}

	agentInfo := message("AgentInfo",
		field{"mrn", 1, str, "", false}, field{"version", 2, str, "", false}, field{"build", 3, str, "", false},
		field{"platform_name", 4, str, "", false}, field{"platform_release", 5, str, "", false},
		field{"platform_arch", 6, str, "", false}, field{"platform_ip", 7, str, "", false},
		field{"platform_hostname", 8, str, "", false}, field{"labels", 18, msg, up + "AgentInfo.LabelsEntry", true},
		field{"platform_id", 20, str, "", false})
	entry := message("LabelsEntry", field{"key", 1, str, "", false}, field{"value", 2, str, "", false})
	entry.Options = &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)}
	agentInfo.NestedType = append(agentInfo.NestedType, entry)
	upstream := &descriptorpb.FileDescriptorProto{
		Name: proto.String("upstream.proto"), Package: proto.String("mondoo.mql.upstream.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			agentInfo,
			message("AgentRegistrationRequest", field{"token", 1, str, "", false}, field{"name", 2, str, "", false},
				field{"agent_info", 3, msg, up + "AgentInfo", false}),
			message("ServiceAccountCredentials", field{"mrn", 1, str, "", false}, field{"parent_mrn", 2, str, "", false},
				field{"private_key", 3, str, "", false}, field{"certificate", 4, str, "", false},
				field{"api_endpoint", 5, str, "", false}, field{"scope_mrn", 6, str, "", false}),
			message("AgentRegistrationConfirmation", field{"agent_mrn", 1, str, "", false},
				field{"credential", 2, msg, up + "ServiceAccountCredentials", false}),
			message("Mrn", field{"mrn", 1, str, "", false}),
			message("Confirmation", field{"mrn", 1, str, "", false}),
			message("Ping"), message("Pong"), message("AgentCheckinResponse"),
		},
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{health, upstream}})
	if err != nil {
		panic(err)
	}
	out := map[string]protoreflect.MessageDescriptor{}
	for _, name := range []string{
		"mondoo.cnquery.health.v1.HealthCheckRequest", "mondoo.cnquery.health.v1.HealthCheckResponse",
		"mondoo.mql.upstream.v1.AgentInfo", "mondoo.mql.upstream.v1.AgentRegistrationRequest",
		"mondoo.mql.upstream.v1.AgentRegistrationConfirmation", "mondoo.mql.upstream.v1.Mrn",
		"mondoo.mql.upstream.v1.Confirmation", "mondoo.mql.upstream.v1.Ping", "mondoo.mql.upstream.v1.Pong",
		"mondoo.mql.upstream.v1.AgentCheckinResponse",
	} {
		d, err := files.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			panic(err)
		}
		short := name[strings.LastIndex(name, ".")+1:]
		out[short] = d.(protoreflect.MessageDescriptor)
	}
	return out
}

// newMessage makes a message and sets its string fields.
func newMessage(name string, strings map[string]string) *dynamicpb.Message {
	m := dynamicpb.NewMessage(messages[name])
	for k, v := range strings {
		m.Set(messages[name].Fields().ByName(protoreflect.Name(k)), protoreflect.ValueOfString(v))
	}
	return m
}

func get(m *dynamicpb.Message, name string) protoreflect.Value {
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name)))
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

// signedBy makes the ES384 bearer the Go client's cert plugin sends: kid and sub the
// service account, iss mondoo/ams, a minute of validity, chash = hex SHA-256 of the body.
func signedBy(t *testing.T, mrn, privateKeyPEM string) bearer {
	t.Helper()
	block, _ := pem.Decode([]byte(privateKeyPEM))
	if block == nil {
		t.Fatal("no PEM private key")
	}
	var key *ecdsa.PrivateKey
	if parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		key = parsed.(*ecdsa.PrivateKey)
	} else if key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: key},
		(&jose.SignerOptions{}).WithHeader("kid", mrn).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	return func(body []byte) string {
		now := time.Now()
		claims := jwt.Claims{
			Subject: mrn, Issuer: "mondoo/ams", IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(60 * time.Second)),
		}
		chash := struct {
			ContentHash string `json:"chash"`
		}{fmt.Sprintf("%x", sha256.Sum256(body))}
		token, err := jwt.Signed(signer).Claims(claims).Claims(chash).CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + token
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
	out := dynamicpb.NewMessage(messages["HealthCheckResponse"])
	if err := call(t, "Health/Check", newMessage("HealthCheckRequest", nil), out, nil); err != nil {
		t.Fatal(err)
	}
	if status := get(out, "status").Enum(); status != 1 {
		t.Errorf("status %d, want SERVING (1)", status)
	}
	if _, err := time.Parse(time.RFC3339Nano, get(out, "time").String()); err != nil {
		t.Errorf("time: %v", err)
	}
	if v := get(out, "apiVersion").String(); v != "local-test-platform" {
		t.Errorf("apiVersion %q", v)
	}
}

func TestErrorsAreStatuses(t *testing.T) {
	out := dynamicpb.NewMessage(messages["Pong"])
	err := call(t, "AgentManager/PingPong", newMessage("Ping", nil), out, nil)
	want := &rpcError{401, 16, "request permission unauthenticated"}
	if e, ok := err.(*rpcError); !ok || *e != *want {
		t.Errorf("unsigned PingPong: %v, want %v", err, want)
	}
	err = call(t, "AgentManager/NoSuchMethod", newMessage("Ping", nil), out, nil)
	want = &rpcError{404, 5, "method not defined"}
	if e, ok := err.(*rpcError); !ok || *e != *want {
		t.Errorf("unknown method: %v, want %v", err, want)
	}
}

func TestRegisterPingCheckInAndUnregister(t *testing.T) {
	var token struct{ Token string }
	admin(t, "POST", "token", map[string]any{"labels": map[string]string{"env": "ci"}}, &token)

	info := newMessage("AgentInfo", map[string]string{
		"version": "13.0.0", "platform_name": "debian", "platform_hostname": "go.example",
		"platform_id": "//platformid.api.mondoo.app/hostname/go.example",
	})
	labels := info.Mutable(messages["AgentInfo"].Fields().ByName("labels")).Map()
	labels.Set(protoreflect.ValueOfString("team").MapKey(), protoreflect.ValueOfString("red"))
	request := newMessage("AgentRegistrationRequest", map[string]string{"token": token.Token, "name": "go-agent"})
	request.Set(messages["AgentRegistrationRequest"].Fields().ByName("agent_info"), protoreflect.ValueOfMessage(info))
	confirmation := dynamicpb.NewMessage(messages["AgentRegistrationConfirmation"])
	if err := call(t, "AgentManager/RegisterAgent", request, confirmation, staticToken(token.Token)); err != nil {
		t.Fatal(err)
	}
	agentMrn := get(confirmation, "agent_mrn").String()
	credential := get(confirmation, "credential").Message()
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
	if err := call(t, "AgentManager/PingPong", newMessage("Ping", nil), dynamicpb.NewMessage(messages["Pong"]), signed); err != nil {
		t.Fatal(err)
	}
	checkIn := newMessage("AgentInfo", map[string]string{"mrn": agentMrn, "platform_hostname": "go.example"})
	if err := call(t, "AgentManager/HealthCheck", checkIn, dynamicpb.NewMessage(messages["AgentCheckinResponse"]), signed); err != nil {
		t.Fatal(err)
	}
	confirmed := dynamicpb.NewMessage(messages["Confirmation"])
	if err := call(t, "AgentManager/UnRegisterAgent", newMessage("Mrn", map[string]string{"mrn": agentMrn}), confirmed, signed); err != nil {
		t.Fatal(err)
	}
	if got := get(confirmed, "mrn").String(); got != agentMrn {
		t.Errorf("Confirmation.mrn %q, want %q", got, agentMrn)
	}
	err := call(t, "AgentManager/PingPong", newMessage("Ping", nil), dynamicpb.NewMessage(messages["Pong"]), signed)
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
