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
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Option configures NewClient.
type Option func(*clientOptions)

type clientOptions struct {
	apiEndpoint      string
	apiProxy         string
	apiToken         string
	caFile           string
	timeout          time.Duration
	connectTimeout   time.Duration
	retryDelays      []time.Duration
	retryDelaysSet   bool
	retryJitter      time.Duration
	retryJitterSet   bool
	correctClockSkew bool
	requireTLS       bool
}

// WithAPIEndpoint uses this API endpoint instead of the config's (and, for a token
// registration, the token's).
func WithAPIEndpoint(url string) Option { return func(o *clientOptions) { o.apiEndpoint = url } }

// WithAPIProxy sends requests through this proxy (http://host:port), as --api-proxy
// does; $MONDOO_API_PROXY still wins.
func WithAPIProxy(url string) Option { return func(o *clientOptions) { o.apiProxy = url } }

// WithAPIToken authenticates Platform API calls (GraphQL, Pages) with this API token
// instead of the config's service account; $MONDOO_API_TOKEN still wins, as in Go's
// terraform provider. Other calls (Status, Call) are not affected.
func WithAPIToken(token string) Option { return func(o *clientOptions) { o.apiToken = token } }

// WithCAFile trusts the CA certificates in this PEM file beside the system roots.
func WithCAFile(path string) Option { return func(o *clientOptions) { o.caFile = path } }

// WithTimeout bounds every request (connect, send, read the answer); default 30s.
func WithTimeout(d time.Duration) Option { return func(o *clientOptions) { o.timeout = d } }

// WithConnectTimeout bounds the TCP connect and TLS handshake; default 10s.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.connectTimeout = d }
}

// WithRetryDelays sets the sleeps between registration attempts when the platform
// answers Aborted, one retry per entry (default 5s, 10s, 20s); none means no retry.
func WithRetryDelays(delays ...time.Duration) Option {
	return func(o *clientOptions) {
		o.retryDelays = append([]time.Duration(nil), delays...)
		o.retryDelaysSet = true
	}
}

// WithRetryJitter bounds the random jitter added to each retry sleep (default 5s).
func WithRetryJitter(d time.Duration) Option {
	return func(o *clientOptions) { o.retryJitter, o.retryJitterSet = d, true }
}

// WithClockSkewCorrection corrects signing times by the clock skew measured against the
// platform (off by default, as in the Go client).
func WithClockSkewCorrection(on bool) Option {
	return func(o *clientOptions) { o.correctClockSkew = on }
}

// WithRequireTLS refuses an http:// endpoint that is not loopback before any request,
// with CodeInsecureEndpoint, instead of sending credentials in clear text (off by
// default: Status then warns about such an endpoint). Loopback http:// stays allowed.
func WithRequireTLS(on bool) Option {
	return func(o *clientOptions) { o.requireTLS = on }
}

// millis rounds a positive duration up to whole milliseconds, so that 1ns does not
// become 0 (which libmondoo refuses as a timeout).
func millis(d time.Duration) C.uint64_t {
	if d <= 0 {
		return 0
	}
	return C.uint64_t((d + time.Millisecond - 1) / time.Millisecond)
}

// Client is a connection to the platform: a config, its signer and a connection pool.
// It is safe for concurrent use by many goroutines. Close frees it; a finalizer does so
// when it is garbage collected unclosed.
//
// Contexts: every call that takes a context stops when it ends. A context's deadline is
// the call's deadline inside libmondoo (requests are cut to the time left, registration
// retries that would pass it are skipped), and a cancellation (or the deadline passing)
// cancels the call inside libmondoo through a cancel handle: its request's connection is
// closed and the call returns promptly. Either way the call has really ended when it
// returns: with the outcome reached in time, or with an error matching ErrTimeout and
// context.DeadlineExceeded, or ErrCanceled and context.Canceled. A Register or Logout
// that returned such an error never rewrites the config file afterwards, and Close waits
// only for calls to end, which a cancel makes prompt. Status returns the context's error
// when the context ended while it ran (its report would only show the cut-short
// requests).
type Client struct {
	mu      sync.RWMutex // read: a call is using handle; write: Close
	handle  *C.mondoo_client
	timeout time.Duration
}

