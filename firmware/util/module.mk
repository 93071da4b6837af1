src-y += firmware/util/text.c
src-y += firmware/util/words.c
src-y += firmware/util/gzip.c
