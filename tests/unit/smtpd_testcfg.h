/* The SMTP test environment of tests/vectors/smtp/PROVENANCE, built through
 * the real configuration grammar (firmware/config) with keys generated in
 * dir. Used by test_smtpd_script.c. */
#ifndef TESTS_SMTPD_TESTCFG_H
#define TESTS_SMTPD_TESTCFG_H

#include "zegel/cfg.h"

/* 0 on success; *cfg then points at the running configuration. */
int smtpd_testcfg_build(const struct zcfg **cfg, const char *dir);

#endif
