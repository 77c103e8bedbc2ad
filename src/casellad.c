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

#include "auth/auth-server.h"
#include "lib/log.h"
#include "lib/util.h"
#include "master/control.h"
#include "master/master.h"
#include "lmtp/lmtp-server.h"
#include "login/login.h"
#include "imap/worker.h"
#include "search/message-facts.h"
#include "store/blob.h"
#include "store/store.h"

static void
usage(FILE *out)
{
	fputs("usage: casellad --data DIR --listen ADDR:PORT [--listen ...]\n"
	      "  --data DIR            mail store directory (created if "
	      "missing)\n"
	      "  --listen ADDR:PORT    IMAP listener with STARTTLS "
	      "(repeatable);\n"
	      "                        ADDR is numeric, IPv6 as [::1]:143\n"
	      "  --tls-listen ADDR:PORT  implicit-TLS listener (993)\n"
	      "  --tls-cert FILE       certificate chain (PEM), repeatable\n"
	      "  --tls-key FILE        its private key, one per --tls-cert\n"
	      "  --tls-client-ca FILE  verify client certificates (EXTERNAL)\n"
	      "  --tls-client-user cn|email  the field naming the user\n"
	      "  --plaintext-auth loopback|always|never  where LOGIN and\n"
	      "                        PLAIN may go without TLS (loopback)\n"
	      "  --proxy-trusted CIDR  a load balancer sending PROXY headers\n"
	      "                        (repeatable)\n"
	      "  --user NAME           runs the mail and auth processes\n"
	      "                        and owns DATA (root only; casella)\n"
	      "  --login-user NAME     runs the login processes\n"
	      "                        (root only; casella-login)\n"
	      "  --login-processes N   pre-login processes (default: cores)\n"
	      "  --max-preauth-per-ip N  connections not logged in yet,\n"
	      "                        per address (default 100)\n"
	      "  --max-per-user N      sessions per user (default 100)\n"
	      "  --workers N           event-loop threads (default: cores)\n"
	      "  --login-timeout SECS  idle limit before login (default 120)\n"
	      "  --idle-timeout SECS   idle limit after login (default 1800)\n"
	      "  --idle-keepalive SECS \"* OK Still here\" in IDLE so often\n"
	      "                        (default 120; 0: never)\n"
	      "  --max-clients N       connections at most (default 200000)\n"
	      "  --auth-threads N      password hashing threads (default:\n"
	      "                        cores)\n"
	      "  --auth-failure-delay MS  wait before answering a failed\n"
	      "                        login (default 1000)\n"
	      "  --auth-cache-ttl SECS remember verified passwords so long\n"
	      "                        (default 900; 0: never)\n"
	      "  --gssapi-host HOST    accept only imap/HOST from the keytab\n"
	      "                        (KRB5_KTNAME; default: any imap/ key)\n"
	      "  --oauth-jwt-key FILE  PEM public key(s) for OAuth tokens\n"
	      "  --oauth-issuer ISS    required token issuer\n"
	      "  --oauth-audience AUD  required token audience\n"
	      "  --oauth-introspect URL  RFC 7662 token introspection\n"
	      "  --oauth-client-id ID  its client id\n"
	      "  --oauth-client-secret-file FILE  its client secret\n"
	      "  --oauth-user-claim C  claim naming the user (default sub)\n"
	      "  --lmtp-listen ADDR:PORT|unix:PATH  LMTP listener for the\n"
	      "                        MTA (repeatable)\n"
	      "  --lmtp-socket-mode MODE  of LMTP unix sockets (0666)\n"
	      "  --lmtp-socket-group NAME  their group\n"
	      "  --local-domain DOMAIN  the LMTP domains (repeatable;\n"
	      "                        default: any domain)\n"
	      "  --recipient-delimiter C  before the detail ('+')\n"
	      "  --detail-folders on|off  user+detail to folder detail\n"
	      "                        when it exists (on)\n"
	      "  --max-message-size N  LMTP SIZE limit (52428800)\n"
	      "  --lmtp-threads N      LMTP event loops (default: 4 per core)\n"
	      "  --vanished-history N  expunged UIDs kept per mailbox for\n"
	      "                        QRESYNC (default 50000)\n"
	      "  --debug               verbose logging\n",
	      out);
}

static void
die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "casellad: %s: %s\n", what, arg);
	exit(2);
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

static void
add_path(const char **paths, size_t *count, const char *path, const char *what)
{
	if (*count == SERVER_MAX_CERTS) {
		fprintf(stderr, "casellad: too many %s\n", what);
		exit(2);
	}
	paths[(*count)++] = path;
}

