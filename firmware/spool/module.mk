src-y += $(wildcard firmware/spool/*.c)
