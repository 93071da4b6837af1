# board/image.mk — firmware images for the QEMU boards (included by the Makefile).
#
#   make image BOARD=qemu-arm-virt|qemu-mips-malta|qemu-mipsbe-malta
#        build/<board>/image/{kernel,initramfs.cpio.gz}: our own kernel
#        (toolchain/build-kernel.sh: Debian's linux-source-6.1 with
#        board/<board>/kernel.config on top of tinyconfig, everything built in;
#        cached in build/<board>/kernel/ by the hash of its inputs) and an
#        initramfs holding /init (board/common/init.c), zegel and
#        /etc/firmware-version (FIRMWARE_VERSION, default <version>-<git rev>)
#   make image BOARD=mt7621-gnubee-gb-pc1
#        build/<board>/image/uImage: a U-Boot uImage of our own kernel with the
#        initramfs and the board's device tree in it, to flash (IMAGE_FORMAT=uimage
#        in image.conf; scripts/image-uimage.sh; board/<board>/README.md)
#   make kernel BOARD=...    only the kernel (build/<board>/kernel/kernel;
#                            make test builds them in test-build)
#   make qemu BOARD=...      boot it: serial console on this terminal (Ctrl-A X
#        quits), submission port on 127.0.0.1:2587, persistent disk
#        build/<board>/data.img (created on first use)
#   make image|qemu BOARD=qemu-arm-virt|qemu-mips-malta VARIANT=lwip LIBC=glibc
#        the lwIP build's image in build/<board>-lwip-glibc/image/ (the same
#        cached kernel); `make qemu` gives it a second NIC, eth1, that zegel's
#        lwIP owns at 10.0.2.16 (127.0.0.1:2588 -> its port 587;
#        hal/lwip/README.md)
#   make image-size          kernel, initramfs and whole image per QEMU board,
#                            against the 4 MiB goal (also printed by `make size`)

IMAGE_BOARDS := $(patsubst board/%/image.conf,%,$(wildcard board/*/image.conf))
IMAGE_GOAL := 4194304
FIRMWARE_VERSION ?= $(ZEGEL_VERSION)-$(GIT_REV)
INIT := $(O)/init

$(INIT): board/common/init.c $(AUTOCONF) | $(TC_DEPS)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) -static

.PHONY: image qemu image-size kernel
IMAGE_FORMAT := $(if $(wildcard board/$(BOARD)/image.conf),$(shell \
	sed -n 's/^IMAGE_FORMAT=//p' board/$(BOARD)/image.conf))
ifeq ($(wildcard board/$(BOARD)/image.conf),)
image qemu:
	@echo "image: board $(BOARD) has no firmware image (QEMU boards: $(IMAGE_BOARDS))" >&2; exit 2
else ifeq ($(IMAGE_FORMAT),uimage)
# A real board: a U-Boot uImage of our kernel with the initramfs built in
# (scripts/image-uimage.sh); no QEMU machine for it.
image: $(ZEGEL) $(INIT)
	$(Q)scripts/image-uimage.sh $(BOARD) $(O) $(STRIP) '$(FIRMWARE_VERSION)'

qemu:
	@echo "qemu: $(BOARD): no QEMU machine emulates this board; flash or RAM-boot" \
		"build/$(BOARD)/image/uImage (board/$(BOARD)/README.md)" >&2; exit 2
else
ifeq ($(VARIANT),lwip)
# The lwIP build's image (LIBC=glibc: lwIP's unix port needs threads) takes
# /init from the board's own build, with the board's C library: init needs
# neither lwIP nor threads, and static glibc made it ten times larger
# (hal/lwip/README.md, sizes). The sub-make decides whether it is up to date.
IMAGE_INIT := build/$(BOARD)/init
.PHONY: $(IMAGE_INIT)
$(IMAGE_INIT):
	$(Q)$(MAKE) -s --no-print-directory BOARD=$(BOARD) VARIANT= LIBC= $@
else
IMAGE_INIT := $(INIT)
endif
image: $(ZEGEL) $(IMAGE_INIT)
	$(Q)scripts/image-build.sh $(BOARD) $(O) $(STRIP) '$(FIRMWARE_VERSION)' $(IMAGE_INIT)

# the image and disk of this build (O: build/<board>[-lwip][-<libc>]); the lwIP
# build's image gets its second NIC (qemu-run.sh --lwip)
qemu: image
	$(Q)scripts/qemu-run.sh $(BOARD) --image $(O)/image --disk $(O)/data.img \
		$(if $(filter 1,$(TPM)),--tpm) $(if $(filter lwip,$(VARIANT)),--lwip)
endif

kernel:
	$(Q)toolchain/build-kernel.sh $(BOARD) build/$(BOARD)/kernel

# whole = the two files the boot loader (QEMU's -kernel/-initrd) loads
image-size:
	$(Q)printf '%-20s %10s %12s %10s %10s %10s  %s\n' board kernel initramfs.gz whole zegel init "≤ 4 MiB"
	$(Q)for b in $(IMAGE_BOARDS); do \
		if grep -q '^IMAGE_FORMAT=uimage' board/$$b/image.conf && \
			$(MAKE) --no-print-directory BOARD=$$b image >/dev/null 2>build/.image-size.err; then \
			i=build/$$b/image r=build/$$b/image/rootfs; \
			k=$$(stat -c %s $$i/uImage) n=0; \
			printf '%-20s %10s %12s %10s %10s %10s  %s\n' $$b $$k "(in kernel)" $$k \
				$$(stat -c %s $$r/bin/zegel) $$(stat -c %s $$r/init) \
				$$(if [ $$k -le $(IMAGE_GOAL) ]; then echo yes; \
				else echo "NO (over by $$((k - $(IMAGE_GOAL))) bytes)"; fi); \
		elif ! grep -q '^IMAGE_FORMAT=uimage' board/$$b/image.conf && \
			$(MAKE) --no-print-directory BOARD=$$b image >/dev/null 2>build/.image-size.err; then \
			i=build/$$b/image r=build/$$b/image/rootfs; \
			k=$$(stat -c %s $$i/kernel) n=$$(stat -c %s $$i/initramfs.cpio.gz); \
			printf '%-20s %10s %12s %10s %10s %10s  %s\n' $$b $$k $$n $$((k + n)) \
				$$(stat -c %s $$r/bin/zegel) $$(stat -c %s $$r/init) \
				$$(if [ $$((k + n)) -le $(IMAGE_GOAL) ]; then echo yes; \
				else echo "NO (over by $$((k + n - $(IMAGE_GOAL))) bytes)"; fi); \
		else \
			printf '%-20s %s\n' $$b "no image: $$(tail -1 build/.image-size.err | cut -c1-100)"; \
		fi; \
	done; rm -f build/.image-size.err
