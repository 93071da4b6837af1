src-y += $(wildcard firmware/syslog/*.c)
