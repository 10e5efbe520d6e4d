// gostatus is `status` as the Go client does it, for bench/run to time a fresh Go process
// against a fresh libmondoo one on the same platform: load the mondoo.yml, Health/Check
// (clock skew), then a signed AgentManager/PingPong, one after the other as cnspec's
// status runs them, over net/http with protobuf bodies.
//
// Usage: gostatus --config FILE [--api-endpoint URL]. Exit 0 when both calls succeed.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	interop "github.com/mondoo-community/libmondoo/platform/interop/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"gopkg.in/yaml.v3"
)

type config struct {
	AgentMrn    string `yaml:"agent_mrn"`
	Mrn         string `yaml:"mrn"`
	PrivateKey  string `yaml:"private_key"`
	APIEndpoint string `yaml:"api_endpoint"`
}

func call(client *http.Client, endpoint, serviceMethod string, in, out proto.Message, auth func([]byte) (string, error)) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", endpoint+"/"+serviceMethod, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/protobuf")
	req.Header.Set("Accept", "application/protobuf")
	if auth != nil {
		value, err := auth(body)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: HTTP %d", serviceMethod, resp.StatusCode)
	}
	return proto.Unmarshal(answer, out)
}

func run() error {
	path := flag.String("config", "", "mondoo.yml")
	endpoint := flag.String("api-endpoint", "", "override the config's api_endpoint")
	flag.Parse()
	raw, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	var cfg config
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	if *endpoint != "" {
		cfg.APIEndpoint = *endpoint
	}
	sign, err := interop.Bearer(cfg.Mrn, cfg.PrivateKey)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}

	health := dynamicpb.NewMessage(interop.Messages["HealthCheckResponse"])
	sent := time.Now()
	if err := call(client, cfg.APIEndpoint, "Health/Check", interop.NewMessage("HealthCheckRequest", nil), health, nil); err != nil {
		return err
	}
	received := time.Now()
	platformTime, err := time.Parse(time.RFC3339Nano, interop.Get(health, "time").String())
	if err != nil {
		return err
	}
	skew := platformTime.Sub(sent.Add(received.Sub(sent) / 2))
	fmt.Printf("API ConnectionConfig: %s\nAPI Status: %d\nAPI Time: %s (skew %s)\n",
		cfg.APIEndpoint, interop.Get(health, "status").Enum(), platformTime.Format(time.RFC3339), skew.Round(time.Millisecond))

	pong := dynamicpb.NewMessage(interop.Messages["Pong"])
	if err := call(client, cfg.APIEndpoint, "AgentManager/PingPong", interop.NewMessage("Ping", nil), pong, sign); err != nil {
		return err
	}
	fmt.Printf("Agent: %s\n→ client authenticated successfully\n", cfg.AgentMrn)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gostatus:", err)
		os.Exit(1)
	}
}
