src-$(CONFIG_FEATURE_TLS) += $(wildcard firmware/tls/*.c)
