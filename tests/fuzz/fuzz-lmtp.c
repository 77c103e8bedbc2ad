/*
 * Fuzzes the LMTP server: the input is what an LMTP client sends, cut
 * into reads at places the input's first byte chooses, and fed to a real
 * session (lmtp/lmtp-session.c) over a real connection whose peer never
 * reads, delivering into a real store with users alice and bob.  Every
 * line is also given to the command parsers on their own.  Whatever
 * arrives, the session must neither crash nor read past what arrived.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lmtp/lmtp-parse.h"
#include "lmtp/lmtp-session.h"
#include "net/conn.h"
#include "net/loop.h"
#include "store/store.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct loop *fuzz_loop;
static struct conn_set *fuzz_conns;
static struct store *fuzz_store;
static struct delivery_settings fuzz_settings = {.detail_folders = true,
                                                 .delimiter = '+'};
static struct lmtp_context fuzz_ctx;
static char fuzz_dir[] = "/tmp/fuzz-lmtp-XXXXXX";

static int
fuzz_remove(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

/* The store goes away with the fuzzer. */
static void
fuzz_cleanup(void)
{
	store_close(&fuzz_store);
	(void)nftw(fuzz_dir, fuzz_remove, 16, FTW_DEPTH | FTW_PHYS);
}

static void
fuzz_init(void)
{
	const char *error;
	if (mkdtemp(fuzz_dir) == NULL ||
	    store_open(fuzz_dir, &fuzz_store, &error) != STORE_OK ||
	    store_user_add(fuzz_store, "alice", &error) != STORE_OK ||
	    store_user_add(fuzz_store, "bob", &error) != STORE_OK)
		abort();
	atexit(fuzz_cleanup);
	fuzz_loop = loop_create();
	fuzz_conns = conn_set_create(fuzz_loop);
	fuzz_ctx = (struct lmtp_context){.store = fuzz_store,
	                                 .settings = &fuzz_settings,
	                                 .max_size = 4096,
	                                 .hostname = "fuzz.test"};
}

/* Each line through the parsers alone, copied to its exact size. */
static void
fuzz_parsers(const uint8_t *data, size_t size)
{
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		size_t len = i - start;
		char *line = xmalloc(len + 1);
		memcpy(line, data + start, len);
		struct lmtp_command cmd;
		struct lmtp_mail mail;
		struct lmtp_rcpt rcpt;
		const char *reply;
		uint64_t chunk;
		bool last;
		lmtp_parse_command(line, len, &cmd);
		(void)lmtp_parse_mail(cmd.arg, cmd.arg_len, &mail, &reply);
		if (lmtp_parse_rcpt(cmd.arg, cmd.arg_len, true, &rcpt,
		                    &reply) == 0) {
			char local[LMTP_PATH_MAX + 1],
			    domain[LMTP_PATH_MAX + 1];
			(void)lmtp_address_split(rcpt.address, local,
			                         sizeof(local), domain,
			                         sizeof(domain));
		}
		(void)lmtp_parse_bdat(cmd.arg, cmd.arg_len, &chunk, &last);
		free(line);
		start = i + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_store == NULL)
		fuzz_init();
	fuzz_parsers(data, size);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	struct conn_peer peer = {.name = "fuzz", .ip = "fuzz"};
	struct conn *conn = conn_create(fuzz_conns, sv[0], &peer);
	lmtp_session_start(conn, &fuzz_ctx);
	size_t step = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	for (size_t pos = 0; pos < size && !conn->closed; pos += step) {
		size_t n = size - pos < step ? size - pos : step;
		str_append(&conn->input, data + pos, n);
		conn_run(conn);
		lmtp_context_flush(&fuzz_ctx);
	}
	if (!conn->closed)
		conn_close(conn, "fuzz input done");
	conn_set_free_closed(fuzz_conns);
	close(sv[1]);
	return 0;
}
