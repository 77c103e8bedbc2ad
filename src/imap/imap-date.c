/*
 * IMAP date-time (RFC 9051 9) and RFC 5322 3.3 dates.  All calendar
 * arithmetic is local to this file; nothing depends on TZ or locale.
 */
#include "imap-date.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define SECS_PER_DAY 86400
/* Largest zone offset we parse or print: +9959 / -9959. */
#define ZONE_MAX_MINUTES (99 * 60 + 59)
/* RFC 5322 3.2.2: comments nest; bound the depth we follow. */
#define COMMENT_MAX_DEPTH 16

static const char *const month_names[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static const char *const month_full_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

static const char *const day_names[7] = {
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
};

static const char *const day_full_names[7] = {
    "Monday", "Tuesday",  "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday",
};

/* A read position in (s, len). */
struct date_cursor {
	const char *s;
	size_t len;
	size_t pos;
};

static bool
is_leap_year(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned
days_in_month(int64_t year, unsigned month)
{
	static const unsigned char days[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	if (month == 2 && is_leap_year(year))
		return 29;
	return days[month - 1];
}

/* Floor division, so that dates before 1970 land on the right day. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * Counts in 400-year eras (146097 days each, the Gregorian cycle) and
 * treats March as the first month, so the leap day ends the year and the
 * month lengths from March follow the (153 * m + 2) / 5 pattern.
 */
int64_t
imap_date_days_from_civil(int64_t year, unsigned month, unsigned day)
{
	int64_t y = month <= 2 ? year - 1 : year;
	int64_t era = floor_div(y, 400);
	int64_t year_of_era = y - era * 400;               /* 0..399 */
	int64_t m = month > 2 ? month - 3 : month + 9;     /* Mar = 0 */
	int64_t day_of_year = (153 * m + 2) / 5 + day - 1; /* 0..365 */
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 -
	                     year_of_era / 100 + day_of_year;

	/* 719468 days lie between 0000-03-01 and 1970-01-01. */
	return era * 146097 + day_of_era - 719468;
}

/* The inverse of imap_date_days_from_civil(). */
static void
civil_from_days(int64_t days, int64_t *year_r, unsigned *month_r,
                unsigned *day_r)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t day_of_era = z - era * 146097; /* 0..146096 */
	int64_t year_of_era = (day_of_era - day_of_era / 1460 +
	                       day_of_era / 36524 - day_of_era / 146096) /
	                      365;
	int64_t day_of_year =
	    day_of_era -
	    (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	int64_t mp = (5 * day_of_year + 2) / 153; /* Mar = 0 */

	*day_r = (unsigned)(day_of_year - (153 * mp + 2) / 5 + 1);
	*month_r = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year_r = year_of_era + era * 400 + (*month_r <= 2 ? 1 : 0);
}

static bool
cursor_eof(const struct date_cursor *c)
{
	return c->pos >= c->len;
}

static char
cursor_peek(const struct date_cursor *c)
{
	return cursor_eof(c) ? '\0' : c->s[c->pos];
}

static bool
cursor_take(struct date_cursor *c, char ch)
{
	if (cursor_peek(c) != ch || cursor_eof(c))
		return false;
	c->pos++;
	return true;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads min_digits..max_digits decimal digits (max_digits <= 9). */
static bool
cursor_digits(struct date_cursor *c, unsigned min_digits, unsigned max_digits,
              unsigned *value_r, unsigned *count_r)
{
	unsigned value = 0, n = 0;

	while (n < max_digits && !cursor_eof(c) && is_digit(c->s[c->pos])) {
		value = value * 10 + (unsigned)(c->s[c->pos] - '0');
		c->pos++;
		n++;
	}
	if (n < min_digits)
		return false;
	*value_r = value;
	if (count_r != NULL)
		*count_r = n;
	return true;
}

/* Reads a run of letters; returns its length (0 if none). */
static size_t
cursor_word(struct date_cursor *c, const char **word_r)
{
	size_t start = c->pos;

	while (!cursor_eof(c) && is_alpha(c->s[c->pos]))
		c->pos++;
	*word_r = c->s + start;
	return c->pos - start;
}

/* Index of word in short[] (exact, case-insensitive) or full[]; -1 if not. */
static int
name_lookup(const char *word, size_t len, const char *const *short_names,
            const char *const *full_names, int count)
{
	for (int i = 0; i < count; i++) {
		if (mem_case_eq(word, len, short_names[i]) ||
		    (full_names != NULL &&
		     mem_case_eq(word, len, full_names[i])))
			return i;
	}
	return -1;
}

static bool
cursor_month(struct date_cursor *c, bool allow_full, unsigned *month_r)
{
	const char *word;
	size_t len = cursor_word(c, &word);
	int i = name_lookup(word, len, month_names,
	                    allow_full ? month_full_names : NULL, 12);

	if (i < 0)
		return false;
	*month_r = (unsigned)i + 1;
	return true;
}

static bool
date_valid(int64_t year, unsigned month, unsigned day)
{
	return month >= 1 && month <= 12 && day >= 1 &&
	       day <= days_in_month(year, month);
}

/* "+hhmm" / "-hhmm", RFC 9051 zone and RFC 5322 3.3 zone. */
static bool
cursor_zone(struct date_cursor *c, int32_t *tz_minutes_r)
{
	unsigned value;
	int sign;

	if (cursor_take(c, '+'))
		sign = 1;
	else if (cursor_take(c, '-'))
		sign = -1;
	else
		return false;
	if (!cursor_digits(c, 4, 4, &value, NULL) || value % 100 > 59)
		return false;
	*tz_minutes_r = sign * (int32_t)(value / 100 * 60 + value % 100);
	return true;
}

static int64_t
date_to_time(int64_t year, unsigned month, unsigned day, unsigned hour,
             unsigned min, unsigned sec, int32_t tz_minutes)
{
	return imap_date_days_from_civil(year, month, day) * SECS_PER_DAY +
	       hour * 3600 + min * 60 + sec - (int64_t)tz_minutes * 60;
}

/* "dd-Mon-yyyy" after the day's first character has been handled. */
static bool
cursor_imap_date(struct date_cursor *c, unsigned day, int64_t *days_r)
{
	unsigned month, year;

	if (!cursor_take(c, '-') || !cursor_month(c, false, &month) ||
	    !cursor_take(c, '-') || !cursor_digits(c, 4, 4, &year, NULL))
		return false;
	if (!date_valid(year, month, day))
		return false;
	*days_r = imap_date_days_from_civil(year, month, day);
	return true;
}

bool
imap_date_time_parse(const char *s, size_t len, int64_t *time_r,
                     int32_t *tz_minutes_r)
{
	struct date_cursor c = {.s = s, .len = len};
	unsigned day, hour, min, sec;
	int64_t days;
	int32_t tz;

	/* RFC 9051 9: date-day-fixed = (SP DIGIT) / 2DIGIT; "1" also seen. */
	if (cursor_take(&c, ' ')) {
		if (!cursor_digits(&c, 1, 1, &day, NULL))
			return false;
	} else if (!cursor_digits(&c, 1, 2, &day, NULL)) {
		return false;
	}
	if (!cursor_imap_date(&c, day, &days) || !cursor_take(&c, ' '))
		return false;
	if (!cursor_digits(&c, 2, 2, &hour, NULL) || !cursor_take(&c, ':') ||
	    !cursor_digits(&c, 2, 2, &min, NULL) || !cursor_take(&c, ':') ||
	    !cursor_digits(&c, 2, 2, &sec, NULL) || !cursor_take(&c, ' ') ||
	    !cursor_zone(&c, &tz) || !cursor_eof(&c))
		return false;
	if (hour > 23 || min > 59 || sec > 59)
		return false;
	*time_r = days * SECS_PER_DAY + hour * 3600 + min * 60 + sec -
	          (int64_t)tz * 60;
	*tz_minutes_r = tz;
	return true;
}

void
imap_date_time_format(char *buf, size_t size, int64_t time, int32_t tz_minutes)
{
	static const int64_t min_time = -62167219200; /* 0000-01-01 */
	static const int64_t max_time = 253402300799; /* 9999-12-31 23:59:59 */
	int64_t local, year, days;
	unsigned month, day, abs_tz;
	int secs;

	i_assert(size >= IMAP_DATE_TIME_BUF_SIZE);
	i_assert(tz_minutes >= -ZONE_MAX_MINUTES &&
	         tz_minutes <= ZONE_MAX_MINUTES);

	/* Clamp before adding the zone so the sum cannot overflow. */
	if (time < min_time)
		time = min_time;
	if (time > max_time)
		time = max_time;
	local = time + (int64_t)tz_minutes * 60;
	if (local < min_time)
		local = min_time;
	if (local > max_time)
		local = max_time;

	days = floor_div(local, SECS_PER_DAY);
	secs = (int)(local - days * SECS_PER_DAY);
	civil_from_days(days, &year, &month, &day);
	abs_tz = (unsigned)(tz_minutes < 0 ? -tz_minutes : tz_minutes);
	snprintf(buf, size, "%2u-%s-%04u %02d:%02d:%02d %c%02u%02u", day,
	         month_names[month - 1], (unsigned)year, secs / 3600,
	         secs / 60 % 60, secs % 60, tz_minutes < 0 ? '-' : '+',
	         abs_tz / 60, abs_tz % 60);
}

bool
imap_date_parse(const char *s, size_t len, int64_t *day_start_r)
{
	struct date_cursor c;
	unsigned day;
	int64_t days;

	/* RFC 9051 9: date = date-text / DQUOTE date-text DQUOTE. */
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	c = (struct date_cursor){.s = s, .len = len};
	if (!cursor_digits(&c, 1, 2, &day, NULL) ||
	    !cursor_imap_date(&c, day, &days) || !cursor_eof(&c))
		return false;
	*day_start_r = days * SECS_PER_DAY;
	return true;
}

/* RFC 5322 3.2.2 CFWS: whitespace (folding included) and comments. */
static bool
cursor_skip_cfws(struct date_cursor *c)
{
	unsigned depth = 0;

	while (!cursor_eof(c)) {
		char ch = c->s[c->pos];

		if (depth > 0 && ch == '\\') {
			c->pos += c->pos + 1 < c->len ? 2 : 1;
			continue;
		}
		if (ch == '(') {
			if (++depth > COMMENT_MAX_DEPTH)
				return false;
		} else if (ch == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && ch != ' ' && ch != '\t' &&
		           ch != '\r' && ch != '\n') {
			break;
		}
		c->pos++;
	}
	/* An unterminated comment is not a date we trust. */
	return depth == 0;
}

/*
 * RFC 5322 3.3 zone or obs-zone (4.3).  Military letters and unknown
 * names mean -0000 (no information), which we store as 0.
 */
static bool
cursor_rfc5322_zone(struct date_cursor *c, int32_t *tz_minutes_r)
{
	static const struct {
		const char *name;
		int32_t minutes;
	} zones[] = {
	    {"UT", 0},        {"UTC", 0},       {"GMT", 0},
	    {"Z", 0},         {"EST", -5 * 60}, {"EDT", -4 * 60},
	    {"CST", -6 * 60}, {"CDT", -5 * 60}, {"MST", -7 * 60},
	    {"MDT", -6 * 60}, {"PST", -8 * 60}, {"PDT", -7 * 60},
	};
	const char *word;
	size_t len;

	*tz_minutes_r = 0;
	if (cursor_eof(c))
		return true; /* missing zone: no information */
	if (cursor_peek(c) == '+' || cursor_peek(c) == '-')
		return cursor_zone(c, tz_minutes_r);
	len = cursor_word(c, &word);
	if (len == 0)
		return false;
	for (size_t i = 0; i < N_ELEMENTS(zones); i++) {
		if (mem_case_eq(word, len, zones[i].name)) {
			*tz_minutes_r = zones[i].minutes;
			break;
		}
	}
	return true;
}

/* RFC 5322 4.3 obs-year: 2 digits are 19xx/20xx, 3 digits add 1900. */
static unsigned
rfc5322_year(unsigned year, unsigned digits)
{
	if (digits == 2)
		return year < 50 ? 2000 + year : 1900 + year;
	if (digits == 3)
		return 1900 + year;
	return year;
}

/* time-of-day: hh ":" mm [ ":" ss ], CFWS allowed around ':' (obs). */
static bool
cursor_time_of_day(struct date_cursor *c, unsigned *hour_r, unsigned *min_r,
                   unsigned *sec_r)
{
	*sec_r = 0;
	if (!cursor_digits(c, 1, 2, hour_r, NULL) || !cursor_skip_cfws(c) ||
	    !cursor_take(c, ':') || !cursor_skip_cfws(c) ||
	    !cursor_digits(c, 2, 2, min_r, NULL) || !cursor_skip_cfws(c))
		return false;
	if (cursor_take(c, ':')) {
		if (!cursor_skip_cfws(c) ||
		    !cursor_digits(c, 2, 2, sec_r, NULL))
			return false;
	}
	/* RFC 5322 3.3 allows 60 for a leap second; time_t has none. */
	if (*sec_r == 60)
		*sec_r = 59;
	return *hour_r <= 23 && *min_r <= 59 && *sec_r <= 59;
}

static bool
cursor_year(struct date_cursor *c, unsigned *year_r)
{
	unsigned year, digits;

	if (!cursor_digits(c, 2, 4, &year, &digits))
		return false;
	/* A fifth digit is a year we cannot represent in date-time. */
	if (is_digit(cursor_peek(c)))
		return false;
	*year_r = rfc5322_year(year, digits);
	return true;
}

/*
 * After an optional weekday: either RFC 5322 "day month year time" or,
 * as some old software writes, asctime() "month day time year".
 */
bool
rfc5322_date_parse(const char *s, size_t len, int64_t *time_r,
                   int32_t *tz_minutes_r)
{
	struct date_cursor c = {.s = s, .len = len};
	unsigned day, month, year, hour, min, sec;
	int32_t tz;

	if (!cursor_skip_cfws(&c))
		return false;
	if (is_alpha(cursor_peek(&c))) {
		const char *word;
		size_t wlen = cursor_word(&c, &word);

		if (name_lookup(word, wlen, day_names, day_full_names, 7) < 0)
			return false;
		if (!cursor_skip_cfws(&c))
			return false;
		(void)cursor_take(&c, ',');
		if (!cursor_skip_cfws(&c))
			return false;
	}
	if (is_alpha(cursor_peek(&c))) {
		/* asctime(): "Jul  1 10:52:37 2003" */
		if (!cursor_month(&c, true, &month) || !cursor_skip_cfws(&c) ||
		    !cursor_digits(&c, 1, 2, &day, NULL) ||
		    !cursor_skip_cfws(&c) ||
		    !cursor_time_of_day(&c, &hour, &min, &sec) ||
		    !cursor_skip_cfws(&c) || !cursor_year(&c, &year))
			return false;
	} else {
		if (!cursor_digits(&c, 1, 2, &day, NULL) ||
		    !cursor_skip_cfws(&c) || !cursor_month(&c, true, &month) ||
		    !cursor_skip_cfws(&c) || !cursor_year(&c, &year) ||
		    !cursor_skip_cfws(&c) ||
		    !cursor_time_of_day(&c, &hour, &min, &sec))
			return false;
	}
	/* Whatever follows a zone ("+0200 CEST") carries no more data. */
	if (!cursor_skip_cfws(&c) || !cursor_rfc5322_zone(&c, &tz))
		return false;
	if (!date_valid(year, month, day))
		return false;
	*time_r = date_to_time(year, month, day, hour, min, sec, tz);
	*tz_minutes_r = tz;
	return true;
}
