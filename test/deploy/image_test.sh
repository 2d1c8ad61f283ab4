#!/usr/bin/env bash
# Usage: image_test.sh REPO_ROOT NETPOL_CTRL_BINARY
#
# Builds the image with scripts/build-image (what `make image` runs) into a
# temporary OCI archive, then checks it with standard tools only (tar and
# python's json, not buildah, so the archive is proven readable as OCI):
# 1. the layout: index.json -> manifest -> config and layers, every blob's
#    sha256 matching its name, the config's diff_ids matching the
#    uncompressed layers; the config runs /usr/local/bin/netpol-ctrl run as
#    65532:65532 on linux, exposes 8080 and 8081;
# 2. the unpacked root filesystem runs the binary: `netpol-ctrl --version`
#    as uid 65532 under chroot prints the same version as the binary it was
#    built from, and `generate` turns a small manifest into a NetworkPolicy
#    (YAML and JSON parsing, synthesis: the libraries work, not just load);
# 3. ldd inside the root filesystem (its own dynamic loader, --list) finds
#    every library; no library comes from outside it;
# 4. CA certificates, /etc/passwd with nonroot 65532, a dpkg status entry
#    per package of scripts/image-runtime-packages, the binary stripped and
#    owned by root, no shell.
# Needs buildah (scripts/setup) and root (buildah's vfs storage, chroot):
# skipped (exit 77) when not root.
set -euo pipefail
root=$(cd "${1:?repo root}" && pwd)
bin=${2:?netpol-ctrl binary}
python3=${NPC_PYTHON3:-/usr/bin/python3}
fail=0
err() {
  echo "FAIL: $*" >&2
  fail=1
}
if [ "$(id -u)" != 0 ]; then
  # CI and `make test` run as root; a developer's unprivileged run cannot
  # build or chroot into the image.
  echo "SKIP: the image test needs root (buildah's vfs storage, chroot); run it as root" >&2
  exit 77
