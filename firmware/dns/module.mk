# DNSSEC-validating stub resolver (see firmware/dns/dns.h).
src-$(CONFIG_FEATURE_DNSSEC) += $(wildcard firmware/dns/*.c)
