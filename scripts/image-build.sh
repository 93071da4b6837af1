#!/usr/bin/env bash
# Build the firmware image of a QEMU board: kernel + initramfs in build/<board>/image/.
#
#   scripts/image-build.sh BOARD OUTDIR STRIP     (called by `make image`)
#
# The kernel is Debian's (board/<board>/image.conf names the flavour); its .deb
# is fetched with `apt-get download` from Debian's archive once and cached in
# build/dl/. The initramfs holds only:
#   /init                 board/common/init.c, static
#   /bin/zegel            build/<board>/zegel, stripped
#   /lib/modules/*.ko     board/<board>/modules plus what they depend on,
#   /lib/modules/load.list    in the order /init loads them
#   /dev/console          the one device node (the rest comes from devtmpfs)
#   empty /proc /sys /tmp /run /data
set -euo pipefail
board=${1:?board} out=${2:?outdir} strip=${3:?strip}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
conf=board/$board/image.conf
[ -f "$conf" ] || { echo "image: board $board has no firmware image ($conf missing)" >&2; exit 2; }
KERNEL_UNAVAILABLE=
# shellcheck source=/dev/null
. "$conf"
if [ -n "$KERNEL_UNAVAILABLE" ]; then
	echo "image: $board: $KERNEL_UNAVAILABLE" >&2
	exit 2
fi
for f in "$out/zegel" "$out/init"; do
	[ -x "$f" ] || { echo "image: $f not built" >&2; exit 2; }
done

# ---- the kernel package: resolve the version, fetch once, unpack once
dl=build/dl
mkdir -p "$dl"
meta=linux-image-$KERNEL_FLAVOUR:$KERNEL_DEB_ARCH
pkg=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^:]*\).*/\1/p' | head -1 || true)
deb=
if [ -n "$pkg" ]; then
	deb=$(ls "$dl/${pkg}_"*"_$KERNEL_DEB_ARCH.deb" 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$deb" ]; then
		echo "  FETCH   $pkg:$KERNEL_DEB_ARCH (Debian archive, cached in $dl/)"
		(cd "$dl" && apt-get -q -o APT::Sandbox::User=root download "$pkg:$KERNEL_DEB_ARCH" >/dev/null) || {
			echo "image: apt-get download $pkg:$KERNEL_DEB_ARCH failed" >&2; exit 1; }
		deb=$(ls "$dl/${pkg}_"*"_$KERNEL_DEB_ARCH.deb" | sort -V | tail -1)
	fi
else
	# No apt lists for this architecture: use a cached package if there is one.
	deb=$(ls "$dl/linux-image-"*"-${KERNEL_FLAVOUR}_"*"_$KERNEL_DEB_ARCH.deb" 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$deb" ] || {
		echo "image: cannot resolve $meta (apt-cache depends): is the $KERNEL_DEB_ARCH" \
			"architecture added and apt-get update done? (scripts/bootstrap.sh cross)" >&2
		exit 1
	}
	echo "  KERNEL  $meta not resolvable; using cached $(basename "$deb")"
fi
kx=$dl/$(basename "$deb" .deb)
if [ ! -f "$kx/.unpacked" ]; then
	rm -rf "$kx"
	dpkg -x "$deb" "$kx"
	touch "$kx/.unpacked"
fi
kver=$(ls "$kx/lib/modules" | head -1)
vmlinuz=$kx/boot/vmlinuz-$kver
moddir=$kx/lib/modules/$kver/kernel
[ -f "$vmlinuz" ] && [ -d "$moddir" ] || { echo "image: $deb has no kernel/modules" >&2; exit 1; }

# ---- modules: resolve dependencies from each module's depends= (no modules.dep in the .deb)
declare -A modpath=()
while IFS= read -r f; do
	n=$(basename "$f" .ko)
	modpath[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko')
order=()
declare -A seen=()
add_module() { # name, chain (for loops)
	local n=${1//-/_} f deps d
	[ -n "${seen[$n]:-}" ] && return 0
	f=${modpath[$n]:-}
	[ -n "$f" ] || { echo "image: module $n not in $deb (needed by board/$board/modules)" >&2; exit 1; }
	seen[$n]=1
	deps=$(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p')
	deps=${deps%%$'\n'*}
	for d in ${deps//,/ }; do add_module "$d"; done
	order+=("$n")
}
while read -r m _; do
	case "$m" in '' | '#'*) continue ;; esac
	add_module "$m"
done <"board/$board/modules"

# ---- the root file system
img=$out/image
root=$img/rootfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,data,lib/modules}
"$strip" -o "$root/bin/zegel" "$out/zegel"
"$strip" -o "$root/init" "$out/init"
: >"$root/lib/modules/load.list"
for n in "${order[@]}"; do
	f=${modpath[$n]}
	cp "$f" "$root/lib/modules/"
	basename "$f" >>"$root/lib/modules/load.list"
done
chmod 755 "$root/init" "$root/bin/zegel"
/usr/bin/python3 scripts/image-cpio.py "$root" "$img/initramfs.cpio.gz" --node dev/console:c:5:1:600
cp "$vmlinuz" "$img/kernel"
{
	echo "kernel=$kver"
	echo "deb=$(basename "$deb")"
	echo "modules=${order[*]}"
} >"$img/manifest"
echo "  IMAGE   $img/kernel ($kver, $(stat -c %s "$img/kernel") bytes)"
echo "  IMAGE   $img/initramfs.cpio.gz ($(stat -c %s "$img/initramfs.cpio.gz") bytes;" \
	"rootfs $(du -sb --apparent-size "$root" | cut -f1) bytes, ${#order[@]} modules)"
