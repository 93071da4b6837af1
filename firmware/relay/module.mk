src-y += $(wildcard firmware/relay/*.c)
