#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/otp.h"
#include "auth/sasl.h"
#include "auth/userdb-memory.h"
#include "lib/str.h"
#include "lib/util.h"
#include "test.h"

/* The pass phrase of the RFC 2444 examples. */
#define PASS "This is a test."

/* RFC 2289 Appendix C, the MD5 and SHA-1 vectors. */
static const struct {
	const char *alg, *passphrase, *seed;
	unsigned seq;
	const char *hex, *words;
} vectors[] = {
    {"md5", "This is a test.", "TeSt", 0, "9E876134D90499DD",
     "INCH SEA ANNE LONG AHEM TOUR"},
    {"md5", "This is a test.", "TeSt", 1, "7965E05436F5029F",
     "EASE OIL FUM CURE AWRY AVIS"},
    {"md5", "This is a test.", "TeSt", 99, "50FE1962C4965880",
     "BAIL TUFT BITS GANG CHEF THY"},
    {"md5", "AbCdEfGhIjK", "alpha1", 0, "87066DD9644BF206",
     "FULL PEW DOWN ONCE MORT ARC"},
    {"md5", "AbCdEfGhIjK", "alpha1", 1, "7CD34C1040ADD14B",
     "FACT HOOF AT FIST SITE KENT"},
    {"md5", "AbCdEfGhIjK", "alpha1", 99, "5AA37A81F212146C",
     "BODE HOP JAKE STOW JUT RAP"},
    {"md5", "OTP's are good", "correct", 0, "F205753943DE4CF9",
     "ULAN NEW ARMY FUSE SUIT EYED"},
    {"md5", "OTP's are good", "correct", 1, "DDCDAC956F234937",
     "SKIM CULT LOB SLAM POE HOWL"},
    {"md5", "OTP's are good", "correct", 99, "B203E28FA525BE47",
     "LONG IVY JULY AJAR BOND LEE"},
    {"sha1", "This is a test.", "TeSt", 0, "BB9E6AE1979D8FF4",
     "MILT VARY MAST OK SEES WENT"},
    {"sha1", "This is a test.", "TeSt", 1, "63D936639734385B",
     "CART OTTO HIVE ODE VAT NUT"},
    {"sha1", "This is a test.", "TeSt", 99, "87FEC7768B73CCF9",
     "GAFF WAIT SKID GIG SKY EYED"},
    {"sha1", "AbCdEfGhIjK", "alpha1", 0, "AD85F658EBE383C9",
     "LEST OR HEEL SCOT ROB SUIT"},
    {"sha1", "AbCdEfGhIjK", "alpha1", 1, "D07CE229B5CF119B",
     "RITE TAKE GELD COST TUNE RECK"},
    {"sha1", "AbCdEfGhIjK", "alpha1", 99, "27BC71035AAF3DC6",
     "MAY STAR TIN LYON VEDA STAN"},
    {"sha1", "OTP's are good", "correct", 0, "D51F3E99BF8E6F0B",
     "RUST WELT KICK FELL TAIL FRAU"},
    {"sha1", "OTP's are good", "correct", 1, "82AEB52D943774E4",
     "FLIT DOSE ALSO MEW DRUM DEFY"},
    {"sha1", "OTP's are good", "correct", 99, "4F296A74FE1567EC",
     "AURA ALOE HURL WING BERG WAIT"},
    /* Made by /work/shared/scripts/otp.py; the md5 ones are the RFC
     * 2444 examples. */
    {"sha1", PASS, "ke1234", 499, "1EF48366D04873E0",
     "ITS JUNE SEWN JANE FUME TUBA"},
    {"md5", PASS, "ke1234", 499, "5BF075D9959D036F",
     "BOND FOGY DRAB NE RISE MART"},
    {"md5", PASS, "ke1235", 499, "3712DCB4AA5316C1",
     "RED HERD NOW BEAN PA BURG"},
};

static bool
parse_alg(const char *name, enum otp_alg *alg_r)
{
	return otp_alg_parse(name, strlen(name), alg_r);
}

static bool
key_from_hex(const char *hex, unsigned char key_r[OTP_KEY_SIZE])
{
	return otp_key_from_hex(hex, strlen(hex), key_r);
}

static bool
key_from_words(const char *words, unsigned char key_r[OTP_KEY_SIZE])
{
	return otp_key_from_words(words, strlen(words), key_r);
}

/* Every vector, both ways: computed, encoded and parsed back. */
static void
test_vectors(void)
{
	for (size_t i = 0; i < N_ELEMENTS(vectors); i++) {
		enum otp_alg alg;
		unsigned char key[OTP_KEY_SIZE], parsed[OTP_KEY_SIZE];
		char hex[OTP_HEX_SIZE], words[OTP_WORDS_SIZE];
		test_assert(parse_alg(vectors[i].alg, &alg));
		test_assert(otp_compute(alg, vectors[i].seed,
		                        vectors[i].passphrase, vectors[i].seq,
		                        key) == 0);
		otp_key_to_hex(key, hex);
		test_assert(strcasecmp(hex, vectors[i].hex) == 0);
		otp_key_to_words(key, words);
		test_assert(strcmp(words, vectors[i].words) == 0);
		test_assert(key_from_hex(vectors[i].hex, parsed));
		test_assert(memcmp(parsed, key, OTP_KEY_SIZE) == 0);
		memset(parsed, 0, sizeof(parsed));
		test_assert(key_from_words(vectors[i].words, parsed));
		test_assert(memcmp(parsed, key, OTP_KEY_SIZE) == 0);
	}
}

