# An external cross toolchain (Buildroot, OpenWrt SDK, crosstool-NG...): a gcc
# that already knows its C library (uClibc-ng, musl or glibc), with mbedTLS 2.28
# and libsodium (headers and static libraries) installed in its sysroot.
#
#   make BOARD=<board> LIBC=external CROSS_COMPILE=<prefix> [SYSROOT=<dir>] \
#        [EXTERNAL_CFLAGS='-march=24kc']
#
# CROSS_COMPILE is the tools' prefix, e.g.
#   ~/openwrt-sdk/staging_dir/toolchain-mips_24kc_gcc-12.3.0_musl/bin/mips-openwrt-linux-
# SYSROOT, if given, is passed as --sysroot (the OpenWrt SDK's staging_dir/target-*).
# See toolchain/README.md.
ifeq ($(CROSS_COMPILE),)
$(error the external toolchain needs CROSS_COMPILE=<prefix> (and optionally SYSROOT=<dir>); see toolchain/README.md)
endif
CC := $(CROSS_COMPILE)gcc$(if $(SYSROOT), --sysroot=$(SYSROOT))
AR := $(CROSS_COMPILE)ar
STRIP := $(CROSS_COMPILE)strip
SIZE := $(CROSS_COMPILE)size
NM := $(CROSS_COMPILE)nm
TC_CFLAGS := $(EXTERNAL_CFLAGS)
TC_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto -lsodium
QEMU_USER := $(if $(filter y,$(CONFIG_ARCH_ARM)),qemu-arm,$(if $(filter y,$(CONFIG_ARCH_MIPSEL)),qemu-mipsel,qemu-mips))
# Fail early and clearly when the sysroot lacks the libraries.
ifneq ($(shell printf '\#include <mbedtls/version.h>\n\#include <sodium.h>\n' | $(CC) $(TC_CFLAGS) -E -o /dev/null - 2>/dev/null && echo ok),ok)
$(error $(CC) does not find mbedtls/version.h and sodium.h: install mbedTLS 2.28 and libsodium into the toolchain's sysroot)
endif
