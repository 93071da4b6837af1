/*
 * Built-in root trust anchors: the DS records of KSK-2017 and KSK-2024 as
 * IANA publishes them in https://data.iana.org/root-anchors/root-anchors.xml.
 * `zegel resolve --anchor FILE` (dns_ctx_set_anchors) replaces them.
 */
#include "firmware/dns/dns.h"

const char dns_root_anchors_text[] =
    ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
    ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n";
