/* zegel version: versions (zegel, firmware image, kernel), board, libc, backends and the features built in. */
#include <stdio.h>

#include "firmware/app/commands.h"
#include "hal/crypto.h"
#include "hal/net.h"
#include "zegel/board.h"
#include "zegel/config.h"

static const struct {
	const char *name;
	int on;
} features[] = {
	{ "smtpd", IS_ENABLED(CONFIG_FEATURE_SMTPD) },
	{ "tls", IS_ENABLED(CONFIG_FEATURE_TLS) },
	{ "relay-smarthost", IS_ENABLED(CONFIG_FEATURE_RELAY_SMARTHOST) },
	{ "relay-direct", IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT) },
	{ "dnssec", IS_ENABLED(CONFIG_FEATURE_DNSSEC) },
	{ "console-editing", IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING) },
};

int
cmd_version(int argc, char **argv)
{
	(void)argc;
	char fw[128], kern[256];

	(void)argv;
	board_versions(fw, sizeof(fw), kern, sizeof(kern));
	printf("zegel %s (%s)\n", ZEGEL_VERSION, ZEGEL_GIT_REV);
	printf("firmware: %s\n", fw);
	printf("kernel: %s\n", kern);
	printf("board: %s (%s, %s)\n", board.name, CONFIG_ARCH_NAME, CONFIG_LIBC_NAME);
	printf("crypto: %s\n", hal_crypto()->name);
	printf("net: %s\n", hal_net() ? hal_net_name() : "none");
	printf("features:");
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (features[i].on)
			printf(" %s", features[i].name);
	printf("\n");
	return 0;
}
