// SPDX-License-Identifier: Apache-2.0

package mondoo

/*
#include <stdlib.h>
#include <string.h>
#include "mondoo_go.h"
*/
import "C"

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"
	"unsafe"
)

// Code is a libmondoo result code (mondoo_result). Values are stable; they are grouped
// by area in blocks of a thousand, which Class reads.
type Code uint32

// The result codes of include/mondoo.h.
const (
	CodeOK                       Code = C.MONDOO_RESULT_OK
	CodeNullParameter            Code = C.MONDOO_RESULT_NULL_PARAMETER
	CodeInvalidUTF8              Code = C.MONDOO_RESULT_INVALID_UTF8
	CodePanic                    Code = C.MONDOO_RESULT_PANIC
	CodeInvalidArgument          Code = C.MONDOO_RESULT_INVALID_ARGUMENT
	CodeIO                       Code = C.MONDOO_RESULT_IO
	CodeConfigNotFound           Code = C.MONDOO_RESULT_CONFIG_NOT_FOUND
	CodeConfigParse              Code = C.MONDOO_RESULT_CONFIG_PARSE
	CodeConfigInvalid            Code = C.MONDOO_RESULT_CONFIG_INVALID
	CodeConfigUnsupportedAuth    Code = C.MONDOO_RESULT_CONFIG_UNSUPPORTED_AUTH
	CodeConfigUnsupportedSource  Code = C.MONDOO_RESULT_CONFIG_UNSUPPORTED_SOURCE
	CodeConfigNotWritable        Code = C.MONDOO_RESULT_CONFIG_NOT_WRITABLE
	CodeConfigTooLarge           Code = C.MONDOO_RESULT_CONFIG_TOO_LARGE
	CodeNotRegistered            Code = C.MONDOO_RESULT_NOT_REGISTERED
	CodeTokenMalformed           Code = C.MONDOO_RESULT_TOKEN_MALFORMED
	CodeTokenExpired             Code = C.MONDOO_RESULT_TOKEN_EXPIRED
	CodeTokenNotYetValid         Code = C.MONDOO_RESULT_TOKEN_NOT_YET_VALID
	CodeTokenNoSpace             Code = C.MONDOO_RESULT_TOKEN_NO_SPACE
	CodeTokenNoEndpoint          Code = C.MONDOO_RESULT_TOKEN_NO_ENDPOINT
	CodeTokenInvalidClaim        Code = C.MONDOO_RESULT_TOKEN_INVALID_CLAIM
	CodeTokenTooLarge            Code = C.MONDOO_RESULT_TOKEN_TOO_LARGE
	CodeKeyInvalid               Code = C.MONDOO_RESULT_KEY_INVALID
	CodeKeyWrongCurve            Code = C.MONDOO_RESULT_KEY_WRONG_CURVE
	CodeKeyUnsupportedType       Code = C.MONDOO_RESULT_KEY_UNSUPPORTED_TYPE
	CodeKeyEncrypted             Code = C.MONDOO_RESULT_KEY_ENCRYPTED
	CodeKeyCertificateMismatch   Code = C.MONDOO_RESULT_KEY_CERTIFICATE_MISMATCH
	CodeCertificateInvalid       Code = C.MONDOO_RESULT_CERTIFICATE_INVALID
	CodeSigningFailed            Code = C.MONDOO_RESULT_SIGNING_FAILED
	CodeBearerInvalid            Code = C.MONDOO_RESULT_BEARER_INVALID
	CodeSSHAgentUnavailable      Code = C.MONDOO_RESULT_SSH_AGENT_UNAVAILABLE
	CodeSSHAgentNoKeys           Code = C.MONDOO_RESULT_SSH_AGENT_NO_KEYS
	CodeSSHKeyUnknown            Code = C.MONDOO_RESULT_SSH_KEY_UNKNOWN
	CodeIdentityTokenExpired     Code = C.MONDOO_RESULT_IDENTITY_TOKEN_EXPIRED
	CodeIdentityTokenAudience    Code = C.MONDOO_RESULT_IDENTITY_TOKEN_AUDIENCE
	CodeIdentityTokenUnavailable Code = C.MONDOO_RESULT_IDENTITY_TOKEN_UNAVAILABLE
	CodeExchangeRefused          Code = C.MONDOO_RESULT_EXCHANGE_REFUSED
	CodeExchangeClockSkew        Code = C.MONDOO_RESULT_EXCHANGE_CLOCK_SKEW
	CodeNetwork                  Code = C.MONDOO_RESULT_NETWORK
	CodeTimeout                  Code = C.MONDOO_RESULT_TIMEOUT
	CodeTLS                      Code = C.MONDOO_RESULT_TLS
	CodeProxy                    Code = C.MONDOO_RESULT_PROXY
	CodeDNS                      Code = C.MONDOO_RESULT_DNS
	CodeResponseTooLarge         Code = C.MONDOO_RESULT_RESPONSE_TOO_LARGE
	CodeResponseInvalid          Code = C.MONDOO_RESULT_RESPONSE_INVALID
	CodeInsecureEndpoint         Code = C.MONDOO_RESULT_INSECURE_ENDPOINT
	CodeCanceled                 Code = C.MONDOO_RESULT_CANCELED
	CodeRPCCanceled              Code = C.MONDOO_RESULT_RPC_CANCELED
	CodeRPCUnknown               Code = C.MONDOO_RESULT_RPC_UNKNOWN
	CodeRPCInvalidArgument       Code = C.MONDOO_RESULT_RPC_INVALID_ARGUMENT
	CodeRPCDeadlineExceeded      Code = C.MONDOO_RESULT_RPC_DEADLINE_EXCEEDED
	CodeRPCNotFound              Code = C.MONDOO_RESULT_RPC_NOT_FOUND
	CodeRPCAlreadyExists         Code = C.MONDOO_RESULT_RPC_ALREADY_EXISTS
	CodeRPCPermissionDenied      Code = C.MONDOO_RESULT_RPC_PERMISSION_DENIED
	CodeRPCResourceExhausted     Code = C.MONDOO_RESULT_RPC_RESOURCE_EXHAUSTED
	CodeRPCFailedPrecondition    Code = C.MONDOO_RESULT_RPC_FAILED_PRECONDITION
	CodeRPCAborted               Code = C.MONDOO_RESULT_RPC_ABORTED
	CodeRPCOutOfRange            Code = C.MONDOO_RESULT_RPC_OUT_OF_RANGE
	CodeRPCUnimplemented         Code = C.MONDOO_RESULT_RPC_UNIMPLEMENTED
	CodeRPCInternal              Code = C.MONDOO_RESULT_RPC_INTERNAL
	CodeRPCUnavailable           Code = C.MONDOO_RESULT_RPC_UNAVAILABLE
	CodeRPCDataLoss              Code = C.MONDOO_RESULT_RPC_DATA_LOSS
	CodeRPCUnauthenticated       Code = C.MONDOO_RESULT_RPC_UNAUTHENTICATED
	CodeGraphQLErrors            Code = C.MONDOO_RESULT_GRAPHQL_ERRORS
)