/* The computation step alone links sequence n to n + 1. */
static void
test_hash_step(void)
{
	unsigned char k0[OTP_KEY_SIZE], k1[OTP_KEY_SIZE], step[OTP_KEY_SIZE];
	test_assert(otp_compute(OTP_ALG_SHA1, "TeSt", PASS, 0, k0) == 0);
	test_assert(otp_compute(OTP_ALG_SHA1, "TeSt", PASS, 1, k1) == 0);
	test_assert(otp_hash_fold(OTP_ALG_SHA1, k0, OTP_KEY_SIZE, step) == 0);
	test_assert(memcmp(step, k1, OTP_KEY_SIZE) == 0);
	/* The seed is case-insensitive. */
	test_assert(otp_compute(OTP_ALG_SHA1, "test", PASS, 1, step) == 0);
	test_assert(memcmp(step, k1, OTP_KEY_SIZE) == 0);
}

static void
test_algorithms(void)
{
	enum otp_alg alg;
	test_assert(parse_alg("md5", &alg) && alg == OTP_ALG_MD5);
	test_assert(parse_alg("SHA1", &alg) && alg == OTP_ALG_SHA1);
	test_assert(!parse_alg("md4", &alg));
	test_assert(!parse_alg("sha256", &alg));
	test_assert(!parse_alg("", &alg));
	test_assert(!parse_alg("md5 ", &alg));
	test_assert(strcmp(otp_alg_name(OTP_ALG_MD5), "md5") == 0);
	test_assert(strcmp(otp_alg_name(OTP_ALG_SHA1), "sha1") == 0);
}

static void
test_seed_and_passphrase_limits(void)
{
	unsigned char key[OTP_KEY_SIZE];
	test_assert(otp_seed_valid("a", 1));
	test_assert(otp_seed_valid("0123456789abcdef", 16));
	test_assert(!otp_seed_valid("0123456789abcdefg", 17));
	test_assert(!otp_seed_valid("", 0));
	test_assert(!otp_seed_valid("ke-1234", 7));
	test_assert(!otp_seed_valid("ke 1234", 7));
	test_assert(otp_compute(OTP_ALG_MD5, "seed", "123456789", 1, key) < 0);
	test_assert(otp_compute(OTP_ALG_MD5, "seed", "1234567890", 1, key) ==
	            0);
	char pass[OTP_PASSPHRASE_MAX + 2];
	memset(pass, 'p', sizeof(pass) - 1);
	pass[OTP_PASSPHRASE_MAX + 1] = '\0';
	test_assert(otp_compute(OTP_ALG_MD5, "seed", pass, 1, key) < 0);
	pass[OTP_PASSPHRASE_MAX] = '\0';
	test_assert(otp_compute(OTP_ALG_MD5, "seed", pass, 1, key) == 0);
	test_assert(otp_compute(OTP_ALG_MD5, "se-ed", PASS, 1, key) < 0);
	test_assert(
	    otp_compute(OTP_ALG_MD5, "seed", PASS, OTP_SEQ_MAX + 2, key) < 0);
	char seed[OTP_SEED_MAX + 1];
	const unsigned char bytes[6] = {0, 25, 0, 9, 10, 255};
	otp_seed_from_bytes(bytes, seed);
	test_assert(strcmp(seed, "az0905") == 0);
}

static void
test_hex_parsing(void)
{
	unsigned char key[OTP_KEY_SIZE], want[OTP_KEY_SIZE];
	test_assert(key_from_hex("9E876134D90499DD", want));
	static const char *const good[] = {
	    "9e876134d90499dd",
	    "9E87 6134 D904 99DD",
	    " 9e87\t6134 d904 99dd\r\n",
	    "9 e 8 7 6 1 3 4 d 9 0 4 9 9 d d",
	};
	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		memset(key, 0, sizeof(key));
		test_assert(key_from_hex(good[i], key));
		test_assert(memcmp(key, want, OTP_KEY_SIZE) == 0);
	}
	static const char *const bad[] = {
	    "",
	    "9e876134d90499d",
	    "9e876134d90499ddd",
	    "9e876134d90499dg",
	    "0x9e876134d90499",
	    "9e87-6134-d904-99dd",
	    "           ",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		test_assert(!key_from_hex(bad[i], key));
}

static void
test_word_parsing(void)
{
	unsigned char key[OTP_KEY_SIZE], want[OTP_KEY_SIZE];
	test_assert(key_from_hex("9E876134D90499DD", want));
	static const char *const good[] = {
	    "inch sea anne long ahem tour",
	    "Inch SEA aNNe  long\tahem\r\ntour",
	    "  INCH SEA ANNE LONG AHEM TOUR  ",
	};
	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		memset(key, 0, sizeof(key));
		test_assert(key_from_words(good[i], key));
		test_assert(memcmp(key, want, OTP_KEY_SIZE) == 0);
	}
	static const char *const bad[] = {
	    "",
	    "INCH SEA ANNE LONG AHEM",
	    "INCH SEA ANNE LONG AHEM TOUR TOUR",
	    "INCH SEA ANNE LONG AHEM TOUX",
	    "INCH SEA ANNE LONG AHEM TOURS",
	    "INCH,SEA,ANNE,LONG,AHEM,TOUR",
	    "INCH SEA ANNE LONG AHEM T0UR",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		test_assert(!key_from_words(bad[i], key));
}

