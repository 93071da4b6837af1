#!/usr/bin/env bash
# Create the persistent data disk of a QEMU board: an ext4 file system (with a
# journal, so a power cut during `save` leaves the old or the new file, and a
# consistent file system) mounted on /data by the image's /init.
#
#   scripts/image-disk.sh FILE [SIZE_MB [SEED_DIR]]
#     SIZE_MB   default 16
#     SEED_DIR  a directory copied into the file system (e.g. keys/), owned by root
set -euo pipefail
file=${1:?usage: image-disk.sh FILE [SIZE_MB [SEED_DIR]]}
size=${2:-16}
seed=${3:-}
command -v mke2fs >/dev/null || PATH=$PATH:/sbin:/usr/sbin
mkdir -p "$(dirname "$file")"
rm -f "$file.tmp"
truncate -s "${size}M" "$file.tmp"
opts=(-q -F -t ext4 -L zegel-data -E root_owner=0:0)
[ -z "$seed" ] || opts+=(-d "$seed")
mke2fs "${opts[@]}" "$file.tmp"
mv "$file.tmp" "$file"
echo "  DISK    $file (ext4, ${size} MiB${seed:+, from $seed})" >&2
