#!/usr/bin/env bash
# Installs the Debian packages surge needs to build, test and benchmark.
# Idempotent: installs only what is missing; `make demo`, `make test` and .ci/run call it.
# Usage: scripts/deps.sh [--bench | --fresh]   install build + test packages (+ the group)
#        scripts/deps.sh --missing build         print what the build lacks, exit 1 if anything
set -euo pipefail

# build: compiler, pkg-config and the libraries linked into build/surge
build_pkgs=(build-essential pkg-config libssl-dev zlib1g-dev libjansson-dev libsqlite3-dev libpq-dev
	libhiredis-dev libluajit2-5.1-dev liburing-dev libnghttp2-dev)
# tests: fixture servers, fuzzing, a browser for web pages, the scripts that drive them
test_pkgs=(nginx-light python3 clang libclang-rt-dev openssl curl procps time prometheus
	postgresql redis-server chromium python3-locust)
test_pkgs+=(buildah python3-yaml) # make image; the deploy/ tests (tests/integration/test_deploy_*.py)
test_pkgs+=(valgrind) # make valgrind: each command under memcheck (tests/valgrind/run)
test_pkgs+=(nghttp2-client nghttp2-server) # HTTP/2 peers: h2load, nghttp, nghttpd
# bench: the peers surge is compared with, and libuv for the loop comparison
bench_pkgs=(wrk hey apache2-utils libuv1-dev util-linux bc)
# fresh: what scripts/fresh-machine.sh needs to build a Debian root
fresh_pkgs=(debootstrap git)

# The packages of the given names that are not installed, one per line; web assets are
# fetched with npm at build time, and any working node/npm will do.
missing_of() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
	command -v npm >/dev/null || printf '%s\n' nodejs npm
}

if [ "${1:-}" = "--missing" ]; then
	mapfile -t missing < <(missing_of "${build_pkgs[@]}")
	[ ${#missing[@]} -eq 0 ] && exit 0
	echo "missing packages: ${missing[*]}"
	exit 1
fi

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
case "${1:-}" in
--bench) want+=("${bench_pkgs[@]}") ;;
--fresh) want+=("${fresh_pkgs[@]}") ;;
"") ;;
*) echo "usage: scripts/deps.sh [--bench | --fresh | --missing build]" >&2; exit 2 ;;
esac
[ "${SURGE_DEPS_ALL:-}" = "1" ] && want+=("${bench_pkgs[@]}" "${fresh_pkgs[@]}")

mapfile -t missing < <(missing_of "${want[@]}" | sort -u)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "deps: not root and no sudo: as root, run apt-get install ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
