// SPDX-License-Identifier: Apache-2.0

package mondoo

/*
#include <stdlib.h>
#include "mondoo_go.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"time"
)

// Status is what cnspec status reports: the config, the platform's health and whether
// the platform accepts the credentials. A platform that is down or refuses the
// credentials is reported here (APIError, AuthError), not as an error of Client.Status.
type Status struct {
	ConfigSource string // --config, $MONDOO_CONFIG_PATH, $MONDOO_CONFIG_BASE64, default, none
	ConfigPath   string

	APIEndpoint string
	APIStatus   string // e.g. SERVING
	APITime     string // the platform's time, RFC 3339
	APIVersion  string
	APIError    *StatusError // why the health check failed; nil when it answered

	AgentMRN          string // the agent
	ServiceAccountMRN string
	SpaceMRN          string // the owning space or organization
	Registered        bool
	Authenticated     bool
	AuthError         *StatusError // why the platform refused the credentials (or could not be asked)

	ProxyURL    string
	ProxySource string // where the proxy came from; "none" when requests go direct

	Warnings  []string      // e.g. "possible clock skew detected: 72h0m6s"
	ClockSkew time.Duration // the platform's time minus the local time; 0 when not measured
	RoundTrip time.Duration // of the health check; 0 when not measured
	ExitCode  int           // what cnspec status would exit with: 0 registered and authenticated, else 1
	JSON      string        // the whole report as JSON (cnspec status --output json, plus libmondoo's fields)
	text      string
}

// StatusError is a failure inside a status report.
type StatusError struct {
	Code       Code   `json:"code"`
	RPCStatus  string `json:"rpc_status"` // e.g. Unauthenticated
	RPCCode    int    `json:"rpc_code"`
	HTTPStatus int    `json:"http_status"`
	Message    string `json:"message"`
	Text       string `json:"error"` // as printed, e.g. "rpc error: code = Unauthenticated desc = ..."
}

// String is the report as cnspec status prints it (the seeds' layout).
func (s *Status) String() string { return s.text }

// statusJSON is the part of libmondoo's status JSON that Status exposes.
type statusJSON struct {
	ConfigSource string  `json:"config_source"`
	ConfigPath   *string `json:"config_path"`
	Client       struct {
		MRN            string       `json:"mrn"`
		ServiceAccount string       `json:"service_account"`
		ParentMRN      string       `json:"parentMrn"`
		Registered     bool         `json:"registered"`
		Authenticated  bool         `json:"authenticated"`
		PingPongError  *StatusError `json:"pingPongError"`
	} `json:"client"`
	Upstream struct {
		API struct {
			Endpoint  string       `json:"endpoint"`
			Status    string       `json:"status"`
			Timestamp string       `json:"timestamp"`
			Version   string       `json:"version"`
			Error     *StatusError `json:"error"`
		} `json:"api"`
		Warnings []string `json:"warnings"`
	} `json:"upstream"`
	Proxy struct {
		URL    *string `json:"url"`
		Source string  `json:"source"`
	} `json:"proxy"`
	RoundTripMs      *float64 `json:"round_trip_ms"`
	ClockSkewSeconds *float64 `json:"clock_skew_seconds"`
}

// Status asks the platform for its health and whether it accepts the credentials.
// Errors are only for a config that cannot be used at all (ErrConfig, ErrKey) and for a
// context that ended before the report was complete (ErrTimeout and
// context.DeadlineExceeded, or ErrCanceled and context.Canceled).
func (c *Client) Status(ctx context.Context) (*Status, error) {
	const op = "Client.Status"
	var text, js string
	var exit C.int32_t
	err := c.do(ctx, op, func(h *C.mondoo_client) error {
		var report *C.mondoo_status
		if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_client_status_report(h, &report, e) }); err != nil {
			return err
		}
		defer C.mondoo_status_free(report)
		var t, j *C.char
		steps := []func(e **C.mondoo_error) C.mondoo_result{
			func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_status_to_text(report, &t, e) },
			func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_status_to_json(report, &j, e) },
			func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_status_exit_code(report, &exit, e) },
		}
		var err error
		for _, step := range steps {
			if err = callC(op, step); err != nil {
				break
			}
		}
		text, js = goString(t), goString(j)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The report was made of requests the context cut short: not an answer.
		return nil, contextError(op, ctxErr)
	}
	var raw statusJSON
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		return nil, &Error{Op: op, Code: CodeResponseInvalid, Message: "libmondoo's status is not the expected JSON: " + err.Error()}
	}
	s := &Status{
		ConfigSource:      raw.ConfigSource,
		APIEndpoint:       raw.Upstream.API.Endpoint,
		APIStatus:         raw.Upstream.API.Status,
		APITime:           raw.Upstream.API.Timestamp,
		APIVersion:        raw.Upstream.API.Version,
		APIError:          raw.Upstream.API.Error,
		AgentMRN:          raw.Client.MRN,
		ServiceAccountMRN: raw.Client.ServiceAccount,
		SpaceMRN:          raw.Client.ParentMRN,
		Registered:        raw.Client.Registered,
		Authenticated:     raw.Client.Authenticated,
		AuthError:         raw.Client.PingPongError,
		ProxySource:       raw.Proxy.Source,
		Warnings:          raw.Upstream.Warnings,
		ExitCode:          int(exit),
		JSON:              js,
		text:              text,
	}
	if raw.ConfigPath != nil {
		s.ConfigPath = *raw.ConfigPath
	}
	if raw.Proxy.URL != nil {
		s.ProxyURL = *raw.Proxy.URL
	}
	if raw.RoundTripMs != nil {
		s.RoundTrip = time.Duration(*raw.RoundTripMs * float64(time.Millisecond))
	}
	if raw.ClockSkewSeconds != nil {
		s.ClockSkew = time.Duration(*raw.ClockSkewSeconds * float64(time.Second))
	}
	return s, nil
}
