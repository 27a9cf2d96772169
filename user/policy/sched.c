// SPDX-License-Identifier: BSD-2-Clause
/*
 * Schedules: day and window parsing, TZif and POSIX TZ string parsing, and
 * the offset lookup they share.
 *
 * Calendar arithmetic is done on days since 1970-01-01 (proleptic
 * Gregorian) with Howard Hinnant's days_from_civil/civil_from_days, which
 * are exact for every int64 day count we feed them. A POSIX TZ rule is the
 * same every year and the Gregorian calendar repeats every 400 years
 * (146097 days, a whole number of weeks), so the footer is evaluated on t
 * folded into 2000..2399: no overflow whatever t is, and no special case
 * for far-future instants.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/sched.h"
#include "util/err.h"

#define SECS_PER_DAY  86400
#define DAYS_PER_400Y 146097
#define CYCLE_SECS    ((int64_t)DAYS_PER_400Y * SECS_PER_DAY)
#define Y2000	      ((int64_t)946684800) /* 2000-01-01T00:00:00Z: a 400-year boundary */
#define MIN_PER_DAY   1440

/* ------------------------------------------------------------ errors */

/* --------------------------------------------------------- calendar */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	int64_t r = a % b;

	if (r && ((r < 0) != (b < 0)))
		r += b;
	return r;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* Days from 1970-01-01 to y-m-d (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * DAYS_PER_400Y + doe - 719468;
}

/* The year holding day z (days since 1970-01-01). */
static int64_t year_from_days(int64_t z)
{
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = floor_div(z, DAYS_PER_400Y);
	doe = z - era * DAYS_PER_400Y;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return mp >= 10 ? y + 1 : y;
}

/* 0 = Sunday, as tm_wday: 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
	return (int)floor_mod(days + 4, 7);
}

/* ------------------------------------------------------ POSIX TZ rules */

enum tz_date_kind {
	TZ_DATE_JULIAN1 = 0, /* Jn: 1..365, Feb 29 never counted */
	TZ_DATE_JULIAN0,     /* n: 0..365, Feb 29 counted */
	TZ_DATE_MWD,	     /* Mm.w.d */
};

struct tz_rule {
	enum tz_date_kind kind;
	int n;	      /* day for the Julian forms */
	int m, w, d;  /* month 1..12, week 1..5 (5 = last), weekday 0..6 */
	int32_t time; /* seconds after local midnight, -167h..167h */
};

struct tz_posix {
	int32_t std_off; /* seconds east */
	int32_t dst_off;
	bool has_dst;
	struct tz_rule start, end;
};

struct tz_ttinfo {
	int32_t utoff;
	bool isdst;
};

struct sched_tz {
	char *name;
	size_t nr_trans;
	int64_t *trans; /* ascending */
	uint8_t *idx;	/* type of each transition */
	size_t nr_types;
	struct tz_ttinfo *types;
	bool has_footer; /* a non-empty footer, or a zone built from a TZ string */
	struct tz_posix footer;
};

struct tz_cursor {
	const char *p;
	char *err;
	size_t errlen;
};

static bool c_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool c_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int tz_name(struct tz_cursor *c, const char *what)
{
	const char *p = c->p;
	size_t n = 0;

	if (*p == '<') {
		p++;
		while (c_alpha(p[n]) || c_digit(p[n]) || p[n] == '+' || p[n] == '-')
			n++;
		if (p[n] != '>') {
			util_errf(c->err, c->errlen, "TZ string: %s name: '<' without '>'", what);
			return -EINVAL;
		}
		if (n < 3) {
			util_errf(c->err, c->errlen, "TZ string: %s name shorter than 3", what);
			return -EINVAL;
		}
		c->p = p + n + 1;
		return 0;
	}
	while (c_alpha(p[n]))
		n++;
	if (n < 3) {
		util_errf(c->err, c->errlen, "TZ string: %s name missing or shorter than 3 letters",
			  what);
		return -EINVAL;
	}
	c->p = p + n;
	return 0;
}

/* Up to max_digits digits, value <= max. */
static int tz_num(struct tz_cursor *c, int max_digits, int max, int *out)
{
	int v = 0, k = 0;

	while (k < max_digits && c_digit(c->p[k])) {
		v = v * 10 + (c->p[k] - '0');
		k++;
	}
	if (!k || v > max || c_digit(c->p[k]))
		return -EINVAL;
	c->p += k;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]]: seconds, sign applied. */
