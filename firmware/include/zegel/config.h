/*
 * zegel/config.h — the build configuration.
 *
 * Kconfig writes CONFIG_* into one generated header (build/<board>/include/
 * generated/autoconf.h); this wrapper adds IS_ENABLED() so code can write
 * `if (IS_ENABLED(CONFIG_FEATURE_TLS))` and still have both branches compiled.
 */
#ifndef ZEGEL_CONFIG_H
#define ZEGEL_CONFIG_H

#include "generated/autoconf.h"

#define ZEGEL__ARG_PLACEHOLDER_1 0,
#define ZEGEL__TAKE_SECOND(ignored, val, ...) val
#define ZEGEL__IS_ENABLED3(arg1_or_junk) ZEGEL__TAKE_SECOND(arg1_or_junk 1, 0, 0)
#define ZEGEL__IS_ENABLED2(val) ZEGEL__IS_ENABLED3(ZEGEL__ARG_PLACEHOLDER_##val)
/* 1 if the bool option is set, else 0; usable in #if and in C. */
#ifdef __CPPCHECK__
/* cppcheck cannot expand the placeholder trick: analyse with everything on. */
#define IS_ENABLED(option) 1
#else
#define IS_ENABLED(option) ZEGEL__IS_ENABLED2(option)
#endif

#endif
