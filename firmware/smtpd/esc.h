/*
 * firmware/smtpd/esc.h — enhanced mail system status codes (RFC 3463,
 * registry RFC 5248), in the shape of OpenSMTPD's esc.c: replies name an
 * enum, the table gives "class.subject.detail" minus the class digit (the
 * class comes from the reply code) and a description.
 */
#ifndef ZEGEL_SMTPD_ESC_H
#define ZEGEL_SMTPD_ESC_H

enum esc_code {
	ESC_OTHER_STATUS = 0,               /* x.0.0 */
	ESC_OTHER_ADDRESS_STATUS,           /* x.1.0 */
	ESC_BAD_DESTINATION_MAILBOX_SYNTAX, /* x.1.3 */
	ESC_DESTINATION_ADDRESS_VALID,      /* x.1.5 */
	ESC_BAD_SENDER_MAILBOX_SYNTAX,      /* x.1.7 */
	ESC_OTHER_MAIL_SYSTEM_STATUS,       /* x.3.0 */
	ESC_MAIL_SYSTEM_FULL,               /* x.3.1 */
	ESC_SYSTEM_NOT_ACCEPTING_MESSAGES,  /* x.3.2 */
	ESC_MESSAGE_TOO_BIG_FOR_SYSTEM,     /* x.3.4 */
	ESC_OTHER_NETWORK_ROUTING_STATUS,   /* x.4.0 */
	ESC_CONNECTION_DROPPED,             /* x.4.2 */
	ESC_INVALID_COMMAND,                /* x.5.1 */
	ESC_SYNTAX_ERROR,                   /* x.5.2 */
	ESC_TOO_MANY_RECIPIENTS,            /* x.5.3 */
	ESC_INVALID_COMMAND_ARGUMENTS,      /* x.5.4 */
	ESC_OTHER_MEDIA_ERROR,              /* x.6.0 */
	ESC_OTHER_SECURITY_STATUS,          /* x.7.0 */
	ESC_DELIVERY_NOT_AUTHORIZED,        /* x.7.1 */
	ESC_AUTH_CREDENTIALS_INVALID,       /* x.7.8 */
	ESC_ENCRYPTION_REQUIRED,            /* x.7.11 */
	ESC_ENCRYPTION_NEEDED,              /* x.7.10 (RFC 5248; REQUIRETLS without TLS) */
	ESC_NONE,                           /* no ESC (greeting, 354, 334) */
};

/* "1.3" for ESC_BAD_DESTINATION_MAILBOX_SYNTAX, "" for ESC_NONE. */
const char *esc_code(enum esc_code e);
const char *esc_description(enum esc_code e);

#endif
