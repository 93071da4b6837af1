# zegel — one non-recursive Makefile for every board.
#
#   make [BOARD=<board>]          build build/<board>/zegel (default board: the last
#                                 <board>_defconfig, else host)
#   make <board>_defconfig        start build/<board>/.config from board/<board>/defconfig
#   make menuconfig | olddefconfig | savedefconfig   edit the current board's .config
#   make test | run | size | lint | help
#
# Modules add their sources in a module.mk (src-y / src-$(CONFIG_...) lists);
# toolchain/<arch>-<libc>.mk says how to compile for a board. V=1 shows commands.

.DEFAULT_GOAL := all
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
SHELL := /bin/bash

ZEGEL_VERSION := 0.1.0
GIT_REV := $(shell git rev-parse --short=10 HEAD 2>/dev/null || echo unknown)
BOARDS := $(notdir $(patsubst %/defconfig,%,$(wildcard board/*/defconfig)))
CROSS_BOARDS := $(filter-out host,$(BOARDS))
# cross boards whose lwIP build (VARIANT=lwip LIBC=glibc) make test builds and
# tests: under qemu-user (tests/run.sh) and as a firmware image (tests/qemu/lwip_image.sh)
LWIP_CROSS_BOARDS := qemu-arm-virt qemu-mips-malta

ifeq ($(V),1)
Q :=
else
Q := @
endif

# The board: BOARD= on the command line, else the last <board>_defconfig, else host.
BOARD ?= $(shell cat build/.board 2>/dev/null || echo host)
ifeq ($(filter $(BOARD),$(BOARDS)),)
$(error unknown BOARD '$(BOARD)'; boards: $(BOARDS))
endif
# VARIANT=asan builds the host with ASan+UBSan into build/host-asan;
# VARIANT=lwip builds the board with the lwIP network backend (HAL_NET_LWIP)
# into build/<board>-lwip; VARIANT=emu without the seccomp filter (and Landlock), which
# qemu-user does not emulate: only for benchmarks under qemu-user (tests/bench/smtp-load.sh).
VARIANT ?=
# LIBC=glibc|uclibc|musl|external builds the board with another C library than
# its defconfig names, in its own folder build/<board>-<libc> (make size uses it).
LIBC ?=
O := build/$(BOARD)$(if $(VARIANT),-$(VARIANT))$(if $(LIBC),-$(LIBC))
CONFIG := $(O)/.config
AUTOCONF := $(O)/include/generated/autoconf.h
KCONFIG_ENV = KCONFIG_CONFIG=$(CONFIG) ZEGEL_VERSION=$(ZEGEL_VERSION)

# Goals that need no configured board.
NOCONFIG_GOALS := help clean distclean bootstrap toolchain-clean test test-quick test-kernels kernel \
	lint fmt %_defconfig
CONFIG_NEEDED := $(if $(MAKECMDGOALS),$(filter-out $(NOCONFIG_GOALS) $(addsuffix _defconfig,$(BOARDS)),$(MAKECMDGOALS)),all)

ifneq ($(CONFIG_NEEDED),)
-include $(CONFIG)
endif

KCONFIG_FILES := Kconfig $(wildcard */Kconfig firmware/*/Kconfig)
# A changed board defconfig starts the .config again; a changed Kconfig only
# brings new symbols in at their defaults (olddefconfig), keeping menuconfig edits.
$(CONFIG): board/$(BOARD)/defconfig $(KCONFIG_FILES)
	@mkdir -p $(O)
	$(Q)if [ -f $@ ] && [ $@ -nt board/$(BOARD)/defconfig ]; then \
		echo "  CONF    $(O)/.config (olddefconfig: Kconfig changed)"; \
		$(KCONFIG_ENV) kconfig-conf -s --olddefconfig Kconfig >/dev/null && touch $@; \
	else \
		echo "  CONF    $(O)/.config (from board/$(BOARD)/defconfig)"; \
		{ cat board/$(BOARD)/defconfig; $(if $(LIBC),echo 'CONFIG_LIBC_$(shell echo $(LIBC) | tr a-z A-Z)=y';) \
		  $(if $(filter lwip,$(VARIANT)),echo 'CONFIG_HAL_NET_LWIP=y';) \
		  $(if $(filter emu,$(VARIANT)),echo '# CONFIG_PRIVSEP_SECCOMP is not set';) } \
			> $(O)/defconfig.in; \
		$(KCONFIG_ENV) kconfig-conf -s --defconfig=$(O)/defconfig.in Kconfig >/dev/null; \
	fi

%_defconfig:
	@test -f board/$*/defconfig || { echo "no board '$*'; boards: $(BOARDS)"; exit 2; }
	@mkdir -p build/$*
	$(Q)KCONFIG_CONFIG=build/$*/.config ZEGEL_VERSION=$(ZEGEL_VERSION) \
		kconfig-conf -s --defconfig=board/$*/defconfig Kconfig >/dev/null
	@echo $* > build/.board
	@echo "  CONF    build/$*/.config (current board: $*)"

.PHONY: menuconfig olddefconfig oldconfig savedefconfig
menuconfig: $(CONFIG)
	$(Q)$(KCONFIG_ENV) kconfig-mconf Kconfig
olddefconfig: $(CONFIG)
	$(Q)$(KCONFIG_ENV) kconfig-conf -s --olddefconfig Kconfig
oldconfig: $(CONFIG)
	$(Q)$(KCONFIG_ENV) kconfig-conf --oldconfig Kconfig
savedefconfig: $(CONFIG)
	$(Q)$(KCONFIG_ENV) kconfig-conf --savedefconfig=$(O)/defconfig Kconfig
	@echo "  SAVE    $(O)/defconfig (copy it to board/$(BOARD)/defconfig to keep it)"

$(AUTOCONF): $(CONFIG) scripts/kconfig-header.sh
	@mkdir -p $(dir $@)
	$(Q)$(KCONFIG_ENV) kconfig-conf -s --olddefconfig Kconfig >/dev/null
	$(Q)scripts/kconfig-header.sh $(CONFIG) > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- toolchain
ifneq ($(CONFIG_NEEDED),)
ifeq ($(CONFIG_ARCH_X86_64),y)
TC := host
else
TC := $(patsubst "%",%,$(CONFIG_ARCH_NAME))-$(patsubst "%",%,$(CONFIG_LIBC_NAME))
ifeq ($(CONFIG_LIBC_EXTERNAL),y)
TC := external
endif
endif
ifneq ($(wildcard $(CONFIG)),)
ifneq ($(LIBC),)
ifneq ($(LIBC),$(patsubst "%",%,$(CONFIG_LIBC_NAME)))
$(error LIBC=$(LIBC) is not available for board $(BOARD) (see toolchain/Kconfig))
endif
endif
include toolchain/$(TC).mk
ifeq ($(CONFIG_HAL_NET_LWIP),y)
include toolchain/lwip.inc
endif
endif
endif

CC ?= cc
AR ?= ar
STRIP ?= strip
SIZE ?= size

WARN := -Wall -Wextra -Werror -Wvla -Wformat=2 -Wno-format-nonliteral
OPT := $(if $(filter y,$(CONFIG_OPTIMIZE_SIZE)),-Os,-O2)
CPPFLAGS_ALL := -I$(O)/include -Ifirmware/include -Ihal/include -Isigner/include -I. \
	-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
	-DZEGEL_VERSION='"$(ZEGEL_VERSION)"' -DZEGEL_GIT_REV='"$(GIT_REV)"' $(TC_CPPFLAGS)
CFLAGS_ALL := -std=c11 -g $(OPT) $(WARN) -ffunction-sections -fdata-sections $(TC_CFLAGS) $(EXTRA_CFLAGS)
# MIPS16e: GCC 12's interprocedural register allocation trusts that a local
# callee leaves v1 alone, but the MIPS16 prologue that loads the GOT pointer
# (emitted after register allocation) clobbers it; the caller then loads a
# function address through a stale v1 and jumps into garbage (a commit that
# logged a listener crashed the mipsel image). Off for zegel's code.
CFLAGS_ALL += $(if $(filter y,$(CONFIG_MIPS16)),-fno-ipa-ra)
LDFLAGS_ALL := -Wl,--gc-sections $(if $(filter y,$(CONFIG_STATIC_LINK)),-static) $(TC_LDFLAGS) $(EXTRA_LDFLAGS)
LIBS_ALL := $(TC_LIBS)

ifeq ($(VARIANT),asan)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1
LDFLAGS_ALL += -fsanitize=address,undefined
endif

# ---------------------------------------------------------------- sources
src-y :=
src-main := firmware/app/main.c
include $(sort $(wildcard hal/module.mk signer/module.mk firmware/*/module.mk board/module.mk))
src-y := $(filter-out $(src-main),$(sort $(src-y)))

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))
LIB := $(O)/libzegel.a
ZEGEL := $(O)/zegel

$(O)/obj/%.o: %.c $(AUTOCONF) | $(TC_DEPS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIB): $(call obj,$(src-y))
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(ZEGEL): $(call obj,$(src-main)) $(LIB) $(TC_DEPS)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $(filter-out $(TC_DEPS),$^) $(LDFLAGS_ALL) $(LIBS_ALL)

-include $(patsubst %.o,%.d,$(call obj,$(src-y) $(src-main)))

# The clock's plausibility floor: the time of the last commit, so a build is
# reproducible and a router clock before it is known wrong. Only the binary's
# main() sets it (hal_clock_set_floor); the library keeps hal/clock.c's fixed
# floor, so unit tests replaying recorded DNS sessions stay valid.
BUILD_TIME := $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
$(O)/obj/firmware/app/main.o: CPPFLAGS_ALL += -DZEGEL_BUILD_TIME=$(BUILD_TIME)
ifneq ($(CONFIG_NEEDED),)
# main.o is built again when the value changes (a new commit)
BUILD_TIME_STAMP := $(O)/build-time
$(shell mkdir -p $(O) && { echo $(BUILD_TIME) | cmp -s - $(BUILD_TIME_STAMP) || echo $(BUILD_TIME) >$(BUILD_TIME_STAMP); })
$(O)/obj/firmware/app/main.o: $(BUILD_TIME_STAMP)
# Every object is built again when the toolchain's compiler or flags change
# (a fragment in toolchain/ changed TC_CPPFLAGS): no mix of old and new ABIs.
TC_FLAGS_STAMP := $(O)/tc-flags
$(shell echo '$(CC) $(TC_CPPFLAGS) $(TC_CFLAGS) $(EXTRA_CFLAGS)' | cmp -s - $(TC_FLAGS_STAMP) || \
	echo '$(CC) $(TC_CPPFLAGS) $(TC_CFLAGS) $(EXTRA_CFLAGS)' >$(TC_FLAGS_STAMP))
$(call obj,$(src-y) $(src-main)): $(TC_FLAGS_STAMP)
endif

.PHONY: all
all: $(ZEGEL)

# make toolchain BOARD=<b>: build (or check) the board's toolchain libraries only.
.PHONY: toolchain
toolchain: $(TC_DEPS)
	@echo "  TC      $(TC) ready"

# ---------------------------------------------------------------- unit tests
unit-src := $(sort $(wildcard tests/unit/test_*.c))
unit-bin := $(patsubst tests/unit/%.c,$(O)/tests/%,$(unit-src))
unit-common := $(wildcard tests/unit/common/*.c)
# Shared test objects are built through the pattern rule below; keep them.
.SECONDARY: $(call obj,$(unit-common))

# A cross board's cmocka comes from toolchain/cmocka.inc (TC_TEST_DEPS,
# TC_TEST_CPPFLAGS: a static libcmocka.a built from Debian's source package);
# the host links Debian's libcmocka.
$(call obj,$(unit-common)): CPPFLAGS_ALL += $(TC_TEST_CPPFLAGS)
$(call obj,$(unit-common)): $(TC_FLAGS_STAMP) | $(TC_TEST_DEPS)

$(O)/tests/%: tests/unit/%.c $(call obj,$(unit-common)) $(LIB) | $(TC_TEST_DEPS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(TC_TEST_CPPFLAGS) -Itests/unit $(CFLAGS_ALL) -Wno-unused-parameter -MMD -MP \
		-o $@ $< $(call obj,$(unit-common)) $(LIB) $(LDFLAGS_ALL) $(LIBS_ALL) $(TC_TEST_LIBS)
-include $(patsubst %,%.d,$(unit-bin))

.PHONY: unit-build
unit-build: $(ZEGEL) $(unit-bin)
# cmocka for a cross board comes with its glibc fragment only
ifneq ($(filter unit-build $(O)/tests/%,$(MAKECMDGOALS)),)
ifneq ($(wildcard $(CONFIG)),)
ifneq ($(TC),host)
ifeq ($(TC_TEST_LIBS),)
$(error unit tests for a cross board need its glibc build (cmocka from toolchain/cmocka.inc): make BOARD=$(BOARD) LIBC=glibc unit-build)
endif
endif
endif
endif

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets: tests/fuzz/fuzz_<name>.c, built with clang into build/fuzz.
fuzz-src := $(sort $(wildcard tests/fuzz/fuzz_*.c))
.PHONY: fuzz-build
fuzz-build:
	$(Q)$(MAKE) --no-print-directory BOARD=host VARIANT=fuzz CC=clang \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -Wno-unused-command-line-argument" \
		fuzz-bins

# Every target starts with the board's HAL backends registered, as the unit
# tests do (hal_backends.c runs board_init() before main and saves the crypto
# chain through crypto_count.c).
fuzz-common := tests/unit/common/hal_backends.c tests/unit/common/crypto_count.c
.SECONDARY: $(call obj,$(fuzz-common))
fuzz-bins: $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(fuzz-src))
$(O)/fuzz/%: tests/fuzz/%.c $(call obj,$(fuzz-common)) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(call obj,$(fuzz-common)) $(LIB) $(LIBS_ALL)

# ---------------------------------------------------------------- tests
# make test: install what is missing, build everything, run every suite.
# The last line is the summary "N passed, M failed".
.PHONY: test test-build test-kernels test-quick bootstrap
bootstrap:
	$(Q)scripts/bootstrap.sh all

# The board kernels are most of a fresh machine's build (four kernels, about 25
# minutes of CPU; cached afterwards): they build in the background at the
# lowest priority from the start, on the cycles that test-build (its configure
# scripts and links run on one core) and then the suites leave idle, and
# tests/run.sh waits for them (suite build/kernels) before the suites that boot
# or inspect the images (tests/qemu/). A kernel needs only Debian's cross gcc
# and the board's kernel files, none of test-build's outputs, so the two never
# write the same file; the MT7621 image needs that board's zegel, so the
# background waits for test-build's exit status (TEST_BUILD_RC) before it, and
# stops after the current kernel if test-build failed.
# Log: build/test-logs/kernels.log.
KERNELS_RC := build/test-logs/kernels.rc
TEST_BUILD_RC := build/test-logs/test-build.rc
test: bootstrap
	$(Q)mkdir -p build/test-logs && rm -f $(KERNELS_RC) $(KERNELS_RC).tmp $(TEST_BUILD_RC)
	$(Q)(MAKEFLAGS= nice -n 19 $(MAKE) --no-print-directory -j$(shell nproc) test-kernels \
		WAIT_TEST_BUILD=$(TEST_BUILD_RC) >build/test-logs/kernels.log 2>&1; \
		echo $$? >$(KERNELS_RC).tmp; mv $(KERNELS_RC).tmp $(KERNELS_RC)) & \
	$(MAKE) --no-print-directory -j$(shell nproc) test-build; rc=$$?; \
	echo $$rc >$(TEST_BUILD_RC); [ $$rc -eq 0 ] || exit $$rc; \
	ZEGEL_KERNELS_RC=$(KERNELS_RC) tests/run.sh

test-build:
	$(Q)$(MAKE) --no-print-directory BOARD=host unit-build
	$(Q)$(MAKE) --no-print-directory BOARD=host VARIANT=asan unit-build
	$(Q)$(MAKE) --no-print-directory BOARD=host VARIANT=lwip all
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)for b in $(CROSS_BOARDS); do $(MAKE) --no-print-directory BOARD=$$b all || exit 1; done
	$(Q)for b in $(LWIP_CROSS_BOARDS); do \
		$(MAKE) --no-print-directory BOARD=$$b VARIANT=lwip LIBC=glibc unit-build || exit 1; done

# every board's kernel, and the MT7621 board's flashable image. Under make
# test, WAIT_TEST_BUILD names test-build's exit-status file (above).
test-kernels:
	$(Q)for b in $(IMAGE_BOARDS); do \
		if [ -n "$(WAIT_TEST_BUILD)" ] && [ -f "$(WAIT_TEST_BUILD)" ] && \
			[ "$$(cat $(WAIT_TEST_BUILD))" != 0 ]; then \
			echo "test-kernels: test-build failed, stopping"; exit 1; fi; \
		$(MAKE) --no-print-directory BOARD=$$b kernel || exit 1; done
	$(Q)if [ -n "$(WAIT_TEST_BUILD)" ]; then \
		echo "test-kernels: kernels done, waiting for test-build"; \
		while [ ! -f "$(WAIT_TEST_BUILD)" ]; do sleep 5; done; \
		[ "$$(cat $(WAIT_TEST_BUILD))" = 0 ] || { echo "test-kernels: test-build failed"; exit 1; }; fi
	$(Q)$(MAKE) --no-print-directory BOARD=mt7621-gnubee-gb-pc1 image

test-quick:
	$(Q)$(MAKE) --no-print-directory BOARD=host unit-build
	$(Q)ZEGEL_TEST_QUICK=1 tests/run.sh

# ---------------------------------------------------------------- run
.PHONY: run
run:
	$(Q)scripts/bootstrap.sh core
	$(Q)$(MAKE) --no-print-directory BOARD=host all
	$(Q)scripts/run-demo.sh build/host/zegel

include board/image.mk

# ---------------------------------------------------------------- size, lint
.PHONY: size
# make size: every board with its defconfig's C library.
# make size SIZE_LIBCS="glibc uclibc musl": every cross board with each of these
# C libraries that Kconfig allows for it (build/<board>-<libc>/).
SIZE_FMT := '%-20s %-8s %10s %8s %8s %12s %9s\n'
size:
	$(Q)printf $(SIZE_FMT) board libc text data bss stripped KiB
	$(Q)for b in $(BOARDS); do \
		for l in $(if $(SIZE_LIBCS),$(SIZE_LIBCS),-); do \
		lv=; if [ "$$l" != - ] && [ "$$b" != host ]; then lv="LIBC=$$l"; \
			$(MAKE) -s --no-print-directory BOARD=$$b $$lv print-TC >/dev/null 2>&1 || continue; \
		elif [ "$$l" != - ] && [ "$$l" != glibc ]; then continue; fi; \
		$(MAKE) --no-print-directory BOARD=$$b $$lv all >/dev/null || exit 1; \
		$(MAKE) --no-print-directory BOARD=$$b $$lv size-one || exit 1; done; done
	$(Q)$(MAKE) --no-print-directory image-size

.PHONY: size-one
size-one: $(ZEGEL)
	$(Q)$(STRIP) -o $(ZEGEL).stripped $(ZEGEL)
	$(Q)set -- $$($(SIZE) $(ZEGEL) | tail -1); st=$$(stat -c %s $(ZEGEL).stripped); \
	printf $(SIZE_FMT) $(BOARD) $(patsubst "%",%,$(CONFIG_LIBC_NAME)) $$1 $$2 $$3 $$st \
		$$(awk "BEGIN { printf \"%.1f\", $$st / 1024 }")

.PHONY: lint fmt
lint:
	$(Q)$(MAKE) --no-print-directory BOARD=host $(AUTOCONF) >/dev/null
	$(Q)cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c11 \
		--enable=warning,portability,performance --suppress=missingIncludeSystem \
		-D__GNUC__ -D__CPPCHECK__ -Ibuild/host/include -Ifirmware/include -Ihal/include -Isigner/include \
		-I. hal signer firmware
	@echo "lint: cppcheck clean"
fmt:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

# ---------------------------------------------------------------- clean, help
.PHONY: clean distclean toolchain-clean help
clean:
	rm -rf $(O)
distclean:
	rm -rf build var
toolchain-clean:
	rm -rf build/toolchain

help:
	@echo "zegel $(ZEGEL_VERSION) — DKIM-signing SMTP submission proxy firmware"
	@echo
	@echo "  make run                     build for the host and start the appliance (demo config)"
	@echo "  make test                    install missing Debian packages, build all, run all tests"
	@echo "                               (the board kernels build in the background from the start)"
	@echo "  make test-quick              host unit tests only"
	@echo "  make unit-build [BOARD=<b>]  the cmocka unit tests into build/<b>/tests/; a cross board needs"
	@echo "                               LIBC=glibc (make test: $(LWIP_CROSS_BOARDS) with VARIANT=lwip, under qemu-user)"
	@echo "  make [BOARD=<b>] [V=1]       build build/<b>/zegel"
	@echo "  make <board>_defconfig       configure a board: $(BOARDS)"
	@echo "  make menuconfig              edit the current board's configuration"
	@echo "  make olddefconfig            update .config to the current Kconfig"
	@echo "  make savedefconfig           write the minimal defconfig to build/<b>/defconfig"
	@echo "  make size                    text/data/bss and stripped size for every board, then image-size"
	@echo "  make toolchain [BOARD=<b>]   build the board's uClibc-ng/musl sysroot and libraries"
	@echo "  make ... LIBC=uclibc|musl|glibc|external   another C library (build/<b>-<libc>/)"
	@echo "  make ... VARIANT=lwip        the lwIP network backend (build/<b>-lwip/, hal/lwip/README.md)"
	@echo "  make ... VARIANT=emu         without seccomp/Landlock, for benchmarks under qemu-user (tests/bench/emu.sh)"
	@echo "  make image BOARD=<qemu board> firmware image: our kernel (linux-source-6.1, board/<b>/kernel.config)"
	@echo "                               + initramfs; FIRMWARE_VERSION=... names it (default <version>-<git rev>)"
	@echo "  make image-size              kernel, initramfs and whole image per QEMU board (goal: 4 MiB)"
	@echo "  make qemu BOARD=<qemu board>  boot it: console here, submission on 127.0.0.1:2587"
	@echo "                               TPM=1: with a TPM 2.0 (swtpm; qemu-arm-virt: /dev/tpmrm0)"
	@echo "  make image|qemu BOARD=qemu-arm-virt|qemu-mips-malta VARIANT=lwip LIBC=glibc"
	@echo "                               the lwIP image (build/<b>-lwip-glibc/image/, same kernel): a second"
	@echo "                               NIC, eth1, owned by zegel's lwIP; submission on 127.0.0.1:2588"
	@echo "  make image BOARD=mt7621-gnubee-gb-pc1  U-Boot uImage to flash (board/mt7621-gnubee-gb-pc1/README.md)"
	@echo "  make kernel BOARD=<b>        only the board's kernel (cached in build/<b>/kernel/ by its inputs)"
	@echo "  make lint                    cppcheck the sources"
	@echo "  make fuzz-build              libFuzzer targets into build/host-fuzz/fuzz/"
	@echo "  make bootstrap               install the Debian packages the build and tests need"
	@echo "  make clean | distclean | toolchain-clean"

# make print-VAR: the value of a make variable for the current board (used by tests/run.sh).
print-%:
	@echo $($*)
