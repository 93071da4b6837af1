#!/usr/bin/env python3
"""Write a Linux initramfs (cpio "newc", gzip) from a directory, reproducibly.

    image-cpio.py ROOTDIR OUT.cpio.gz [--node PATH:c|b:MAJOR:MINOR:MODE]...

Every entry is owned by root with mtime 0 and sorted by name, so the same tree
gives the same bytes. Device nodes (/dev/console, which the kernel opens for
init before devtmpfs is mounted) are written from --node without needing
mknod or root on the build host. Format: the kernel's
Documentation/driver-api/early-userspace/buffer-format.rst.
"""
import gzip
import os
import stat
import sys


def header(ino, mode, nlink, size, rmaj, rmin, name):
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin, len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad4(n):
    return b"\0" * ((4 - n % 4) % 4)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    root, out = argv[1], argv[2]
    nodes = []
    args = argv[3:]
    while args:
        if args[0] != "--node" or len(args) < 2:
            sys.stderr.write("image-cpio: bad argument %r\n" % args[0])
            return 2
        path, kind, major, minor, mode = args[1].split(":")
        nodes.append((path.strip("/"), kind, int(major), int(minor), int(mode, 8)))
        args = args[2:]

    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        for n in [None] + sorted(filenames) + dirnames:
            if n is None:
                if rel != ".":
                    entries.append(rel)
            elif n not in dirnames:
                entries.append(os.path.normpath(os.path.join(rel, n)))
    entries = sorted(set(entries))

    buf = bytearray()
    ino = 1
    for rel in entries:
        full = os.path.join(root, rel)
        st = os.lstat(full)
        name = rel.encode()
        if stat.S_ISDIR(st.st_mode):
            mode, data, nlink = stat.S_IFDIR | (st.st_mode & 0o7777), b"", 2
        elif stat.S_ISLNK(st.st_mode):
            mode, data, nlink = stat.S_IFLNK | 0o777, os.readlink(full).encode(), 1
        elif stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                data = f.read()
            mode, nlink = stat.S_IFREG | (st.st_mode & 0o7777), 1
        else:
            sys.stderr.write("image-cpio: %s: not a file, directory or link\n" % full)
            return 1
        buf += header(ino, mode, nlink, len(data), 0, 0, name) + name + b"\0"
        buf += pad4(110 + len(name) + 1) + data + pad4(len(data))
        ino += 1
    for path, kind, major, minor, perm in nodes:
        name = path.encode()
        mode = (stat.S_IFCHR if kind == "c" else stat.S_IFBLK) | perm
        buf += header(ino, mode, 1, 0, major, minor, name) + name + b"\0"
        buf += pad4(110 + len(name) + 1)
        ino += 1
    name = b"TRAILER!!!"
    buf += header(0, 0, 1, 0, 0, 0, name) + name + b"\0" + pad4(110 + len(name) + 1)

    tmp = out + ".tmp"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as z:
            z.write(bytes(buf))
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