// String is the code's name in the header, e.g. "MONDOO_RESULT_TOKEN_EXPIRED".
func (c Code) String() string {
	return C.GoString(C.mondoo_result_name(C.uint32_t(c)))
}

// Class is the area a code belongs to; each has a sentinel error.
type Class int

// The classes are libmondoo's (mondoo_error_class).
const (
	ClassOK            Class = C.MONDOO_ERROR_CLASS_OK
	ClassInternal      Class = C.MONDOO_ERROR_CLASS_INTERNAL       // bad arguments, I/O, a panic inside libmondoo
	ClassConfig        Class = C.MONDOO_ERROR_CLASS_CONFIG         // the configuration
	ClassNotRegistered Class = C.MONDOO_ERROR_CLASS_NOT_REGISTERED // no service account where one is needed
	ClassToken         Class = C.MONDOO_ERROR_CLASS_TOKEN          // a registration token
	ClassKey           Class = C.MONDOO_ERROR_CLASS_KEY            // keys, certificates, signing
	ClassNetwork       Class = C.MONDOO_ERROR_CLASS_NETWORK        // transport: connect, TLS, proxy, timeouts, cancels, bad answers
	ClassRPC           Class = C.MONDOO_ERROR_CLASS_RPC            // an error answered by the platform
)

// Class is libmondoo's class of the code (mondoo_result_class): one table for every
// binding.
func (c Code) Class() Class {
	return Class(C.mondoo_result_class(C.uint32_t(c)))
}

