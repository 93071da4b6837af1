src-y += $(wildcard firmware/console/*.c)
