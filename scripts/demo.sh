#!/usr/bin/env bash
# `make demo`: starts a target on loopback, runs a short load test against it, prints the
# summary and writes the result files to build/demo/. The target is nginx for now; it
# becomes `surge serve` once the target exists.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/nginx-fixture.sh
trap nginx_stop EXIT
nginx_start
mkdir -p build/demo
echo "target: nginx on http://127.0.0.1:$NGINX_PORT/ (one worker)"
build/surge run -c 20 -d 5s --json build/demo/result.json "http://127.0.0.1:$NGINX_PORT/"
echo
echo "result document: build/demo/result.json"
