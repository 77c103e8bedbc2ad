#ifndef CASELLA_IMAP_IMAP_DATE_H
#define CASELLA_IMAP_IMAP_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * IMAP and RFC 5322 dates.  Calendar arithmetic is done here (proleptic
 * Gregorian, days from 1970-01-01), never through mktime()/timegm(), so
 * results do not depend on TZ or locale.  Times are UTC seconds since the
 * epoch; zones are offsets in minutes east of UTC (-0700 is -420).
 */

/* Room for imap_date_time_format(): 26 characters and a NUL, rounded up. */
#define IMAP_DATE_TIME_BUF_SIZE 32

/*
 * RFC 9051 date-time, the quotes already removed: "17-Jul-1996 02:44:25
 * -0700".  The day may be "dd", " d" (date-day-fixed) or "d".  Month
 * names are case-insensitive.  Returns false on any error: wrong length or
 * separators, bad month, a day not in that month (0, 32, 30-Feb), hour
 * over 23, minute or second over 59, zone digits outside 0000..9959
 * (minutes over 59), a year that is not 4 digits.
 */
bool imap_date_time_parse(const char *s, size_t len, int64_t *time_r,
                          int32_t *tz_minutes_r);

/*
 * Writes "dd-Mon-yyyy hh:mm:ss +zzzz" for time as seen in zone tz_minutes
 * into buf (size >= IMAP_DATE_TIME_BUF_SIZE).  dd has a leading space for
 * days 1-9 (RFC 9051 date-day-fixed).  A time whose local year falls
 * outside 0000..9999 is clamped to the nearest end of that range.
 * |tz_minutes| must be at most 99 * 60 + 59 (asserted).
 */
void imap_date_time_format(char *buf, size_t size, int64_t time,
                           int32_t tz_minutes);

/*
 * SEARCH date (RFC 9051 date: "1-Feb-1994" or "01-Feb-1994", optionally
 * in double quotes) into the UTC midnight that starts that day.  RFC 9051
 * 6.4.4 compares dates disregarding time and zone, so callers compare day
 * starts.  Returns false on any error, as imap_date_time_parse().
 */
bool imap_date_parse(const char *s, size_t len, int64_t *day_start_r);

/*
 * RFC 5322 3.3 Date header value, "Tue, 1 Jul 2003 10:52:37 +0200", with
 * the obsolete forms of 4.3: two- and three-digit years (RFC 5322 4.3: 00-49
 * is 2000-2049, 50-999 is +1900), named zones (UT, GMT, EST, EDT, CST,
 * CDT, MST, MDT, PST, PDT; military letters and unknown names are -0000,
 * i.e. 0), missing seconds, missing weekday, comments, extra whitespace
 * and folding.  A weekday that is present is not checked against the
 * date.  Returns false if unparseable.
 */
bool rfc5322_date_parse(const char *s, size_t len, int64_t *time_r,
                        int32_t *tz_minutes_r);

/* Days since 1970-01-01 for a proleptic Gregorian date (month 1..12). */
int64_t imap_date_days_from_civil(int64_t year, unsigned month, unsigned day);

#endif
