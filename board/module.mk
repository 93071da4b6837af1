# board/<name>/board.c when the board has one, else the default
# board/common/board.c (board/common/init.c is the images' PID 1, built by
# board/image.mk, not part of zegel).
src-y += $(firstword $(wildcard board/$(BOARD)/board.c) board/common/board.c)
