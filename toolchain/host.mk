# Host build (x86-64, Debian's gcc and libraries). Dynamic, so ASan works.
CC := $(if $(filter default undefined,$(origin CC)),gcc,$(CC))
AR := ar
STRIP := strip
SIZE := size
TC_CFLAGS :=
TC_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto -lsodium
TC_TEST_LIBS := -lcmocka
QEMU_USER :=
