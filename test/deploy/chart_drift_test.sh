#!/usr/bin/env bash
# Usage: chart_drift_test.sh REPO_ROOT
#
# deploy/ and charts/netpol-ctrl must not drift apart: renders deploy/ with
# `kubectl kustomize` and the chart with `helm template` (release netpol-ctrl
# in netpol-ctrl-system, default values, CRDs included) and compares them
# object by object, Role and ClusterRole rules as sets of permissions
# (chart_drift_test.py says what it normalizes). A difference fails the test
# and names the file on each side to change.
#
# VARIANTS pairs each way of installing deploy/ with the helm values that
# must install the same. When deploy/ gains an optional part (a kustomize
# component or overlay: the Secrets component, the agent, ...) and the chart
# a value for it, add a line "KUSTOMIZE_DIR[+KUSTOMIZE_DIR...]|HELM_ARGS",
# e.g. "deploy/components/secrets|--set secrets.enabled=true"; directories
# joined by "+" are installed together (deploy/agent/ goes beside deploy/:
# kustomize cannot nest it inside its base).
set -euo pipefail
root=$(cd "${1:?repo root}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
python3=${NPC_PYTHON3:-/usr/bin/python3}
ns=netpol-ctrl-system
VARIANTS=(
  "deploy|"
  "deploy+deploy/agent|--set agent.enabled=true"
)

helm=$("$root/scripts/build-helm")/helm
kubectl=$("$root/scripts/build-controlplane")/kubectl
work=$(mktemp -d "${TMPDIR:-/tmp}/npc-drift.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail=0
for v in "${VARIANTS[@]}"; do
  dir=${v%%|*}
  args=${v#*|}
  echo "== ${dir//+/ + }  <->  helm template ${args:-(default values)}"
  : >"$work/kustomize.yaml"
  dirs=()
  IFS=+ read -r -a parts <<<"$dir"
  for d in "${parts[@]}"; do
    { "$kubectl" kustomize "$root/$d"; echo "---"; } >>"$work/kustomize.yaml"
    dirs+=("$root/$d")
  done
  # shellcheck disable=SC2086
  "$helm" template netpol-ctrl "$root/charts/netpol-ctrl" --namespace "$ns" --include-crds \
    $args >"$work/helm.yaml"
  "$python3" "$here/chart_drift_test.py" "$(IFS=:; echo "${dirs[*]}")" "$work/kustomize.yaml" \
    "$work/helm.yaml" "$ns" ||
    fail=1
done
((fail == 0)) || exit 1
echo "chart_drift_test: ok"
