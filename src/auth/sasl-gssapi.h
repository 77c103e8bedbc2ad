#ifndef CASELLA_SASL_GSSAPI_H
#define CASELLA_SASL_GSSAPI_H

#include <stdbool.h>
#include <stddef.h>

/*
 * GSSAPI (RFC 4752) over MIT Kerberos 5: the mechanism itself is
 * sasl_mech_gssapi (sasl.h).  Its keys come from the keytab that
 * KRB5_KTNAME names (MIT's default keytab otherwise), its realm settings
 * from KRB5_CONFIG or /etc/krb5.conf.
 */

/*
 * Whether acceptor credentials for SERVICE/HOST (any key in the keytab
 * if host is NULL) can be acquired, so that GSSAPI may be advertised:
 * the auth process sets sasl_settings.gssapi from it at startup.  On
 * false, *error_r says why (GSS-API's own words); it points to storage
 * of this thread, valid until its next call.
 */
bool sasl_gssapi_probe(const char *service, const char *host,
                       const char **error_r);

/*
 * Reads the keytab (KRB5_KTNAME or MIT's default) into memory and points
 * KRB5_KTNAME at the copy, so that the auth process can still accept
 * tickets once it has given up the root privileges a keytab usually
 * needs.  Returns 0, or -1 if there is no readable keytab (GSSAPI is
 * then not offered).  release frees the copy at exit.
 */
int sasl_gssapi_keytab_preload(void);
void sasl_gssapi_keytab_release(void);

/*
 * The Casella user a Kerberos principal in display form (len bytes, not
 * NUL-terminated) maps to: "user@REALM" with REALM equal to realm gives
 * "user", as *user_len_r bytes from the start of principal.  Instances
 * ("user/admin@REALM"), other realms, escaped characters and empty names
 * are refused.  Returns NULL on success, else a static reason for the log.
 */
const char *sasl_gssapi_principal_user(const char *principal, size_t len,
                                       const char *realm, size_t *user_len_r);

#endif