// NewClient makes a client for cfg (nil: load one with the default search). No request
// is made yet. cfg may be closed afterwards: the client keeps its own copy.
func NewClient(cfg *Config, opts ...Option) (*Client, error) {
	const op = "NewClient"
	o := clientOptions{timeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkText(op, "API endpoint", o.apiEndpoint, "API proxy", o.apiProxy, "API token", o.apiToken, "CA file", o.caFile); err != nil {
		return nil, err
	}
	var options *C.mondoo_client_options
	if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_client_options_new(&options, e) }); err != nil {
		return nil, err
	}
	defer C.mondoo_client_options_free(options)

	setString := func(value string, set func(*C.char, **C.mondoo_error) C.mondoo_result) error {
		if value == "" {
			return nil
		}
		s := C.CString(value)
		defer freeCString(s)
		return callC(op, func(e **C.mondoo_error) C.mondoo_result { return set(s, e) })
	}
	steps := []func() error{
		func() error {
			return setString(o.apiEndpoint, func(s *C.char, e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_api_endpoint(options, s, e)
			})
		},
		func() error {
			return setString(o.apiProxy, func(s *C.char, e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_api_proxy(options, s, e)
			})
		},
		func() error {
			return setString(o.apiToken, func(s *C.char, e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_api_token(options, s, e)
			})
		},
		func() error {
			return setString(o.caFile, func(s *C.char, e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_ca_file(options, s, e)
			})
		},
		func() error {
			return callC(op, func(e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_timeout_ms(options, millis(o.timeout), e)
			})
		},
		func() error {
			if o.connectTimeout == 0 {
				return nil
			}
			return callC(op, func(e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_connect_timeout_ms(options, millis(o.connectTimeout), e)
			})
		},
		func() error {
			if !o.retryDelaysSet {
				return nil
			}
			// A C array: libmondoo copies it, and no Go memory is handed over.
			n := len(o.retryDelays)
			var delays *C.uint64_t
			if n > 0 {
				delays = (*C.uint64_t)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof(C.uint64_t(0)))))
				defer C.free(unsafe.Pointer(delays))
				for i, d := range o.retryDelays {
					unsafe.Slice(delays, n)[i] = C.uint64_t(d / time.Millisecond)
				}
			}
			return callC(op, func(e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_retry_delays_ms(options, delays, C.size_t(n), e)
			})
		},
		func() error {
			if !o.retryJitterSet {
				return nil
			}
			return callC(op, func(e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_retry_jitter_ms(options, C.uint64_t(o.retryJitter/time.Millisecond), e)
			})
		},
		func() error {
			return callC(op, func(e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_correct_clock_skew(options, C.bool(o.correctClockSkew), e)
			})
		},
		func() error {
			return callC(op, func(e **C.mondoo_error) C.mondoo_result {
				return C.go_mondoo_client_options_set_require_tls(options, C.bool(o.requireTLS), e)
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}

	var h *C.mondoo_client
	var err error
	if cfg == nil {
		err = callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_client_new(nil, options, &h, e) })
	} else {
		err = cfg.use(op, func(ch *C.mondoo_config, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_client_new(ch, options, &h, e)
		})
	}
	if err != nil {
		return nil, err
	}
	liveHandles.Add(1)
	c := &Client{handle: h, timeout: o.timeout}
	runtime.SetFinalizer(c, (*Client).Close)
	return c, nil
}

// Close frees the client and its connection pool, after any call still running.
// Calling it more than once is fine.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle != nil {
		C.mondoo_client_free(c.handle)
		liveHandles.Add(-1)
		c.handle = nil
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

// do runs f, one or more C calls on a handle derived for ctx (see callHandle), holding
// the client open meanwhile. f runs on the calling goroutine, so do returns when
// libmondoo does: a cancelled call has really stopped (see Client).
func (c *Client) do(ctx context.Context, op string, f func(h *C.mondoo_client) error) error {
	if err := ctx.Err(); err != nil {
		return contextError(op, err)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return ErrClosed
	}
	h, release, err := callHandle(ctx, op, c.handle)
	if err != nil {
		return err
	}
	defer release()
	err = f(h)
	runtime.KeepAlive(c)
	return withContextCause(err, ctx)
}

// callHandle derives a per-call handle for ctx from base: with a deadline, a handle whose
// operations end by it; with a context that can be cancelled, a handle under a libmondoo
// cancel handle that a watcher goroutine cancels when ctx is done. release stops the
// watcher and frees what was made, in that order; it must be called exactly once. The
// derived handle keeps the client's state alive on its own (libmondoo counts handles),
// so base may be freed before release.
func callHandle(ctx context.Context, op string, base *C.mondoo_client) (h *C.mondoo_client, release func(), err error) {
	var undo []func() // run in reverse by releaseAll
	releaseAll := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			releaseAll()
		}
	}()
	h = base
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil, contextError(op, context.DeadlineExceeded)
		}
		// millis rounds up: at least 1 ms, and never before the context's own deadline.
		derived, err := derive(op, func(out **C.mondoo_client, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_client_with_timeout(base, millis(left), out, e)
		})
		if err != nil {
			return nil, nil, err
		}
		undo = append(undo, func() { freeDerived(derived) })
		h = derived
	}
	if ctx.Done() != nil {
		var cancel *C.mondoo_cancel
		if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_cancel_new(&cancel, e) }); err != nil {
			return nil, nil, err
		}
		// Undone after the watcher below has exited, so no mondoo_cancel_cancel can
		// reach the freed handle.
		undo = append(undo, func() { C.mondoo_cancel_free(cancel) })
		parent := h
		derived, err := derive(op, func(out **C.mondoo_client, e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_client_with_cancel(parent, cancel, out, e)
		})
		if err != nil {
			return nil, nil, err
		}
		undo = append(undo, func() { freeDerived(derived) })
		h = derived
		finished, watcherDone := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(watcherDone)
			select {
			case <-ctx.Done():
				var e *C.mondoo_error
				C.go_mondoo_cancel_cancel(cancel, &e)
				C.mondoo_error_free(e) // NULL: it cannot fail on a live handle
			case <-finished:
			}
		}()
		undo = append(undo, func() {
			close(finished)
			<-watcherDone
		})
	}
	return h, releaseAll, nil
}

