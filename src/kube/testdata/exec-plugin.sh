#!/bin/sh
# A test exec credential plugin. Counts its runs in $COUNT_FILE, checks that
# KUBERNETES_EXEC_INFO is set, and prints a token "tok-<run>" expiring at $EXPIRY
# (none when unset) or in $EXPIRES_IN seconds. With $TOKEN_FILE_SOURCE the token
# is that file's content; with $BAD_FIRST the first run prints a bad token.
# With $FAIL set it fails on stderr instead.
set -eu
if [ -n "${FAIL:-}" ]; then
  echo "plugin says: $FAIL" >&2
  exit 3
fi
case "${KUBERNETES_EXEC_INFO:-}" in
  *ExecCredential*) ;;
  *) echo "KUBERNETES_EXEC_INFO missing" >&2; exit 4 ;;
esac
n=1
if [ -f "$COUNT_FILE" ]; then n=$(( $(cat "$COUNT_FILE") + 1 )); fi
echo "$n" > "$COUNT_FILE"
token="${TOKEN_PREFIX:-tok}-$n"
if [ -n "${TOKEN_FILE_SOURCE:-}" ]; then token=$(cat "$TOKEN_FILE_SOURCE"); fi
if [ -n "${BAD_FIRST:-}" ] && [ "$n" = 1 ]; then token="bad-token"; fi
exp=""
if [ -n "${EXPIRES_IN:-}" ]; then EXPIRY=$(date -u -d "+${EXPIRES_IN} seconds" +%Y-%m-%dT%H:%M:%SZ); fi
if [ -n "${EXPIRY:-}" ]; then exp=",\"expirationTimestamp\":\"$EXPIRY\""; fi
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"%s}}\n' "$token" "$exp"
