/* Tests for src/imap/imap-date.c. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "imap/imap-date.h"
#include "test.h"
#include "util.h"

static bool
parse_dt(const char *s, int64_t *t_r, int32_t *tz_r)
{
	return imap_date_time_parse(s, strlen(s), t_r, tz_r);
}

static bool
parse_5322(const char *s, int64_t *t_r, int32_t *tz_r)
{
	return rfc5322_date_parse(s, strlen(s), t_r, tz_r);
}

/* glibc's timegm() is TZ-independent and serves as an oracle here. */
static int64_t
oracle(int year, int month, int day, int hour, int min, int sec)
{
	struct tm tm = {
	    .tm_year = year - 1900,
	    .tm_mon = month - 1,
	    .tm_mday = day,
	    .tm_hour = hour,
	    .tm_min = min,
	    .tm_sec = sec,
	};
	return (int64_t)timegm(&tm);
}

static void
test_days_from_civil(void)
{
	test_assert(imap_date_days_from_civil(1970, 1, 1) == 0);
	test_assert(imap_date_days_from_civil(1969, 12, 31) == -1);
	test_assert(imap_date_days_from_civil(2000, 3, 1) == 11017);
	test_assert(imap_date_days_from_civil(0, 1, 1) == -719528);

	/* Every day from 1600 to 2400 against the oracle. */
	for (int y = 1600; y <= 2400; y++) {
		for (unsigned m = 1; m <= 12; m++) {
			for (unsigned d = 1; d <= 31; d += 3) {
				int64_t want =
				    oracle(y, (int)m, (int)d, 0, 0, 0) / 86400;
				struct tm tm;
				time_t t = (time_t)(want * 86400);
				gmtime_r(&t, &tm);
				/* Skip days that timegm() normalised. */
				if ((unsigned)tm.tm_mday != d)
					continue;
				if (imap_date_days_from_civil(y, m, d) !=
				    want) {
					test_assert(false);
					return;
				}
			}
		}
	}
}

static void
test_date_time_parse(void)
{
	int64_t t;
	int32_t tz;

	/* RFC 9051's example. */
	test_assert(parse_dt("17-Jul-1996 02:44:25 -0700", &t, &tz));
	test_assert(t == oracle(1996, 7, 17, 9, 44, 25) && tz == -420);
	test_assert(parse_dt(" 1-Feb-2000 00:00:00 +0000", &t, &tz));
	test_assert(t == oracle(2000, 2, 1, 0, 0, 0) && tz == 0);
	test_assert(parse_dt("1-Feb-2000 00:00:00 +0000", &t, &tz));
	test_assert(t == oracle(2000, 2, 1, 0, 0, 0));
	test_assert(parse_dt("01-feb-2000 00:00:00 +0130", &t, &tz));
	test_assert(t == oracle(2000, 1, 31, 22, 30, 0) && tz == 90);
	test_assert(parse_dt("29-Feb-2000 23:59:59 -0000", &t, &tz));
	test_assert(t == oracle(2000, 2, 29, 23, 59, 59) && tz == 0);
	test_assert(parse_dt("31-Dec-1969 23:59:59 +0000", &t, &tz));
	test_assert(t == -1);
	test_assert(parse_dt("01-Jan-0000 00:00:00 +0000", &t, &tz));
	test_assert(parse_dt("31-Dec-9999 23:59:59 -9959", &t, &tz));
	test_assert(tz == -(99 * 60 + 59));
}

