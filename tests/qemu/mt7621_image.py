#!/usr/bin/env python3
"""Checks of the flashable uImage of a U-Boot board (tests/qemu/mt7621_image.sh).

    mt7621_image.py UIMAGE KOBJ DTB NM_OUT ROOTFS KCONFIG FW_OFFSET FW_SIZE
                    COMPATIBLE WORKDIR

Prints one line per check, "PASS what" or "FAIL what: detail"; the shell turns
them into TAP. Everything is read from the files themselves: the U-Boot legacy
header (include/image.h of U-Boot: 64 bytes, big endian, two CRC-32s), the
LZMA payload (decompressed here), the kernel build tree KOBJ (its vmlinux, its
vmlinux.bin, its own uImage.lzma, its dtc), the symbols of that vmlinux
(NM_OUT: `nm` output) for where the device tree and the initramfs go, the
device tree DTB the kernel built, and the kernel's .config (the mtdparts= of
its built-in command line).
"""
import lzma
import os
import re
import struct
import subprocess
import sys
import zlib

IH_MAGIC = 0x27051956
IH_OS_LINUX, IH_ARCH_MIPS, IH_TYPE_KERNEL, IH_COMP_LZMA = 5, 5, 2, 3

def check(ok, what, detail=""):
    print(("PASS %s" % what) if ok else ("FAIL %s: %s" % (what, detail)), flush=True)
    return bool(ok)


def readelf(path, *args):
    return subprocess.run(["mipsel-linux-gnu-readelf", *args, path], capture_output=True,
                          text=True, check=True).stdout


def elf_facts(path):
    h = readelf(path, "-hW")
    lw = readelf(path, "-lW")
    field = lambda name: re.search(r"^\s*%s:\s*(.*)$" % name, h, re.M).group(1).strip()
    return {
        "class": field("Class"), "data": field("Data"), "machine": field("Machine"),
        "flags": field("Flags"), "type": field("Type"),
        "entry": int(field("Entry point address"), 16),
        "interp": "INTERP" in lw,
        "load": int(re.search(r"^\s*LOAD\s+\S+\s+(0x[0-9a-f]+)", lw, re.M).group(1), 16),
    }


