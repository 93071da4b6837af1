#!/usr/bin/env bash
# A DKIM key held in a TPM 2.0 inside the qemu-arm-virt image (issue 15):
# swtpm attached with -tpmdev emulator -device tpm-tis-device, the guest
# kernel's TIS driver and /dev/tpmrm0, `key generate ... rsa-tpm` over the
# serial console, a message from swaks signed in the guest and verified on the
# host by dkimpy, Mail::DKIM and libopendkim; only the wrapped blob on the data
# disk; tpm2-tools loads the blob in the same TPM (tests/qemu/tpm_driver.py).
# Skipped (never passed) when QEMU, swtpm or the host tools are missing.
# Host port: 25887. The image is the one boot.sh builds (cached).
. "$TOP/tests/lib.sh"
. "$TOP/tests/qemu/lib/drivers.sh"
cd "$TOP" || exit 2
t0=$(date +%s)
b=qemu-arm-virt
missing=""
for tool in qemu-system-arm swtpm swtpm_setup swaks openssl cc perl mke2fs e2fsck debugfs; do
	command -v "$tool" >/dev/null || [ -x "/sbin/$tool" ] || missing="$missing $tool"
done
$PY -c 'import pexpect, dkim' 2>/dev/null || missing="$missing python3-pexpect/python3-dkim"
perl -MMail::DKIM::Verifier -e1 2>/dev/null || missing="$missing libmail-dkim-perl"
[ -f /usr/include/opendkim/dkim.h ] || missing="$missing libopendkim-dev"
if [ -n "$missing" ]; then
	skip "$b: a DKIM key in the guest's TPM" "missing:$missing"
	finish
	exit
fi
if ! out=$(timeout 1800 make -s --no-print-directory BOARD="$b" image 2>&1); then
	not_ok "$b: make image" "$out"
	finish
	exit
fi
run_drivers tpm tpm_driver.py "$b:25887"
echo "# tpm test took $(($(date +%s) - t0)) s"
finish