/* The dictionary word at index i: the first word of the key whose top 11
 * bits are i. */
static void
dict_word(unsigned i, char word_r[5])
{
	unsigned char key[OTP_KEY_SIZE] = {0};
	char words[OTP_WORDS_SIZE];
	key[0] = (unsigned char)(i >> 3);
	key[1] = (unsigned char)((i & 7) << 5);
	otp_key_to_words(key, words);
	size_t len = strcspn(words, " ");
	memcpy(word_r, words, len);
	word_r[len] = '\0';
}

/* Every word decodes to its own index (the lookup finds all 2048). */
static void
test_dictionary_round_trip(void)
{
	for (unsigned i = 0; i < 2048; i++) {
		unsigned char key[OTP_KEY_SIZE] = {0}, parsed[OTP_KEY_SIZE];
		char words[OTP_WORDS_SIZE];
		key[0] = (unsigned char)(i >> 3);
		key[1] = (unsigned char)((i & 7) << 5);
		key[7] = (unsigned char)i;
		otp_key_to_words(key, words);
		test_assert(key_from_words(words, parsed));
		test_assert(memcmp(parsed, key, OTP_KEY_SIZE) == 0);
	}
	char first[5], last[5];
	dict_word(0, first);
	dict_word(2047, last);
	test_assert(strcmp(first, "A") == 0 && strcmp(last, "YOKE") == 0);
}

/* The last word carries 2 checksum bits: each of its three neighbours
 * that differ only there must be refused. */
static void
test_checksum_rejected(void)
{
	const char *words = "INCH SEA ANNE LONG AHEM TOUR";
	unsigned tour = 2048;
	char word[5];
	for (unsigned i = 0; i < 2048 && tour == 2048; i++) {
		dict_word(i, word);
		if (strcmp(word, "TOUR") == 0)
			tour = i;
	}
	test_assert(tour < 2048);
	for (unsigned flip = 1; flip < 4; flip++) {
		char changed[OTP_WORDS_SIZE];
		unsigned char key[OTP_KEY_SIZE];
		dict_word(tour ^ flip, word);
		snprintf(changed, sizeof(changed), "%.*s%s",
		         (int)(strlen(words) - 4), words, word);
		test_assert(!key_from_words(changed, key));
	}
}

static void
test_credential_make(void)
{
	char value[USERDB_VALUE_MAX];
	test_assert(otp_credential_make("md5", 499, "KE1234", PASS, value,
	                                sizeof(value)) == 0);
	test_assert(strcmp(value, "md5 500 ke1234 505d889f90085847") == 0);
	test_assert(otp_credential_make("sha1", OTP_SEQ_MAX, "abc", PASS, value,
	                                sizeof(value)) == 0);
	test_assert(strcmp(value, "sha1 10000 abc 4e9828d74443f6a4") == 0);
	test_assert(otp_credential_make("md4", 499, "ke1234", PASS, value,
	                                sizeof(value)) < 0);
	test_assert(value[0] == '\0');
	test_assert(otp_credential_make("md5", 0, "ke1234", PASS, value,
	                                sizeof(value)) < 0);
	test_assert(otp_credential_make("md5", OTP_SEQ_MAX + 1, "ke1234", PASS,
	                                value, sizeof(value)) < 0);
	test_assert(otp_credential_make("md5", 499, "", PASS, value,
	                                sizeof(value)) < 0);
	test_assert(otp_credential_make("md5", 499, "ke1234", "short", value,
	                                sizeof(value)) < 0);
	test_assert(otp_credential_make("md5", 499, "ke1234", PASS, value, 20) <
	            0);
	test_assert(value[0] == '\0');
}

