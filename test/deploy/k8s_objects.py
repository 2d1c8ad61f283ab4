"""Helpers for the deploy/ and chart tests: Kubernetes objects from rendered
YAML (kubectl kustomize, helm template), and RBAC rules as permissions.

Run with Debian's python3 and python3-yaml (scripts/setup installs both).
"""

import re
import sys

import yaml


class Obj:
    """One rendered object and where it came from (a helm template's
    `# Source:` comment, or a file given by the caller)."""

    def __init__(self, body, source=""):
        self.body = body
        self.source = source

    @property
    def kind(self):
        return self.body.get("kind", "")

    @property
    def group(self):
        api = self.body.get("apiVersion", "")
        return api.split("/")[0] if "/" in api else ""

    @property
    def name(self):
        return self.body.get("metadata", {}).get("name", "")

    @property
    def namespace(self):
        return self.body.get("metadata", {}).get("namespace", "")

    def key(self):
        return (self.group, self.kind, self.namespace, self.name)

    def ref(self):
        ns = f"{self.namespace}/" if self.namespace else ""
        group = f".{self.group}" if self.group else ""
        return f"{self.kind}{group} {ns}{self.name}"


_SOURCE = re.compile(r"^# Source: (\S+)", re.M)


def load(text, what="input"):
    """Objects of a multi-document YAML stream, with helm's `# Source:`
    comments kept as Obj.source. Empty documents are skipped."""
    objs = []
    for doc in re.split(r"^---\s*$", text, flags=re.M):
        m = _SOURCE.search(doc)
        try:
            body = yaml.safe_load(doc)
        except yaml.YAMLError as e:
            sys.exit(f"FAIL: {what} is not valid YAML: {e}")
        if body is None:
            continue
        if not isinstance(body, dict) or "kind" not in body:
            sys.exit(f"FAIL: {what}: a document is not a Kubernetes object: {str(body)[:200]}")
        objs.append(Obj(body, m.group(1) if m else ""))
    return objs


def load_file(path):
    with open(path) as f:
        return load(f.read(), path)


def by_key(objs, what):
    out = {}
    for o in objs:
        if o.key() in out:
            sys.exit(f"FAIL: {what} renders {o.ref()} twice")
        out[o.key()] = o
    return out


def find(objs, kind, name=None):
    """The one object of KIND (and NAME); exits with a failure otherwise."""
    hits = [o for o in objs if o.kind == kind and (name is None or o.name == name)]
    if len(hits) != 1:
        sys.exit(f"FAIL: expected one {kind}{' ' + name if name else ''}, found {len(hits)}: "
                 f"{[o.ref() for o in objs]}")
    return hits[0]


def permissions(rules):
    """RBAC rules as a set of single permissions: (apiGroup, resource,
    resourceName or '', verb), or ('nonResourceURL', url, '', verb)."""
    out = set()
    for r in rules or []:
        verbs = r.get("verbs") or []
        for url in r.get("nonResourceURLs") or []:
            for v in verbs:
                out.add(("nonResourceURL", url, "", v))
        names = r.get("resourceNames") or [""]
        for g in r.get("apiGroups") or []:
            for res in r.get("resources") or []:
                for n in names:
                    for v in verbs:
                        out.add((g, res, n, v))
    return out


def describe_permissions(perms):
    """Permissions grouped back into readable lines: 'list, watch on
    networking.k8s.io/ingressclasses'."""
    grouped = {}
    for g, res, name, verb in perms:
        if g == "nonResourceURL":
            target = f"non-resource URL {res}"
        else:
            target = f"{g}/{res}" if g else f"core/{res}"
            if name:
                target += f" (resourceNames: {name})"
        grouped.setdefault(target, []).append(verb)
    return [f"{', '.join(sorted(v))} on {t}" for t, v in sorted(grouped.items())]


def dump(body):
    return yaml.safe_dump(body, sort_keys=True, default_flow_style=False)
