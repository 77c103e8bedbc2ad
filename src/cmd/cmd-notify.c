/* NOTIFY (RFC 5465 3.1): which changes of which mailboxes the server
 * pushes.  Parsing is notify-parse.c; the session's side, and what goes
 * out when, is imap/notify-session.c and imap/client.c. */
#include "imap/notify-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/notify-session.h"
#include "lib/arena.h"

enum cmd_result
cmd_notify(struct command *cmd)
{
	struct client *client = cmd->client;
	struct arena *arena = arena_create(1024);
	struct notify_request req;
	bool none;
	const char *error;
	enum notify_parse_status st =
	    notify_parse(arena, cmd->args, cmd->arg_count, client_utf8(client),
	                 &none, &req, &error);
	if (st != NOTIFY_PARSE_OK || none)
		arena_destroy(&arena);
	switch (st) {
	case NOTIFY_PARSE_OK:
		break;
	case NOTIFY_PARSE_BAD:
		return cmd_bad(cmd, "%s", error);
	case NOTIFY_PARSE_BADEVENT:
		return cmd_no(cmd, "[BADEVENT (" NOTIFY_SUPPORTED_NAMES ")] %s",
		              error);
	case NOTIFY_PARSE_CANNOT:
		return cmd_no(cmd, "[CANNOT] %s", error);
	}
	if (none) {
		notify_session_clear(client);
		return cmd_ok(cmd, "NOTIFY completed");
	}
	/* The session takes the arena with the request in it. */
	switch (notify_session_set(client, arena, &req, &error)) {
	case NOTIFY_SET_OK:
		break;
	case NOTIFY_SET_OVERFLOW:
		/* 3.1: too costly to watch. */
		return cmd_no(cmd, "[NOTIFICATIONOVERFLOW] Too many mailboxes "
		                   "to watch");
	case NOTIFY_SET_ERROR:
		return cmd_store_error(cmd, error);
	}
	/* The tagged OK follows any changes to the selected mailbox: a
	 * NOTIFY SET is an implicit NOOP (3.1). */
	return cmd_ok(cmd, "NOTIFY completed");
}
