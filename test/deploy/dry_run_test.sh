#!/usr/bin/env bash
# Usage (under scripts/with-cluster): dry_run_test.sh DEPLOY_DIR
#
# `kubectl apply -k deploy/ --dry-run=server` must succeed against a real API
# server (schema, RBAC object validation, admission). Server dry-run of the
# namespaced objects needs their Namespace to exist, so namespace.yaml is
# applied for real first (and deleted again if this test created it).
set -euo pipefail
deploy=${1:?deploy directory}
ns=netpol-ctrl-system
fail() {
  echo "dry_run_test: FAIL: $*" >&2
  exit 1
}
[ -n "${KUBECONFIG:-}" ] || fail "KUBECONFIG is not set: run under scripts/with-cluster"
command -v kubectl >/dev/null || fail "kubectl is not on PATH (scripts/with-cluster puts it there)"

created=0
cleanup() {
  local rc=$?
  ((created)) && kubectl delete namespace "$ns" --wait=true --timeout=60s >/dev/null 2>&1
  exit "$rc"
}
trap cleanup EXIT

# A namespace left Terminating by an earlier test: wait for it to go.
for _ in $(seq 180); do
  phase=$(kubectl get namespace "$ns" -o jsonpath='{.status.phase}' 2>/dev/null || true)
  [ "$phase" = Terminating ] || break
  sleep 0.5
done
[ "${phase:-}" = Terminating ] && fail "namespace $ns stays Terminating"
kubectl get namespace "$ns" >/dev/null 2>&1 || created=1
kubectl apply -f "$deploy/namespace.yaml" || fail "applying namespace.yaml failed"

out=$(kubectl apply -k "$deploy" --dry-run=server 2>&1) || fail "server dry-run rejected deploy/:
$out"
echo "$out"
# Every object of the kustomization went through the server.
for obj in namespace/netpol-ctrl-system serviceaccount/netpol-ctrl \
  clusterrole.rbac.authorization.k8s.io/netpol-ctrl \
  clusterrolebinding.rbac.authorization.k8s.io/netpol-ctrl \
  role.rbac.authorization.k8s.io/netpol-ctrl-leader-election \
  rolebinding.rbac.authorization.k8s.io/netpol-ctrl-leader-election \
  networkpolicy.networking.k8s.io/netpol-ctrl deployment.apps/netpol-ctrl \
  configmap/netpol-ctrl-config-; do
  grep -q "^$obj.*(server dry run)" <<<"$out" || fail "no server dry-run result for $obj"
done
# The Deployment mounts the generated (hash-suffixed) ConfigMap.
rendered=$(kubectl kustomize "$deploy")
cm=$(grep -oE 'netpol-ctrl-config-[a-z0-9]+' <<<"$rendered" | sort -u)
[ "$(wc -l <<<"$cm")" = 1 ] || fail "expected one generated ConfigMap name, got: $cm"
echo "dry_run_test: ok (ConfigMap $cm)"
