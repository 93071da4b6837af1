src-$(CONFIG_FEATURE_SMTPD) += $(wildcard firmware/smtpd/*.c)