static void
test_state_parse_format(void)
{
	struct otp_state st;
	char value[USERDB_VALUE_MAX];
	test_assert(otp_state_parse("sha1 0 Ab12 0123456789ABCDEF", &st));
	test_assert(st.alg == OTP_ALG_SHA1 && st.seq == 0);
	test_assert(strcmp(st.seed, "ab12") == 0);
	test_assert(otp_state_format(&st, value, sizeof(value)) == 0);
	test_assert(strcmp(value, "sha1 0 ab12 0123456789abcdef") == 0);
	test_assert(otp_state_format(&st, value, 10) < 0 && value[0] == '\0');
	static const char *const bad[] = {
	    "",
	    "md5 500 ke1234",
	    "md5 500 ke1234 9e876134d90499dd x",
	    "md4 500 ke1234 9e876134d90499dd",
	    "md5 10001 ke1234 9e876134d90499dd",
	    "md5 -1 ke1234 9e876134d90499dd",
	    "md5 5x ke1234 9e876134d90499dd",
	    "md5 500 ke-234 9e876134d90499dd",
	    "md5 500 ke1234 9e876134d90499d",
	    "md5 500 ke1234 9e876134d90499ddd",
	    "md5 500 ke1234 9e876134d90499dz",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		test_assert(!otp_state_parse(bad[i], &st));
	const char *params = " SHA1\t12   AbC \r\n";
	test_assert(otp_params_parse(params, strlen(params), &st));
	test_assert(st.alg == OTP_ALG_SHA1 && st.seq == 12 &&
	            strcmp(st.seed, "abc") == 0);
	test_assert(!otp_params_parse("md5 12", 6, &st));
}

/* SASL exchanges against an in-memory user source. */

static const struct sasl_settings settings = {.service = "imap"};
static const struct sasl_conn_info conn_info = {.peer_ip = "192.0.2.1"};

/* A store with alice on a fresh md5 chain whose first challenge is
 * "otp-md5 SEQ ke1234 ext", and bob with a password only. */
static void
db_init(struct userdb_memory *mem, unsigned seq)
{
	char value[USERDB_VALUE_MAX];
	userdb_memory_init(mem);
	test_assert(otp_credential_make("md5", seq, "ke1234", PASS, value,
	                                sizeof(value)) == 0);
	userdb_memory_set(mem, "alice", USERDB_OTP, value);
	userdb_memory_set(mem, "bob", USERDB_PASSWORD, "$y$j9T$x$y");
}

static const char *
stored(struct userdb_memory *mem, const char *user)
{
	for (size_t i = 0; i < mem->user_count; i++) {
		if (strcmp(mem->users[i].name, user) == 0)
			return mem->users[i].value[USERDB_OTP];
	}
	return "";
}

/* One step with raw bytes; copies the challenge to out_r. */
static enum sasl_result
step(struct sasl_session *s, const void *in, size_t len, char *out_r,
     size_t size)
{
	struct str out;
	str_init(&out, 4096);
	enum sasl_result r = sasl_step(s, in, len, &out);
	snprintf(out_r, size, "%s", out.data != NULL ? out.data : "");
	str_free(&out);
	return r;
}

/* Starts an OTP session as authcid (with authzid, maybe "") and returns
 * the server's result; the challenge goes to challenge_r. */
static enum sasl_result
start(struct sasl_session *s, struct userdb_memory *mem, const char *authzid,
      const char *authcid, char challenge_r[128])
{
	char msg[256];
	size_t zlen = strlen(authzid), clen = strlen(authcid);
	memcpy(msg, authzid, zlen);
	msg[zlen] = '\0';
	memcpy(msg + zlen + 1, authcid, clen);
	sasl_session_init(s, &sasl_mech_otp, &settings, &conn_info, &mem->db);
	return step(s, msg, zlen + 1 + clen, challenge_r, 128);
}

static enum sasl_result
respond(struct sasl_session *s, const char *response)
{
	char out[128];
	enum sasl_result r =
	    step(s, response, strlen(response), out, sizeof(out));
	test_assert(out[0] == '\0');
	return r;
}

/* What a client answers to "otp-ALG SEQ SEED ext". */
static void
client_answer(const char *challenge, const char *passphrase, bool hex,
              char response_r[64])
{
	char alg_name[8] = "", seed[OTP_SEED_MAX + 1] = "", ext[8] = "";
	unsigned seq = 0;
	enum otp_alg alg = OTP_ALG_MD5;
	unsigned char key[OTP_KEY_SIZE] = {0};
	char text[OTP_WORDS_SIZE];
	test_assert(sscanf(challenge, "otp-%7s %u %16s %7s", alg_name, &seq,
	                   seed, ext) == 4);
	test_assert(strcmp(ext, "ext") == 0 && parse_alg(alg_name, &alg));
	test_assert(otp_compute(alg, seed, passphrase, seq, key) == 0);
	if (hex)
		otp_key_to_hex(key, text);
	else
		otp_key_to_words(key, text);
	snprintf(response_r, 64, "%s:%s", hex ? "hex" : "word", text);
}

/* A whole login by a client that knows passphrase. */
static enum sasl_result
login(struct userdb_memory *mem, const char *user, const char *passphrase,
      bool hex, char challenge_r[128])
{
	struct sasl_session s;
	char response[64];
	enum sasl_result r = start(&s, mem, "", user, challenge_r);
	test_assert(r == SASL_CONTINUE);
	client_answer(challenge_r, passphrase, hex, response);
	r = respond(&s, response);
	if (r == SASL_OK)
		test_assert(strcmp(s.user, user) == 0);
	sasl_session_free(&s);
	return r;
}

/* Starts alice's session, sends response, and returns the result; the
 * failure goes to failure_r. */
static enum sasl_result
answer_once(struct userdb_memory *mem, const char *response, size_t len,
            enum sasl_failure *failure_r)
{
	struct sasl_session s;
	char challenge[128], out[128];
	test_assert(start(&s, mem, "", "alice", challenge) == SASL_CONTINUE);
	enum sasl_result r = step(&s, response, len, out, sizeof(out));
	*failure_r = s.failure;
	sasl_session_free(&s);
	return r;
}

static enum sasl_result
answer(struct userdb_memory *mem, const char *response,
       enum sasl_failure *failure_r)
{
	return answer_once(mem, response, strlen(response), failure_r);
}

static void
test_mech_registered(void)
{
	test_assert(sasl_mech_find("otp", 3) == &sasl_mech_otp);
	test_assert(strcmp(sasl_mech_otp.name, "OTP") == 0);
	test_assert(sasl_mech_otp.flags == 0);
	test_assert(sasl_mech_usable(&sasl_mech_otp, &settings, false, false));
}

/* The RFC 2444 example exchange, with and without an initial response. */
static void
test_login_hex_and_word(void)
{
	struct userdb_memory mem;
	struct sasl_session s;
	char challenge[128];
	db_init(&mem, 499);
	sasl_session_init(&s, &sasl_mech_otp, &settings, &conn_info, &mem.db);
	test_assert(step(&s, NULL, 0, challenge, sizeof(challenge)) ==
	            SASL_CONTINUE);
	test_assert(challenge[0] == '\0');
	test_assert(step(&s, "\0alice", 6, challenge, sizeof(challenge)) ==
	            SASL_CONTINUE);
	test_assert(strcmp(challenge, "otp-md5 499 ke1234 ext") == 0);
	test_assert(respond(&s, "hex:5bf075d9959d036f") == SASL_OK);
	test_assert(strcmp(s.user, "alice") == 0);
	/* A finished exchange takes no more steps. */
	test_assert(respond(&s, "hex:5bf075d9959d036f") == SASL_FAIL);
	sasl_session_free(&s);
	test_assert(strcmp(stored(&mem, "alice"),
	                   "md5 499 ke1234 5bf075d9959d036f") == 0);

	db_init(&mem, 499);
	test_assert(start(&s, &mem, "alice", "alice", challenge) ==
	            SASL_CONTINUE);
	test_assert(respond(&s, "word:BOND FOGY DRAB NE RISE MART") == SASL_OK);
	sasl_session_free(&s);
}

/* Types are case-insensitive, and whitespace is taken wherever a
 * response allows it (RFC 2243 2.2). */
static void
test_login_lenient_syntax(void)
{
	static const char *const good[] = {
	    "HEX:5BF075D9959D036F",
	    " hex : 5bf0 75d9 959d 036f \r\n",
	    "Word:bond fogy drab ne rise mart\r\n",
	    "word:  BOND\tFOGY DRAB  NE RISE MART",
	};
	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		struct userdb_memory mem;
		enum sasl_failure failure;
		db_init(&mem, 499);
		test_assert(answer(&mem, good[i], &failure) == SASL_OK);
	}
}

