#!/usr/bin/env bash
# Install every Debian package zegel's build, tests and run need.
# Idempotent: a package already installed is not fetched again, so `make run`
# and `make test` call it every time. Nothing is downloaded from anywhere but
# Debian's archive (the multiarch libraries, source packages and kernels included).
#
#   scripts/bootstrap.sh [core|cross|peers|qemu|kernel|src|all]...   (default: all)
set -u
export DEBIAN_FRONTEND=noninteractive

CORE="build-essential make gcc clang llvm libclang-rt-14-dev kconfig-frontends
 libmbedtls-dev libsodium-dev libcmocka-dev cppcheck clang-format pkg-config
 openssl ca-certificates python3 xz-utils file"
CROSS="gcc-arm-linux-gnueabihf gcc-mipsel-linux-gnu gcc-mips-linux-gnu
 libc6-dev-armhf-cross libc6-dev-mipsel-cross libc6-dev-mips-cross
 libmbedtls-dev:armhf libmbedtls-dev:mipsel libsodium-dev:armhf libsodium-dev:mipsel
 qemu-user binutils-multiarch dpkg-dev autoconf automake libtool uclibc-source cmake"
PEERS="python3-dkim python3-nacl python3-dnspython libmail-dkim-perl libcryptx-perl
 opendkim opendkim-tools libopendkim-dev swaks postfix
 knot knot-dnsutils nsd unbound bind9-dnsutils bind9-utils ldnsutils iproute2 procps
 socat python3-pexpect time sasl2-bin libsasl2-modules strace dnsmasq-base libio-socket-inet6-perl
 spfquery python3-spf publicsuffix swtpm swtpm-tools tpm2-tools python3-jsonschema
 postfix-mta-sts-resolver"
QEMU="qemu-system-arm qemu-system-mips ipxe-qemu cpio e2fsprogs"
# The images' kernels (toolchain/build-kernel.sh; the cross compilers are in CROSS)
KERNEL="linux-source-6.1 bc flex bison u-boot-tools lz4 xz-utils"
SRC="dpkg-dev autoconf automake libtool uclibc-source musl-dev:armhf musl-dev:mipsel musl-tools"

want=""
[ $# -eq 0 ] && set -- all
for g in "$@"; do
	case "$g" in
	core) want="$want $CORE" ;;
	cross) want="$want $CORE $CROSS" ;;
	peers) want="$want $PEERS" ;;
	qemu) want="$want $QEMU" ;;
	kernel) want="$want $KERNEL" ;;
	src) want="$want $SRC" ;;
	all) want="$want $CORE $CROSS $PEERS $QEMU $KERNEL $SRC" ;;
	*) echo "bootstrap: unknown group '$g' (core cross peers qemu kernel src all)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	# dpkg-query knows "pkg:arch" too; an installed package prints "install ok installed".
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "bootstrap: missing Debian packages:$missing" >&2
	echo "bootstrap: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

archs=$(dpkg --print-foreign-architectures)
changed=0
for a in armhf mipsel; do
	case " $archs " in *" $a "*) ;; *) dpkg --add-architecture "$a"; changed=1 ;; esac
done
# Source packages (mbedTLS, libsodium, lwIP for our own sysroots) need deb-src.
if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			> /etc/apt/sources.list.d/zegel-src.sources
	else
		grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
			> /etc/apt/sources.list.d/zegel-src.list
	fi
	changed=1
fi
stamp=/var/lib/apt/zegel-updated
if [ "$changed" = 1 ] || [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
	# A stale security index for a foreign architecture makes update exit 100;
	# the main archive is enough, so that must not abort the bootstrap.
	apt-get update -qq || echo "bootstrap: apt-get update reported errors; going on with what it fetched" >&2
	touch "$stamp"
fi
echo "bootstrap: installing$missing" >&2
apt-get install -y -qq --no-install-recommends $missing >/tmp/zegel-bootstrap.log 2>&1 || {
	tail -30 /tmp/zegel-bootstrap.log >&2
	echo "bootstrap: apt-get install failed (log: /tmp/zegel-bootstrap.log)" >&2
	exit 1
}
# Postfix and friends start system daemons on install; the tests run their own.
for s in postfix opendkim unbound nsd knot postfix-mta-sts-resolver; do
	service "$s" stop >/dev/null 2>&1 || true
done
exit 0
