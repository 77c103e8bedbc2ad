/*
 * casellad: the Casella IMAP server.
 *
 *   casellad --data DIR --listen ADDR:PORT [--listen ...] [options]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "net/worker.h"
#include "cmd/message-facts.h"
#include "store/store.h"

static void
usage(FILE *out)
{
	fputs("usage: casellad --data DIR --listen ADDR:PORT [--listen ...]\n"
	      "  --data DIR            mail store directory (created if "
	      "missing)\n"
	      "  --listen ADDR:PORT    plain IMAP listener (repeatable);\n"
	      "                        ADDR is numeric, IPv6 as [::1]:143\n"
	      "  --workers N           event-loop threads (default: cores)\n"
	      "  --login-timeout SECS  idle limit before login (default 120)\n"
	      "  --idle-timeout SECS   idle limit after login (default 1800)\n"
	      "  --max-clients N       connections at most (default 200000)\n"
	      "  --debug               verbose logging\n",
	      out);
}

static int
parse_listen(const char *arg, struct listen_spec *spec)
{
	const char *colon;
	const char *host = arg;
	size_t host_len;
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		host = arg + 1;
		host_len = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(arg, ':');
		if (colon == NULL)
			return -1;
		host_len = (size_t)(colon - arg);
	}
	if (host_len == 0 || host_len >= sizeof(spec->host))
		return -1;
	memcpy(spec->host, host, host_len);
	spec->host[host_len] = '\0';
	uint32_t port;
	if (!parse_u32(colon + 1, strlen(colon + 1), &port) || port == 0 ||
	    port > 65535)
		return -1;
	spec->port = (uint16_t)port;
	return 0;
}

static unsigned
parse_count(const char *arg, const char *what)
{
	uint32_t v;
	if (!parse_u32(arg, strlen(arg), &v) || v == 0) {
		fprintf(stderr, "casellad: bad %s: %s\n", what, arg);
		exit(2);
	}
	return v;
}

/* Each connection is one fd: allow as many as the hard limit permits. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"workers", required_argument, NULL, 'w'},
	    {"login-timeout", required_argument, NULL, 'L'},
	    {"idle-timeout", required_argument, NULL, 'I'},
	    {"max-clients", required_argument, NULL, 'm'},
	    {"debug", no_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct server_config config = {
	    .login_timeout_s = 120,
	    .idle_timeout_s = 1800,
	    .max_clients = 200000,
	};
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	config.worker_count = cores > 0 && cores < 64 ? (unsigned)cores : 2;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			config.data_dir = optarg;
			break;
		case 'l':
			if (config.listen_count == SERVER_MAX_LISTEN ||
			    parse_listen(optarg,
			                 &config.listen[config.listen_count]) <
			        0) {
				fprintf(stderr, "casellad: bad --listen %s\n",
				        optarg);
				return 2;
			}
			config.listen_count++;
			break;
		case 'w':
			config.worker_count = parse_count(optarg, "--workers");
			if (config.worker_count > 64)
				config.worker_count = 64;
			break;
		case 'L':
			config.login_timeout_s =
			    parse_count(optarg, "--login-timeout");
			break;
		case 'I':
			config.idle_timeout_s =
			    parse_count(optarg, "--idle-timeout");
			break;
		case 'm':
			config.max_clients =
			    parse_count(optarg, "--max-clients");
			break;
		case 'D':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config.data_dir == NULL || config.listen_count == 0 ||
	    optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config.max_clients < config.worker_count)
		config.max_clients = config.worker_count;
	if (mkdir(config.data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "casellad: %s: %s\n", config.data_dir,
		        strerror(errno));
		return 1;
	}
	/* Parse each message once, when it is stored. */
	store_set_facts_builder(message_facts_build);
	store_set_text_builder(message_text_build);
	raise_fd_limit();
	return server_run(&config);
}