// Sentinel errors, matched with errors.Is against any *Error of their class or code.
var (
	ErrInternal         = errors.New("mondoo: internal or argument error")
	ErrConfig           = errors.New("mondoo: configuration error")
	ErrNotRegistered    = errors.New("mondoo: client is not registered")
	ErrToken            = errors.New("mondoo: registration token error")
	ErrTokenExpired     = errors.New("mondoo: registration token expired")
	ErrKey              = errors.New("mondoo: key or certificate error")
	ErrNetwork          = errors.New("mondoo: network error")
	ErrTimeout          = errors.New("mondoo: timeout")
	ErrCanceled         = errors.New("mondoo: canceled")
	ErrRPC              = errors.New("mondoo: platform error")
	ErrUnauthenticated  = errors.New("mondoo: unauthenticated")
	ErrPermissionDenied = errors.New("mondoo: permission denied")
	// ErrClosed is returned (as is) by any method of a closed Client or Config.
	ErrClosed = errors.New("mondoo: use of a closed handle")
)

var classSentinels = map[error]Class{
	ErrInternal:      ClassInternal,
	ErrConfig:        ClassConfig,
	ErrNotRegistered: ClassNotRegistered,
	ErrToken:         ClassToken,
	ErrKey:           ClassKey,
	ErrNetwork:       ClassNetwork,
	ErrRPC:           ClassRPC,
}

var codeSentinels = map[error]Code{
	ErrTokenExpired:     CodeTokenExpired,
	ErrTimeout:          CodeTimeout,
	ErrCanceled:         CodeCanceled,
	ErrUnauthenticated:  CodeRPCUnauthenticated,
	ErrPermissionDenied: CodeRPCPermissionDenied,
}

// Error is a failure reported by libmondoo. Its message names what failed and where and
// never holds a secret.
type Error struct {
	Op         string // the Go function that failed, e.g. "Client.Register"
	Code       Code
	RPCCode    int // gRPC status code answered by the platform (1..16); 0 when none
	HTTPStatus int // HTTP status of the answer that caused it; 0 when none
	Message    string
	// Path is the file the error is about: the config for every configuration error and
	// for CodeNotRegistered ("" for a config from $MONDOO_CONFIG_BASE64), or a key or CA
	// file; "" when none.
	Path string
	// ClockSkew is the clock skew the client measured before this call failed (Status, or
	// WithClockSkewCorrection): the platform's time minus the local time, positive when
	// the platform's clock is ahead, the sign of Status.ClockSkew. Set on errors of calls
	// made as the service account; 0 when nothing was measured.
	ClockSkew time.Duration
	// orphanedCredentials: see OrphanedCredentials; unexported so that printing an
	// *Error with %+v never shows the key
	orphanedCredentials []byte
	cause               error // a context error when the caller's context ended the call
}

// OrphanedCredentials is set when Register registered an agent but could not write its
// config afterwards (the message names the agent): the agent's credentials as a JSON
// config of their own (agent_mrn, mrn, space_mrn, private_key or token, certificate,
// api_endpoint). Save it (mode 0600) and use it as the config, or log out with it to
// unregister the agent. It holds the private key: never log it, and clear the slice
// when done. nil when the error carries none.
func (e *Error) OrphanedCredentials() []byte {
	if e.orphanedCredentials == nil {
		return nil
	}
	return append([]byte(nil), e.orphanedCredentials...)
}

func (e *Error) Error() string {
	if e.Op == "" {
		return "mondoo: " + e.Message
	}
	return "mondoo: " + e.Op + ": " + e.Message
}

// Class is the area of the error's code.
func (e *Error) Class() Class { return e.Code.Class() }

// Is matches the class and code sentinels (ErrConfig, ErrTokenExpired, ...) and any
// *Error with the same Code.
func (e *Error) Is(target error) bool {
	if class, ok := classSentinels[target]; ok {
		return e.Code.Class() == class
	}
	if code, ok := codeSentinels[target]; ok {
		return e.Code == code
	}
	if t, ok := target.(*Error); ok {
		return t.Code == e.Code
	}
	return false
}

// Unwrap gives the context error (context.DeadlineExceeded or context.Canceled) when
// the caller's context ended the call.
func (e *Error) Unwrap() error { return e.cause }

// callC runs one fallible C call, a go_ function of mondoo_go.h that hands back the
// call's own error object (taken inside the same C call, so no OS thread needs locking),
// and turns that error into an *Error.
func callC(op string, f func(errorOut **C.mondoo_error) C.mondoo_result) error {
	var e *C.mondoo_error
	if r := f(&e); r != C.MONDOO_RESULT_OK {
		return takeError(op, r, e)
	}
	return nil
}

