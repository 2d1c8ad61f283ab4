#!/usr/bin/env bash
# Usage: helm_template_test.sh REPO_ROOT NETPOL_CTRL_BINARY
#
# `helm template` of charts/netpol-ctrl, checked for content:
# 1. default values, test/deploy/helm-values-custom.yaml (every value away
#    from its default) and everything-off values render what they should
#    (helm_template_test.py parses the objects);
# 2. the config file the chart renders is one the binary accepts: `run
#    --config FILE` gets past its flags and config (exit 1 on the missing
#    kubeconfig, not 2 for a bad flag or key), for each rendering;
# 3. a config change changes the pod template's checksum (the pods roll);
# 4. values that cannot work fail the render with a message saying what to
#    change: a misspelt or unknown key, a bad enum, a bind address without a
#    port, replicas > 1 without leader election, a ServiceMonitor without
#    metrics, an agent value that is no duration or no agent value at all;
# 5. the node agent (agent.enabled): its CRD, DaemonSet (hostNetwork,
#    NET_ADMIN only, every node), ServiceAccount and ClusterRole, and its
#    values where they belong; none of it by default.
set -euo pipefail
root=$(cd "${1:?repo root}" && pwd)
bin=${2:?netpol-ctrl binary}
here=$(cd "$(dirname "$0")" && pwd)
python3=${NPC_PYTHON3:-/usr/bin/python3}
chart=$root/charts/netpol-ctrl
custom=$here/helm-values-custom.yaml
ns=netpol-ctrl-system
fail=0
err() {
  echo "FAIL: $*" >&2
  fail=1
}

helm=$("$root/scripts/build-helm")/helm
work=$(mktemp -d "${TMPDIR:-/tmp}/npc-helm-template.XXXXXX")
trap 'rm -rf "$work"' EXIT
render() { "$helm" template netpol-ctrl "$chart" --namespace "$ns" "$@"; }

# ---- 1 ----------------------------------------------------------------------
render >"$work/default.yaml"
render -f "$custom" >"$work/custom.yaml"
render --set replicas=1 --set config.leader-elect=false --set config.metrics-bind-address=0 \
  --set config.health-probe-bind-address=0 --set rbac.create=false \
  --set networkPolicy.enabled=false --set serviceAccount.create=false \
  --set serviceAccount.name=existing-sa --set image.digest=sha256:0123456789abcdef \
  --set-json 'affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"role","operator":"In","values":["infra"]}]}]}}}' \
  >"$work/off.yaml"
"$python3" "$here/helm_template_test.py" "$work/default.yaml" "$work/custom.yaml" "$work/off.yaml" \
  "$custom" || fail=1

# ---- 2 ----------------------------------------------------------------------
# The ConfigMap's config.yaml of a rendering.
config_of() {
  "$python3" -c '
import sys, k8s_objects as k
print(k.find(k.load_file(sys.argv[1]), "ConfigMap").body["data"]["config.yaml"], end="")' "$1"
}
for r in default custom off; do
  PYTHONPATH=$here config_of "$work/$r.yaml" >"$work/$r.config.yaml"
  rc=0
  out=$(timeout 20 "$bin" run --config "$work/$r.config.yaml" --kubeconfig "$work/no-such-kubeconfig" \
    --metrics-bind-address=0 --health-probe-bind-address=0 2>&1) || rc=$?
  if ((rc == 1)) && grep -q 'no-such-kubeconfig' <<<"$out"; then
    echo "ok  the $r config file is accepted by netpol-ctrl run (it stops at the kubeconfig)"
  else
    err "netpol-ctrl run --config <the $r rendering's config.yaml> exited $rc: $out"
  fi
done

# ---- 3 ----------------------------------------------------------------------
checksum() { grep -m1 -oE 'checksum/config: [0-9a-f]{64}' "$1"; }
render --set config.mode=audit >"$work/audit.yaml"
if [ "$(checksum "$work/default.yaml")" != "$(checksum "$work/audit.yaml")" ]; then
  echo "ok  a config change changes checksum/config (the pods roll)"
else
  err "checksum/config did not change with config.mode"
fi

