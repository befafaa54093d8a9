#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12 machine: a minimal root built with
# debootstrap, holding only build-essential, git, curl, python3, ca-certificates and clang
# (and sudo, for the normal-user run), gets a clean clone of HEAD; the commands of the
# README's "Quick start" block are read from the README itself and run inside it, so the
# README cannot drift from what is checked. Prints each step with its time; ends PASS or FAIL.
# The commands run with CI=true, so a test fixture that deps.sh failed to install is a
# failure, not a skip.
#
# Usage: scripts/fresh-machine.sh [--demo-only] [--user]
#   --demo-only  run only the README's `make demo` line (CI runs the whole check only when
#                time allows; see docs/testing.md)
#   --user       run the commands as a normal user with sudo, not as root
# Environment: FRESH_CACHE (default /var/cache/surge-fresh) keeps the base root tarball and
# the downloaded .deb and npm files, so a rerun takes minutes, not ten; FRESH_MIRROR.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

DEMO_ONLY=0
AS_USER=0
for a in "$@"; do
	case $a in
	--demo-only) DEMO_ONLY=1 ;;
	--user) AS_USER=1 ;;
	*) echo "usage: scripts/fresh-machine.sh [--demo-only] [--user]" >&2; exit 2 ;;
	esac
done

CACHE=${FRESH_CACHE:-/var/cache/surge-fresh}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
BASE_PKGS="build-essential git curl python3 ca-certificates clang sudo"
BASE_TAR=$CACHE/bookworm-minbase-$(echo "$BASE_PKGS" | md5sum | cut -c1-8).tar.gz
COMMIT=$(git rev-parse HEAD)
T0=$(date +%s)

say() { printf '[%4ds] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() {
	say "FAIL: $*"
	echo "FAIL"
	exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mounts)"
command -v debootstrap >/dev/null || scripts/deps.sh --fresh >/dev/null || fail "cannot install debootstrap"
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
	say "note: the work tree has uncommitted changes; the check uses the commit $COMMIT only"

