src-y += $(filter-out firmware/app/main.c,$(wildcard firmware/app/*.c))
