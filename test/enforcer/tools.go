//go:build tools

// Package enforcer pins the command built for the test dataplane's
// NetworkPolicy enforcer so that `go mod tidy` keeps its dependencies.
package enforcer

import (
	_ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
)
