/* Admin operations on accounts: mail store and credential store in step. */
#include "auth/account.h"

#include <string.h>

#include "auth/credentials.h"
#include "auth/otp.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "lib/util.h"

/* Credentials made from a password: every kind but the OTP state. */
static const enum userdb_kind account_password_kinds[] = {
    USERDB_PASSWORD,
    USERDB_SCRAM_SHA1,
    USERDB_SCRAM_SHA256,
    USERDB_CRAM_MD5,
};
#define ACCOUNT_PASSWORD_KINDS N_ELEMENTS(account_password_kinds)

static _Thread_local char account_error[256];

static enum store_result
account_fail(enum store_result ret, const char *message, const char **error_r)
{
	casella_strlcpy(account_error, message, sizeof(account_error));
	*error_r = account_error;
	return ret;
}

bool
account_cram_md5_enabled(struct cred_store *cs)
{
	char value[16];
	const char *error;
	return cred_store_setting_get(cs, "cram-md5", value, sizeof(value),
	                              &error) != STORE_OK ||
	       strcmp(value, "off") != 0;
}

/* Stores the password's credentials for name, creating or updating. */
static enum store_result
account_put_password(struct cred_store *cs, const char *name,
                     const char *password, enum cred_put_mode mode,
                     const char **error_r)
{
	if (!password_is_acceptable(password))
		return account_fail(STORE_DENIED,
		                    "password must be 1..1024 "
		                    "bytes",
		                    error_r);
	struct credentials_options options = {
	    .cram_md5 = account_cram_md5_enabled(cs),
	};
	struct credentials creds;
	if (credentials_from_password(password, &options, &creds) < 0)
		return account_fail(STORE_ERROR, "password hashing failed",
		                    error_r);
	struct cred_value values[ACCOUNT_PASSWORD_KINDS];
	for (size_t i = 0; i < ACCOUNT_PASSWORD_KINDS; i++) {
		enum userdb_kind kind = account_password_kinds[i];
		values[i].kind = userdb_kind_name(kind);
		values[i].value = creds.value[kind];
	}
	enum store_result ret = cred_store_put(cs, name, mode, values,
	                                       ACCOUNT_PASSWORD_KINDS, error_r);
	credentials_wipe(&creds);
	return ret;
}

enum store_result
account_add(struct store *store, struct cred_store *cs, const char *name,
            const char *password, const char **error_r)
{
	if (!store_user_name_valid(name))
		return account_fail(STORE_DENIED,
		                    "invalid user name: use 1..64 of "
		                    "A-Z a-z 0-9 . _ @ + -, not starting with "
		                    "'.'",
		                    error_r);
	enum store_result ret =
	    account_put_password(cs, name, password, CRED_PUT_CREATE, error_r);
	if (ret != STORE_OK)
		return ret;
	ret = store_user_add(store, name, error_r);
	/* A mail store user without secrets (an interrupted add) is
	 * completed rather than refused. */
	if (ret == STORE_EXISTS)
		return STORE_OK;
	if (ret != STORE_OK) {
		const char *ignored;
		(void)cred_store_delete_user(cs, name, &ignored);
	}
	return ret;
}

enum store_result
account_set_password(struct cred_store *cs, const char *name,
                     const char *password, const char **error_r)
{
	return account_put_password(cs, name, password, CRED_PUT_UPDATE,
	                            error_r);
}

enum store_result
account_delete(struct store *store, struct cred_store *cs, const char *name,
               const char **error_r)
{
	enum store_result ret = store_user_delete(store, name, error_r);
	if (ret != STORE_OK && ret != STORE_NOT_FOUND)
		return ret;
	enum store_result cred_ret = cred_store_delete_user(cs, name, error_r);
	if (cred_ret == STORE_NOT_FOUND)
		return ret;
	return cred_ret;
}

enum store_result
account_set_otp(struct cred_store *cs, const char *name, const char *alg,
                unsigned seq, const char *seed, const char *passphrase,
                const char **error_r)
{
	char random_seed[OTP_SEED_MAX + 1];
	if (seed == NULL) {
		unsigned char bytes[6];
		sasl_random(bytes, sizeof(bytes));
		otp_seed_from_bytes(bytes, random_seed);
		seed = random_seed;
	}
	char value[USERDB_VALUE_MAX];
	if (otp_credential_make(alg, seq, seed, passphrase, value,
	                        sizeof(value)) < 0)
		return account_fail(STORE_DENIED,
		                    "bad OTP parameters: alg md5 or sha1, seq "
		                    "1..9999, seed 1..16 letters and digits, "
		                    "pass phrase 10..63 characters",
		                    error_r);
	struct cred_value v = {userdb_kind_name(USERDB_OTP), value};
	enum store_result ret =
	    cred_store_put(cs, name, CRED_PUT_UPDATE, &v, 1, error_r);
	secure_zero(value, sizeof(value));
	return ret;
}

enum store_result
account_set_cram_md5(struct cred_store *cs, bool on, const char **error_r)
{
	enum store_result ret =
	    cred_store_setting_set(cs, "cram-md5", on ? "on" : "off", error_r);
	if (ret == STORE_OK && !on)
		ret = cred_store_delete_kind(
		    cs, userdb_kind_name(USERDB_CRAM_MD5), error_r);
	return ret;
}
