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
	"fmt"
	"iter"
	"runtime"
	"strings"
	"unicode"
)

// GraphQLLocation is where in the query a GraphQL error is.
type GraphQLLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// GraphQLErrorItem is one entry of a Platform API answer's errors, as the server sent it.
type GraphQLErrorItem struct {
	Message   string            `json:"message"`
	Path      []any             `json:"path,omitempty"` // field names (string) and list indexes (float64)
	Locations []GraphQLLocation `json:"locations,omitempty"`
	// Extensions carries e.g. "code" ("NOT_FOUND", "PERMISSION_DENIED", ...).
	Extensions map[string]any `json:"extensions,omitempty"`
}

// GraphQLError is a Platform API answer that came with errors (HTTP 200, "errors" set).
// It unwraps to an *Error with CodeGraphQLErrors, so errors.Is(err, ErrRPC) and
// errors.As(err, &mondooErr) work as for every other failure.
type GraphQLError struct {
	Op     string
	Errors []GraphQLErrorItem
	// Data is the answer's partial data (the fields that resolved), nil when it had none.
	Data json.RawMessage
	err  *Error
}

func newGraphQLError(op string, items []GraphQLErrorItem, data json.RawMessage) *GraphQLError {
	message := "the Platform API answered with errors: " + printable(items[0].Message)
	if len(items) > 1 {
		message += fmt.Sprintf(" (and %d more)", len(items)-1)
	}
	return &GraphQLError{Op: op, Errors: items, Data: data,
		err: &Error{Op: op, Code: CodeGraphQLErrors, Message: message}}
}

// graphQLErrorFromAnswer is the *GraphQLError of an error libmondoo returned with the
// answer it is about (a pager's page with errors); nil when the answer has no entries.
func graphQLErrorFromAnswer(err *Error, answer string) *GraphQLError {
	var decoded struct {
		Data   json.RawMessage    `json:"data"`
		Errors []GraphQLErrorItem `json:"errors"`
	}
	if json.Unmarshal([]byte(answer), &decoded) != nil || len(decoded.Errors) == 0 {
		return nil
	}
	if string(decoded.Data) == "null" {
		decoded.Data = nil
	}
	return &GraphQLError{Op: err.Op, Errors: decoded.Errors, Data: decoded.Data, err: err}
}

func (e *GraphQLError) Error() string { return e.err.Error() }

// Unwrap gives the *Error (CodeGraphQLErrors) this answer is.
func (e *GraphQLError) Unwrap() error { return e.err }

// printable drops control characters from server text (no terminal escapes in messages).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// variablesJSON is vars as the JSON object libmondoo takes ("" for none), checked to be
// passable as a C string.
func variablesJSON(op string, vars any) (string, error) {
	if vars == nil {
		return "", nil
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return "", &Error{Op: op, Code: CodeInvalidArgument, Message: "variables cannot be JSON: " + err.Error()}
	}
	return string(b), checkText(op, "variables", string(b))
}

// GraphQL sends one Platform API query or mutation (POST {api_endpoint}/query) as the
// credentials say: $MONDOO_CONFIG_BASE64/$MONDOO_CONFIG_PATH, else $MONDOO_API_TOKEN
// (read when the client was made), else the config's service account, whose bearer
// libmondoo caches and shares across calls. vars is marshalled to a JSON object (nil:
// none); the answer's data is decoded into out (nil: discarded).
//
// An answer with errors returns a *GraphQLError (errors.As). Partial data: when such an
// answer also carries data, out has been decoded from it too (and GraphQLError.Data holds
// it), so a caller that accepts partial data checks for *GraphQLError and goes on. A
// non-200 answer is an *Error as for every call (401: ErrUnauthenticated).
func (c *Client) GraphQL(ctx context.Context, query string, vars any, out any) error {
	const op = "Client.GraphQL"
	if err := checkText(op, "query", query); err != nil {
		return err
	}
	variables, err := variablesJSON(op, vars)
	if err != nil {
		return err
	}
	var answer string
	err = c.do(ctx, op, func(h *C.mondoo_client) error {
		cQuery := C.CString(query)
		defer freeCString(cQuery)
		cVars := cString(variables, true)
		defer freeCString(cVars)
		var response *C.mondoo_graphql_response
		if err := callC(op, func(e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_client_graphql(h, cQuery, cVars, &response, e)
		}); err != nil {
			return err
		}
		defer C.mondoo_graphql_response_free(response)
		var s *C.char
		err := callC(op, func(e **C.mondoo_error) C.mondoo_result {
			return C.go_mondoo_graphql_response_json(response, &s, e)
		})
		answer = goString(s)
		return err
	})
	if err != nil {
		return err
	}
	var decoded struct {
		Data   json.RawMessage    `json:"data"`
		Errors []GraphQLErrorItem `json:"errors"`
	}
	if err := json.Unmarshal([]byte(answer), &decoded); err != nil {
		return &Error{Op: op, Code: CodeResponseInvalid, Message: "libmondoo's answer is not the expected JSON: " + err.Error()}
	}
	data := decoded.Data
	if string(data) == "null" {
		data = nil
	}
	var decodeErr error
	if data != nil && out != nil {
		decodeErr = json.Unmarshal(data, out)
	}
	if len(decoded.Errors) > 0 {
		return newGraphQLError(op, decoded.Errors, data)
	}
	if decodeErr != nil {
		return &Error{Op: op, Code: CodeResponseInvalid, Message: "the answer's data does not decode into out: " + decodeErr.Error()}
	}
	return nil
}

