#include "password-cache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "auth/password.h"
#include "util.h"

struct password_cache_entry {
	unsigned char key_digest[32]; /* SHA-256 of the stored hash */
	unsigned char mac[32];        /* HMAC of the password */
	time_t expires;               /* 0: empty */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static unsigned char cache_secret[32];
static unsigned cache_ttl_s = PASSWORD_CACHE_TTL_S;
static struct password_cache_entry cache[PASSWORD_CACHE_SLOTS];

static void
password_cache_init(void)
{
	if (RAND_bytes(cache_secret, sizeof(cache_secret)) != 1)
		fatal("RAND_bytes failed");
}

static void
password_cache_digests(const char *stored_hash, const char *password,
                       unsigned char key_digest[32], unsigned char mac[32])
{
	unsigned int len = 32;
	pthread_once(&cache_once, password_cache_init);
	EVP_Digest(stored_hash, strlen(stored_hash), key_digest, &len,
	           EVP_sha256(), NULL);
	/* The MAC also covers the stored hash, so an entry can't vouch for
	 * the same password under another user. */
	unsigned char input[32 + PASSWORD_MAX_LEN];
	size_t password_len = strnlen(password, PASSWORD_MAX_LEN);
	memcpy(input, key_digest, 32);
	memcpy(input + 32, password, password_len);
	if (HMAC(EVP_sha256(), cache_secret, sizeof(cache_secret), input,
	         32 + password_len, mac, &len) == NULL)
		fatal("HMAC failed");
	secure_zero(input, sizeof(input));
}

static struct password_cache_entry *
password_cache_slot(const unsigned char key_digest[32])
{
	uint32_t index;
	memcpy(&index, key_digest, sizeof(index));
	return &cache[index % PASSWORD_CACHE_SLOTS];
}

void
password_cache_set_ttl(unsigned seconds)
{
	cache_ttl_s = seconds;
}

bool
password_cache_check(const char *stored_hash, const char *password)
{
	if (cache_ttl_s == 0)
		return false;
	unsigned char key_digest[32], mac[32];
	password_cache_digests(stored_hash, password, key_digest, mac);
	time_t now = time(NULL);
	pthread_mutex_lock(&cache_lock);
	struct password_cache_entry *e = password_cache_slot(key_digest);
	bool hit = e->expires > now &&
	           CRYPTO_memcmp(e->key_digest, key_digest, 32) == 0 &&
	           CRYPTO_memcmp(e->mac, mac, 32) == 0;
	pthread_mutex_unlock(&cache_lock);
	secure_zero(mac, sizeof(mac));
	return hit;
}

void
password_cache_add(const char *stored_hash, const char *password)
{
	if (cache_ttl_s == 0)
		return;
	unsigned char key_digest[32], mac[32];
	password_cache_digests(stored_hash, password, key_digest, mac);
	pthread_mutex_lock(&cache_lock);
	struct password_cache_entry *e = password_cache_slot(key_digest);
	memcpy(e->key_digest, key_digest, 32);
	memcpy(e->mac, mac, 32);
	e->expires = time(NULL) + (time_t)cache_ttl_s;
	pthread_mutex_unlock(&cache_lock);
	secure_zero(mac, sizeof(mac));
}

/* Verifications in progress, by (key digest, MAC); a collision only
 * makes an unrelated check wait for one hash. */
#define PASSWORD_INFLIGHT_SLOTS 256

struct password_inflight {
	unsigned char key_digest[32];
	unsigned char mac[32];
	bool busy;
};

static pthread_cond_t inflight_done = PTHREAD_COND_INITIALIZER;
static struct password_inflight inflight[PASSWORD_INFLIGHT_SLOTS];

static struct password_inflight *
password_inflight_slot(const unsigned char mac[32])
{
	uint32_t index;
	memcpy(&index, mac, sizeof(index));
	return &inflight[index % PASSWORD_INFLIGHT_SLOTS];
}

bool
password_cache_claim(const char *stored_hash, const char *password)
{
	unsigned char key_digest[32], mac[32];
	if (cache_ttl_s == 0)
		return true;
	password_cache_digests(stored_hash, password, key_digest, mac);
	pthread_mutex_lock(&cache_lock);
	struct password_inflight *slot = password_inflight_slot(mac);
	bool waited = false;
	while (slot->busy) {
		bool same =
		    CRYPTO_memcmp(slot->mac, mac, 32) == 0 &&
		    CRYPTO_memcmp(slot->key_digest, key_digest, 32) == 0;
		pthread_cond_wait(&inflight_done, &cache_lock);
		waited |= same;
	}
	if (!waited) {
		slot->busy = true;
		memcpy(slot->key_digest, key_digest, 32);
		memcpy(slot->mac, mac, 32);
	}
	pthread_mutex_unlock(&cache_lock);
	secure_zero(mac, sizeof(mac));
	return !waited;
}

void
password_cache_release(const char *stored_hash, const char *password)
{
	unsigned char key_digest[32], mac[32];
	if (cache_ttl_s == 0)
		return;
	password_cache_digests(stored_hash, password, key_digest, mac);
	pthread_mutex_lock(&cache_lock);
	struct password_inflight *slot = password_inflight_slot(mac);
	secure_zero(slot, sizeof(*slot));
	pthread_cond_broadcast(&inflight_done);
	pthread_mutex_unlock(&cache_lock);
	secure_zero(mac, sizeof(mac));
}
