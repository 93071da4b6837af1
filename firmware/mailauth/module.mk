# Mail authentication records (see firmware/mailauth/README.md): RFC 7208
# SPF check_host() and RFC 7489 DMARC records, pure step machines fed with
# validated DNS answers (firmware/dns/dns.h), like firmware/relay/mxplan.c.
src-$(CONFIG_FEATURE_DNSSEC) += $(wildcard firmware/mailauth/*.c)