static void
test_wrong_response(void)
{
	struct userdb_memory mem;
	enum sasl_failure failure;
	char challenge[128];
	db_init(&mem, 499);
	char before[USERDB_VALUE_MAX];
	snprintf(before, sizeof(before), "%s", stored(&mem, "alice"));
	test_assert(login(&mem, "alice", "Not the pass phrase", false,
	                  challenge) == SASL_FAIL);
	test_assert(answer(&mem, "hex:5bf075d9959d036e", &failure) ==
	                SASL_FAIL &&
	            failure == SASL_FAIL_CREDENTIALS);
	/* The OTP for another sequence (the one already used). */
	test_assert(answer(&mem, "hex:505d889f90085847", &failure) ==
	                SASL_FAIL &&
	            failure == SASL_FAIL_CREDENTIALS);
	test_assert(strcmp(stored(&mem, "alice"), before) == 0);
	test_assert(login(&mem, "alice", PASS, true, challenge) == SASL_OK);
}

static void
test_replay_fails(void)
{
	struct userdb_memory mem;
	enum sasl_failure failure;
	db_init(&mem, 499);
	test_assert(answer(&mem, "hex:5bf075d9959d036f", &failure) == SASL_OK);
	test_assert(answer(&mem, "hex:5bf075d9959d036f", &failure) ==
	                SASL_FAIL &&
	            failure == SASL_FAIL_CREDENTIALS);
	test_assert(answer(&mem, "word:BOND FOGY DRAB NE RISE MART",
	                   &failure) == SASL_FAIL);
	test_assert(answer(&mem,
	                   "init-hex:5bf075d9959d036f:md5 499 ke1235:"
	                   "3712dcb4aa5316c1",
	                   &failure) == SASL_FAIL);
	test_assert(strcmp(stored(&mem, "alice"),
	                   "md5 499 ke1234 5bf075d9959d036f") == 0);
}

/* Two sessions given the same challenge: the first answer wins, the
 * same answer in the second fails. */
static void
test_race_same_challenge(void)
{
	struct userdb_memory mem;
	struct sasl_session s1, s2;
	char c1[128], c2[128];
	db_init(&mem, 499);
	test_assert(start(&s1, &mem, "", "alice", c1) == SASL_CONTINUE);
	test_assert(start(&s2, &mem, "", "alice", c2) == SASL_CONTINUE);
	test_assert(strcmp(c1, c2) == 0);
	test_assert(respond(&s1, "hex:5bf075d9959d036f") == SASL_OK);
	test_assert(respond(&s2, "hex:5bf075d9959d036f") == SASL_FAIL);
	test_assert(s2.failure == SASL_FAIL_CREDENTIALS);
	test_assert(s2.user[0] == '\0');
	sasl_session_free(&s1);
	sasl_session_free(&s2);

	/* The same with an init-* second: it must not replace the chain. */
	db_init(&mem, 499);
	test_assert(start(&s1, &mem, "", "alice", c1) == SASL_CONTINUE);
	test_assert(start(&s2, &mem, "", "alice", c2) == SASL_CONTINUE);
	test_assert(respond(&s1, "word:BOND FOGY DRAB NE RISE MART") ==
	            SASL_OK);
	test_assert(respond(&s2, "init-hex:5bf075d9959d036f:md5 499 ke1235:"
	                         "3712dcb4aa5316c1") == SASL_FAIL);
	test_assert(strcmp(stored(&mem, "alice"),
	                   "md5 499 ke1234 5bf075d9959d036f") == 0);
	sasl_session_free(&s1);
	sasl_session_free(&s2);
}

