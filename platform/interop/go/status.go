package interop

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

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

func post(client *http.Client, endpoint, serviceMethod string, in, out proto.Message, auth func([]byte) (string, error)) error {
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

// Status is `status` as the Go client does it: load the mondoo.yml at path, Health/Check
// (clock skew), then a signed AgentManager/PingPong, one after the other as cnspec's
// status runs them, over net/http with protobuf bodies. endpoint, when not empty,
// replaces the config's api_endpoint. The report goes to out.
func Status(path, endpoint string, out io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg config
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	if endpoint != "" {
		cfg.APIEndpoint = endpoint
	}
	sign, err := Bearer(cfg.Mrn, cfg.PrivateKey)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}

	health := dynamicpb.NewMessage(Messages["HealthCheckResponse"])
	sent := time.Now()
	if err := post(client, cfg.APIEndpoint, "Health/Check", NewMessage("HealthCheckRequest", nil), health, nil); err != nil {
		return err
	}
	received := time.Now()
	platformTime, err := time.Parse(time.RFC3339Nano, Get(health, "time").String())
	if err != nil {
		return err
	}
	skew := platformTime.Sub(sent.Add(received.Sub(sent) / 2))
	fmt.Fprintf(out, "API ConnectionConfig: %s\nAPI Status: %d\nAPI Time: %s (skew %s)\n",
		cfg.APIEndpoint, Get(health, "status").Enum(), platformTime.Format(time.RFC3339), skew.Round(time.Millisecond))

	pong := dynamicpb.NewMessage(Messages["Pong"])
	if err := post(client, cfg.APIEndpoint, "AgentManager/PingPong", NewMessage("Ping", nil), pong, sign); err != nil {
		return err
	}
	fmt.Fprintf(out, "Agent: %s\n→ client authenticated successfully\n", cfg.AgentMrn)
	return nil
}
