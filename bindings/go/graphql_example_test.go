// SPDX-License-Identifier: Apache-2.0

package mondoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	mondoo "github.com/mondoo-community/libmondoo/bindings/go"
)

// The README's example: every asset of a space, 50 a page, at most 100 pages.
func ExampleClient_Pages() {
	ctx, space := context.Background(), "//captain.api.mondoo.app/spaces/my-space"
	client, err := mondoo.NewClient(nil) // the default config search, as cnspec does
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	query := `query($space: String!, $after: String) { assets(spaceMrn: $space, first: 50, after: $after) {
  edges { node { mrn name } } pageInfo { endCursor hasNextPage } } }`
	for page, err := range client.Pages(ctx, query, map[string]any{"space": space}, "assets", 100) {
		if err != nil {
			fmt.Println(err)
			return
		}
		var assets struct {
			Edges []struct{ Node struct{ MRN, Name string } }
		}
		if err := json.Unmarshal(page, &assets); err != nil {
			fmt.Println(err)
			return
		}
		for _, edge := range assets.Edges {
			fmt.Println(edge.Node.MRN, edge.Node.Name)
		}
	}
}

// Partial data: out is decoded from the data that came with the errors.
func ExampleClient_GraphQL() {
	client, err := mondoo.NewClient(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	var data struct {
		Viewer *struct{ MRN string } `json:"viewer"`
	}
	err = client.GraphQL(context.Background(), `{ viewer { mrn } }`, nil, &data)
	var answered *mondoo.GraphQLError
	if errors.As(err, &answered) {
		for _, item := range answered.Errors {
			fmt.Println("error:", item.Message, item.Path)
		}
		// data holds whatever resolved (answered.Data as raw JSON)
	} else if err != nil {
		fmt.Println(err)
		return
	}
	if data.Viewer != nil {
		fmt.Println(data.Viewer.MRN)
	}
}
