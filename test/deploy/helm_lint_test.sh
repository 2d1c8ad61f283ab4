#!/usr/bin/env bash
# Usage: helm_lint_test.sh REPO_ROOT NETPOL_CTRL_BINARY
#
# 1. `helm lint --strict` passes with the default values and with
#    test/deploy/helm-values-custom.yaml (the schema, the templates, the
#    chart's metadata);
# 2. `helm package` makes an archive of the chart;
# 3. the release is one version everywhere: Chart.yaml's version and
#    appVersion, CMakeLists.txt's project VERSION, `netpol-ctrl --version`
#    and the image tag deploy/ uses.
set -euo pipefail
root=$(cd "${1:?repo root}" && pwd)
bin=${2:?netpol-ctrl binary}
chart=$root/charts/netpol-ctrl
fail=0
err() {
  echo "FAIL: $*" >&2
  fail=1
}
helm=$("$root/scripts/build-helm")/helm
work=$(mktemp -d "${TMPDIR:-/tmp}/npc-helm-lint.XXXXXX")
trap 'rm -rf "$work"' EXIT

for values in "" "$(dirname "$0")/helm-values-custom.yaml"; do
  args=(lint --strict "$chart" --namespace netpol-ctrl-system)
  [ -n "$values" ] && args+=(-f "$values")
  if out=$("$helm" "${args[@]}" 2>&1); then
    echo "ok  helm ${args[*]}"
  else
    err "helm ${args[*]}:
$out"
  fi
done

if out=$("$helm" package "$chart" --destination "$work" 2>&1) && ls "$work"/netpol-ctrl-*.tgz >/dev/null 2>&1; then
  echo "ok  helm package: $(basename "$work"/netpol-ctrl-*.tgz) ($(tar -tzf "$work"/netpol-ctrl-*.tgz | wc -l) files)"
else
  err "helm package failed: $out"
fi

chart_version=$(sed -nE 's/^version: *"?([^"]+)"?$/\1/p' "$chart/Chart.yaml")
app_version=$(sed -nE 's/^appVersion: *"?([^"]+)"?$/\1/p' "$chart/Chart.yaml")
cmake_version=$(sed -nE 's/^project\(netpol-ctrl VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
bin_version=$("$bin" --version | awk '{print $2}')
deploy_tag=$(sed -nE 's/^ *newTag: *"?([^"]+)"?$/\1/p' "$root/deploy/kustomization.yaml")
deploy_image=$(sed -nE 's/^ *image: *netpol-ctrl:([^ ]+)$/\1/p' "$root/deploy/deployment.yaml")
echo "versions: Chart.yaml $chart_version/$app_version, CMakeLists.txt $cmake_version, binary $bin_version, deploy/ $deploy_tag/$deploy_image"
for v in "$chart_version" "$app_version" "$bin_version" "$deploy_tag" "$deploy_image"; do
  [ "$v" = "$cmake_version" ] ||
    err "a version differs from CMakeLists.txt's $cmake_version: Chart.yaml version '$chart_version', appVersion '$app_version', netpol-ctrl --version '$bin_version', deploy/kustomization.yaml newTag '$deploy_tag', deploy/deployment.yaml image tag '$deploy_image'"
done

((fail == 0)) || {
  echo "helm_lint_test: FAILED" >&2
  exit 1
}
echo "helm_lint_test: ok"