static void
test_date_time_parse_invalid(void)
{
	static const char *const invalid[] = {
	    "",
	    "17-Jul-1996 02:44:25",        /* no zone */
	    "17-Jul-1996 02:44:25 -0700 ", /* trailing space */
	    " 17-Jul-1996 02:44:25 -0700", /* space and two digits */
	    "  1-Jul-1996 02:44:25 -0700",
	    "17-Jux-1996 02:44:25 -0700",
	    "17-July-1996 02:44:25 -0700",
	    "00-Jul-1996 02:44:25 -0700",
	    "32-Jul-1996 02:44:25 -0700",
	    "31-Jun-1996 02:44:25 -0700",
	    "29-Feb-1900 02:44:25 -0700", /* 1900 is not a leap year */
	    "30-Feb-2000 02:44:25 -0700",
	    "117-Jul-1996 02:44:25 -0700",
	    "17-Jul-96 02:44:25 -0700",
	    "17-Jul-19960 02:44:25 -0700",
	    "17-Jul-1996 24:00:00 -0700",
	    "17-Jul-1996 02:60:25 -0700",
	    "17-Jul-1996 02:44:60 -0700",
	    "17-Jul-1996 2:44:25 -0700",
	    "17-Jul-1996 02:44 -0700",
	    "17-Jul-1996 02:44:25 0700",
	    "17-Jul-1996 02:44:25 -070",
	    "17-Jul-1996 02:44:25 -07000",
	    "17-Jul-1996 02:44:25 -0760",
	    "17-Jul-1996 02:44:25 +9960",
	    "17-Jul-1996 02:44:25 PDT",
	    "17/Jul/1996 02:44:25 -0700",
	    "17-Jul-1996T02:44:25 -0700",
	    "\"17-Jul-1996 02:44:25 -0700\"",
	};
	int64_t t;
	int32_t tz;

	for (size_t i = 0; i < N_ELEMENTS(invalid); i++) {
		bool ok = parse_dt(invalid[i], &t, &tz);
		if (ok)
			fprintf(stderr, "  accepted \"%s\"\n", invalid[i]);
		test_assert(!ok);
	}
	/* A NUL inside, and length that cuts the zone short. */
	test_assert(!imap_date_time_parse("17-Jul-1996 02:44:25 -07\0000", 26,
	                                  &t, &tz));
	test_assert(
	    !imap_date_time_parse("17-Jul-1996 02:44:25 -0700", 25, &t, &tz));
}

static void
test_date_time_format(void)
{
	char buf[IMAP_DATE_TIME_BUF_SIZE];

	imap_date_time_format(buf, sizeof(buf), oracle(1996, 7, 17, 9, 44, 25),
	                      -420);
	test_assert(strcmp(buf, "17-Jul-1996 02:44:25 -0700") == 0);
	imap_date_time_format(buf, sizeof(buf), 0, 0);
	test_assert(strcmp(buf, " 1-Jan-1970 00:00:00 +0000") == 0);
	imap_date_time_format(buf, sizeof(buf), 0, 330);
	test_assert(strcmp(buf, " 1-Jan-1970 05:30:00 +0530") == 0);
	imap_date_time_format(buf, sizeof(buf), -1, -60);
	test_assert(strcmp(buf, "31-Dec-1969 22:59:59 -0100") == 0);
	imap_date_time_format(buf, sizeof(buf), oracle(2024, 2, 29, 12, 0, 0),
	                      0);
	test_assert(strcmp(buf, "29-Feb-2024 12:00:00 +0000") == 0);
	test_assert(strlen(buf) == 26);

	/* Out-of-range times clamp to the years date-time can show. */
	imap_date_time_format(buf, sizeof(buf), INT64_MAX, 9 * 60);
	test_assert(strcmp(buf, "31-Dec-9999 23:59:59 +0900") == 0);
	imap_date_time_format(buf, sizeof(buf), INT64_MIN, -99 * 60 - 59);
	test_assert(strcmp(buf, " 1-Jan-0000 00:00:00 -9959") == 0);
}

/* Format then parse gives back the same instant and zone. */
static void
test_date_time_round_trip(void)
{
	static const int32_t zones[] = {
	    0, 60, -60, 330, -210, 345, 840, -720, -9 * 60 - 30, 5999, -5999,
	};
	static const int64_t times[] = {
	    0,
	    -1,
	    951782400,    /* 2000-02-29 00:00:00 */
	    951868799,    /* 2000-02-29 23:59:59 */
	    4107542399,   /* 2100-02-28 23:59:59, 2100 not leap */
	    1709208000,   /* 2024-02-29 12:00:00 */
	    -2208988800,  /* 1900-01-01 */
	    -62135596800, /* 0001-01-01 */
	    253401696000, /* 9999-12-25, +9959 stays in 9999 */
	};
	char buf[IMAP_DATE_TIME_BUF_SIZE];
	int64_t t;
	int32_t tz;

	for (size_t i = 0; i < N_ELEMENTS(times); i++) {
		for (size_t j = 0; j < N_ELEMENTS(zones); j++) {
			imap_date_time_format(buf, sizeof(buf), times[i],
			                      zones[j]);
			bool ok = parse_dt(buf, &t, &tz);
			if (!ok || t != times[i] || tz != zones[j])
				fprintf(stderr, "  %s\n", buf);
			test_assert(ok && t == times[i] && tz == zones[j]);
		}
	}
	/* A day-by-day sweep across four centuries, odd offsets. */
	for (int64_t x = -5000000000; x < 9000000000; x += 86400 * 7 + 3607) {
		int32_t zone = (int32_t)(x % 1441);
		imap_date_time_format(buf, sizeof(buf), x, zone);
		if (!parse_dt(buf, &t, &tz) || t != x || tz != zone) {
			fprintf(stderr, "  %s\n", buf);
			test_assert(false);
			break;
		}
	}
}

