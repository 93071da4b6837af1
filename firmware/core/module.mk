src-y += $(wildcard firmware/core/*.c)
