#!/usr/bin/env bash
# Usage (under scripts/with-cluster):
#   rbac_test.sh NETPOL_CTRL_BINARY DEPLOY_DIR               deploy/ (kustomize)
#   rbac_test.sh NETPOL_CTRL_BINARY --helm HELM CHART_DIR    the Helm chart
#
# Proof that the RBAC of deploy/ (or of the chart) is enough, and that a
# missing permission is survivable:
#   1. apply deploy/ without its Deployment (or `helm install` the chart with
#      0 replicas); mint a token for the controller's ServiceAccount; run the
#      binary in in-cluster mode with that token
#      (NPC_SERVICEACCOUNT_DIR, KUBERNETES_SERVICE_HOST/PORT, no KUBECONFIG);
#   2. with the platform's CRDs installed (examples/platform/crds, and the
#      Gateway API's GRPC/TLS/TCP/UDPRoute), every optional informer runs
#      (Prometheus operator, Routes, Gateway API) besides the always-served
#      platform kinds (IngressClasses, webhook configurations, APIServices,
#      CRDs); a small app (web Deployment + Service, a client Deployment that
#      names the Service, a bare unlabelled Pod) gets its policies and the pod
#      its label, with no 403/Forbidden anywhere in the controller's log;
#   3. `delete` on networkpolicies removed from the ClusterRole: deleting a
#      policy (its workload annotated netpol-ctrl.io/ignore) logs an error
#      that names the verb and resource and the policy, the
#      controller keeps running and a new workload still gets its policy;
#   4. `delete` back, `patch` on networkpolicies removed: the new workload's
#      policy cannot be applied (error naming patch/networkpolicies, and a
#      Warning Event on the workload when the binary records Events) while an
#      ignored workload's policy is still deleted.
# Everything it creates is deleted on exit; the controller is stopped by a trap.
set -euo pipefail

bin=${1:?netpol-ctrl binary}
helm=
if [ "${2:-}" = --helm ]; then
  helm=${3:?helm binary}
  chart=${4:?chart directory}
  what="the chart's"
else
  deploy_src=${2:?deploy directory}
  what="deploy/'s"
fi
sa_user=system:serviceaccount:netpol-ctrl-system:netpol-ctrl
ctrl_ns=netpol-ctrl-system
timeout_s=${NPC_RBAC_TEST_TIMEOUT:-60}

log() { echo "rbac_test: $*"; }
fail() {
  echo "rbac_test: FAIL: $*" >&2
  exit 1
}

[ -n "${KUBECONFIG:-}" ] && [ -n "${NPC_CLUSTER_DIR:-}" ] ||
  fail "KUBECONFIG and NPC_CLUSTER_DIR are not set: run under scripts/with-cluster"
command -v kubectl >/dev/null || fail "kubectl is not on PATH (scripts/with-cluster puts it there)"
[ -x "$bin" ] || fail "$bin is not executable (build the netpol-ctrl target)"
if [ -n "$helm" ]; then
  [ -x "$helm" ] || fail "$helm is not executable (scripts/build-helm)"
  [ -f "$chart/Chart.yaml" ] || fail "$chart has no Chart.yaml"
else
  [ -f "$deploy_src/kustomization.yaml" ] || fail "$deploy_src has no kustomization.yaml"
fi

root=$(cd "$(dirname "$0")/../.." && pwd)
platform_crds=$root/examples/platform/crds/crds.yaml
[ -f "$platform_crds" ] || fail "$platform_crds is missing"
work=$(mktemp -d "${TMPDIR:-/tmp}/npc-rbac.XXXXXX")
ctrl_log=$work/controller.log
ctrl_pid=
app_ns=rbac-app-$$-$RANDOM

stop_controller() {
  [ -n "$ctrl_pid" ] || return 0
  kill -TERM "$ctrl_pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$ctrl_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$ctrl_pid" 2>/dev/null || true
  wait "$ctrl_pid" 2>/dev/null || true
  ctrl_pid=
}

