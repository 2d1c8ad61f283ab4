"""Usage: chart_drift_test.py DEPLOY_DIR[:DEPLOY_DIR...] KUSTOMIZE_OUTPUT HELM_OUTPUT RELEASE_NAMESPACE

deploy/ (kubectl kustomize) and the chart (helm template with default values)
must install the same objects. Compared object by object, after taking out
what differs by design:
  - the release Namespace: deploy/ creates it, helm's --create-namespace does;
  - Helm's own labels (app.kubernetes.io/instance, version, managed-by,
    helm.sh/chart) wherever they appear (labels and selectors);
  - the pod template's checksum/config annotation (the chart's way to roll
    the pods on a config change) and kustomize's content-hash suffix on
    generated ConfigMap names (kustomize's way);
  - helm.sh/resource-policy (Helm's own: a templated CRD kept on uninstall);
  - ConfigMap data that is a YAML file is compared as parsed YAML (comments
    and key order differ);
  - Role and ClusterRole rules are compared as sets of single permissions
    (group, resource, resourceName, verb), so the rules may be split or
    ordered differently but must grant exactly the same.
Every difference is printed with the files to change.
"""

import difflib
import os
import re
import sys

import yaml

import k8s_objects as k

HELM_LABELS = {"app.kubernetes.io/instance", "app.kubernetes.io/version",
               "app.kubernetes.io/managed-by", "helm.sh/chart"}
CHART_ONLY_ANNOTATIONS = {"checksum/config", "helm.sh/resource-policy"}
RBAC_KINDS = {"Role", "ClusterRole"}


def strip_keys(node, keys):
    """Removes KEYS from every mapping under NODE."""
    if isinstance(node, dict):
        for key in list(node):
            if key in keys:
                del node[key]
            else:
                strip_keys(node[key], keys)
    elif isinstance(node, list):
        for item in node:
            strip_keys(item, keys)


def replace_strings(node, old, new):
    if isinstance(node, dict):
        for key, value in node.items():
            if value == old:
                node[key] = new
            else:
                replace_strings(value, old, new)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if value == old:
                node[i] = new
            else:
                replace_strings(value, old, new)


def drop_empty_annotations(body):
    for meta in (body.get("metadata", {}),
                 body.get("spec", {}).get("template", {}).get("metadata", {})):
        if "annotations" in meta:
            for a in CHART_ONLY_ANNOTATIONS:
                meta["annotations"].pop(a, None)
            if not meta["annotations"]:
                del meta["annotations"]


def parse_config_data(body):
    if body.get("kind") != "ConfigMap":
        return
    for key, value in (body.get("data") or {}).items():
        if key.endswith((".yaml", ".yml")):
            body["data"][key] = yaml.safe_load(value)


def rel(deploy_dir):
    """"deploy" or "deploy/agent": the directory as the repository names it."""
    parts = os.path.normpath(deploy_dir).split(os.sep)
    return "/".join(parts[parts.index("deploy"):]) if "deploy" in parts else deploy_dir


def deploy_files(deploy_dir):
    """(kind, name) -> the deploy/ file that defines it."""
    out = {}
    for f in sorted(os.listdir(deploy_dir)):
        if not f.endswith((".yaml", ".yml")) or f.startswith("kustomization"):
            continue
        with open(os.path.join(deploy_dir, f)) as fh:
            for body in yaml.safe_load_all(fh):
                if isinstance(body, dict) and "kind" in body:  # not config.yaml
                    o = k.Obj(body)
                    out[(o.kind, o.name)] = f"{rel(deploy_dir)}/{f}"
    return out