fi
command -v buildah >/dev/null || { echo "FAIL: buildah is not installed (scripts/setup installs it)" >&2; exit 1; }
[ -x "$bin" ] || { echo "FAIL: $bin is not executable" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/npc-image-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$("$bin" --version | awk '{print $2}')

start=$(date +%s)
archive=$("$root/scripts/build-image" --binary "$bin" --output "$work/image.oci.tar") ||
  { echo "FAIL: scripts/build-image failed" >&2; exit 1; }
echo "ok  scripts/build-image wrote $(du -h "$archive" | cut -f1) in $(($(date +%s) - start))s"

# ---- 1. the OCI layout ------------------------------------------------------
mkdir -p "$work/oci" "$work/rootfs"
tar -xf "$archive" -C "$work/oci"
"$python3" - "$work/oci" "$work/rootfs" "$version" <<'EOF' || fail=1
import gzip, hashlib, json, os, subprocess, sys
oci, rootfs, version = sys.argv[1:4]
bad = []
def check(cond, what):
    print(("ok  " if cond else "FAIL: ") + what, file=sys.stdout if cond else sys.stderr)
    if not cond:
        bad.append(what)
def blob(digest):
    algo, hexd = digest.split(":")
    path = os.path.join(oci, "blobs", algo, hexd)
    data = open(path, "rb").read()
    check(hashlib.sha256(data).hexdigest() == hexd, f"blob {digest[:19]}... matches its digest")
    return data
layout = json.load(open(os.path.join(oci, "oci-layout")))
check(layout.get("imageLayoutVersion") == "1.0.0", "oci-layout 1.0.0")
index = json.load(open(os.path.join(oci, "index.json")))
mans = index.get("manifests", [])
check(len(mans) == 1 and mans[0]["mediaType"] == "application/vnd.oci.image.manifest.v1+json",
      "index.json names one OCI image manifest")
ref = mans[0].get("annotations", {}).get("org.opencontainers.image.ref.name", "")
check(ref.endswith(version), f"the image is named ...:{version} ({ref})")
man = json.loads(blob(mans[0]["digest"]))
check(man["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json", "config media type")
cfg = json.loads(blob(man["config"]["digest"]))
c = cfg.get("config", {})
check(cfg.get("os") == "linux" and cfg.get("architecture"), f"os/architecture {cfg.get('os')}/{cfg.get('architecture')}")
check(c.get("User") == "65532:65532", f"runs as 65532:65532 ({c.get('User')})")
check(c.get("Entrypoint") == ["/usr/local/bin/netpol-ctrl"] and c.get("Cmd") == ["run"],
      f"ENTRYPOINT netpol-ctrl, CMD run ({c.get('Entrypoint')} {c.get('Cmd')})")
check(set(c.get("ExposedPorts", {})) == {"8080/tcp", "8081/tcp"}, "exposes 8080 and 8081")
check(c.get("Labels", {}).get("org.opencontainers.image.version") == version, "version label")
diff_ids = cfg.get("rootfs", {}).get("diff_ids", [])
check(len(diff_ids) == len(man["layers"]) >= 1, f"{len(man['layers'])} layer(s), as many diff_ids")
for layer, diff_id in zip(man["layers"], diff_ids):
    data = blob(layer["digest"])
    if layer["mediaType"].endswith("+gzip"):
        data = gzip.decompress(data)
    check("sha256:" + hashlib.sha256(data).hexdigest() == diff_id, "the layer's diff_id matches its content")
    subprocess.run(["tar", "-x", "-C", rootfs, "--same-owner", "-p"], input=data, check=True)
sys.exit(1 if bad else 0)
EOF
r=$work/rootfs

# ---- 2. the binary runs in it ------------------------------------------------------
out=$(chroot --userspec=65532:65532 "$r" /usr/local/bin/netpol-ctrl --version 2>&1) ||
  err "netpol-ctrl --version in the image's root filesystem failed: $out"
if [ "$out" = "$("$bin" --version)" ]; then
  echo "ok  chroot (uid 65532): $out"
else
  err "the image's netpol-ctrl --version says '$out', the binary '$("$bin" --version)'"
fi
manifest='apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: registry.example/api:1
          env: [{name: DB, value: "db.shop.svc.cluster.local:5432"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: registry.example/db:1, ports: [{containerPort: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: db}
  ports: [{port: 5432}]'
out=$(chroot --userspec=65532:65532 "$r" /usr/local/bin/netpol-ctrl generate -f - <<<"$manifest" 2>&1) ||
  err "netpol-ctrl generate in the image failed: $out"
if grep -q 'name: deployment-api' <<<"$out" && grep -q 'name: deployment-db' <<<"$out" &&
  grep -q 'port: 5432' <<<"$out"; then
  echo "ok  chroot: netpol-ctrl generate writes both Deployments' NetworkPolicies (api -> db:5432)"
else
  err "netpol-ctrl generate in the image gave no policy with port 5432: $out"
fi

# ---- 3. ldd inside the root filesystem ---------------------------------------------
interp=$(readelf -l "$r/usr/local/bin/netpol-ctrl" | sed -nE 's/.*Requesting program interpreter: (.*)]/\1/p')
[ -n "$interp" ] && [ -e "$r$interp" ] || err "the program interpreter '$interp' is not in the image"
ldd_fail=0
ldd_err() {
  err "$@"
  ldd_fail=1
}
ldd_out=$(chroot "$r" "$interp" --list /usr/local/bin/netpol-ctrl 2>&1) || ldd_err "ldd in the image failed: $ldd_out"
if grep -q 'not found' <<<"$ldd_out"; then
  ldd_err "libraries the image lacks: $(grep 'not found' <<<"$ldd_out")"
fi
n=0
while read -r lib _ path _; do
  [ -n "$path" ] || continue
  n=$((n + 1))
  [ -e "$r$path" ] || ldd_err "$lib resolves to $path, which is not in the image"
done < <(grep '=>' <<<"$ldd_out")
needed=$(readelf -d "$r/usr/local/bin/netpol-ctrl" | grep -c NEEDED)
((n >= needed && needed > 0)) || ldd_err "ldd in the image resolved $n libraries; the binary needs $needed directly"
((ldd_fail)) || echo "ok  ldd in the image: all $n libraries resolve inside it ($needed needed directly)"

# ---- 4. the rest of the image --------------------------------------------------------
ncerts=$(grep -c 'BEGIN CERTIFICATE' "$r/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true)
((ncerts > 50)) && openssl storeutl -noout -certs "$r/etc/ssl/certs/ca-certificates.crt" >/dev/null 2>&1 &&
  echo "ok  CA bundle: $ncerts certificates" || err "the CA bundle is missing or unreadable ($ncerts certificates)"
grep -qx 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' "$r/etc/passwd" &&
  grep -qx 'nonroot:x:65532:' "$r/etc/group" && echo "ok  /etc/passwd and /etc/group: nonroot 65532" ||
  err "no nonroot (65532) in /etc/passwd or /etc/group"
missing=()
for p in $(sed -e 's/#.*//' "$root/scripts/image-runtime-packages"); do
  grep -qx "Package: $p" "$r/var/lib/dpkg/status.d/$p" 2>/dev/null || missing+=("$p")
done
((${#missing[@]} == 0)) && echo "ok  a dpkg status entry for each listed package ($(ls "$r/var/lib/dpkg/status.d" | wc -l) packages in all)" ||
  err "no /var/lib/dpkg/status.d entry for: ${missing[*]}"
readelf -S "$r/usr/local/bin/netpol-ctrl" | grep -q '\.symtab' && err "the image's binary is not stripped"
[ "$(stat -c %u:%a "$r/usr/local/bin/netpol-ctrl")" = 0:755 ] || err "the binary is not root-owned 0755"
for sh in bin/sh bin/bash usr/bin/dash; do
  [ -e "$r/$sh" ] && err "the image has a shell: /$sh"
done
echo "image: $(du -sh "$r" | cut -f1) unpacked, $(find "$r" -type f | wc -l) files"

((fail == 0)) || {
  echo "image_test: FAILED" >&2
  exit 1
}
echo "image_test: ok"
