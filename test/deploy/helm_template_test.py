"""Usage: helm_template_test.py DEFAULT.yaml CUSTOM.yaml OFF.yaml CUSTOM_VALUES.yaml

Checks what `helm template` renders (helm_template_test.sh renders the three):
  DEFAULT  default values (deploy/'s equal: chart_drift_test checks that);
  CUSTOM   test/deploy/helm-values-custom.yaml: every value away from its
           default, each of which must show up where it belongs;
  OFF      metrics and probes off ("0"), leader election off, 1 replica,
           RBAC, NetworkPolicy and ServiceAccount creation off, an image
           digest, an affinity of one's own.
"""

import sys

import yaml

import k8s_objects as k

failures = []


def check(cond, what):
    if cond:
        print(f"ok  {what}")
    else:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def contains(big, small):
    """SMALL's keys are in BIG with the same values (recursively): Helm merges
    user values into the defaults, so a rendered map holds both."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(k2 in big and contains(big[k2], v) for k2, v in small.items())
    return big == small


def kinds(objs):
    return sorted(o.ref() for o in objs)


def container(deploy):
    cs = deploy.body["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1, cs
    return cs[0]


def config_of(objs, name):
    return yaml.safe_load(k.find(objs, "ConfigMap", name).body["data"]["config.yaml"])


def perms(objs, kind, name):
    return k.permissions(k.find(objs, kind, name).body["rules"])


def check_default(objs):
    check(kinds(objs) == sorted([
        "ServiceAccount netpol-ctrl-system/netpol-ctrl",
        "ClusterRole.rbac.authorization.k8s.io netpol-ctrl",
        "ClusterRoleBinding.rbac.authorization.k8s.io netpol-ctrl",
        "Role.rbac.authorization.k8s.io netpol-ctrl-system/netpol-ctrl-leader-election",
        "RoleBinding.rbac.authorization.k8s.io netpol-ctrl-system/netpol-ctrl-leader-election",
        "ConfigMap netpol-ctrl-system/netpol-ctrl-config",
        "Deployment.apps netpol-ctrl-system/netpol-ctrl",
        "NetworkPolicy.networking.k8s.io netpol-ctrl-system/netpol-ctrl",
    ]), f"default values render the controller's objects, no Service/ServiceMonitor: {kinds(objs)}")
    cfg = config_of(objs, "netpol-ctrl-config")
    check(all(v is not None and v != "" and v != [] for v in cfg.values()),
          "the default config file leaves out every key set to null, \"\" or []")
    check(cfg.get("default-deny") is False and cfg.get("v") == 0,
          "false and 0 stay in the config file (they are settings)")
    d = k.find(objs, "Deployment")
    c = container(d)
    check(c["image"] == "netpol-ctrl:0.1.0", f"image defaults to <repository>:<appVersion>: {c['image']}")
    ann = d.body["spec"]["template"]["metadata"].get("annotations", {})
    check(len(ann.get("checksum/config", "")) == 64, "the pod template carries checksum/config")
    cp = perms(objs, "ClusterRole", "netpol-ctrl")
    check(("", "configmaps", "", "list") in cp and ("events.k8s.io", "events", "", "create") in cp,
          "read-configmaps and events (on by default) keep their rules")
    check(not any("*" in p for p in cp), "no wildcard in the ClusterRole")
    check(not any(p[1] == "secrets" for p in cp), "no access to secrets by default")


def check_custom(objs):
    check(kinds(objs) == sorted([
        "ServiceAccount netpol-ctrl-system/npc",
        "ClusterRole.rbac.authorization.k8s.io npc",
        "ClusterRoleBinding.rbac.authorization.k8s.io npc",
        "Role.rbac.authorization.k8s.io netpol-ctrl-leases/npc-leader-election",
        "RoleBinding.rbac.authorization.k8s.io netpol-ctrl-leases/npc-leader-election",
        "ConfigMap netpol-ctrl-system/npc-config",
        "Deployment.apps netpol-ctrl-system/npc",
        "NetworkPolicy.networking.k8s.io netpol-ctrl-system/npc",
        "Service netpol-ctrl-system/npc-metrics",
        "ServiceMonitor.monitoring.coreos.com netpol-ctrl-system/npc",
    ]), "fullnameOverride names everything; the leader-election Role goes to "
        f"leader-election-namespace; serviceMonitor adds a Service and a ServiceMonitor: {kinds(objs)}")

    with open(sys.argv[4]) as f:
        values = yaml.safe_load(f)
    cfg = config_of(objs, "npc-config")
    check(cfg == values["config"], "the config file is values.config, key for key, value for value")

    sa = k.find(objs, "ServiceAccount")
    check(sa.body["metadata"].get("annotations") == {"example.com/role": "netpol-ctrl"},
          "serviceAccount.annotations")
    crb = k.find(objs, "ClusterRoleBinding")
    check(crb.body["subjects"] == [{"kind": "ServiceAccount", "name": "npc",
                                    "namespace": "netpol-ctrl-system"}]
          and crb.body["roleRef"]["name"] == "npc", "the ClusterRoleBinding binds npc to npc")
    rb = k.find(objs, "RoleBinding")
    check(rb.body["subjects"][0]["namespace"] == "netpol-ctrl-system",
          "the leader-election RoleBinding (in the Lease's namespace) names the release's ServiceAccount")

    cp = perms(objs, "ClusterRole", "npc")
    check(not any(p[1] == "configmaps" for p in cp), "read-configmaps: false drops the configmaps rule")
    check(not any(p[1] == "events" for p in cp), "events: false drops the events rule")
    if values["config"].get("read-secrets"):
        check(("", "secrets", "", "list") in cp and ("", "secrets", "", "watch") in cp,
              "read-secrets: true adds list/watch on secrets")
    else:
        check(not any(p[1] == "secrets" for p in cp), "read-secrets: false grants nothing on secrets")
    check(("networking.k8s.io", "networkpolicies", "", "patch") in cp, "the policies' rule stays")

    d = k.find(objs, "Deployment")
    spec, pod = d.body["spec"], d.body["spec"]["template"]["spec"]
    c = container(d)
    check(spec["replicas"] == 3 and spec["revisionHistoryLimit"] == 5, "replicas, revisionHistoryLimit")
    check(c["image"] == "registry.example/netpol-ctrl:0.2.0-rc1" and c["imagePullPolicy"] == "Always",
          f"image repository, tag and pullPolicy: {c['image']}")
    check(pod.get("imagePullSecrets") == [{"name": "regcred"}], "imagePullSecrets")
    check(c["args"] == ["run", "--config=/etc/netpol-ctrl/config.yaml", "--leader-elect", "--workers=6"],
          f"args: run, the config file, --leader-elect, then extraArgs: {c['args']}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports == {"metrics": 9090, "health": 9091},
          f"container ports follow the bind addresses: {ports}")
    check(c["livenessProbe"]["httpGet"]["port"] == "health" and c["readinessProbe"]["httpGet"]["path"] == "/readyz",
          "probes on the health port")
    labels = d.body["spec"]["template"]["metadata"]["labels"]
    check(labels.get("team") == "platform", "podLabels")
    check(all(labels.get(k2) == v for k2, v in spec["selector"]["matchLabels"].items()),
          "the pod template matches the selector")
    ann = d.body["spec"]["template"]["metadata"]["annotations"]
    check(ann.get("example.com/scrape") == "false" and "checksum/config" in ann, "podAnnotations")
    check(pod.get("priorityClassName") == "system-cluster-critical", "priorityClassName")
    check(pod.get("terminationGracePeriodSeconds") == 45, "terminationGracePeriodSeconds")
    check(pod.get("nodeSelector") == {"kubernetes.io/os": "linux"}, "nodeSelector")
    check(pod.get("tolerations") == values["tolerations"], "tolerations")
    check(pod.get("topologySpreadConstraints") == values["topologySpreadConstraints"],
          "topologySpreadConstraints")
    aff = pod.get("affinity", {}).get("podAntiAffinity", {})
    check("requiredDuringSchedulingIgnoredDuringExecution" in aff, "podAntiAffinity: hard")
    check(contains(pod.get("securityContext"), values["podSecurityContext"]), "podSecurityContext")
    check(contains(c.get("securityContext"), values["securityContext"]), "securityContext")
    check(contains(c.get("resources"), values["resources"]), "resources")
    env = {e["name"]: e for e in c["env"]}
    check({"POD_NAME", "POD_NAMESPACE", "MALLOC_ARENA_MAX"} <= set(env), "env: POD_NAME, POD_NAMESPACE, extraEnv")
    check(any(v.get("name") == "remote" for v in pod["volumes"]) and
          any(m.get("mountPath") == "/etc/remote" for m in c["volumeMounts"]),
          "extraVolumes, extraVolumeMounts")
    check(any(v.get("configMap", {}).get("name") == "npc-config" for v in pod["volumes"]),
          "the config volume is the release's ConfigMap")

    np = k.find(objs, "NetworkPolicy").body["spec"]
    check(np["podSelector"]["matchLabels"] == spec["selector"]["matchLabels"],
          "the NetworkPolicy selects the controller's pods")
    check(np["ingress"] == [{"ports": [{"protocol": "TCP", "port": 9090}],
                             "from": values["networkPolicy"]["metricsFrom"]}],
          f"ingress: the metrics port, from metricsFrom: {np['ingress']}")
    check(np["egress"] == [{"to": [{"ipBlock": {"cidr": "10.0.0.10/32"}}],
                            "ports": [{"protocol": "TCP", "port": 6443}]}],
          f"egress: only the API server's CIDR and port (dns.enabled: false): {np['egress']}")

    svc = k.find(objs, "Service").body
    check(svc["spec"]["ports"] == [{"name": "metrics", "port": 9090, "targetPort": "metrics",
                                    "protocol": "TCP"}], "the metrics Service's port")
    check(svc["spec"]["selector"] == spec["selector"]["matchLabels"], "the Service selects the controller's pods")
    sm = k.find(objs, "ServiceMonitor").body
    check(sm["apiVersion"] == "monitoring.coreos.com/v1", "ServiceMonitor is monitoring.coreos.com/v1")
    check(sm["metadata"]["labels"].get("release") == "prometheus", "serviceMonitor.labels")
    check(all(svc["metadata"]["labels"].get(k2) == v for k2, v in sm["spec"]["selector"]["matchLabels"].items()),
          "the ServiceMonitor selects the metrics Service")
    ep = sm["spec"]["endpoints"]
    check(ep == [{"port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "5s"}],
          f"the ServiceMonitor's endpoint: {ep}")


def check_off(objs):
    check(kinds(objs) == sorted([
        "ConfigMap netpol-ctrl-system/netpol-ctrl-config",
        "Deployment.apps netpol-ctrl-system/netpol-ctrl",
    ]), "rbac.create, networkPolicy.enabled and serviceAccount.create false leave out RBAC, the "
        f"NetworkPolicy and the ServiceAccount: {kinds(objs)}")
    d = k.find(objs, "Deployment")
    pod = d.body["spec"]["template"]["spec"]
    c = container(d)
    check(pod["serviceAccountName"] == "existing-sa", "serviceAccount.name names the existing ServiceAccount")
    check(c["image"] == "netpol-ctrl@sha256:0123456789abcdef", f"image.digest pulls by digest: {c['image']}")
    check(list(pod.get("affinity", {})) == ["nodeAffinity"],
          "affinity replaces the default podAntiAffinity")
    check("ports" not in c and "livenessProbe" not in c and "readinessProbe" not in c,
          "bind addresses \"0\": no container ports, no probes")
    check(c["args"] == ["run", "--config=/etc/netpol-ctrl/config.yaml"],
          f"leader-elect: false: no --leader-elect: {c['args']}")
    cfg = config_of(objs, "netpol-ctrl-config")
    check(cfg.get("leader-elect") is False and str(cfg.get("metrics-bind-address")) == "0",
          "the config file says so too")


def main():
    check_default(k.load_file(sys.argv[1]))
    check_custom(k.load_file(sys.argv[2]))
    check_off(k.load_file(sys.argv[3]))
    if failures:
        print(f"helm_template_test.py: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
