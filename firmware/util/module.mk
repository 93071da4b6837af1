src-y += firmware/util/text.c
src-y += firmware/util/words.c
