#!/usr/bin/env python3
"""Checks the cluster path offline (`tests/cluster/validate.sh` runs it).

For each manifest stream given (the chart rendered with each values file,
and the dev overlay built by kustomize): every built-in resource against the
Kubernetes schemas `kubernetes-validate` ships, strictly (unknown fields are
errors); every Strimzi and CloudNativePG resource against its CRD schema in
k8s/schemas with `check-jsonschema`. Prints one line per stream and exits 1
on the first stream with an error, naming the resource and the error.

Then the one script the chart runs, the definitions init container's
(`--seed chart.yaml`): run with `sh` in a temporary folder standing for the
pod (the image's /app/config and /app/schemas, a ConfigMap volume laid out
as the kubelet lays it out, with `..data` and links), it must leave every
path the services are pointed at (CASEWORK__…=/definitions/…) in place and
the ConfigMap's files over the image's, `__` read as `/`.
"""

import json
import os
import shutil
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


def seed(stream):
    docs = [d for d in yaml.safe_load_all(Path(stream).read_text()) if d]
    pod = next(d["spec"]["template"]["spec"] for d in docs if d["kind"] == "Deployment")
    init = next(c for c in pod["initContainers"] if c["name"] == "definitions")
    assert init["command"] == ["/bin/sh", "-c"], init["command"]
    paths = {
        e["name"]: e["value"]
        for e in pod["containers"][0]["env"]
        if str(e.get("value", "")).startswith("/definitions/")
    }
    assert len(paths) >= 6, paths
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "app").mkdir()
        shutil.copytree(ROOT / "config", tmp / "app" / "config")
        shutil.copytree(ROOT / "schemas", tmp / "app" / "schemas")
        # A ConfigMap volume: the files in a timestamped folder, `..data`
        # linking to it, and each key a link through `..data`.
        overlay = tmp / "overlay"
        (overlay / "..2026_12_07_00_00_00.1").mkdir(parents=True)
        keys = {
            "config__rules__visit-visa__v1.toml": "# replaced by the ConfigMap\n",
            "config__forms__a-new-form__page.json": "{}\n",
        }
        for key, text in keys.items():
            (overlay / "..2026_12_07_00_00_00.1" / key).write_text(text)
            os.symlink(f"..data/{key}", overlay / key)
        os.symlink("..2026_12_07_00_00_00.1", overlay / "..data")
        script = (
            init["args"][0]
            .replace("/app/", f"{tmp}/app/")
            .replace("/definitions", f"{tmp}/definitions")
            .replace("/overlay", f"{overlay}")
        )
        (tmp / "definitions").mkdir()
        run = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
        errors = [] if run.returncode == 0 else [f"exit {run.returncode}: {run.stderr.strip()}"]
        for name, path in paths.items():
            if not (tmp / path.lstrip("/")).exists():
                errors.append(f"{name}={path} missing after the script")
        for key, text in keys.items():
            target = tmp / "definitions" / key.replace("__", "/")
            if not target.is_file() or target.read_text() != text:
                errors.append(f"{key} not laid over at {target.relative_to(tmp)}")
        if any((tmp / "definitions").glob("..*")):
            errors.append("the ConfigMap's ..data folder was copied")
        for shipped in (ROOT / "config").rglob("*"):
            if not (tmp / "definitions/config" / shipped.relative_to(ROOT / "config")).exists():
                errors.append(f"{shipped.relative_to(ROOT)} not copied")
    return errors


def main():
    failed = False
    args = sys.argv[1:]
    if args[:1] == ["--seed"]:
        errors = seed(args[1])
        for error in errors:
            print(f"  {error}")
        print(f"cluster: the definitions init container's script: {'failed' if errors else 'seeds /definitions and lays the ConfigMap over it'}")
        sys.exit(1 if errors else 0)
    for stream in args:
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
