/* CREATE, DELETE and RENAME (RFC 9051 6.3.4, 6.3.5, 6.3.6), with
 * CREATE-SPECIAL-USE (RFC 6154 3) and response codes from RFC 5530. */
#include <stdlib.h>
#include <string.h>

#include "imap/list-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/mailbox-name.h"
#include "imap/notify-session.h"
#include "imap/parser.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/util.h"
#include "store/store.h"

/* True if name is old_name or one of its inferiors ("old/..."). */
static bool
mailbox_is_under(const char *name, const char *old_name)
{
	size_t len = strlen(old_name);
	return strncmp(name, old_name, len) == 0 &&
	       (name[len] == '\0' || name[len] == MAILBOX_NAME_SEP);
}

/* RFC 9051 6.3.4: creates the superiors of name that are missing, so
 * "a/b/c" also creates "a" and "a/b". */
static enum store_result
mailbox_create_superiors(struct command *cmd, const char *name,
                         const char **error_r)
{
	struct client *client = cmd->client;
	const char *sep = strchr(name, MAILBOX_NAME_SEP);
	for (; sep != NULL; sep = strchr(sep + 1, MAILBOX_NAME_SEP)) {
		const char *superior =
		    arena_strndup(cmd->arena, name, (size_t)(sep - name));
		int64_t id;
		enum store_result r =
		    store_mailbox_create(client_store(client), client->user_id,
		                         superior, 0, &id, error_r);
		if (r == STORE_OK)
			notify_session_own_create(client, id, superior);
		if (r != STORE_OK && r != STORE_EXISTS)
			return r;
	}
	return STORE_OK;
}

/* RFC 6154 3: "USE (\Sent ...)".  Sets the tagged result and returns
 * false on failure. */
static bool
create_parse_use(struct command *cmd, const struct imap_arg *list,
                 unsigned *special_use_r)
{
	if (list->type != IMAP_ARG_LIST) {
		cmd_bad(cmd, "CREATE USE needs a list of attributes");
		return false;
	}
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *attr = &list->list[i];
		unsigned bit = attr->type != IMAP_ARG_ATOM
		                   ? 0
		                   : special_use_parse(attr->str, attr->len);
		if (bit == 0) {
			cmd_no(cmd, "[USEATTR] Unsupported special-use "
			            "attribute");
			return false;
		}
		*special_use_r |= bit;
	}
	return true;
}

/* RFC 4466 2.2 create-params; USE is the only one we know. */
static bool
create_parse_params(struct command *cmd, const struct imap_arg *arg,
                    unsigned *special_use_r)
{
	*special_use_r = 0;
	if (arg->type != IMAP_ARG_LIST) {
		cmd_bad(cmd, "Invalid CREATE parameters");
		return false;
	}
	for (size_t i = 0; i < arg->list_count; i += 2) {
		if (!imap_arg_atom_equals(&arg->list[i], "USE") ||
		    i + 1 >= arg->list_count) {
			cmd_bad(cmd, "Unknown CREATE parameter");
			return false;
		}
		if (!create_parse_use(cmd, &arg->list[i + 1], special_use_r))
			return false;
	}
	return true;
}

static enum cmd_result
create_run(struct command *cmd, const char *name, unsigned special_use)
{
	struct client *client = cmd->client;
	struct store *store = client_store(client);
	struct store_mailbox mb;
	const char *error;
	int64_t id;

	if (strcmp(name, "INBOX") == 0)
		return cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists");
	enum store_result r = store_mailbox_find(store, client->user_id, name,
	                                         cmd->arena, &mb, &error);
	if (r == STORE_OK)
		return cmd_no(cmd, "[ALREADYEXISTS] Mailbox already exists");
	if (r != STORE_NOT_FOUND)
		return cmd_store_error(cmd, error);
	r = mailbox_create_superiors(cmd, name, &error);
	if (r == STORE_OK)
		r = store_mailbox_create(store, client->user_id, name,
		                         special_use, &id, &error);
	switch (r) {
	case STORE_OK:
		notify_session_own_create(client, id, name);
		return cmd_ok(cmd, "CREATE completed");
	case STORE_EXISTS:
		return cmd_no(cmd, "[ALREADYEXISTS] Mailbox already exists");
	case STORE_LIMIT:
		return cmd_no(cmd, "[LIMIT] Too many mailboxes");
	case STORE_DENIED:
		return cmd_no(cmd, "[CANNOT] Mailbox can't be created");
	default:
		return cmd_store_error(cmd, error);
	}
}

enum cmd_result
cmd_create(struct command *cmd)
{
	const char *s;
	size_t len;
	unsigned special_use = 0;

	if (cmd->arg_count < 1 || cmd->arg_count > 2 ||
	    !mailbox_arg_string(&cmd->args[0], &s, &len))
		return cmd_bad(cmd, "CREATE needs a mailbox name");
	if (cmd->arg_count == 2 &&
	    !create_parse_params(cmd, &cmd->args[1], &special_use))
		return CMD_DONE;
	/* RFC 9051 6.3.4: a trailing separator only declares that names
	 * will be created under this one; the name is without it. */
	if (len > 1 && s[len - 1] == MAILBOX_NAME_SEP)
		len--;
	const char *name = mailbox_arg_convert(cmd, s, len);
	if (name == NULL)
		return CMD_DONE;
	return create_run(cmd, name, special_use);
}