static void
test_sequence_counts_down(void)
{
	struct userdb_memory mem;
	char challenge[128], want[128], value[USERDB_VALUE_MAX];
	userdb_memory_init(&mem);
	test_assert(otp_credential_make("sha1", 20, "Chain7", PASS, value,
	                                sizeof(value)) == 0);
	userdb_memory_set(&mem, "carol", USERDB_OTP, value);
	for (unsigned seq = 20; seq > 10; seq--) {
		test_assert(login(&mem, "carol", PASS, seq % 2 == 0,
		                  challenge) == SASL_OK);
		snprintf(want, sizeof(want), "otp-sha1 %u chain7 ext", seq);
		test_assert(strcmp(challenge, want) == 0);
	}
	test_assert(strncmp(stored(&mem, "carol"), "sha1 11 chain7 ", 15) == 0);
}

/* The RFC 2444 init-hex and init-word examples, then a login on the new
 * chain. */
static void
test_init_examples(void)
{
	static const char *const inits[] = {
	    "init-hex:5bf075d9959d036f:md5 499 ke1235:3712dcb4aa5316c1",
	    ("init-word:BOND FOGY DRAB NE RISE MART:md5 499 ke1235:"
	     "RED HERD NOW BEAN PA BURG"),
	    ("INIT-WORD: bond fogy drab ne rise mart : MD5 499 KE1235 :"
	     " red herd now bean pa burg \r\n"),
	};
	for (size_t i = 0; i < N_ELEMENTS(inits); i++) {
		struct userdb_memory mem;
		enum sasl_failure failure;
		char challenge[128];
		db_init(&mem, 499);
		test_assert(answer(&mem, inits[i], &failure) == SASL_OK);
		test_assert(strcmp(stored(&mem, "alice"),
		                   "md5 499 ke1235 3712dcb4aa5316c1") == 0);
		test_assert(login(&mem, "alice", PASS, false, challenge) ==
		            SASL_OK);
		test_assert(strcmp(challenge, "otp-md5 498 ke1235 ext") == 0);
	}
}

/* Re-initialise to another algorithm and pass phrase. */
static void
test_init_new_chain(void)
{
	struct userdb_memory mem;
	enum sasl_failure failure;
	char challenge[128], response[160], hex[OTP_HEX_SIZE];
	unsigned char key[OTP_KEY_SIZE];
	const char *pass2 = "A brand new pass phrase";
	db_init(&mem, 499);
	test_assert(otp_compute(OTP_ALG_SHA1, "Fresh1", pass2, 100, key) == 0);
	otp_key_to_hex(key, hex);
	snprintf(response, sizeof(response),
	         "init-hex:5bf075d9959d036f:sha1 100 Fresh1:%s", hex);
	test_assert(answer(&mem, response, &failure) == SASL_OK);
	test_assert(login(&mem, "alice", PASS, true, challenge) == SASL_FAIL);
	test_assert(strcmp(challenge, "otp-sha1 99 fresh1 ext") == 0);
	test_assert(login(&mem, "alice", pass2, true, challenge) == SASL_OK);
	test_assert(login(&mem, "alice", pass2, false, challenge) == SASL_OK);
	test_assert(strcmp(challenge, "otp-sha1 98 fresh1 ext") == 0);
}

/* A bad init-* with a right current OTP fails, but the OTP crossed the
 * wire and is used up all the same. */
static void
test_init_bad_params(void)
{
	static const char *const bad[] = {
	    "init-hex:5bf075d9959d036f:md5 0 ke1235:3712dcb4aa5316c1",
	    "init-hex:5bf075d9959d036f:md5 10000 ke1235:3712dcb4aa5316c1",
	    "init-hex:5bf075d9959d036f:md4 499 ke1235:3712dcb4aa5316c1",
	    "init-hex:5bf075d9959d036f:md5 499 ke-235:3712dcb4aa5316c1",
	    "init-hex:5bf075d9959d036f:md5 499:3712dcb4aa5316c1",
	    "init-hex:5bf075d9959d036f:md5 499 ke1235 x:3712dcb4aa5316c1",
	    "init-hex:5bf075d9959d036f:md5 499 ke1235:3712dcb4aa5316c",
	    "init-hex:5bf075d9959d036f:md5 499 ke1235",
	    "init-hex:5bf075d9959d036f:md5 499 ke1235:3712dcb4aa5316c1:x",
	    "init-hex:5bf075d9959d036f",
	    /* The same seed would revive the old chain's OTPs. */
	    "init-hex:5bf075d9959d036f:md5 499 KE1234:3712dcb4aa5316c1",
	    /* init-word wants words for the new OTP too. */
	    ("init-word:BOND FOGY DRAB NE RISE MART:md5 499 ke1235:"
	     "3712dcb4aa5316c1"),
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct userdb_memory mem;
		enum sasl_failure failure;
		db_init(&mem, 499);
		test_assert(answer(&mem, bad[i], &failure) == SASL_FAIL);
		test_assert(failure == SASL_FAIL_MALFORMED);
		test_assert(strcmp(stored(&mem, "alice"),
		                   "md5 499 ke1234 5bf075d9959d036f") == 0);
	}
	/* With a wrong current OTP nothing changes. */
	struct userdb_memory mem;
	enum sasl_failure failure;
	db_init(&mem, 499);
	test_assert(answer(&mem, "init-hex:5bf075d9959d036e:md5 0 x:00",
	                   &failure) == SASL_FAIL &&
	            failure == SASL_FAIL_CREDENTIALS);
	test_assert(strcmp(stored(&mem, "alice"),
	                   "md5 500 ke1234 505d889f90085847") == 0);
}

