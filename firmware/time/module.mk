src-y += $(wildcard firmware/time/*.c)
