# The test dataplane of scripts/with-cluster --dataplane. Sourced by
# with-cluster once its control plane is ready; uses its variables ($dir,
# $bin, $enforcer_bin, $coredns_bin, $dp_bin, $api_port, $server,
# $cluster_id, $service_cidr, $advertise) and functions (start_component,
# require_running, die_start, npc_*).
#
# Layout (test/dataplane/naming.h has the same numbers):
#   network namespace npc-<id>-node: the node. lo holds the node address
#     198.18.128.1 and the API server's published address 198.18.128.10,
#     where npc-netns-forward relays to the API server on the host's
#     127.0.0.1. kube-proxy and kube-router run in it, so every iptables
#     rule, ipset and conntrack entry they make lives there.
#   one network namespace per pod (the node runner): eth0 with a /32 of the
#     node's podCIDR, default route via the node; the node side of the veth
#     pair is in npc-<id>-node, with a /32 route to the pod.
#   kube-scheduler and the node runner run in the host's namespace and talk
#     to 127.0.0.1 like the control plane.

npc_dp_node=npc-node
npc_dp_node_ip=198.18.128.1
npc_dp_pod_cidr=198.18.0.0/17       # the cluster's (kube-proxy --cluster-cidr)
npc_dp_node_pod_cidr=198.18.0.0/20  # the node's podCIDR
npc_dp_dns_ip=198.19.0.10

# What a DNS that never answered leaves to read: the pods' state, the
# kube-dns and kubernetes endpoints, CoreDNS' own log (the node runner keeps
# pod logs under $dir/pods, also after the pod is gone) and whether kube-proxy
# programmed the Services (a ClusterIP without its rules answers "no route to
# host"; one without endpoints, "connection refused").
npc_dp_dns_diagnostics() {
  local k=("$bin/kubectl" --kubeconfig "$dir/kubeconfig") f
  echo "----- pods, kube-dns and kubernetes endpoints -----"
  "${k[@]}" get pods -A -o wide 2>&1 | head -n 20
  "${k[@]}" get endpointslices -A -o wide 2>&1 | head -n 10
  for f in "$dir"/pods/kube-system_*.log; do
    [ -f "$f" ] || continue
    echo "----- last 8 lines of $f -----"
    tail -n 8 "$f" | cut -c1-300
  done
  echo "----- kube-proxy: warnings and errors (last 15) -----"
  { grep -E '^[WEF][0-9]{4} ' "$dir/logs/kube-proxy.log" || true; } | tail -n 15 | cut -c1-300
  echo "----- kube-proxy: its Service rules in npc-$cluster_id-node -----"
  local nat
  nat=$(ip netns exec "npc-$cluster_id-node" iptables-save -t nat 2>&1 || true)
  echo "KUBE-SVC chains: $(grep -c '^:KUBE-SVC-' <<<"$nat" || true)"
  { grep -E '^-A KUBE-SERVICES .*(default/kubernetes|kube-system/kube-dns)' <<<"$nat" || true; } | cut -c1-300
}

