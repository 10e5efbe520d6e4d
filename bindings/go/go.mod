module github.com/mondoo-community/libmondoo/bindings/go

go 1.23
