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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "master/control.h"
#include "store/store.h"

#define MASTER_MAX_CHILDREN 8

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
};

static int
master_listen_socket(const struct listen_spec *spec, const char **error_r)
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
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts casellad again as role; its control socket becomes fd 3. */
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
	m->children[m->child_count++] =
	    (struct master_child){.role = role, .pid = pid, .control = sv[0]};
	return sv[0];
}

static int
master_pair(int sv[2], const char **error_r)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	               0, sv) < 0) {
		*error_r = strerror(errno);
		return -1;
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

/* The mail process's listeners: one socket per worker per listener. */
static int
master_send_listeners(struct master *m, int control, const char **error_r)
{
	const struct server_config *config = m->config;
	for (size_t l = 0; l < config->listen_count; l++) {
		for (unsigned w = 0; w < config->worker_count; w++) {
			int fd =
			    master_listen_socket(&config->listen[l], error_r);
			if (fd < 0 ||
			    master_send_fd(
			        control, CONTROL_FD_LISTEN,
			        (uint32_t)(l * config->worker_count + w), fd,
			        error_r) < 0)
				return -1;
		}
	}
	return 0;
}

/* Starts the auth process and the mail process, with one auth channel
 * per mail worker. */
static int
master_start(struct master *m, const char **error_r)
{
	int auth = master_spawn(m, "auth", error_r);
	int mail = auth < 0 ? -1 : master_spawn(m, "mail", error_r);
	if (mail < 0 || master_send_listeners(m, mail, error_r) < 0)
		return -1;
	for (unsigned w = 0; w < m->config->worker_count; w++) {
		int sv[2];
		if (master_pair(sv, error_r) < 0 ||
		    master_send_fd(auth, CONTROL_FD_AUTH_CLIENT, w, sv[0],
		                   error_r) < 0 ||
		    master_send_fd(mail, CONTROL_FD_AUTH, w, sv[1], error_r) <
		        0)
			return -1;
	}
	if (control_send_start(auth) < 0 || control_send_start(mail) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

static void
master_signal_children(struct master *m, int sig)
{
	for (size_t i = 0; i < m->child_count; i++) {
		if (m->children[i].pid > 0)
			kill(m->children[i].pid, sig);
	}
}

static bool
master_is_auth(const struct master_child *c)
{
	return strcmp(c->role, "auth") == 0;
}

/* Shutdown goes in two steps: the processes that serve clients first,
 * so none of them sees the auth process vanish under a session; then
 * the auth process. */
static void
master_stop_step(struct master *m)
{
	bool serving = false;
	for (size_t i = 0; i < m->child_count; i++) {
		struct master_child *c = &m->children[i];
		if (c->pid > 0 && !master_is_auth(c)) {
			serving = true;
			if (!c->term_sent)
				kill(c->pid, SIGTERM);
			c->term_sent = true;
		}
	}
	for (size_t i = 0; i < m->child_count && !serving; i++) {
		struct master_child *c = &m->children[i];
		if (c->pid > 0 && !c->term_sent)
			kill(c->pid, SIGTERM);
		c->term_sent = true;
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
			bool clean =
			    WIFEXITED(status) && WEXITSTATUS(status) == 0;
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
	for (size_t i = 0; i < m->child_count; i++)
		close(m->children[i].control);
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
		}
		if (stopping)
			master_stop_step(m);
	}
	for (size_t i = 0; i < m->child_count; i++)
		close(m->children[i].control);
	log_info("stopped");
	return status;
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
	if (store_upgrade(config->data_dir, &error) != STORE_OK ||
	    master_start(&m, &error) < 0) {
		log_error("startup failed: %s", error);
		master_stop_all(&m);
		return 1;
	}
	for (size_t i = 0; i < config->listen_count; i++)
		log_info("listening on %s port %u", config->listen[i].host,
		         config->listen[i].port);
	return master_wait(&m, &signals);
}
