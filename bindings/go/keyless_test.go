package mondoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// A WIF document (type: external_account) works with the existing calls, and Exchange
// reports the exchanged account without its key.
func TestKeylessWorkloadIdentity(t *testing.T) {
	p := newPlatform(t)
	const audience, workload = "go-audience", "repo:mondoohq/go:ref:refs/heads/main"
	var bound struct{ Issuer string }
	p.admin(t, "authorize-workload", map[string]any{"audience": audience, "subject": workload,
		"scope_mrn": "//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456"}, &bound)
	var minted struct{ Token string }
	p.admin(t, "oidc-token", map[string]any{"subject": workload, "audience": audience, "ttl_seconds": 300}, &minted)
	doc, _ := json.Marshal(map[string]string{"type": "external_account", "audience": audience,
		"issuerUri": bound.Issuer, "universeDomain": p.URL, "jwtToken": minted.Token})
	path := filepath.Join(t.TempDir(), "wif.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, path)
	ctx := context.Background()
	if err := client.Call(ctx, "AgentManager", "PingPong", nil, nil); err != nil {
		t.Fatalf("call with the exchanged account: %v", err)
	}
	report, err := client.Exchange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if report.Method != "workload_identity" || !strings.HasPrefix(report.ServiceAccountMrn, "//") || report.ExpiresAt == "" {
		t.Fatalf("report %+v", report)
	}
	// an expired identity token has its own code
	p.admin(t, "oidc-token", map[string]any{"subject": workload, "audience": audience, "ttl_seconds": -600}, &minted)
	doc, _ = json.Marshal(map[string]string{"type": "external_account", "audience": audience,
		"issuerUri": bound.Issuer, "universeDomain": p.URL, "jwtToken": minted.Token})
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = clientFor(t, path).Exchange(ctx)
	var e *mondoo.Error
	if !errors.As(err, &e) || e.Code != mondoo.CodeIdentityTokenExpired {
		t.Fatalf("expired identity token: %v", err)
	}
}