def cpio_entries(buf):
    """newc entries of a cpio archive: name -> (mode, rdevmajor, rdevminor, data)."""
    out, pos = {}, 0
    while pos + 110 <= len(buf):
        if buf[pos:pos + 6] != b"070701":
            raise ValueError("no newc magic at %d" % pos)
        f = [int(buf[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rmaj, rmin, namesize = f[1], f[6], f[9], f[10], f[11]
        name = buf[pos + 110:pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        data = bytes(buf[pos:pos + size])
        pos = (pos + size + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, rmaj, rmin, data)
    raise ValueError("no TRAILER!!!")


def mtdparts(cmdline):
    """mtdparts=<dev>:<size>[@off](name)[ro],... -> [(name, offset, size)] (size None: rest)."""
    m = re.search(r"mtdparts=[^:]+:(\S+)", cmdline)
    parts, off = [], 0
    for p in m.group(1).split(","):
        pm = re.fullmatch(r"(-|\d+[kKmM]?)(?:@(\d+[kKmM]?))?\((\w[\w-]*)\)(ro)?", p)
        if not pm:
            raise ValueError("bad mtdparts entry %r" % p)

        def num(s):
            mul = {"k": 1024, "m": 1024 * 1024}.get(s[-1].lower(), 1)
            return int(s.rstrip("kKmM")) * mul
        if pm.group(2):
            off = num(pm.group(2))
        size = None if pm.group(1) == "-" else num(pm.group(1))
        parts.append((pm.group(3), off, size))
        if size is not None:
            off += size
    return parts


def dts_partitions(dts):
    """(label, offset, size) of every partition node of the decompiled tree."""
    return [(m.group(2), int(m.group(3), 16), int(m.group(4), 16)) for m in re.finditer(
        r"partition@([0-9a-f]+) \{[^}]*?label = \"([^\"]+)\";[^}]*?reg = <(0x[0-9a-f]+) (0x[0-9a-f]+)>;",
        dts)]


def main(argv):
    (uimage, kobj, dtb_file, nm_out, rootfs, kconfig, fw_off, fw_size, compat,
     work) = argv[1:11]
    vmlinux = os.path.join(kobj, "vmlinux")
    vmlinux_bin = os.path.join(kobj, "arch/mips/boot/vmlinux.bin")
    kernel_uimage = os.path.join(kobj, "arch/mips/boot/uImage.lzma")
    dtc = os.path.join(kobj, "scripts/dtc/dtc")
    fw_off, fw_size = int(fw_off, 0), int(fw_size, 0)
    img = open(uimage, "rb").read()
    syms = {}
    for line in open(nm_out):
        p = line.split()
        if len(p) == 3:
            syms[p[2]] = int(p[0], 16) & 0xFFFFFFFF  # nm prints KSEG0 sign-extended

    # ---- the U-Boot legacy header
    (magic, hcrc, _time, size, load, ep, dcrc, os_, arch, typ, comp,
     name) = struct.unpack(">IIIIIIIBBBB32s", img[:64])
    check(magic == IH_MAGIC, "uImage magic 0x27051956", "got 0x%08x" % magic)
    check(zlib.crc32(img[:4] + b"\0\0\0\0" + img[8:64]) == hcrc, "uImage header CRC-32 valid")
    check(len(img) == 64 + size, "uImage data size %d = file size - 64" % size,
          "file %d bytes" % len(img))
    check(zlib.crc32(img[64:64 + size]) == dcrc, "uImage data CRC-32 valid (0x%08x)" % dcrc)
    check(os_ == IH_OS_LINUX and arch == IH_ARCH_MIPS and typ == IH_TYPE_KERNEL,
          "uImage header: OS Linux, architecture MIPS, type kernel", "os %d arch %d type %d" % (
              os_, arch, typ))
    check(comp == IH_COMP_LZMA, "uImage compression LZMA", "comp %d" % comp)
    elf = elf_facts(vmlinux)
    check(load == elf["load"], "load address 0x%08x = vmlinux's first LOAD segment" % load,
          "vmlinux 0x%08x" % elf["load"])
    check(ep == elf["entry"], "entry point 0x%08x = vmlinux's ELF entry" % ep,
          "vmlinux 0x%08x" % elf["entry"])
    check(name.rstrip(b"\0").startswith(b"Linux-6.1"), "image name %r" % name.rstrip(b"\0").decode())
    k = open(kernel_uimage, "rb").read(64)
    kload, kep, kname = struct.unpack(">16xII8x32s", k)
    check((kload, kep, kname) == (load, ep, name),
          "name, load address, entry point = those of the kernel's own `make uImage.lzma`",
          "kernel's: %r 0x%08x 0x%08x" % (kname, kload, kep))

    # ---- the payload: the kernel's vmlinux.bin with the board's DTB appended (LZMA)
    d = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    raw = d.decompress(img[64:64 + size])
    check(d.eof and not d.unused_data, "LZMA payload decompresses to %d bytes" % len(raw),
          "eof %s, %d bytes after the stream" % (d.eof, len(d.unused_data)))
    vbin = open(vmlinux_bin, "rb").read()
    check(raw[:len(vbin)] == vbin,
          "payload starts with the vmlinux.bin of this kernel build (%d bytes)" % len(vbin))
    check(load + len(raw) <= 0x80A00000,
          "decompressed kernel ends at 0x%08x, below 0x80a00000 (10 MiB; the image is loaded "
          "higher, README.md)" % (load + len(raw)))

    # ---- the device tree, where the kernel looks for it (MIPS_RAW_APPENDED_DTB)
    cfg = open(kconfig).read()
    check(re.search(r"^CONFIG_MIPS_RAW_APPENDED_DTB=y", cfg, re.M),
          "kernel looks for an appended DTB (MIPS_RAW_APPENDED_DTB)")
    off = syms["__appended_dtb"] - load
    check(off == len(vbin), "__appended_dtb is the end of vmlinux.bin (offset 0x%x)" % off,
          "vmlinux.bin is 0x%x bytes" % len(vbin))
    fdt_magic, fdt_size = struct.unpack(">II", raw[off:off + 8].ljust(8, b"\0"))
    check(fdt_magic == 0xD00DFEED, "a device tree at __appended_dtb", "magic 0x%08x" % fdt_magic)
    dtb_bytes = open(dtb_file, "rb").read()
    check(raw[off:off + fdt_size] == dtb_bytes and len(raw) == off + fdt_size,
          "it is the kernel's build of %s (%d bytes), the end of the payload" % (
              os.path.basename(dtb_file), len(dtb_bytes)))
    dtb = os.path.join(work, "board.dtb")
    with open(dtb, "wb") as f:
        f.write(raw[off:off + fdt_size])
    dts = subprocess.run([dtc, "-q", "-I", "dtb", "-O", "dts", dtb], capture_output=True,
                         text=True).stdout
    root_compat = re.search(r"^\tcompatible = ([^;]*);", dts, re.M)
    # dtc prints a string list as "a", "b" or as "a\0b"
    compats = re.split(r'"\s*,\s*"|\\0', root_compat.group(1).strip().strip('"')) \
        if root_compat else []
    check(compats[:1] == [compat] and "mediatek,mt7621-soc" in compats,
          "its root compatible is %s, mediatek,mt7621-soc" % compat, repr(compats))
    check(re.search(r'compatible = "ns16550a"', dts) and
          re.search(r'compatible = "mediatek,mt7621-eth"', dts) and
          re.search(r'compatible = "mediatek,mt7621"', dts) and
          re.search(r'compatible = "jedec,spi-nor"', dts),
          "it has the UART, the frame engine, the MT7530 switch and the SPI NOR")

    # ---- flash layout: the DTS's partitions and the kernel's mtdparts=
    dparts = dts_partitions(dts)
    dfw = [p for p in dparts if p[0] == "firmware"]
    check(len(dfw) == 1, "the DTS has a firmware partition", repr(dparts))
    cmdline = re.search(r'^CONFIG_CMDLINE="(.*)"$', cfg, re.M).group(1)
    cparts = mtdparts(cmdline)
    if dfw:
        d_off, d_size = dfw[0][1], dfw[0][2]
        check(all(p in [(n, o, s) for n, o, s in cparts] for p in dparts if p[0] != "firmware"),
              "mtdparts= keeps the DTS's u-boot, u-boot-env, factory partitions",
              "%r vs %r" % (dparts, cparts))
        cfw = [p for p in cparts if p[0] == "firmware"]
        cdata = [p for p in cparts if p[0] == "data"]
        check(cfw and cfw[0][1] == d_off == fw_off and cfw[0][2] == fw_size,
              "firmware partition at 0x%x, 0x%x bytes (the DTS's firmware at 0x%x, 0x%x bytes, "
              "split with /data)" % (fw_off, fw_size, d_off, d_size), repr(cfw))
        check(cdata and cdata[0][1] == fw_off + fw_size and cdata[0][2] is None and
              fw_off + fw_size < d_off + d_size,
              "data partition from 0x%x to the end of the flash (0x%x, %d KiB)" % (
                  fw_off + fw_size, d_off + d_size, (d_off + d_size - fw_off - fw_size) // 1024),
              repr(cdata))
    check(len(img) <= fw_size, "image (%d bytes) fits the firmware partition (%d bytes)" % (
        len(img), fw_size))
    check(len(img) <= 4 * 1024 * 1024, "image (%.2f MiB) within the 4 MiB goal" % (
        len(img) / 1048576.0))
    check(not re.search(r"^CONFIG_MODULES=y", cfg, re.M), "kernel without modules")

    # ---- the initramfs built into the kernel
    ioff = syms["__initramfs_start"] - load
    isize = struct.unpack("<I", raw[syms["__initramfs_size"] - load:][:4])[0]
    try:
        ents = cpio_entries(raw[ioff:ioff + isize])
    except (ValueError, IndexError) as e:
        ents = {}
        check(False, "an uncompressed newc cpio at __initramfs_start", str(e))
    else:
        check(True, "an uncompressed newc cpio at __initramfs_start (%d bytes)" % isize)
    con = ents.get("dev/console")
    check(con and (con[0] & 0o170000) == 0o020000 and con[1:3] == (5, 1),
          "initramfs: /dev/console, character device 5:1")
    fv = ents.get("etc/firmware-version")
    want = open(os.path.join(rootfs, "etc/firmware-version"), "rb").read()
    check(fv and fv[3] == want and want.strip(),
          "initramfs: /etc/firmware-version says %s" % want.decode().strip())
    for path in ("init", "bin/zegel"):
        e = ents.get(path)
        if not check(e and (e[0] & 0o170000) == 0o100000 and e[0] & 0o111,
                     "initramfs: /%s, an executable regular file" % path):
            continue
        f = os.path.join(work, path.replace("/", "_"))
        with open(f, "wb") as out:
            out.write(e[3])
        check(e[3] == open(os.path.join(rootfs, path), "rb").read(),
              "initramfs: /%s is the stripped build output (%d bytes)" % (path, len(e[3])))
        info = elf_facts(f)
        ftype = subprocess.run(["file", "-b", f], capture_output=True, text=True).stdout.strip()
        check(info["class"] == "ELF32" and "little endian" in info["data"] and
              info["machine"] == "MIPS R3000" and info["type"].startswith("EXEC"),
              "/%s: ELF32, little endian, MIPS, executable" % path,
              "%s / %s / %s / %s" % (info["class"], info["data"], info["machine"], info["type"]))
        check("mips32r2" in info["flags"] and "o32" in info["flags"],
              "/%s: MIPS32r2 o32 (the 1004Kc's ISA)" % path, info["flags"])
        check(not info["interp"] and "statically linked" in ftype,
              "/%s: statically linked, no program interpreter" % path, ftype)

    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