/* The last OTP of a chain (sequence 0) only serves to re-initialise. */
static void
test_sequence_zero(void)
{
	struct userdb_memory mem;
	enum sasl_failure failure;
	char challenge[128], challenge2[128], response[200];
	char hex0[OTP_HEX_SIZE];
	unsigned char key[OTP_KEY_SIZE];
	test_assert(otp_compute(OTP_ALG_MD5, "ke1234", PASS, 0, key) == 0);
	otp_key_to_hex(key, hex0);

	db_init(&mem, 1);
	test_assert(login(&mem, "alice", PASS, true, challenge) == SASL_OK);
	test_assert(strcmp(challenge, "otp-md5 1 ke1234 ext") == 0);
	test_assert(login(&mem, "alice", PASS, true, challenge) == SASL_FAIL);
	test_assert(strcmp(challenge, "otp-md5 0 ke1234 ext") == 0);
	/* Used up: from now on the chain is gone, and the challenge is the
	 * fake one an unknown user gets. */
	test_assert(strncmp(stored(&mem, "alice"), "md5 0 ke1234 ", 13) == 0);
	test_assert(login(&mem, "alice", PASS, true, challenge) == SASL_FAIL);
	test_assert(strncmp(challenge, "otp-md5 499 ", 12) == 0);
	test_assert(login(&mem, "alice", PASS, true, challenge2) == SASL_FAIL);
	test_assert(strcmp(challenge, challenge2) == 0);
	snprintf(response, sizeof(response),
	         "init-hex:%s:md5 499 ke1235:3712dcb4aa5316c1", hex0);
	test_assert(answer(&mem, response, &failure) == SASL_FAIL);

	/* At sequence 0, an init-* works. */
	db_init(&mem, 1);
	test_assert(login(&mem, "alice", PASS, false, challenge) == SASL_OK);
	test_assert(answer(&mem, response, &failure) == SASL_OK);
	test_assert(login(&mem, "alice", PASS, false, challenge) == SASL_OK);
	test_assert(strcmp(challenge, "otp-md5 498 ke1235 ext") == 0);
}

/* Returns whether challenge looks like the fake one. */
static bool
fake_challenge(const char *challenge)
{
	char seed[OTP_SEED_MAX + 1] = "";
	unsigned seq = 0;
	if (sscanf(challenge, "otp-md5 %u %16s ext", &seq, seed) != 2)
		return false;
	return seq == 499 && strlen(seed) == 6 && seed[0] >= 'a' &&
	       seed[1] >= 'a' && seed[2] >= '0' && seed[2] <= '9' &&
	       seed[5] >= '0' && seed[5] <= '9';
}

/* Unknown users, users without an OTP chain and unreadable chains all get
 * a plausible challenge, the same each time, then fail. */
static void
test_unknown_user(void)
{
	struct userdb_memory mem;
	char c1[128], c2[128], c3[128];
	db_init(&mem, 499);
	userdb_memory_set(&mem, "dave", USERDB_OTP, "md5 five ke1234 00");
	test_assert(login(&mem, "nobody", PASS, true, c1) == SASL_FAIL);
	test_assert(login(&mem, "nobody", PASS, false, c2) == SASL_FAIL);
	test_assert(login(&mem, "nobody2", PASS, false, c3) == SASL_FAIL);
	test_assert(fake_challenge(c1) && fake_challenge(c3));
	test_assert(strcmp(c1, c2) == 0);
	test_assert(strcmp(c1, c3) != 0); /* 1 in 6.8 million to collide */
	test_assert(login(&mem, "bob", PASS, true, c1) == SASL_FAIL);
	test_assert(fake_challenge(c1));
	test_assert(login(&mem, "dave", PASS, true, c1) == SASL_FAIL);
	test_assert(fake_challenge(c1));

	struct sasl_session s;
	test_assert(start(&s, &mem, "", "nobody", c1) == SASL_CONTINUE);
	test_assert(respond(&s, "hex:5bf075d9959d036f") == SASL_FAIL);
	test_assert(s.failure == SASL_FAIL_CREDENTIALS);
	sasl_session_free(&s);
}