/* Index of arg among the two choices; exits on anything else. */
static int
parse_choice(const char *arg, const char *what, const char *a, const char *b)
{
	if (strcmp(arg, a) == 0 || strcmp(arg, b) == 0)
		return strcmp(arg, b) == 0;
	fprintf(stderr, "casellad: bad %s: %s (%s or %s)\n", what, arg, a, b);
	exit(2);
}

static int
parse_choice3(const char *arg)
{
	static const char *const names[] = {"loopback", "always", "never"};
	for (int i = 0; i < 3; i++) {
		if (strcmp(arg, names[i]) == 0)
			return i;
	}
	fprintf(stderr,
	        "casellad: bad --plaintext-auth: %s (loopback, "
	        "always or never)\n",
	        arg);
	exit(2);
}

static void
parse_lmtp_listen(const char *arg, struct server_config *config)
{
	if (config->lmtp_listen_count == SERVER_MAX_LISTEN)
		die_usage("too many --lmtp-listen", arg);
	struct lmtp_listen_spec *spec =
	    &config->lmtp_listen[config->lmtp_listen_count++];
	if (strncmp(arg, "unix:", 5) == 0) {
		spec->is_unix = true;
		if (arg[5] != '/' ||
		    casella_strlcpy(spec->path, arg + 5, sizeof(spec->path)) >=
		        sizeof(spec->path))
			die_usage("--lmtp-listen unix: needs an absolute path "
			          "under 108 bytes",
			          arg);
	} else if (parse_listen(arg, &spec->inet) < 0) {
		die_usage("bad --lmtp-listen", arg);
	}
}

static unsigned
parse_mode(const char *arg)
{
	char *end;
	errno = 0;
	unsigned long mode = strtoul(arg, &end, 8);
	if (errno != 0 || *end != '\0' || end == arg || mode > 0777)
		die_usage("bad --lmtp-socket-mode", arg);
	return (unsigned)mode;
}

static void
parse_delivery_flag(int c, const char *arg, struct server_config *config)
{
	struct delivery_settings *d = &config->delivery;
	uint64_t size;
	switch (c) {
	case 1031:
		if (d->domain_count == DELIVERY_DOMAINS_MAX)
			die_usage("too many --local-domain", arg);
		d->domains[d->domain_count++] = arg;
		break;
	case 1032:
		if (strlen(arg) > 1)
			die_usage("--recipient-delimiter is one character",
			          arg);
		d->delimiter = arg[0];
		break;
	case 1033:
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
			die_usage("--detail-folders is on or off", arg);
		d->detail_folders = strcmp(arg, "on") == 0;
		break;
	case 1034:
		if (!parse_u64(arg, strlen(arg), UINT64_MAX, &size) ||
		    size == 0 || size > BLOB_MAX_SIZE - 4 * LMTP_PATH_MAX)
			die_usage("bad --max-message-size (at most 64 MiB)",
			          arg);
		config->max_message_size = size;
		break;
	}
}

/* Settings that cannot work together are refused at start. */
static int
config_check(const struct server_config *config)
{
	bool tls_listener = false;
	for (size_t i = 0; i < config->listen_count; i++)
		tls_listener |= config->listen[i].tls;
	if (config->tls_cert_count != config->tls_key_count) {
		fputs("casellad: give one --tls-key for every --tls-cert\n",
		      stderr);
		return -1;
	}
	if (tls_listener && config->tls_cert_count == 0) {
		fputs("casellad: --tls-listen needs --tls-cert and "
		      "--tls-key\n",
		      stderr);
		return -1;
	}
	return 0;
}