// Pages walks a Relay connection page by page: query takes $after: String (and usually
// $first) and selects pageInfo { endCursor hasNextPage } on the connection at path
// (dotted, e.g. "assets" or "space.assets"). Each step yields that page's connection
// object as JSON; the walk ends after the page whose hasNextPage is false. More than
// pageLimit pages yields an error (CodeInvalidArgument) instead of stopping silently.
// An error is yielded once and ends the walk; a page that came with errors is a
// *GraphQLError (errors.As; it unwraps to an *Error with CodeGraphQLErrors) with every
// entry and the page's partial data. Nothing is sent before the loop starts.
//
// ctx covers the whole walk (its deadline and cancellation end the page in flight).
// Breaking out of the loop frees the pager. The walk keeps what it needs of the client,
// so Close does not wait for it.
func (c *Client) Pages(ctx context.Context, query string, vars any, path string, pageLimit int) iter.Seq2[json.RawMessage, error] {
	const op = "Client.Pages"
	return func(yield func(json.RawMessage, error) bool) {
		if err := c.walkPages(ctx, op, query, vars, path, pageLimit, yield); err != nil {
			yield(nil, err)
		}
	}
}

// walkPages yields the pages; an error it returns has not been yielded yet.
func (c *Client) walkPages(ctx context.Context, op, query string, vars any, path string, pageLimit int, yield func(json.RawMessage, error) bool) error {
	if err := checkText(op, "query", query, "path", path); err != nil {
		return err
	}
	variables, err := variablesJSON(op, vars)
	if err != nil {
		return err
	}
	if pageLimit < 0 {
		pageLimit = 0 // refused by libmondoo as any limit below 1
	}
	if err := ctx.Err(); err != nil {
		return contextError(op, err)
	}
	pager, release, err := c.newPager(ctx, op, query, variables, path, pageLimit)
	if err != nil {
		return err
	}
	// The pager holds its own reference on the per-call handle, under the cancel handle
	// release frees: the pager goes first.
	defer release()
	defer func() {
		C.mondoo_graphql_pager_free(pager)
		liveHandles.Add(-1)
	}()
	for {
		var s *C.char
		err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_graphql_pager_next(pager, &s, e) })
		if err != nil {
			return withContextCause(err, ctx)
		}
		if s == nil {
			return nil
		}
		if !yield(json.RawMessage(goString(s)), nil) {
			return nil
		}
	}
}

// newPager makes the pager on a handle derived for ctx; the client is held open only
// while it is made, so a loop body may call the client (or Close it) freely.
func (c *Client) newPager(ctx context.Context, op, query, variables, path string, pageLimit int) (*C.mondoo_graphql_pager, func(), error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return nil, nil, ErrClosed
	}
	h, release, err := callHandle(ctx, op, c.handle)
	if err != nil {
		return nil, nil, err
	}
	cQuery := C.CString(query)
	defer freeCString(cQuery)
	cVars := cString(variables, true)
	defer freeCString(cVars)
	cPath := C.CString(path)
	defer freeCString(cPath)
	var pager *C.mondoo_graphql_pager
	err = callC(op, func(e **C.mondoo_error) C.mondoo_result {
		return C.go_mondoo_graphql_pager_new(h, cQuery, cVars, cPath, C.size_t(pageLimit), &pager, e)
	})
	runtime.KeepAlive(c)
	if err != nil {
		release()
		return nil, nil, err
	}
	liveHandles.Add(1)
	return pager, release, nil
}
