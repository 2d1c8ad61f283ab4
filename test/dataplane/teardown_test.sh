#!/usr/bin/env bash
# Teardown of the test dataplane leaves nothing behind (issue 11): no network
# namespace, veth, route, iptables rule, ipset or process; not after a normal
# exit, and not after `kill -9` of with-cluster followed by the next start's
# sweep (scripts/lib/dataplane-sweep).
#
# Runs its own scripts/with-cluster --dataplane (twice). Exit 0: clean; 1: a
# leftover, named; 77: the dataplane cannot run here (ctest SKIP_RETURN_CODE).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
unset KUBECONFIG NPC_CLUSTER_DIR NPC_DATAPLANE
if ! why=$("$root/scripts/lib/dataplane-check"); then
  echo "SKIPPED: the dataplane cannot run here: $why"
  exit 77
fi
export NPC_DATAPLANE_BIN_DIR=${NPC_DATAPLANE_BIN_DIR:-$root/build/test/dataplane}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The host's own network state, which the dataplane must never touch.
host_state() {
  {
    echo "## links"; ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
    echo "## routes"; ip route show table all | grep -E '198\.1[89]\.' || true
    echo "## addresses"; ip -o addr show | grep -E '198\.1[89]\.' || true
    echo "## iptables"; iptables-save 2>/dev/null | grep -vE '^#|^:' || true
    echo "## ipsets"; ipset list -n 2>/dev/null | sort
  }
}

# Inside the cluster: a Deployment with two pods, a hostNetwork pod, probes;
# then write what exists (cluster id, namespaces and their inodes, pids).
inside() {
  cat >"$work/inside.sh" <<'INSIDE'
set -e
kubectl create namespace td >/dev/null
kubectl -n td create deployment web --image=registry.k8s.io/pause:3.10 --replicas=2 --port=8080 >/dev/null
for _ in $(seq 120); do
  [ "$(kubectl -n td get pods --field-selector=status.phase=Running -o name | wc -l)" -ge 2 ] && break
  sleep 0.5
done
kubectl -n td get pods -o wide >&2
# A policy, so that kube-router makes ipsets and rules for it.
kubectl apply -f - >/dev/null <<'NP'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: td}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
NP
for _ in $(seq 60); do
  [ "$(ip netns exec "npc-${NPC_CLUSTER_DIR##*/npc-cluster.}-node" ipset list -n | wc -l)" -gt 0 ] && break
  sleep 0.5
done
id=${NPC_CLUSTER_DIR##*/npc-cluster.}
echo "$id" >"$OUT/id"
ip netns list | awk '{print $1}' | grep "^npc-$id-" >"$OUT/netns"
for n in $(cat "$OUT/netns"); do stat -L -c %i "/run/netns/$n"; done >"$OUT/inodes"
for p in "$NPC_CLUSTER_DIR"/run/*.pid; do cat "$p"; done >"$OUT/pids"
# ... and every process inside the cluster's namespaces (listeners, CoreDNS).
for ino in $(cat "$OUT/inodes"); do
  for p in /proc/[0-9]*; do
    [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$ino" ] && echo "${p#/proc/}"
  done
done >>"$OUT/pids"
ip netns exec "npc-$id-node" iptables-save | grep -c -- '-A ' >"$OUT/rules"
ip netns exec "npc-$id-node" ipset list -n | wc -l >"$OUT/ipsets"
INSIDE
  OUT=$1 "$root/scripts/with-cluster" --dataplane bash "$work/inside.sh"
}

# check: nothing of cluster `id` is left, and the host's state is as before.
check() {
  local label=$1 id n ino p
  id=$(cat "$2/id" 2>/dev/null) || { fail "$label: the cluster never came up"; return; }
  [ "$(wc -l <"$2/netns")" -ge 3 ] || fail "$label: expected the node's and two pods' namespaces, saw: $(tr '\n' ' ' <"$2/netns")"
  [ "$(cat "$2/rules")" -gt 10 ] || fail "$label: kube-proxy and kube-router wrote almost no iptables rules ($(cat "$2/rules"))"
  [ "$(cat "$2/ipsets")" -gt 0 ] || fail "$label: kube-router made no ipset for the policy"
  for n in $(cat "$2/netns"); do [ -e "/run/netns/$n" ] && fail "$label: network namespace $n is left"; done
  ls /run/netns/ 2>/dev/null | grep -q "^npc-$id-" && fail "$label: namespaces npc-$id-* are left: $(ls /run/netns | grep "^npc-$id-")"
  for ino in $(cat "$2/inodes"); do
    for p in /proc/[0-9]*; do
      [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$ino" ] && fail "$label: process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" | cut -c1-80)) still runs in a namespace of the dataplane"
    done
  done
  for p in $(cat "$2/pids"); do
    kill -0 "$p" 2>/dev/null && fail "$label: process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-80)) is left"
  done
  [ -e "/run/npc-dataplane/$id" ] && fail "$label: owner file /run/npc-dataplane/$id is left"
  [ -d "/tmp/npc-cluster.$id" ] && fail "$label: cluster directory /tmp/npc-cluster.$id is left"
  host_state >"$work/host.after"
  diff -u "$work/host.before" "$work/host.after" >"$work/host.diff" ||
    fail "$label: the host's network state changed:\n$(cat "$work/host.diff")"
}

host_state >"$work/host.before"

# 1. A normal exit.
mkdir -p "$work/normal"
inside "$work/normal" >"$work/normal.log" 2>&1 || fail "normal: with-cluster --dataplane failed: $(tail -20 "$work/normal.log")"
check normal "$work/normal"
echo "normal exit: $(tr '\n' ' ' <"$work/normal/netns")removed; $(cat "$work/normal/rules") iptables rules and $(cat "$work/normal/ipsets") ipsets were inside the node's namespace"

# 2. kill -9 of with-cluster while pods run: its components die with it
#    (parent-death signals); the namespaces stay until the next start sweeps.
mkdir -p "$work/killed"
cat >"$work/hold.sh" <<'HOLD'
bash "$WORK/inside.sh" && touch "$OUT/ready" && sleep 600
HOLD
( OUT="$work/killed" WORK="$work" exec "$root/scripts/with-cluster" --dataplane bash -c 'bash "$WORK/hold.sh"' ) \
  >"$work/killed.log" 2>&1 &
wc=$!
# inside.sh is written by inside(); reuse it.
for _ in $(seq 240); do [ -e "$work/killed/ready" ] && break; kill -0 $wc 2>/dev/null || break; sleep 0.5; done
[ -e "$work/killed/ready" ] || fail "killed: the cluster did not come up: $(tail -20 "$work/killed.log")"
kill -9 $wc
wait $wc 2>/dev/null
sleep 3  # parent-death signals propagate down the supervisors
for p in $(cat "$work/killed/pids" 2>/dev/null); do
  kill -0 "$p" 2>/dev/null && fail "killed: process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-80)) outlived kill -9 of with-cluster"
done
"$root/scripts/lib/dataplane-sweep"  # what the next with-cluster --dataplane runs first
rm -rf "/tmp/npc-cluster.$(cat "$work/killed/id" 2>/dev/null)"  # the next with-cluster's own sweep
check killed "$work/killed"
echo "kill -9: processes gone at once; $(tr '\n' ' ' <"$work/killed/netns")removed by the sweep"

if ((failures)); then
  echo "$failures leftover(s)"
  exit 1
fi
echo "teardown clean"
exit 0
