/* zegel dnsrecord: not built yet (the DKIM signer issue). */
#include <stdio.h>

#include "firmware/core/commands.h"

int
cmd_dnsrecord(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel dnsrecord: not implemented in this build yet\n");
	return 2;
}
