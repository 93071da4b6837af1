#!/usr/bin/env bash
# Boot a QEMU board's firmware image (build it first with `make image BOARD=...`).
#
#   scripts/qemu-run.sh BOARD [options]
#     --image DIR        kernel and initramfs.cpio.gz from DIR (default
#                        build/<board>/image)
#     --disk FILE        persistent data disk (default build/<board>/data.img;
#                        created as an empty ext4 file system if missing)
#     --fwd HOSTPORT:GUESTPORT   forward 127.0.0.1:HOSTPORT to the guest
#                        (repeatable; default 2587:587 when none is given)
#     --mem MB           RAM (default 128)
#     --append "WORDS"   extra kernel command line (e.g. zegel_ip=10.0.2.20/24)
#     --test             for scripts: no reboot (a guest reboot or panic ends
#                        QEMU), kernel messages off, no QEMU monitor on the
#                        serial line
#     --print            print the command instead of running it
#     --lwip             a second NIC for the lwIP image (make image VARIANT=lwip
#                        LIBC=glibc): eth1 in the guest (MAC 52:54:00:12:34:57,
#                        PCI slot 12, after the first NIC), its own user-mode
#                        network (10.0.2.0/24 again); the kernel command line
#                        gets zegel_link=eth1 (init brings it up with no
#                        address: zegel's lwIP owns it through a packet socket,
#                        at 10.0.2.16); a new --disk is seeded with a
#                        zegel.conf of those `set lwip` lines
#     --fwd2 HOSTPORT:GUESTPORT  forward 127.0.0.1:HOSTPORT to lwIP's 10.0.2.16
#                        on that second NIC (repeatable; implies --lwip;
#                        default 2588:587 with --lwip)
#     --tpm              a TPM 2.0: swtpm (state in build/<board>/tpm, started
#                        here, ends with QEMU) as the board's QEMU_TPM_DEVICE
#                        (qemu-arm-virt: tpm-tis-device, /dev/tpmrm0 in the guest)
#   QEMU_TPM_SOCKET=PATH (environment) attaches a swtpm already listening on
#                        PATH (`swtpm socket --tpm2 --ctrl type=unixio,path=PATH`)
#
# The serial console is this terminal; with -nographic, Ctrl-A X quits QEMU and
# Ctrl-A C switches to the QEMU monitor. The network is QEMU's user mode NAT
# (guest 10.0.2.15, gateway 10.0.2.2); only the forwarded ports reach the guest.
set -euo pipefail
board=${1:?usage: qemu-run.sh BOARD [--disk FILE] [--fwd H:G]... [--mem MB] [--append WORDS] [--test]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
conf=$top/board/$board/image.conf
[ -f "$conf" ] || { echo "qemu: board $board has no firmware image" >&2; exit 2; }
# shellcheck source=/dev/null
. "$conf"

img=$top/build/$board/image
disk=$top/build/$board/data.img
mem=128 append="" test=0 print=0 tpm=0 tpmsock=${QEMU_TPM_SOCKET:-} lwip=0
fwds=() fwds2=()
# the lwIP image's second NIC (--lwip): lwIP's address on it and its MAC
LWIP_IP=10.0.2.16 LWIP_NIC_MAC=52:54:00:12:34:57
while [ $# -gt 0 ]; do
	case "$1" in
	--image) img=$2; shift 2 ;;
	--disk) disk=$2; shift 2 ;;
	--fwd) fwds+=("$2"); shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--test) test=1; shift ;;
	--print) print=1; shift ;;
	--tpm) tpm=1; shift ;;
	--lwip) lwip=1; shift ;;
	--fwd2) fwds2+=("$2"); lwip=1; shift 2 ;;
	*) echo "qemu: unknown option $1" >&2; exit 2 ;;
	esac