npc_dataplane_start() {
  local netns="npc-$cluster_id-node"
  local node_server="https://$advertise:$api_port"
  local lib
  lib=$(dirname "${BASH_SOURCE[0]}")

  # --- the node's network namespace -----------------------------------------
  ip netns add "$netns" || die_start "cannot create network namespace $netns"
  ip -n "$netns" link set lo up
  ip -n "$netns" addr add "$npc_dp_node_ip/32" dev lo
  ip -n "$netns" addr add "$advertise/32" dev lo
  # Service addresses are routed to lo: kube-proxy's DNAT in OUTPUT then sends
  # the node's own connections (hostNetwork pods) on to a pod; without a
  # route, connect() would fail before netfilter sees the packet.
  ip -n "$netns" route add "$service_cidr" dev lo src "$npc_dp_node_ip"
  ip netns exec "$netns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 ||
    die_start "cannot enable forwarding in $netns"
  start_component apiserver-forward "$dp_bin/npc-netns-forward" --netns "$netns" \
    --listen "$advertise:$api_port" --to "127.0.0.1:$api_port"

  # --- kubeconfigs ------------------------------------------------------------
  npc_write_kubeconfig "$dir/scheduler.kubeconfig" "$server" "$dir/ca.crt" \
    "$dir/scheduler.crt" "$dir/scheduler.key" system:kube-scheduler
  npc_write_kubeconfig "$dir/kube-proxy.kubeconfig" "$node_server" "$dir/ca.crt" \
    "$dir/kube-proxy.crt" "$dir/kube-proxy.key" system:kube-proxy
  # kube-router watches pods, namespaces, policies and nodes: admin, through
  # the node's own address of the API server.
  npc_write_kubeconfig "$dir/node-admin.kubeconfig" "$node_server" "$dir/ca.crt" \
    "$dir/admin.crt" "$dir/admin.key" admin

  # --- the Node ---------------------------------------------------------------
  local k8s_version
  k8s_version=$("$bin/kubectl" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -1)
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply -f - >/dev/null <<NODE || die_start "cannot create the Node"
apiVersion: v1
kind: Node
metadata:
  name: $npc_dp_node
  labels:
    kubernetes.io/hostname: $npc_dp_node
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
spec:
  podCIDR: $npc_dp_node_pod_cidr
  podCIDRs: [$npc_dp_node_pod_cidr]
NODE
  local now
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" patch node "$npc_dp_node" --subresource=status \
    --type=merge -p "{\"status\":{
      \"capacity\":{\"cpu\":\"64\",\"memory\":\"256Gi\",\"pods\":\"4000\"},
      \"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\",\"pods\":\"4000\"},
      \"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$npc_dp_node_ip\"},{\"type\":\"Hostname\",\"address\":\"$npc_dp_node\"}],
      \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"NodeRunnerReady\",\"message\":\"test/dataplane node runner\",\"lastHeartbeatTime\":\"$now\",\"lastTransitionTime\":\"$now\"}],
      \"nodeInfo\":{\"kubeletVersion\":\"$k8s_version\",\"kubeProxyVersion\":\"$k8s_version\",\"operatingSystem\":\"linux\",\"architecture\":\"amd64\",
        \"containerRuntimeVersion\":\"npc-node-runner://0\",\"kernelVersion\":\"$(uname -r)\",\"osImage\":\"netpol-ctrl test dataplane\",
        \"machineID\":\"\",\"systemUUID\":\"\",\"bootID\":\"\"}}}" >/dev/null || die_start "cannot set the Node's status"
  # The TaintNodesByCondition admission plugin taints every new Node
  # not-ready; the node lifecycle controller (not run: there is no kubelet
  # heartbeat to judge) would lift it once Ready. Lift it here.
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" taint nodes "$npc_dp_node" \
    node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true

  # --- the node's components --------------------------------------------------
  start_component kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig="$dir/scheduler.kubeconfig" \
    --authorization-kubeconfig="$dir/scheduler.kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port=0
  start_component kube-proxy ip netns exec "$netns" "$bin/kube-proxy" \
    --kubeconfig="$dir/kube-proxy.kubeconfig" \
    --hostname-override="$npc_dp_node" \
    --proxy-mode=iptables \
    --cluster-cidr="$npc_dp_pod_cidr" \
    --nodeport-addresses="$npc_dp_node_ip/32" \
    --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256 \
    --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0
  # kube-router rewrites the filter table as it starts: a kube-proxy sync
  # running at that moment loses the chains it just made ("Failed to ensure
  # chain jumps") and programs no Service until a retry 30 s later (seen in
  # CI). Start kube-router once kube-proxy's Service rules are in.
  local kp_deadline=$(($(date +%s) + ${NPC_CLUSTER_START_TIMEOUT:-60}))
  until ip netns exec "$netns" iptables-save -t nat 2>/dev/null |
    grep -q 'default/kubernetes:https cluster IP'; do
    require_running kube-proxy
    if (($(date +%s) >= kp_deadline)); then
      die_diagnostics=npc_dp_dns_diagnostics
      die_start "kube-proxy programmed no rule for default/kubernetes within ${NPC_CLUSTER_START_TIMEOUT:-60}s"
    fi
    sleep 0.2
  done
  start_component kube-router ip netns exec "$netns" "$enforcer_bin/kube-router" \
    --kubeconfig="$dir/node-admin.kubeconfig" \
    --hostname-override="$npc_dp_node" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --service-cluster-ip-range="$service_cidr" \
    --enable-ipv4=true --enable-ipv6=false \
    --health-port=0 --metrics-port=0
  start_component node-runner "$dp_bin/npc-node-runner" \
    --kubeconfig "$dir/kubeconfig" --node "$npc_dp_node" --cluster-id "$cluster_id" \
    --pod-cidr "$npc_dp_node_pod_cidr" --node-ip "$npc_dp_node_ip" \
    --state-dir "$dir/pods" --listener "$dp_bin/npc-pod-listener" \
    --coredns "$coredns_bin/coredns" --ca-file "$dir/ca.crt" --kubernetes-service 198.19.0.1:443

  # --- cluster DNS ------------------------------------------------------------
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply -f "$lib/dataplane-dns.yaml" >/dev/null ||
    die_start "cannot create CoreDNS"

  # --- readiness: DNS answers through kube-proxy, from inside the node --------
  local deadline=$(($(date +%s) + ${NPC_CLUSTER_START_TIMEOUT:-60})) answer=""
  while :; do
    require_running apiserver-forward kube-scheduler kube-proxy kube-router node-runner
    answer=$(KUBECONFIG="$dir/kubeconfig" NPC_CLUSTER_DIR="$dir" \
      "$dp_bin/npc-probe" --timeout-ms 500 dns node kubernetes.default.svc.cluster.local 2>&1) &&
      [[ $answer == *'"198.19.0.1"'* ]] && break
    if (($(date +%s) >= deadline)); then
      die_diagnostics=npc_dp_dns_diagnostics
      die_start "the dataplane's DNS did not answer within ${NPC_CLUSTER_START_TIMEOUT:-60}s: $answer"
    fi
    sleep 0.5
  done
}