# ---- 4 ----------------------------------------------------------------------
# must_fail "DESCRIPTION" "EXPECTED MESSAGE (ERE)" HELM_ARGS...
must_fail() {
  local what=$1 want=$2 out rc=0
  shift 2
  out=$(render "$@" 2>&1 >/dev/null) || rc=$?
  if ((rc == 0)); then
    err "$what: helm template $* succeeded"
  elif grep -qE -- "$want" <<<"$out"; then
    echo "ok  $what: $(grep -m1 -oE -- "$want" <<<"$out")"
  else
    err "$what: the error does not say /$want/: $out"
  fi
}
must_fail "a misspelt config key" "additional properties 'mdoe' not allowed|mdoe" --set config.mdoe=audit
must_fail "a mode that does not exist" "mode.*(enforce|audit)" --set config.mode=block
must_fail "a bind address without a port" "metrics-bind-address" --set config.metrics-bind-address=8080
must_fail "a misspelt top-level value" "replica" --set replica=3
must_fail "2 replicas without leader election" "needs config.leader-elect: true" \
  --set config.leader-elect=false
must_fail "a ServiceMonitor without metrics" "serviceMonitor.enabled needs metrics" \
  --set serviceMonitor.enabled=true --set config.metrics-bind-address=0
must_fail "an agent report interval that is no duration" "reportInterval" \
  --set agent.enabled=true --set agent.reportInterval=soon
must_fail "a misspelt agent value" "reportIntervall" --set agent.reportIntervall=5s
must_fail "no ServiceAccount and no name" "serviceAccount.name: name the existing ServiceAccount" \
  --set serviceAccount.create=false

# ---- 5 ----------------------------------------------------------------------
render --set agent.enabled=true >"$work/agent.yaml"
render --set agent.enabled=true --set agent.reportInterval=15s --set agent.maxFlows=50000 \
  --set agent.forgetAfter=240h --set agent.verbosity=1 --set agent.metricsPort=9500 \
  --set agent.serviceAccount.create=false --set agent.serviceAccount.name=my-agent \
  --set rbac.create=false >"$work/agent-custom.yaml"
PYTHONPATH=$here "$python3" - "$work/default.yaml" "$work/agent.yaml" "$work/agent-custom.yaml" <<'PY' || fail=1
import sys
import k8s_objects as k
default, agent, custom = (k.load_file(p) for p in sys.argv[1:4])
bad = []
def check(cond, what):
    print(("ok  " if cond else "FAIL: ") + what, file=sys.stdout if cond else sys.stderr)
    if not cond:
        bad.append(what)
check(not [o for o in default if o.kind in ("DaemonSet", "CustomResourceDefinition")
           or o.name.endswith("-agent")], "no agent object with default values")
ds = k.find(agent, "DaemonSet", "netpol-ctrl-agent").body["spec"]["template"]["spec"]
c = ds["containers"][0]
check(ds["hostNetwork"] is True and ds["dnsPolicy"] == "ClusterFirstWithHostNet", "agent: hostNetwork")
check(ds["tolerations"] == [{"operator": "Exists"}], "agent: on every node, whatever its taints")
check(ds["serviceAccountName"] == "netpol-ctrl-agent", "agent: its own ServiceAccount")
check(c["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
      and c["securityContext"]["allowPrivilegeEscalation"] is False
      and c["securityContext"]["readOnlyRootFilesystem"] is True, "agent: NET_ADMIN and nothing else")
check(c["args"][0] == "agent" and "--report-interval=60s" in c["args"], "agent: args")
check(c["env"][0]["name"] == "NODE_NAME" and
      c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName", "agent: NODE_NAME")
crd = k.find(agent, "CustomResourceDefinition", "observedflows.netpol-ctrl.io").body
check(crd["metadata"]["annotations"].get("helm.sh/resource-policy") == "keep",
      "the CRD stays on helm uninstall (and the reports with it)")
rules = k.permissions(k.find(agent, "ClusterRole", "netpol-ctrl-agent").body["rules"])
check(("netpol-ctrl.io", "observedflows", "", "patch") in rules and
      not [r for r in rules if r[3] in ("delete", "update", "get", "*")],
      "agent RBAC: applies reports, never gets, updates or deletes")
cc = k.find(custom, "DaemonSet", "netpol-ctrl-agent").body["spec"]["template"]["spec"]
args = cc["containers"][0]["args"]
for a in ("--report-interval=15s", "--max-flows=50000", "--forget-after=240h", "--v=1",
          "--metrics-bind-address=:9500"):
    check(a in args, f"agent values: {a}")
check(cc["containers"][0]["ports"][0]["containerPort"] == 9500, "agent values: the metrics port")
check(cc["serviceAccountName"] == "my-agent", "agent values: an existing ServiceAccount")
check(not [o for o in custom if o.kind in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")
           and "agent" in o.name], "agent values: no ServiceAccount or RBAC when told")
sys.exit(1 if bad else 0)
PY

((fail == 0)) || {
  echo "helm_template_test: FAILED" >&2
  exit 1
}
echo "helm_template_test: ok"
