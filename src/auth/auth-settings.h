#ifndef CASELLA_AUTH_SETTINGS_H
#define CASELLA_AUTH_SETTINGS_H

#include "auth/sasl.h"
#include "config.h"

/*
 * The auth process's mechanism settings, from the configuration and the
 * credential store: which mechanisms can work here (a usable keytab,
 * OAuth keys, CRAM-MD5 not turned off), so that only those are offered.
 * In two steps: load reads the files the operator named (OAuth key and
 * client secret), while the process may still read root's files; init,
 * after it became --user, reads the store and probes the keytab.  Each
 * returns 0, or -1 with *error_r for a configuration that cannot work
 * (an OAuth key file that does not load): better refused at start.
 */
int auth_settings_load(struct sasl_settings *settings,
                       const struct server_config *config,
                       const char **error_r);
int auth_settings_init(struct sasl_settings *settings,
                       const struct server_config *config,
                       const char **error_r);
void auth_settings_deinit(struct sasl_settings *settings);

#endif
