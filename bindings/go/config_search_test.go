// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// isolateSearch points the default search's home at an empty directory, so that only
// what the test sets up can be found (TestMain already removed the machine's MONDOO_*).
func isolateSearch(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	return home
}

func loadDefault(t *testing.T) *mondoo.Config {
	t.Helper()
	cfg, err := mondoo.LoadConfig("")
	if err != nil {
		t.Fatalf("LoadConfig(\"\"): %v", err)
	}
	t.Cleanup(func() { _ = cfg.Close() })
	return cfg
}

// LoadConfig("") searches: $MONDOO_CONFIG_BASE64, then $MONDOO_CONFIG_PATH, then the
// home file; each says where it came from.
func TestLoadConfigDefaultSearch(t *testing.T) {
	creds := fixtureCredentials(t)
	fixture := testdata(t, "service-account/credentials.json")

	t.Run("MONDOO_CONFIG_PATH", func(t *testing.T) {
		isolateSearch(t)
		t.Setenv("MONDOO_CONFIG_PATH", fixture)
		cfg := loadDefault(t)
		if cfg.Source != "$MONDOO_CONFIG_PATH" || cfg.Path != fixture || cfg.ServiceAccountMRN != creds.MRN || !cfg.Registered {
			t.Errorf("loaded: %+v", cfg)
		}
	})

	t.Run("MONDOO_CONFIG_BASE64", func(t *testing.T) {
		isolateSearch(t)
		t.Setenv("MONDOO_CONFIG_BASE64", strings.TrimSpace(readFile(t, testdata(t, "service-account/credentials.json.b64"))))
		// The base64 document comes first: a config path set too is not read.
		t.Setenv("MONDOO_CONFIG_PATH", testdata(t, "configs/mondoo.yml"))
		cfg := loadDefault(t)
		if cfg.Source != "$MONDOO_CONFIG_BASE64" || cfg.Path != "" || cfg.ServiceAccountMRN != creds.MRN || !cfg.Registered {
			t.Errorf("loaded: %+v", cfg)
		}
	})

	t.Run("home file", func(t *testing.T) {
		home := isolateSearch(t)
		path := filepath.Join(home, ".config", "mondoo", "mondoo.yml")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(readFile(t, fixture)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := loadDefault(t)
		if cfg.Source != "default" || cfg.Path != path || cfg.ServiceAccountMRN != creds.MRN {
			t.Errorf("loaded: %+v", cfg)
		}
	})

	t.Run("nothing found", func(t *testing.T) {
		isolateSearch(t)
		if _, err := os.Stat("/etc/opt/mondoo/mondoo.yml"); err == nil {
			t.Skip("this machine has a system config")
		}
		cfg := loadDefault(t)
		if cfg.Source != "none" || cfg.Registered || cfg.ServiceAccountMRN != "" {
			t.Errorf("loaded: %+v", cfg)
		}
	})

	t.Run("MONDOO_CONFIG_PATH missing", func(t *testing.T) {
		isolateSearch(t)
		missing := filepath.Join(t.TempDir(), "nope.yml")
		t.Setenv("MONDOO_CONFIG_PATH", missing)
		_, err := mondoo.LoadConfig("")
		e := checkError(t, err, mondoo.CodeConfigNotFound, "ErrConfig")
		if e.Path != missing {
			t.Errorf("error path %q, want %q", e.Path, missing)
		}
	})
}

// NewClient(nil, ...) loads its config with the default search.
func TestNewClientNilConfigUsesDefaultSearch(t *testing.T) {
	p := sharedPlatform(t)
	creds := fixtureCredentials(t)
	fixture := testdata(t, "service-account/credentials.json")
	isolateSearch(t)
	t.Setenv("MONDOO_CONFIG_PATH", fixture)

	client, err := mondoo.NewClient(nil, fastOptions(mondoo.WithAPIEndpoint(p.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	configJSON, err := client.ConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(configJSON, creds.MRN) {
		t.Errorf("client config is not the fixture's: %s", configJSON)
	}
	status, err := client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, status.String(), "→ loaded configuration from "+fixture+" using source $MONDOO_CONFIG_PATH\n",
		"→ client authenticated successfully\n")
	if status.ConfigSource != "$MONDOO_CONFIG_PATH" || status.ConfigPath != fixture || !status.Authenticated {
		t.Errorf("fields: %+v", status)
	}

	// The search's errors are NewClient's.
	missing := filepath.Join(t.TempDir(), "nope.yml")
	t.Setenv("MONDOO_CONFIG_PATH", missing)
	if c, err := mondoo.NewClient(nil); err == nil {
		c.Close()
		t.Error("NewClient(nil) with $MONDOO_CONFIG_PATH naming a missing file succeeded")
	} else {
		checkError(t, err, mondoo.CodeConfigNotFound, "ErrConfig")
	}
}
