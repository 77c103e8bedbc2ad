/*
 * casella: user administration and local delivery for a Casella data
 * directory.  It opens the store like the server does (SQLite in WAL mode
 * with a busy timeout), so it may run while casellad is serving the same
 * directory.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "auth/account.h"
#include "str.h"
#include "util.h"
#include "lmtp/lda.h"
#include "master/privsep.h"
#include "store/cred.h"
#include "store/notify.h"
#include "search/message-facts.h"
#include "store/store.h"

/* Largest message `deliver` accepts, as stored (after LF -> CRLF). */
#define DELIVER_MAX_SIZE  ((size_t)64 * 1024 * 1024)
#define PASSWORD_BUF_SIZE 1026 /* 1024 bytes, CR LF */

#define EXIT_FAIL 1

/* What a command works on.  The credential store is opened only by the
 * commands that need it: `deliver` never touches secrets. */
struct casella_ctx {
	struct store *store;
	const char *data_dir;
	struct cred_store *creds; /* opened by ctx_creds() */
};

struct casella_cmd {
	const char *noun; /* "user", "mailbox" or "deliver" */
	const char *verb; /* NULL for deliver */
	int (*run)(struct casella_ctx *ctx, char **args, int arg_count);
	int min_args, max_args; /* after noun and verb */
};

static void
usage(FILE *out)
{
	fputs("usage: casella [--data DIR] COMMAND\n"
	      "\n"
	      "  user add NAME          add a user (password on stdin)\n"
	      "  user del NAME          delete a user and all their mail\n"
	      "  user list              list users\n"
	      "  user passwd NAME       set a password (from stdin)\n"
	      "  user otp NAME [--alg md5|sha1] [--seq N] [--seed SEED]\n"
	      "                         set an RFC 2289 one-time password\n"
	      "                         sequence from the pass phrase on\n"
	      "                         stdin (default md5, seq 499, a\n"
	      "                         random seed)\n"
	      "  auth cram-md5 on|off   keep CRAM-MD5 secrets (off deletes\n"
	      "                         them and stops offering CRAM-MD5)\n"
	      "  mailbox list NAME      list a user's mailboxes: name,\n"
	      "                         messages, uidnext, uidvalidity\n"
	      "  deliver -u USER [-m FOLDER] [-f SENDER] [--strict-folder]\n"
	      "          [--lmtp unix:PATH|ADDR:PORT]   (or: deliver NAME\n"
	      "          [--mailbox FOLDER])\n"
	      "                         store the message on stdin in\n"
	      "                         FOLDER, or INBOX if it is missing\n"
	      "                         (--strict-folder: exit 73); as a\n"
	      "                         user who cannot write the store,\n"
	      "                         through the server's LMTP socket\n"
	      "                         ($CASELLA_LMTP, default\n"
	      "                         " LDA_DEFAULT_LMTP "); exit 67\n"
	      "                         unknown user, 65 refused, 75\n"
	      "                         temporary failure\n"
	      "\n"
	      "The data directory comes from --data or $CASELLA_DATA.\n",
	      out);
}

static void
print_error(const char *what, const char *error)
{
	fprintf(stderr, "casella: %s: %s\n", what,
	        error != NULL ? error : "failed");
}

/* Exit status for an admin command's store result. */
static int
store_exit(enum store_result ret, const char *what, const char *error)
{
	if (ret == STORE_OK)
		return EXIT_SUCCESS;
	print_error(what, error);
	return EXIT_FAIL;
}

/* Reads the first line of stdin into buf without stdio, so no copy of
 * the password lingers in a stdio buffer.  On a terminal, echo is off.
 * Returns 0, or -1 with *error_r. */
static int
read_password(char *buf, size_t size, const char **error_r)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t len = 0;
	int ret = 0;

	if (tty) {
		fputs("Password: ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = "cannot read password from stdin";
			ret = -1;
			break;
		}
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= size) {
			*error_r = "password longer than 1024 bytes";
			ret = -1;
			break;
		}
		buf[len++] = c;
	}
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	buf[len] = '\0';
	if (ret == 0 && memchr(buf, '\0', len) != NULL) {
		*error_r = "password contains a NUL byte";
		ret = -1;
	}
	return ret;
}

/* The credential store, opened on first use; NULL after printing why it
 * could not be. */
static struct cred_store *
ctx_creds(struct casella_ctx *ctx)
{
	const char *error = NULL;
	if (ctx->creds == NULL &&
	    cred_store_open(ctx->data_dir, &ctx->creds, &error) != STORE_OK)
		print_error(ctx->data_dir, error);
	return ctx->creds;
}

