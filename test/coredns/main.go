// Command coredns is CoreDNS with the plugins a cluster's DNS Service needs.
// The dataplane's node runner starts it in the network namespace of the
// kube-system/coredns pod (scripts/with-cluster --dataplane).
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver" // the "dns" server type
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