/* This session deleted the mailbox it has selected: close it here, as
 * the next sync would otherwise end the session for a mailbox that
 * vanished under it. */
static void
delete_close_selected(struct client *client, int64_t mailbox_id)
{
	if (client->view == NULL || client->view->mailbox_id != mailbox_id)
		return;
	view_close(&client->view);
	client->state = CLIENT_STATE_AUTHENTICATED;
	client_send(client, "* OK [CLOSED] Selected mailbox was deleted\r\n");
}

enum cmd_result
cmd_delete(struct command *cmd)
{
	struct client *client = cmd->client;
	struct store *store = client_store(client);
	struct store_mailbox mb;
	const char *error;

	if (cmd->arg_count != 1)
		return cmd_bad(cmd, "DELETE needs a mailbox name");
	const char *name = mailbox_arg_name(cmd, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	/* RFC 9051 6.3.5: it is an error to delete INBOX. */
	if (strcmp(name, "INBOX") == 0)
		return cmd_no(cmd, "[CANNOT] INBOX can't be deleted");
	enum store_result r = store_mailbox_find(store, client->user_id, name,
	                                         cmd->arena, &mb, &error);
	/* RFC 9051 6.3.5: inferiors stay; LIST then shows the name as a
	 * \Noselect level.  Such a level can't be deleted itself: it is
	 * not a mailbox, so that is NONEXISTENT here. */
	if (r == STORE_OK)
		r = store_mailbox_delete(store, client->user_id, name, &error);
	switch (r) {
	case STORE_OK:
		delete_close_selected(client, mb.id);
		notify_session_own_delete(client, name);
		return cmd_ok(cmd, "DELETE completed");
	case STORE_NOT_FOUND:
		return cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	case STORE_DENIED:
		return cmd_no(cmd, "[CANNOT] Mailbox can't be deleted");
	default:
		return cmd_store_error(cmd, error);
	}
}

/* Keeps the selected mailbox's name right after a rename that moved it
 * (itself or a superior).  INBOX stays INBOX: its messages moved. */
static void
rename_update_view(struct client *client, const char *old_name,
                   const char *new_name)
{
	struct mailbox_view *view = client->view;
	if (view == NULL || strcmp(old_name, "INBOX") == 0 ||
	    !mailbox_is_under(view->name, old_name))
		return;
	const char *rest = view->name + strlen(old_name);
	size_t len = strlen(new_name) + strlen(rest) + 1;
	char *name = xmalloc(len);
	casella_strlcpy(name, new_name, len);
	casella_strlcat(name, rest, len);
	free(view->name);
	view->name = name;
}

static enum cmd_result
rename_result(struct command *cmd, enum store_result r, const char *error)
{
	switch (r) {
	case STORE_OK:
		return cmd_ok(cmd, "RENAME completed");
	case STORE_NOT_FOUND:
		return cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	case STORE_EXISTS:
		return cmd_no(cmd, "[ALREADYEXISTS] Target mailbox exists");
	case STORE_DENIED:
		return cmd_no(cmd, "[CANNOT] Mailbox can't be renamed");
	case STORE_LIMIT:
		return cmd_no(cmd, "[LIMIT] %s", error);
	default:
		return cmd_store_error(cmd, error);
	}
}

enum cmd_result
cmd_rename(struct command *cmd)
{
	struct client *client = cmd->client;
	struct store *store = client_store(client);
	struct store_mailbox mb;
	const char *error;

	if (cmd->arg_count != 2)
		return cmd_bad(cmd, "RENAME needs two mailbox names");
	const char *old_name = mailbox_arg_name(cmd, &cmd->args[0]);
	if (old_name == NULL)
		return CMD_DONE;
	const char *new_name = mailbox_arg_name(cmd, &cmd->args[1]);
	if (new_name == NULL)
		return CMD_DONE;
	enum store_result r = store_mailbox_find(
	    store, client->user_id, old_name, cmd->arena, &mb, &error);
	if (r != STORE_OK)
		return rename_result(cmd, r, error);
	if (strcmp(new_name, "INBOX") == 0)
		return cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists");
	/* INBOX's inferiors don't move with it (RFC 9051 6.3.6), so only
	 * other mailboxes can't go below themselves. */
	if (strcmp(old_name, "INBOX") != 0 && strcmp(new_name, old_name) != 0 &&
	    mailbox_is_under(new_name, old_name))
		return cmd_no(cmd, "[CANNOT] Can't move a mailbox into itself");
	r = store_mailbox_find(store, client->user_id, new_name, cmd->arena,
	                       &mb, &error);
	if (r == STORE_OK)
		return rename_result(cmd, STORE_EXISTS, error);
	if (r != STORE_NOT_FOUND)
		return cmd_store_error(cmd, error);
	r = mailbox_create_superiors(cmd, new_name, &error);
	if (r == STORE_OK)
		r = store_mailbox_rename(store, client->user_id, old_name,
		                         new_name, &error);
	if (r == STORE_OK) {
		rename_update_view(client, old_name, new_name);
		notify_session_own_rename(client, old_name, new_name);
	}
	return rename_result(cmd, r, error);
}
