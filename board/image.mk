# board/image.mk — firmware images for the QEMU boards (included by the Makefile).
#
#   make image BOARD=mt7621-gnubee-gb-pc1
#        build/<board>/image/uImage: a U-Boot uImage of our own kernel with the
#        initramfs built in, to flash (board/<board>/README.md)
#   make image BOARD=qemu-arm-virt|qemu-mips-malta
#        build/<board>/image/{kernel,initramfs.cpio.gz}: Debian's kernel for the
#        machine and an initramfs holding /init (board/common/init.c), zegel
#        and the kernel modules the board needs (board/<board>/modules)
#   make qemu BOARD=...      boot it: serial console on this terminal (Ctrl-A X
#        quits), submission port on 127.0.0.1:2587, persistent disk
#        build/<board>/data.img (created on first use)
#   make image-size          kernel, initramfs and rootfs sizes per QEMU board
#                            (also printed by `make size`)
# qemu-mipsbe-malta has no image: Debian 12 ships no big-endian MIPS kernel.

IMAGE_BOARDS := $(patsubst board/%/image.conf,%,$(wildcard board/*/image.conf))
INIT := $(O)/init

$(INIT): board/common/init.c $(AUTOCONF) | $(TC_DEPS)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) -static

.PHONY: image qemu image-size
IMAGE_UNAVAILABLE := $(if $(wildcard board/$(BOARD)/image.conf),$(shell \
	sed -n 's/^KERNEL_UNAVAILABLE="\(.*\)"$$/\1/p' board/$(BOARD)/image.conf),\
board $(BOARD) has no firmware image (QEMU boards: $(IMAGE_BOARDS)))
IMAGE_FORMAT := $(if $(wildcard board/$(BOARD)/image.conf),$(shell \
	sed -n 's/^IMAGE_FORMAT=//p' board/$(BOARD)/image.conf))
ifneq ($(IMAGE_UNAVAILABLE),)
image qemu:
	@echo "image: $(BOARD): $(IMAGE_UNAVAILABLE)" >&2; exit 2
else ifeq ($(IMAGE_FORMAT),uimage)
# A real board: a U-Boot uImage of our kernel with the initramfs built in
# (scripts/image-uimage.sh); no QEMU machine for it.
image: $(ZEGEL) $(INIT)
	$(Q)scripts/image-uimage.sh $(BOARD) $(O) $(STRIP)

qemu:
	@echo "qemu: $(BOARD): no QEMU machine emulates this board; flash or RAM-boot" \
		"build/$(BOARD)/image/uImage (board/$(BOARD)/README.md)" >&2; exit 2
else
image: $(ZEGEL) $(INIT)
	$(Q)scripts/image-build.sh $(BOARD) $(O) $(STRIP)

qemu: image
	$(Q)scripts/qemu-run.sh $(BOARD)
endif

image-size:
	$(Q)printf '%-20s %10s %12s %12s %10s %10s %10s\n' board kernel initramfs.gz rootfs zegel init modules
	$(Q)for b in $(IMAGE_BOARDS); do \
		if grep -q '^IMAGE_FORMAT=uimage' board/$$b/image.conf; then \
			if $(MAKE) --no-print-directory BOARD=$$b image >/dev/null 2>build/.image-size.err; then \
				r=build/$$b/image/rootfs; \
				printf '%-20s %10s %12s %12s %10s %10s %10s  %s\n' $$b \
					$$(stat -c %s build/$$b/image/uImage) - \
					$$(du -sb --apparent-size $$r | cut -f1) \
					$$(stat -c %s $$r/bin/zegel) $$(stat -c %s $$r/init) 0 \
					"(uImage: kernel + initramfs, LZMA)"; \
			else \
				printf '%-20s %s\n' $$b "no image: $$(tail -1 build/.image-size.err | cut -c1-100)"; \
			fi; \
		elif grep -q '^KERNEL_UNAVAILABLE=' board/$$b/image.conf; then \
			printf '%-20s %s\n' $$b "no image: Debian 12 has no kernel for it (board/$$b/README.md)"; \
		elif $(MAKE) --no-print-directory BOARD=$$b image >/dev/null 2>build/.image-size.err; then \
			r=build/$$b/image/rootfs; \
			printf '%-20s %10s %12s %12s %10s %10s %10s\n' $$b \
				$$(stat -c %s build/$$b/image/kernel) \
				$$(stat -c %s build/$$b/image/initramfs.cpio.gz) \
				$$(du -sb --apparent-size $$r | cut -f1) \
				$$(stat -c %s $$r/bin/zegel) $$(stat -c %s $$r/init) \
				$$(cat $$r/lib/modules/*.ko | wc -c); \
		else \
			printf '%-20s %s\n' $$b "no image: $$(tail -1 build/.image-size.err | cut -c1-100)"; \
		fi; \
	done; rm -f build/.image-size.err
