#ifndef CASELLA_MASTER_H
#define CASELLA_MASTER_H

#include "config.h"

/*
 * casellad's first process.  argv is casellad's own command line, which
 * each role process is started with again (plus --role ROLE), so every
 * process parses the same flags.  Returns the exit status: 0 after a
 * clean SIGTERM shutdown.
 */
int master_main(const struct server_config *config, int argc, char **argv);

#endif
