// SPDX-License-Identifier: Apache-2.0

// Command status prints what `cnspec status` prints, through libmondoo's Go bindings.
//
//	cargo build --release -p mondoo
//	cd examples/go/status && go run . [-config mondoo.yml] [-api-endpoint URL] [-json]
//
// It exits 0 when the client is registered and authenticated, 1 otherwise, and 2 when
// the config cannot be used at all.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

func main() {
	configPath := flag.String("config", "", "config file (default: $MONDOO_CONFIG_BASE64, $MONDOO_CONFIG_PATH, then the home and system files)")
	endpoint := flag.String("api-endpoint", "", "API endpoint instead of the config's")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Parse()

	os.Exit(run(*configPath, *endpoint, *asJSON, *timeout))
}

func run(configPath, endpoint string, asJSON bool, timeout time.Duration) int {
	cfg, err := mondoo.LoadConfig(configPath)
	if err != nil {
		return fail(err)
	}
	defer cfg.Close()

	var opts []mondoo.Option
	if endpoint != "" {
		opts = append(opts, mondoo.WithAPIEndpoint(endpoint))
	}
	client, err := mondoo.NewClient(cfg, opts...)
	if err != nil {
		return fail(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	status, err := client.Status(ctx)
	if err != nil {
		return fail(err)
	}
	if asJSON {
		fmt.Println(status.JSON)
	} else {
		fmt.Print(status)
	}
	return status.ExitCode
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, err)
	switch {
	case errors.Is(err, mondoo.ErrConfig):
		fmt.Fprintln(os.Stderr, "hint: check the config file, or pass -config")
	case errors.Is(err, mondoo.ErrKey):
		fmt.Fprintln(os.Stderr, "hint: the service account's key must be an ES384 (P-384) key")
	}
	return 2
}