static void
test_date_parse(void)
{
	static const char *const invalid[] = {
	    "",
	    "1-Feb",
	    "1-Feb-94",
	    "001-Feb-1994",
	    "1 Feb 1994",
	    "1-Fex-1994",
	    "0-Feb-1994",
	    "29-Feb-1994",
	    "1-Feb-1994 ",
	    " 1-Feb-1994",
	    "\"1-Feb-1994",
	    "\"",
	    "1-Feb-1994 00:00:00 +0000",
	};
	int64_t t;

	test_assert(imap_date_parse("1-Feb-1994", 10, &t));
	test_assert(t == oracle(1994, 2, 1, 0, 0, 0));
	test_assert(imap_date_parse("01-Feb-1994", 11, &t));
	test_assert(t == oracle(1994, 2, 1, 0, 0, 0));
	test_assert(imap_date_parse("\"29-FEB-1996\"", 13, &t));
	test_assert(t == oracle(1996, 2, 29, 0, 0, 0));
	test_assert(imap_date_parse("31-Dec-1969", 11, &t) && t == -86400);

	for (size_t i = 0; i < N_ELEMENTS(invalid); i++) {
		bool ok = imap_date_parse(invalid[i], strlen(invalid[i]), &t);
		if (ok)
			fprintf(stderr, "  accepted \"%s\"\n", invalid[i]);
		test_assert(!ok);
	}
}

