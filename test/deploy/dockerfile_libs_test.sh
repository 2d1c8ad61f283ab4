#!/usr/bin/env bash
# Usage: dockerfile_libs_test.sh NETPOL_CTRL_BINARY DOCKERFILE SETUP_SCRIPT RUNTIME_PACKAGES
#
# Keeps the image's package list honest without a container engine. The list
# (scripts/image-runtime-packages) is read by the Dockerfile's runtime stage
# and by scripts/build-image (`make image`):
# 1. every shared library the binary needs directly (ELF NEEDED) belongs to a
#    Debian package the list names (or to the base image: libc6, libstdc++6,
#    libgcc-s1);
# 2. every library `ldd` resolves (the whole closure) belongs to a package
#    that the list pulls in through Depends/Pre-Depends, or to the base image;
# 3. each listed package exists in this (bookworm) system's dpkg database
#    (catches a wrong soname suffix such as libsimdjson13);
# 4. the runtime stage is debian:bookworm-slim, installs the list (it mounts
#    the file and feeds it to apt-get install), runs as uid 65532 and has an
#    ENTRYPOINT; the build stage's package extraction from scripts/setup
#    yields the setup script's packages.
# Packages are resolved with dpkg on this machine, which is Debian bookworm
# like the image.
set -euo pipefail
set -f  # no globbing: words of the Dockerfile are split, never expanded

bin=${1:?binary}
dockerfile=${2:?Dockerfile}
setup=${3:?scripts/setup}
pkglist=${4:?scripts/image-runtime-packages}
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

[ -x "$bin" ] || { echo "FAIL: $bin is not an executable (build netpol-ctrl first)" >&2; exit 1; }
base_pkgs=(libc6 libgcc-s1 libstdc++6)

# --- the runtime stage: lines after the last FROM ---------------------------
runtime=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$dockerfile")
grep -qE '^FROM debian:bookworm-slim( |$)' <<<"$runtime" ||
  err "the runtime (last) stage is not FROM debian:bookworm-slim"
grep -qE '^USER 65532(:65532)?$' <<<"$runtime" || err "the runtime stage does not set USER 65532"
grep -qE '^ENTRYPOINT \[?"?/usr/local/bin/netpol-ctrl' <<<"$runtime" ||
  err "the runtime stage has no ENTRYPOINT /usr/local/bin/netpol-ctrl"

# The runtime stage installs the list: it bind-mounts the file and pipes its
# lines (comments stripped) into apt-get install.
list_name=$(basename "$pkglist")
grep -qE "^RUN --mount=type=bind,source=scripts/$list_name,target=/tmp/$list_name" <<<"$runtime" ||
  err "the runtime stage does not mount scripts/$list_name at /tmp/$list_name"
joined=$(sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' <<<"$runtime")
grep -qE "sed -e 's/#\.\*//' /tmp/$list_name +\| +xargs .*apt-get install" <<<"$joined" ||
  err "the runtime stage does not pipe /tmp/$list_name into apt-get install"
mapfile -t runtime_pkgs < <(sed -e 's/#.*//' "$pkglist" | tr -s ' \t' '\n' | grep .)
((${#runtime_pkgs[@]})) || err "$pkglist names no package"
echo "runtime packages: ${runtime_pkgs[*]}"

# --- 3: each named package exists here ---------------------------------------
for p in "${runtime_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    err "runtime package '$p' is not a known (installed) bookworm package here; wrong name?"
done

# Package of a library path, by dpkg -S on the path or its resolved target.
pkg_of() {
  local path=$1 real out
  real=$(readlink -f "$path")
  for candidate in "$path" "$real" "/usr$path" "${path#/usr}"; do
    if out=$(dpkg -S "$candidate" 2>/dev/null); then
      # "libcurl4:amd64: /usr/lib/..." -> libcurl4
      head -1 <<<"$out" | cut -d: -f1
      return 0
    fi
  done
  return 1
}
in_list() {
  local x=$1
  shift
  local y
  for y; do [ "$x" = "$y" ] && return 0; done
  return 1
}

# --- dependency closure of the runtime list (dpkg's Depends, Pre-Depends) ----
declare -A closure=()
queue=("${runtime_pkgs[@]}" "${base_pkgs[@]}")
while ((${#queue[@]})); do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  [ -n "${closure[$p]:-}" ] && continue
  closure[$p]=1
  deps=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$p" 2>/dev/null || true)
  # "libssl3 (>= 3.0.0), libc6 (>= 2.34) | foo" -> every alternative's name.
  for d in $(tr ',|' '\n\n' <<<"$deps" | sed -e 's/(.*)//' -e 's/:any//' -e 's/ //g'); do
    [ -n "$d" ] && [ -z "${closure[$d]:-}" ] && queue+=("$d")
  done
done

# --- 1: direct NEEDED libraries, named explicitly -----------------------------
ldd_out=$(ldd "$bin")
declare -A path_of=()
while read -r name _ path _; do
  [ -n "$path" ] && [ "$path" != "not" ] && path_of[$name]=$path
done < <(grep '=>' <<<"$ldd_out")
grep -q 'not found' <<<"$ldd_out" && err "ldd finds unresolved libraries: $(grep 'not found' <<<"$ldd_out")"

needed=$(objdump -p "$bin" | awk '$1=="NEEDED"{print $2}')
[ -n "$needed" ] || err "objdump shows no NEEDED entries in $bin"
for so in $needed; do
  path=${path_of[$so]:-}
  if [ -z "$path" ]; then
    err "NEEDED $so has no path in ldd output"
    continue
  fi
  if ! p=$(pkg_of "$path"); then
    err "no Debian package owns $path (needed directly as $so)"
    continue
  fi
  if in_list "$p" "${base_pkgs[@]}"; then
    echo "ok  $so -> $p (base image)"
  elif in_list "$p" "${runtime_pkgs[@]}"; then
    echo "ok  $so -> $p (runtime packages)"
  else
    err "$so (needed directly) comes from $p, which $pkglist does not list: add it there"
  fi
done

# --- 2: every library ldd resolves --------------------------------------------
for so in "${!path_of[@]}"; do
  path=${path_of[$so]}
  if ! p=$(pkg_of "$path"); then
    err "no Debian package owns $path ($so)"
    continue
  fi
  [ -n "${closure[$p]:-}" ] ||
    err "$so comes from $p, which neither the base image nor the runtime packages' dependencies provide"
done
echo "ldd: ${#path_of[@]} libraries, all from the base image or the runtime packages' closure"

# --- 4: the build stage reads the package list out of scripts/setup ----------
build_stage=$(awk '/^FROM /{n++} n==1' "$dockerfile")
grep -q "sed -n '/^PACKAGES=(/,/^)/p' scripts/setup" <<<"$build_stage" ||
  err "the build stage no longer reads PACKAGES from scripts/setup the way this test checks"
eval "$(sed -n '/^PACKAGES=(/,/^)/p' "$setup")"
if ((${#PACKAGES[@]} < 5)); then
  err "extracting PACKAGES from $setup yields ${#PACKAGES[@]} packages; its format changed"
else
  for must in cmake ninja-build libcurl4-openssl-dev libsimdjson-dev; do
    in_list "$must" "${PACKAGES[@]}" || err "the setup package list lacks $must"
  done
  echo "build stage: ${#PACKAGES[@]} packages from scripts/setup"
fi

if ((fail)); then
  echo "dockerfile_libs_test: FAILED" >&2
  exit 1
fi
echo "dockerfile_libs_test: ok"
