#!/usr/bin/env bash
# Usage: config_keys_test.sh NETPOL_CTRL_BINARY CONFIG_YAML DEPLOYMENT_YAML
#
# deploy/config.yaml uses the long flag names of `netpol-ctrl run` as keys:
# every top-level key must be a flag in `netpol-ctrl run --help`, and every
# flag the Deployment passes (args) must exist too. Skipped (exit 77) while
# the binary has no --config.
set -euo pipefail
bin=${1:?binary}
config=${2:?config.yaml}
deployment=${3:?deployment.yaml}
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

[ -x "$bin" ] || { echo "FAIL: $bin is not executable" >&2; exit 1; }
help=$("$bin" run --help 2>&1) || { echo "FAIL: $bin run --help failed: $help" >&2; exit 1; }
if ! grep -qE -- '--config([^a-z0-9-]|$)' <<<"$help"; then
  echo "SKIP: this netpol-ctrl has no 'run --config' yet"
  exit 77
fi
has_flag() { grep -qE -- "--$1([^a-z0-9-]|$)" <<<"$help"; }

keys=$(grep -oE '^[a-z][a-z0-9-]*:' "$config" | tr -d :)
[ -n "$keys" ] || err "no keys in $config"
for k in $keys; do
  if has_flag "$k"; then echo "ok  $k"; else err "config key '$k' is not a flag of 'netpol-ctrl run'"; fi
done
# The Deployment's args: "- --flag" or "- --flag=value" lines.
for f in $(grep -oE '^\s*- --[a-z][a-z0-9-]*' "$deployment" | sed 's/.*--//'); do
  if has_flag "$f"; then echo "ok  deployment arg --$f"; else err "deployment.yaml passes --$f, which 'netpol-ctrl run' does not have"; fi
done
((fail)) && { echo "config_keys_test: FAILED" >&2; exit 1; }
echo "config_keys_test: ok"