// derive makes a per-call client handle (counted in liveHandles; free it with freeDerived).
func derive(op string, newHandle func(out **C.mondoo_client, e **C.mondoo_error) C.mondoo_result) (*C.mondoo_client, error) {
	var derived *C.mondoo_client
	if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return newHandle(&derived, e) }); err != nil {
		return nil, err
	}
	liveHandles.Add(1)
	return derived, nil
}

func freeDerived(h *C.mondoo_client) {
	C.mondoo_client_free(h)
	liveHandles.Add(-1)
}

// Registration is the outcome of Register.
type Registration struct {
	AgentMRN          string `json:"agent_mrn"`
	ServiceAccountMRN string `json:"service_account_mrn"`
	SpaceMRN          string `json:"space_mrn"`
	APIEndpoint       string `json:"api_endpoint"`
	ConfigPath        string `json:"config_path"`
	// AlreadyRegistered is true when the config already had an agent (nothing was registered).
	AlreadyRegistered bool `json:"already_registered"`
}

// RegisterOption configures Register.
type RegisterOption func(*registerOptions)

type registerOptions struct {
	name        string
	annotations map[string]string
}

// WithName names the asset (default: the host name).
func WithName(name string) RegisterOption { return func(o *registerOptions) { o.name = name } }

// WithAnnotations attaches annotations to the asset.
func WithAnnotations(annotations map[string]string) RegisterOption {
	return func(o *registerOptions) { o.annotations = annotations }
}

// Register registers this machine (cnspec login) with a registration token, or with the
// config's service account when token is "", and writes the credentials into the
// config file, keeping every other key. Token errors (ErrToken, ErrTokenExpired) come
// before any request.
func (c *Client) Register(ctx context.Context, token string, opts ...RegisterOption) (*Registration, error) {
	const op = "Client.Register"
	var o registerOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkText(op, "token", token, "name", o.name); err != nil {
		return nil, err
	}
	annotations := ""
	if o.annotations != nil {
		b, err := json.Marshal(o.annotations)
		if err != nil {
			return nil, &Error{Op: op, Code: CodeInvalidArgument, Message: "annotations cannot be JSON: " + err.Error()}
		}
		annotations = string(b)
	}
	var out string
	err := c.do(ctx, op, func(h *C.mondoo_client) error {
		cToken := cString(token, true)
		defer freeSecretCString(cToken)
		cName := cString(o.name, true)
		defer freeCString(cName)
		cAnnotations := cString(annotations, true)
		defer freeCString(cAnnotations)
		var s *C.char
		err := callC(op, func(e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_client_register(h, cToken, cName, cAnnotations, &s, e)
		})
		out = goString(s)
		return err
	})
	if err != nil {
		return nil, err
	}
	var reg Registration
	if err := json.Unmarshal([]byte(out), &reg); err != nil {
		return nil, &Error{Op: op, Code: CodeResponseInvalid, Message: "libmondoo's registration is not the expected JSON: " + err.Error()}
	}
	return &reg, nil
}

// LogoutOption configures Logout.
type LogoutOption func(*logoutOptions)

type logoutOptions struct {
	keepServiceAccount bool
	forceOffline       bool
}

// WithKeepServiceAccount removes only agent_mrn, keeping mrn, private_key, certificate and token.
func WithKeepServiceAccount() LogoutOption {
	return func(o *logoutOptions) { o.keepServiceAccount = true }
}

// WithForceOffline rewrites the config even when the platform cannot be reached or refuses.
func WithForceOffline() LogoutOption { return func(o *logoutOptions) { o.forceOffline = true } }

// Logout unregisters the agent at the platform (cnspec logout) and removes the
// credentials from the config file, keeping every other key.
func (c *Client) Logout(ctx context.Context, opts ...LogoutOption) error {
	const op = "Client.Logout"
	var o logoutOptions
	for _, opt := range opts {
		opt(&o)
	}
	return c.do(ctx, op, func(h *C.mondoo_client) error {
		return callC(op, func(e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_client_logout(h, C.bool(o.keepServiceAccount), C.bool(o.forceOffline), e)
		})
	})
}

