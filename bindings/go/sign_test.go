// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// credentials is the fixture service account (a test key, not a real credential).
type credentials struct {
	MRN         string `json:"mrn"`
	PrivateKey  string `json:"private_key"`
	Certificate string `json:"certificate"`
}

func fixtureCredentials(t testing.TB) credentials {
	t.Helper()
	var c credentials
	if err := json.Unmarshal([]byte(readFile(t, testdata(t, "service-account/credentials.json"))), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func pemBlock(t testing.TB, text string) []byte {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

type bearerClaims struct {
	Chash string `json:"chash"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
	Iss   string `json:"iss"`
	Nbf   int64  `json:"nbf"`
	Sub   string `json:"sub"`
}

// verifyBearer checks a bearer as the platform does: ES384 over header.claims with the
// certificate's key, kid and sub the account, chash the SHA-256 of body, times near now.
func verifyBearer(t testing.TB, creds credentials, bearer string, body []byte) {
	t.Helper()
	parts := strings.Split(bearer, ".")
	if len(parts) != 3 {
		t.Fatalf("bearer has %d parts", len(parts))
	}
	var header struct{ Alg, Kid, Typ string }
	var claims bearerClaims
	for i, into := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatal(err)
		}
	}
	if header.Alg != "ES384" || header.Kid != creds.MRN || claims.Sub != creds.MRN || claims.Iss != "mondoo/ams" {
		t.Errorf("header %+v claims %+v", header, claims)
	}
	sum := sha256.Sum256(body)
	if claims.Chash != hex.EncodeToString(sum[:]) {
		t.Errorf("chash %s is not the body's", claims.Chash)
	}
	now := time.Now().Unix()
	if claims.Iat > now+60 || claims.Exp < now || claims.Nbf > now+60 {
		t.Errorf("times off now (%d): %+v", now, claims)
	}
	cert, err := x509.ParseCertificate(pemBlock(t, creds.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 96 {
		t.Fatalf("signature: %d bytes, %v", len(sig), err)
	}
	digest := sha512.Sum384([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])
	if !ecdsa.Verify(cert.PublicKey.(*ecdsa.PublicKey), digest[:], r, s) {
		t.Error("signature does not verify with the certificate")
	}
}

// fixtureClient is a client of the fixture service account; it needs a platform only
// when opts name one (signing makes no request).
func fixtureClient(t testing.TB, opts ...mondoo.Option) *mondoo.Client {
	t.Helper()
	return clientFor(t, testdata(t, "service-account/credentials.json"), opts...)
}

func TestSignVerifiesLikeThePlatform(t *testing.T) {
	creds := fixtureCredentials(t)
	client := fixtureClient(t)
	for _, body := range [][]byte{nil, []byte("{}"), []byte("with\x00nul bytes\x00"), []byte(strings.Repeat("x", 1<<20))} {
		bearer, err := client.Sign(body)
		if err != nil {
			t.Fatal(err)
		}
		verifyBearer(t, creds, bearer, body)
		if strings.Contains(bearer, "PRIVATE") {
			t.Fatal("key in bearer")
		}
	}
	// The Go-native bearer of the benchmark is the same kind of bearer.
	verifyBearer(t, creds, newGoSigner(t, creds).sign([]byte("{}")), []byte("{}"))
}

// goSigner makes the bearer natively, as the Go client does: encoding/json claims,
// crypto/ecdsa P-384 over SHA-384, raw r||s, base64url.
type goSigner struct {
	key    *ecdsa.PrivateKey
	header string
	sub    string
}

func newGoSigner(t testing.TB, creds credentials) *goSigner {
	t.Helper()
	parsed, err := x509.ParsePKCS8PrivateKey(pemBlock(t, creds.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	header, _ := json.Marshal(map[string]string{"alg": "ES384", "kid": creds.MRN, "typ": "JWT"})
	return &goSigner{key: parsed.(*ecdsa.PrivateKey), header: base64.RawURLEncoding.EncodeToString(header), sub: creds.MRN}
}

func (g *goSigner) sign(body []byte) string {
	sum := sha256.Sum256(body)
	now := time.Now().Unix()
	claims, _ := json.Marshal(bearerClaims{Chash: hex.EncodeToString(sum[:]), Exp: now + 60, Iat: now, Iss: "mondoo/ams", Nbf: now, Sub: g.sub})
	input := g.header + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha512.Sum384([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, g.key, digest[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 96)
	r.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// benchBody is a typical request body (a few hundred bytes of JSON).
var benchBody = []byte(`{"asset":{"name":"bench-host","platform":{"name":"debian","release":"12","arch":"x86_64"},"labels":{"env":"prod","team":"platform"}},"scores":[` + strings.Repeat(`{"qrId":"//policy.api.mondoo.app/queries/x","value":100},`, 4) + `{}]}`)

func BenchmarkSignLibmondoo(b *testing.B) {
	client := fixtureClient(b)
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := client.Sign(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignGoECDSA(b *testing.B) {
	signer := newGoSigner(b, fixtureCredentials(b))
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = signer.sign(benchBody)
	}
}