static int tz_hms(struct tz_cursor *c, int max_hours, const char *what, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (*c->p == '+' || *c->p == '-')
		sign = *c->p++ == '-' ? -1 : 1;
	if (tz_num(c, 3, max_hours, &h))
		goto bad;
	if (*c->p == ':') {
		c->p++;
		if (tz_num(c, 2, 59, &m))
			goto bad;
		if (*c->p == ':') {
			c->p++;
			if (tz_num(c, 2, 59, &s))
				goto bad;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
bad:
	util_errf(c->err, c->errlen, "TZ string: bad %s (want [+-]hh[:mm[:ss]], hh <= %d)", what,
		  max_hours);
	return -EINVAL;
}

static int tz_date(struct tz_cursor *c, struct tz_rule *r, const char *what)
{
	if (*c->p == 'J') {
		c->p++;
		r->kind = TZ_DATE_JULIAN1;
		if (tz_num(c, 3, 365, &r->n) || r->n < 1)
			goto bad;
	} else if (*c->p == 'M') {
		c->p++;
		r->kind = TZ_DATE_MWD;
		if (tz_num(c, 2, 12, &r->m) || r->m < 1 || *c->p++ != '.')
			goto bad;
		if (tz_num(c, 1, 5, &r->w) || r->w < 1 || *c->p++ != '.')
			goto bad;
		if (tz_num(c, 1, 6, &r->d))
			goto bad;
	} else {
		r->kind = TZ_DATE_JULIAN0;
		if (tz_num(c, 3, 365, &r->n))
			goto bad;
	}
	r->time = 2 * 3600;
	if (*c->p == '/') {
		c->p++;
		return tz_hms(c, 167, what, &r->time);
	}
	return 0;
bad:
	util_errf(c->err, c->errlen, "TZ string: bad %s date (want Jn, n or Mm.w.d)", what);
	return -EINVAL;
}

static int tz_posix_parse(const char *s, struct tz_posix *pz, char *err, size_t errlen)
{
	struct tz_cursor c = {s, err, errlen};
	int32_t off;

	memset(pz, 0, sizeof(*pz));
	if (tz_name(&c, "standard") || tz_hms(&c, 24, "standard offset", &off))
		return -EINVAL;
	pz->std_off = -off;
	if (!*c.p)
		return 0;
	if (tz_name(&c, "DST"))
		return -EINVAL;
	pz->has_dst = true;
	pz->dst_off = pz->std_off + 3600;
	if (*c.p && *c.p != ',') {
		if (tz_hms(&c, 24, "DST offset", &off))
			return -EINVAL;
		pz->dst_off = -off;
	}
	if (*c.p != ',') {
		util_errf(err, errlen,
			  "TZ string: DST without a rule (want ,start[/time],end[/time])");
		return -EINVAL;
	}
	c.p++;
	if (tz_date(&c, &pz->start, "DST start"))
		return -EINVAL;
	if (*c.p++ != ',') {
		util_errf(err, errlen, "TZ string: DST rule without an end date");
		return -EINVAL;
	}
	if (tz_date(&c, &pz->end, "DST end"))
		return -EINVAL;
	if (*c.p) {
		util_errf(err, errlen, "TZ string: unexpected '%c' after the rule", *c.p);
		return -EINVAL;
	}
	return 0;
}

/* When rule r fires in year y, as UTC seconds; off is the offset in effect before it. */
static int64_t tz_rule_when(const struct tz_rule *r, int64_t y, int32_t off)
{
	int64_t day;

	switch (r->kind) {
	case TZ_DATE_JULIAN1:
		day = days_from_civil(y, 1, 1) + r->n - 1;
		if (is_leap(y) && r->n >= 60)
			day++;
		break;
	case TZ_DATE_JULIAN0:
		day = days_from_civil(y, 1, 1) + r->n;
		break;
	default: {
		int64_t first = days_from_civil(y, r->m, 1);
		int md = month_days(y, r->m);
		int dom = 1 + (r->d - weekday(first) + 7) % 7 + (r->w - 1) * 7;

		while (dom > md)
			dom -= 7;
		day = first + dom - 1;
		break;
	}
	}
	return day * SECS_PER_DAY + r->time - off;
}

static int32_t tz_posix_offset(const struct tz_posix *pz, time_t t, bool *isdst)
{
	int64_t tf, y, best = 0;
	bool found = false, dst = false;

	if (!pz->has_dst) {
		*isdst = false;
		return pz->std_off;
	}
	/* Fold into [2000, 2400): same calendar, same rule, no overflow. */
	tf = floor_mod((int64_t)t % CYCLE_SECS - Y2000, CYCLE_SECS) + Y2000;
	y = year_from_days(floor_div(tf + pz->std_off, SECS_PER_DAY));
	/*
	 * The last transition at or before tf, among the previous, current and
	 * next year's: a v3 rule may move one past New Year. On a tie the later
	 * one in this order wins, so "0/0,J365/25" (DST all year: this year's
	 * end is next year's start) stays DST.
	 */
	for (int64_t yy = y - 1; yy <= y + 1; yy++) {
		int64_t s = tz_rule_when(&pz->start, yy, pz->std_off);
		int64_t e = tz_rule_when(&pz->end, yy, pz->dst_off);

		if (s <= tf && (!found || s >= best)) {
			best = s;
			dst = true;
			found = true;
		}
		if (e <= tf && (!found || e >= best)) {
			best = e;
			dst = false;
			found = true;
		}
	}
	*isdst = dst;
	return dst ? pz->dst_off : pz->std_off;
}

/* ------------------------------------------------------------- zones */

void sched_tz_free(struct sched_tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->idx);
	free(tz->types);
	free(tz);
}

const char *sched_tz_name(const struct sched_tz *tz)
{
	return tz && tz->name ? tz->name : "";
}

static struct sched_tz *tz_alloc(const char *name, size_t nr_trans, size_t nr_types)
{
	struct sched_tz *tz = calloc(1, sizeof(*tz));

	if (!tz)
		return NULL;
	tz->name = strdup(name ? name : "");
	tz->trans = calloc(nr_trans ? nr_trans : 1, sizeof(*tz->trans));
	tz->idx = calloc(nr_trans ? nr_trans : 1, sizeof(*tz->idx));
	tz->types = calloc(nr_types ? nr_types : 1, sizeof(*tz->types));
	if (!tz->name || !tz->trans || !tz->idx || !tz->types) {
		sched_tz_free(tz);
		errno = ENOMEM;
		return NULL;
	}
	tz->nr_trans = nr_trans;
	tz->nr_types = nr_types;
	return tz;
}

struct sched_tz *sched_tz_posix(const char *tzstr, char *err, size_t errlen)
{
	struct sched_tz *tz;
	struct tz_posix pz;

	if (!tzstr) {
		util_errf(err, errlen, "TZ string: NULL");
		errno = EINVAL;
		return NULL;
	}
	if (tz_posix_parse(tzstr, &pz, err, errlen)) {
		errno = EINVAL;
		return NULL;
	}
	tz = tz_alloc(tzstr, 0, 1);
	if (!tz) {
		util_errf(err, errlen, "out of memory");
		return NULL;
	}
	tz->types[0].utoff = pz.std_off;
	tz->has_footer = true;
	tz->footer = pz;
	return tz;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

#define TZIF_HDR 44

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int tzif_header(const unsigned char *p, size_t len, struct tzif_counts *k, char *err,
		       size_t errlen)
{
	if (len < TZIF_HDR || memcmp(p, "TZif", 4)) {
		util_errf(err, errlen, "not a TZif file (bad magic or shorter than a header)");
		return -EINVAL;
	}
	k->isut = be32(p + 20);
	k->isstd = be32(p + 24);
	k->leap = be32(p + 28);
	k->time = be32(p + 32);
	k->type = be32(p + 36);
	k->chars = be32(p + 40);
	if (k->type == 0 || k->type > 256) {
		util_errf(err, errlen, "TZif: %u time types (want 1..256)", k->type);
		return -EINVAL;
	}
	if (k->chars == 0) {
		util_errf(err, errlen, "TZif: no abbreviation bytes");
		return -EINVAL;
	}
	if ((k->isstd && k->isstd != k->type) || (k->isut && k->isut != k->type)) {
		util_errf(err, errlen, "TZif: isstd/isut counts must be 0 or the type count");
		return -EINVAL;
	}
	if (k->leap) {
		util_errf(err, errlen, "TZif: leap-second zones are not supported");
		return -EINVAL;
	}
	return 0;
}

/* Size of a data block whose times are tsize bytes wide. */
static size_t tzif_block(const struct tzif_counts *k, size_t tsize)
{
	return (size_t)k->time * tsize + k->time + (size_t)k->type * 6 + k->chars +
	       (size_t)k->leap * (tsize + 4) + k->isstd + k->isut;
}

static int tzif_data(struct sched_tz *tz, const unsigned char *p, const struct tzif_counts *k,
		     size_t tsize, char *err, size_t errlen)
{
	const unsigned char *idx = p + (size_t)k->time * tsize;
	const unsigned char *tt = idx + k->time;
	const unsigned char *flags = tt + (size_t)k->type * 6 + k->chars;

	for (size_t i = 0; i < k->time; i++) {
		const unsigned char *q = p + i * tsize;

		tz->trans[i] = tsize == 8 ? be64(q) : (int32_t)be32(q);
		if (i && tz->trans[i] <= tz->trans[i - 1]) {
			util_errf(err, errlen, "TZif: transition %zu not after the previous one",
				  i);
			return -EINVAL;
		}
		if (idx[i] >= k->type) {
			util_errf(err, errlen, "TZif: transition %zu has type %u of %u", i, idx[i],
				  k->type);
			return -EINVAL;
		}
		tz->idx[i] = idx[i];
	}
	for (size_t i = 0; i < k->type; i++) {
		const unsigned char *q = tt + i * 6;
		int32_t utoff = (int32_t)be32(q);

		if (utoff == INT32_MIN) {
			util_errf(err, errlen, "TZif: type %zu has offset -2^31", i);
			return -EINVAL;
		}
		if (q[4] > 1) {
			util_errf(err, errlen, "TZif: type %zu has isdst %u", i, q[4]);
			return -EINVAL;
		}
		if (q[5] >= k->chars) {
			util_errf(err, errlen, "TZif: type %zu abbreviation index out of range", i);
			return -EINVAL;
		}
		tz->types[i].utoff = utoff;
		tz->types[i].isdst = q[4];
	}
	for (size_t i = 0; i < (size_t)k->isstd + k->isut; i++) {
		if (flags[i] > 1) {
			util_errf(err, errlen, "TZif: isstd/isut indicator not 0 or 1");
			return -EINVAL;
		}
	}
	return 0;
}

struct sched_tz *sched_tz_parse(const void *buf, size_t len, const char *name, char *err,
				size_t errlen)
{
	const unsigned char *p = buf;
	struct tzif_counts k;
	struct sched_tz *tz;
	size_t tsize = 4, need;
	int version;

	errno = EINVAL;
	if (!buf) {
		util_errf(err, errlen, "TZif: no data");
		return NULL;
	}
	if (tzif_header(p, len, &k, err, errlen))
		return NULL;
	version = p[4];
	if (version != 0 && (version < '2' || version > '4')) {
		util_errf(err, errlen, "TZif: unsupported version byte 0x%02x", version);
		return NULL;
	}
	need = TZIF_HDR + tzif_block(&k, 4);
	if (len < need) {
		util_errf(err, errlen, "TZif: truncated in the version 1 data");
		return NULL;
	}
	if (version) {
		/* Skip the 32-bit block: the 64-bit one says all it says and more. */
		p += need;
		len -= need;
		if (tzif_header(p, len, &k, err, errlen))
			return NULL;
		if (p[4] != version) {
			util_errf(err, errlen, "TZif: the two headers disagree on the version");
			return NULL;
		}
		tsize = 8;
		need = TZIF_HDR + tzif_block(&k, 8);
		if (len < need) {
			util_errf(err, errlen, "TZif: truncated in the 64-bit data");
			return NULL;
		}
	}
	tz = tz_alloc(name, k.time, k.type);
	if (!tz) {
		util_errf(err, errlen, "out of memory");
		return NULL;
	}
	if (tzif_data(tz, p + TZIF_HDR, &k, tsize, err, errlen))
		goto fail;
	if (version) {
		const char *f = (const char *)p + need, *nl;
		size_t rest = len - need;
		char footer[256];

		if (!rest || *f != '\n') {
			util_errf(err, errlen, "TZif: footer missing");
			goto fail;
		}
		nl = memchr(f + 1, '\n', rest - 1);
		if (!nl) {
			util_errf(err, errlen, "TZif: footer not ended by a newline");
			goto fail;
		}
		if ((size_t)(nl - f - 1) >= sizeof(footer) || memchr(f + 1, '\0', nl - f - 1)) {
			util_errf(err, errlen, "TZif: footer too long or holds a NUL");
			goto fail;
		}
		memcpy(footer, f + 1, nl - f - 1);
		footer[nl - f - 1] = '\0';
		if (footer[0]) {
			if (tz_posix_parse(footer, &tz->footer, err, errlen))
				goto fail;
			tz->has_footer = true;
		}
	}
	return tz;
fail:
	sched_tz_free(tz);
	errno = EINVAL;
	return NULL;
}

int32_t sched_tz_offset(const struct sched_tz *tz, time_t t, bool *isdst)
{
	bool dummy;
	size_t lo, hi;

	if (!isdst)
		isdst = &dummy;
	*isdst = false;
	if (!tz)
		return 0;
	if (tz->has_footer && (!tz->nr_trans || t >= tz->trans[tz->nr_trans - 1]))
		return tz_posix_offset(&tz->footer, t, isdst);
	if (!tz->nr_trans || t < tz->trans[0]) {
		*isdst = tz->types[0].isdst;
		return tz->types[0].utoff;
	}
	/* The last transition at or before t: trans[lo] <= t < trans[hi]. */
	lo = 0;
	hi = tz->nr_trans;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*isdst = tz->types[tz->idx[lo]].isdst;
	return tz->types[tz->idx[lo]].utoff;
}

bool sched_tz_name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (!n || n > SCHED_TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (c == '/' && name[i + 1] == '/')
			return false;
		if (!c_alpha(c) && !c_digit(c) && c != '_' && c != '+' && c != '-' && c != '/')
			return false;
	}
	return true;
}

static struct sched_tz *tz_utc(void)
{
	struct sched_tz *tz = tz_alloc("UTC", 0, 1);

	return tz; /* one type, offset 0, no footer */
}

struct sched_tz *sched_tz_load(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096], msg[160] = "";
	struct sched_tz *tz = NULL;
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, e;

	if (!name || !sched_tz_name_ok(name)) {
		if (name && (name[0] == '/' || strstr(name, "..")))
			util_errf(err, errlen, "tz '%.*s': must be a name below the zone directory",
				  SCHED_TZ_NAME_MAX, name);
		else
			util_errf(err, errlen,
				  "tz '%.*s': bad zone name (want [A-Za-z0-9_+-] components "
				  "separated by '/', at most %d bytes)",
				  SCHED_TZ_NAME_MAX, name ? name : "(null)", SCHED_TZ_NAME_MAX);
		errno = EINVAL;
		return NULL;
	}
	if (!strcmp(name, "UTC")) {
		tz = tz_utc();
		if (!tz)
			util_errf(err, errlen, "tz 'UTC': out of memory");
		return tz;
	}
	if (!dir)
		dir = SCHED_ZONEINFO_DIR;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		util_errf(err, errlen, "tz '%s': zone directory path too long", name);
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			util_errf(err, errlen, "tz '%s': unknown zone (no %s)", name, path);
			e = ENOENT;
		} else {
			util_errf(err, errlen, "tz '%s': %s: %s", name, path, strerror(e));
		}
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		e = EINVAL;
		util_errf(err, errlen, "tz '%s': %s is not a zone file", name, path);
		goto out;
	}
	if (st.st_size > SCHED_TZIF_MAX) {
		e = EFBIG;
		util_errf(err, errlen, "tz '%s': %s is larger than %d bytes", name, path,
			  SCHED_TZIF_MAX);
		goto out;
	}
	/* One byte more than the limit: a file that grew since fstat is caught. */
	buf = malloc(SCHED_TZIF_MAX + 1);
	if (!buf) {
		e = ENOMEM;
		util_errf(err, errlen, "tz '%s': out of memory", name);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, SCHED_TZIF_MAX + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			util_errf(err, errlen, "tz '%s': reading %s: %s", name, path, strerror(e));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > SCHED_TZIF_MAX) {
			e = EFBIG;
			util_errf(err, errlen, "tz '%s': %s is larger than %d bytes", name, path,
				  SCHED_TZIF_MAX);
			goto out;
		}
	}
	tz = sched_tz_parse(buf, got, name, msg, sizeof(msg));
	e = errno;
	if (!tz)
		util_errf(err, errlen, "tz '%s': %s", name, msg);
