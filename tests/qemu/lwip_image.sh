#!/usr/bin/env bash
# Boot test of the lwIP firmware images (hal/lwip/README.md): `make image
# BOARD=<b> VARIANT=lwip LIBC=glibc` into build/<b>-lwip-glibc/image/, with
# the board's cached kernel (build/<b>/kernel, the one of the normal image:
# this suite never builds a kernel of its own). Each guest gets a second NIC
# (scripts/qemu-run.sh --lwip) that zegel's lwIP owns through a packet socket
# while the kernel has no address on it; a message submitted through that
# NIC's forwarded port is signed in the guest and verifies with dkimpy, the
# first NIC's port (the kernel's) has no SMTP server (tests/qemu/lwip_driver.py
# lists the checks). qemu-arm-virt and qemu-mips-malta boot in parallel.
# Skipped (never passed) when the QEMU system emulators or the host tools
# are missing. Host ports: 25588/25598 (arm), 25688/25698 (mips).
. "$TOP/tests/lib.sh"
. "$TOP/tests/qemu/lib/drivers.sh"
cd "$TOP" || exit 2
t0=$(date +%s)

specs=()
for spec in qemu-arm-virt:qemu-system-arm:25588:25598 qemu-mips-malta:qemu-system-mipsel:25688:25698; do
	IFS=: read -r b q p1 p2 <<<"$spec"
	if ! command -v "$q" >/dev/null; then
		skip "$b lwIP image boots" "$q not installed (scripts/bootstrap.sh qemu)"
		continue
	fi
	missing=""
	for tool in swaks openssl mke2fs e2fsck debugfs; do
		command -v "$tool" >/dev/null || [ -x "/sbin/$tool" ] || missing="$missing $tool"
	done
	$PY -c 'import pexpect, dkim' 2>/dev/null || missing="$missing python3-pexpect/python3-dkim"
	if [ -n "$missing" ]; then
		skip "$b lwIP image boots" "missing:$missing"
		continue
	fi
	# the kernel is the board's, cached by its inputs (make test's background
	# build made it; this suite waits for that): never built here
	kdir=build/$b/kernel
	stamp_before=$(ls "$kdir"/.stamp-* 2>/dev/null)
	if [ -z "$stamp_before" ] || [ ! -f "$kdir/kernel" ]; then
		skip "$b lwIP image boots" "the board's kernel is not built yet ($kdir; make kernel BOARD=$b)"
		continue
	fi
	t1=$(date +%s)
	img=build/$b-lwip-glibc/image
	if ! out=$(timeout 600 make -s --no-print-directory BOARD="$b" VARIANT=lwip LIBC=glibc image 2>&1); then
		not_ok "$b: make image VARIANT=lwip LIBC=glibc" "$out"
		continue
	fi
	if [ "$(ls "$kdir"/.stamp-*)" = "$stamp_before" ] && cmp -s "$kdir/kernel" "$img/kernel"; then
		ok "$b: make image VARIANT=lwip LIBC=glibc in $(($(date +%s) - t1)) s, with the board's cached kernel ($(sed -n 's/^kernel=//p' "$img/manifest"))"
	else
		not_ok "$b: the lwIP image has the board's cached kernel ($kdir), unchanged" \
			"stamp before: $stamp_before, after: $(ls "$kdir"/.stamp-* 2>/dev/null)"
	fi
	specs+=("$b:$TOP/$img:$p1:$p2")
done
if [ ${#specs[@]} -gt 0 ]; then
	run_drivers "lwIP boot" lwip_driver.py "${specs[@]}"
fi
echo "# lwIP image tests took $(($(date +%s) - t0)) s"
finish
