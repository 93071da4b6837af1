#!/usr/bin/env bash
# Boot test of the firmware images in QEMU (see tests/qemu/boot_driver.py for
# the steps): console prompt, configuration typed on the serial line, save and
# power cut, config survives, a message submitted from the host is signed in
# the guest and verifies with dkimpy, power cuts during `save` leave the old or
# the new config. Skipped (never passed) when the QEMU system emulators or the
# host tools are missing. Host ports: 25587 (arm), 25687 (mips), 25787 (mipsbe).
# Upgrade (qemu-arm-virt): a second image with another firmware version is
# built and booted on the same data disk (boot_driver.py, "upgrade").
# `make image` builds the board's kernel the first time (toolchain/
# build-kernel.sh, minutes; cached afterwards), hence the long timeout.
. "$TOP/tests/lib.sh"
. "$TOP/tests/qemu/lib/drivers.sh"
cd "$TOP" || exit 2
t0=$(date +%s)

boards=()
upgrades=()
for spec in qemu-arm-virt:qemu-system-arm:25587 qemu-mips-malta:qemu-system-mipsel:25687 \
	qemu-mipsbe-malta:qemu-system-mips:25787; do
	b=${spec%%:*} q=${spec#*:} q=${q%%:*} port=${spec##*:}
	if ! command -v "$q" >/dev/null; then
		skip "$b boots" "$q not installed (scripts/bootstrap.sh qemu)"
		continue
	fi
	missing=""
	for tool in swaks openssl mke2fs e2fsck debugfs; do
		command -v "$tool" >/dev/null || [ -x "/sbin/$tool" ] || missing="$missing $tool"
	done
	$PY -c 'import pexpect, dkim' 2>/dev/null || missing="$missing python3-pexpect/python3-dkim"
	if [ -n "$missing" ]; then
		skip "$b boots" "missing:$missing"
		continue
	fi
	t1=$(date +%s)
	if ! out=$(timeout 1800 make -s --no-print-directory BOARD="$b" image 2>&1); then
		not_ok "$b: make image" "$out"
		continue
	fi
	ok "$b: make image (kernel $(sed -n 's/^kernel=//p' build/$b/image/manifest), firmware $(
		sed -n 's/^firmware=//p' build/$b/image/manifest), $(($(date +%s) - t1)) s)"
	[ "$b" = qemu-arm-virt ] || { boards+=("$b:$port"); continue; }
	# image N+1 for the upgrade test: the same build with another version,
	# kept aside; then image N is made again (the kernel is cached: seconds)
	up=$(mktemp -d /tmp/zegel-qemu-upgrade.XXXXXX)
	upgrades+=("$up")
	v=$(sed -n 's/^firmware=//p' build/$b/image/manifest)
	if out=$(make -s --no-print-directory BOARD="$b" FIRMWARE_VERSION="$v-next" image 2>&1) &&
		cp build/$b/image/kernel build/$b/image/initramfs.cpio.gz build/$b/image/manifest "$up/" &&
		out=$(make -s --no-print-directory BOARD="$b" image 2>&1); then
		ok "$b: upgrade image built (firmware $v-next)"
		boards+=("$b:$port:$up")
	else
		not_ok "$b: upgrade image (FIRMWARE_VERSION=$v-next)" "$out"
		boards+=("$b:$port")
	fi
done
if [ ${#boards[@]} -gt 0 ]; then
	# One driver per board, all at once (each guest is one emulated CPU, the
	# boards have their own ports and work dirs); their TAP streams are read
	# back one board after the other.
	run_drivers boot boot_driver.py "${boards[@]}"
fi
[ ${#upgrades[@]} -eq 0 ] || rm -rf "${upgrades[@]}"
echo "# boot tests took $(($(date +%s) - t0)) s"
finish
