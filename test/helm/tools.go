//go:build tools

// Package helm pins the helm command (helm.sh/helm/v3/cmd/helm) so that
// `go mod tidy` keeps its dependencies. scripts/build-helm builds it.
package helm

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
