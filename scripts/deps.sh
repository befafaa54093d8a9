#!/usr/bin/env bash
# Installs the Debian packages surge needs to build, test and benchmark.
# Idempotent: installs only what is missing; `make demo`, `make test` and .ci/run call it.
# Usage: scripts/deps.sh [--bench]
set -euo pipefail

# build: compiler, pkg-config and the libraries linked into build/surge
build_pkgs=(build-essential pkg-config libssl-dev zlib1g-dev libjansson-dev libsqlite3-dev libpq-dev
	libhiredis-dev libluajit2-5.1-dev)
# tests: fixture servers, fuzzing, a browser for web pages, the scripts that drive them
test_pkgs=(nginx-light python3 clang libclang-rt-dev openssl curl procps time prometheus
	postgresql redis-server chromium python3-locust)
# bench: the peers surge is compared with, and libuv for the loop comparison
bench_pkgs=(wrk hey nghttp2-client apache2-utils libuv1-dev util-linux bc)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
[ "${1:-}" = "--bench" ] && want+=("${bench_pkgs[@]}")
[ "${SURGE_DEPS_ALL:-}" = "1" ] && want+=("${bench_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# web assets are fetched with npm at build time; any working node/npm will do
command -v npm >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
