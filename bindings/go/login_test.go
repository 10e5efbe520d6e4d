// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoginWritesConfigThenLogoutRemovesIt(t *testing.T) {
	p := newPlatform(t)
	path := freshConfigPath(t)
	client := registrationClient(t, path, mondoo.WithAPIEndpoint(p.URL))
	token := p.token(t, map[string]any{"labels": map[string]string{"team": "go"}})
	reg, err := client.Register(context.Background(), token,
		mondoo.WithName("go-test-asset"), mondoo.WithAnnotations(map[string]string{"env": "test"}))
	if err != nil {
		t.Fatal(err)
	}
	if reg.AlreadyRegistered || reg.ConfigPath != path || reg.APIEndpoint != p.URL || !strings.HasPrefix(reg.AgentMRN, "//agents.api.mondoo.app/") {
		t.Errorf("registration: %+v", reg)
	}

	// The file: as the bytes say, and as a fresh load reads it.
	text := readFile(t, path)
	for _, want := range []string{"agent_mrn: " + reg.AgentMRN, "mrn: " + reg.ServiceAccountMRN, "private_key: ", "certificate: ", "api_endpoint: " + p.URL} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, token) {
		t.Error("the registration token was written into the config")
	}
	cfg, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Registered || cfg.AgentMRN != reg.AgentMRN || cfg.ServiceAccountMRN != reg.ServiceAccountMRN || cfg.Source != "--config" || cfg.Path != path {
		t.Errorf("loaded after login: %+v", cfg)
	}
	cfg.Close()
	if _, _, err := cfg.Get("mrn"); !errors.Is(err, mondoo.ErrClosed) {
		t.Errorf("Get on a closed config: %v", err)
	}

	// The agent checks in and makes signed calls.
	if err := client.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	var echoed map[string]any
	if err := client.Call(context.Background(), "Echo", "Say", map[string]int{"x": 1}, &echoed); err != nil {
		t.Fatal(err)
	}
	var accepted int
	for _, r := range p.requests(t) {
		if (r.Method == "HealthCheck" || r.Service == "Echo") && r.Auth == "accepted" {
			accepted++
		}
	}
	if accepted != 2 {
		t.Errorf("%d signed calls accepted by the platform, want 2", accepted)
	}

	if err := client.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	text = readFile(t, path)
	for _, gone := range []string{"agent_mrn", "private_key", "certificate", "\nmrn:"} {
		if strings.Contains("\n"+text, gone) {
			t.Errorf("config still holds %q after logout:\n%s", gone, text)
		}
	}
	if !strings.Contains(text, "api_endpoint: "+p.URL) {
		t.Errorf("logout dropped api_endpoint:\n%s", text)
	}
	cfg, err = mondoo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if cfg.Registered || cfg.AgentMRN != "" || cfg.ServiceAccountMRN != "" {
		t.Errorf("loaded after logout: %+v", cfg)
	}
	if err := client.CheckIn(context.Background()); !errors.Is(err, mondoo.ErrNotRegistered) {
		t.Errorf("check-in after logout: %v", err)
	}
}

// An agent config with keys owned by other tools keeps them through login and logout;
// the login goes through the platform's CONNECT proxy (the fixture's own proxy points nowhere).
func TestLoginAndLogoutKeepForeignKeys(t *testing.T) {
	p := newPlatform(t)
	proxy := startProxyPlatform(t)
	path := filepath.Join(t.TempDir(), "mondoo.yml")
	if err := os.WriteFile(path, []byte(readFile(t, testdata(t, "configs/mondoo.yml"))), 0o600); err != nil {
		t.Fatal(err)
	}
	before := configFile(t, path)
	client := clientFor(t, path, mondoo.WithAPIEndpoint(p.URL), mondoo.WithAPIProxy(proxy))
	reg, err := client.Register(context.Background(), p.token(t, map[string]any{}))
	if err != nil {
		t.Fatal(err)
	}
	after := configFile(t, path)
	for _, key := range []string{"scan_interval", "updates_url", "features", "annotations", "api_proxy"} {
		if !jsonEqual(before[key], after[key]) {
			t.Errorf("%s changed by login: %v -> %v", key, before[key], after[key])
		}
	}
	if after["agent_mrn"] != reg.AgentMRN || after["mrn"] == before["mrn"] {
		t.Errorf("login did not replace the credentials: %v", after)
	}

	if err := client.Logout(context.Background(), mondoo.WithKeepServiceAccount()); err != nil {
		t.Fatal(err)
	}
	kept := configFile(t, path)
	if _, ok := kept["agent_mrn"]; ok {
		t.Errorf("agent_mrn survived logout: %v", kept)
	}
	if kept["mrn"] != reg.ServiceAccountMRN || kept["private_key"] == nil {
		t.Errorf("WithKeepServiceAccount dropped the service account: %v", kept)
	}
	for _, key := range []string{"scan_interval", "updates_url", "features", "annotations", "api_proxy"} {
		if !jsonEqual(before[key], kept[key]) {
			t.Errorf("%s changed by logout: %v -> %v", key, before[key], kept[key])
		}
	}
}