static int
cmd_user_password(struct casella_ctx *ctx, const char *name, bool add)
{
	char password[PASSWORD_BUF_SIZE];
	const char *error = NULL;

	struct cred_store *cs = ctx_creds(ctx);
	if (cs == NULL)
		return EXIT_FAIL;
	if (read_password(password, sizeof(password), &error) < 0) {
		secure_zero(password, sizeof(password));
		print_error(name, error);
		return EXIT_FAIL;
	}
	enum store_result ret =
	    add ? account_add(ctx->store, cs, name, password, &error)
	        : account_set_password(cs, name, password, &error);
	secure_zero(password, sizeof(password));
	return store_exit(ret, name, error);
}

static int
cmd_user_add(struct casella_ctx *ctx, char **args, int arg_count)
{
	return cmd_user_password(ctx, args[0], true);
}

static int
cmd_user_passwd(struct casella_ctx *ctx, char **args, int arg_count)
{
	return cmd_user_password(ctx, args[0], false);
}

/* user otp NAME [--alg md5|sha1] [--seq N] [--seed SEED]: the pass
 * phrase comes on stdin. */
static int
cmd_user_otp(struct casella_ctx *ctx, char **args, int arg_count)
{
	const char *alg = "md5", *seed = NULL;
	uint32_t seq = 499;
	for (int i = 1; i < arg_count; i += 2) {
		const char *opt = args[i],
		           *val = i + 1 < arg_count ? args[i + 1] : NULL;
		if (val != NULL && strcmp(opt, "--alg") == 0)
			alg = val;
		else if (val != NULL && strcmp(opt, "--seed") == 0)
			seed = val;
		else if (val == NULL || strcmp(opt, "--seq") != 0 ||
		         !parse_u32(val, strlen(val), &seq)) {
			usage(stderr);
			return EXIT_FAIL;
		}
	}
	struct cred_store *cs = ctx_creds(ctx);
	char phrase[PASSWORD_BUF_SIZE];
	const char *error = NULL;
	if (cs == NULL)
		return EXIT_FAIL;
	if (read_password(phrase, sizeof(phrase), &error) < 0) {
		secure_zero(phrase, sizeof(phrase));
		print_error(args[0], error);
		return EXIT_FAIL;
	}
	enum store_result ret =
	    account_set_otp(cs, args[0], alg, seq, seed, phrase, &error);
	secure_zero(phrase, sizeof(phrase));
	return store_exit(ret, args[0], error);
}

/* auth cram-md5 on|off */
static int
cmd_auth_cram_md5(struct casella_ctx *ctx, char **args, int arg_count)
{
	bool on = strcmp(args[0], "on") == 0;
	if (!on && strcmp(args[0], "off") != 0) {
		usage(stderr);
		return EXIT_FAIL;
	}
	struct cred_store *cs = ctx_creds(ctx);
	const char *error = NULL;
	if (cs == NULL)
		return EXIT_FAIL;
	return store_exit(account_set_cram_md5(cs, on, &error), "cram-md5",
	                  error);
}

static int
cmd_user_del(struct casella_ctx *ctx, char **args, int arg_count)
{
	const char *error = NULL;
	struct cred_store *cs = ctx_creds(ctx);
	if (cs == NULL)
		return EXIT_FAIL;
	enum store_result ret = account_delete(ctx->store, cs, args[0], &error);
	return store_exit(ret, args[0], error);
}

static int
cmd_user_list(struct casella_ctx *ctx, char **args, int arg_count)
{
	struct store *store = ctx->store;
	struct arena *arena = arena_create(4096);
	const char **names, *error = NULL;
	size_t count;

	enum store_result ret =
	    store_user_list(store, arena, &names, &count, &error);
	for (size_t i = 0; ret == STORE_OK && i < count; i++)
		printf("%s\n", names[i]);
	arena_destroy(&arena);
	return store_exit(ret, "user list", error);
}

static int
cmd_mailbox_list(struct casella_ctx *ctx, char **args, int arg_count)
{
	struct store *store = ctx->store;
	struct arena *arena = arena_create(4096);
	struct store_mailbox *mailboxes;
	const char *error = NULL;
	size_t count;
	int64_t user_id;

	enum store_result ret =
	    store_user_lookup(store, args[0], &user_id, &error);
	if (ret == STORE_OK)
		ret = store_mailbox_list(store, user_id, arena, &mailboxes,
		                         &count, &error);
	for (size_t i = 0; ret == STORE_OK && i < count; i++) {
		struct store_status status;
		ret = store_mailbox_status(store, mailboxes[i].id, &status,
		                           &error);
		if (ret == STORE_OK)
			printf("%s\t%u\t%u\t%u\n", mailboxes[i].name,
			       status.messages, status.uidnext,
			       status.uidvalidity);
	}
	arena_destroy(&arena);
	return store_exit(ret, args[0], error);
}