# The README's Quick start block: each line that is a command (comments stripped).
mapfile -t COMMANDS < <(awk '/^## Quick start/ {q=1} q && /^```/ {n++; next} q && n==1 {sub(/#.*/, ""); gsub(/^[ \t]+|[ \t]+$/, ""); if ($0 != "") print}' README.md)
[ ${#COMMANDS[@]} -ge 2 ] || fail "README.md: no Quick start block with two commands"
if [ $DEMO_ONLY = 1 ]; then
	mapfile -t COMMANDS < <(printf '%s\n' "${COMMANDS[@]}" | grep -E '^make demo( |$)')
	[ ${#COMMANDS[@]} = 1 ] || fail "README.md: no 'make demo' line in the Quick start block"
fi
say "commit $COMMIT; README commands: $(printf '%s; ' "${COMMANDS[@]}")"

mkdir -p "$CACHE/debs" "$CACHE/npm"
WORK=$(mktemp -d /var/tmp/surge-fresh.XXXXXX)
ROOT=$WORK/root
MOUNTS=()

# Stops every process whose root is the fresh root, then unmounts and deletes it.
cleanup() {
	local pid
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		[ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "$pid" 2>/dev/null
	done
	sleep 0.5
	local i
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${MOUNTS[i]}" 2>/dev/null
	done
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

mount_in() { # mount_in TARGET mount-args...
	mkdir -p "$1"
	local target=$1
	shift
	mount "$@" "$target" && MOUNTS+=("$target")
}

# 1. The base root: debootstrap once, then the base packages; cached as a tarball.
if [ ! -s "$BASE_TAR" ]; then
	say "building the base root (debootstrap --variant=minbase bookworm; cached in $BASE_TAR)"
	debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
		{ tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
	mount_in "$ROOT/proc" -t proc proc
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get update -qq && apt-get install -y -qq --no-install-recommends $BASE_PKGS" \
		>"$WORK/base.log" 2>&1 || { tail -20 "$WORK/base.log"; fail "installing $BASE_PKGS"; }
	chroot "$ROOT" apt-get clean
	umount "$ROOT/proc" && MOUNTS=()
	tar -C "$ROOT" -czf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR" || fail "caching the base root"
	say "base root built"
else
	mkdir -p "$ROOT"
	tar -C "$ROOT" -xzf "$BASE_TAR" || fail "unpacking $BASE_TAR"
	say "base root unpacked from $BASE_TAR"
fi
say "base packages: $(chroot "$ROOT" dpkg-query -W -f='${binary:Package}\n' | wc -l) installed"

# 2. A machine's mounts; the .deb and npm downloads are shared caches, nothing else is.
# The root is a mount point of its own, as / is on any machine (buildah remounts / and
# fails with "remount /, flags: 0x44000: invalid argument" in a root that is a plain folder).
mount_in "$ROOT" --bind "$ROOT"
mount_in "$ROOT/proc" -t proc proc
mount_in "$ROOT/sys" --rbind /sys
mount_in "$ROOT/dev" --rbind /dev
mount_in "$ROOT/dev/shm" -t tmpfs -o size=2g tmpfs
mount_in "$ROOT/tmp" -t tmpfs -o size=8g tmpfs
mount_in "$ROOT/var/cache/apt/archives" --bind "$CACHE/debs"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
echo "fresh" >"$ROOT/etc/hostname"
# The network this machine is on: its local CA certificates (an egress proxy's, say) and proxy
# settings, as any machine on this network has them; nothing of the project's.
NET_ENV=()
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
	cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
	chroot "$ROOT" update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates"
	NET_ENV+=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
fi
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
	[ -n "${!v:-}" ] && NET_ENV+=("$v=${!v}")
done

# 3. A clean clone of this commit, owned by who runs the commands.
if [ $AS_USER = 1 ]; then
	chroot "$ROOT" useradd -m -s /bin/bash tester || fail "useradd"
	echo 'tester ALL=(ALL) NOPASSWD: ALL' >"$ROOT/etc/sudoers.d/tester"
	HOME_IN=/home/tester
	RUN_AS=(runuser -u tester --)
else
	HOME_IN=/root
	RUN_AS=()
fi
mount_in "$ROOT$HOME_IN/.npm" --bind "$CACHE/npm"
git clone -q "$REPO" "$ROOT$HOME_IN/surge" && git -C "$ROOT$HOME_IN/surge" checkout -q "$COMMIT" ||
	fail "git clone"
[ $AS_USER = 1 ] && chroot "$ROOT" chown -R tester:tester "$HOME_IN"
say "cloned $COMMIT into $HOME_IN/surge as $([ $AS_USER = 1 ] && echo 'tester (sudo)' || echo root)"

# 4. The README's commands, one by one, as a user would type them.
status=PASS
for cmd in "${COMMANDS[@]}"; do
	log=$REPO/build/fresh-machine/$(echo "$cmd" | tr -c 'a-z0-9\n' '-').log
	mkdir -p "$(dirname "$log")"
	say "running: $cmd (log: ${log#"$REPO"/})"
	start=$(date +%s)
	timeout 3600 chroot "$ROOT" "${RUN_AS[@]}" env -i HOME=$HOME_IN LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CI=true "${NET_ENV[@]}" \
		bash -c "cd ~/surge && $cmd" >"$log" 2>&1
	rc=$?
	tail -3 "$log" | sed 's/^/        /'
	if [ $rc = 0 ]; then
		say "ok: $cmd ($(($(date +%s) - start))s)"
	else
		say "failed: $cmd exited $rc after $(($(date +%s) - start))s"
		# name what failed, with its own lines, so a CI log alone is enough to start from
		grep -E -A12 '^FAIL ' "$log" | head -80 | sed 's/^/        /'
		status=FAIL
		break
	fi
done

if [ $status = PASS ] && printf '%s\n' "${COMMANDS[@]}" | grep -q '^make demo'; then
	for f in result.json report.html; do
		[ -s "$ROOT$HOME_IN/surge/build/demo/$f" ] || { say "make demo wrote no build/demo/$f"; status=FAIL; }
	done
fi
say "total $(($(date +%s) - T0))s"
echo $status
[ $status = PASS ]
