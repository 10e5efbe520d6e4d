package interop

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
)

// Bearer returns what makes the Authorization value the Go client's cert plugin sends
// for a body: an ES384 JWT with kid and sub the service account, iss mondoo/ams, a
// minute of validity, chash = hex SHA-256 of the body.
func Bearer(mrn, privateKeyPEM string) (func(body []byte) (string, error), error) {
	block, _ := pem.Decode([]byte(privateKeyPEM))
	if block == nil {
		return nil, errors.New("no PEM private key")
	}
	var key *ecdsa.PrivateKey
	if parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		ecKey, ok := parsed.(*ecdsa.PrivateKey)
		if !ok {
			return nil, errors.New("the private key is not an ECDSA key")
		}
		key = ecKey
	} else if key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: key},
		(&jose.SignerOptions{}).WithHeader("kid", mrn).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return func(body []byte) (string, error) {
		now := time.Now()
		claims := jwt.Claims{
			Subject: mrn, Issuer: "mondoo/ams", IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(60 * time.Second)),
		}
		chash := struct {
			ContentHash string `json:"chash"`
		}{fmt.Sprintf("%x", sha256.Sum256(body))}
		token, err := jwt.Signed(signer).Claims(claims).Claims(chash).CompactSerialize()
		if err != nil {
			return "", err
		}
		return "Bearer " + token, nil
	}, nil
}