cleanup() {
  local rc=$?
  set +e
  stop_controller
  if ((rc != 0)) && [ -f "$ctrl_log" ]; then
    echo "---- controller log (last 60 lines) ----" >&2
    tail -n 60 "$ctrl_log" >&2
    echo "----------------------------------------" >&2
  fi
  kubectl delete namespace "$app_ns" --ignore-not-found --wait=false >/dev/null 2>&1
  [ -f "$work/crds.yaml" ] &&
    kubectl delete -f "$work/crds.yaml" --ignore-not-found --wait=false >/dev/null 2>&1
  [ -d "$work/deploy" ] &&
    kubectl delete -k "$work/deploy" --ignore-not-found --wait=false >/dev/null 2>&1
  if [ -n "$helm" ] && "$helm" status netpol-ctrl -n "$ctrl_ns" >/dev/null 2>&1; then
    "$helm" uninstall netpol-ctrl -n "$ctrl_ns" >/dev/null 2>&1
    kubectl delete namespace "$ctrl_ns" --ignore-not-found --wait=false >/dev/null 2>&1
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# poll SECONDS DESCRIPTION CMD...: runs CMD every 0.5 s until it succeeds.
poll() {
  local secs=$1 what=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for: $what"
    controller_alive || fail "the controller exited while waiting for: $what"
    sleep 0.5
  done
}
controller_alive() { [ -z "$ctrl_pid" ] || kill -0 "$ctrl_pid" 2>/dev/null; }
policy_exists() { kubectl get networkpolicy -n "$app_ns" "$1" >/dev/null 2>&1; }
policy_absent() { ! policy_exists "$1"; }
log_has() { grep -qE "$1" "$ctrl_log"; }
can_i() { [ "$(kubectl auth can-i "$@" --as="$sa_user" 2>/dev/null)" = yes ]; }
cannot_i() { [ "$(kubectl auth can-i "$@" --as="$sa_user" 2>/dev/null)" = no ]; }
has_flag() { "$bin" run --help 2>&1 | grep -q -- "$1"; }

# A namespace left Terminating by an earlier run in a kept cluster.
poll 90 "namespace $ctrl_ns from an earlier run to be gone" \
  bash -c "! kubectl get namespace $ctrl_ns -o jsonpath='{.status.phase}' 2>/dev/null | grep -q Terminating"

# ---- 1. deploy/ without the Deployment, or the chart with 0 replicas ----------
if [ -n "$helm" ]; then
  "$helm" install netpol-ctrl "$chart" -n "$ctrl_ns" --create-namespace --set replicas=0 \
    >"$work/apply.log" 2>&1 || fail "helm install (0 replicas) failed: $(cat "$work/apply.log")"
  [ "$(kubectl get deployment -n "$ctrl_ns" netpol-ctrl -o jsonpath='{.spec.replicas}')" = 0 ] ||
    fail "the chart's Deployment does not have 0 replicas"
else
  cp -r "$deploy_src" "$work/deploy"
  sed -i '/^  - deployment.yaml$/d' "$work/deploy/kustomization.yaml"
  grep -q deployment.yaml "$work/deploy/kustomization.yaml" &&
    fail "could not take deployment.yaml out of the kustomization's resources"
  kubectl apply -k "$work/deploy" >"$work/apply.log" 2>&1 ||
    fail "kubectl apply -k deploy/ (without the Deployment) failed: $(cat "$work/apply.log")"
  kubectl get deployment -n "$ctrl_ns" netpol-ctrl >/dev/null 2>&1 &&
    fail "the Deployment was applied although it was left out"
fi

# No wildcard anywhere in the controller's roles.
for r in clusterrole/netpol-ctrl "role/netpol-ctrl-leader-election -n $ctrl_ns"; do
  # shellcheck disable=SC2086
  rules=$(kubectl get $r -o jsonpath='{.rules}')
  grep -q '"\*"' <<<"$rules" && fail "$r has a wildcard: $rules"
done
# What RBAC grants, as the API server's authorizer sees it.
poll 30 "RBAC to grant list networkpolicies to $sa_user" \
  can_i list networkpolicies.networking.k8s.io -A
for check in "watch pods -A" "patch pods -n default" \
  "create networkpolicies.networking.k8s.io -n default" \
  "patch networkpolicies.networking.k8s.io -n default" \
  "delete networkpolicies.networking.k8s.io -n default" \
  "create events.events.k8s.io -n default" \
  "watch endpointslices.discovery.k8s.io -A" "watch cronjobs.batch -A" \
  "update leases.coordination.k8s.io -n $ctrl_ns" \
  "watch ingressclasses.networking.k8s.io" \
  "watch validatingwebhookconfigurations.admissionregistration.k8s.io" \
  "watch mutatingwebhookconfigurations.admissionregistration.k8s.io" \
  "watch apiservices.apiregistration.k8s.io" \
  "watch customresourcedefinitions.apiextensions.k8s.io"; do
  # shellcheck disable=SC2086
  can_i $check || fail "RBAC does not allow: $check"
done
for check in "get secrets -n default" "list secrets -A" "delete pods -n default" \
  "get pods -n default" "update leases.coordination.k8s.io -n default" "delete leases.coordination.k8s.io -n $ctrl_ns" \
  "update deployments.apps -n default" "get configmaps -n default" \
  "update networkpolicies.networking.k8s.io -n default"; do
  # shellcheck disable=SC2086
  cannot_i $check || fail "RBAC allows more than the controller uses: $check"
done
log "$what RBAC installed; it grants what the controller uses, nothing more"

# ---- 2. the controller as its ServiceAccount --------------------------------
# The platform's optional kinds are served: their informers run too.
# crd GROUP VERSION KIND PLURAL SCOPE: a minimal CRD (any fields kept).
crd() {
  local singular
  singular=$(tr '[:upper:]' '[:lower:]' <<<"$3")
  cat <<EOF
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: $4.$1
  annotations:
    # *.k8s.io groups are protected: the Gateway API's own CRDs carry this.
    api-approved.kubernetes.io: https://github.com/kubernetes-sigs/gateway-api/pull/1538
spec:
  group: $1
  scope: $5
  names: {kind: $3, plural: $4, singular: $singular, listKind: ${3}List}
  versions:
    - name: $2
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
}
{
  cat "$platform_crds"
  crd gateway.networking.k8s.io v1 GRPCRoute grpcroutes Namespaced
  crd gateway.networking.k8s.io v1alpha2 TLSRoute tlsroutes Namespaced
  crd gateway.networking.k8s.io v1alpha2 TCPRoute tcproutes Namespaced
  crd gateway.networking.k8s.io v1alpha2 UDPRoute udproutes Namespaced
} >"$work/crds.yaml"
kubectl apply -f "$work/crds.yaml" >"$work/crds.log" 2>&1 ||
  fail "installing the platform's CRDs failed: $(cat "$work/crds.log")"
kubectl wait --for condition=established --timeout=60s -f "$work/crds.yaml" >/dev/null ||
  fail "the platform's CRDs were not established"
optional_kinds="prometheuses.monitoring.coreos.com servicemonitors.monitoring.coreos.com
  podmonitors.monitoring.coreos.com routes.route.openshift.io
  gatewayclasses.gateway.networking.k8s.io gateways.gateway.networking.k8s.io
  httproutes.gateway.networking.k8s.io grpcroutes.gateway.networking.k8s.io
  tlsroutes.gateway.networking.k8s.io tcproutes.gateway.networking.k8s.io
  udproutes.gateway.networking.k8s.io"
# (kubectl auth can-i answers for kinds the API server serves: asked now.)
for kind in $optional_kinds; do
  can_i watch "$kind" -A || fail "RBAC does not allow: watch $kind -A"
done

server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
hostport=${server#https://}
hostport=${hostport%%/*}
port=${hostport##*:}
host=${hostport%:*}
[[ "$port" =~ ^[0-9]+$ ]] || fail "cannot read the API server port from '$server'"
sa_dir=$work/serviceaccount
mkdir -p "$sa_dir"
kubectl create token netpol-ctrl -n "$ctrl_ns" --duration=1h >"$sa_dir/token" ||
  fail "kubectl create token for the controller's ServiceAccount failed"
cp "$NPC_CLUSTER_DIR/ca.crt" "$sa_dir/ca.crt"
printf '%s' "$ctrl_ns" >"$sa_dir/namespace"

args=(run -v 1 --sync-timeout=60)
leader_elect=0
if has_flag --leader-elect; then
  args+=(--leader-elect)
  leader_elect=1
fi
records_events=0
grep -qa PolicyWriteFailed "$bin" && records_events=1
has_flag --metrics-bind-address && args+=(--metrics-bind-address=0)
health_port=
if has_flag --health-probe-bind-address; then
  # A free port: nothing answers on it now.
  for _ in $(seq 20); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      health_port=$p
      break
    fi
  done
  [ -n "$health_port" ] && args+=(--health-probe-bind-address="127.0.0.1:$health_port")
fi
log "starting: $bin ${args[*]} (in-cluster as $sa_user, API server $host:$port)"
env -u KUBECONFIG HOME="$work" NPC_SERVICEACCOUNT_DIR="$sa_dir" \
  KUBERNETES_SERVICE_HOST="$host" KUBERNETES_SERVICE_PORT="$port" \
  POD_NAMESPACE="$ctrl_ns" POD_NAME=netpol-ctrl-rbac-test \
  "$bin" "${args[@]}" >"$ctrl_log" 2>&1 &
ctrl_pid=$!

poll "$timeout_s" "the controller to sync its caches (log: caches synced)" log_has 'caches synced'
log_has 'in-cluster' || fail "the controller did not use the in-cluster configuration"
if [ -n "$health_port" ]; then
  poll "$timeout_s" "/readyz on 127.0.0.1:$health_port to answer 200" \
    curl -fsS "http://127.0.0.1:$health_port/readyz"
fi

kubectl create namespace "$app_ns" >/dev/null
kubectl apply -n "$app_ns" -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example/web:1
          ports:
            - {name: http, containerPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: client
spec:
  selector:
    matchLabels: {app: client}
  template:
    metadata:
      labels: {app: client}
    spec:
      containers:
        - name: client
          image: registry.example/client:1
          env:
            - name: WEB_URL
              value: http://web:80/
---
apiVersion: v1
kind: Pod
metadata:
  name: bare
spec:
  containers:
    - name: bare
      image: registry.example/bare:1
EOF
poll "$timeout_s" "NetworkPolicy $app_ns/deployment-web" policy_exists deployment-web
poll "$timeout_s" "NetworkPolicy $app_ns/deployment-client" policy_exists deployment-client
web_ingress=$(kubectl get networkpolicy -n "$app_ns" deployment-web -o jsonpath='{.spec.ingress}')
grep -q '"app":"client"' <<<"$web_ingress" ||
  fail "deployment-web does not admit the client: ingress=$web_ingress"
poll "$timeout_s" "the bare pod to get its netpol-ctrl.io/pod label (patch on pods)" \
  bash -c "kubectl get pod -n $app_ns bare -o jsonpath='{.metadata.labels}' | grep -q netpol-ctrl.io/pod"
poll "$timeout_s" "the bare pod's policy" \
  bash -c "kubectl get networkpolicy -n $app_ns -o name | grep -qi pod"
if ((leader_elect)); then
  poll "$timeout_s" "a Lease in $ctrl_ns held by netpol-ctrl-rbac-test (leader election's Role)" \
    bash -c "kubectl get lease -n $ctrl_ns -o jsonpath='{.items[*].spec.holderIdentity}' | grep -q netpol-ctrl-rbac-test"
fi
if ((records_events)); then
  poll "$timeout_s" "a Normal PolicyCreated Event on Deployment $app_ns/web (create on events)" \
    bash -c "kubectl get events.events.k8s.io -n $app_ns --field-selector regarding.name=web -o jsonpath='{.items[*].reason}' | grep -q PolicyCreated"
fi
# Binaries that read the platform's kinds (issue 10) watch every one served.
if grep -qa "is served: watching it" "$bin"; then
  for kind in $optional_kinds; do
    poll "$timeout_s" "the informer of $kind to start (log: $kind is served)" \
      log_has "$kind is served: watching it"
  done
fi
sleep 2  # let stragglers (events, a lease renewal) reach the log
if grep -nE '\b403\b|[Ff]orbidden' "$ctrl_log" >&2; then
  fail "the controller met 403/Forbidden with $what RBAC (lines above)"
fi
log "phase 1 ok: policies written, bare pod labelled, no 403/Forbidden in $(wc -l <"$ctrl_log") log lines"

# ---- 3. take `delete` on networkpolicies away --------------------------------
# set_np_verbs '"v1", "v2"': the verbs of the ClusterRole's one rule on
# networkpolicies, changed in the cluster (a JSON patch of the object, however
# it was installed).
set_np_verbs() {
  local verbs=$1 idx
  idx=$(kubectl get clusterrole netpol-ctrl -o jsonpath='{range .rules[*]}{.resources}{"\n"}{end}' |
    grep -n networkpolicies | cut -d: -f1 || true)
  [[ "$idx" =~ ^[0-9]+$ ]] ||
    fail "expected exactly one rule on networkpolicies in ClusterRole netpol-ctrl, found lines: '$idx'"
  kubectl patch clusterrole netpol-ctrl --type=json \
    -p "[{\"op\": \"replace\", \"path\": \"/rules/$((idx - 1))/verbs\", \"value\": [$verbs]}]" \
    >"$work/apply.log" 2>&1 || fail "patching the ClusterRole failed: $(cat "$work/apply.log")"
}
set_np_verbs '"list", "watch", "create", "patch"'
poll 30 "RBAC to stop granting delete on networkpolicies" \
  cannot_i delete networkpolicies.networking.k8s.io -n "$app_ns"
# A workload that stops being managed (the ignore annotation) is the case
# where the controller itself deletes a policy; when a workload is deleted,
# the garbage collector removes its policy through the ownerReference.
kubectl annotate deployment -n "$app_ns" client netpol-ctrl.io/ignore=true >/dev/null
poll "$timeout_s" "a log line naming the missing permission (delete networkpolicies) and the policy" \
  bash -c "grep -E 'cannot delete resource \"networkpolicies\"' '$ctrl_log' | grep -q deployment-client"
log "error logged: $(grep -m1 -E 'cannot delete resource "networkpolicies"' "$ctrl_log" | cut -c1-400)"
policy_exists deployment-client || fail "deployment-client is gone although delete is forbidden"
kubectl create deployment -n "$app_ns" api --image=registry.example/api:1 >/dev/null
poll "$timeout_s" "a new workload's policy (deployment-api) while delete is missing" \
  policy_exists deployment-api
sleep 2
controller_alive || fail "the controller exited after a Forbidden delete"
log "phase 2 ok: forbidden delete logged, controller running, new workload still served"

# ---- 4. delete back, `patch` (server-side apply) taken away -------------------
set_np_verbs '"list", "watch", "create", "delete"'
poll 30 "RBAC to stop granting patch on networkpolicies" \
  cannot_i patch networkpolicies.networking.k8s.io -n "$app_ns"
poll 30 "RBAC to grant delete on networkpolicies again" \
  can_i delete networkpolicies.networking.k8s.io -n "$app_ns"
kubectl create deployment -n "$app_ns" worker --image=registry.example/worker:1 >/dev/null
poll "$timeout_s" "a log line naming the missing permission (patch networkpolicies) for deployment-worker" \
  bash -c "grep -E 'cannot patch resource \"networkpolicies\"' '$ctrl_log' | grep -q deployment-worker"
log "error logged: $(grep -m1 -E 'cannot patch resource "networkpolicies"' "$ctrl_log" | cut -c1-400)"
policy_absent deployment-worker || fail "deployment-worker was written without the patch permission"
if ((records_events)); then
  poll "$timeout_s" "a Warning Event on Deployment $app_ns/worker naming the Forbidden write" \
    bash -c "kubectl get events.events.k8s.io -n $app_ns --field-selector type=Warning,regarding.name=worker -o jsonpath='{.items[*].note}' | grep -qi forbidden"
  log "Warning Event: $(kubectl get events.events.k8s.io -n "$app_ns" \
    --field-selector type=Warning,regarding.name=worker -o jsonpath='{.items[0].reason}: {.items[0].note}' | cut -c1-300)"
else
  log "SKIP the Warning Event check: this binary records no PolicyWriteFailed Events"
fi
kubectl annotate deployment -n "$app_ns" api netpol-ctrl.io/ignore=true >/dev/null
poll "$timeout_s" "deployment-api to be deleted once api is ignored (delete is granted)" \
  policy_absent deployment-api
sleep 2
controller_alive || fail "the controller exited after a Forbidden apply"
log "phase 3 ok: forbidden apply logged, controller running, deletes still served"

stop_controller
log "PASS"
