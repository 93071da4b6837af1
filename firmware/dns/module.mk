# DNSSEC-validating stub resolver (see firmware/dns/dns.h). The event-loop
# driver (resolver.c, stubs without the feature) and the status names are
# built either way: the relay and the tools link against them.
dns-always := firmware/dns/resolver.c firmware/dns/status.c
src-y += $(dns-always)
src-$(CONFIG_FEATURE_DNSSEC) += $(filter-out $(dns-always),$(wildcard firmware/dns/*.c))
