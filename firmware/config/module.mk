src-y += $(wildcard firmware/config/*.c)
