#!/usr/bin/env bash
# Builds the surge image from deploy/Containerfile with buildah (no daemon) and writes it as
# an OCI archive that `minikube image load`, `kind load image-archive` and `docker load` take.
#   deploy/image/build.sh BINARY IMAGE ARCHIVE
# BINARY: the surge to ship (build/surge); IMAGE: its name (surge:VERSION); ARCHIVE: the
# oci-archive to write (build/surge-image.tar). The context is staged next to ARCHIVE in
# image/rootfs/: the stripped binary, the shared libraries ldd names (with the loader),
# CA certificates, passwd/group for uid/gid 65532, nsswitch.conf and an empty /tmp.
# BUILDAH_STORAGE: buildah's global storage options (make passes a root under build/ with the
# vfs driver, which works without fuse-overlayfs or a daemon); VERSION, SOURCE, LICENSES: the
# OCI labels.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: deploy/image/build.sh BINARY IMAGE ARCHIVE" >&2
	exit 2
fi
bin=$1 image=$2 archive=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v buildah >/dev/null || { echo "error: buildah is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
[ -x "$bin" ] || { echo "error: $bin is not an executable (run make first)" >&2; exit 1; }
# shellcheck disable=SC2206
storage=(${BUILDAH_STORAGE:-})

ctx=$(dirname "$archive")/image
root=$ctx/rootfs
rm -rf "$ctx"
mkdir -p "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"

# The binary, stripped: debug info is for the build tree, not the image.
strip -o "$root/surge" "$bin"
chmod 0755 "$root/surge"

# Every library the loader resolves for it, at the same path, plus the loader itself.
# A library ldd cannot find stops the build: the image would not start.
if ldd "$bin" | grep -q 'not found'; then
	echo "error: ldd $bin: $(ldd "$bin" | grep 'not found' | head -1)" >&2
	exit 1
fi
ldd "$bin" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}' | sort -u | while read -r lib; do
	real=$(readlink -f "$lib")
	dir=$(dirname "$lib")
	# Debian's /lib is a symlink to /usr/lib: keep the path the loader was told
	mkdir -p "$root$dir"
	cp "$real" "$root$lib"
	chmod 0755 "$root$lib"
done

cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/:/nonexistent\nnonroot:x:65532:65532:nonroot:/tmp:/nonexistent\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 0644 "$root"/etc/passwd "$root"/etc/group "$root"/etc/nsswitch.conf "$root"/etc/ssl/certs/ca-certificates.crt

buildah "${storage[@]}" build --quiet --layers=false --format oci \
	--timestamp 0 \
	--build-arg VERSION="${VERSION:-unknown}" \
	--build-arg SOURCE="${SOURCE:-}" \
	--build-arg LICENSES="${LICENSES:-NOASSERTION}" \
	-f "$here/../Containerfile" -t "$image" "$ctx" >/dev/null

# The archive is laid out as `docker save` (Docker 25+) writes OCI archives: the index names
# the image in full in io.containerd.image.name (what containerd's import - kind, minikube's
# containerd - and docker load read) and by its tag in org.opencontainers.image.ref.name.
name=${image%@*}
case $name in
*/*) first=${name%%/*}
	case $first in *.* | *:* | localhost) ;; *) name=docker.io/$name ;; esac ;;
*) name=docker.io/library/$name ;;
esac
case ${name##*/} in *:*) ;; *) name=$name:latest ;; esac
tag=${name##*:}
layout=$ctx/layout
buildah "${storage[@]}" push --quiet "$image" "oci:$layout:$tag" >/dev/null
sed -i "s|\"org.opencontainers.image.ref.name\":|\"io.containerd.image.name\":\"$name\",&|" "$layout/index.json"
grep -q '"io.containerd.image.name"' "$layout/index.json" || { echo "error: could not name the image in $layout/index.json" >&2; exit 1; }
rm -f "$archive"
tar -C "$layout" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$archive" oci-layout index.json blobs
size=$(buildah "${storage[@]}" images --format '{{.Size}}' "$image" | head -1)
echo "image $image ($size), archive $archive ($(du -h "$archive" | cut -f1))"
