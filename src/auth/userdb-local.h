#ifndef CASELLA_USERDB_LOCAL_H
#define CASELLA_USERDB_LOCAL_H

#include "auth/userdb.h"

/* The local user source: the credential store in DATA/auth.  One handle
 * per thread.  Returns NULL with *error_r if it cannot be opened. */
struct userdb *userdb_local_open(const char *data_dir, const char **error_r);
void userdb_local_close(struct userdb **db);

#endif
