#ifndef CASELLA_PRIVSEP_H
#define CASELLA_PRIVSEP_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Privilege separation (docs/security.md): the master stays root only to
 * bind ports, read certificates and start the roles; each role becomes
 * its user and closes what it does not need, with the kernel enforcing it
 * (uids, chroot, Landlock).  Run as a non-root user, casellad cannot
 * change uids; the Landlock part still applies.
 */

/* The system user name's uid and gid; as root, creates the user (a
 * system account without a home or a shell) if it is missing.  Returns
 * 0, or -1 with *error_r. */
int privsep_user(const char *name, uid_t *uid_r, gid_t *gid_r,
                 const char **error_r);

/* Makes dir and everything in it owned by uid:gid (as root), mode 0700
 * for directories and 0600 for files, whatever umask or ownership the
 * operator left it with. */
int privsep_own_tree(const char *dir, uid_t uid, gid_t gid,
                     const char **error_r);

/* The empty directory the login processes are locked into (as root). */
#define PRIVSEP_EMPTY_DIR "/run/casella/empty"
int privsep_prepare_empty_dir(const char **error_r);

/* Becomes uid:gid with no supplementary groups (when root). */
int privsep_drop(uid_t uid, gid_t gid, const char **error_r);

/*
 * For the mail and auth processes and the admin tool run as root: gives
 * the process a mount namespace of its own in which the data directory
 * is also at PRIVSEP_DATA_MOUNT (a bind mount), so that the user can
 * reach it even when a parent directory is closed to it (pytest's
 * /tmp/pytest-of-root, a /root/mail), then becomes user.  *data_dir_r
 * is the path to use from then on.  Not as root, or where namespaces are
 * not allowed, it keeps the path as it is.
 */
#define PRIVSEP_DATA_MOUNT "/run/casella/data"
int privsep_enter_data(const char *data_dir, const char *user,
                       const char **data_dir_r, const char **error_r);

struct server_config;
/* privsep_enter_data() for a role: local_r is config with the new
 * data_dir. */
int privsep_enter_data_dir(const struct server_config *config,
                           struct server_config *local_r, const char **error_r);

/*
 * The login process's cage, once it has everything it needs (sockets,
 * certificates): as root, an empty root directory and the login user;
 * then, root or not, no new privileges, and Landlock refusing every file
 * system access, every TCP bind or connect, abstract UNIX sockets and
 * signals to processes outside: a bug before login can reach neither
 * mail nor secrets.  Returns 0, or -1 with *error_r.
 */
int privsep_cage_login(uid_t uid, gid_t gid, const char **error_r);

/*
 * The mail process's cage, once its stores are open and before its
 * threads start (Landlock holds per thread, and threads inherit it):
 * Landlock lets it use the mail store in data_dir (the database files,
 * blobs/ and tmp/) and read what its libraries need (/usr, the time
 * zone, /dev/urandom), nothing else: not DATA/auth, so only the auth
 * process ever reads secrets.  A kernel without Landlock leaves the
 * rule to the design alone (logged).  Returns 0, or -1 with *error_r.
 */
int privsep_cage_mail(const char *data_dir, const char **error_r);

#endif
