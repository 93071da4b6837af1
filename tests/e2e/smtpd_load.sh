#!/usr/bin/env bash
# The load proof of issue 4 as a test: Postfix's smtp-source sends 1,000
# messages over 32 sessions; all land exactly once and verify (dkimpy).
# Peak RSS is printed by the benchmark (tests/bench/smtp-load.sh), not asserted.
exec "$TOP/tests/bench/smtp-load.sh" "${SMTPD_LOAD_MESSAGES:-1000}" "${SMTPD_LOAD_SESSIONS:-32}"
