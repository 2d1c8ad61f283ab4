#!/usr/bin/env bash
# Usage: helm_values_keys_test.sh NETPOL_CTRL_BINARY CHART_DIR
#
# "A value for every config key": each long flag of `netpol-ctrl run` (but
# --help and --config, which the chart itself passes) is a key under
# `config:` in the chart's values.yaml and in values.schema.json's
# config.properties (which rejects unknown keys), and neither has a key the
# binary does not know. A flag added to `run` fails this test, naming the
# flag and both files to add it to.
set -euo pipefail
bin=${1:?netpol-ctrl binary}
chart=${2:?chart directory}
python3=${NPC_PYTHON3:-/usr/bin/python3}
fail=0
err() {
  echo "FAIL: $*" >&2
  fail=1
}

[ -x "$bin" ] || { echo "FAIL: $bin is not executable" >&2; exit 1; }
help=$("$bin" run --help 2>&1) || { echo "FAIL: $bin run --help failed: $help" >&2; exit 1; }
# Option lines: "  --mode TEXT ...", "  -v,--v INT ...".
mapfile -t flags < <(sed -nE 's/^ +(-[A-Za-z], *)?--([a-z][a-z0-9-]*).*/\2/p' <<<"$help" |
  grep -vxE 'help|config' | sort -u)
((${#flags[@]} >= 10)) || {
  echo "FAIL: found only ${#flags[@]} flags in 'netpol-ctrl run --help' (${flags[*]}); its format changed?" >&2
  exit 1
}
mapfile -t values_keys < <("$python3" -c '
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))
print("\n".join(sorted((v.get("config") or {}).keys())))' "$chart/values.yaml")
mapfile -t schema_keys < <("$python3" -c '
import sys, json
s = json.load(open(sys.argv[1]))
c = s["properties"]["config"]
assert c.get("additionalProperties") is False, "config must reject unknown keys"
print("\n".join(sorted(c["properties"].keys())))' "$chart/values.schema.json")

in_list() {
  local x=$1 y
  shift
  for y; do [ "$x" = "$y" ] && return 0; done
  return 1
}
for f in "${flags[@]}"; do
  in_list "$f" "${values_keys[@]}" ||
    err "'netpol-ctrl run' has --$f, but charts/netpol-ctrl/values.yaml has no config.$f: add it (null, \"\" or [] for the binary's default, with a comment saying what it does)"
  in_list "$f" "${schema_keys[@]}" ||
    err "'netpol-ctrl run' has --$f, but charts/netpol-ctrl/values.schema.json has no properties.config.properties.$f: add its type (with \"null\" when values.yaml defaults it to null)"
done
for key in "${values_keys[@]}"; do
  in_list "$key" "${flags[@]}" ||
    err "charts/netpol-ctrl/values.yaml has config.$key, which is not a flag of 'netpol-ctrl run' (the binary would reject the config file)"
done
for key in "${schema_keys[@]}"; do
  in_list "$key" "${flags[@]}" ||
    err "charts/netpol-ctrl/values.schema.json allows config.$key, which is not a flag of 'netpol-ctrl run'"
done
((fail == 0)) || {
  echo "helm_values_keys_test: FAILED" >&2
  exit 1
}
echo "helm_values_keys_test: ok (${#flags[@]} flags of 'netpol-ctrl run', each a key of the chart's config: ${flags[*]})"
