#!/usr/bin/env bash
# surge on minikube, from a clean checkout: builds the image (make image), loads it into the
# cluster, applies deploy/k8s/overlays/minikube, waits for the rollout and prints the URL and
# what to run next.
#
#   deploy/minikube.sh             do it (minikube, kubectl, buildah and make needed)
#   deploy/minikube.sh --dry-run   print every command instead of running it
#
# MINIKUBE_PROFILE picks a minikube profile (default: minikube's own default).
set -euo pipefail
cd "$(dirname "$0")/.."

NAMESPACE=load-testing
OVERLAY=deploy/k8s/overlays/minikube
# the overlay's image: base sets tag dev, and the minikube overlay never pulls it
IMAGE=surge:dev
ARCHIVE=build/surge-image.tar
NODEPORT=30000
DRY=0

usage() { echo "usage: deploy/minikube.sh [--dry-run]" >&2; }
for arg in "$@"; do
	case $arg in
	--dry-run) DRY=1 ;;
	-h | --help)
		sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "deploy/minikube.sh: unknown option '${arg:0:200}'" >&2
		usage
		exit 2
		;;
	esac
done

mk=(minikube)
[ -n "${MINIKUBE_PROFILE:-}" ] && mk+=(--profile "$MINIKUBE_PROFILE")

# Runs a command, or prints it with --dry-run.
run() {
	if [ "$DRY" = 1 ]; then
		printf '+'
		printf ' %q' "$@"
		printf '\n'
	else
		echo "+ $*" >&2
		"$@"
	fi
}

if [ "$DRY" = 0 ]; then
	for tool in minikube kubectl buildah make; do
		command -v "$tool" >/dev/null || { echo "deploy/minikube.sh: $tool is not installed" >&2; exit 1; }
	done
fi

# 1. a running cluster with metrics-server (the HPA's CPU and memory figures)
if [ "$DRY" = 1 ] || ! "${mk[@]}" status >/dev/null 2>&1; then
	run "${mk[@]}" start --cpus=2 --memory=4g
fi
run "${mk[@]}" addons enable metrics-server

# 2. the image, built here and loaded into the cluster's runtime (never pulled)
run make image IMAGE="$IMAGE"
run "${mk[@]}" image load "$ARCHIVE"

# 3. the manifests; pods already running the previous surge:dev restart onto the new one
existed=0
if [ "$DRY" = 0 ] && kubectl -n "$NAMESPACE" get deployment surge >/dev/null 2>&1; then
	existed=1
fi
run kubectl apply -k "$OVERLAY"
if [ "$DRY" = 1 ] || [ "$existed" = 1 ]; then
	[ "$DRY" = 1 ] && echo "# only when surge was already deployed (the image tag did not change):"
	run kubectl -n "$NAMESPACE" rollout restart deployment/surge deployment/surge-downstream
fi
run kubectl -n "$NAMESPACE" rollout status deployment/surge-downstream --timeout=180s
run kubectl -n "$NAMESPACE" rollout status deployment/surge --timeout=180s

# 4. where it answers, and what to do next
if [ "$DRY" = 1 ]; then
	run "${mk[@]}" ip
	ip='$(minikube ip)'
else
	ip=$("${mk[@]}" ip)
fi
url="http://$ip:$NODEPORT"
cat <<EOF

surge is running in namespace $NAMESPACE: $url
(with the docker driver on macOS or Windows, use: minikube service surge -n $NAMESPACE --url)

next:
  curl $url/health
  build/surge run -c 10 -d 30s --scrape $url/metrics $url/api/cpu?ms=20
  kubectl apply -k deploy/k8s/generator            # the load test as a Job in the cluster
  kubectl -n $NAMESPACE logs -f job/surge-generator     # its result document
  kubectl -n $NAMESPACE get hpa surge --watch          # replicas follow the CPU
  kubectl delete namespace $NAMESPACE                 # remove everything
EOF
