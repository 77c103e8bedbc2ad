/* Login tickets; see ticket.h. */
#include "auth/ticket.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"

/* Nonces remembered at once: more logins per TTL than this make the
 * oldest forgotten early, which only shortens a replay window that the
 * MAC already bounds to one user and one session. */
#define TICKET_REPLAY_SLOTS 65536

static const char ticket_label[] = "casella-login-ticket";

static uint64_t
ticket_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
ticket_mac(const unsigned char key[TICKET_KEY_LEN], const char *user,
           uint64_t session_id, const unsigned char *nonce_and_expiry,
           unsigned char mac[32])
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};
	size_t len = 0;
	if (ctx == NULL || !EVP_MAC_init(ctx, key, TICKET_KEY_LEN, params) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)ticket_label,
	                    sizeof(ticket_label)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)user,
	                    strlen(user) + 1) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)&session_id,
	                    sizeof(session_id)) ||
	    !EVP_MAC_update(ctx, nonce_and_expiry, TICKET_NONCE_LEN + 8) ||
	    !EVP_MAC_final(ctx, mac, &len, 32) || len != 32)
		fatal("ticket HMAC failed");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
}

void
ticket_make(const unsigned char key[TICKET_KEY_LEN], const char *user,
            uint64_t session_id, unsigned char ticket_r[TICKET_LEN])
{
	if (RAND_bytes(ticket_r, TICKET_NONCE_LEN) != 1)
		fatal("RAND_bytes failed");
	uint64_t expires = ticket_wall_ms() + TICKET_TTL_MS;
	memcpy(ticket_r + TICKET_NONCE_LEN, &expires, 8);
	ticket_mac(key, user, session_id, ticket_r,
	           ticket_r + TICKET_NONCE_LEN + 8);
}

bool
ticket_check(const unsigned char key[TICKET_KEY_LEN], const char *user,
             uint64_t session_id, const unsigned char *ticket, size_t len,
             unsigned char nonce_r[TICKET_NONCE_LEN])
{
	if (len != TICKET_LEN)
		return false;
	unsigned char mac[32];
	ticket_mac(key, user, session_id, ticket, mac);
	if (CRYPTO_memcmp(mac, ticket + TICKET_NONCE_LEN + 8, 32) != 0)
		return false;
	uint64_t expires;
	memcpy(&expires, ticket + TICKET_NONCE_LEN, 8);
	if (expires < ticket_wall_ms())
		return false;
	memcpy(nonce_r, ticket, TICKET_NONCE_LEN);
	return true;
}

struct ticket_replay_slot {
	unsigned char nonce[TICKET_NONCE_LEN];
	uint64_t used_ms; /* 0: empty */
};

struct ticket_replay {
	pthread_mutex_t lock;
	struct ticket_replay_slot *slots;
};

struct ticket_replay *
ticket_replay_create(void)
{
	struct ticket_replay *r = xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->slots = xcalloc(TICKET_REPLAY_SLOTS, sizeof(*r->slots));
	return r;
}

void
ticket_replay_destroy(struct ticket_replay **r_p)
{
	struct ticket_replay *r = *r_p;
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->slots);
	free(r);
	*r_p = NULL;
}

bool
ticket_replay_use(struct ticket_replay *r,
                  const unsigned char nonce[TICKET_NONCE_LEN])
{
	/* The nonce is random, so its first bytes spread it evenly. */
	uint32_t index;
	memcpy(&index, nonce, sizeof(index));
	uint64_t now = now_ms();
	pthread_mutex_lock(&r->lock);
	struct ticket_replay_slot *slot =
	    &r->slots[index % TICKET_REPLAY_SLOTS];
	bool fresh = slot->used_ms == 0 ||
	             now - slot->used_ms >= TICKET_TTL_MS ||
	             memcmp(slot->nonce, nonce, TICKET_NONCE_LEN) != 0;
	if (fresh) {
		memcpy(slot->nonce, nonce, TICKET_NONCE_LEN);
		slot->used_ms = now;
	}
	pthread_mutex_unlock(&r->lock);
	return fresh;
}
