/*
 * dns_status_str() (dns.h): built with or without CONFIG_FEATURE_DNSSEC,
 * since the relay's messages name a status either way.
 */
#include "firmware/dns/dns.h"

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_SECURE: return "secure";
	case DNS_INSECURE: return "insecure";
	case DNS_BOGUS: return "bogus";
	case DNS_INDETERMINATE: return "indeterminate";
	}
	return "?";
}
