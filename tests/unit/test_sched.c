// SPDX-License-Identifier: BSD-2-Clause
/*
 * Schedule tests: day and window parsing, TZif and POSIX TZ string parsing,
 * DST edges, and sched_active at boundaries.
 *
 * Expected instants come from timegm() (glibc, no time zone involved) and
 * from dates worked out by hand in the comments. Expected UTC offsets
 * (offset_table) were generated once, outside this test, by the script
 * below: zone files through python3's zoneinfo module (its own TZif and
 * footer reader), POSIX TZ strings through glibc's tzset(); both are
 * implementations independent of ours. For each key and year it finds every
 * offset change to the second and records the second before and the second
 * of the change. The zone-file rows need /usr/share/zoneinfo (Debian
 * package tzdata); 2040 and later are past the last transition of the
 * files, so they exercise our footer evaluation.
 *
 *   import datetime, os, time, zoneinfo
 *   def off_file(z, t):
 *       d = datetime.datetime.fromtimestamp(t, zoneinfo.ZoneInfo(z))
 *       return int(d.utcoffset().total_seconds())
 *   def off_posix(s, t):
 *       os.environ['TZ'] = s; time.tzset()
 *       return time.localtime(t).tm_gmtoff
 *   def transitions(f, key, y):   # hourly scan of [y - 8 days, y + 1 + 8 days), then bisection
 *       a = int(datetime.datetime(y, 1, 1, tzinfo=datetime.timezone.utc).timestamp()) - 86400 * 8
 *       b = int(datetime.datetime(y + 1, 1, 1, tzinfo=datetime.timezone.utc).timestamp()) + 86400 *
 * 8 out, prev, t = [], f(key, a), a while t < b: n = f(key, t + 3600) if n != prev: lo, hi = t, t +
 * 3600 while hi - lo > 1: m = (lo + hi) // 2 if f(key, m) == prev: lo = m else: hi = m
 *               out.append(hi); prev = n
 *           t += 3600
 *       return out
 *   for each key, for y in (2026, 2040, 2399, 2400, 9998), for each change
 *   tr in transitions(f, key, y): rows (tr - 1, f(tr - 1)) and (tr, f(tr)).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/sched.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define HOUR 3600
#define DAY  86400
/* 400 Gregorian years: the calendar, and so any POSIX TZ rule, repeats. */
#define CYCLE ((int64_t)146097 * DAY)

/* UTC instant of a civil date and time, by glibc (no zone involved). */
static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};

	return timegm(&tm);
}

static struct sched *mk(const char *days, const char *w0, const char *w1, const char *tz)
{
	const char *w[2] = {w0, w1};
	char err[256] = "";
	struct sched *s = sched_parse(days, w, w1 ? 2 : (w0 ? 1 : 0), tz, NULL, err, sizeof(err));

	if (!s)
		fail_msg("sched_parse(%s, %s, %s, %s): %s", days ? days : "NULL", w0 ? w0 : "-",
			 w1 ? w1 : "-", tz ? tz : "NULL", err);
	return s;
}