out:
	free(buf);
	close(fd);
	if (!tz)
		errno = e;
	return tz;
}

/* --------------------------------------------------------- schedules */

struct sched_win {
	uint16_t start, end; /* minutes; start > end crosses midnight; end <= 1440 */
};

struct sched {
	uint8_t days; /* bit tm_wday: 0 = Sunday */
	size_t nr_win;
	struct sched_win win[SCHED_WINDOWS_MAX];
	struct sched_tz *tz;
};

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const char *skip_sp(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int parse_day(const char **pp)
{
	const char *p = *pp;

	for (int d = 0; d < 7; d++) {
		if (!strncasecmp(p, day_names[d], 3) && !c_alpha(p[3])) {
			*pp = p + 3;
			return d;
		}
	}
	return -1;
}

/* The bad token at p, for messages: up to the next separator. */
static int tok_len(const char *p)
{
	int n = 0;

	while (p[n] && p[n] != ',' && p[n] != '-' && p[n] != ' ' && n < 32)
		n++;
	return n;
}

static int parse_days(const char *s, uint8_t *out, char *err, size_t errlen)
{
	const char *p;
	uint8_t mask = 0;

	if (!s) {
		*out = 0x7f;
		return 0;
	}
	p = skip_sp(s);
	if (!*p) {
		util_errf(err, errlen,
			  "days: empty (leave the days out for every day, or write '*')");
		return -EINVAL;
	}
	if (*p == '*') {
		if (*skip_sp(p + 1)) {
			util_errf(err, errlen, "days: '*' must stand alone");
			return -EINVAL;
		}
		*out = 0x7f;
		return 0;
	}
	for (;;) {
		bool ranged = false;
		int a, b;

		p = skip_sp(p);
		if (!*p || *p == ',') {
			util_errf(err, errlen, "days '%s': empty item", s);
			return -EINVAL;
		}
		a = parse_day(&p);
		if (a < 0) {
			util_errf(err, errlen, "days '%s': unknown day '%.*s' (want mon..sun)", s,
				  tok_len(p), p);
			return -EINVAL;
		}
		b = a;
		p = skip_sp(p);
		if (*p == '-') {
			ranged = true;
			p = skip_sp(p + 1);
			b = parse_day(&p);
			if (b < 0) {
				util_errf(err, errlen,
					  "days '%s': unknown day '%.*s' after '-' (want mon..sun)",
					  s, tok_len(p), p);
				return -EINVAL;
			}
			p = skip_sp(p);
		}
		for (int d = a;; d = (d + 1) % 7) {
			mask |= 1u << d;
			if (d == b)
				break;
		}
		if (!*p)
			break;
		if (*p != ',') {
			util_errf(err, errlen, "days '%s': unexpected '%c' (want ','%s)", s, *p,
				  ranged ? "" : " or '-'");
			return -EINVAL;
		}
		p++;
	}
	*out = mask;
	return 0;
}

/* H:MM or HH:MM; 24:00 only when end. Returns minutes or -1. */
static int parse_hhmm(const char **pp, bool end)
{
	const char *p = *pp;
	int h = 0, m, nd = 0;

	while (c_digit(*p) && nd < 2) {
		h = h * 10 + (*p++ - '0');
		nd++;
	}
	if (!nd || *p++ != ':' || !c_digit(p[0]) || !c_digit(p[1]) || c_digit(p[2]))
		return -1;
	m = (p[0] - '0') * 10 + (p[1] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m || !end)))
		return -1;
	*pp = p + 2;
	return h * 60 + m;
}

