module github.com/mondoo-community/libmondoo/examples/go/status

go 1.23

require github.com/mondoo-community/libmondoo/bindings/go v0.0.0

replace github.com/mondoo-community/libmondoo/bindings/go => ../../../bindings/go