static void expect_format(struct sched *s, const char *want)
{
	char out[256];

	assert_non_null(s);
	assert_int_equal(sched_format(s, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	sched_free(s);
}

/* sched_parse must fail with errno e and a message holding sub. */
static void expect_parse_err(const char *days, const char *const *w, size_t n, const char *tz,
			     const char *zonedir, int e, const char *sub)
{
	char err[256] = "";
	struct sched *s;

	errno = 0;
	s = sched_parse(days, w, n, tz, zonedir, err, sizeof(err));
	if (s) {
		sched_free(s);
		fail_msg("accepted days=%s tz=%s (want error '%s')", days ? days : "NULL",
			 tz ? tz : "NULL", sub);
	}
	if (errno != e)
		fail_msg("days=%s tz=%s: errno %d, want %d (%s)", days ? days : "NULL",
			 tz ? tz : "NULL", errno, e, err);
	if (!strstr(err, sub))
		fail_msg("message '%s' lacks '%s'", err, sub);
}

/* ------------------------------------------------------------ parsing */

static void test_days_ok(void **state)
{
	static const struct {
		const char *spec, *want;
	} t[] = {
	    {NULL, "*"},
	    {"*", "*"},
	    {" * ", "*"},
	    {"mon-fri", "mon-fri"},
	    {"sat,sun", "sat,sun"},
	    {"mon,wed-fri", "mon,wed-fri"},
	    {"MON-Fri", "mon-fri"},
	    {" mon , tue ", "mon,tue"},
	    {"mon - wed", "mon-wed"},
	    {"tue,wed,thu", "tue-thu"},
	    {"sun-sat", "*"},
	    {"mon-sun", "*"},
	    {"mon-mon", "mon"},
	    {"mon,mon", "mon"},
	    {"fri-mon", "mon,fri-sun"}, /* wraps around the week */
	    {"sat-tue", "mon,tue,sat,sun"},
	    {"sun", "sun"},
	    {"mon-fri,wed", "mon-fri"},
	};
	char want[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(want, sizeof(want), "%s 00:00-24:00 UTC", t[i].want);
		expect_format(mk(t[i].spec, NULL, NULL, NULL), want);
	}
}

static void test_days_bad(void **state)
{
	static const struct {
		const char *spec, *sub;
	} t[] = {
	    {"", "days: empty"},
	    {"   ", "days: empty"},
	    {"monday", "unknown day 'monday'"},
	    {"mo", "unknown day 'mo'"},
	    {"xyz", "unknown day 'xyz'"},
	    {"mon-", "unknown day '' after '-'"},
	    {"-fri", "unknown day ''"},
	    {"mon,,tue", "empty item"},
	    {"mon,", "empty item"},
	    {",mon", "empty item"},
	    {"*,mon", "'*' must stand alone"},
	    {"mon fri", "unexpected 'f' (want ',' or '-')"},
	    {"mon-fri-sat", "unexpected '-' (want ',')"},
	    {"mon;tue", "unexpected ';'"},
	    {"1-5", "unknown day '1'"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		expect_parse_err(t[i].spec, NULL, 0, NULL, NULL, EINVAL, t[i].sub);
}

static void test_windows_ok(void **state)
{
	static const struct {
		const char *w, *want;
	} t[] = {
	    {"09:00-17:00", "09:00-17:00"},	{"9:00-17:00", "09:00-17:00"},
	    {"22:00-06:00", "22:00-06:00"},	{"00:00-24:00", "00:00-24:00"},
	    {" 08:30 - 12:15 ", "08:30-12:15"}, {"23:59-24:00", "23:59-24:00"},
	    {"00:00-00:01", "00:00-00:01"},	{"23:00-00:00", "23:00-00:00"},
	};
	char want[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(want, sizeof(want), "mon %s UTC", t[i].want);
		expect_format(mk("mon", t[i].w, NULL, "UTC"), want);
	}
	expect_format(mk("sat,sun", "22:00-06:00", "12:00-13:00", "UTC"),
		      "sat,sun 22:00-06:00,12:00-13:00 UTC");
}

static void test_windows_bad(void **state)
{
	static const struct {
		const char *w, *sub;
	} t[] = {
	    {"09:00-09:00", "start equals end"},
	    {"00:00-00:00", "start equals end"},
	    {"24:00-01:00", "24:00 only as an end"},
	    {"25:00-26:00", "want HH:MM-HH:MM"},
	    {"09:60-10:00", "want HH:MM-HH:MM"},
	    {"09:00-24:01", "want HH:MM-HH:MM"},
	    {"9-17", "want HH:MM-HH:MM"},
	    {"09:00", "want HH:MM-HH:MM"},
	    {"09:00-", "want HH:MM-HH:MM"},
	    {"09:00-17:00x", "want HH:MM-HH:MM"},
	    {"09:00-17:00-18:00", "want HH:MM-HH:MM"},
	    {"0900-1700", "want HH:MM-HH:MM"},
	    {"09:0-10:00", "want HH:MM-HH:MM"},
	    {"09:000-10:00", "want HH:MM-HH:MM"},
	    {"009:00-10:00", "want HH:MM-HH:MM"},
	    {"-1:00-02:00", "want HH:MM-HH:MM"},
	    {"", "want HH:MM-HH:MM"},
	    {"09.00-17.00", "want HH:MM-HH:MM"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const char *w[2] = {"08:00-09:00", t[i].w};
		char sub[96];

		/* The message numbers windows from 1 and quotes the bad one. */
		snprintf(sub, sizeof(sub), "window 2 '%s'", t[i].w);
		expect_parse_err("mon", w, 2, NULL, NULL, EINVAL, sub);
		expect_parse_err("mon", w, 2, NULL, NULL, EINVAL, t[i].sub);
	}
}

static void test_windows_args(void **state)
{
	const char *w[SCHED_WINDOWS_MAX + 1];
	const char *nullw[1] = {NULL};
	struct sched *s;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		w[i] = "10:00-11:00";
	expect_parse_err("mon", NULL, 1, NULL, NULL, EINVAL, "windows: NULL with a count of 1");
	expect_parse_err("mon", w, SCHED_WINDOWS_MAX + 1, NULL, NULL, EINVAL, "at most 32");
	expect_parse_err("mon", nullw, 1, NULL, NULL, EINVAL, "window 1: NULL");
	s = sched_parse("mon", w, SCHED_WINDOWS_MAX, NULL, NULL, NULL, 0);
	assert_non_null(s);
	sched_free(s);
	/* No error buffer: still refuses, still sets errno. */
	errno = 0;
	assert_null(sched_parse("mon", nullw, 1, NULL, NULL, NULL, 0));
	assert_int_equal(errno, EINVAL);
}

static void test_tz_name_ok(void **state)
{
	static const char *const good[] = {"Europe/Paris",
					   "UTC",
					   "Etc/GMT+5",
					   "Etc/GMT-14",
					   "America/Argentina/Buenos_Aires",
					   "America/Port-au-Prince",
					   "a"};
	static const char *const bad[] = {"",
					  "/etc/localtime",
					  "../etc/passwd",
					  "Europe/../../etc",
					  "Europe/",
					  "Europe//Paris",
					  "Europe/Paris ",
					  "Europe/Par.is",
					  "Europe\\Paris",
					  "Europe/Paris\n",
					  "..",
					  ".",
					  "a/./b",
					  "Europe/Pa%2Fris"};
	char longname[SCHED_TZ_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(sched_tz_name_ok(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (sched_tz_name_ok(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	assert_false(sched_tz_name_ok(NULL));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(sched_tz_name_ok(longname));
	longname[SCHED_TZ_NAME_MAX] = '\0';
	assert_true(sched_tz_name_ok(longname));
}

static void test_tz_bad_names(void **state)
{
	(void)state;
	expect_parse_err("mon", NULL, 0, "../etc/passwd", NULL, EINVAL, "below the zone directory");
	expect_parse_err("mon", NULL, 0, "/etc/localtime", NULL, EINVAL,
			 "below the zone directory");
	expect_parse_err("mon", NULL, 0, "Europe/../../etc/passwd", NULL, EINVAL,
			 "below the zone directory");
	expect_parse_err("mon", NULL, 0, "Europe/Paris ", NULL, EINVAL, "bad zone name");
	expect_parse_err("mon", NULL, 0, "Europe//Paris", NULL, EINVAL, "bad zone name");
	expect_parse_err("mon", NULL, 0, "Europe/", NULL, EINVAL, "bad zone name");
	expect_parse_err("mon", NULL, 0, "Europe/Paris;rm", NULL, EINVAL, "bad zone name");
}

static void test_tz_unknown_and_dir(void **state)
{
	(void)state;
	expect_parse_err("mon", NULL, 0, "Mars/Olympus_Mons", NULL, ENOENT,
			 "tz 'Mars/Olympus_Mons': unknown zone");
	/* A directory of zones is not a zone. */
	expect_parse_err("mon", NULL, 0, "Europe", NULL, EINVAL, "not a zone file");
	/* A zone directory that does not exist: the zone is unknown. */
	expect_parse_err("mon", NULL, 0, "Europe/Paris", "/nonexistent/zoneinfo", ENOENT,
			 "unknown zone");
}

static void test_utc_default(void **state)
{
	struct sched *s[3];
	time_t mon9 = utc(2026, 3, 2, 9, 0, 0);

	(void)state;
	s[0] = mk("mon", "09:00-17:00", NULL, NULL);
	s[1] = mk("mon", "09:00-17:00", NULL, "");
	/* UTC is built in: no zone file is read, whatever the directory. */
	s[2] = sched_parse("mon", (const char *[]){"09:00-17:00"}, 1, "UTC",
			   "/nonexistent/zoneinfo", NULL, 0);
	assert_non_null(s[2]);
	for (int i = 0; i < 3; i++) {
		char out[64];

		assert_int_equal(sched_format(s[i], out, sizeof(out)), 0);
		assert_string_equal(out, "mon 09:00-17:00 UTC");
		assert_false(sched_active(s[i], mon9 - 1));
		assert_true(sched_active(s[i], mon9));
		assert_true(sched_active(s[i], mon9 + 8 * HOUR - 1));
		assert_false(sched_active(s[i], mon9 + 8 * HOUR));
		sched_free(s[i]);
	}
}

/* ------------------------------------------------ sched_active in UTC */

static void test_weekday_boundaries(void **state)
{
	/* 2026-03-02 is a Monday (and 1970-01-01 a Thursday). */
	time_t mon = utc(2026, 3, 2, 0, 0, 0);
	struct sched *s = mk("mon", NULL, NULL, NULL);
	struct sched *thu = mk("thu", NULL, NULL, NULL);

	(void)state;
	assert_false(sched_active(s, mon - 1));
	assert_true(sched_active(s, mon));
	assert_true(sched_active(s, mon + DAY - 1));
	assert_false(sched_active(s, mon + DAY));
	assert_true(sched_active(s, mon + 7 * DAY + 12 * HOUR));
	assert_true(sched_active(thu, 0));
	assert_true(sched_active(thu, DAY - 1));
	assert_false(sched_active(thu, DAY));
	assert_false(sched_active(thu, -1));
	/* Before 1970: 1969-12-25 was a Thursday too. */
	assert_true(sched_active(thu, -7 * DAY));
	assert_false(sched_active(thu, -7 * DAY - 1));
	sched_free(s);
	sched_free(thu);
}

static void test_window_edges(void **state)
{
	time_t mon = utc(2026, 3, 2, 0, 0, 0);
	struct sched *s = mk("mon-fri", "09:00-17:00", NULL, NULL);

	(void)state;
	assert_false(sched_active(s, mon + 9 * HOUR - 1));
	assert_true(sched_active(s, mon + 9 * HOUR));
	assert_true(sched_active(s, mon + 17 * HOUR - 1));
	assert_false(sched_active(s, mon + 17 * HOUR));
	/* Friday yes, Saturday and Sunday no. */
	assert_true(sched_active(s, mon + 4 * DAY + 12 * HOUR));
	assert_false(sched_active(s, mon + 5 * DAY + 12 * HOUR));
	assert_false(sched_active(s, mon - DAY + 12 * HOUR));
	sched_free(s);
}

static void test_minute_resolution(void **state)
{
	time_t mon = utc(2026, 3, 2, 0, 0, 0);
	struct sched *s = mk("mon", "08:30-08:31", NULL, NULL);
	struct sched *e = mk("mon", "23:59-24:00", NULL, NULL);

	(void)state;
	assert_false(sched_active(s, mon + 8 * HOUR + 29 * 60 + 59));
	assert_true(sched_active(s, mon + 8 * HOUR + 30 * 60));
	assert_true(sched_active(s, mon + 8 * HOUR + 30 * 60 + 59));
	assert_false(sched_active(s, mon + 8 * HOUR + 31 * 60));
	assert_false(sched_active(e, mon + DAY - 61));
	assert_true(sched_active(e, mon + DAY - 60));
	assert_true(sched_active(e, mon + DAY - 1));
	assert_false(sched_active(e, mon + DAY)); /* Tuesday 00:00 */
	sched_free(s);
	sched_free(e);
}

static void test_midnight_crossing(void **state)
{
	time_t fri = utc(2026, 3, 6, 0, 0, 0);
	struct sched *s = mk("fri", "22:00-06:00", NULL, NULL);

	(void)state;
	assert_false(sched_active(s, fri + 22 * HOUR - 1));
	assert_true(sched_active(s, fri + 22 * HOUR));
	assert_true(sched_active(s, fri + DAY - 1));
	/* Saturday morning belongs to Friday's window, though Saturday is not listed. */
	assert_true(sched_active(s, fri + DAY));
	assert_true(sched_active(s, fri + DAY + 6 * HOUR - 1));
	assert_false(sched_active(s, fri + DAY + 6 * HOUR));
	/* Friday morning belongs to Thursday's window: Thursday is not listed. */
	assert_false(sched_active(s, fri + 3 * HOUR));
	assert_false(sched_active(s, fri + DAY + 23 * HOUR));
	sched_free(s);
}

static void test_midnight_crossing_week_wrap(void **state)
{
	time_t sun = utc(2026, 3, 8, 0, 0, 0);
	struct sched *s = mk("sun", "22:00-06:00", NULL, NULL);
	struct sched *sat = mk("sat", "23:00-01:00", NULL, NULL);

	(void)state;
	/* Sunday night to Monday morning: the previous day wraps from Monday to Sunday. */
	assert_true(sched_active(s, sun + DAY + 5 * HOUR));
	assert_false(sched_active(s, sun + 5 * HOUR)); /* Saturday's night: not listed */
	assert_true(sched_active(s, sun + 23 * HOUR));
	assert_true(sched_active(sat, sun));
	assert_true(sched_active(sat, sun - HOUR));
	assert_false(sched_active(sat, sun + HOUR));
	assert_false(sched_active(sat, sun - HOUR - 1));
	sched_free(s);
	sched_free(sat);
}

static void test_midnight_crossing_weekdays(void **state)
{
	time_t mon = utc(2026, 3, 2, 0, 0, 0);
	struct sched *s = mk("mon-fri", "22:00-06:00", NULL, NULL);

	(void)state;
	/* Monday 03:00 is Sunday's night: not listed. Saturday 03:00 is Friday's. */
	assert_false(sched_active(s, mon + 3 * HOUR));
	assert_true(sched_active(s, mon + 5 * DAY + 3 * HOUR));
	assert_true(sched_active(s, mon + DAY + 3 * HOUR));
	assert_false(sched_active(s, mon + 5 * DAY + 22 * HOUR)); /* Saturday night */
	assert_false(sched_active(s, mon + 12 * HOUR));
	sched_free(s);
}

static void test_window_union(void **state)
{
	time_t mon = utc(2026, 3, 2, 0, 0, 0);
	struct sched *s = mk("*", "12:00-13:00", "18:00-19:30", NULL);
	struct sched *o = mk("*", "10:00-14:00", "12:00-16:00", NULL);

	(void)state;
	assert_false(sched_active(s, mon + 11 * HOUR));
	assert_true(sched_active(s, mon + 12 * HOUR + 59 * 60));
	assert_false(sched_active(s, mon + 13 * HOUR));
	assert_true(sched_active(s, mon + 19 * HOUR + 29 * 60));
	assert_false(sched_active(s, mon + 19 * HOUR + 30 * 60));
	assert_true(sched_active(o, mon + 15 * HOUR));
	assert_false(sched_active(o, mon + 16 * HOUR));
	sched_free(s);
	sched_free(o);
}

static void test_whole_days(void **state)
{
	time_t sat = utc(2026, 3, 7, 0, 0, 0);
	struct sched *a = mk("sat,sun", NULL, NULL, NULL);
	struct sched *b = mk("sat,sun", "00:00-24:00", NULL, NULL);
	struct sched *w = mk("fri-mon", NULL, NULL, NULL);

	(void)state;
	for (int h = -24; h < 72; h++) {
		bool weekend = h >= 0 && h < 48;

		assert_int_equal(sched_active(a, sat + h * HOUR), weekend);
		assert_int_equal(sched_active(b, sat + h * HOUR), weekend);
	}
	assert_false(sched_active(a, sat - 1));
	assert_true(sched_active(a, sat + 2 * DAY - 1));
	/* The wrapping range: Friday to Monday, not Tuesday to Thursday. */
	for (int d = -1; d < 6; d++)
		assert_int_equal(sched_active(w, sat + d * DAY + HOUR), d <= 2);
	sched_free(a);
	sched_free(b);
	sched_free(w);
}

/* ------------------------------------------------------ zones and DST */

/* Minutes in [from, to) when s is active, sampled at each minute's start. */
static int active_minutes(const struct sched *s, time_t from, time_t to, time_t *first,
			  time_t *last)
{
	int n = 0;

	for (time_t t = from; t < to; t += 60) {
		if (!sched_active(s, t))
			continue;
		if (!n && first)
			*first = t;
		if (last)
			*last = t;
		n++;
	}
	return n;
}

static void test_paris_office_hours(void **state)
{
	struct sched *s = mk("mon-fri", "09:00-17:00", NULL, "Europe/Paris");
	time_t fri = utc(2026, 3, 27, 0, 0, 0); /* CET, UTC+1 */
	time_t mon = utc(2026, 3, 30, 0, 0, 0); /* CEST, UTC+2 since Sunday */
	char out[64];

	(void)state;
	assert_int_equal(sched_format(s, out, sizeof(out)), 0);
	assert_string_equal(out, "mon-fri 09:00-17:00 Europe/Paris");
	assert_false(sched_active(s, fri + 8 * HOUR - 1));
	assert_true(sched_active(s, fri + 8 * HOUR));
	assert_true(sched_active(s, fri + 16 * HOUR - 1));
	assert_false(sched_active(s, fri + 16 * HOUR));
	assert_false(sched_active(s, fri + DAY + 10 * HOUR)); /* Saturday */
	assert_false(sched_active(s, mon + 7 * HOUR - 1));
	assert_true(sched_active(s, mon + 7 * HOUR));
	assert_true(sched_active(s, mon + 15 * HOUR - 1));
	assert_false(sched_active(s, mon + 15 * HOUR));
	sched_free(s);
}

static void test_local_weekday(void **state)
{
	struct sched *paris = mk("mon", NULL, NULL, "Europe/Paris");
	struct sched *ny = mk("mon", NULL, NULL, "America/New_York");

	(void)state;
	/* Sunday 22:00Z is Monday 00:00 in Paris (CEST), Sunday 17:00 or 18:00 in New York. */
	assert_false(sched_active(paris, utc(2026, 3, 29, 21, 59, 59)));
	assert_true(sched_active(paris, utc(2026, 3, 29, 22, 0, 0)));
	assert_true(sched_active(paris, utc(2026, 3, 30, 21, 59, 59)));
	assert_false(sched_active(paris, utc(2026, 3, 30, 22, 0, 0)));
	/* Winter: Monday in New York is 05:00Z Monday to 05:00Z Tuesday. */
	assert_false(sched_active(ny, utc(2026, 3, 2, 4, 59, 59)));
	assert_true(sched_active(ny, utc(2026, 3, 2, 5, 0, 0)));
	assert_true(sched_active(ny, utc(2026, 3, 3, 4, 59, 59)));
	assert_false(sched_active(ny, utc(2026, 3, 3, 5, 0, 0)));
	sched_free(paris);
	sched_free(ny);
}

/*
 * America/New_York, Sunday 2026-03-08: 02:00 EST (07:00Z) jumps to 03:00
 * EDT. The wall clock never reads 02:xx that day.
 */
static void test_ny_spring_forward(void **state)
{
	struct sched *s = mk("*", "02:00-03:00", NULL, "America/New_York");
	struct sched *p = mk("*", "01:30-02:30", NULL, "America/New_York");
	time_t first = 0, last = 0;

	(void)state;
	assert_int_equal(
	    active_minutes(s, utc(2026, 3, 8, 0, 0, 0), utc(2026, 3, 9, 4, 0, 0), NULL, NULL), 0);
	/* The day before (EST) and after (EDT) it happens, an hour each. */
	assert_int_equal(
	    active_minutes(s, utc(2026, 3, 7, 0, 0, 0), utc(2026, 3, 8, 0, 0, 0), &first, NULL),
	    60);
	assert_int_equal(first, utc(2026, 3, 7, 7, 0, 0));
	assert_int_equal(
	    active_minutes(s, utc(2026, 3, 9, 4, 0, 0), utc(2026, 3, 10, 4, 0, 0), &first, NULL),
	    60);
	assert_int_equal(first, utc(2026, 3, 9, 6, 0, 0));
	/* 01:30-02:30 keeps its EST half hour: 06:30Z-07:00Z; 03:00 EDT is past 02:30. */
	assert_int_equal(
	    active_minutes(p, utc(2026, 3, 8, 4, 0, 0), utc(2026, 3, 8, 12, 0, 0), &first, &last),
	    30);
	assert_int_equal(first, utc(2026, 3, 8, 6, 30, 0));
	assert_int_equal(last, utc(2026, 3, 8, 6, 59, 0));
	assert_true(sched_active(p, utc(2026, 3, 8, 6, 59, 59)));
	assert_false(sched_active(p, utc(2026, 3, 8, 7, 0, 0)));
	sched_free(s);
	sched_free(p);
}

/*
 * America/New_York, Sunday 2026-11-01: 02:00 EDT (06:00Z) goes back to 01:00
 * EST. 01:00-02:00 happens twice, 05:00Z-06:00Z (EDT) and 06:00Z-07:00Z (EST):
 * both count.
 */
static void test_ny_fall_back(void **state)
{
	struct sched *s = mk("sun", "01:00-02:00", NULL, "America/New_York");
	time_t first = 0, last = 0;

	(void)state;
	assert_int_equal(
	    active_minutes(s, utc(2026, 11, 1, 0, 0, 0), utc(2026, 11, 2, 0, 0, 0), &first, &last),
	    120);
	assert_int_equal(first, utc(2026, 11, 1, 5, 0, 0));
	assert_int_equal(last, utc(2026, 11, 1, 6, 59, 0));
	assert_false(sched_active(s, utc(2026, 11, 1, 4, 59, 59)));
	assert_true(sched_active(s, utc(2026, 11, 1, 5, 0, 0)));
	assert_true(sched_active(s, utc(2026, 11, 1, 5, 59, 59)));
	assert_true(sched_active(s, utc(2026, 11, 1, 6, 0, 0)));
	assert_true(sched_active(s, utc(2026, 11, 1, 6, 59, 59)));
	assert_false(sched_active(s, utc(2026, 11, 1, 7, 0, 0)));
	/* A week later, an ordinary EST Sunday: one hour, 06:00Z-07:00Z. */
	assert_int_equal(
	    active_minutes(s, utc(2026, 11, 8, 0, 0, 0), utc(2026, 11, 9, 0, 0, 0), &first, NULL),
	    60);
	assert_int_equal(first, utc(2026, 11, 8, 6, 0, 0));
	sched_free(s);
}

/*
 * Europe/Paris: Sunday 2026-03-29 02:00 CET (01:00Z) jumps to 03:00 CEST;
 * Sunday 2026-10-25 03:00 CEST (01:00Z) goes back to 02:00 CET, so 02:xx
 * happens at 00:00Z-01:00Z and again at 01:00Z-02:00Z.
 */
static void test_paris_dst_edges(void **state)
{
	struct sched *s = mk("sun", "02:00-03:00", NULL, "Europe/Paris");
	time_t first = 0, last = 0;

	(void)state;
	assert_int_equal(
	    active_minutes(s, utc(2026, 3, 28, 12, 0, 0), utc(2026, 3, 30, 0, 0, 0), NULL, NULL),
	    0);
	assert_int_equal(active_minutes(s, utc(2026, 10, 24, 12, 0, 0), utc(2026, 10, 26, 0, 0, 0),
					&first, &last),
			 120);
	assert_int_equal(first, utc(2026, 10, 25, 0, 0, 0));
	assert_int_equal(last, utc(2026, 10, 25, 1, 59, 0));
	assert_false(sched_active(s, utc(2026, 10, 24, 23, 59, 59)));
	assert_true(sched_active(s, utc(2026, 10, 25, 0, 59, 59)));
	assert_true(sched_active(s, utc(2026, 10, 25, 1, 0, 0)));
	assert_false(sched_active(s, utc(2026, 10, 25, 2, 0, 0)));
	/* The Sunday before the change, CET: 01:00Z-02:00Z. */
	assert_int_equal(
	    active_minutes(s, utc(2026, 3, 21, 12, 0, 0), utc(2026, 3, 23, 0, 0, 0), &first, NULL),
	    60);
	assert_int_equal(first, utc(2026, 3, 22, 1, 0, 0));
	sched_free(s);
}

/*
 * Australia/Sydney, southern hemisphere: Sunday 2026-04-05 03:00 AEDT
 * (2026-04-04 16:00Z) goes back to 02:00 AEST.
 */
static void test_sydney_fall_back(void **state)
{
	struct sched *s = mk("sun", "02:00-03:00", NULL, "Australia/Sydney");
	time_t first = 0, last = 0;

	(void)state;
	assert_int_equal(
	    active_minutes(s, utc(2026, 4, 4, 0, 0, 0), utc(2026, 4, 5, 12, 0, 0), &first, &last),
	    120);
	assert_int_equal(first, utc(2026, 4, 4, 15, 0, 0));
	assert_int_equal(last, utc(2026, 4, 4, 16, 59, 0));
	sched_free(s);
}

/* Generated: see the top of this file. file: a zone file, else a POSIX TZ string. */
static const struct {
	bool file;
	const char *key;
	long long t;
	int32_t off;
} offset_table[] = {
    {true, "Europe/Paris", 1774745999LL, 3600},			       /* 2026-03-29T00:59:59Z */
    {true, "Europe/Paris", 1774746000LL, 7200},			       /* 2026-03-29T01:00:00Z */
    {true, "Europe/Paris", 1792889999LL, 7200},			       /* 2026-10-25T00:59:59Z */
    {true, "Europe/Paris", 1792890000LL, 3600},			       /* 2026-10-25T01:00:00Z */
    {true, "Europe/Paris", 2216249999LL, 3600},			       /* 2040-03-25T00:59:59Z */
    {true, "Europe/Paris", 2216250000LL, 7200},			       /* 2040-03-25T01:00:00Z */
    {true, "Europe/Paris", 2234998799LL, 7200},			       /* 2040-10-28T00:59:59Z */
    {true, "Europe/Paris", 2234998800LL, 3600},			       /* 2040-10-28T01:00:00Z */
    {true, "Europe/Paris", 13545363599LL, 3600},		       /* 2399-03-28T00:59:59Z */
    {true, "Europe/Paris", 13545363600LL, 7200},		       /* 2399-03-28T01:00:00Z */
    {true, "Europe/Paris", 13564112399LL, 7200},		       /* 2399-10-31T00:59:59Z */
    {true, "Europe/Paris", 13564112400LL, 3600},		       /* 2399-10-31T01:00:00Z */
    {true, "Europe/Paris", 13576813199LL, 3600},		       /* 2400-03-26T00:59:59Z */
    {true, "Europe/Paris", 13576813200LL, 7200},		       /* 2400-03-26T01:00:00Z */
    {true, "Europe/Paris", 13595561999LL, 7200},		       /* 2400-10-29T00:59:59Z */
    {true, "Europe/Paris", 13595562000LL, 3600},		       /* 2400-10-29T01:00:00Z */
    {true, "Europe/Paris", 253346749199LL, 3600},		       /* 9998-03-29T00:59:59Z */
    {true, "Europe/Paris", 253346749200LL, 7200},		       /* 9998-03-29T01:00:00Z */
    {true, "Europe/Paris", 253364893199LL, 7200},		       /* 9998-10-25T00:59:59Z */
    {true, "Europe/Paris", 253364893200LL, 3600},		       /* 9998-10-25T01:00:00Z */
    {true, "America/New_York", 1772953199LL, -18000},		       /* 2026-03-08T06:59:59Z */
    {true, "America/New_York", 1772953200LL, -14400},		       /* 2026-03-08T07:00:00Z */
    {true, "America/New_York", 1793512799LL, -14400},		       /* 2026-11-01T05:59:59Z */
    {true, "America/New_York", 1793512800LL, -18000},		       /* 2026-11-01T06:00:00Z */
    {true, "America/New_York", 2215061999LL, -18000},		       /* 2040-03-11T06:59:59Z */
    {true, "America/New_York", 2215062000LL, -14400},		       /* 2040-03-11T07:00:00Z */
    {true, "America/New_York", 2235621599LL, -14400},		       /* 2040-11-04T05:59:59Z */
    {true, "America/New_York", 2235621600LL, -18000},		       /* 2040-11-04T06:00:00Z */
    {true, "America/New_York", 13544175599LL, -18000},		       /* 2399-03-14T06:59:59Z */
    {true, "America/New_York", 13544175600LL, -14400},		       /* 2399-03-14T07:00:00Z */
    {true, "America/New_York", 13564735199LL, -14400},		       /* 2399-11-07T05:59:59Z */
    {true, "America/New_York", 13564735200LL, -18000},		       /* 2399-11-07T06:00:00Z */
    {true, "America/New_York", 13575625199LL, -18000},		       /* 2400-03-12T06:59:59Z */
    {true, "America/New_York", 13575625200LL, -14400},		       /* 2400-03-12T07:00:00Z */
    {true, "America/New_York", 13596184799LL, -14400},		       /* 2400-11-05T05:59:59Z */
    {true, "America/New_York", 13596184800LL, -18000},		       /* 2400-11-05T06:00:00Z */
    {true, "America/New_York", 253344956399LL, -18000},		       /* 9998-03-08T06:59:59Z */
    {true, "America/New_York", 253344956400LL, -14400},		       /* 9998-03-08T07:00:00Z */
    {true, "America/New_York", 253365515999LL, -14400},		       /* 9998-11-01T05:59:59Z */
    {true, "America/New_York", 253365516000LL, -18000},		       /* 9998-11-01T06:00:00Z */
    {true, "Australia/Sydney", 1775318399LL, 39600},		       /* 2026-04-04T15:59:59Z */
    {true, "Australia/Sydney", 1775318400LL, 36000},		       /* 2026-04-04T16:00:00Z */
    {true, "Australia/Sydney", 1791043199LL, 36000},		       /* 2026-10-03T15:59:59Z */
    {true, "Australia/Sydney", 1791043200LL, 39600},		       /* 2026-10-03T16:00:00Z */
    {true, "Australia/Sydney", 2216822399LL, 39600},		       /* 2040-03-31T15:59:59Z */
    {true, "Australia/Sydney", 2216822400LL, 36000},		       /* 2040-03-31T16:00:00Z */
    {true, "Australia/Sydney", 2233151999LL, 36000},		       /* 2040-10-06T15:59:59Z */
    {true, "Australia/Sydney", 2233152000LL, 39600},		       /* 2040-10-06T16:00:00Z */
    {true, "Australia/Sydney", 13545935999LL, 39600},		       /* 2399-04-03T15:59:59Z */
    {true, "Australia/Sydney", 13545936000LL, 36000},		       /* 2399-04-03T16:00:00Z */
    {true, "Australia/Sydney", 13561660799LL, 36000},		       /* 2399-10-02T15:59:59Z */
    {true, "Australia/Sydney", 13561660800LL, 39600},		       /* 2399-10-02T16:00:00Z */
    {true, "Australia/Sydney", 13577385599LL, 39600},		       /* 2400-04-01T15:59:59Z */
    {true, "Australia/Sydney", 13577385600LL, 36000},		       /* 2400-04-01T16:00:00Z */
    {true, "Australia/Sydney", 13593110399LL, 36000},		       /* 2400-09-30T15:59:59Z */
    {true, "Australia/Sydney", 13593110400LL, 39600},		       /* 2400-09-30T16:00:00Z */
    {true, "Australia/Sydney", 253347321599LL, 39600},		       /* 9998-04-04T15:59:59Z */
    {true, "Australia/Sydney", 253347321600LL, 36000},		       /* 9998-04-04T16:00:00Z */
    {true, "Australia/Sydney", 253363046399LL, 36000},		       /* 9998-10-03T15:59:59Z */
    {true, "Australia/Sydney", 253363046400LL, 39600},		       /* 9998-10-03T16:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 1774745999LL, 3600},	       /* 2026-03-29T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 1774746000LL, 7200},	       /* 2026-03-29T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 1792889999LL, 7200},	       /* 2026-10-25T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 1792890000LL, 3600},	       /* 2026-10-25T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 2216249999LL, 3600},	       /* 2040-03-25T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 2216250000LL, 7200},	       /* 2040-03-25T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 2234998799LL, 7200},	       /* 2040-10-28T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 2234998800LL, 3600},	       /* 2040-10-28T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13545363599LL, 3600},	       /* 2399-03-28T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13545363600LL, 7200},	       /* 2399-03-28T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13564112399LL, 7200},	       /* 2399-10-31T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13564112400LL, 3600},	       /* 2399-10-31T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13576813199LL, 3600},	       /* 2400-03-26T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13576813200LL, 7200},	       /* 2400-03-26T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13595561999LL, 7200},	       /* 2400-10-29T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 13595562000LL, 3600},	       /* 2400-10-29T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 253346749199LL, 3600},       /* 9998-03-29T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 253346749200LL, 7200},       /* 9998-03-29T01:00:00Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 253364893199LL, 7200},       /* 9998-10-25T00:59:59Z */
    {false, "CET-1CEST,M3.5.0,M10.5.0/3", 253364893200LL, 3600},       /* 9998-10-25T01:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 1772953199LL, -18000},	       /* 2026-03-08T06:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 1772953200LL, -14400},	       /* 2026-03-08T07:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 1793512799LL, -14400},	       /* 2026-11-01T05:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 1793512800LL, -18000},	       /* 2026-11-01T06:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 2215061999LL, -18000},	       /* 2040-03-11T06:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 2215062000LL, -14400},	       /* 2040-03-11T07:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 2235621599LL, -14400},	       /* 2040-11-04T05:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 2235621600LL, -18000},	       /* 2040-11-04T06:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13544175599LL, -18000},	       /* 2399-03-14T06:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13544175600LL, -14400},	       /* 2399-03-14T07:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13564735199LL, -14400},	       /* 2399-11-07T05:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13564735200LL, -18000},	       /* 2399-11-07T06:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13575625199LL, -18000},	       /* 2400-03-12T06:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13575625200LL, -14400},	       /* 2400-03-12T07:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13596184799LL, -14400},	       /* 2400-11-05T05:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 13596184800LL, -18000},	       /* 2400-11-05T06:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 253344956399LL, -18000},	       /* 9998-03-08T06:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 253344956400LL, -14400},	       /* 9998-03-08T07:00:00Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 253365515999LL, -14400},	       /* 9998-11-01T05:59:59Z */
    {false, "EST5EDT,M3.2.0,M11.1.0", 253365516000LL, -18000},	       /* 9998-11-01T06:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 1775318399LL, 39600},      /* 2026-04-04T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 1775318400LL, 36000},      /* 2026-04-04T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 1791043199LL, 36000},      /* 2026-10-03T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 1791043200LL, 39600},      /* 2026-10-03T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 2216822399LL, 39600},      /* 2040-03-31T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 2216822400LL, 36000},      /* 2040-03-31T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 2233151999LL, 36000},      /* 2040-10-06T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 2233152000LL, 39600},      /* 2040-10-06T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13545935999LL, 39600},     /* 2399-04-03T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13545936000LL, 36000},     /* 2399-04-03T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13561660799LL, 36000},     /* 2399-10-02T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13561660800LL, 39600},     /* 2399-10-02T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13577385599LL, 39600},     /* 2400-04-01T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13577385600LL, 36000},     /* 2400-04-01T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13593110399LL, 36000},     /* 2400-09-30T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 13593110400LL, 39600},     /* 2400-09-30T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 253347321599LL, 39600},    /* 9998-04-04T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 253347321600LL, 36000},    /* 9998-04-04T16:00:00Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 253363046399LL, 36000},    /* 9998-10-03T15:59:59Z */
    {false, "AEST-10AEDT,M10.1.0,M4.1.0/3", 253363046400LL, 39600},    /* 9998-10-03T16:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 1774745999LL, 0},	       /* 2026-03-29T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 1774746000LL, 3600},	       /* 2026-03-29T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 1792889999LL, 3600},	       /* 2026-10-25T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 1792890000LL, 0},	       /* 2026-10-25T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 2216249999LL, 0},	       /* 2040-03-25T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 2216250000LL, 3600},	       /* 2040-03-25T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 2234998799LL, 3600},	       /* 2040-10-28T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 2234998800LL, 0},	       /* 2040-10-28T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13545363599LL, 0},	       /* 2399-03-28T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13545363600LL, 3600},	       /* 2399-03-28T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13564112399LL, 3600},	       /* 2399-10-31T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13564112400LL, 0},	       /* 2399-10-31T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13576813199LL, 0},	       /* 2400-03-26T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13576813200LL, 3600},	       /* 2400-03-26T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13595561999LL, 3600},	       /* 2400-10-29T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 13595562000LL, 0},	       /* 2400-10-29T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 253346749199LL, 0},	       /* 9998-03-29T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 253346749200LL, 3600},       /* 9998-03-29T01:00:00Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 253364893199LL, 3600},       /* 9998-10-25T00:59:59Z */
    {false, "IST-1GMT0,M10.5.0,M3.5.0/1", 253364893200LL, 0},	       /* 9998-10-25T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1774745999LL, -7200},   /* 2026-03-29T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1774746000LL, -3600},   /* 2026-03-29T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1792889999LL, -3600},   /* 2026-10-25T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1792890000LL, -7200},   /* 2026-10-25T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2216249999LL, -7200},   /* 2040-03-25T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2216250000LL, -3600},   /* 2040-03-25T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2234998799LL, -3600},   /* 2040-10-28T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2234998800LL, -7200},   /* 2040-10-28T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13545363599LL, -7200},  /* 2399-03-28T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13545363600LL, -3600},  /* 2399-03-28T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13564112399LL, -3600},  /* 2399-10-31T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13564112400LL, -7200},  /* 2399-10-31T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13576813199LL, -7200},  /* 2400-03-26T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13576813200LL, -3600},  /* 2400-03-26T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13595561999LL, -3600},  /* 2400-10-29T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 13595562000LL, -7200},  /* 2400-10-29T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 253346749199LL, -7200}, /* 9998-03-29T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 253346749200LL, -3600}, /* 9998-03-29T01:00:00Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 253364893199LL, -3600}, /* 9998-10-25T00:59:59Z */
    {false, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 253364893200LL, -7200}, /* 9998-10-25T01:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 1774569599LL, 7200},	       /* 2026-03-26T23:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 1774569600LL, 10800},	       /* 2026-03-27T00:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 1792882799LL, 10800},	       /* 2026-10-24T22:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 1792882800LL, 7200},	       /* 2026-10-24T23:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 2216073599LL, 7200},	       /* 2040-03-22T23:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 2216073600LL, 10800},	       /* 2040-03-23T00:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 2234991599LL, 10800},	       /* 2040-10-27T22:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 2234991600LL, 7200},	       /* 2040-10-27T23:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13545187199LL, 7200},	       /* 2399-03-25T23:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13545187200LL, 10800},       /* 2399-03-26T00:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13564105199LL, 10800},       /* 2399-10-30T22:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13564105200LL, 7200},	       /* 2399-10-30T23:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13576636799LL, 7200},	       /* 2400-03-23T23:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13576636800LL, 10800},       /* 2400-03-24T00:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13595554799LL, 10800},       /* 2400-10-28T22:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 13595554800LL, 7200},	       /* 2400-10-28T23:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 253346572799LL, 7200},       /* 9998-03-26T23:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 253346572800LL, 10800},      /* 9998-03-27T00:00:00Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 253364885999LL, 10800},      /* 9998-10-24T22:59:59Z */
    {false, "IST-2IDT,M3.4.4/26,M10.5.0", 253364886000LL, 7200},       /* 9998-10-24T23:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 1772333999LL, -10800},	       /* 2026-03-01T02:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 1772334000LL, -7200},	       /* 2026-03-01T03:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 1793152799LL, -7200},	       /* 2026-10-28T01:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 1793152800LL, -10800},	       /* 2026-10-28T02:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 2214183599LL, -10800},	       /* 2040-03-01T02:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 2214183600LL, -7200},	       /* 2040-03-01T03:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 2234915999LL, -7200},	       /* 2040-10-27T01:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 2234916000LL, -10800},	       /* 2040-10-27T02:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 13543037999LL, -10800},	       /* 2399-03-01T02:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 13543038000LL, -7200},	       /* 2399-03-01T03:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 13563856799LL, -7200},	       /* 2399-10-28T01:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 13563856800LL, -10800},	       /* 2399-10-28T02:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 13574660399LL, -10800},	       /* 2400-03-01T02:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 13574660400LL, -7200},	       /* 2400-03-01T03:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 13595392799LL, -7200},	       /* 2400-10-27T01:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 13595392800LL, -10800},	       /* 2400-10-27T02:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 253344337199LL, -10800},	       /* 9998-03-01T02:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 253344337200LL, -7200},	       /* 9998-03-01T03:00:00Z */
    {false, "XXX3YYY,J60/0,300/0", 253365155999LL, -7200},	       /* 9998-10-28T01:59:59Z */
    {false, "XXX3YYY,J60/0,300/0", 253365156000LL, -10800},	       /* 9998-10-28T02:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 1775311199LL, 46800},       /* 2026-04-04T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 1775311200LL, 43200},       /* 2026-04-04T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 1790431199LL, 43200},       /* 2026-09-26T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 1790431200LL, 46800},       /* 2026-09-26T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 2216815199LL, 46800},       /* 2040-03-31T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 2216815200LL, 43200},       /* 2040-03-31T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 2232539999LL, 43200},       /* 2040-09-29T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 2232540000LL, 46800},       /* 2040-09-29T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13545928799LL, 46800},      /* 2399-04-03T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13545928800LL, 43200},      /* 2399-04-03T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13561048799LL, 43200},      /* 2399-09-25T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13561048800LL, 46800},      /* 2399-09-25T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13577378399LL, 46800},      /* 2400-04-01T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13577378400LL, 43200},      /* 2400-04-01T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13592498399LL, 43200},      /* 2400-09-23T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 13592498400LL, 46800},      /* 2400-09-23T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 253347314399LL, 46800},     /* 9998-04-04T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 253347314400LL, 43200},     /* 9998-04-04T14:00:00Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 253362434399LL, 43200},     /* 9998-09-26T13:59:59Z */
    {false, "NZST-12NZDT,M9.5.0,M4.1.0/3", 253362434400LL, 46800},     /* 9998-09-26T14:00:00Z */
};

static void check_offset_rows(bool file)
{
	struct sched_tz *tz = NULL;
	const char *cur = "";
	char err[256];
	size_t rows = 0;

	for (size_t i = 0; i < ARRAY_SIZE(offset_table); i++) {
		if (offset_table[i].file != file)
			continue;
		if (strcmp(cur, offset_table[i].key)) {
			sched_tz_free(tz);
			cur = offset_table[i].key;
			tz = file ? sched_tz_load(NULL, cur, err, sizeof(err))
				  : sched_tz_posix(cur, err, sizeof(err));
			if (!tz)
				fail_msg("%s: %s (zone files come with the tzdata package)", cur,
					 err);
		}
		if (sched_tz_offset(tz, (time_t)offset_table[i].t, NULL) != offset_table[i].off)
			fail_msg("%s at %lld: offset %d, want %d", cur, offset_table[i].t,
				 sched_tz_offset(tz, (time_t)offset_table[i].t, NULL),
				 offset_table[i].off);
		rows++;
	}
	sched_tz_free(tz);
	assert_true(rows >= 40);
}

static void test_offsets_zone_files(void **state)
{
	(void)state;
	check_offset_rows(true);
}

static void test_offsets_tz_strings(void **state)
{
	(void)state;
	check_offset_rows(false);
}

static void test_isdst(void **state)
{
	struct sched_tz *tz = sched_tz_load(NULL, "Europe/Paris", NULL, 0);
	bool dst = true;

	(void)state;
	assert_non_null(tz);
	assert_string_equal(sched_tz_name(tz), "Europe/Paris");
	assert_int_equal(sched_tz_offset(tz, utc(2026, 1, 15, 12, 0, 0), &dst), 3600);
	assert_false(dst);
	assert_int_equal(sched_tz_offset(tz, utc(2026, 7, 15, 12, 0, 0), &dst), 7200);
	assert_true(dst);
	assert_int_equal(sched_tz_offset(tz, utc(2045, 7, 15, 12, 0, 0), &dst), 7200);
	assert_true(dst);
	assert_int_equal(sched_tz_offset(tz, utc(2045, 1, 15, 12, 0, 0), &dst), 3600);
	assert_false(dst);
	/* NULL is UTC. */
	dst = true;
	assert_int_equal(sched_tz_offset(NULL, 12345, &dst), 0);
	assert_false(dst);
	sched_tz_free(tz);
}

/*
 * 2040 is past the last transition of the zone files: the footer decides.
 * Europe/Paris: last Sunday of March 2040 is the 25th. America/New_York:
 * second Sunday of March 2040 is the 11th (March 1st is a Thursday).
 */
static void test_footer_2040(void **state)
{
	struct sched *paris = mk("mon-fri", "09:00-17:00", NULL, "Europe/Paris");
	struct sched *ny = mk("mon-fri", "09:00-17:00", NULL, "America/New_York");

	(void)state;
	assert_false(sched_active(paris, utc(2040, 3, 23, 7, 59, 59))); /* Friday, CET */
	assert_true(sched_active(paris, utc(2040, 3, 23, 8, 0, 0)));
	assert_false(sched_active(paris, utc(2040, 3, 26, 6, 59, 59))); /* Monday, CEST */
	assert_true(sched_active(paris, utc(2040, 3, 26, 7, 0, 0)));
	assert_true(sched_active(paris, utc(2040, 3, 26, 14, 59, 59)));
	assert_false(sched_active(paris, utc(2040, 3, 26, 15, 0, 0)));
	assert_false(sched_active(ny, utc(2040, 3, 9, 13, 59, 59))); /* Friday, EST */
	assert_true(sched_active(ny, utc(2040, 3, 9, 14, 0, 0)));
	assert_false(sched_active(ny, utc(2040, 3, 12, 12, 59, 59))); /* Monday, EDT */
	assert_true(sched_active(ny, utc(2040, 3, 12, 13, 0, 0)));
	sched_free(paris);
	sched_free(ny);
}

static void test_footer_periodic(void **state)
{
	static const char *const zones[] = {"Europe/Paris", "America/New_York", "Australia/Sydney"};

	(void)state;
	for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
		struct sched_tz *tz = sched_tz_load(NULL, zones[z], NULL, 0);
		time_t base = utc(2040, 1, 1, 0, 0, 0);

		assert_non_null(tz);
		for (int64_t k = 0; k < 2000; k++) {
			time_t t = base + k * 2718281 + (k % 7) * 3141;
			int32_t o = sched_tz_offset(tz, t, NULL);

			assert_int_equal(sched_tz_offset(tz, t + CYCLE, NULL), o);
			assert_int_equal(sched_tz_offset(tz, t + 100000 * CYCLE, NULL), o);
		}
		sched_tz_free(tz);
	}
}

static void test_extreme_times(void **state)
{
	struct sched_tz *tz = sched_tz_load(NULL, "Europe/Paris", NULL, 0);
	struct sched *s = mk("mon-fri", "09:00-17:00", NULL, "Europe/Paris");
	struct sched *u = mk("tue,thu", "22:00-06:00", NULL, NULL);
	time_t max = (time_t)INT64_MAX, min = (time_t)INT64_MIN;
	/* Fold max back to the 2100s, min forward to the 1800s: same calendar. */
	int64_t kmax = (INT64_MAX - (int64_t)utc(2100, 1, 1, 0, 0, 0)) / CYCLE;
	int64_t kmin = ((int64_t)utc(1800, 1, 1, 0, 0, 0) - INT64_MIN) / CYCLE;

	(void)state;
	_Static_assert(sizeof(time_t) == 8, "64-bit time_t");
	assert_non_null(tz);
	assert_int_equal(sched_tz_offset(tz, max, NULL),
			 sched_tz_offset(tz, max - kmax * CYCLE, NULL));
	assert_int_equal(sched_active(s, max), sched_active(s, max - kmax * CYCLE));
	assert_int_equal(sched_active(u, max), sched_active(u, max - kmax * CYCLE));
	assert_int_equal(sched_active(u, min), sched_active(u, min + kmin * CYCLE));
	/* Before the first transition: local mean time, as in 1800. */
	assert_int_equal(sched_tz_offset(tz, min, NULL),
			 sched_tz_offset(tz, utc(1800, 1, 1, 0, 0, 0), NULL));
	assert_int_equal(sched_tz_offset(tz, min, NULL), 561); /* Paris LMT +0:09:21 */
	for (time_t d = 0; d < 3 * DAY; d += 997) {
		(void)sched_active(s, max - d);
		(void)sched_active(s, min + d);
	}
	sched_free(s);
	sched_free(u);
	sched_tz_free(tz);
}

static void test_tz_strings_by_hand(void **state)
{
	static const struct {
		const char *tz;
		long long t;
		int32_t off;
	} t[] = {
	    {"<+0330>-3:30", 0, 12600},
	    {"<+0330>-3:30", 1790000000, 12600},
	    {"<-0930>9:30", 1790000000, -34200},
	    {"UTC0", 1790000000, 0},
	    {"ABC-24", 0, 86400},
	    {"<+0545>-5:45:00", 0, 20700},
	    /* DST all year: this year's end at Dec 31 25:00 EDT is next year's start. */
	    {"EST5EDT,0/0,J365/25", 1767243599, -14400}, /* 2026-01-01T04:59:59Z */
	    {"EST5EDT,0/0,J365/25", 1767243600, -14400}, /* 2026-01-01T05:00:00Z */
	    {"EST5EDT,0/0,J365/25", 1782864000, -14400}, /* 2026-07-01T00:00:00Z */
	    {"EST5EDT,0/0,J365/25", 1798779599, -14400}, /* 2027-01-01T04:59:59Z */
	    {"EST5EDT,0/0,J365/25", 1798779600, -14400}, /* 2027-01-01T05:00:00Z */
	    /* An explicit DST offset (+3): it also times the end (03:00 local = 00:00Z). */
	    {"CET-1CEST-3,M3.5.0,M10.5.0/3", 1782864000, 10800}, /* 2026-07-01 */
	    {"CET-1CEST-3,M3.5.0,M10.5.0/3", 1792886399, 10800}, /* 2026-10-24T23:59:59Z */
	    {"CET-1CEST-3,M3.5.0,M10.5.0/3", 1792886400, 3600},	 /* 2026-10-25T00:00:00Z */
	    /* Before 1970: the rule applies all the same (glibc's tzset does not). */
	    {"CET-1CEST,M3.5.0,M10.5.0/3", -2201814001, 3600},	/* 1900-03-25T00:59:59Z */
	    {"CET-1CEST,M3.5.0,M10.5.0/3", -2201814000, 7200},	/* 1900-03-25T01:00:00Z */
	    {"CET-1CEST,M3.5.0,M10.5.0/3", -2183065201, 7200},	/* 1900-10-28T00:59:59Z */
	    {"CET-1CEST,M3.5.0,M10.5.0/3", -2183065200, 3600},	/* 1900-10-28T01:00:00Z */
	    {"CET-1CEST,M3.5.0,M10.5.0/3", -11637298801, 3600}, /* 1601-03-25T00:59:59Z */
	    {"CET-1CEST,M3.5.0,M10.5.0/3", -11637298800, 7200}, /* 1601-03-25T01:00:00Z */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char err[128];
		struct sched_tz *tz = sched_tz_posix(t[i].tz, err, sizeof(err));

		if (!tz)
			fail_msg("%s: %s", t[i].tz, err);
		if (sched_tz_offset(tz, (time_t)t[i].t, NULL) != t[i].off)
			fail_msg("%s at %lld: %d, want %d", t[i].tz, t[i].t,
				 sched_tz_offset(tz, (time_t)t[i].t, NULL), t[i].off);
		assert_string_equal(sched_tz_name(tz), t[i].tz);
		sched_tz_free(tz);
	}
}

static void test_tz_strings_bad(void **state)
{
	static const struct {
		const char *tz, *sub;
	} t[] = {
	    {"", "standard name"},
	    {"C", "standard name"},
	    {"CE1", "standard name"},
	    {":Europe/Paris", "standard name"},
	    {"CET", "bad standard offset"},
	    {"CET-", "bad standard offset"},
	    {"CET-25", "bad standard offset"},
	    {"CET-1:60", "bad standard offset"},
	    {"CET-1:", "bad standard offset"},
	    {"CET-1CE", "DST name"},
	    {"CET-1 ", "DST name"},
	    {"CET-1CEST", "DST without a rule"},
	    {"CET-1CEST-1", "DST without a rule"},
	    {"CET-1CEST;M3.5.0,M10.5.0", "bad DST offset"},
	    {"CET-1CEST,M3.5.0", "without an end date"},
	    {"CET-1CEST,M3.5.0,", "bad DST end date"},
	    {"CET-1CEST,M13.5.0,M10.5.0", "bad DST start date"},
	    {"CET-1CEST,M0.5.0,M10.5.0", "bad DST start date"},
	    {"CET-1CEST,M3.6.0,M10.5.0", "bad DST start date"},
	    {"CET-1CEST,M3.0.0,M10.5.0", "bad DST start date"},
	    {"CET-1CEST,M3.5.7,M10.5.0", "bad DST start date"},
	    {"CET-1CEST,M3.5,M10.5.0", "bad DST start date"},
	    {"CET-1CEST,J0,J300", "bad DST start date"},
	    {"CET-1CEST,J366,J300", "bad DST start date"},
	    {"CET-1CEST,366,300", "bad DST start date"},
	    {"CET-1CEST,M3.5.0/168,M10.5.0", "bad DST start"},
	    {"CET-1CEST,M3.5.0,M10.5.0/3x", "unexpected 'x'"},
	    {"CET-1CEST,M3.5.0,M10.5.0,M11.1.0", "unexpected ','"},
	    {"<AB>1", "shorter than 3"},
	    {"<ABC1", "'<' without '>'"},
	    {"<A_C>1", "'<' without '>'"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char err[160] = "";

		errno = 0;
		if (sched_tz_posix(t[i].tz, err, sizeof(err)))
			fail_msg("accepted '%s'", t[i].tz);
		assert_int_equal(errno, EINVAL);
		if (!strstr(err, t[i].sub))
			fail_msg("'%s': message '%s' lacks '%s'", t[i].tz, err, t[i].sub);
	}
	assert_null(sched_tz_posix(NULL, NULL, 0));
	assert_int_equal(errno, EINVAL);
}

/* ------------------------------------------------------ TZif parsing */

struct tzb_type {
	int32_t utoff;
	uint8_t isdst, abbr;
};

/* What tzb_build writes; anything not set is a valid small zone. */
struct tzb {
	char version; /* 0 (version 1), '2', '3', '4' */
	size_t nt;
	const int64_t *t;
	const uint8_t *idx;
	size_t ntypes;
	const struct tzb_type *types;
	uint32_t nleap;	    /* zero-filled leap records */
	uint32_t nflags;    /* isstd and isut counts */
	uint8_t flag;	    /* their value */
	const char *footer; /* version 2+: between the newlines; NULL: "" */
	bool v1_minimal;    /* version 2+: the 32-bit block is one type of +12345 s */
};

static const char tzb_chars[8] = "AAA\0BBB"; /* 8 bytes, both NUL-terminated */

static size_t put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
	return 4;
}

static size_t tzb_block(const struct tzb *b, unsigned char *p, size_t tsize, bool minimal)
{
	static const struct tzb_type min_type = {12345, 0, 0};
	size_t nt = minimal ? 0 : b->nt, ntypes = minimal ? 1 : b->ntypes;
	const struct tzb_type *types = minimal ? &min_type : b->types;
	uint32_t nchars = minimal ? 1 : sizeof(tzb_chars), nflags = minimal ? 0 : b->nflags;
	uint32_t nleap = minimal ? 0 : b->nleap;
	size_t n = 0;

	memcpy(p, "TZif", 4);
	p[4] = (unsigned char)b->version;
	memset(p + 5, 0, 15);
	n = 20;
	n += put32(p + n, nflags);
	n += put32(p + n, nflags);
	n += put32(p + n, nleap);
	n += put32(p + n, (uint32_t)nt);
	n += put32(p + n, (uint32_t)ntypes);
	n += put32(p + n, nchars);
	for (size_t i = 0; i < nt; i++) {
		if (tsize == 8) {
			n += put32(p + n, (uint32_t)((uint64_t)b->t[i] >> 32));
			n += put32(p + n, (uint32_t)b->t[i]);
		} else {
			n += put32(p + n, (uint32_t)b->t[i]);
		}
	}
	for (size_t i = 0; i < nt; i++)
		p[n++] = b->idx[i];
	for (size_t i = 0; i < ntypes; i++) {
		n += put32(p + n, (uint32_t)types[i].utoff);
		p[n++] = types[i].isdst;
		p[n++] = types[i].abbr;
	}
	memcpy(p + n, minimal ? "" : tzb_chars, nchars);
	n += nchars;
	memset(p + n, 0, (size_t)nleap * (tsize + 4));
	n += (size_t)nleap * (tsize + 4);
	memset(p + n, b->flag, 2 * (size_t)nflags);
	n += 2 * (size_t)nflags;
	return n;
}

/* Returns the length; out must hold 4096 bytes. */
static size_t tzb_build(const struct tzb *b, unsigned char *out)
{
	size_t n = tzb_block(b, out, 4, b->version && b->v1_minimal);

	if (b->version) {
		const char *f = b->footer ? b->footer : "";

		n += tzb_block(b, out + n, 8, false);
		out[n++] = '\n';
		memcpy(out + n, f, strlen(f));
		n += strlen(f);
		out[n++] = '\n';
	}
	return n;
}

/*
 * The test zone: +1 standard, +2 DST from t = 1e9 to 1.01e9, and from 3e9
 * (2065) in versions 2+ (32-bit times cannot hold that one).
 */
static const int64_t zt[] = {1000000000, 1010000000, 3000000000LL};
static const uint8_t zi[] = {1, 0, 1};
static const struct tzb_type ztypes[] = {{3600, 0, 0}, {7200, 1, 4}};

static struct tzb zone(char version)
{
	return (struct tzb){.version = version,
			    .nt = version ? 3 : 2,
			    .t = zt,
			    .idx = zi,
			    .ntypes = 2,
			    .types = ztypes};
}

static struct sched_tz *parse_ok(const unsigned char *buf, size_t len)
{
	char err[160] = "";
	struct sched_tz *tz = sched_tz_parse(buf, len, "Test/Zone", err, sizeof(err));

	if (!tz)
		fail_msg("sched_tz_parse: %s", err);
	return tz;
}

static void expect_tzif_err(const unsigned char *buf, size_t len, const char *sub)
{
	char err[160] = "";
	struct sched_tz *tz;

	errno = 0;
	tz = sched_tz_parse(buf, len, "Test/Zone", err, sizeof(err));
	if (tz) {
		sched_tz_free(tz);
		fail_msg("accepted (want '%s')", sub);
	}
	assert_int_equal(errno, EINVAL);
	if (!strstr(err, sub))
		fail_msg("message '%s' lacks '%s'", err, sub);
}

static void test_tzif_v1(void **state)
{
	unsigned char buf[4096];
	struct tzb b = zone(0);
	size_t len;
	struct sched_tz *tz;

	(void)state;
	/* Version 1 holds 32-bit times only: the 2065 transition cannot be in it. */
	b.nt = 2;
	len = tzb_build(&b, buf);
	tz = parse_ok(buf, len);
	assert_string_equal(sched_tz_name(tz), "Test/Zone");
	assert_int_equal(sched_tz_offset(tz, -5000000000LL, NULL), 3600); /* type 0 before */
	assert_int_equal(sched_tz_offset(tz, 999999999, NULL), 3600);
	assert_int_equal(sched_tz_offset(tz, 1000000000, NULL), 7200);
	assert_int_equal(sched_tz_offset(tz, 1009999999, NULL), 7200);
	assert_int_equal(sched_tz_offset(tz, 1010000000, NULL), 3600);
	/* No footer: the last type holds forever. */
	assert_int_equal(sched_tz_offset(tz, 4000000000LL, NULL), 3600);
	sched_tz_free(tz);
}

static void test_tzif_v2_reads_64bit(void **state)
{
	unsigned char buf[4096];
	struct tzb b = zone('2');
	size_t len;
	struct sched_tz *tz;
	bool dst;

	(void)state;
	/* The 32-bit block says +12345 s always: only the 64-bit block may be used. */
	b.v1_minimal = true;
	len = tzb_build(&b, buf);
	tz = parse_ok(buf, len);
	assert_int_equal(sched_tz_offset(tz, 0, NULL), 3600);
	assert_int_equal(sched_tz_offset(tz, 1000000000, &dst), 7200);
	assert_true(dst);
	assert_int_equal(sched_tz_offset(tz, 2999999999LL, &dst), 3600);
	assert_false(dst);
	/* Past 2038, from 64-bit data; empty footer: the last type stays. */
	assert_int_equal(sched_tz_offset(tz, 3000000000LL, NULL), 7200);
	assert_int_equal(sched_tz_offset(tz, 9000000000LL, NULL), 7200);
	sched_tz_free(tz);
}

static void test_tzif_footer(void **state)
{
	unsigned char buf[4096];
	struct tzb b = zone('3');
	size_t len;
	struct sched_tz *tz;

	(void)state;
	/* A version 3 footer with an hour past 24 (Asia/Jerusalem's rule). */
	b.nt = 2;
	b.footer = "IST-2IDT,M3.4.4/26,M10.5.0";
	len = tzb_build(&b, buf);
	tz = parse_ok(buf, len);
	assert_int_equal(sched_tz_offset(tz, 1000000000, NULL), 7200); /* the table */
	/* After 1.01e9 the footer: glibc-computed 2026 edges (see the table). */
	assert_int_equal(sched_tz_offset(tz, 1774569599, NULL), 7200);
	assert_int_equal(sched_tz_offset(tz, 1774569600, NULL), 10800);
	assert_int_equal(sched_tz_offset(tz, 1792882799, NULL), 10800);
	assert_int_equal(sched_tz_offset(tz, 1792882800, NULL), 7200);
	sched_tz_free(tz);
	/* Version 4 differs from 3 only in leap-second rules, which we refuse anyway. */
	b.version = '4';
	len = tzb_build(&b, buf);
	tz = parse_ok(buf, len);
	assert_int_equal(sched_tz_offset(tz, 1774569600, NULL), 10800);
	sched_tz_free(tz);
	/* No transitions: the footer holds for all time. */
	b = (struct tzb){
	    .version = '2', .ntypes = 1, .types = ztypes, .footer = "EST5EDT,M3.2.0,M11.1.0"};
	len = tzb_build(&b, buf);
	tz = parse_ok(buf, len);
	assert_int_equal(sched_tz_offset(tz, utc(2026, 3, 8, 6, 59, 59), NULL), -18000);
	assert_int_equal(sched_tz_offset(tz, utc(2026, 3, 8, 7, 0, 0), NULL), -14400);
	assert_int_equal(sched_tz_offset(tz, 0, NULL), -18000);
	sched_tz_free(tz);
	/* Flags of 0 and 1, counted as the types are: fine. */
	b = zone('2');
	b.nflags = 2;
	b.flag = 1;
	len = tzb_build(&b, buf);
	sched_tz_free(parse_ok(buf, len));
}

static void test_tzif_truncated(void **state)
{
	unsigned char buf[4096];
	struct tzb b = zone('2');
	size_t len;

	(void)state;
	b.footer = "CET-1CEST,M3.5.0,M10.5.0/3";
	len = tzb_build(&b, buf);
	sched_tz_free(parse_ok(buf, len));
	/* Every shorter prefix is refused, none read past its end (ASan watches). */
	for (size_t n = 0; n < len; n++) {
		unsigned char *copy = malloc(n ? n : 1);
		struct sched_tz *tz;

		assert_non_null(copy);
		memcpy(copy, buf, n);
		errno = 0;
		tz = sched_tz_parse(copy, n, "x", NULL, 0);
		if (tz)
			fail_msg("accepted a prefix of %zu of %zu bytes", n, len);
		assert_int_equal(errno, EINVAL);
		free(copy);
	}
	assert_null(sched_tz_parse(NULL, 10, "x", NULL, 0));
	assert_int_equal(errno, EINVAL);
}

static void test_tzif_bad(void **state)
{
	static const int64_t same[] = {5, 5};
	static const int64_t down[] = {6, 5};
	static const uint8_t idx01[] = {0, 1};
	static const uint8_t idx2[] = {2, 0};
	static const struct tzb_type tmin[] = {{INT32_MIN, 0, 0}, {0, 0, 0}};
	static const struct tzb_type tdst2[] = {{0, 2, 0}, {0, 0, 0}};
	static const struct tzb_type tabbr[] = {{0, 0, 8}, {0, 0, 0}};
	unsigned char buf[4096];
	struct tzb b;
	size_t len, h2;

	(void)state;
	b = zone(0);
	len = tzb_build(&b, buf);
	buf[0] = 'X';
	expect_tzif_err(buf, len, "bad magic");

	b = zone('1'); /* the byte '1' is not a version: version 1 is NUL */
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "unsupported version byte 0x31");
	b = zone('5');
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "unsupported version");

	b = zone(0);
	len = tzb_build(&b, buf);
	put32(buf + 36, 0);
	expect_tzif_err(buf, len, "0 time types");
	put32(buf + 36, 257);
	expect_tzif_err(buf, len, "257 time types");
	b = zone(0);
	len = tzb_build(&b, buf);
	put32(buf + 40, 0);
	expect_tzif_err(buf, len, "no abbreviation bytes");

	b = zone(0);
	b.nflags = 1; /* two types */
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "isstd/isut counts");
	b.nflags = 2;
	b.flag = 2;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "indicator not 0 or 1");

	b = zone('2');
	b.nleap = 1;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "leap-second");

	b = zone(0);
	b.nt = 2;
	b.t = same;
	b.idx = idx01;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "transition 1 not after");
	b.t = down;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "transition 1 not after");
	b.t = zt;
	b.idx = idx2;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "transition 0 has type 2 of 2");

	b = zone('2');
	b.types = tmin;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "offset -2^31");
	b.types = tdst2;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "isdst 2");
	b.types = tabbr;
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "abbreviation index");

	/* Footers. */
	b = zone('2');
	b.footer = "CET-1CEST";
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len, "DST without a rule");
	b.footer = "CET-1CEST,M3.5.0,M10.5.0/3";
	len = tzb_build(&b, buf);
	expect_tzif_err(buf, len - 1, "footer not ended by a newline");
	buf[len - 1 - strlen(b.footer) - 1] = 'X';
	expect_tzif_err(buf, len, "footer missing");
	len = tzb_build(&b, buf);
	buf[len - 3] = '\0';
	expect_tzif_err(buf, len, "holds a NUL");

	/* The second header must agree and be a header. */
	b = zone('2');
	b.v1_minimal = true;
	len = tzb_build(&b, buf);
	h2 = 44 + 6 + 1; /* first header, one type, one abbreviation byte */
	assert_memory_equal(buf + h2, "TZif2", 5);
	buf[h2 + 4] = '3';
	expect_tzif_err(buf, len, "disagree on the version");
	buf[h2 + 4] = '2';
	buf[h2] = 'x';
	expect_tzif_err(buf, len, "bad magic");
	buf[h2] = 'T';
	put32(buf + h2 + 32, 1000); /* 1000 transitions that are not there */
	expect_tzif_err(buf, len, "truncated in the 64-bit data");
	/* The first block's counts are checked too, and its length. */
	b = zone('2');
	len = tzb_build(&b, buf);
	put32(buf + 32, 100000);
	expect_tzif_err(buf, len, "truncated in the version 1 data");
}

