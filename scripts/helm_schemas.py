#!/usr/bin/env python3
"""JSON schemas for kubeconform, from what the package registries ship (used by check-helm.sh).

  helm_schemas.py k8s WHEEL K8S_VERSION OUTDIR
      Kubernetes' own schemas from the PyPI wheel of kubernetes-validate, which bundles the
      JSON schemas of every Kubernetes minor version (generated from its OpenAPI documents).
      Writes OUTDIR/v<K8S_VERSION>-local-strict/<kind>-<group>-<version>.json, the layout of
      kubeconform's -schema-location template
      {{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json.
      The wheel's files name themselves https://kubernetes.io/api/... ($id) and point at
      /api/_definitions.json, which only kubernetes-validate's own loader resolves: both are
      rewritten so the files resolve each other on disk.

  helm_schemas.py crds OUTDIR CRD.yaml...
      CustomResourceDefinitions to JSON schemas: OUTDIR/<group>/<kind>_<version>.json (kubeconform
      template {{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json), one per served
      version, from its openAPIV3Schema. Strict like kubeconform -strict: an object that lists
      its properties allows no others (unless x-kubernetes-preserve-unknown-fields says so);
      x-kubernetes-int-or-string becomes integer-or-string, nullable adds null.
"""
import json
import os
import sys
import zipfile


def k8s(wheel, version, outdir):
    version = version.lstrip("v")
    prefix = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
    target = os.path.join(outdir, f"v{version}-local-strict")
    os.makedirs(target, exist_ok=True)
    count = 0
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
        if not names:
            sys.exit(f"helm_schemas: {wheel} has no schemas for Kubernetes v{version}")
        for name in names:
            doc = json.loads(z.read(name))
            doc.pop("$id", None)
            text = json.dumps(doc, separators=(",", ":"))
            text = text.replace('"/api/_definitions.json#', '"_definitions.json#')
            with open(os.path.join(target, os.path.basename(name)), "w") as f:
                f.write(text)
            count += 1
    print(f"helm_schemas: {count} Kubernetes v{version} schemas in {target}")


def convert(node):
    """openAPIV3Schema (structural schema) -> JSON schema (draft 4 compatible subset)."""
    if isinstance(node, list):
        return [convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: convert(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = convert(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = convert(value)
        elif key.startswith("x-kubernetes-") or key == "nullable":
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else list(out["type"]) + ["null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if out.get("type") in ("object", ["object", "null"]) and "properties" in out and not preserve \
            and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def crds(outdir, files):
    import yaml  # PyYAML

    count = 0
    for path in files:
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                group, kind = spec["group"], spec["names"]["kind"]
                for v in spec["versions"]:
                    if not v.get("served", True):
                        continue
                    schema = convert(v["schema"]["openAPIV3Schema"])
                    schema["$schema"] = "http://json-schema.org/draft-04/schema#"
                    props = schema.setdefault("properties", {})
                    # apiVersion/kind must name this very type.
                    props["apiVersion"] = {"type": "string", "enum": [f"{group}/{v['name']}"]}
                    props["kind"] = {"type": "string", "enum": [kind]}
                    props.setdefault("metadata", {"type": "object"})
                    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
                    d = os.path.join(outdir, group)
                    os.makedirs(d, exist_ok=True)
                    with open(os.path.join(d, f"{kind.lower()}_{v['name']}.json"), "w") as out:
                        json.dump(schema, out, separators=(",", ":"))
                    count += 1
    if not count:
        sys.exit("helm_schemas: no CustomResourceDefinition found in " + " ".join(files))
    print(f"helm_schemas: {count} CRD schemas in {outdir}")


def main(argv):
    if len(argv) >= 4 and argv[0] == "k8s":
        k8s(argv[1], argv[2], argv[3])
    elif len(argv) >= 3 and argv[0] == "crds":
        crds(argv[1], argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
