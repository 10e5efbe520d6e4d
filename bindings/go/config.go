// SPDX-License-Identifier: Apache-2.0

package mondoo

/*
#include <stdlib.h>
#include "mondoo_go.h"
*/
import "C"

import (
	"runtime"
	"sync"
)

// Config is a loaded configuration: a service account's credentials or an agent config.
// Its fields are copies; the private key and a static token stay inside libmondoo and are never exposed.
// A Config is safe for concurrent use; Close frees it (a finalizer does so otherwise).
type Config struct {
	ServiceAccountMRN string // the service account (`mrn`); "" when unregistered
	AgentMRN          string // the agent (`agent_mrn`); "" when not registered as an agent
	APIEndpoint       string // normalized; https://us.api.mondoo.com when the config names none
	SpaceMRN          string // the space or organization: scope_mrn, else space_mrn, else parent_mrn
	Source            string // as status prints it: --config, $MONDOO_CONFIG_PATH, $MONDOO_CONFIG_BASE64, default, none
	Path              string // the file read (or that registration would write); "" when none
	Registered        bool   // holds a service account (mrn with private_key or a static token)

	mu     sync.RWMutex
	handle *C.mondoo_config
}

// LoadConfig loads a configuration from path (YAML or JSON), or with the Go client's
// default search when path is "": $MONDOO_CONFIG_BASE64, $MONDOO_CONFIG_PATH, the home
// file, the system file. Finding nothing by the search gives an empty, unregistered
// Config; an explicit path must exist (to register into a new file, use
// LoadConfigForRegistration).
func LoadConfig(path string) (*Config, error) {
	return loadConfig("LoadConfig", path, func(p *C.char, out **C.mondoo_config, e **C.mondoo_error) C.mondoo_result {
		return C.go_mondoo_config_load(p, out, e)
	})
}

// LoadConfigForRegistration loads the config a registration starts from, as cnspec login
// does: like LoadConfig, except that a missing file (path, or $MONDOO_CONFIG_PATH when
// path is "") is not an error but an empty Config whose Path is where Client.Register
// will write it, creating the file 0600 and missing directories 0700. With
// $MONDOO_CONFIG_BASE64 set and a path given, registration writes to path.
func LoadConfigForRegistration(path string) (*Config, error) {
	return loadConfig("LoadConfigForRegistration", path, func(p *C.char, out **C.mondoo_config, e **C.mondoo_error) C.mondoo_result {
		return C.go_mondoo_config_load_for_registration(p, out, e)
	})
}

// loadConfig runs one of libmondoo's loaders and copies the config's fields.
func loadConfig(op, path string, load func(*C.char, **C.mondoo_config, **C.mondoo_error) C.mondoo_result) (*Config, error) {
	if err := checkText(op, "path", path); err != nil {
		return nil, err
	}
	cPath := cString(path, true)
	defer freeCString(cPath)
	var h *C.mondoo_config
	if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return load(cPath, &h, e) }); err != nil {
		return nil, err
	}
	liveHandles.Add(1)
	cfg := &Config{handle: h}
	runtime.SetFinalizer(cfg, (*Config).Close)
	fields := []struct {
		dst *string
		get func(*C.mondoo_config, **C.char, **C.mondoo_error) C.mondoo_result
	}{
		{&cfg.ServiceAccountMRN, func(h *C.mondoo_config, out **C.char, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_config_service_account_mrn(h, out, e)
		}},
		{&cfg.AgentMRN, func(h *C.mondoo_config, out **C.char, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_config_agent_mrn(h, out, e)
		}},
		{&cfg.APIEndpoint, func(h *C.mondoo_config, out **C.char, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_config_api_endpoint(h, out, e)
		}},
		{&cfg.SpaceMRN, func(h *C.mondoo_config, out **C.char, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_config_space_mrn(h, out, e)
		}},
		{&cfg.Source, func(h *C.mondoo_config, out **C.char, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_config_source(h, out, e)
		}},
		{&cfg.Path, func(h *C.mondoo_config, out **C.char, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_config_path(h, out, e)
		}},
	}
	for _, f := range fields {
		var s *C.char
		if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return f.get(h, &s, e) }); err != nil {
			cfg.Close()
			return nil, err
		}
		*f.dst = goString(s)
	}
	var registered C.bool
	if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_config_is_registered(h, &registered, e) }); err != nil {
		cfg.Close()
		return nil, err
	}
	cfg.Registered = bool(registered)
	return cfg, nil
}

// Get reads any field by key (case-insensitive, environment overrides applied, scalars
// as text); ok is false when the key is absent. "private_key" and "token" are refused.
func (c *Config) Get(key string) (value string, ok bool, err error) {
	if err := checkText("Config.Get", "key", key); err != nil {
		return "", false, err
	}
	cKey := C.CString(key)
	defer freeCString(cKey)
	var s *C.char
	err = c.use("Config.Get", func(h *C.mondoo_config, e **C.mondoo_error) C.mondoo_result {
		return C.go_mondoo_config_get(h, cKey, &s, e)
	})
	if err != nil || s == nil {
		return "", false, err
	}
	return goString(s), true, nil
}

// JSON is the whole config as a JSON object with the private key and a static token redacted.
func (c *Config) JSON() (string, error) {
	var s *C.char
	err := c.use("Config.JSON", func(h *C.mondoo_config, e **C.mondoo_error) C.mondoo_result {
		return C.go_mondoo_config_to_json(h, &s, e)
	})
	return goString(s), err
}

// use runs one C call on the handle, holding it open for the call's duration.
func (c *Config) use(op string, f func(*C.mondoo_config, **C.mondoo_error) C.mondoo_result) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return ErrClosed
	}
	err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return f(c.handle, e) })
	runtime.KeepAlive(c)
	return err
}

// Close frees the config. Clients made from it keep their own copy. Calling Close more
// than once is fine.
func (c *Config) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle != nil {
		C.mondoo_config_free(c.handle)
		liveHandles.Add(-1)
		c.handle = nil
		runtime.SetFinalizer(c, nil)
	}
	return nil
}
