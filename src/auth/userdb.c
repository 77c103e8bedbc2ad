/* Names of credential kinds, shared by every user source. */
#include "auth/userdb.h"

#include "lib/util.h"

const char *
userdb_kind_name(enum userdb_kind kind)
{
	static const char *const names[USERDB_KIND_COUNT] = {
	    [USERDB_PASSWORD] = "password",
	    [USERDB_SCRAM_SHA1] = "scram-sha-1",
	    [USERDB_SCRAM_SHA256] = "scram-sha-256",
	    [USERDB_CRAM_MD5] = "cram-md5",
	    [USERDB_OTP] = "otp",
	};
	i_assert((unsigned)kind < USERDB_KIND_COUNT);
	return names[kind];
}
