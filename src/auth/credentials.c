/* Every credential a password gives, for `casella user add/passwd`. */
#include "auth/credentials.h"

#include <assert.h>
#include <string.h>

#include "auth/password.h"
#include "lib/util.h"

int
credentials_from_password(const char *password,
                          const struct credentials_options *options,
                          struct credentials *creds_r)
{
	memset(creds_r, 0, sizeof(*creds_r));
	unsigned iterations = options->scram_iterations != 0
	                          ? options->scram_iterations
	                          : SCRAM_DEFAULT_ITERATIONS;
	static_assert(PASSWORD_HASH_SIZE <= USERDB_VALUE_MAX,
	              "a password hash fits a credential");
	if (password_hash(password, creds_r->value[USERDB_PASSWORD]) < 0 ||
	    scram_credential_make(password, USERDB_SCRAM_SHA1, iterations,
	                          creds_r->value[USERDB_SCRAM_SHA1],
	                          USERDB_VALUE_MAX) < 0 ||
	    scram_credential_make(password, USERDB_SCRAM_SHA256, iterations,
	                          creds_r->value[USERDB_SCRAM_SHA256],
	                          USERDB_VALUE_MAX) < 0 ||
	    (options->cram_md5 &&
	     cram_md5_credential_make(password, creds_r->value[USERDB_CRAM_MD5],
	                              USERDB_VALUE_MAX) < 0)) {
		credentials_wipe(creds_r);
		return -1;
	}
	return 0;
}

void
credentials_wipe(struct credentials *creds)
{
	secure_zero(creds, sizeof(*creds));
}