def generators(deploy_dir):
    """Name -> the files of each configMapGenerator/secretGenerator."""
    with open(os.path.join(deploy_dir, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    return {g["name"]: [f"{rel(deploy_dir)}/" + os.path.basename(x.split("=")[-1])
                        for x in g.get("files") or []]
            for g in (kust.get("configMapGenerator") or []) + (kust.get("secretGenerator") or [])}


def main():
    deploy_dirs, kust_out, helm_out, namespace = sys.argv[1:5]
    deploy = k.load_file(kust_out)
    chart = k.load_file(helm_out)
    files, gens = {}, {}
    for deploy_dir in deploy_dirs.split(":"):
        files.update(deploy_files(deploy_dir))
        gens.update(generators(deploy_dir))
    for gen, gen_files in gens.items():
        for kind in ("ConfigMap", "Secret"):
            files[(kind, gen)] = (" ".join(gen_files) + " (kustomization.yaml's generator)")

    def deploy_file(o):
        return files.get((o.kind, o.name), "deploy/kustomization.yaml")

    def chart_file(o):
        if o.kind == "ConfigMap" and o.name in gens:
            return "charts/netpol-ctrl/values.yaml (config:, rendered by templates/configmap.yaml)"
        return "charts/" + o.source if o.source else "the chart"

    # kustomize's generated names: "<name>-<10 char hash>" -> "<name>".
    for gen in gens:
        for o in deploy:
            if o.kind in ("ConfigMap", "Secret") and re.fullmatch(
                    re.escape(gen) + r"-[a-z0-9]{10}", o.name):
                hashed = o.name
                for other in deploy:
                    replace_strings(other.body, hashed, gen)
    deploy = [o for o in deploy if not (o.kind == "Namespace" and o.name == namespace)]

    for o in deploy + chart:
        strip_keys(o.body, HELM_LABELS)
        drop_empty_annotations(o.body)
        parse_config_data(o.body)

    d, c = k.by_key(deploy, "deploy/"), k.by_key(chart, "the chart")
    problems = []
    for key in sorted(set(d) - set(c)):
        o = d[key]
        problems.append(
            f"{o.ref()} is in deploy/ ({deploy_file(o)}) but the chart does not render it "
            f"with default values: add a template under charts/netpol-ctrl/templates/ "
            f"(on by default), or take it out of deploy/.")
    for key in sorted(set(c) - set(d)):
        o = c[key]
        problems.append(
            f"{o.ref()} is rendered by the chart ({chart_file(o)}) with default values but "
            f"deploy/ has no such object: add it to deploy/ (and to kustomization.yaml's "
            f"resources), or make it off by default in charts/netpol-ctrl/values.yaml.")
    compared = 0
    for key in sorted(set(d) & set(c)):
        do, co = d[key], c[key]
        compared += 1
        if do.kind in RBAC_KINDS:
            dp = k.permissions(do.body.pop("rules", None))
            cp = k.permissions(co.body.pop("rules", None))
            for line in k.describe_permissions(dp - cp):
                problems.append(f"{do.ref()}: {deploy_file(do)} grants {line}, "
                                f"{chart_file(co)} does not: add the rule to the chart.")
            for line in k.describe_permissions(cp - dp):
                problems.append(f"{do.ref()}: {chart_file(co)} grants {line}, "
                                f"{deploy_file(do)} does not: add the rule to deploy/ "
                                f"(or take it out of the chart).")
            if dp == cp:
                print(f"ok  {do.ref()}: the same {len(dp)} permissions")
        a, b = k.dump(do.body), k.dump(co.body)
        if a != b:
            diff = "".join(difflib.unified_diff(
                a.splitlines(True), b.splitlines(True),
                fromfile=deploy_file(do), tofile=chart_file(co)))
            problems.append(f"{do.ref()} differs (- deploy/, + chart); change one to match "
                            f"the other:\n{diff}")
        elif do.kind not in RBAC_KINDS:
            print(f"ok  {do.ref()}")
    if compared == 0:
        problems.append("no object was compared: is the rendering empty?")
    if problems:
        print(f"\nchart_drift_test: deploy/ and charts/netpol-ctrl (default values) have "
              f"drifted apart ({len(problems)} difference(s)). `kubectl apply -k deploy/` and "
              f"`helm install` must install the same thing:\n", file=sys.stderr)
        for p in problems:
            print(f"FAIL: {p}\n", file=sys.stderr)
        sys.exit(1)
    print(f"chart_drift_test: ok ({compared} objects equal)")


if __name__ == "__main__":
    main()
