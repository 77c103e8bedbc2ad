/* Privilege separation; see privsep.h. */
#include "master/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "lib/log.h"
#include "lib/util.h"

/* Rights newer than Debian 12's kernel headers (ABI 3, 5; 4 and 6). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define PRIVSEP_NET_BIND_TCP        (1ULL << 0)
#define PRIVSEP_NET_CONNECT_TCP     (1ULL << 1)
#define PRIVSEP_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define PRIVSEP_SCOPE_SIGNAL        (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6. */
struct privsep_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer reads /proc/self/maps at exit: an ASan build keeps
 * /proc readable (and skips the chroot) so its checks still run. */
#define PRIVSEP_KEEP_PROC 1
#else
#define PRIVSEP_KEEP_PROC 0
#endif

static _Thread_local char privsep_error[256];

static int
privsep_fail(const char **error_r, const char *what)
{
	snprintf(privsep_error, sizeof(privsep_error), "%s: %s", what,
	         strerror(errno));
	*error_r = privsep_error;
	return -1;
}

/* useradd --system: no home, no shell, its own group. */
static int
privsep_useradd(const char *name)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/usr/sbin/useradd", "useradd", "--system",
		      "--user-group", "--no-create-home", "--home-dir",
		      "/nonexistent", "--shell", "/usr/sbin/nologin",
		      "--comment", "Casella mail server", name, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
