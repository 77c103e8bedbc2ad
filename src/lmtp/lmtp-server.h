#ifndef CASELLA_LMTP_SERVER_H
#define CASELLA_LMTP_SERVER_H

struct server_config;

/* Event loops of the LMTP process at most. */
#define LMTP_THREADS_MAX 64

/*
 * The LMTP process: accepts on the LMTP listeners the master hands it
 * over control (master/control.h), one event loop per worker thread with
 * its own store handle, and delivers; each committed change is announced
 * to the mail process over DATA/notify.sock, which wakes IDLE sessions.
 * Runs until SIGTERM; returns the exit code.
 */
int lmtp_main(const struct server_config *config, int control);

#endif
