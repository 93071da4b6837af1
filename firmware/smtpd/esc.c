/* Enhanced status codes table (RFC 3463, RFC 5248). */
#include "firmware/smtpd/esc.h"

static const struct {
	const char *code;
	const char *description;
} esc_table[] = {
	[ESC_OTHER_STATUS] = { "0.0", "Other undefined status" },
	[ESC_OTHER_ADDRESS_STATUS] = { "1.0", "Other address status" },
	[ESC_BAD_DESTINATION_MAILBOX_SYNTAX] = { "1.3", "Bad destination mailbox address syntax" },
	[ESC_DESTINATION_ADDRESS_VALID] = { "1.5", "Destination address valid" },
	[ESC_BAD_SENDER_MAILBOX_SYNTAX] = { "1.7", "Bad sender's mailbox address syntax" },
	[ESC_OTHER_MAIL_SYSTEM_STATUS] = { "3.0", "Other or undefined mail system status" },
	[ESC_MAIL_SYSTEM_FULL] = { "3.1", "Mail system full" },
	[ESC_SYSTEM_NOT_ACCEPTING_MESSAGES] = { "3.2", "System not accepting network messages" },
	[ESC_MESSAGE_TOO_BIG_FOR_SYSTEM] = { "3.4", "Message too big for system" },
	[ESC_OTHER_NETWORK_ROUTING_STATUS] = { "4.0", "Other or undefined network or routing status" },
	[ESC_CONNECTION_DROPPED] = { "4.2", "Bad connection" },
	[ESC_INVALID_COMMAND] = { "5.1", "Invalid command" },
	[ESC_SYNTAX_ERROR] = { "5.2", "Syntax error" },
	[ESC_TOO_MANY_RECIPIENTS] = { "5.3", "Too many recipients" },
	[ESC_INVALID_COMMAND_ARGUMENTS] = { "5.4", "Invalid command arguments" },
	[ESC_OTHER_MEDIA_ERROR] = { "6.0", "Other or undefined media error" },
	[ESC_OTHER_SECURITY_STATUS] = { "7.0", "Other or undefined security status" },
	[ESC_DELIVERY_NOT_AUTHORIZED] = { "7.1", "Delivery not authorized, message refused" },
	[ESC_AUTH_CREDENTIALS_INVALID] = { "7.8", "Authentication credentials invalid" },
	[ESC_ENCRYPTION_REQUIRED] = { "7.11", "Encryption required for requested authentication mechanism" },
	[ESC_ENCRYPTION_NEEDED] = { "7.10", "Encryption Needed" },
	[ESC_NONE] = { "", "" },
};

const char *
esc_code(enum esc_code e)
{
	if ((unsigned)e >= sizeof(esc_table) / sizeof(esc_table[0]))
		return "0.0";
	return esc_table[e].code;
}

const char *
esc_description(enum esc_code e)
{
	if ((unsigned)e >= sizeof(esc_table) / sizeof(esc_table[0]))
		return "Other undefined status";
	return esc_table[e].description;
}
