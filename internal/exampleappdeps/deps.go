//go:build tools

// Package exampleappdeps keeps in go.mod the modules that only testdata/exampleapp imports:
// go mod tidy does not look inside testdata directories, so without this file it would drop
// them and `go build ./testdata/exampleapp` would fail. The tools tag keeps it out of builds.
package exampleappdeps

import (
	_ "github.com/go-sql-driver/mysql"
)
