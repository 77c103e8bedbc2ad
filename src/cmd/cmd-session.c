/* Commands about the session itself: CAPABILITY, NOOP, CHECK, LOGOUT, ID,
 * ENABLE, NAMESPACE. */
#include <string.h>
#include <strings.h>

#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "imap/view.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"

/* ID (RFC 2971) keeps at most this many fields from the client. */
#define ID_MAX_FIELDS 30

enum cmd_result
cmd_capability(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "CAPABILITY takes no arguments");
	client_send(cmd->client, "* CAPABILITY %s\r\n",
	            client_capabilities(cmd->client));
	return cmd_ok(cmd, "CAPABILITY completed");
}

enum cmd_result
cmd_noop(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "NOOP takes no arguments");
	return cmd_ok(cmd, "NOOP completed");
}

enum cmd_result
cmd_check(struct command *cmd)
{
	/* RFC 9051 removed CHECK; in rev1 it is a NOOP for us because every
	 * change is already durable. */
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "CHECK takes no arguments");
	return cmd_ok(cmd, "CHECK completed");
}

enum cmd_result
cmd_logout(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "LOGOUT takes no arguments");
	client_send(cmd->client, "* BYE Logging out\r\n");
	cmd->client->state = CLIENT_STATE_LOGOUT;
	cmd->skip_sync = true;
	return cmd_ok(cmd, "LOGOUT completed");
}

enum cmd_result
cmd_id(struct command *cmd)
{
	/* RFC 2971: ID ("name" "value" ...) or ID NIL. */
	if (cmd->arg_count != 1)
		return cmd_bad(cmd, "ID takes one argument");
	const struct imap_arg *arg = &cmd->args[0];
	if (arg->type == IMAP_ARG_LIST) {
		if (arg->list_count % 2 != 0 ||
		    arg->list_count > ID_MAX_FIELDS * 2)
			return cmd_bad(cmd, "Invalid ID parameter list");
		for (size_t i = 0; i < arg->list_count; i++) {
			const struct imap_arg *f = &arg->list[i];
			if (!imap_arg_is_string(f) && f->type != IMAP_ARG_NIL)
				return cmd_bad(cmd, "Invalid ID field");
		}
	} else if (arg->type != IMAP_ARG_NIL) {
		return cmd_bad(cmd, "ID needs a list or NIL");
	}
	client_send(cmd->client, "* ID (\"name\" \"Casella\" "
	                         "\"vendor\" \"Casella\")\r\n");
	return cmd_ok(cmd, "ID completed");
}

/* What ENABLE (RFC 5161) can turn on. */
struct enable_ext {
	const char *name;
	unsigned bit; /* enum client_enabled bits it sets */
};

static const struct enable_ext enable_exts[] = {
    {"IMAP4rev2", CLIENT_ENABLED_IMAP4REV2},
    {"UTF8=ACCEPT", CLIENT_ENABLED_UTF8_ACCEPT},
    {"CONDSTORE", CLIENT_ENABLED_CONDSTORE},
    {"QRESYNC", CLIENT_ENABLED_QRESYNC | CLIENT_ENABLED_CONDSTORE},
};

static const struct enable_ext *
enable_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(enable_exts); i++) {
		if (strcasecmp(name, enable_exts[i].name) == 0)
			return &enable_exts[i];
	}
	return NULL;
}

enum cmd_result
cmd_enable(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count == 0)
		return cmd_bad(cmd, "ENABLE needs capability names");
	struct str enabled;
	str_init(&enabled, 1024);
	unsigned before = client->enabled, listed = 0;
	for (size_t i = 0; i < cmd->arg_count; i++) {
		const struct imap_arg *arg = &cmd->args[i];
		if (arg->type != IMAP_ARG_ATOM) {
			str_free(&enabled);
			return cmd_bad(cmd, "ENABLE takes capability atoms");
		}
		const struct enable_ext *ext = enable_find(arg->str);
		/* RFC 5161 3.1: unknown extensions are ignored; and one
		 * enabled before this command is not listed again. */
		if (ext == NULL || (before & ext->bit) == ext->bit ||
		    (listed & ext->bit) == ext->bit)
			continue;
		listed |= ext->bit;
		/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
		if ((ext->bit & CLIENT_ENABLED_CONDSTORE) != 0)
			view_condstore_enable(client);
		client->enabled |= ext->bit;
		str_printf(&enabled, " %s", ext->name);
	}
	client_send(client, "* ENABLED%s\r\n",
	            enabled.data != NULL ? enabled.data : "");
	str_free(&enabled);
	return cmd_ok(cmd, "ENABLE completed");
}

enum cmd_result
cmd_namespace(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "NAMESPACE takes no arguments");
	client_send(cmd->client, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	return cmd_ok(cmd, "NAMESPACE completed");
}
