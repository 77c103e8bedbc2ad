/*
 * The master process: prepares the data directory, binds the listeners,
 * starts one process per role by re-executing casellad with --role, hands
 * each its descriptors over its control socket (control.h), and waits.
 * It keeps no connection and parses no client input.  See
 * docs/security.md for what each role may reach.
 */
#include "master/master.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>

#include <openssl/rand.h>

#include "auth/ticket.h"
#include "imap/worker.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"
#include "master/control.h"
#include "master/privsep.h"
#include "net/tls.h"
#include "store/store.h"

#define MASTER_CHANNEL_BUFFER (4 * 1024 * 1024)
/* A certificate chain or key file, at most. */
#define MASTER_PEM_MAX (64 * 1024)

#define MASTER_MAX_CHILDREN (2 + WORKER_MAX)
/* In DATA: held while a server runs (master_lock_data_dir). */
#define MASTER_LOCK_NAME "casellad.lock"
/* Tenths of a second to wait for a dying server's LMTP socket. */
#define MASTER_STALE_WAIT_STEPS 30

struct master_child {
	const char *role;
	pid_t pid;
	int control;    /* the master's end of the control socket */
	bool term_sent; /* SIGTERM was sent during shutdown */
};

struct master {
	const struct server_config *config;
	char **argv;
	int argc;
	struct master_child children[MASTER_MAX_CHILDREN];
	size_t child_count;
	unsigned char ticket_key[TICKET_KEY_LEN];         /* login tickets */
	unsigned char tls_ticket_key[TLS_TICKET_KEY_LEN]; /* TLS tickets */
	int login_control[MASTER_MAX_CHILDREN];           /* for TLS reloads */
};

