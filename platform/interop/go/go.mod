module github.com/mondoo-community/libmondoo/platform/interop/go

go 1.23

require (
	github.com/go-jose/go-jose/v3 v3.0.5
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240429193739-8cf5692501f6
	google.golang.org/protobuf v1.36.11
	gopkg.in/yaml.v3 v3.0.1
)

require golang.org/x/crypto v0.19.0 // indirect
