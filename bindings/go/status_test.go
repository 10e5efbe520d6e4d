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

func mustContain(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in\n%s", w, text)
		}
	}
}

func TestStatusUnregistered(t *testing.T) {
	p := newPlatform(t)
	client := registrationClient(t, freshConfigPath(t), mondoo.WithAPIEndpoint(p.URL))
	status, err := client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	text := status.String()
	mustContain(t, text, "→ API Status:\t\tSERVING", "x client is not registered",
		"didn't successfully authenticate with Mondoo Platform")
	if strings.Contains(text, "authenticated successfully") {
		t.Errorf("unregistered client reported as authenticated:\n%s", text)
	}
	if status.Registered || status.Authenticated || status.ExitCode != 1 || status.APIStatus != "SERVING" {
		t.Errorf("fields: %+v", status)
	}
	for _, r := range p.requests(t) {
		if r.Service != "Health" {
			t.Errorf("an unregistered status made a %s/%s request", r.Service, r.Method)
		}
	}
}

func TestStatusRegisteredAuthenticatedThenRevoked(t *testing.T) {
	_, path, reg := login(t, sharedPlatform(t))
	client := clientFor(t, path)
	status, err := client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, status.String(),
		"→ loaded configuration from "+path+" using source --config\n",
		"→ Client:\t\t"+reg.AgentMRN+"\n",
		"→ Service Account:\t"+reg.ServiceAccountMRN+"\n",
		"→ client is registered\n",
		"→ client authenticated successfully\n")
	if !status.Registered || !status.Authenticated || status.ExitCode != 0 || status.AuthError != nil {
		t.Errorf("fields: %+v", status)
	}
	if status.AgentMRN != reg.AgentMRN || status.ServiceAccountMRN != reg.ServiceAccountMRN || status.SpaceMRN != reg.SpaceMRN || status.ConfigPath != path {
		t.Errorf("fields: %+v, registration %+v", status, reg)
	}

	// The platform forgets the service account: still registered, but refused.
	sharedPlatform(t).admin(t, "revoke", map[string]string{"mrn": reg.ServiceAccountMRN}, nil)
	status, err = client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, status.String(), "→ client is registered\n",
		"x could not connect to mondoo platform error=\"rpc error: code = Unauthenticated desc = request permission unauthenticated\"")
	if status.Authenticated || status.ExitCode != 1 || status.AuthError == nil {
		t.Fatalf("fields: %+v", status)
	}
	if status.AuthError.RPCCode != 16 || status.AuthError.HTTPStatus != 401 || status.AuthError.Code != mondoo.CodeRPCUnauthenticated {
		t.Errorf("auth error: %+v", status.AuthError)
	}
	// The same refusal as an error of a call.
	err = client.CheckIn(context.Background())
	if !errors.Is(err, mondoo.ErrUnauthenticated) || !errors.Is(err, mondoo.ErrRPC) {
		t.Errorf("check-in after revoke: %v", err)
	}
}

func TestStatusWithAStaticTokenCredential(t *testing.T) {
	p := sharedPlatform(t)
	var account map[string]string
	p.admin(t, "token-service-account", map[string]any{}, &account)
	path := filepath.Join(t.TempDir(), "token-credentials.json")
	if err := os.WriteFile(path, mustJSON(t, account), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if !cfg.Registered {
		t.Error("mrn + token is a registered config")
	}
	_, _, err = cfg.Get("token")
	checkError(t, err, mondoo.CodeInvalidArgument, "ErrInternal")

	status, err := clientFor(t, path).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, status.String(), "→ client is registered\n", "→ client authenticated successfully\n")
	if !status.Registered || !status.Authenticated || status.ExitCode != 0 || status.AuthError != nil ||
		status.ServiceAccountMRN != account["mrn"] {
		t.Errorf("fields: %+v", status)
	}
	if strings.Contains(status.String(), account["token"]) || strings.Contains(status.JSON, account["token"]) {
		t.Error("the status shows the token")
	}
}

func TestA401AfterAMeasuredSkewCarriesTheSkew(t *testing.T) {
	p := newPlatform(t)
	_, path, _ := login(t, p)
	p.admin(t, "clock", map[string]int{"offset_seconds": 72 * 3600}, nil)
	client := clientFor(t, path)
	ctx := context.Background()
	// Nothing measured yet: the 401 carries no skew.
	e := checkError(t, client.Call(ctx, "Echo", "Say", nil, nil), mondoo.CodeRPCUnauthenticated, "ErrRPC", "ErrUnauthenticated")
	if e.ClockSkew != 0 {
		t.Errorf("skew before any measurement: %v", e.ClockSkew)
	}
	// Status measures it; every later refusal carries it, with the status's sign
	// (the platform's time minus the local time: positive, the platform is ahead).
	status, err := client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := status.ClockSkew; d < 72*time.Hour-5*time.Second || d > 72*time.Hour+5*time.Second {
		t.Fatalf("status clock skew %v, want about +72h", d)
	}
	e = checkError(t, client.Call(ctx, "Echo", "Say", nil, nil), mondoo.CodeRPCUnauthenticated, "ErrRPC", "ErrUnauthenticated")
	if e.ClockSkew != status.ClockSkew || e.HTTPStatus != 401 || e.RPCCode != 16 {
		t.Errorf("error skew %v (status %v), HTTP %d, rpc %d", e.ClockSkew, status.ClockSkew, e.HTTPStatus, e.RPCCode)
	}
}

func TestStatusClockSkew72h(t *testing.T) {
	p := newPlatform(t)
	_, path, _ := login(t, p)
	// The platform's clock 72h ahead looks, to the client, like its own clock is behind.
	p.admin(t, "clock", map[string]int{"offset_seconds": 72*3600 + 6}, nil)
	client := clientFor(t, path)
	status, err := client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	text := status.String()
	mustContain(t, text, "\n! possible clock skew detected: 72h0m")
	if len(status.Warnings) == 0 || !strings.HasPrefix(status.Warnings[0], "possible clock skew detected: 72h0m") {
		t.Errorf("warnings: %q", status.Warnings)
	}
	if d := status.ClockSkew; d < 71*time.Hour || d > 73*time.Hour {
		t.Errorf("clock skew %v, want about 72h", d)
	}
	// A platform that far off refuses every bearer; opt-in correction fixes it.
	mustContain(t, text, "x could not connect to mondoo platform")
	corrected := clientFor(t, path, mondoo.WithClockSkewCorrection(true))
	status, err = corrected.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, status.String(), "→ client authenticated successfully")
}