done
[ ${#fwds[@]} -gt 0 ] || fwds=(2587:587)
[ "$lwip" = 0 ] || [ ${#fwds2[@]} -gt 0 ] || fwds2=(2588:587)
for f in kernel initramfs.cpio.gz; do
	[ -f "$img/$f" ] || { echo "qemu: $img/$f missing: run make image BOARD=$board" >&2; exit 2; }
done
command -v "$QEMU_SYSTEM" >/dev/null || {
	echo "qemu: $QEMU_SYSTEM not installed (scripts/bootstrap.sh qemu)" >&2; exit 2; }
if [ ! -f "$disk" ] && [ "$lwip" = 1 ]; then
	# zegel's lwIP on the second NIC from the first boot on
	seed=$(mktemp -d /tmp/zegel-qemu-seed.XXXXXX)
	printf 'set lwip driver packet\nset lwip interface eth1\nset lwip address %s/24\nset lwip gateway 10.0.2.2\n' \
		"$LWIP_IP" >"$seed/zegel.conf"
	"$top/scripts/image-disk.sh" "$disk" 16 "$seed"
	rm -rf "$seed"
elif [ ! -f "$disk" ]; then
	"$top/scripts/image-disk.sh" "$disk"
fi

nic="user,model=$QEMU_NIC_MODEL"
for f in "${fwds[@]}"; do
	nic="$nic,hostfwd=tcp:127.0.0.1:${f%%:*}-:${f#*:}"
done
cmdline="console=$KERNEL_CONSOLE panic=1 zegel_data=$DATA_DEV${KERNEL_ARGS:+ $KERNEL_ARGS}"
if [ "$test" = 1 ]; then
	cmdline="$cmdline quiet loglevel=1"
else
	cmdline="$cmdline loglevel=4"
fi
[ "$lwip" = 0 ] || cmdline="$cmdline zegel_link=eth1"
[ -z "$append" ] || cmdline="$cmdline $append"

# shellcheck disable=SC2206
args=($QEMU_MACHINE -m "$mem" -kernel "$img/kernel" -initrd "$img/initramfs.cpio.gz"
	-append "$cmdline" -nic "$nic" ${QEMU_DISK_ARGS//@DISK@/$disk} ${QEMU_RNG_ARGS:-})
if [ "$lwip" = 1 ]; then
	nic2="user,id=lwip,net=10.0.2.0/24"
	for f in "${fwds2[@]}"; do
		nic2="$nic2,hostfwd=tcp:127.0.0.1:${f%%:*}-$LWIP_IP:${f#*:}"
	done
	# slot 12: after the first NIC's (the Malta's pcnet is in slot 11), so
	# the kernel finds it second and names it eth1
	args+=(-netdev "$nic2" -device "$QEMU_NIC_MODEL,netdev=lwip,mac=$LWIP_NIC_MAC,addr=0x0c")
fi
if [ "$tpm" = 1 ] || [ -n "$tpmsock" ]; then
	[ -n "${QEMU_TPM_DEVICE:-}" ] || { echo "qemu: board $board has no TPM device" >&2; exit 2; }
fi
if [ "$tpm" = 1 ] && [ -z "$tpmsock" ] && [ "$print" = 0 ]; then
	command -v swtpm >/dev/null || { echo "qemu: swtpm not installed (apt install swtpm)" >&2; exit 2; }
	tpmdir=$top/build/$board/tpm tpmsock=$top/build/$board/tpm/swtpm.sock
	mkdir -p "$tpmdir"
	# one left from a QEMU that never connected is used again
	kill -0 "$(cat "$tpmdir/swtpm.pid" 2>/dev/null)" 2>/dev/null ||
		swtpm socket --tpm2 --tpmstate dir="$tpmdir" --ctrl type=unixio,path="$tpmsock" \
			--pid file="$tpmdir/swtpm.pid" --log file="$tpmdir/swtpm.log" --terminate --daemon
elif [ "$tpm" = 1 ] && [ -z "$tpmsock" ]; then
	tpmsock=$top/build/$board/tpm/swtpm.sock
fi
[ -z "$tpmsock" ] || args+=(-chardev "socket,id=chrtpm,path=$tpmsock" -tpmdev "emulator,id=tpm0,chardev=chrtpm"
	-device "$QEMU_TPM_DEVICE,tpmdev=tpm0")
if [ "$test" = 1 ]; then
	args+=(-display none -serial stdio -monitor none -no-reboot)
else
	args+=(-nographic)
	echo "qemu: $board; console below (Ctrl-A X quits); forwarded:" \
		"$(printf '127.0.0.1:%s ' "${fwds[@]%%:*}")" >&2
	[ "$lwip" = 0 ] || echo "qemu: to zegel's lwIP on eth1 ($LWIP_IP):" \
		"$(printf '127.0.0.1:%s ' "${fwds2[@]%%:*}")" >&2
fi
if [ "$print" = 1 ]; then
	printf '%q ' "$QEMU_SYSTEM" "${args[@]}"
	echo
	exit 0
fi
exec "$QEMU_SYSTEM" "${args[@]}"