static int parse_window(const char *s, size_t i, struct sched_win *w, char *err, size_t errlen)
{
	const char *p;
	int a, b;

	if (!s) {
		util_errf(err, errlen, "window %zu: NULL", i + 1);
		return -EINVAL;
	}
	p = skip_sp(s);
	a = parse_hhmm(&p, false);
	if (a < 0)
		goto bad;
	p = skip_sp(p);
	if (*p++ != '-')
		goto bad;
	p = skip_sp(p);
	b = parse_hhmm(&p, true);
	if (b < 0 || *skip_sp(p))
		goto bad;
	if (a == b) {
		util_errf(err, errlen,
			  "window %zu '%s': start equals end (write 00:00-24:00 for a whole day)",
			  i + 1, s);
		return -EINVAL;
	}
	w->start = (uint16_t)a;
	w->end = (uint16_t)b;
	return 0;
bad:
	util_errf(err, errlen,
		  "window %zu '%s': want HH:MM-HH:MM, hours 00..23 (24:00 only as an end), "
		  "minutes 00..59",
		  i + 1, s);
	return -EINVAL;
}

struct sched *sched_parse(const char *days, const char *const *windows, size_t n, const char *tz,
			  const char *zonedir, char *err, size_t errlen)
{
	struct sched *s;
	int e;

	if (n && !windows) {
		util_errf(err, errlen, "windows: NULL with a count of %zu", n);
		errno = EINVAL;
		return NULL;
	}
	if (n > SCHED_WINDOWS_MAX) {
		util_errf(err, errlen, "windows: %zu given, at most %d", n, SCHED_WINDOWS_MAX);
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		util_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (parse_days(days, &s->days, err, errlen)) {
		e = EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_window(windows[i], i, &s->win[i], err, errlen)) {
			e = EINVAL;
			goto fail;
		}
	}
	s->nr_win = n;
	if (!n) {
		s->win[0] = (struct sched_win){0, MIN_PER_DAY};
		s->nr_win = 1;
	}
	s->tz = sched_tz_load(zonedir, tz && *tz ? tz : "UTC", err, errlen);
	if (!s->tz) {
		e = errno;
		goto fail;
	}
	return s;
fail:
	free(s);
	errno = e;
	return NULL;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	sched_tz_free(s->tz);
	free(s);
}