/* Reads all of stdin into s (bounded by s->max).  Returns 0, 1 if the
 * input is larger than the limit, -1 on a read error. */
static int
read_stdin(struct str *s)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		str_append(s, buf, (size_t)n);
		if (str_failed(s))
			return 1;
	}
}

/*
 * Run as root on a data directory that a server already owns (casellad
 * hands it to its --user), the tool becomes that owner first: files it
 * creates (bodies, the WAL) must stay readable by the server.  A data
 * directory still owned by root is left to casellad to hand over.
 */
static int
become_data_owner(const char **data_dir)
{
	struct stat st;
	const char *error;
	if (geteuid() != 0 || stat(*data_dir, &st) < 0 || st.st_uid == 0)
		return 0;
	struct passwd *pw = getpwuid(st.st_uid);
	if (pw == NULL) {
		fprintf(stderr,
		        "casella: %s belongs to uid %u, which has no "
		        "name\n",
		        *data_dir, (unsigned)st.st_uid);
		return -1;
	}
	if (privsep_enter_data(*data_dir, pw->pw_name, data_dir, &error) < 0) {
		print_error("cannot become the data owner", error);
		return -1;
	}
	return 0;
}

/* The server's queue may be full for a moment: try for a second, so
 * its IDLE sessions do not miss the message. */
static void
deliver_changed(void *context, const struct store_change *change)
{
	int64_t mailbox_id = change->mailbox_id;
	if (mailbox_id == 0)
		return; /* subscriptions: no session waits on those here */
	for (int i = 0; i < 100; i++) {
		if (notify_send(context, mailbox_id) == 0)
			return;
		usleep(10 * 1000);
	}
	print_error("deliver", "the server did not take the change notice; "
	                       "its sessions see the message at their next "
	                       "command");
}

/* deliver's arguments: NAME [--mailbox MBOX] (the first form), or
 * -u USER [-m FOLDER] [-f SENDER] [--lmtp TARGET] [--strict-folder]. */
static int
deliver_parse(char **args, int count, struct lda_request *req)
{
	memset(req, 0, sizeof(*req));
	for (int i = 0; i < count; i++) {
		const char *a = args[i],
		           *v = i + 1 < count ? args[i + 1] : NULL;
		if (strcmp(a, "--strict-folder") == 0) {
			req->strict = true;
			continue;
		}
		if (a[0] != '-') {
			if (req->user != NULL)
				return -1;
			req->user = a;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "-u") == 0)
			req->user = v;
		else if (strcmp(a, "-m") == 0 || strcmp(a, "--mailbox") == 0)
			req->folder = v;
		else if (strcmp(a, "-f") == 0)
			req->sender = v;
		else if (strcmp(a, "--lmtp") == 0)
			req->lmtp = v;
		else
			return -1;
	}
	return req->user != NULL && req->user[0] != '\0' ? 0 : -1;
}

/* Reads and canonicalises the message; returns 0 or an exit code. */
static int
deliver_read(struct str *msg)
{
	struct str raw;
	str_init(&raw, DELIVER_MAX_SIZE);
	int rd = read_stdin(&raw), status = 0;
	if (rd == 0)
		lda_canonicalize(raw.data != NULL ? raw.data : "", raw.len,
		                 msg);
	if (rd < 0) {
		print_error("deliver", "cannot read the message from stdin");
		status = EX_TEMPFAIL;
	} else if (rd > 0 || str_failed(msg)) {
		print_error("deliver", "message larger than 64 MiB");
		status = EX_DATAERR;
	} else if (msg->len == 0) {
		print_error("deliver", "empty message");
		status = EX_DATAERR;
	}
	str_free(&raw);
	return status;
}

/* Root becomes the store's owner; the owner itself writes directly.
 * Anyone else (an MTA running us as the recipient) cannot. */
static bool
deliver_can_write(const char *data_dir)
{
	return geteuid() == 0 || access(data_dir, R_OK | W_OK | X_OK) == 0;
}

