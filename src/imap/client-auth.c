/*
 * The pre-login side of a session: what is offered (CAPABILITY), the
 * plaintext-password rule, and what a SASL exchange needs to know about
 * the connection.  This runs in the login processes only.
 */
#include "imap/client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/sasl.h"
#include "lib/str.h"
#include "lib/util.h"
#include "login/auth-client.h"
#include "login/login.h"
#include "net/conn.h"
#include "net/tls.h"
#include "imap/worker.h"

/* Failed authentications per connection before it is closed. */
#define CLIENT_AUTH_FAILURES_MAX 5

bool
client_plaintext_allowed(const struct client *client)
{
	switch (client->worker->config->plaintext_auth) {
	case PLAINTEXT_AUTH_ALWAYS:
		return true;
	case PLAINTEXT_AUTH_NEVER:
		return client->secured;
	default:
		return client->secured || client->conn->peer.loopback;
	}
}

/* Whether a mechanism with these flags may be used on this session. */
static enum client_mech_use
client_mech_flags_use(const struct client *client, unsigned flags)
{
	if ((flags & SASL_MECH_NEEDS_TLS) != 0 && !client->secured)
		return CLIENT_MECH_NEEDS_TLS;
	if ((flags & SASL_MECH_PLAINTEXT) != 0 &&
	    !client_plaintext_allowed(client))
		return CLIENT_MECH_NEEDS_TLS;
	return CLIENT_MECH_USABLE;
}

enum client_mech_use
client_mech_usable(const struct client *client, const char *mech)
{
	const struct auth_client *auth = client->worker->auth;
	const char *name;
	unsigned flags;
	for (size_t i = 0; (name = auth_client_mech(auth, i, &flags)) != NULL;
	     i++) {
		if (strcasecmp(name, mech) == 0)
			return client_mech_flags_use(client, flags);
	}
	return CLIENT_MECH_UNKNOWN;
}

/* "AUTH=..." for every mechanism usable now (RFC 9051 7.2.2). */
static void
client_auth_capabilities(const struct client *client, struct str *out)
{
	const struct auth_client *auth = client->worker->auth;
	const char *name;
	unsigned flags;
	for (size_t i = 0; (name = auth_client_mech(auth, i, &flags)) != NULL;
	     i++) {
		if (client_mech_flags_use(client, flags) == CLIENT_MECH_USABLE)
			str_printf(out, " AUTH=%s", name);
	}
	if (!client_plaintext_allowed(client))
		str_append_cstr(out, " LOGINDISABLED");
}

const char *
client_capabilities(const struct client *client)
{
	static _Thread_local char buf[1024];
	if (client->state != CLIENT_STATE_NOT_AUTHENTICATED) {
		return "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE "
		       "NAMESPACE UNSELECT UIDPLUS MOVE MULTIAPPEND CHILDREN "
		       "LIST-EXTENDED LIST-STATUS SPECIAL-USE "
		       "CREATE-SPECIAL-USE ESEARCH STATUS=SIZE SORT "
		       "SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES "
		       "ESORT NOTIFY CONDSTORE QRESYNC";
	}
	struct str out;
	str_init(&out, sizeof(buf) - 1);
	str_append_cstr(&out, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL- ID "
	                      "ENABLE IDLE");
	if (!client->secured && client->worker->tls != NULL)
		str_append_cstr(&out, " STARTTLS");
	client_auth_capabilities(client, &out);
	casella_strlcpy(buf, out.data, sizeof(buf));
	str_free(&out);
	return buf;
}

void
client_sasl_info(const struct client *client, struct sasl_conn_info *info_r)
{
	memset(info_r, 0, sizeof(*info_r));
	info_r->secured = client->secured;
	info_r->trusted = client->conn->peer.loopback;
	info_r->peer_ip = client->conn->peer.ip;
	info_r->session_id = client->id;
	struct tls_conn *tls = client->conn->tls;
	if (tls == NULL)
		return;
	unsigned char cb[64];
	info_r->cb_tls_exporter_len = tls_conn_cb_exporter(tls, cb);
	memcpy(info_r->cb_tls_exporter, cb, info_r->cb_tls_exporter_len);
	info_r->cb_tls_server_end_point_len =
	    tls_conn_cb_server_end_point(tls, info_r->cb_tls_server_end_point);
	info_r->cb_tls_unique_len =
	    tls_conn_cb_unique(tls, info_r->cb_tls_unique);
	if (!tls_conn_client_user(tls, info_r->cert_user,
	                          sizeof(info_r->cert_user)))
		info_r->cert_user[0] = '\0';
}

struct auth_client *
client_auth(struct client *client)
{
	return client->worker->auth;
}

void
client_auth_failed(struct client *client)
{
	/* The auth process delays and throttles; this only stops one
	 * connection from trying for ever. */
	if (++client->auth_failures >= CLIENT_AUTH_FAILURES_MAX) {
		client_send(client, "* BYE Too many authentication "
		                    "failures\r\n");
		conn_close_after_output(client->conn, "too many failures");
	}
}

enum cmd_result
client_authenticated(struct client *client, struct command *cmd,
                     const char *user, const unsigned char *ticket,
                     size_t ticket_len)
{
	/* The mail process answers the command, once it has the session
	 * (imap/handover.h). */
	if (login_handover(client, cmd->tag, user, ticket, ticket_len) == 0)
		return CMD_WAIT_EVENT;
	return cmd_no(cmd, "[UNAVAILABLE] The mail service is not "
	                   "available now; try again later");
}
