/*
 * A stand-in for an exploited pre-login bug, for tests/proto/test_privsep.py:
 * loaded with LD_PRELOAD into every casellad process, it acts only in the
 * role named by $CASELLA_PROBE_ROLE ("login", the default, or "mail").
 * It wraps epoll_wait(): the first time an event loop
 * waits after the process caged itself, it runs code on the process's
 * own thread, as an attacker's payload would (Landlock and no_new_privs
 * hold per thread, so a thread of its own would prove nothing): it tries
 * to open each path in
 * $CASELLA_PROBE_PATHS (colon-separated), to connect to 127.0.0.1:1, and
 * to read /etc/shadow, and writes one line per attempt to stderr:
 *
 *   probe pid=N uid=U open(PATH) = -1 errno=13
 *
 * Built without sanitizers; nothing of it is part of casellad.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <sys/epoll.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void
probe_report(const char *what, const char *arg, int r, int err)
{
	char line[512];
	int n = snprintf(
	    line, sizeof(line), "probe pid=%d uid=%d %s(%s) = %d errno=%d\n",
	    (int)getpid(), (int)getuid(), what, arg, r, r < 0 ? err : 0);
	(void)!write(2, line, (size_t)n);
}

static void
probe_open(const char *path)
{
	int fd = open(path, O_RDONLY);
	probe_report("open", path, fd, errno);
	if (fd >= 0)
		close(fd);
}

static void
probe_connect(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons(1),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = s < 0 ? -1 : connect(s, (struct sockaddr *)&sin, sizeof(sin));
	probe_report("connect", "127.0.0.1:1", r, errno);
	if (s >= 0)
		close(s);
}

static void
probe_run(void)
{
	char *paths = getenv("CASELLA_PROBE_PATHS");
	char *copy = paths != NULL ? strdup(paths) : NULL;
	for (char *p = copy != NULL ? strtok(copy, ":") : NULL; p != NULL;
	     p = strtok(NULL, ":"))
		probe_open(p);
	free(copy);
	probe_open("/etc/shadow");
	probe_connect();
}

/* In the chosen role, payload not run yet.  Atomic: in the mail process
 * several threads wait at once. */
static int probe_armed;

int
epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	static int (*real)(int, struct epoll_event *, int, int);
	if (real == NULL)
		real = (int (*)(int, struct epoll_event *, int, int))dlsym(
		    RTLD_NEXT, "epoll_wait");
	if (probe_armed && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 &&
	    __atomic_exchange_n(&probe_armed, 0, __ATOMIC_SEQ_CST))
		probe_run();
	return real(epfd, events, maxevents, timeout);
}

__attribute__((constructor)) static void
probe_start(void)
{
	char cmdline[4096];
	int fd = open("/proc/self/cmdline", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);
	if (fd >= 0)
		close(fd);
	const char *role = getenv("CASELLA_PROBE_ROLE");
	if (role == NULL)
		role = "login";
	size_t role_len = strlen(role);
	for (ssize_t i = 0; i + (ssize_t)role_len <= n; i++) {
		/* The role is a whole argument: "login:0" or "mail". */
		if ((i == 0 || cmdline[i - 1] == '\0') &&
		    strncmp(cmdline + i, role, role_len) == 0 &&
		    (cmdline[i + role_len] == '\0' ||
		     cmdline[i + role_len] == ':'))
			probe_armed = 1;
	}
}
