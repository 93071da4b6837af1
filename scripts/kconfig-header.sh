#!/bin/sh
# Turn a Kconfig .config into the one generated C header all code includes
# (through firmware/include/zegel/config.h). Written with awk so the build
# needs nothing of kconfig-frontends but kconfig-conf itself.
#   scripts/kconfig-header.sh .config > autoconf.h
set -e
awk '
BEGIN { print "/* Generated from .config by scripts/kconfig-header.sh; do not edit. */";
        print "#ifndef ZEGEL_AUTOCONF_H"; print "#define ZEGEL_AUTOCONF_H" }
/^CONFIG_[A-Za-z0-9_]+=/ {
	i = index($0, "="); k = substr($0, 1, i - 1); v = substr($0, i + 1)
	if (v == "y") print "#define " k " 1"
	else if (v == "n") next
	else print "#define " k " " v
}
END { print "#endif" }' "$1"
