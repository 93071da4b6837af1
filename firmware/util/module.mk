src-y += firmware/util/text.c
