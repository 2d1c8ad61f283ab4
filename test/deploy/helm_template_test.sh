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
#    metrics, the reserved agent.
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
must_fail "the reserved agent" "no node agent yet" --set agent.enabled=true
must_fail "no ServiceAccount and no name" "serviceAccount.name: name the existing ServiceAccount" \
  --set serviceAccount.create=false

((fail == 0)) || {
  echo "helm_template_test: FAILED" >&2
  exit 1
}
echo "helm_template_test: ok"
