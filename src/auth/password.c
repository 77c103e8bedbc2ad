#include "password.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util.h"

#define PASSWORD_PREFIX   "$y$"
#define PASSWORD_LONG_TAG "sha256:"
/* "sha256:" and 64 hex digits, with the NUL. */
#define PASSWORD_LONG_PHRASE_SIZE (sizeof(PASSWORD_LONG_TAG) + 64)

bool
password_is_acceptable(const char *password)
{
	size_t len = strnlen(password, PASSWORD_MAX_LEN + 1);
	return len >= 1 && len <= PASSWORD_MAX_LEN;
}

/*
 * libcrypt takes passphrases of up to CRYPT_MAX_PASSPHRASE_SIZE - 1 (511)
 * bytes, and we allow 1024.  A longer one is hashed first and its SHA-256
 * in hex, tagged, becomes the passphrase.  Short ones go in unchanged, so
 * their hashes are plain yescrypt.
 */
static void
password_long_phrase(const char *password, char *phrase)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (EVP_Digest(password, strlen(password), md, &md_len, EVP_sha256(),
	               NULL) != 1 ||
	    md_len != 32)
		fatal("SHA-256 computation failed");
	memcpy(phrase, PASSWORD_LONG_TAG, strlen(PASSWORD_LONG_TAG));
	char *p = phrase + strlen(PASSWORD_LONG_TAG);
	for (unsigned int i = 0; i < md_len; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 0x0f];
	}
	*p = '\0';
	secure_zero(md, sizeof(md));
}

/* Runs crypt_rn into a heap crypt_data (it is large for a thread stack)
 * and copies the result out; the work areas are wiped because they held
 * the password.  Returns 0, or -1 if libcrypt refused the setting. */
static int
password_crypt(const char *password, const char *setting, char *out)
{
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	char phrase[PASSWORD_LONG_PHRASE_SIZE];
	int ret = -1;

	if (strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE) {
		password_long_phrase(password, phrase);
		password = phrase;
	}
	const char *res = crypt_rn(password, setting, data, sizeof(*data));
	/* libcrypt marks failure with NULL or a string starting with '*'. */
	if (res != NULL && res[0] != '*' && strlen(res) < PASSWORD_HASH_SIZE) {
		memcpy(out, res, strlen(res) + 1);
		ret = 0;
	}
	secure_zero(phrase, sizeof(phrase));
	secure_zero(data, sizeof(*data));
	free(data);
	return ret;
}

int
password_hash(const char *password, char *hash_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	/* NULL random bytes: libcrypt takes them from the kernel. */
	if (crypt_gensalt_rn(PASSWORD_PREFIX, 0, NULL, 0, setting,
	                     sizeof(setting)) == NULL)
		return -1;
	return password_crypt(password, setting, hash_r);
}

/* The same algorithm and cost as password_hash(), with a fixed salt: it
 * only has to take as long as a real check. */
static int
password_dummy_setting(char *setting)
{
	static const char salt[16] = "casella-dummy!!";
	return crypt_gensalt_rn(PASSWORD_PREFIX, 0, salt, sizeof(salt), setting,
	                        CRYPT_GENSALT_OUTPUT_SIZE) == NULL
	           ? -1
	           : 0;
}

bool
password_verify(const char *password, const char *hash)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char out[PASSWORD_HASH_SIZE];
	bool ok = false;

	if (hash == NULL || strlen(hash) >= PASSWORD_HASH_SIZE) {
		if (password_dummy_setting(setting) == 0)
			(void)password_crypt(password, setting, out);
		hash = NULL;
	} else if (password_crypt(password, hash, out) == 0) {
		size_t len = strlen(hash);
		ok = strlen(out) == len && CRYPTO_memcmp(out, hash, len) == 0;
	}
	secure_zero(out, sizeof(out));
	return ok && hash != NULL;
}