func TestRegisterWithCredentialsFileThenLogoutOffline(t *testing.T) {
	p := newPlatform(t)
	path, account := serviceAccountFile(t, p)
	client := clientFor(t, path)
	reg, err := client.Register(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if reg.ServiceAccountMRN != account["mrn"] || reg.AgentMRN == "" {
		t.Errorf("registration: %+v", reg)
	}
	if !strings.Contains(readFile(t, path), reg.AgentMRN) {
		t.Error("agent_mrn not written")
	}
	// The platform refuses from now on; a forced logout still cleans the file.
	p.admin(t, "revoke", map[string]any{"mrn": reg.ServiceAccountMRN}, nil)
	if err := client.Logout(context.Background()); !errors.Is(err, mondoo.ErrUnauthenticated) {
		t.Fatalf("logout refused by the platform: %v", err)
	}
	if err := client.Logout(context.Background(), mondoo.WithForceOffline()); err != nil {
		t.Fatal(err)
	}
	if text := readFile(t, path); strings.Contains(text, "private_key") || strings.Contains(text, reg.AgentMRN) {
		t.Errorf("forced logout left credentials:\n%s", text)
	}
}

// Registration creates its config file, and the directories missing above it, like
// cnspec login on a fresh machine: the file 0600, the directories 0700.
func TestRegisterCreatesConfigFileAndDirectories(t *testing.T) {
	p := newPlatform(t)
	base := t.TempDir()
	path := filepath.Join(base, "home", ".config", "mondoo", "mondoo.yml")
	if _, err := mondoo.LoadConfig(path); !errors.Is(err, &mondoo.Error{Code: mondoo.CodeConfigNotFound}) {
		t.Fatalf("LoadConfig of a missing file: %v", err)
	}
	cfg, err := mondoo.LoadConfigForRegistration(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != path || cfg.Registered || cfg.ServiceAccountMRN != "" {
		t.Errorf("config for registration: %+v", cfg)
	}
	if _, err := os.Stat(filepath.Join(base, "home")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("loading created something: %v", err)
	}
	client := testClient(t, cfg, mondoo.WithAPIEndpoint(p.URL))
	reg, err := client.Register(context.Background(), p.token(t, map[string]any{}))
	if err != nil {
		t.Fatal(err)
	}
	if reg.ConfigPath != path {
		t.Errorf("registered into %q, want %q", reg.ConfigPath, path)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode(); !mode.IsRegular() || mode.Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, mode)
	}
	for dir := filepath.Dir(path); dir != base; dir = filepath.Dir(dir) {
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode(); !mode.IsDir() || mode.Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a 0700 directory", dir, mode)
		}
	}
	loaded, err := mondoo.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	if !loaded.Registered || loaded.AgentMRN != reg.AgentMRN || loaded.ServiceAccountMRN != reg.ServiceAccountMRN {
		t.Errorf("loaded after registration: %+v", loaded)
	}
}

// A config write that fails after RegisterAgent: the error names the agent and carries
// its credentials, which work as a config of their own. RegisterAgent answers 4 s late;
// 1.5 s in (after the check before it) a file takes the config directory's name.
func TestOrphanedAgentCredentialsAreOnTheError(t *testing.T) {
	p := newPlatform(t)
	dir := t.TempDir()
	configDir := filepath.Join(dir, "config")
	p.admin(t, "fault", map[string]any{"kind": "slow", "millis": 4000, "only": "AgentManager/RegisterAgent"}, nil)
	sabotaged := make(chan error, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		if err := os.RemoveAll(configDir); err != nil {
			sabotaged <- err
			return
		}
		sabotaged <- os.WriteFile(configDir, []byte("now a file"), 0o600)
	}()
	client := registrationClient(t, filepath.Join(configDir, "mondoo.yml"), mondoo.WithAPIEndpoint(p.URL))
	_, err := client.Register(context.Background(), p.token(t, map[string]any{}))
	if serr := <-sabotaged; serr != nil {
		t.Fatal(serr)
	}
	var merr *mondoo.Error
	if !errors.As(err, &merr) {
		t.Fatalf("register with an unwritable config after RegisterAgent: %v", err)
	}
	credentials := merr.OrphanedCredentials()
	if credentials == nil {
		t.Fatalf("no credentials on %v", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(fmt.Sprintf("%+v", merr), "PRIVATE KEY") {
		t.Error("the key is in the error's text")
	}
	var document struct {
		AgentMRN string `json:"agent_mrn"`
	}
	if jerr := json.Unmarshal(credentials, &document); jerr != nil || !strings.Contains(merr.Message, "agent "+document.AgentMRN+" was registered") {
		t.Fatalf("credentials %v for agent %q; message %q", jerr, document.AgentMRN, merr.Message)
	}
	saved := filepath.Join(dir, "saved.json")
	if werr := os.WriteFile(saved, credentials, 0o600); werr != nil {
		t.Fatal(werr)
	}
	if cerr := clientFor(t, saved, mondoo.WithAPIEndpoint(p.URL)).CheckIn(context.Background()); cerr != nil {
		t.Fatalf("check-in with the orphaned credentials: %v", cerr)
	}
}