// takeError turns a call's error object into an *Error and frees it; a NULL object (an
// internal failure to make one) gives the code's name.
func takeError(op string, r C.mondoo_result, e *C.mondoo_error) error {
	if e == nil {
		return &Error{Op: op, Code: Code(r), Message: Code(r).String()}
	}
	defer C.mondoo_error_free(e)
	out := &Error{
		Op:      op,
		Code:    Code(C.mondoo_error_code(e)),
		Message: C.GoString(C.mondoo_error_message(e)),
	}
	if rpc := int(C.mondoo_error_rpc_code(e)); rpc > 0 {
		out.RPCCode = rpc
	}
	if status := int(C.mondoo_error_http_status(e)); status > 0 {
		out.HTTPStatus = status
	}
	if p := C.mondoo_error_path(e); p != nil {
		out.Path = C.GoString(p)
	}
	if skew := float64(C.mondoo_error_clock_skew_seconds(e)); !math.IsNaN(skew) {
		out.ClockSkew = time.Duration(skew * float64(time.Second))
	}
	var credentials *C.char
	if C.mondoo_error_orphaned_credentials_json(e, &credentials) == C.MONDOO_RESULT_OK && credentials != nil {
		out.orphanedCredentials = C.GoBytes(unsafe.Pointer(credentials), C.int(C.strlen(credentials)))
		C.mondoo_string_free(credentials) // wiped by libmondoo
	}
	if answer := C.mondoo_error_graphql_response_json(e); answer != nil {
		if gqlErr := graphQLErrorFromAnswer(out, C.GoString(answer)); gqlErr != nil {
			return gqlErr
		}
	}
	return out
}

// contextError is what a call returns when the caller's context ended before libmondoo
// was called (or, for Status, while it ran): a timeout (errors.Is ErrTimeout and
// context.DeadlineExceeded) or a cancellation (errors.Is ErrCanceled and
// context.Canceled).
func contextError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, Code: CodeTimeout, Message: "the context's deadline passed", cause: err}
	}
	return &Error{Op: op, Code: CodeCanceled, Message: "the context was cancelled", cause: err}
}

// withContextCause ties libmondoo's CANCELED or TIMEOUT to the caller's context when
// that context is what ended the call: its error becomes the cause (errors.Is
// context.Canceled / context.DeadlineExceeded), and a cancel fired by the context's
// deadline reads as the timeout it is. libmondoo's own deadline is never before the
// context's (rounded up to whole ms); the slack only absorbs timer rounding when it
// fires a hair before Go's timer.
func withContextCause(err error, ctx context.Context) error {
	var e *Error
	if !errors.As(err, &e) || e.cause != nil {
		return err
	}
	const slack = time.Millisecond
	ctxErr := ctx.Err()
	if ctxErr == nil {
		if deadline, ok := ctx.Deadline(); ok && e.Code == CodeTimeout && time.Until(deadline) <= slack {
			e.cause = context.DeadlineExceeded
		}
		return err
	}
	switch {
	case e.Code == CodeCanceled && errors.Is(ctxErr, context.DeadlineExceeded):
		e.Code, e.Message, e.cause = CodeTimeout, "the context's deadline passed: "+e.Message, ctxErr
	case e.Code == CodeCanceled, e.Code == CodeTimeout && errors.Is(ctxErr, context.DeadlineExceeded):
		e.cause = ctxErr
	}
	return err
}

// checkText refuses Go strings holding a NUL byte: C would see them cut short at it.
func checkText(op string, named ...string) error {
	for i := 0; i+1 < len(named); i += 2 {
		if strings.IndexByte(named[i+1], 0) >= 0 {
			return &Error{Op: op, Code: CodeInvalidArgument, Message: named[i] + " contains a NUL byte"}
		}
	}
	return nil
}

// goString copies a string libmondoo returned and frees it.
func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.mondoo_string_free(s)
	return C.GoString(s)
}

// cString is a C copy of s for the duration of one call (free it with freeCString);
// "" gives NULL when nullIfEmpty.
func cString(s string, nullIfEmpty bool) *C.char {
	if s == "" && nullIfEmpty {
		return nil
	}
	return C.CString(s)
}

func freeCString(s *C.char) {
	if s != nil {
		C.free(unsafe.Pointer(s))
	}
}

// freeSecretCString wipes a C copy of a secret (a registration token) before freeing it.
func freeSecretCString(s *C.char) {
	if s != nil {
		C.memset(unsafe.Pointer(s), 0, C.strlen(s))
		C.free(unsafe.Pointer(s))
	}
}

// Version is libmondoo's version, e.g. "0.1.0".
func Version() string { return C.GoString(C.mondoo_version()) }
