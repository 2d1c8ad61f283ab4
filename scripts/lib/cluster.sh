# Shared bash for scripts/with-cluster and the helpers it installs into a
# cluster directory ($NPC_CLUSTER_DIR). Source it; it defines functions only.
#
# Layout of a cluster directory (paths used by every helper):
#   ca.crt ca.key             cluster CA (signs serving and client certs)
#   sa.key sa.pub             service-account token signing key pair
#   kubeconfig                admin kubeconfig (CN=admin, O=system:masters)
#   server                    the API server URL, e.g. https://127.0.0.1:24123
#   logs/<component>.log      etcd, kube-apiserver, kube-controller-manager
#   run/<component>.pid       pid of the running component process
#   run/<component>.cmdline   the exact command line (NUL-separated argv)
#   lib/                      a copy of this library and the supervisor

npc_log() { echo "with-cluster: $*" >&2; }

# npc_now: seconds since the epoch with nanoseconds, for timing.
npc_now() { date +%s.%N; }

# npc_port_listening PORT: true when something listens on 127.0.0.1:PORT.
# Uses ss (iproute2) when present, else a connect through bash's /dev/tcp.
npc_port_listening() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# npc_free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
# Racy by nature (another process may take it before we bind), so callers
# pick all ports at once and the random range keeps parallel clusters apart.
# The range 20000-31999 stays below Linux's ephemeral ports (32768+), which
# outgoing connections use.
npc_free_port() {
  local p tries=0
  while ((tries++ < 200)); do
    p=$((20000 + RANDOM % 12000))
    [[ " ${NPC_USED_PORTS:-} " == *" $p "* ]] && continue
    if ! npc_port_listening "$p"; then
      NPC_USED_PORTS="${NPC_USED_PORTS:-} $p"
      echo "$p"
      return 0
    fi
  done
  npc_log "no free port found"
  return 1
}

# npc_make_ca DIR: writes DIR/ca.crt and DIR/ca.key (EC P-256, 1 year).
npc_make_ca() {
  local d=$1
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$d/ca.key" -out "$d/ca.crt" -days 365 -subj "/CN=netpol-ctrl-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

# npc_make_cert CADIR DIR NAME SUBJECT USAGE [SAN]: writes DIR/NAME.crt and
# DIR/NAME.key signed by CADIR/ca.{crt,key}. USAGE is serverAuth or
# clientAuth. SUBJECT is an openssl subject, e.g. "/O=system:masters/CN=admin".
npc_make_cert() {
  local cadir=$1 d=$2 name=$3 subject=$4 usage=$5 san=${6:-}
  local ext="$d/.$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$d/$name.key" -out "$d/.$name.csr" -subj "$subject" 2>/dev/null &&
    openssl x509 -req -in "$d/.$name.csr" -CA "$cadir/ca.crt" -CAkey "$cadir/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 365 -extfile "$ext" -out "$d/$name.crt" 2>/dev/null
  local rc=$?
  rm -f "$ext" "$d/.$name.csr"
  return $rc
}

# npc_write_kubeconfig OUT SERVER CA_CRT CLIENT_CRT CLIENT_KEY USER: a
# kubeconfig with everything embedded (no file references), context "npc".
npc_write_kubeconfig() {
  local out=$1 server=$2 ca=$3 crt=$4 key=$5 user=$6
  (umask 077 && cat >"$out") <<KC
apiVersion: v1
kind: Config
clusters:
- name: npc
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$ca")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$crt")
    client-key-data: $(base64 -w0 "$key")
contexts:
- name: npc
  context:
    cluster: npc
    user: $user
    namespace: default
current-context: npc
KC
}

# npc_apiserver_ready DIR: true when the API server of cluster DIR answers
# /readyz with "ok".
npc_apiserver_ready() {
  local d=$1
  [ "$(curl -s --max-time 2 --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
    "$(cat "$d/server")/readyz" 2>/dev/null)" = ok ]
}

# npc_tail_logs DIR: the last lines of every component log, for error reports.
npc_tail_logs() {
  local f
  for f in "$1"/logs/*.log; do
    [ -f "$f" ] || continue
    echo "----- last 25 lines of $f -----" >&2
    tail -n 25 "$f" >&2
  done
}
