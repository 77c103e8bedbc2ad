/*
 * Fuzzes the SASL mechanisms (src/auth/sasl-*.c), the parsers that meet
 * attacker bytes in the auth process.  Input: one byte choosing the
 * mechanism, one byte of connection facts (TLS or not, channel-binding
 * data, a certificate user), then the client's messages, each as a
 * 16-bit length and its bytes; a length of 0xffff means "no initial
 * response".  Every mechanism runs against an in-memory user source
 * holding credentials of every kind for "alice" (a cheap MD5-crypt
 * password, so a run stays fast).  Invariants: a step's result is one of
 * the three, OK names a user the source knows, FAIL leaves no user, and
 * the session frees cleanly (ASan, LeakSanitizer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/credentials.h"
#include "auth/otp.h"
#include "auth/sasl.h"
#include "auth/userdb-memory.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct userdb_memory fuzz_users;

static void
fuzz_random(void *buf, size_t len)
{
	memset(buf, 0x5a, len); /* reproducible runs */
}

static void
fuzz_init(void)
{
	userdb_memory_init(&fuzz_users);
	/* crypt(3) MD5 of "alicepw": cheap, unlike yescrypt. */
	userdb_memory_set(&fuzz_users, "alice", USERDB_PASSWORD,
	                  "$1$saltsalt$cPNNVyEez8RojF6/Z4sDz.");
	char value[USERDB_VALUE_MAX];
	sasl_random_set_hook(fuzz_random);
	if (scram_credential_make("alicepw", USERDB_SCRAM_SHA1, 16, value,
	                          sizeof(value)) == 0)
		userdb_memory_set(&fuzz_users, "alice", USERDB_SCRAM_SHA1,
		                  value);
	if (scram_credential_make("alicepw", USERDB_SCRAM_SHA256, 16, value,
	                          sizeof(value)) == 0)
		userdb_memory_set(&fuzz_users, "alice", USERDB_SCRAM_SHA256,
		                  value);
	if (cram_md5_credential_make("alicepw", value, sizeof(value)) == 0)
		userdb_memory_set(&fuzz_users, "alice", USERDB_CRAM_MD5, value);
	if (otp_credential_make("md5", 499, "ke1234", "This is a test.", value,
	                        sizeof(value)) == 0)
		userdb_memory_set(&fuzz_users, "alice", USERDB_OTP, value);
}

static void
fuzz_conn_info(uint8_t facts, struct sasl_conn_info *info)
{
	memset(info, 0, sizeof(*info));
	info->secured = (facts & 1) != 0;
	info->peer_ip = "192.0.2.1";
	if (facts & 2) {
		memset(info->cb_tls_exporter, 0x11, 32);
		info->cb_tls_exporter_len = 32;
	}
	if (facts & 4) {
		memset(info->cb_tls_server_end_point, 0x22, 32);
		info->cb_tls_server_end_point_len = 32;
	}
	if (facts & 8) {
		memset(info->cb_tls_unique, 0x33, 12);
		info->cb_tls_unique_len = 12;
	}
	if (facts & 16)
		casella_strlcpy(info->cert_user, "alice",
		                sizeof(info->cert_user));
}

/* Runs the client's messages through one session. */
static void
fuzz_session(const struct sasl_mech *mech, const struct sasl_conn_info *info,
             const uint8_t *data, size_t size)
{
	static const struct sasl_settings settings = {.hostname =
	                                                  "fuzz.example",
	                                              .cram_md5 = true,
	                                              .external = true,
	                                              .service = "imap"};
	struct sasl_session s;
	sasl_session_init(&s, mech, &settings, info, &fuzz_users.db);
	struct str out;
	str_init(&out, 64 * 1024);
	enum sasl_result r = SASL_CONTINUE;
	size_t pos = 0;
	while (r == SASL_CONTINUE && pos + 2 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		bool none = len == 0xffff;
		if (none)
			len = 0;
		if (len > size - pos)
			len = size - pos;
		str_reset(&out);
		r = sasl_step(&s, none ? NULL : data + pos, len, &out);
		pos += len;
	}
	i_assert(r == SASL_CONTINUE || r == SASL_OK || r == SASL_FAIL);
	if (r == SASL_OK)
		i_assert(strcmp(s.user, "alice") == 0);
	if (r == SASL_FAIL)
		i_assert(s.user[0] == '\0');
	str_free(&out);
	sasl_session_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		fuzz_init();
		ready = true;
	}
	if (size < 2)
		return 0;
	size_t count = 0;
	while (sasl_mech_at(count) != NULL)
		count++;
	const struct sasl_mech *mech = sasl_mech_at(data[0] % count);
	struct sasl_conn_info info;
	fuzz_conn_info(data[1], &info);
	fuzz_session(mech, &info, data + 2, size - 2);
	return 0;
}