static void
test_rfc5322_date(void)
{
	static const struct {
		const char *in;
		int64_t time;
		int32_t tz;
	} cases[] = {
	    {"Tue, 1 Jul 2003 10:52:37 +0200", 1057049557, 120},
	    {"1 Jul 2003 10:52:37 +0200", 1057049557, 120},
	    {"Tue,  1 Jul 2003 10:52:37 +0200", 1057049557, 120},
	    {"Tue, 01 Jul 2003 10:52:37 +0200", 1057049557, 120},
	    {"  Tue ,\r\n 1\tJul 2003 10:52:37 +0200  ", 1057049557, 120},
	    {"Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", 1057049557, 120},
	    {"Tue, 1 Jul 2003 10:52:37 +0200 CEST", 1057049557, 120},
	    {"(x) Tue (y), 1 (z) Jul (a (nested) b) 2003 10:52:37 +0200",
	     1057049557, 120},
	    {"Tue, 1 Jul 2003 10 : 52 : 37 +0200", 1057049557, 120},
	    {"tuesday, 1 JULY 2003 10:52:37 +0200", 1057049557, 120},
	    {"Tue, 1 Jul 2003 10:52 +0200", 1057049520, 120},
	    {"Tue, 1 Jul 03 10:52:37 +0200", 1057049557, 120},
	    {"Tue, 1 Jul 103 10:52:37 +0200", 1057049557, 120},
	    {"Thu, 1 Jul 99 10:52:37 +0200", 930819157, 120},
	    {"Tue, 1 Jul 2003 08:52:37 GMT", 1057049557, 0},
	    {"Tue, 1 Jul 2003 08:52:37 UT", 1057049557, 0},
	    {"Tue, 1 Jul 2003 04:52:37 EDT", 1057049557, -240},
	    {"Tue, 1 Jul 2003 03:52:37 est", 1057049557, -300},
	    {"Tue, 1 Jul 2003 01:52:37 PDT", 1057049557, -420},
	    {"Tue, 1 Jul 2003 00:52:37 PST", 1057049557, -480},
	    {"Tue, 1 Jul 2003 01:52:37 MST", 1057049557, -420},
	    {"Tue, 1 Jul 2003 02:52:37 MDT", 1057049557, -360},
	    {"Tue, 1 Jul 2003 02:52:37 CST", 1057049557, -360},
	    {"Tue, 1 Jul 2003 03:52:37 CDT", 1057049557, -300},
	    /* Military and unknown zones carry no information. */
	    {"Tue, 1 Jul 2003 08:52:37 A", 1057049557, 0},
	    {"Tue, 1 Jul 2003 08:52:37 XYZT", 1057049557, 0},
	    {"Tue, 1 Jul 2003 08:52:37", 1057049557, 0},
	    {"Tue, 1 Jul 2003 08:52:37 -0000", 1057049557, 0},
	    {"Tue, 1 Jul 2003 08:52:60 +0000", 1057049579, 0},
	    {"Tue Jul  1 08:52:37 2003", 1057049557, 0},
	    {"Thu, 29 Feb 2024 23:30:00 -0100", 1709253000, -60},
	    {"Fri, 31 Dec 1999 23:59:59 -1200", 946727999, -720},
	};
	static const char *const invalid[] = {
	    "",
	    "   ",
	    "garbage",
	    "Tue, 1 Jul 2003",
	    "Tue, 1 Jul 2003 10:52:37 +02",
	    "Tue, 1 Jul 2003 10:52:37 +0260",
	    "Tue, 1 Jul 2003 10:52:37 2003",
	    "Tue, 1 Xyz 2003 10:52:37 +0200",
	    "Tue, 31 Jun 2003 10:52:37 +0200",
	    "Tue, 29 Feb 2003 10:52:37 +0200",
	    "Tue, 0 Jul 2003 10:52:37 +0200",
	    "Tue, 1 Jul 2003 24:52:37 +0200",
	    "Tue, 1 Jul 2003 10:60:37 +0200",
	    "Tue, 1 Jul 2003 10:52:61 +0200",
	    "Tue, 1 Jul 20033 10:52:37 +0200",
	    "Tue, 1 Jul 2 10:52:37 +0200",
	    "Tue, 1 Jul 2003 10:5:37 +0200",
	    "Tue, 1 Jul 2003 10 +0200",
	    "Xyz, 1 Jul 2003 10:52:37 +0200",
	    "Tue, 1 Jul 2003 10:52:37 (unterminated +0200",
	    "Tue, 1 Jul (((((((((((((((((((x))))))))))))))))))) 2003 10:52:37",
	    "Tue, 1 Jul 2003 10:52:37 @",
	};
	int64_t t;
	int32_t tz;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		bool ok = parse_5322(cases[i].in, &t, &tz);
		if (!ok || t != cases[i].time || tz != cases[i].tz)
			fprintf(stderr, "  \"%s\": %d %lld %d\n", cases[i].in,
			        ok, (long long)t, (int)tz);
		test_assert(ok && t == cases[i].time && tz == cases[i].tz);
	}
	for (size_t i = 0; i < N_ELEMENTS(invalid); i++) {
		bool ok = parse_5322(invalid[i], &t, &tz);
		if (ok)
			fprintf(stderr, "  accepted \"%s\"\n", invalid[i]);
		test_assert(!ok);
	}
	/* The length bounds the parse, not a NUL. */
	test_assert(
	    !rfc5322_date_parse("1 Jul 2003 10:52:37 +0200", 12, &t, &tz));
	test_assert(
	    rfc5322_date_parse("1 Jul 2003 10:52\0:37 +0200", 16, &t, &tz));
	test_assert(t == 1057056720 && tz == 0);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"days from civil", test_days_from_civil},
	    {"date-time parse", test_date_time_parse},
	    {"date-time parse invalid", test_date_time_parse_invalid},
	    {"date-time format", test_date_time_format},
	    {"date-time round trip", test_date_time_round_trip},
	    {"date parse", test_date_parse},
	    {"rfc5322 date", test_rfc5322_date},
	};

	return test_run("imap-date", cases, N_ELEMENTS(cases));
}