/* ------------------------------------------------ loading from a directory */

static char tmpdir[64];

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_load_from_dir(void **state)
{
	unsigned char buf[4096];
	struct tzb b = zone('2');
	char path[256], err[256];
	struct sched_tz *tz;
	struct sched *s;
	unsigned char *big;
	size_t len;

	(void)state;
	strcpy(tmpdir, "/tmp/test_sched.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/Test", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	b.footer = "<+05>-5";
	len = tzb_build(&b, buf);
	write_file("Test/Zone", buf, len);
	write_file("Test/Garbage", "not a zone", 10);
	big = calloc(1, SCHED_TZIF_MAX + 1);
	assert_non_null(big);
	write_file("Test/Big", big, SCHED_TZIF_MAX + 1);
	free(big);
	snprintf(path, sizeof(path), "%s/Test/Alias", tmpdir);
	assert_int_equal(symlink("Zone", path), 0);

	tz = sched_tz_load(tmpdir, "Test/Zone", err, sizeof(err));
	assert_non_null(tz);
	assert_string_equal(sched_tz_name(tz), "Test/Zone");
	assert_int_equal(sched_tz_offset(tz, 1000000000, NULL), 7200);
	assert_int_equal(sched_tz_offset(tz, 4000000000LL, NULL), 18000); /* footer */
	sched_tz_free(tz);
	/* Aliases are symlinks in real zone directories. */
	tz = sched_tz_load(tmpdir, "Test/Alias", err, sizeof(err));
	assert_non_null(tz);
	sched_tz_free(tz);

	errno = 0;
	assert_null(sched_tz_load(tmpdir, "Test/Garbage", err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "tz 'Test/Garbage': not a TZif file"));
	assert_null(sched_tz_load(tmpdir, "Test/Big", err, sizeof(err)));
	assert_int_equal(errno, EFBIG);
	assert_non_null(strstr(err, "larger than"));
	assert_null(sched_tz_load(tmpdir, "Test", err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "not a zone file"));
	assert_null(sched_tz_load(tmpdir, "Test/Nothing", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	/* A file used as a directory: unknown zone too. */
	assert_null(sched_tz_load(tmpdir, "Test/Zone/Sub", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_null(sched_tz_load(tmpdir, NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_null(sched_tz_load(tmpdir, "../Test/Zone", err, sizeof(err)));
	assert_int_equal(errno, EINVAL);

	/* sched_parse takes the same directory. */
	s = sched_parse("*", (const char *[]){"09:00-10:00"}, 1, "Test/Zone", tmpdir, err,
			sizeof(err));
	assert_non_null(s);
	assert_true(sched_active(s, utc(2100, 1, 1, 4, 0, 0))); /* 09:00 at +5 */
	assert_false(sched_active(s, utc(2100, 1, 1, 9, 0, 0)));
	sched_free(s);
	expect_parse_err("*", NULL, 0, "Test/Garbage", tmpdir, EINVAL, "not a TZif file");

	snprintf(path, sizeof(path), "%s/Test/Zone", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test/Alias", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test/Garbage", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test/Big", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
}

/* -------------------------------------------------------------- misc */

static void test_format_space(void **state)
{
	struct sched *s = mk("mon-fri", "09:00-17:00", NULL, "Europe/Paris");
	const char *want = "mon-fri 09:00-17:00 Europe/Paris";
	char out[64];

	(void)state;
	assert_int_equal(sched_format(s, out, strlen(want) + 1), 0);
	assert_string_equal(out, want);
	assert_int_equal(sched_format(s, out, strlen(want)), -ENOSPC);
	assert_int_equal(strlen(out), strlen(want) - 1);
	assert_memory_equal(out, want, strlen(want) - 1);
	assert_int_equal(sched_format(s, out, 1), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(sched_format(s, NULL, 0), -ENOSPC);
	assert_int_equal(sched_format(s, NULL, 10), -EINVAL);
	assert_int_equal(sched_format(NULL, out, sizeof(out)), -EINVAL);
	sched_free(s);
}

static void test_null_args(void **state)
{
	(void)state;
	sched_free(NULL);
	sched_tz_free(NULL);
	assert_false(sched_active(NULL, 0));
	assert_string_equal(sched_tz_name(NULL), "");
}

/* Threads evaluate one schedule while the process TZ says something else. */
#define NSAMPLES 4000

static struct sched *thr_sched;
static time_t thr_t[NSAMPLES];
static bool thr_want[NSAMPLES];

static void *thr_run(void *arg)
{
	long bad = 0;

	(void)arg;
	for (int round = 0; round < 20; round++)
		for (int i = 0; i < NSAMPLES; i++)
			bad += sched_active(thr_sched, thr_t[i]) != thr_want[i];
	return (void *)bad;
}

static void test_threads_ignore_process_tz(void **state)
{
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	pthread_t th[4];
	int on = 0;

	(void)state;
	thr_sched = mk("mon-fri", "09:00-17:00", NULL, "Europe/Paris");
	for (int i = 0; i < NSAMPLES; i++) {
		thr_t[i] = utc(2026, 1, 1, 0, 0, 0) + (time_t)i * 7919; /* ~1 year */
		thr_want[i] = sched_active(thr_sched, thr_t[i]);
		on += thr_want[i];
	}
	/* Office hours are 40 of 168 hours a week: some samples each way. */
	assert_true(on > NSAMPLES / 6 && on < NSAMPLES / 3);
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thr_run, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *bad;

		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_int_equal((long)bad, 0);
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	sched_free(thr_sched);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_days_ok),
	    cmocka_unit_test(test_days_bad),
	    cmocka_unit_test(test_windows_ok),
	    cmocka_unit_test(test_windows_bad),
	    cmocka_unit_test(test_windows_args),
	    cmocka_unit_test(test_tz_name_ok),
	    cmocka_unit_test(test_tz_bad_names),
	    cmocka_unit_test(test_tz_unknown_and_dir),
	    cmocka_unit_test(test_utc_default),
	    cmocka_unit_test(test_weekday_boundaries),
	    cmocka_unit_test(test_window_edges),
	    cmocka_unit_test(test_minute_resolution),
	    cmocka_unit_test(test_midnight_crossing),
	    cmocka_unit_test(test_midnight_crossing_week_wrap),
	    cmocka_unit_test(test_midnight_crossing_weekdays),
	    cmocka_unit_test(test_window_union),
	    cmocka_unit_test(test_whole_days),
	    cmocka_unit_test(test_paris_office_hours),
	    cmocka_unit_test(test_local_weekday),
	    cmocka_unit_test(test_ny_spring_forward),
	    cmocka_unit_test(test_ny_fall_back),
	    cmocka_unit_test(test_paris_dst_edges),
	    cmocka_unit_test(test_sydney_fall_back),
	    cmocka_unit_test(test_offsets_zone_files),
	    cmocka_unit_test(test_offsets_tz_strings),
	    cmocka_unit_test(test_isdst),
	    cmocka_unit_test(test_footer_2040),
	    cmocka_unit_test(test_footer_periodic),
	    cmocka_unit_test(test_extreme_times),
	    cmocka_unit_test(test_tz_strings_by_hand),
	    cmocka_unit_test(test_tz_strings_bad),
	    cmocka_unit_test(test_tzif_v1),
	    cmocka_unit_test(test_tzif_v2_reads_64bit),
	    cmocka_unit_test(test_tzif_footer),
	    cmocka_unit_test(test_tzif_truncated),
	    cmocka_unit_test(test_tzif_bad),
	    cmocka_unit_test(test_load_from_dir),
	    cmocka_unit_test(test_format_space),
	    cmocka_unit_test(test_null_args),
	    cmocka_unit_test(test_threads_ignore_process_tz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
