// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

const graphqlSpace = "//captain.api.mondoo.app/spaces/go-graphql"

const assetsPage = `query($space: String!, $first: Int, $after: String) {
  assets(spaceMrn: $space, first: $first, after: $after) {
    totalCount edges { node { name } } pageInfo { endCursor hasNextPage } } }`

// assetsConnection is one page of assetsPage's connection.
type assetsConnection struct {
	TotalCount int `json:"totalCount"`
	Edges      []struct {
		Node struct {
			Name string `json:"name"`
		} `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		EndCursor   string `json:"endCursor"`
		HasNextPage bool   `json:"hasNextPage"`
	} `json:"pageInfo"`
}

// graphqlRecord is a recorded /query request with the credential that authenticated it.
type graphqlRecord struct {
	Service    string `json:"service"`
	Path       string `json:"path"`
	Credential *struct {
		Kind         string `json:"kind"`
		Subject      string `json:"subject"`
		BearerSHA256 string `json:"bearer_sha256"`
	} `json:"credential"`
}

func graphqlRequests(t testing.TB, p *platform) []graphqlRecord {
	t.Helper()
	var all []graphqlRecord
	p.admin(t, "requests", nil, &all)
	var out []graphqlRecord
	for _, r := range all {
		if r.Service == "GraphQL" {
			out = append(out, r)
		}
	}
	return out
}

// spaceAccount creates a service account in space at p; its credentials file and MRN.
func spaceAccount(t testing.TB, p *platform, space string) (path, mrn string) {
	t.Helper()
	var account map[string]any
	p.admin(t, "service-account", map[string]any{"space_mrn": space}, &account)
	path = filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, mustJSON(t, account), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, account["mrn"].(string)
}

func addAssets(t testing.TB, p *platform, space string, count int) {
	t.Helper()
	p.admin(t, "assets", map[string]any{"space_mrn": space, "count": count}, nil)
}

type viewerAndSpace struct {
	Viewer *struct {
		MRN string `json:"mrn"`
	} `json:"viewer"`
	Space *struct {
		MRN string `json:"mrn"`
	} `json:"space"`
}

const viewerAndSpaceQuery = `query($s: String!) { viewer { mrn } space(mrn: $s) { mrn } }`

// A service account's query with variables decodes into a struct; three calls reuse one
// bearer (libmondoo's cache), none carries chash-bound signatures per call.
func TestGraphQLServiceAccountWithVariables(t *testing.T) {
	p := newPlatform(t)
	path, mrn := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	for i := 0; i < 3; i++ {
		var data viewerAndSpace
		if err := client.GraphQL(context.Background(), viewerAndSpaceQuery, map[string]string{"s": graphqlSpace}, &data); err != nil {
			t.Fatal(err)
		}
		if data.Viewer == nil || data.Viewer.MRN != mrn || data.Space == nil || data.Space.MRN != graphqlSpace {
			t.Fatalf("data %+v", data)
		}
	}
	// nil out: the answer is checked and discarded
	if err := client.GraphQL(context.Background(), "{ viewer { mrn } }", nil, nil); err != nil {
		t.Fatal(err)
	}
	recorded := graphqlRequests(t, p)
	if len(recorded) != 4 {
		t.Fatalf("%d GraphQL requests, want 4", len(recorded))
	}
	bearers := map[string]bool{}
	for _, r := range recorded {
		if r.Path != "/query" || r.Credential == nil || r.Credential.Kind != "service-account" || r.Credential.Subject != mrn {
			t.Fatalf("recorded %+v", r)
		}
		bearers[r.Credential.BearerSHA256] = true
	}
	if len(bearers) != 1 {
		t.Errorf("%d distinct bearers for 4 calls within the bearer's window, want 1", len(bearers))
	}
}

// $MONDOO_API_TOKEN (read when the client is made) authenticates as the API token, over
// a service-account config and without any config.
func TestGraphQLAPITokenFromEnvironment(t *testing.T) {
	p := newPlatform(t)
	var minted struct{ Token, MRN string }
	p.admin(t, "api-token", map[string]any{"space_mrn": graphqlSpace}, &minted)
	t.Setenv("MONDOO_API_TOKEN", minted.Token)

	path, _ := spaceAccount(t, p, graphqlSpace)
	withConfig := clientFor(t, path)
	noConfig := registrationClient(t, filepath.Join(t.TempDir(), "absent", "mondoo.yml"), mondoo.WithAPIEndpoint(p.URL))
	for _, client := range []*mondoo.Client{withConfig, noConfig} {
		var data viewerAndSpace
		if err := client.GraphQL(context.Background(), viewerAndSpaceQuery, map[string]string{"s": graphqlSpace}, &data); err != nil {
			t.Fatal(err)
		}
		if data.Space == nil || data.Space.MRN != graphqlSpace {
			t.Fatalf("data %+v", data)
		}
	}
	recorded := graphqlRequests(t, p)
	if len(recorded) != 2 {
		t.Fatalf("%d GraphQL requests, want 2", len(recorded))
	}
	for _, r := range recorded {
		if r.Credential == nil || r.Credential.Kind != "api-token" || r.Credential.Subject != minted.MRN {
			t.Fatalf("recorded %+v, want the API token %s", r, minted.MRN)
		}
	}
}

// WithAPIToken authenticates the Platform API calls as the token, not as the config's
// service account; $MONDOO_API_TOKEN wins over it.
func TestGraphQLAPITokenOption(t *testing.T) {
	p := newPlatform(t)
	t.Setenv("MONDOO_API_TOKEN", "")
	var option, fromEnv struct{ Token, MRN string }
	p.admin(t, "api-token", map[string]any{"space_mrn": graphqlSpace}, &option)
	p.admin(t, "api-token", map[string]any{"space_mrn": graphqlSpace}, &fromEnv)
	path, _ := spaceAccount(t, p, graphqlSpace)
	viewer := func(client *mondoo.Client) string {
		var data struct{ Viewer struct{ MRN string } }
		if err := client.GraphQL(context.Background(), "{ viewer { mrn } }", nil, &data); err != nil {
			t.Fatal(err)
		}
		return data.Viewer.MRN
	}
	if got := viewer(clientFor(t, path, mondoo.WithAPIToken(option.Token))); got != option.MRN {
		t.Errorf("viewer %q with WithAPIToken, want the token %q", got, option.MRN)
	}
	t.Setenv("MONDOO_API_TOKEN", fromEnv.Token)
	if got := viewer(clientFor(t, path, mondoo.WithAPIToken(option.Token))); got != fromEnv.MRN {
		t.Errorf("viewer %q, want $MONDOO_API_TOKEN's %q", got, fromEnv.MRN)
	}
}

// An answer with errors is a *GraphQLError (items with path, locations, extensions) that
// is also an *Error with CodeGraphQLErrors; its partial data is decoded into out.
func TestGraphQLErrorsAndPartialData(t *testing.T) {
	p := sharedPlatform(t)
	path, mrn := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	var data viewerAndSpace
	err := client.GraphQL(context.Background(), viewerAndSpaceQuery,
		map[string]string{"s": "//captain.api.mondoo.app/spaces/not-mine"}, &data)
	var gqlErr *mondoo.GraphQLError
	if !errors.As(err, &gqlErr) {
		t.Fatalf("want *GraphQLError, got %T %v", err, err)
	}
	checkError(t, err, mondoo.CodeGraphQLErrors, "ErrRPC")
	first := gqlErr.Errors[0]
	if first.Message == "" || len(first.Path) != 1 || first.Path[0] != "space" || len(first.Locations) == 0 || first.Locations[0].Line != 1 {
		t.Errorf("first error %+v", first)
	}
	if code, _ := first.Extensions["code"].(string); code == "" {
		t.Errorf("no extensions.code in %+v", first)
	}
	if !strings.Contains(err.Error(), first.Message) {
		t.Errorf("message %q does not name the server's %q", err, first.Message)
	}
	// partial data: viewer resolved, space did not
	if data.Viewer == nil || data.Viewer.MRN != mrn || data.Space != nil {
		t.Errorf("partial data into out: %+v", data)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(gqlErr.Data, &raw); err != nil || string(raw["space"]) != "null" || raw["viewer"] == nil {
		t.Errorf("GraphQLError.Data %s (%v)", gqlErr.Data, err)
	}

	// a syntax error: errors and no data at all
	err = client.GraphQL(context.Background(), "{ viewer { ", nil, &data)
	if !errors.As(err, &gqlErr) || gqlErr.Data != nil || len(gqlErr.Errors) == 0 {
		t.Fatalf("syntax error: %T %v", err, err)
	}
}

// Arguments libmondoo refuses, and what Go refuses before calling it.
func TestGraphQLInvalidArguments(t *testing.T) {
	p := sharedPlatform(t)
	path, _ := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	ctx := context.Background()
	// variables must be a JSON object (libmondoo checks)
	checkError(t, client.GraphQL(ctx, "{ viewer { mrn } }", []int{1}, nil), mondoo.CodeInvalidArgument, "ErrInternal")
	// not JSON at all (Go's marshalling)
	checkError(t, client.GraphQL(ctx, "{ viewer { mrn } }", map[string]any{"c": make(chan int)}, nil), mondoo.CodeInvalidArgument, "ErrInternal")
	checkError(t, client.GraphQL(ctx, "{ viewer \x00 }", nil, nil), mondoo.CodeInvalidArgument, "ErrInternal")
	// data that does not fit out
	var wrong struct {
		Viewer int `json:"viewer"`
	}
	checkError(t, client.GraphQL(ctx, "{ viewer { mrn } }", nil, &wrong), mondoo.CodeResponseInvalid, "ErrNetwork")
	for name, limit := range map[string]int{"zero": 0, "negative": -1} {
		var errs []error
		for _, err := range client.Pages(ctx, assetsPage, map[string]any{"space": graphqlSpace}, "assets", limit) {
			errs = append(errs, err)
		}
		if len(errs) != 1 {
			t.Fatalf("page limit %s: %d steps", name, len(errs))
		}
		checkError(t, errs[0], mondoo.CodeInvalidArgument, "ErrInternal")
	}
	for _, err := range client.Pages(ctx, assetsPage, nil, "assets..edges", 5) {
		checkError(t, err, mondoo.CodeInvalidArgument, "ErrInternal")
	}
}

// collectPages walks every page; the connections and the error that ended the walk.
func collectPages(t *testing.T, client *mondoo.Client, ctx context.Context, space string, first, limit int) ([]assetsConnection, error) {
	t.Helper()
	var pages []assetsConnection
	for page, err := range client.Pages(ctx, assetsPage, map[string]any{"space": space, "first": first}, "assets", limit) {
		if err != nil {
			return pages, err
		}
		var conn assetsConnection
		if err := json.Unmarshal(page, &conn); err != nil {
			t.Fatalf("page %s: %v", page, err)
		}
		pages = append(pages, conn)
	}
	return pages, nil
}

// Pages walks 9 assets 2 at a time: 5 pages, the last one stops the walk, no page repeated;
// a limit below the page count is an error after the limit.
func TestGraphQLPages(t *testing.T) {
	p := newPlatform(t)
	addAssets(t, p, graphqlSpace, 9)
	path, _ := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	pages, err := collectPages(t, client, context.Background(), graphqlSpace, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 5 || pages[4].PageInfo.HasNextPage || !pages[3].PageInfo.HasNextPage {
		t.Fatalf("%d pages: %+v", len(pages), pages)
	}
	names := map[string]bool{}
	for _, page := range pages {
		for _, edge := range page.Edges {
			names[edge.Node.Name] = true
		}
	}
	if len(names) != 9 {
		t.Errorf("%d distinct assets over the pages, want 9", len(names))
	}
	if n := len(graphqlRequests(t, p)); n != 5 {
		t.Errorf("%d requests for 5 pages", n)
	}

	pages, err = collectPages(t, client, context.Background(), graphqlSpace, 2, 3)
	if len(pages) != 3 {
		t.Errorf("%d pages before the limit error, want 3", len(pages))
	}
	checkError(t, err, mondoo.CodeInvalidArgument, "ErrInternal")

	// an errors answer ends the walk with a *GraphQLError carrying every entry
	_, err = collectPages(t, client, context.Background(), "//captain.api.mondoo.app/spaces/not-mine", 2, 10)
	checkError(t, err, mondoo.CodeGraphQLErrors, "ErrRPC")
	var gqlErr *mondoo.GraphQLError
	if !errors.As(err, &gqlErr) {
		t.Fatalf("a page with errors is not a *GraphQLError: %#v", err)
	}
	if len(gqlErr.Errors) == 0 || len(gqlErr.Errors[0].Path) != 1 || gqlErr.Errors[0].Path[0] != "assets" {
		t.Errorf("the page's errors are not carried: %+v", gqlErr.Errors)
	}
}

// Breaking out of the loop frees the pager and sends no further page; the loop body may
// use the client, and even close it: the walk keeps what it needs.
func TestGraphQLPagesBreakAndClose(t *testing.T) {
	p := newPlatform(t)
	addAssets(t, p, graphqlSpace, 8)
	path, _ := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	before := mondoo.LiveHandles()
	n := 0
	for _, err := range client.Pages(context.Background(), assetsPage, map[string]any{"space": graphqlSpace, "first": 2}, "assets", 10) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 2 {
			break
		}
	}
	if after := mondoo.LiveHandles(); after != before {
		t.Errorf("%d handles after breaking out, %d before", after, before)
	}
	if sent := len(graphqlRequests(t, p)); sent != 2 {
		t.Errorf("%d pages requested for 2 consumed", sent)
	}

	other := clientFor(t, path)
	n = 0
	for _, err := range other.Pages(context.Background(), assetsPage, map[string]any{"space": graphqlSpace, "first": 2}, "assets", 10) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 1 {
			if err := other.GraphQL(context.Background(), "{ viewer { mrn } }", nil, nil); err != nil {
				t.Fatalf("a call from the loop body: %v", err)
			}
			if err := other.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d pages after closing the client mid-walk, want 4", n)
	}
	if err := other.GraphQL(context.Background(), "{ viewer { mrn } }", nil, nil); err != mondoo.ErrClosed {
		t.Errorf("GraphQL on a closed client: %v", err)
	}
	for _, err := range other.Pages(context.Background(), assetsPage, nil, "assets", 10) {
		if err != mondoo.ErrClosed {
			t.Errorf("Pages on a closed client: %v", err)
		}
	}
}

// A revoked service account gets 401 (ErrUnauthenticated) from /query.
func TestGraphQLRevokedServiceAccount(t *testing.T) {
	p := newPlatform(t)
	path, mrn := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	if err := client.GraphQL(context.Background(), "{ viewer { mrn } }", nil, nil); err != nil {
		t.Fatal(err)
	}
	p.admin(t, "revoke", map[string]any{"mrn": mrn}, nil)
	err := client.GraphQL(context.Background(), "{ viewer { mrn } }", nil, nil)
	e := checkError(t, err, mondoo.CodeRPCUnauthenticated, "ErrRPC", "ErrUnauthenticated")
	if e.HTTPStatus != 401 {
		t.Errorf("HTTP status %d, want 401", e.HTTPStatus)
	}
	var gqlErr *mondoo.GraphQLError
	if errors.As(err, &gqlErr) {
		t.Errorf("a 401 is not a GraphQL errors answer: %v", err)
	}
}

// Cancelling the context ends a GraphQL call whose answer drips in, and a walk between
// pages, inside libmondoo: CodeCanceled (the client's own 20 s timeout would give
// CodeTimeout; the drip would take minutes).
func TestGraphQLContextCancel(t *testing.T) {
	p := newPlatform(t)
	addAssets(t, p, graphqlSpace, 6)
	path, _ := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	p.admin(t, "fault", map[string]any{"kind": "slow_drip", "bytes": 2000, "interval_millis": 100, "only": "GraphQL/query"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(300*time.Millisecond, cancel)
	defer stop.Stop()
	err := client.GraphQL(ctx, "{ viewer { mrn } }", nil, nil)
	checkError(t, err, mondoo.CodeCanceled, "ErrNetwork")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, mondoo.ErrCanceled) {
		t.Errorf("not context.Canceled: %v", err)
	}

	// the first page comes, the second is slow: the cancel ends the walk with an error
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var steps []error
	for _, err := range client.Pages(ctx, assetsPage, map[string]any{"space": graphqlSpace, "first": 2}, "assets", 10) {
		steps = append(steps, err)
		if len(steps) == 1 {
			p.admin(t, "fault", map[string]any{"kind": "slow", "millis": 60000, "only": "GraphQL/query"}, nil)
			time.AfterFunc(300*time.Millisecond, cancel)
		}
	}
	if len(steps) != 2 || steps[0] != nil {
		t.Fatalf("steps %v, want a page then the cancel", steps)
	}
	if !errors.Is(steps[1], context.Canceled) || !errors.Is(steps[1], mondoo.ErrCanceled) {
		t.Errorf("walk cancelled: %v", steps[1])
	}

	// a context already ended sends nothing
	sent := len(graphqlRequests(t, p))
	for _, err := range client.Pages(ctx, assetsPage, nil, "assets", 10) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ended context: %v", err)
		}
	}
	if n := len(graphqlRequests(t, p)); n != sent {
		t.Errorf("%d requests with an ended context", n-sent)
	}
}

// A context deadline ends a slow GraphQL call inside libmondoo: ErrTimeout and
// context.DeadlineExceeded.
func TestGraphQLContextDeadline(t *testing.T) {
	p := newPlatform(t)
	path, _ := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	p.admin(t, "fault", map[string]any{"kind": "slow", "millis": 60000, "only": "GraphQL/query"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := client.GraphQL(ctx, "{ viewer { mrn } }", nil, nil)
	checkError(t, err, mondoo.CodeTimeout, "ErrNetwork", "ErrTimeout")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("not context.DeadlineExceeded: %v", err)
	}
}

// BenchmarkGraphQL: one query per iteration on a warm client (its bearer cached); also
// reports the distinct bearers the platform saw per call (signatures per call).
func BenchmarkGraphQL(b *testing.B) {
	p := sharedPlatform(b)
	path, mrn := spaceAccount(b, p, graphqlSpace)
	client := clientFor(b, path)
	ctx := context.Background()
	var data viewerAndSpace
	if err := client.GraphQL(ctx, viewerAndSpaceQuery, map[string]string{"s": graphqlSpace}, &data); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := client.GraphQL(ctx, viewerAndSpaceQuery, map[string]string{"s": graphqlSpace}, &data); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	bearers, calls := map[string]bool{}, 0
	for _, r := range graphqlRequests(b, p) {
		if r.Credential != nil && r.Credential.Subject == mrn {
			bearers[r.Credential.BearerSHA256] = true
			calls++
		}
	}
	b.ReportMetric(float64(len(bearers))/float64(calls), "signatures/call")
}

// TLS and the proxy apply to /query as to every call: the platform's CA makes the query
// work over HTTPS, the system roots alone fail the handshake (CodeTLS); a proxy that is
// not there fails the query, the platform's proxy carries it.
func TestGraphQLTLSAndProxy(t *testing.T) {
	tlsPlatform, ca := newTLSPlatform(t)
	ctx := context.Background()
	var data viewerAndSpace
	trusted := fixtureClient(t, mondoo.WithAPIEndpoint(tlsPlatform.URL), mondoo.WithCAFile(ca))
	if err := trusted.GraphQL(ctx, "{ viewer { mrn } }", nil, &data); err != nil {
		t.Fatalf("over TLS with the platform's CA: %v", err)
	}
	if data.Viewer == nil || data.Viewer.MRN != fixtureCredentials(t).MRN {
		t.Errorf("viewer over TLS: %+v", data.Viewer)
	}
	untrusting := fixtureClient(t, mondoo.WithAPIEndpoint(tlsPlatform.URL))
	checkError(t, untrusting.GraphQL(ctx, "{ viewer { mrn } }", nil, nil), mondoo.CodeTLS, "ErrNetwork")

	p := sharedPlatform(t)
	proxy := startProxyPlatform(t)
	viaProxy := fixtureClient(t, mondoo.WithAPIEndpoint(p.URL), mondoo.WithAPIProxy(proxy))
	if err := viaProxy.GraphQL(ctx, "{ viewer { mrn } }", nil, nil); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	// a port nothing listens on (the listener is closed before the call)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	absent := "http://" + l.Addr().String()
	l.Close()
	noProxy := fixtureClient(t, mondoo.WithAPIEndpoint(p.URL), mondoo.WithAPIProxy(absent))
	checkError(t, noProxy.GraphQL(ctx, "{ viewer { mrn } }", nil, nil), mondoo.CodeProxy, "ErrNetwork")
}

// One client from many goroutines: every call succeeds and all share one bearer.
func TestGraphQLManyGoroutinesShareOneBearer(t *testing.T) {
	p := newPlatform(t)
	path, mrn := spaceAccount(t, p, graphqlSpace)
	client := clientFor(t, path)
	const goroutines, calls = 8, 10
	errs := make(chan error, goroutines*calls)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				var data viewerAndSpace
				err := client.GraphQL(context.Background(), viewerAndSpaceQuery, map[string]string{"s": graphqlSpace}, &data)
				if err == nil && (data.Viewer == nil || data.Viewer.MRN != mrn) {
					err = fmt.Errorf("data %+v", data)
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	bearers := map[string]bool{}
	recorded := graphqlRequests(t, p)
	for _, r := range recorded {
		bearers[r.Credential.BearerSHA256] = true
	}
	if len(recorded) != goroutines*calls || len(bearers) != 1 {
		t.Errorf("%d requests with %d distinct bearers, want %d with 1", len(recorded), len(bearers), goroutines*calls)
	}
}

// A workload-identity document (keyless): GraphQL runs as the exchanged service account.
func TestGraphQLWithWorkloadIdentity(t *testing.T) {
	p := newPlatform(t)
	const audience, workload = "go-graphql-audience", "repo:mondoohq/go:ref:refs/heads/main"
	var bound struct{ Issuer string }
	p.admin(t, "authorize-workload", map[string]any{"audience": audience, "subject": workload, "scope_mrn": graphqlSpace}, &bound)
	var minted struct{ Token string }
	p.admin(t, "oidc-token", map[string]any{"subject": workload, "audience": audience, "ttl_seconds": 300}, &minted)
	path := filepath.Join(t.TempDir(), "wif.json")
	doc := mustJSON(t, map[string]string{"type": "external_account", "audience": audience,
		"issuerUri": bound.Issuer, "universeDomain": p.URL, "jwtToken": minted.Token})
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	client := clientFor(t, path)
	var data viewerAndSpace
	if err := client.GraphQL(context.Background(), viewerAndSpaceQuery, map[string]string{"s": graphqlSpace}, &data); err != nil {
		t.Fatal(err)
	}
	report, err := client.Exchange(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if data.Space == nil || data.Space.MRN != graphqlSpace || data.Viewer == nil || !strings.HasPrefix(data.Viewer.MRN, "//") {
		t.Fatalf("data %+v", data)
	}
	recorded := graphqlRequests(t, p)
	if len(recorded) != 1 || recorded[0].Credential == nil || recorded[0].Credential.Kind != "service-account" {
		t.Fatalf("recorded %+v", recorded)
	}
	if report.Method != "workload_identity" {
		t.Errorf("report %+v", report)
	}
}
