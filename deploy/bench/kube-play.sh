#!/usr/bin/env bash
# The rendered Kubernetes manifests (deploy/k8s with this deployment's Secrets, `kubectl kustomize deploy/secrets`)
# given to `podman kube play`, which runs Deployments, Pods, Secrets and ConfigMaps (not Services, HPAs or
# NetworkPolicies). Plays each Deployment on its own (with the ConfigMap and Secrets) and prints what ran and what
# Podman said; removes everything it made. The manifests are not changed for it. Needs the images (deploy/local/up.sh)
# and deploy/secrets; Redis's image is the local stand-in tagged as the manifest's redis:7.4.2-alpine when that
# cannot be pulled.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../local/engine.sh"
pick_engine && [ "$ENGINE" = podman ] || die "podman kube play needs Podman"
[ -f "$SECRETS/kustomization.yaml" ] || die "no $SECRETS/kustomization.yaml: run deploy/local/up.sh (or sprint auth deploy-secrets) first"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
kubectl kustomize "$SECRETS" >"$work/all.yaml"
tagged=0
if ! podman image inspect redis:7.4.2-alpine >/dev/null 2>&1 && podman image inspect sprint-base-redis:7 >/dev/null 2>&1; then
  podman tag sprint-base-redis:7 docker.io/library/redis:7.4.2-alpine; tagged=1
fi
secrets=$(/usr/bin/python3 -c 'import sys, yaml; print(" ".join(d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "Secret"))' "$work/all.yaml")
podman network create sprint-kube >/dev/null
echo "podman $(podman --version | awk '{print $NF}') kube play, one Deployment at a time:"
for name in $(/usr/bin/python3 -c 'import sys, yaml; print(" ".join(d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "Deployment"))' "$work/all.yaml"); do
  /usr/bin/python3 - "$work/all.yaml" "$name" >"$work/$name.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
yaml.safe_dump_all([d for d in docs if d["kind"] in ("Secret", "ConfigMap") or (d["kind"] == "Deployment" and d["metadata"]["name"] == sys.argv[2])], sys.stdout)
PY
  if out=$(timeout 120 podman kube play --network sprint-kube "$work/$name.yaml" 2>&1); then
    sleep 5
    echo "- $name: ran ($(podman ps --filter "label=app=$name" --format '{{.Names}} {{.Status}}' | head -n1))"
  else
    echo "- $name: not run: $(echo "$out" | grep -m1 -E '^(Error|panic):' | cut -c1-200)"
  fi
  podman kube down "$work/$name.yaml" >/dev/null 2>&1 || true
  podman pod rm -f "$name-pod-0" >/dev/null 2>&1 || true
  for secret in $secrets; do podman secret rm "$secret" >/dev/null 2>&1 || true; done
done
podman network rm sprint-kube >/dev/null
[ "$tagged" = 1 ] && podman rmi docker.io/library/redis:7.4.2-alpine >/dev/null