static int
master_bind(const struct listen_spec *spec, bool reuseport,
            const char **error_r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, spec->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(spec->port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, spec->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(spec->port);
		len = sizeof(*sin6);
	} else {
		*error_r = "listen address must be a numeric IP address";
		return -1;
	}
	int fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* One socket per event loop; the kernel spreads connections. */
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

static int
master_listen_socket(const struct listen_spec *spec, const char **error_r)
{
	return master_bind(spec, true, error_r);
}

/* SO_REUSEPORT lets another server of the same uid (on another data
 * directory) bind our port too, and the kernel would split the
 * connections between us in silence.  A socket without it cannot be
 * bound beside a listener, so one such probe, closed at once, finds out. */
static int
master_probe_port(const struct listen_spec *spec, const char **error_r)
{
	static char message[128];
	int fd = master_bind(spec, false, error_r);
	if (fd < 0) {
		snprintf(message, sizeof(message), "%s port %u: %s", spec->host,
		         spec->port, *error_r);
		*error_r = message;
		return -1;
	}
	close(fd);
	return 0;
}

static int
master_probe_ports(const struct server_config *config, const char **error_r)
{
	for (size_t i = 0; i < config->listen_count; i++) {
		if (master_probe_port(&config->listen[i], error_r) < 0)
			return -1;
	}
	for (size_t i = 0; i < config->lmtp_listen_count; i++) {
		if (!config->lmtp_listen[i].is_unix &&
		    master_probe_port(&config->lmtp_listen[i].inet, error_r) <
		        0)
			return -1;
	}
	return 0;
}

/* A path in use by a live server answers a connect(); a stale one, left
 * by a server that was killed, does not and is removed. */
static int
master_unix_stale(const struct sockaddr_un *sun, const char **error_r)
{
	struct stat st;
	if (lstat(sun->sun_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*error_r = "an LMTP socket path names something else";
		return -1;
	}
	/* The LMTP process of a server killed a moment ago (we hold the
	 * data directory's lock) may still answer: it goes away on its
	 * parent's death, so give it a few seconds. */
	bool live = true;
	for (int i = 0; i < MASTER_STALE_WAIT_STEPS && live; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		live = fd >= 0 && connect(fd, (const struct sockaddr *)sun,
		                          sizeof(*sun)) == 0;
		if (fd >= 0)
			close(fd);
		if (live)
			usleep(100 * 1000);
	}
	if (live) {
		*error_r = "another server listens on the LMTP socket";
		return -1;
	}
	return unlink(sun->sun_path);
}

/* The socket's mode and group, so the MTA's user can connect. */
static int
master_unix_access(const struct server_config *config, const char *path,
                   const char **error_r)
{
	gid_t gid = (gid_t)-1;
	if (config->lmtp_socket_group != NULL) {
		struct group *gr = getgrnam(config->lmtp_socket_group);
		if (gr == NULL) {
			*error_r = "--lmtp-socket-group: no such group";
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) ||
	    chmod(path, (mode_t)config->lmtp_socket_mode) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

static int
master_unix_socket(const struct server_config *config, const char *path,
                   const char **error_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	casella_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (master_unix_stale(&sun, error_r) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 1024) < 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (master_unix_access(config, path, error_r) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts casellad again as role ("auth", "mail", "login:N"); its control
 * socket becomes fd 3. */
static int
master_spawn(struct master *m, const char *role, const char **error_r)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		*error_r = strerror(errno);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* A child never outlives the master. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* dup2 clears close-on-exec on the copy. */
		if (dup2(sv[1], CONTROL_FD) < 0)
			_exit(127);
		char **argv = xcalloc((size_t)m->argc + 3, sizeof(*argv));
		memcpy(argv, m->argv, (size_t)m->argc * sizeof(*argv));
		argv[m->argc] = "--role";
		argv[m->argc + 1] = (char *)role;
		sigset_t none;
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(sv[1]);
	i_assert(m->child_count < MASTER_MAX_CHILDREN);
	m->children[m->child_count++] = (struct master_child){
	    .role = xstrdup(role), .pid = pid, .control = sv[0]};
	return sv[0];
}

/* A channel between two roles.  Bursts of logins send many small
 * messages at once: the buffers are made large (root may exceed
 * wmem_max), and what still finds them full waits in a queue
 * (lib/ipc.h). */
static int
master_pair(int sv[2], const char **error_r)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	               0, sv) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	int size = MASTER_CHANNEL_BUFFER;
	for (int i = 0; i < 2; i++) {
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &size,
		               sizeof(size)) < 0)
			(void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size,
			                 sizeof(size));
	}
	return 0;
}

static int
master_send_fd(int control, enum control_fd_kind kind, uint32_t index, int fd,
               const char **error_r)
{
	int ret = control_send_fd(control, kind, index, fd);
	close(fd);
	if (ret < 0)
		*error_r = strerror(errno);
	return ret;
}

/* A login process's listeners: one socket of each listener per process,
 * so the kernel (SO_REUSEPORT) spreads connections across them. */
static int
master_send_listeners(struct master *m, int control, const char **error_r)
{
	const struct server_config *config = m->config;
	for (size_t l = 0; l < config->listen_count; l++) {
		int fd = master_listen_socket(&config->listen[l], error_r);
		if (fd < 0 || master_send_fd(control, CONTROL_FD_LISTEN,
		                             (uint32_t)l, fd, error_r) < 0)
			return -1;
	}
	return 0;
}

/* Reads a certificate or key file (as root); NULL with *error_r. */
static char *
master_read_file(const char *path, size_t *len_r, const char **error_r)
{
	static char error[512];
	struct str s;
	str_init(&s, MASTER_PEM_MAX);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[4096];
	ssize_t n = 0;
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		str_append(&s, buf, (size_t)n);
	int saved = errno;
	if (fd >= 0)
		close(fd);
	secure_zero(buf, sizeof(buf));
	if (fd < 0 || n < 0 || str_failed(&s) || s.len == 0) {
		snprintf(error, sizeof(error), "%.400s: %s", path,
		         fd < 0 || n < 0 ? strerror(saved)
		         : s.len == 0    ? "empty"
		                         : "too large");
		*error_r = error;
		secure_zero(s.data, s.cap);
		str_free(&s);
		return NULL;
	}
	*len_r = s.len;
	return s.data; /* the caller frees it */
}

static void
master_free_secret(char *data, size_t len)
{
	if (data != NULL)
		secure_zero(data, len);
	free(data);
}

/* Sends the certificates (read again from their files) to one login
 * process.  Returns 0, or -1 with *error_r. */
static int
master_send_tls(struct master *m, int control, const char **error_r)
{
	const struct server_config *config = m->config;
	struct ipc_msg *msg = xmalloc(sizeof(*msg));
	int ret = 0;
	for (size_t i = 0; i < config->tls_cert_count && ret == 0; i++) {
		size_t chain_len = 0, key_len = 0;
		char *chain =
		    master_read_file(config->tls_cert[i], &chain_len, error_r);
		char *key = chain == NULL ? NULL
		                          : master_read_file(config->tls_key[i],
		                                             &key_len, error_r);
		if (key == NULL) {
			ret = -1;
		} else {
			ipc_begin(msg, CONTROL_MSG_TLS_CERT);
			ipc_put_bytes(msg, chain, chain_len);
			ipc_put_bytes(msg, key, key_len);
			ret = ipc_send(control, msg, -1);
			if (ret < 0)
				*error_r = "certificate too large to send";
		}
		master_free_secret(chain, chain_len);
		master_free_secret(key, key_len);
	}
	size_t ca_len = 0;
	char *ca = NULL;
	if (ret == 0 && config->tls_client_ca != NULL &&
	    (ca = master_read_file(config->tls_client_ca, &ca_len, error_r)) ==
	        NULL)
		ret = -1;
	if (ret == 0) {
		ipc_begin(msg, CONTROL_MSG_TLS_END);
		ipc_put_bytes(msg, ca, ca_len);
		ipc_put_bytes(msg, m->tls_ticket_key,
		              sizeof(m->tls_ticket_key));
		ret = ipc_send(control, msg, -1);
	}
	free(ca);
	secure_zero(msg, sizeof(*msg));
	free(msg);
	return ret;
}

static int
master_start_auth(struct master *m, int channels[], const char **error_r)
{
	int auth = master_spawn(m, "auth", error_r);
	if (auth < 0)
		return -1;
	for (unsigned l = 0; l < m->config->login_processes; l++) {
		if (master_send_fd(auth, CONTROL_FD_AUTH_CLIENT, l, channels[l],
		                   error_r) < 0)
			return -1;
		channels[l] = -1;
	}
	if (control_send_key(auth, m->ticket_key, sizeof(m->ticket_key)) < 0 ||
	    control_send_start(auth) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

static int
master_start_mail(struct master *m, int channels[], const char **error_r)
{
	int mail = master_spawn(m, "mail", error_r);
	if (mail < 0)
		return -1;
	for (unsigned l = 0; l < m->config->login_processes; l++) {
		if (master_send_fd(mail, CONTROL_FD_HANDOVER, l, channels[l],
		                   error_r) < 0)
			return -1;
		channels[l] = -1;
	}
	if (control_send_key(mail, m->ticket_key, sizeof(m->ticket_key)) < 0 ||
	    control_send_start(mail) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

/* The LMTP process, when there are LMTP listeners: they are bound here,
 * as root, so that port 24 and sockets in root's directories work. */
static int
master_start_lmtp(struct master *m, const char **error_r)
{
	const struct server_config *config = m->config;
	if (config->lmtp_listen_count == 0)
		return 0;
	int lmtp = master_spawn(m, "lmtp", error_r);
	if (lmtp < 0)
		return -1;
	for (size_t l = 0; l < config->lmtp_listen_count; l++) {
		const struct lmtp_listen_spec *spec = &config->lmtp_listen[l];
		int fd = spec->is_unix
		             ? master_unix_socket(config, spec->path, error_r)
		             : master_listen_socket(&spec->inet, error_r);
		if (fd < 0 || master_send_fd(lmtp, CONTROL_FD_LISTEN,
		                             (uint32_t)l, fd, error_r) < 0)
			return -1;
	}
	if (control_send_start(lmtp) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

static int
master_start_login(struct master *m, unsigned index, int auth_fd, int mail_fd,
                   const char **error_r)
{
	char role[32];
	snprintf(role, sizeof(role), "login:%u", index);
	int login = master_spawn(m, role, error_r);
	if (login < 0)
		return -1;
	m->login_control[index] = login;
	if (master_send_listeners(m, login, error_r) < 0 ||
	    master_send_fd(login, CONTROL_FD_AUTH, 0, auth_fd, error_r) < 0 ||
	    master_send_fd(login, CONTROL_FD_MAIL, 0, mail_fd, error_r) < 0 ||
	    master_send_tls(m, login, error_r) < 0)
		return -1;
	if (control_send_start(login) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

static void
master_close_all(int *fds, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

/*
 * Starts every role: the auth process and the mail process first, with
 * one channel from each login process, then the login processes.
 */
static int
master_start(struct master *m, const char **error_r)
{
	unsigned logins = m->config->login_processes;
	int auth_pairs[WORKER_MAX][2], mail_pairs[WORKER_MAX][2];
	int auth_side[WORKER_MAX], mail_side[WORKER_MAX];
	int ret = 0;
	memset(auth_pairs, -1, sizeof(auth_pairs));
	memset(mail_pairs, -1, sizeof(mail_pairs));
	for (unsigned l = 0; l < logins && ret == 0; l++)
		ret = master_pair(auth_pairs[l], error_r) < 0 ||
		              master_pair(mail_pairs[l], error_r) < 0
		          ? -1
		          : 0;
	for (unsigned l = 0; l < logins; l++) {
		auth_side[l] = auth_pairs[l][0];
		mail_side[l] = mail_pairs[l][0];
	}
	if (ret == 0)
		ret = master_start_auth(m, auth_side, error_r);
	if (ret == 0)
		ret = master_start_mail(m, mail_side, error_r);
	if (ret == 0)
		ret = master_start_lmtp(m, error_r);
	for (unsigned l = 0; l < logins && ret == 0; l++) {
		ret = master_start_login(m, l, auth_pairs[l][1],
		                         mail_pairs[l][1], error_r);
		auth_pairs[l][1] = mail_pairs[l][1] = -1;
	}
	master_close_all(auth_side, logins);
	master_close_all(mail_side, logins);
	for (unsigned l = 0; l < logins; l++) {
		master_close_all(&auth_pairs[l][1], 1);
		master_close_all(&mail_pairs[l][1], 1);
	}
	return ret;
}

/* SIGHUP: certificates are read again and sent to every login process,
 * which use them for new connections; none is dropped. */
static void
master_reload(struct master *m)
{
	const char *error = NULL;
	int failed = 0;
	for (unsigned l = 0; l < m->config->login_processes; l++) {
		if (m->login_control[l] >= 0 &&
		    master_send_tls(m, m->login_control[l], &error) < 0)
			failed++;
	}
	if (failed > 0)
		log_error("reload: certificates not reloaded: %s",
		          error != NULL ? error : "send failed");
	else
		log_info("reload: certificates read and sent to the login "
		         "processes");
}

static void
master_signal_children(struct master *m, int sig)
{
	for (size_t i = 0; i < m->child_count; i++) {
		if (m->children[i].pid > 0)
			kill(m->children[i].pid, sig);
	}
}

/* Shutdown order: the mail process first (it says BYE to every
 * session), then the login processes (their TLS relays pass the BYE
 * on), the auth process last, so nobody sees a peer vanish under a
 * session. */
static int
master_stop_rank(const struct master_child *c)
{
	if (strcmp(c->role, "mail") == 0)
		return 0;
	return strcmp(c->role, "auth") == 0 ? 2 : 1;
}

static void
master_stop_step(struct master *m)
{
	int rank = 3;
	for (size_t i = 0; i < m->child_count; i++) {
		struct master_child *c = &m->children[i];
		if (c->pid > 0 && master_stop_rank(c) < rank)
			rank = master_stop_rank(c);
	}
	for (size_t i = 0; i < m->child_count; i++) {
		struct master_child *c = &m->children[i];
		if (c->pid > 0 && master_stop_rank(c) == rank &&
		    !c->term_sent) {
			kill(c->pid, SIGTERM);
			c->term_sent = true;
		}
	}
}

/* Reaps children; returns false once one of them ended on its own. */
static bool
master_reap(struct master *m, bool stopping, int *status_r)
{
	int status;
	pid_t pid;
	bool all_well = true;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < m->child_count; i++) {
			struct master_child *c = &m->children[i];
			if (c->pid != pid)
				continue;
			c->pid = 0;
			/* A child that had not set up its signals yet dies of
			 * the SIGTERM we sent it: that is a clean stop too. */
			bool clean =
			    (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
			    (c->term_sent && WIFSIGNALED(status) &&
			     WTERMSIG(status) == SIGTERM);
			if (!clean || !stopping) {
				log_error("%s process ended status=%d", c->role,
				          WIFEXITED(status)
				              ? WEXITSTATUS(status)
				              : 128 + WTERMSIG(status));
				*status_r = 1;
				all_well = false;
			}
		}
	}
	return all_well;
}

static bool
master_children_left(const struct master *m)
{
	for (size_t i = 0; i < m->child_count; i++) {
		if (m->children[i].pid > 0)
			return true;
	}
	return false;
}

static void
master_free_children(struct master *m)
{
	for (size_t i = 0; i < m->child_count; i++) {
		close(m->children[i].control);
		free((char *)m->children[i].role);
	}
	m->child_count = 0;
}

/* After a failed start: stops and reaps whatever was started. */
static void
master_stop_all(struct master *m)
{
	master_signal_children(m, SIGTERM);
	pid_t pid;
	while (master_children_left(m) && (pid = waitpid(-1, NULL, 0)) > 0) {
		for (size_t i = 0; i < m->child_count; i++) {
			if (m->children[i].pid == pid)
				m->children[i].pid = 0;
		}
	}
	master_free_children(m);
}

/*
 * The data directory, before any role opens it: an older store upgraded,
 * everything owned by --user and private (0700/0600), and, as root, the
 * users and the login processes' empty root.
 */
static int
master_prepare(const struct server_config *config, const char **error_r)
{
	uid_t uid = getuid(), login_uid;
	gid_t gid = getgid(), login_gid;
	if (geteuid() == 0 &&
	    (privsep_user(config->user, &uid, &gid, error_r) < 0 ||
	     privsep_user(config->login_user, &login_uid, &login_gid, error_r) <
	         0 ||
	     privsep_prepare_empty_dir(error_r) < 0))
		return -1;
	if (store_upgrade(config->data_dir, error_r) != STORE_OK)
		return -1;
	return privsep_own_tree(config->data_dir, uid, gid, error_r);
}

/*
 * One server per data directory: two would split the logins between them
 * and the second would take DATA/notify.sock from the first, whose IDLE
 * sessions would then never hear of new mail.  The master holds an
 * exclusive flock(2) on DATA/casellad.lock while it runs; the kernel
 * drops it when the process ends, however it ends.  The file names the
 * holder's pid, for the error message only.
 */
static int
master_lock_data_dir(const char *data_dir, const char **error_r)
{
	static char message[4400];
	char path[4200], pid[32] = "";
	snprintf(path, sizeof(path), "%s/" MASTER_LOCK_NAME, data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(message, sizeof(message), "%s: %s", path,
		         strerror(errno));
		*error_r = message;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(message, sizeof(message),
		         "another casellad (pid %s) serves %s; one server per "
		         "data directory",
		         pid[0] != '\0' ? pid : "unknown", data_dir);
		*error_r = message;
		close(fd);
		return -1;
	}
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("%s: cannot record the pid: %s", path,
		         strerror(errno));
	return fd;
}

/* Waits for SIGTERM or a child's death, then stops every child. */
static int
master_wait(struct master *m, const sigset_t *signals)
{
	int status = 0, sig;
	bool stopping = false;
	while (master_children_left(m)) {
		if (sigwait(signals, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			if (!master_reap(m, stopping, &status))
				stopping = true;
		} else if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			log_info("signal %d: shutting down", sig);
			stopping = true;
		} else if (sig == SIGHUP && !stopping) {
			master_reload(m);
		}
		if (stopping)
			master_stop_step(m);
	}
	master_free_children(m);
	log_info("stopped");
	return status;
}

static void
master_log_listeners(const struct server_config *config)
{
	for (size_t i = 0; i < config->listen_count; i++)
		log_info("listening on %s port %u%s", config->listen[i].host,
		         config->listen[i].port,
		         config->listen[i].tls ? " (TLS)" : "");
	for (size_t i = 0; i < config->lmtp_listen_count; i++) {
		const struct lmtp_listen_spec *l = &config->lmtp_listen[i];
		if (l->is_unix)
			log_info("LMTP listening on unix:%s", l->path);
		else
			log_info("LMTP listening on %s port %u", l->inet.host,
			         l->inet.port);
	}
}

/* A clean stop takes the LMTP sockets away, so MTAs see at once that
 * nobody listens (a stale socket would be removed at the next start). */
static void
master_unlink_sockets(const struct server_config *config)
{
	for (size_t i = 0; i < config->lmtp_listen_count; i++) {
		if (config->lmtp_listen[i].is_unix)
			(void)unlink(config->lmtp_listen[i].path);
	}
}

int
master_main(const struct server_config *config, int argc, char **argv)
{
	struct master m = {.config = config, .argc = argc, .argv = argv};
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	sigaddset(&signals, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	const char *error;
	memset(m.login_control, -1, sizeof(m.login_control));
	if (RAND_bytes(m.ticket_key, sizeof(m.ticket_key)) != 1 ||
	    RAND_bytes(m.tls_ticket_key, sizeof(m.tls_ticket_key)) != 1)
		fatal("RAND_bytes failed");
	int lock = master_lock_data_dir(config->data_dir, &error);
	if (lock < 0 || master_probe_ports(config, &error) < 0 ||
	    master_prepare(config, &error) < 0 ||
	    master_start(&m, &error) < 0) {
		log_error("startup failed: %s", error);
		master_stop_all(&m);
		return 1;
	}
	master_log_listeners(config);
	int status = master_wait(&m, &signals);
	master_unlink_sockets(config);
	close(lock);
	return status;
}
