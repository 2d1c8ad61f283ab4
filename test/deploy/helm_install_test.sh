#!/usr/bin/env bash
# Usage (under scripts/with-cluster): helm_install_test.sh REPO_ROOT
#
# `helm install` of charts/netpol-ctrl into a real API server (the local
# control plane: no nodes, so the controller's pods stay Pending):
# 1. the default install creates every object `helm template` renders, each
#    labelled by Helm, and the ClusterRole the API server stores grants
#    exactly deploy/'s permissions;
# 2. `kubectl auth can-i --list` for the controller's ServiceAccount, in its
#    own namespace and in another, is exactly the ClusterRole's (and there
#    the leader-election Role's) rules plus what every authenticated user
#    has; spot checks with `kubectl auth can-i` for what it must not do;
# 3. a second release with test/deploy/helm-values-custom.yaml (ServiceMonitor
#    off: no prometheus-operator CRD here) installs next to it; its
#    ServiceAccount cannot read ConfigMaps or write Events (both off there)
#    and gets its leader-election Role in the Lease's namespace;
# 4. `helm upgrade --set config.mode=audit` rewrites the ConfigMap and rolls
#    the pod template (new checksum);
# 5. `helm uninstall` removes every object of both releases.
# Everything it creates is deleted on exit.
set -euo pipefail
root=$(cd "${1:?repo root}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
python3=${NPC_PYTHON3:-/usr/bin/python3}
chart=$root/charts/netpol-ctrl
ns=netpol-ctrl-system
lease_ns=netpol-ctrl-leases
sa=system:serviceaccount:$ns:netpol-ctrl
custom_sa=system:serviceaccount:$ns:npc
log() { echo "helm_install_test: $*"; }
fail() {
  echo "helm_install_test: FAIL: $*" >&2
  exit 1
}
[ -n "${KUBECONFIG:-}" ] || fail "KUBECONFIG is not set: run under scripts/with-cluster"
command -v kubectl >/dev/null || fail "kubectl is not on PATH (scripts/with-cluster puts it there)"
helm=$("$root/scripts/build-helm")/helm
work=$(mktemp -d "${TMPDIR:-/tmp}/npc-helm-install.XXXXXX")

cleanup() {
  local rc=$?
  set +e
  for r in netpol-ctrl npc-custom; do
    "$helm" status "$r" -n "$ns" >/dev/null 2>&1 && "$helm" uninstall "$r" -n "$ns" >/dev/null 2>&1
  done
  kubectl delete namespace "$ns" "$lease_ns" --ignore-not-found --wait=false >/dev/null 2>&1
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A namespace left Terminating by an earlier test (deploy.* share it).
for _ in $(seq 180); do
  phase=$(kubectl get namespace "$ns" -o jsonpath='{.status.phase}' 2>/dev/null || true)
  [ "$phase" = Terminating ] || break
  sleep 0.5
done
[ "${phase:-}" = Terminating ] && fail "namespace $ns stays Terminating"

# ---- 1. the default install ----------------------------------------------------
"$helm" install netpol-ctrl "$chart" -n "$ns" --create-namespace >"$work/install.log" 2>&1 ||
  fail "helm install (default values) failed: $(cat "$work/install.log")"
log "installed: $(head -1 "$work/install.log")"
"$helm" get manifest netpol-ctrl -n "$ns" >"$work/manifest.yaml"
"$helm" template netpol-ctrl "$chart" -n "$ns" >"$work/template.yaml"
kubectl kustomize "$root/deploy" >"$work/kustomize.yaml"

# Every object of the release, as the API server has it.
PYTHONPATH=$here "$python3" -c '
import sys, k8s_objects as k
for o in k.load_file(sys.argv[1]):
    kind = o.kind.lower() + ("." + o.group if o.group else "")
    print(kind, o.name, o.namespace)' "$work/manifest.yaml" >"$work/objects"
[ "$(wc -l <"$work/objects")" -ge 8 ] || fail "the release has only $(wc -l <"$work/objects") objects: $(cat "$work/objects")"
while read -r kind name obj_ns; do
  args=(get "$kind" "$name" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/managed-by}')
  [ -n "$obj_ns" ] && args+=(-n "$obj_ns")
  managed=$(kubectl "${args[@]}" 2>&1) || fail "$kind $name of the release is not in the cluster: $managed"
  [ "$managed" = Helm ] || fail "$kind $name is not labelled app.kubernetes.io/managed-by=Helm: '$managed'"
done <"$work/objects"
log "all $(wc -l <"$work/objects") objects of the release are in the cluster: $(awk '{print $1}' "$work/objects" | sort | uniq -c | xargs)"
strip() { sed -e '/^# Source/d' -e '/^$/d' "$1"; }
diff <(strip "$work/manifest.yaml") <(strip "$work/template.yaml") >"$work/diff" ||
  fail "helm get manifest differs from helm template: $(head -20 "$work/diff")"

# The stored ClusterRole and Role grant exactly deploy/'s permissions.
kubectl get clusterrole netpol-ctrl -o yaml >"$work/clusterrole.yaml"
kubectl get role -n "$ns" netpol-ctrl-leader-election -o yaml >"$work/role.yaml"
PYTHONPATH=$here "$python3" -c '
import sys, k8s_objects as k
deploy = k.load_file(sys.argv[1])
for kind, stored in (("ClusterRole", sys.argv[2]), ("Role", sys.argv[3])):
    want = k.permissions(k.find(deploy, kind).body["rules"])
    got = k.permissions(k.load_file(stored)[0].body["rules"])
    for line in k.describe_permissions(want - got):
        sys.exit(f"FAIL: the installed {kind} lacks {line}, which deploy/ grants")
    for line in k.describe_permissions(got - want):
        sys.exit(f"FAIL: the installed {kind} grants {line}, which deploy/ does not")
    print(f"ok  the installed {kind} grants exactly deploy/s {len(want)} permissions")
' "$work/kustomize.yaml" "$work/clusterrole.yaml" "$work/role.yaml" || fail "the installed RBAC differs from deploy/'s"

# ---- 2. kubectl auth can-i ----------------------------------------------------------
# can_i_list USER NAMESPACE: the user's permissions there as "group resource
# resourceName verb" lines, from `kubectl auth can-i --list` (the API
# server's SelfSubjectRulesReview, asked through impersonation).
can_i_list() {
  kubectl auth can-i --list --as="$1" -n "$2" >"$work/rules.txt" ||
    fail "kubectl auth can-i --list --as=$1 -n $2 failed"
  PYTHONPATH=$here "$python3" - "$work/rules.txt" <<'EOF'
import re, sys
import k8s_objects as k
rules = []
# Resources  Non-Resource URLs  Resource Names  Verbs
for line in open(sys.argv[1]).read().splitlines()[1:]:
    m = re.match(r"^(\S*)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$", line)
    if not m:
        sys.exit(f"FAIL: cannot read this line of kubectl auth can-i --list: {line!r}")
    if m.group(2):
        continue  # a non-resource URL (/api, /healthz, ...): every user's
    res, names, verbs = m.group(1), m.group(3).split(), m.group(4).split()
    resource, _, group = res.partition(".")
    rules.append({"apiGroups": [group], "resources": [resource],
                  "resourceNames": names, "verbs": verbs})
for g, r, n, v in sorted(k.permissions(rules)):
    print(g or "core", r, n or "-", v)
EOF
}
# expected RENDERING KIND...: the permissions the named roles of a rendering grant.
expected() {
  local file=$1
  shift
  PYTHONPATH=$here "$python3" -c '
import sys, k8s_objects as k
objs = k.load_file(sys.argv[1])
perms = set()
for kind in sys.argv[2:]:
    perms |= k.permissions(k.find(objs, kind).body["rules"])
for g, r, n, v in sorted(perms):
    print(g or "core", r, n or "-", v)' "$file" "$@"
}
# What every authenticated user may do (system:basic-user and the like):
# what a user with no role of its own gets.
can_i_list system:serviceaccount:default:nobody-$$ default >"$work/baseline"
grep -q selfsubjectaccessreviews "$work/baseline" ||
  fail "kubectl auth can-i --list gave no baseline (selfsubjectaccessreviews): $(cat "$work/baseline")"
compare_can_i() { # USER NAMESPACE RENDERING KIND...
  local user=$1 where=$2
  shift 2
  can_i_list "$user" "$where" | LC_ALL=C sort -u >"$work/got"
  { expected "$@"; cat "$work/baseline"; } | LC_ALL=C sort -u >"$work/want"
  if ! diff -u "$work/want" "$work/got" >"$work/diff"; then
    fail "kubectl auth can-i --list --as=$user -n $where is not the chart's RBAC (- expected, + the API server says):
$(cat "$work/diff")"
  fi
  local rendering=$1
  shift
  log "can-i --list as $user in $where: exactly the $(expected "$rendering" "$@" | wc -l) permissions of $(basename "$rendering" .yaml)'s $* (plus the $(wc -l <"$work/baseline") every user has)"
}
compare_can_i "$sa" default "$work/kustomize.yaml" ClusterRole
compare_can_i "$sa" "$ns" "$work/kustomize.yaml" ClusterRole Role
for check in "get secrets -n default" "list secrets -A" "delete pods -n default" \
  "update networkpolicies.networking.k8s.io -n default" "update leases.coordination.k8s.io -n default" \
  "delete leases.coordination.k8s.io -n $ns" "update deployments.apps -n default" \
  "get configmaps -n default" "get pods -n default" "create pods -n $ns"; do
  # shellcheck disable=SC2086
  [ "$(kubectl auth can-i $check --as="$sa" 2>/dev/null)" = no ] ||
    fail "the chart's RBAC allows more than the controller uses: $check"
done
log "can-i: nothing beyond the controller's calls (secrets, updates, other namespaces' leases)"

# ---- 3. a second release with non-default values ---------------------------------------
kubectl create namespace "$lease_ns" >/dev/null
"$helm" install npc-custom "$chart" -n "$ns" -f "$here/helm-values-custom.yaml" \
  --set serviceMonitor.enabled=false >"$work/install-custom.log" 2>&1 ||
  fail "helm install (custom values) failed: $(cat "$work/install-custom.log")"
"$helm" get manifest npc-custom -n "$ns" >"$work/custom.yaml"
kubectl get deployment -n "$ns" npc >/dev/null || fail "the custom release's Deployment npc is missing"
kubectl get role -n "$lease_ns" npc-leader-election >/dev/null ||
  fail "the custom release's leader-election Role is not in $lease_ns"
compare_can_i "$custom_sa" default "$work/custom.yaml" ClusterRole
compare_can_i "$custom_sa" "$lease_ns" "$work/custom.yaml" ClusterRole Role
for check in "list configmaps -A" "create events.events.k8s.io -n default" \
  "update leases.coordination.k8s.io -n $ns"; do
  # shellcheck disable=SC2086
  [ "$(kubectl auth can-i $check --as="$custom_sa" 2>/dev/null)" = no ] ||
    fail "with read-configmaps and events off (and the Lease in $lease_ns), the chart still allows: $check"
done
log "custom release: no configmaps, no events, the Lease's Role in $lease_ns"

# ---- 4. helm upgrade ---------------------------------------------------------------------
before=$(kubectl get deployment -n "$ns" netpol-ctrl -o jsonpath='{.spec.template.metadata.annotations.checksum/config}')
"$helm" upgrade netpol-ctrl "$chart" -n "$ns" --reuse-values --set config.mode=audit >"$work/upgrade.log" 2>&1 ||
  fail "helm upgrade failed: $(cat "$work/upgrade.log")"
kubectl get configmap -n "$ns" netpol-ctrl-config -o jsonpath='{.data.config\.yaml}' | grep -qx 'mode: audit' ||
  fail "helm upgrade --set config.mode=audit did not reach the ConfigMap"
after=$(kubectl get deployment -n "$ns" netpol-ctrl -o jsonpath='{.spec.template.metadata.annotations.checksum/config}')
[ -n "$before" ] && [ "$before" != "$after" ] ||
  fail "the pod template's checksum/config did not change with the config ($before -> $after)"
log "upgrade: the ConfigMap says mode: audit and the pod template rolled"

# ---- 5. helm uninstall ---------------------------------------------------------------------
for r in netpol-ctrl npc-custom; do
  "$helm" uninstall "$r" -n "$ns" >"$work/uninstall.log" 2>&1 ||
    fail "helm uninstall $r failed: $(cat "$work/uninstall.log")"
done
left=$(kubectl get clusterrole,clusterrolebinding -o name | grep -E '/(netpol-ctrl|npc)$' || true)
left+=$(kubectl get serviceaccount,configmap,deployment,networkpolicy,role,rolebinding -n "$ns" -o name |
  grep -E '/(netpol-ctrl|npc)(-config|-leader-election)?$' || true)
left+=$(kubectl get role,rolebinding -n "$lease_ns" -o name 2>/dev/null | grep npc || true)
[ -z "$left" ] || fail "helm uninstall left objects behind: $left"
log "uninstall: nothing of either release is left"
log "PASS"