static void
test_identity_errors(void)
{
	struct userdb_memory mem;
	struct sasl_session s;
	char out[128];
	db_init(&mem, 499);
	static const struct {
		const char *msg;
		size_t len;
		enum sasl_failure failure;
	} bad[] = {
	    {"alice", 5, SASL_FAIL_MALFORMED},
	    {"", 0, SASL_FAIL_MALFORMED},
	    {"\0", 1, SASL_FAIL_CREDENTIALS},
	    {"\0ali ce", 7, SASL_FAIL_CREDENTIALS},
	    {"\0alice\0", 7, SASL_FAIL_CREDENTIALS},
	    {"bob\0alice", 9, SASL_FAIL_AUTHZ},
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		sasl_session_init(&s, &sasl_mech_otp, &settings, &conn_info,
		                  &mem.db);
		test_assert(step(&s, bad[i].msg, bad[i].len, out,
		                 sizeof(out)) == SASL_FAIL);
		test_assert(s.failure == bad[i].failure);
		test_assert(out[0] == '\0');
		sasl_session_free(&s);
	}
	char longname[USERDB_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	test_assert(start(&s, &mem, "", longname, out) == SASL_FAIL);
	sasl_session_free(&s);
}

/* Every malformed answer fails as such, and changes nothing. */
static void
test_malformed_responses(void)
{
	static const char *const bad[] = {
	    "",
	    "5bf075d9959d036f",
	    "BOND FOGY DRAB NE RISE MART",
	    ":5bf075d9959d036f",
	    "foo:5bf075d9959d036f",
	    "hexx:5bf075d9959d036f",
	    "x-hex:5bf075d9959d036f",
	    "hex",
	    "hex:",
	    "hex:5bf075d9959d036",
	    "hex:5bf075d9959d036f0",
	    "hex:5bf075d9959d036g",
	    "hex:0x5bf075d9959d03",
	    "hex:5bf075d9959d036f:",
	    "hex:5bf075d9959d036f:md5 499 ke1235:3712dcb4aa5316c1",
	    "word:BOND FOGY DRAB NE RISE",
	    "word:BOND FOGY DRAB NE RISE MART MART",
	    "word:BOND FOGY DRAB NE RISE MARX",
	    "word:BOND FOGY DRAB NE RISE MAST",
	    "word:5bf075d9959d036f",
	    "hex:BOND FOGY DRAB NE RISE MART",
	    "init-hex:5bf075d9959d03:md5 499 ke1235:3712dcb4aa5316c1",
	    "init-hex::md5 499 ke1235:3712dcb4aa5316c1",
	    "init-word:5bf075d9959d036f:md5 499 ke1235:3712dcb4aa5316c1",
	    "init:5bf075d9959d036f:md5 499 ke1235:3712dcb4aa5316c1",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct userdb_memory mem;
		enum sasl_failure failure;
		db_init(&mem, 499);
		test_assert(answer(&mem, bad[i], &failure) == SASL_FAIL);
		if (failure != SASL_FAIL_MALFORMED)
			fprintf(stderr, "  not malformed: %s\n", bad[i]);
		test_assert(failure == SASL_FAIL_MALFORMED);
		test_assert(strcmp(stored(&mem, "alice"),
		                   "md5 500 ke1234 505d889f90085847") == 0);
	}
	struct userdb_memory mem;
	enum sasl_failure failure;
	db_init(&mem, 499);
	/* A NUL inside, and an overlong response of whitespace. */
	test_assert(answer_once(&mem,
	                        "hex:5bf075d9\0"
	                        "959d036f",
	                        21, &failure) == SASL_FAIL &&
	            failure == SASL_FAIL_MALFORMED);
	char longer[600];
	memset(longer, ' ', sizeof(longer));
	memcpy(longer, "hex:5bf075d9959d036f", 20);
	test_assert(answer_once(&mem, longer, sizeof(longer), &failure) ==
	                SASL_FAIL &&
	            failure == SASL_FAIL_MALFORMED);
	test_assert(answer_once(&mem, longer, 512, &failure) == SASL_OK);
}

static void
test_userdb_errors(void)
{
	struct userdb_memory mem;
	struct sasl_session s;
	char challenge[128];
	db_init(&mem, 499);
	mem.fail = true;
	test_assert(start(&s, &mem, "", "alice", challenge) == SASL_FAIL);
	test_assert(s.failure == SASL_FAIL_TEMPORARY);
	sasl_session_free(&s);

	mem.fail = false;
	test_assert(start(&s, &mem, "", "alice", challenge) == SASL_CONTINUE);
	mem.fail = true;
	test_assert(respond(&s, "hex:5bf075d9959d036f") == SASL_FAIL);
	test_assert(s.failure == SASL_FAIL_TEMPORARY);
	sasl_session_free(&s);
	mem.fail = false;
	test_assert(strcmp(stored(&mem, "alice"),
	                   "md5 500 ke1234 505d889f90085847") == 0);

	/* The user was removed between challenge and response. */
	test_assert(start(&s, &mem, "", "alice", challenge) == SASL_CONTINUE);
	userdb_memory_set(&mem, "alice", USERDB_OTP, "");
	test_assert(respond(&s, "hex:5bf075d9959d036f") == SASL_FAIL);
	test_assert(s.failure == SASL_FAIL_CREDENTIALS);
	sasl_session_free(&s);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"RFC 2289 vectors, hex and words", test_vectors},
	    {"computation step", test_hash_step},
	    {"algorithms", test_algorithms},
	    {"seed and pass phrase limits", test_seed_and_passphrase_limits},
	    {"hex parsing", test_hex_parsing},
	    {"word parsing", test_word_parsing},
	    {"dictionary round trip", test_dictionary_round_trip},
	    {"six-word checksum rejected", test_checksum_rejected},
	    {"credential make", test_credential_make},
	    {"state parse and format", test_state_parse_format},
	    {"mechanism registered", test_mech_registered},
	    {"login with hex and words", test_login_hex_and_word},
	    {"lenient response syntax", test_login_lenient_syntax},
	    {"wrong response", test_wrong_response},
	    {"replay fails", test_replay_fails},
	    {"two sessions, one challenge", test_race_same_challenge},
	    {"sequence counts down", test_sequence_counts_down},
	    {"init-hex and init-word", test_init_examples},
	    {"init to a new chain", test_init_new_chain},
	    {"init with bad params", test_init_bad_params},
	    {"sequence zero", test_sequence_zero},
	    {"unknown user", test_unknown_user},
	    {"identity errors", test_identity_errors},
	    {"malformed responses", test_malformed_responses},
	    {"user source errors", test_userdb_errors},
	};
	return test_run("otp", cases, N_ELEMENTS(cases));
}
