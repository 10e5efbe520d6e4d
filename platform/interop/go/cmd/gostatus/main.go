// gostatus is `status` as the Go client does it (interop.Status), for bench/run to time a
// fresh Go process against a fresh libmondoo one on the same platform.
//
// Usage: gostatus status --config FILE [--api-endpoint URL]. Exit 0 when both calls succeed.
package main

import (
	"flag"
	"fmt"
	"os"

	interop "github.com/mondoo-community/libmondoo/platform/interop/go"
)

func run() error {
	path := flag.String("config", "", "mondoo.yml")
	endpoint := flag.String("api-endpoint", "", "override the config's api_endpoint")
	if len(os.Args) < 2 || os.Args[1] != "status" {
		return fmt.Errorf("usage: gostatus status --config FILE [--api-endpoint URL]")
	}
	if err := flag.CommandLine.Parse(os.Args[2:]); err != nil {
		return err
	}
	return interop.Status(*path, *endpoint, os.Stdout)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gostatus:", err)
		os.Exit(1)
	}
}
