src-y += board/$(BOARD)/board.c
