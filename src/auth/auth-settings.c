/* The auth process's mechanism settings; see auth-settings.h. */
#include "auth/auth-settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/account.h"
#include "auth/oauth.h"
#include "auth/password-cache.h"
#include "auth/sasl-gssapi.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/cred.h"

#define AUTH_SECRET_MAX 1024

/* Reads a one-line secret (OAuth client secret) from a file: kept out
 * of the command line, which every local user can read. */
static char *
auth_read_secret(const char *path, const char **error_r)
{
	static char error[256];
	char buf[AUTH_SECRET_MAX + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0 || n > AUTH_SECRET_MAX) {
		snprintf(error, sizeof(error), "%.200s: %s", path,
		         n < 0 ? strerror(errno) : "secret too long");
		*error_r = error;
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	char *secret = xstrdup(buf);
	secure_zero(buf, sizeof(buf));
	return secret;
}

static void
auth_settings_gssapi(struct sasl_settings *settings)
{
	const char *error;
	settings->gssapi =
	    sasl_gssapi_probe(settings->service, settings->gssapi_host, &error);
	if (!settings->gssapi)
		log_info("auth: GSSAPI not offered: %s", error);
}

static int
auth_settings_oauth(struct sasl_settings *settings,
                    const struct server_config *config, const char **error_r)
{
	settings->oauth_jwt_key_file = config->oauth_jwt_key_file;
	settings->oauth_issuer = config->oauth_issuer;
	settings->oauth_audience = config->oauth_audience;
	settings->oauth_introspect_url = config->oauth_introspect_url;
	settings->oauth_client_id = config->oauth_client_id;
	settings->oauth_user_claim = config->oauth_user_claim;
	if (config->oauth_client_secret_file != NULL &&
	    (settings->oauth_client_secret = auth_read_secret(
	         config->oauth_client_secret_file, error_r)) == NULL)
		return -1;
	return oauth_init(settings, error_r);
}

int
auth_settings_load(struct sasl_settings *settings,
                   const struct server_config *config, const char **error_r)
{
	memset(settings, 0, sizeof(*settings));
	return auth_settings_oauth(settings, config, error_r);
}

int
auth_settings_init(struct sasl_settings *settings,
                   const struct server_config *config, const char **error_r)
{
	static char hostname[256];
	if (gethostname(hostname, sizeof(hostname) - 1) < 0)
		casella_strlcpy(hostname, "localhost", sizeof(hostname));
	settings->hostname = hostname;
	settings->service = "imap";
	settings->gssapi_host = config->gssapi_host;
	password_cache_set_ttl(config->auth_cache_ttl_s);
	/* The login processes verify client certificates against it. */
	settings->external = config->tls_client_ca != NULL;
	struct cred_store *cs;
	if (cred_store_open(config->data_dir, &cs, error_r) != STORE_OK)
		return -1;
	settings->cram_md5 = account_cram_md5_enabled(cs);
	cred_store_close(&cs);
	auth_settings_gssapi(settings);
	return 0;
}

void
auth_settings_deinit(struct sasl_settings *settings)
{
	oauth_deinit(settings);
	if (settings->oauth_client_secret != NULL) {
		char *secret = (char *)settings->oauth_client_secret;
		secure_zero(secret, strlen(secret));
		free(secret);
		settings->oauth_client_secret = NULL;
	}
}