// CheckIn sends the agent check-in (AgentManager/HealthCheck) as a running agent does.
func (c *Client) CheckIn(ctx context.Context) error {
	const op = "Client.CheckIn"
	return c.do(ctx, op, func(h *C.mondoo_client) error {
		return callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_client_checkin(h, e) })
	})
}

// Call makes a signed call to any platform service (POST {endpoint}/{service}/{method}):
// in is sent as JSON (nil: {}; a json.RawMessage as is) and the answer is decoded into
// out (nil: discarded).
func (c *Client) Call(ctx context.Context, service, method string, in, out any) error {
	op := "Client.Call " + service + "/" + method
	if err := checkText(op, "service", service, "method", method); err != nil {
		return err
	}
	request := []byte("{}")
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Op: op, Code: CodeInvalidArgument, Message: "request cannot be JSON: " + err.Error()}
		}
		request = b
	}
	var response string
	err := c.do(ctx, op, func(h *C.mondoo_client) error {
		cService := C.CString(service)
		defer freeCString(cService)
		cMethod := C.CString(method)
		defer freeCString(cMethod)
		// The request is a buffer and a length: Go memory holding no Go pointers, lent to
		// C for this call only, so no copy (NULL, 0 is the empty request).
		var body *C.uint8_t
		if len(request) > 0 {
			body = (*C.uint8_t)(unsafe.Pointer(&request[0]))
		}
		var s *C.char
		err := callC(op, func(e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_client_call(h, cService, cMethod, body, C.size_t(len(request)), &s, e)
		})
		runtime.KeepAlive(request)
		response = goString(s)
		return err
	})
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal([]byte(response), out); err != nil {
		return &Error{Op: op, Code: CodeResponseInvalid, Message: "the answer does not decode into out: " + err.Error()}
	}
	return nil
}

// ExchangeReport is what a keyless exchange produced: never the key.
type ExchangeReport struct {
	// Method is "ssh" or "workload_identity".
	Method string `json:"method"`
	// ServiceAccountMrn is the short-lived service account's MRN.
	ServiceAccountMrn string `json:"service_account_mrn"`
	// ScopeMrn is its space or organization ("" when unknown).
	ScopeMrn string `json:"scope_mrn"`
	// ExpiresAt is when its certificate ends (RFC 3339, UTC; "" when it has none).
	ExpiresAt string `json:"expires_at"`
	// APIEndpoint is where the account's calls go, as the exchange answered ("" when it
	// answered none: the config's endpoint is used).
	APIEndpoint string `json:"api_endpoint"`
}

// Exchange exchanges now, for a keyless config (auth method ssh, or a
// type: external_account document), at the platform's SecureTokenService, even when the
// service account in memory is still fresh; later calls use the new one. Every call
// exchanges on first need anyway. A config with a key or token of its own gets
// CodeNotRegistered.
func (c *Client) Exchange(ctx context.Context) (*ExchangeReport, error) {
	const op = "Client.Exchange"
	var answer string
	err := c.do(ctx, op, func(h *C.mondoo_client) error {
		var s *C.char
		err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_client_exchange(h, &s, e) })
		answer = goString(s)
		return err
	})
	if err != nil {
		return nil, err
	}
	var report ExchangeReport
	if err := json.Unmarshal([]byte(answer), &report); err != nil {
		return nil, &Error{Op: op, Code: CodeResponseInvalid, Message: "the exchange report does not decode: " + err.Error()}
	}
	return &report, nil
}

// Sign makes a bearer for these body bytes with the client's service account (a JWT
// whose chash is the SHA-256 of body), to send as "Authorization: Bearer <bearer>".
func (c *Client) Sign(body []byte) (string, error) {
	const op = "Client.Sign"
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return "", ErrClosed
	}
	// body is Go memory holding no Go pointers, lent to C for this call only.
	var ptr *C.uint8_t
	if len(body) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&body[0]))
	}
	var s *C.char
	err := callC(op, func(e **C.mondoo_error) C.mondoo_result {
		return C.go_mondoo_client_sign(c.handle, ptr, C.size_t(len(body)), &s, e)
	})
	runtime.KeepAlive(body)
	runtime.KeepAlive(c)
	if err != nil {
		return "", err
	}
	return goString(s), nil
}

// ConfigJSON is the client's current config (it changes on Register and Logout) as JSON
// with the private key and a static token redacted.
func (c *Client) ConfigJSON() (string, error) {
	const op = "Client.ConfigJSON"
	var out string
	err := c.do(context.Background(), op, func(h *C.mondoo_client) error {
		var s *C.char
		err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_client_config_json(h, &s, e) })
		out = goString(s)
		return err
	})
	return out, err
}