static int
deliver_direct(const char *data_dir, const struct lda_request *req,
               struct str *msg)
{
	const char *error = NULL;
	struct store *store = NULL;
	if (become_data_owner(&data_dir) < 0 ||
	    store_upgrade(data_dir, &error) != STORE_OK ||
	    store_open(data_dir, &store, &error) != STORE_OK) {
		if (error != NULL)
			print_error(data_dir, error);
		return EX_TEMPFAIL;
	}
	/* Tell a running server as soon as each change is durable. */
	store_set_change_hook(store, deliver_changed, (void *)data_dir);
	int status = lda_deliver_store(store, req, msg);
	store_close(&store);
	return status;
}

static int
main_deliver(const char *data_dir, char **args, int count)
{
	struct lda_request req;
	if (deliver_parse(args, count, &req) < 0) {
		usage(stderr);
		return EX_USAGE;
	}
	bool direct = req.lmtp == NULL && data_dir != NULL &&
	              data_dir[0] != '\0' && deliver_can_write(data_dir);
	if (!direct && req.lmtp == NULL)
		req.lmtp = getenv("CASELLA_LMTP") != NULL
		               ? getenv("CASELLA_LMTP")
		               : LDA_DEFAULT_LMTP;
	struct str msg;
	str_init(&msg, DELIVER_MAX_SIZE);
	int status = deliver_read(&msg);
	if (status == 0)
		status = direct ? deliver_direct(data_dir, &req, &msg)
		                : lda_deliver_lmtp(&req, &msg);
	str_free(&msg);
	return status;
}

static const struct casella_cmd casella_cmds[] = {
    {"user", "add", cmd_user_add, 1, 1},
    {"user", "del", cmd_user_del, 1, 1},
    {"user", "list", cmd_user_list, 0, 0},
    {"user", "passwd", cmd_user_passwd, 1, 1},
    {"user", "otp", cmd_user_otp, 1, 7},
    {"auth", "cram-md5", cmd_auth_cram_md5, 1, 1},
    {"mailbox", "list", cmd_mailbox_list, 1, 1},
    {"deliver", NULL, NULL, 1, 12},
};

static const struct casella_cmd *
find_cmd(int argc, char **argv, int *skip_r)
{
	for (size_t i = 0; i < N_ELEMENTS(casella_cmds); i++) {
		const struct casella_cmd *cmd = &casella_cmds[i];
		if (argc < 1 || strcmp(argv[0], cmd->noun) != 0)
			continue;
		if (cmd->verb == NULL) {
			*skip_r = 1;
			return cmd;
		}
		if (argc >= 2 && strcmp(argv[1], cmd->verb) == 0) {
			*skip_r = 2;
			return cmd;
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *data_dir = getenv("CASELLA_DATA");
	int i = 1;

	/* Everything the tool creates is private (docs/security.md). */
	umask(077);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			data_dir = argv[++i];
		} else if (strncmp(argv[i], "--data=", 7) == 0) {
			data_dir = argv[i] + 7;
		} else {
			fprintf(stderr, "casella: unknown option %s\n",
			        argv[i]);
			usage(stderr);
			return EXIT_FAIL;
		}
	}
	int skip = 0;
	const struct casella_cmd *cmd = find_cmd(argc - i, argv + i, &skip);
	int arg_count = argc - i - skip;
	if (cmd == NULL || arg_count < cmd->min_args ||
	    arg_count > cmd->max_args) {
		usage(stderr);
		return EXIT_FAIL;
	}
	if (cmd->run == NULL)
		return main_deliver(data_dir, argv + i + skip, arg_count);
	if (data_dir == NULL || data_dir[0] == '\0') {
		fputs("casella: no data directory: use --data DIR or set "
		      "CASELLA_DATA\n",
		      stderr);
		return EXIT_FAIL;
	}
	const char *error = NULL;
	struct store *store = NULL;
	/* Parse each message once, when it is stored. */
	store_set_facts_builder(message_facts_build);
	if (become_data_owner(&data_dir) < 0 ||
	    store_upgrade(data_dir, &error) != STORE_OK ||
	    store_open(data_dir, &store, &error) != STORE_OK) {
		if (error != NULL)
			print_error(data_dir, error);
		return EXIT_FAIL;
	}
	struct casella_ctx ctx = {.store = store, .data_dir = data_dir};
	int status = cmd->run(&ctx, argv + i + skip, arg_count);
	cred_store_close(&ctx.creds);
	store_close(&ctx.store);
	if (fflush(stdout) != 0 && status == EXIT_SUCCESS)
		status = EXIT_FAIL;
	return status;
}