privsep_user(const char *name, uid_t *uid_r, gid_t *gid_r, const char **error_r)
{
	struct passwd *pw = getpwnam(name);
	if (pw == NULL && geteuid() == 0) {
		log_info("creating system user %s", name);
		if (privsep_useradd(name) == 0)
			pw = getpwnam(name);
	}
	if (pw == NULL) {
		snprintf(privsep_error, sizeof(privsep_error),
		         "no user %s (and it could not be created)", name);
		*error_r = privsep_error;
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

static uid_t privsep_tree_uid;
static gid_t privsep_tree_gid;

static int
privsep_own_entry(const char *path, const struct stat *st, int type,
                  struct FTW *ftw)
{
	if (type == FTW_SL || type == FTW_SLN)
		return 0; /* never follow or change a link */
	if ((st->st_uid != privsep_tree_uid ||
	     st->st_gid != privsep_tree_gid) &&
	    lchown(path, privsep_tree_uid, privsep_tree_gid) < 0)
		return -1;
	mode_t mode = S_ISDIR(st->st_mode) ? 0700 : 0600;
	if (S_ISSOCK(st->st_mode))
		return 0;
	if ((st->st_mode & 07777) != mode && chmod(path, mode) < 0)
		return -1;
	return 0;
}

int
privsep_own_tree(const char *dir, uid_t uid, gid_t gid, const char **error_r)
{
	privsep_tree_uid = uid;
	privsep_tree_gid = gid;
	if (nftw(dir, privsep_own_entry, 16, FTW_PHYS) != 0)
		return privsep_fail(error_r, dir);
	return 0;
}

/* A root-owned directory with exactly this mode, whatever the umask. */
static int
privsep_root_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	return chmod(path, mode);
}

int
privsep_prepare_empty_dir(const char **error_r)
{
	if (privsep_root_dir("/run/casella", 0755) < 0 ||
	    privsep_root_dir(PRIVSEP_EMPTY_DIR, 0555) < 0)
		return privsep_fail(error_r, PRIVSEP_EMPTY_DIR);
	struct stat st;
	if (lstat(PRIVSEP_EMPTY_DIR, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & 022) != 0) {
		errno = EPERM;
		return privsep_fail(error_r, PRIVSEP_EMPTY_DIR
		                    " must be a root-owned directory");
	}
	return 0;
}

/* A role ends with the master (master_spawn() asks for a signal on its
 * death), but changing uids clears that request (prctl(2)): ask again,
 * and if the master died meanwhile, act on it now. */
static void
privsep_rearm_death_signal(int death_signal, pid_t parent)
{
	if (death_signal == 0)
		return;
	(void)prctl(PR_SET_PDEATHSIG, death_signal);
	if (getppid() != parent)
		(void)kill(getpid(), death_signal);
}

int
privsep_drop(uid_t uid, gid_t gid, const char **error_r)
{
	if (geteuid() != 0)
		return 0;
	int death_signal = 0;
	pid_t parent = getppid();
	(void)prctl(PR_GET_PDEATHSIG, &death_signal);
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return privsep_fail(error_r, "dropping privileges");
	/* Make sure there is no way back. */
	if (setuid(0) == 0) {
		errno = EPERM;
		return privsep_fail(error_r, "root regained");
	}
	privsep_rearm_death_signal(death_signal, parent);
	return 0;
}

/* A private mount namespace with data_dir bound at PRIVSEP_DATA_MOUNT. */
static int
privsep_bind_data(const char *data_dir)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	/* Our mounts must not leak back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (privsep_root_dir("/run/casella", 0755) < 0 ||
	    (mkdir(PRIVSEP_DATA_MOUNT, 0700) < 0 && errno != EEXIST))
		return -1;
	return mount(data_dir, PRIVSEP_DATA_MOUNT, NULL, MS_BIND, NULL);
}

int
privsep_enter_data(const char *data_dir, const char *user,
                   const char **data_dir_r, const char **error_r)
{
	*data_dir_r = data_dir;
	if (geteuid() != 0)
		return 0;
	uid_t uid;
	gid_t gid;
	if (privsep_user(user, &uid, &gid, error_r) < 0)
		return -1;
	if (privsep_bind_data(data_dir) == 0)
		*data_dir_r = PRIVSEP_DATA_MOUNT;
	else
		log_debug("no private mount of %s: %s", data_dir,
		          strerror(errno));
	return privsep_drop(uid, gid, error_r);
}

int
privsep_enter_data_dir(const struct server_config *config,
                       struct server_config *local_r, const char **error_r)
{
	*local_r = *config;
	return privsep_enter_data(config->data_dir, config->user,
	                          &local_r->data_dir, error_r);
}

static long
privsep_landlock_abi(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0,
	               LANDLOCK_CREATE_RULESET_VERSION);
}

/* Every file system right the running kernel knows. */
static uint64_t
privsep_fs_rights(long abi)
{
	uint64_t rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	if (abi >= 2)
		rights |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return rights;
}

/* Lets /proc be read (ASan builds only, see PRIVSEP_KEEP_PROC). */
static int
privsep_allow_proc(int ruleset)
{
	struct landlock_path_beneath_attr rule = {
	    .allowed_access =
	        LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
	};
	rule.parent_fd = open("/proc", O_PATH | O_CLOEXEC);
	if (rule.parent_fd < 0)
		return -1;
	int r = (int)syscall(SYS_landlock_add_rule, ruleset,
	                     LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
	close(rule.parent_fd);
	return r;
}

/* Allows access beneath (or to) path; a missing path is skipped. */
static int
privsep_allow(int ruleset, const char *path, uint64_t rights)
{
	struct landlock_path_beneath_attr rule = {.allowed_access = rights};
	rule.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (rule.parent_fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	if (fstat(rule.parent_fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rule.allowed_access &= LANDLOCK_ACCESS_FS_READ_FILE |
		                       LANDLOCK_ACCESS_FS_WRITE_FILE |
		                       LANDLOCK_ACCESS_FS_TRUNCATE;
	int r = (int)syscall(SYS_landlock_add_rule, ruleset,
	                     LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
	close(rule.parent_fd);
	return r;
}

/* The mail store's rules: the database files and the two body
 * directories, read and write; the libraries' files, read only. */
static int
privsep_mail_rules(int ruleset, const char *data_dir, uint64_t handled)
{
	static const char *const db_files[] = {"casella.db", "casella.db-wal",
	                                       "casella.db-shm"};
	static const char *const dirs[] = {"blobs", "tmp"};
	static const char *const read_only[] = {"/usr", "/etc/localtime",
	                                        "/dev/urandom", "/proc"};
	uint64_t read =
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t dir_rights =
	    handled &
	    ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
	      LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
	      LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_SYM |
	      LANDLOCK_ACCESS_FS_IOCTL_DEV);
	char path[4200];
	int r = 0;
	for (size_t i = 0; i < 3 && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", data_dir, db_files[i]);
		r = privsep_allow(ruleset, path, dir_rights);
	}
	for (size_t i = 0; i < 2 && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", data_dir, dirs[i]);
		r = privsep_allow(ruleset, path, dir_rights);
	}
	/* /proc: the store reads nothing there, but ASan builds' leak
	 * checker needs /proc/self/maps. */
	size_t ro = PRIVSEP_KEEP_PROC ? 4 : 3;
	for (size_t i = 0; i < ro && r == 0; i++)
		r = privsep_allow(ruleset, read_only[i], read);
	return r;
}

int
privsep_cage_mail(const char *data_dir, const char **error_r)
{
	long abi = privsep_landlock_abi();
	if (abi < 1) {
		log_warn("landlock unavailable: the mail process is not kept "
		         "from DATA/auth by the kernel");
		return 0;
	}
	uint64_t handled = privsep_fs_rights(abi);
	struct privsep_ruleset_attr attr = {.handled_access_fs = handled};
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr,
	                           sizeof(attr.handled_access_fs), 0);
	if (ruleset < 0)
		return privsep_fail(error_r, "landlock_create_ruleset");
	int r = privsep_mail_rules(ruleset, data_dir, handled);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -1;
	if (r == 0)
		r = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
	close(ruleset);
	return r < 0 ? privsep_fail(error_r, "mail landlock") : 0;
}

static int
privsep_landlock_login(const char **error_r)
{
	long abi = privsep_landlock_abi();
	if (abi < 1) {
		/* An old kernel: uids and the chroot still hold. */
		log_warn("landlock unavailable: the login sandbox relies on "
		         "its user and chroot");
		return 0;
	}
	struct privsep_ruleset_attr attr = {.handled_access_fs =
	                                        privsep_fs_rights(abi)};
	size_t size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		attr.handled_access_net =
		    PRIVSEP_NET_BIND_TCP | PRIVSEP_NET_CONNECT_TCP;
		size = offsetof(struct privsep_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped =
		    PRIVSEP_SCOPE_ABSTRACT_UNIX | PRIVSEP_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset < 0)
		return privsep_fail(error_r, "landlock_create_ruleset");
	int r = PRIVSEP_KEEP_PROC ? privsep_allow_proc(ruleset) : 0;
	if (r == 0)
		r = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
	close(ruleset);
	return r < 0 ? privsep_fail(error_r, "landlock_restrict_self") : 0;
}

int
privsep_cage_login(uid_t uid, gid_t gid, const char **error_r)
{
	if (geteuid() == 0 && !PRIVSEP_KEEP_PROC &&
	    (chroot(PRIVSEP_EMPTY_DIR) < 0 || chdir("/") < 0))
		return privsep_fail(error_r, "chroot " PRIVSEP_EMPTY_DIR);
	if (privsep_drop(uid, gid, error_r) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return privsep_fail(error_r, "no_new_privs");
	if (privsep_landlock_login(error_r) < 0)
		return -1;
	/* No core dumps (they would hold keys) and no ptrace by peers. */
	if (!PRIVSEP_KEEP_PROC)
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
