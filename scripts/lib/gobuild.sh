# Building Go commands once per version into a cache outside the build tree,
# shared by scripts/build-controlplane and scripts/build-tool. Source it; it
# defines functions only.
#
# Cache layout: ${NETPOL_CTRL_CACHE:-~/.cache/netpol-ctrl}/<tool>/<version>/
# holding the binaries and a .complete marker; concurrent callers wait on a
# lock (flock) instead of building twice.

# npc_gobuild_cache_root TOOL: the cache folder of TOOL.
npc_gobuild_cache_root() {
  echo "${NETPOL_CTRL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netpol-ctrl}/$1"
}

# npc_gobuild_sum_hash MODDIR [FILE...]: 12 hex digits of the contents of
# go.mod, go.sum and the given files of MODDIR (a main of our own), so the
# cache key changes whenever any of them changes, and only then (not with the
# checkout's path: every worktree and clone shares one build).
npc_gobuild_sum_hash() {
  local mod=$1
  shift
  (cd "$mod" && cat go.mod go.sum "$@") | sha256sum | cut -c1-12
}

# npc_gobuild_module_version MODDIR MODULE: the version go.mod requires.
npc_gobuild_module_version() {
  awk -v m="$2" '$1==m{print $2} $1=="require" && $2==m{print $3}' "$1/go.mod" | head -1
}

# npc_gobuild TOOL VERSION MODDIR LDFLAGS OUT:PKG...
#   Builds each package PKG of the Go module in MODDIR into
#   <cache>/TOOL/VERSION/OUT (CGO off, -trimpath), unless already built, and
#   prints that folder on stdout. Progress goes to stderr, prefixed "TOOL:".
npc_gobuild() {
  local tool=$1 version=$2 mod=$3 ldflags=$4
  shift 4
  local root dest spec
  root=$(npc_gobuild_cache_root "$tool")
  dest="$root/$version"
  _npc_gobuild_complete() {
    for spec in "$@"; do [ -x "$dest/${spec%%:*}" ] || return 1; done
    [ -f "$dest/.complete" ]
  }
  if _npc_gobuild_complete "$@"; then echo "$dest"; return 0; fi
  mkdir -p "$root"
  exec 9>"$root/.lock-$version"
  echo "$tool: waiting for the build lock" >&2
  flock 9
  if _npc_gobuild_complete "$@"; then exec 9>&-; echo "$dest"; return 0; fi
  local tmp="$dest.tmp.$$" start rc=0
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # shellcheck disable=SC2064  # $tmp is expanded now, on purpose
  trap "rm -rf '$tmp'" EXIT
  start=$(date +%s)
  for spec in "$@"; do
    echo "$tool: go build ${spec#*:}" >&2
    (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod \
      go build -trimpath -ldflags "$ldflags" -o "$tmp/${spec%%:*}" "${spec#*:}") >&2 || { rc=1; break; }
  done
  if ((rc)); then
    rm -rf "$tmp"
    exec 9>&-
    echo "$tool: build failed" >&2
    return 1
  fi
  touch "$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
  exec 9>&-
  echo "$tool: built in $(($(date +%s) - start))s into $dest" >&2
  echo "$dest"
}