bool sched_active(const struct sched *s, time_t t)
{
	int64_t day, sec;
	int wd, prev;

	if (!s)
		return false;
	/* Day and second apart: t + offset could overflow at the ends of time_t. */
	day = floor_div(t, SECS_PER_DAY);
	sec = floor_mod(t, SECS_PER_DAY) + sched_tz_offset(s->tz, t, NULL);
	day += floor_div(sec, SECS_PER_DAY);
	sec = floor_mod(sec, SECS_PER_DAY);
	wd = weekday(day);
	prev = (wd + 6) % 7;
	for (size_t i = 0; i < s->nr_win; i++) {
		int64_t a = (int64_t)s->win[i].start * 60, b = (int64_t)s->win[i].end * 60;

		if (a < b) {
			if ((s->days & (1u << wd)) && sec >= a && sec < b)
				return true;
		} else {
			if ((s->days & (1u << wd)) && sec >= a)
				return true;
			if ((s->days & (1u << prev)) && sec < b)
				return true;
		}
	}
	return false;
}

/* snprintf-like append: keeps going after running out, to report -ENOSPC once. */
struct fmt_buf {
	char *out;
	size_t cap, len;
};

static void fmt_add(struct fmt_buf *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fmt_add(struct fmt_buf *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(f->len < f->cap ? f->out + f->len : NULL,
		      f->len < f->cap ? f->cap - f->len : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		f->len += (size_t)r;
}

int sched_format(const struct sched *s, char *out, size_t cap)
{
	struct fmt_buf f = {out, cap, 0};

	if (!s || (!out && cap))
		return -EINVAL;
	if (s->days == 0x7f) {
		fmt_add(&f, "*");
	} else {
		/* Monday first: position k is weekday (k + 1) % 7. */
		bool first = true;

		for (int k = 0; k < 7;) {
			int d = (k + 1) % 7, run = 0;

			if (!(s->days & (1u << d))) {
				k++;
				continue;
			}
			while (k + run < 7 && (s->days & (1u << ((k + run + 1) % 7))))
				run++;
			if (run >= 3)
				fmt_add(&f, "%s%s-%s", first ? "" : ",", day_names[d],
					day_names[(k + run) % 7]);
			else
				for (int j = 0; j < run; j++)
					fmt_add(&f, "%s%s", first && !j ? "" : ",",
						day_names[(k + j + 1) % 7]);
			first = false;
			k += run;
		}
	}
	for (size_t i = 0; i < s->nr_win; i++)
		fmt_add(&f, "%c%02d:%02d-%02d:%02d", i ? ',' : ' ', s->win[i].start / 60,
			s->win[i].start % 60, s->win[i].end / 60, s->win[i].end % 60);
	fmt_add(&f, " %s", sched_tz_name(s->tz));
	if (f.len >= cap)
		return -ENOSPC;
	return 0;
}
