// SPDX-License-Identifier: Apache-2.0

package mondoo

/*
#include <stdlib.h>
#include "mondoo_go.h"
*/
import "C"

import (
	"encoding/json"
	"time"
)

// TokenClaims is what a registration token says, checked offline by libmondoo. It never
// holds the token itself.
type TokenClaims struct {
	SpaceMRN       string            `json:"space"`        // the `space` claim
	APIEndpoint    string            `json:"api_endpoint"` // the claim as written
	Endpoint       string            `json:"endpoint"`     // the endpoint registration will use
	Labels         map[string]string `json:"labels"`
	Description    string            `json:"desc"`
	Issuer         string            `json:"iss"`
	Subject        string            `json:"sub"`
	Owner          string            `json:"owner"`
	Algorithm      string            `json:"alg"`
	CertValidUntil string            `json:"cert_valid_until"`
	Warnings       []string          `json:"warnings"`
	Exp            int64             `json:"exp"` // Unix seconds; 0 when absent
	Nbf            int64             `json:"nbf"`
	Iat            int64             `json:"iat"`
}

// ExpiresAt is the token's expiry; the zero time when it has none.
func (t *TokenClaims) ExpiresAt() time.Time {
	if t.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(t.Exp, 0)
}

// InspectToken checks a registration token offline (no request is made): its form,
// expiry, space and endpoint. Errors match ErrToken (and ErrTokenExpired); no error
// message contains the token.
func InspectToken(token string) (*TokenClaims, error) {
	return InspectTokenWithEndpoint(token, "")
}

// InspectTokenWithEndpoint is InspectToken with the endpoint to use when the token
// names none ("" for none).
func InspectTokenWithEndpoint(token, endpoint string) (*TokenClaims, error) {
	const op = "InspectToken"
	if err := checkText(op, "token", token, "endpoint", endpoint); err != nil {
		return nil, err
	}
	cToken := C.CString(token)
	defer freeSecretCString(cToken)
	cEndpoint := cString(endpoint, true)
	defer freeCString(cEndpoint)
	var s *C.char
	if err := callC(op, func(e **C.mondoo_error) C.mondoo_result { return C.go_mondoo_token_inspect(cToken, cEndpoint, &s, e) }); err != nil {
		return nil, err
	}
	var claims TokenClaims
	if err := json.Unmarshal([]byte(goString(s)), &claims); err != nil {
		return nil, &Error{Op: op, Code: CodeResponseInvalid, Message: "libmondoo's claims are not the expected JSON: " + err.Error()}
	}
	return &claims, nil
}