/* A number that may be 0. */
static unsigned
parse_number(const char *arg, const char *what)
{
	uint32_t v;
	if (!parse_u32(arg, strlen(arg), &v)) {
		fprintf(stderr, "casellad: bad %s: %s\n", what, arg);
		exit(2);
	}
	return v;
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

/* A count, at most max (larger values mean max). */
static unsigned
parse_count_max(const char *arg, const char *what, unsigned max)
{
	unsigned v = parse_count(arg, what);
	return v > max ? max : v;
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

/*
 * Read by LeakSanitizer in the ASan build only.  MIT krb5 1.20's
 * gss_acquire_cred() loses the acceptor principal it built when the
 * keytab lacks the named key (88 bytes, once per failed probe); ours are
 * all released.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:krb5_build_principal_alloc_va\n";
}

/* A process started by the master (master.c): its role and, on fd 3,
 * its control socket. */
static int
run_role(const struct server_config *config, const char *role)
{
	unsigned index;
	if (strcmp(role, "auth") == 0)
		return auth_server_main(config, CONTROL_FD);
	if (sscanf(role, "login:%u", &index) == 1 &&
	    index < config->login_processes)
		return login_main(config, index, CONTROL_FD);
	/* Parse each message once, when it is stored. */
	store_set_facts_builder(message_facts_build);
	if (strcmp(role, "lmtp") == 0)
		return lmtp_main(config, CONTROL_FD);
	if (strcmp(role, "mail") == 0) {
		store_set_text_builder(message_text_build);
		return server_run(config, CONTROL_FD);
	}
	fprintf(stderr, "casellad: unknown role %s\n", role);
	return 2;
}

int
main(int argc, char **argv)
{
	/* Everything casellad creates is private (docs/security.md). */
	umask(077);
	static const struct option options[] = {
	    {"data", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"workers", required_argument, NULL, 'w'},
	    {"login-timeout", required_argument, NULL, 'L'},
	    {"idle-timeout", required_argument, NULL, 'I'},
	    {"max-clients", required_argument, NULL, 'm'},
	    {"auth-threads", required_argument, NULL, 'A'},
	    {"auth-failure-delay", required_argument, NULL, 'F'},
	    {"auth-cache-ttl", required_argument, NULL, 1022},
	    {"role", required_argument, NULL, 'R'},
	    {"gssapi-host", required_argument, NULL, 'G'},
	    {"tls-listen", required_argument, NULL, 1010},
	    {"tls-cert", required_argument, NULL, 1011},
	    {"tls-key", required_argument, NULL, 1012},
	    {"tls-client-ca", required_argument, NULL, 1013},
	    {"tls-client-user", required_argument, NULL, 1014},
	    {"plaintext-auth", required_argument, NULL, 1015},
	    {"proxy-trusted", required_argument, NULL, 1016},
	    {"user", required_argument, NULL, 1017},
	    {"login-user", required_argument, NULL, 1018},
	    {"login-processes", required_argument, NULL, 1019},
	    {"max-preauth-per-ip", required_argument, NULL, 1020},
	    {"max-per-user", required_argument, NULL, 1021},
	    {"idle-keepalive", required_argument, NULL, 1023},
	    {"lmtp-listen", required_argument, NULL, 1028},
	    {"lmtp-socket-mode", required_argument, NULL, 1029},
	    {"lmtp-socket-group", required_argument, NULL, 1030},
	    {"local-domain", required_argument, NULL, 1031},
	    {"recipient-delimiter", required_argument, NULL, 1032},
	    {"detail-folders", required_argument, NULL, 1033},
	    {"max-message-size", required_argument, NULL, 1034},
	    {"lmtp-threads", required_argument, NULL, 1035},
	    {"vanished-history", required_argument, NULL, 1036},
	    {"oauth-jwt-key", required_argument, NULL, 1000},
	    {"oauth-issuer", required_argument, NULL, 1001},
	    {"oauth-audience", required_argument, NULL, 1002},
	    {"oauth-introspect", required_argument, NULL, 1003},
	    {"oauth-client-id", required_argument, NULL, 1004},
	    {"oauth-client-secret-file", required_argument, NULL, 1005},
	    {"oauth-user-claim", required_argument, NULL, 1006},
	    {"debug", no_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct server_config config = {
	    .login_timeout_s = 120,
	    .idle_timeout_s = 1800,
	    .idle_keepalive_s = 120,
	    .lmtp_socket_mode = 0666,
	    .max_message_size = 50 * 1024 * 1024,
	    .delivery = {.detail_folders = true, .delimiter = '+'},
	    .max_clients = 200000,
	    .auth_failure_delay_ms = 1000,
	    .auth_cache_ttl_s = 900,
	    .max_preauth_per_ip = 100,
	    .max_per_user = 100,
	    .user = "casella",
	    .login_user = "casella-login",
	};
	const char *role = NULL;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	config.worker_count = cores > 0 && cores < 64 ? (unsigned)cores : 2;
	config.auth_threads = config.worker_count;
	config.login_processes = config.worker_count;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			config.data_dir = optarg;
			break;
		case 'l':
		case 1010:
			if (config.listen_count == SERVER_MAX_LISTEN ||
			    parse_listen(optarg,
			                 &config.listen[config.listen_count]) <
			        0) {
				fprintf(stderr, "casellad: bad --%s %s\n",
				        c == 'l' ? "listen" : "tls-listen",
				        optarg);
				return 2;
			}
			config.listen[config.listen_count++].tls = c == 1010;
			break;
		case 1011:
			add_path(config.tls_cert, &config.tls_cert_count,
			         optarg, "--tls-cert");
			break;
		case 1012:
			add_path(config.tls_key, &config.tls_key_count, optarg,
			         "--tls-key");
			break;
		case 1013:
			config.tls_client_ca = optarg;
			break;
		case 1014:
			config.tls_client_user_email =
			    parse_choice(optarg, "--tls-client-user", "cn",
			                 "email") == 1;
			break;
		case 1015:
			config.plaintext_auth =
			    (enum plaintext_auth)parse_choice3(optarg);
			break;
		case 1016:
			if (config.proxy_trusted_count == SERVER_MAX_TRUSTED ||
			    !cidr_parse(optarg,
			                &config.proxy_trusted
			                     [config.proxy_trusted_count])) {
				fprintf(stderr,
				        "casellad: bad --proxy-trusted %s\n",
				        optarg);
				return 2;
			}
			config.proxy_trusted_count++;
			break;
		case 1017:
			config.user = optarg;
			break;
		case 1018:
			config.login_user = optarg;
			break;
		case 1019:
			config.login_processes = parse_count_max(
			    optarg, "--login-processes", WORKER_MAX);
			break;
		case 1020:
			config.max_preauth_per_ip =
			    parse_count(optarg, "--max-preauth-per-ip");
			break;
		case 1022:
			config.auth_cache_ttl_s =
			    parse_number(optarg, "--auth-cache-ttl");
			break;
		case 1021:
			config.max_per_user =
			    parse_count(optarg, "--max-per-user");
			break;
		case 'w':
			config.worker_count =
			    parse_count_max(optarg, "--workers", WORKER_MAX);
			break;
		case 'L':
			config.login_timeout_s =
			    parse_count(optarg, "--login-timeout");
			break;
		case 'I':
			config.idle_timeout_s =
			    parse_count(optarg, "--idle-timeout");
			break;
		case 1028:
			parse_lmtp_listen(optarg, &config);
			break;
		case 1035:
			config.lmtp_threads = parse_count_max(
			    optarg, "--lmtp-threads", LMTP_THREADS_MAX);
			break;
		case 1029:
			config.lmtp_socket_mode = parse_mode(optarg);
			break;
		case 1036:
			/* Every role parses the flags: each store sees it. */
			store_set_vanished_max(
			    parse_count(optarg, "--vanished-history"));
			break;
		case 1030:
			config.lmtp_socket_group = optarg;
			break;
		case 1031:
		case 1032:
		case 1033:
		case 1034:
			parse_delivery_flag(c, optarg, &config);
			break;
		case 1023:
			config.idle_keepalive_s =
			    parse_number(optarg, "--idle-keepalive");
			break;
		case 'm':
			config.max_clients =
			    parse_count(optarg, "--max-clients");
			break;
		case 'A':
			config.auth_threads =
			    parse_count(optarg, "--auth-threads");
			if (config.auth_threads > 64)
				config.auth_threads = 64;
			break;
		case 'F':
			config.auth_failure_delay_ms =
			    parse_number(optarg, "--auth-failure-delay");
			break;
		case 'R':
			role = optarg;
			break;
		case 'G':
			config.gssapi_host = optarg;
			break;
		case 1000:
			config.oauth_jwt_key_file = optarg;
			break;
		case 1001:
			config.oauth_issuer = optarg;
			break;
		case 1002:
			config.oauth_audience = optarg;
			break;
		case 1003:
			config.oauth_introspect_url = optarg;
			break;
		case 1004:
			config.oauth_client_id = optarg;
			break;
		case 1005:
			config.oauth_client_secret_file = optarg;
			break;
		case 1006:
			config.oauth_user_claim = optarg;
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
	if (config_check(&config) < 0)
		return 2;
	/* Deliveries wait on fsync more than on the CPU: more loops than
	 * cores keep the disk busy (imapload lmtp, 50 connections, two
	 * cores: 2 loops 1166 msgs/s, 4 loops 1580, 8 loops 1865). */
	if (config.lmtp_threads == 0)
		config.lmtp_threads = 4 * config.worker_count > LMTP_THREADS_MAX
		                          ? LMTP_THREADS_MAX
		                          : 4 * config.worker_count;
	if (config.max_clients < config.login_processes)
		config.max_clients = config.login_processes;
	if (mkdir(config.data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "casellad: %s: %s\n", config.data_dir,
		        strerror(errno));
		return 1;
	}
	if (role != NULL)
		return run_role(&config, role);
	raise_fd_limit();
	return master_main(&config, argc, argv);
}
