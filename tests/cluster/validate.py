#!/usr/bin/env python3
"""Checks the cluster path offline (`tests/cluster/validate.sh` runs it).

For each manifest stream given (the chart rendered with each values file,
and the dev overlay built by kustomize): every built-in resource against the
Kubernetes schemas `kubernetes-validate` ships, strictly (unknown fields are
errors); every Strimzi and CloudNativePG resource against its CRD schema in
k8s/schemas with `check-jsonschema`. Prints one line per stream and exits 1
on the first stream with an error, naming the resource and the error.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import yaml

KUBERNETES = "1.33.0"
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "k8s" / "schemas"


def schema_for(doc):
    group, _, version = doc["apiVersion"].rpartition("/")
    path = SCHEMAS / group / f"{doc['kind'].lower()}_{version}.json"
    return path if group and path.exists() else None


def check(stream):
    docs = [d for d in yaml.safe_load_all(Path(stream).read_text()) if d]
    errors, custom = [], {}
    for doc in docs:
        name = f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        group = doc["apiVersion"].rpartition("/")[0]
        if group and (SCHEMAS / group).is_dir():
            # An operator's resource: its CRD schema.
            schema = schema_for(doc)
            if schema is None:
                errors.append(f"{name}: no schema for {doc['apiVersion']} in k8s/schemas")
            else:
                custom.setdefault(schema, []).append((name, doc))
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{name}: {err.message} at {'.'.join(str(p) for p in err.path)}")
        except Exception as err:  # an unknown kind or version is an error too
            errors.append(f"{name}: {err}")
    with tempfile.TemporaryDirectory() as tmp:
        for schema, named in custom.items():
            files = []
            for n, (name, doc) in enumerate(named):
                f = Path(tmp) / f"{schema.stem}-{n}.json"
                f.write_text(json.dumps(doc))
                files.append(str(f))
            run = subprocess.run(
                ["check-jsonschema", "--schemafile", str(schema), *files],
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                errors.append(f"{schema.relative_to(ROOT)}: {run.stdout.strip()} {run.stderr.strip()}")
    kinds = sorted({d["kind"] for d in docs})
    return len(docs), kinds, errors


def main():
    failed = False
    for stream in sys.argv[1:]:
        count, kinds, errors = check(stream)
        label = Path(stream).name
        if errors:
            failed = True
            print(f"cluster: {label}: {len(errors)} error(s) in {count} resources")
            for error in errors:
                print(f"  {error}")
        else:
            print(f"cluster: {label}: {count} resources valid ({', '.join(kinds)})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
