/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Schedules for forward-proxy rules: "social sites blocked 09:00-17:00
 * Monday to Friday, Paris time". A schedule is a set of weekdays, one or
 * more time windows, and an IANA time zone; sched_active(s, t) says whether
 * the instant t falls in it.
 *
 * Time zones are read from TZif files (RFC 8536, versions 1 to 4) at load
 * time and evaluated by this module, never through setenv("TZ")/tzset()/
 * localtime(): those share process-wide state with every thread that
 * formats a log time. So a loaded zone and a schedule are immutable, and
 * any number of threads may call sched_active and sched_tz_offset on them.
 * sched_tz_load (and sched_parse, which calls it) is the only I/O here: it
 * reads one file, at config load time. Everything else is pure.
 *
 * What a schedule means, precisely:
 *
 *  - Windows are wall-clock times in the schedule's zone, [start, end) at
 *    minute resolution: "09:00-17:00" holds from 09:00:00 up to 16:59:59.
 *    The local time of t is t + (the zone's UTC offset at t), so:
 *  - A window whose wall-clock times do not occur on a day does not happen
 *    that day: "02:00-03:00" is never active on a spring-forward day in
 *    America/New_York (02:00 EST jumps to 03:00 EDT), and a window
 *    "01:30-02:30" there holds from 01:30 to 02:00 EST only, 30 minutes:
 *    the clock then reads 03:00, past its end.
 *  - A wall-clock time that occurs twice counts both times: "01:00-02:00"
 *    on a fall-back day in New York (02:00 EDT goes back to 01:00 EST) is
 *    active for two real hours, 05:00-07:00 UTC.
 *  - A window with start > end crosses midnight: it starts on a listed day
 *    and ends the next morning, whether or not that next day is listed.
 *    "fri 22:00-06:00" holds Friday 22:00 to Saturday 06:00, and not at
 *    Friday 03:00 (that belongs to Thursday's window, and Thursday is not
 *    listed). The weekday that counts is the local one.
 *  - "00:00-24:00" is the whole day; 24:00 is only valid as an end. A
 *    window with start == end is refused (empty or whole day? say which).
 *  - No windows at all means the whole of each listed day.
 *  - Several windows are a union; they may overlap.
 *
 * Zone data follows RFC 8536 3.2: before the first transition, time type
 * 0; after the last, the POSIX TZ string of the footer (evaluated here,
 * including the version 3 extensions: transition hours -167..167, DST all
 * year); a version 1 file, or an empty footer, keeps the last transition's
 * type forever. Leap-second zones ("right/...") are refused: time_t does
 * not count leap seconds.
 */
#ifndef XDP_POLICY_SCHED_H
#define XDP_POLICY_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Where sched_tz_load and sched_parse look when given no directory. */
#define SCHED_ZONEINFO_DIR "/usr/share/zoneinfo"

/* Longest zone name accepted, NUL excluded ("America/Argentina/ComodRivadavia" is 32). */
#define SCHED_TZ_NAME_MAX 64

/* Most windows one schedule may have. */
#define SCHED_WINDOWS_MAX 32

/* Largest TZif file read: real ones are under 4 KiB. */
#define SCHED_TZIF_MAX (256 * 1024)

/* A time zone: immutable once built. */
struct sched_tz;

/* A schedule: immutable once built. */
struct sched;

/*
 * True when name is acceptable as a zone name: 1..SCHED_TZ_NAME_MAX bytes
 * of [A-Za-z0-9_+-/], not starting or ending with '/', no empty component.
 * That excludes absolute paths and ".." (no '.' at all), so a name never
 * leaves the zone directory.
 */
bool sched_tz_name_ok(const char *name);

/*
 * Parses a TZif file held in buf[0, len) (pure). name is only stored, for
 * sched_tz_name; NULL gives "".
 *
 * Returns the zone, or NULL with errno
 *   EINVAL  buf NULL, or the data is not a valid TZif file: bad magic,
 *           unsupported version, truncated, counts out of range (no time
 *           type, no abbreviation byte, isstd/isut counts neither 0 nor
 *           typecnt), transitions not ascending, a type index out of range,
 *           an offset of -2^31, isdst not 0/1, leap seconds, a footer not
 *           framed by newlines or not a valid TZ string. err (if not NULL)
 *           says which, truncated to errlen bytes, NUL included;
 *   ENOMEM  out of memory.
 */
struct sched_tz *sched_tz_parse(const void *buf, size_t len, const char *name, char *err,
				size_t errlen);

/*
 * A zone from a POSIX TZ string, as found in a TZif footer:
 * "CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30", "EST5EDT,0/0,J365/25".
 * Names are 3+ letters or <[A-Za-z0-9+-]{3,}>; offsets [+-]hh[:mm[:ss]]
 * with hh <= 24 (POSIX sign: positive is west of Greenwich); a DST name
 * needs a rule ",start[/time],end[/time]", each date Jn (1..365, Feb 29 not
 * counted), n (0..365) or Mm.w.d; times [+-]hh[:mm[:ss]] with hh <= 167
 * (the RFC 8536 version 3 extension), default 02:00. The whole string must
 * be consumed. Not the ":file" form, and no implied US rules.
 *
 * Returns the zone (sched_tz_name gives the string itself), or NULL with
 * errno EINVAL (err says what is wrong) or ENOMEM.
 */
struct sched_tz *sched_tz_posix(const char *tzstr, char *err, size_t errlen);

/*
 * Loads zone name from the TZif file dir/name (dir NULL: SCHED_ZONEINFO_DIR).
 * "UTC" is built in and reads no file. Follows symlinks (distributions link
 * aliases): the name check above is what keeps the path inside dir.
 *
 * Returns the zone, or NULL with errno
 *   EINVAL  name NULL or !sched_tz_name_ok(name), not a regular file, or
 *           bad data (as sched_tz_parse);
 *   ENOENT  no such zone;
 *   EFBIG   larger than SCHED_TZIF_MAX;
 *   ENOMEM, or what open/read failed with.
 * err gets a message naming the zone in every case.
 */
struct sched_tz *sched_tz_load(const char *dir, const char *name, char *err, size_t errlen);

/* Frees tz. Accepts NULL. */
void sched_tz_free(struct sched_tz *tz);

/* The name tz was built with: "Europe/Paris", "UTC", a TZ string. "" for NULL. */
const char *sched_tz_name(const struct sched_tz *tz);

/*
 * The UTC offset (seconds east of Greenwich: +3600 for CET) in effect at t,
 * for any t: local time is t + offset. *isdst (if not NULL) gets the
 * zone's DST flag for that instant. tz NULL is UTC (0, not DST).
 */
int32_t sched_tz_offset(const struct sched_tz *tz, time_t t, bool *isdst);

/*
 * Builds a schedule from config text.
 *
 *  days     NULL: every day. Else a comma-separated list of items, each a
 *           day or a range "a-b" of days, days being the English three-
 *           letter abbreviations (case-insensitive): "mon-fri", "sat,sun",
 *           "mon,wed-fri"; or "*" alone for every day. Spaces around items
 *           are allowed. A range wraps around the week: "fri-mon" is Friday
 *           to Monday; "mon-mon" is Monday.
 *  windows  windows[0, n): "HH:MM-HH:MM" (hour on 1 or 2 digits, minutes
 *           on 2; spaces around '-' allowed). n == 0 (windows may then be
 *           NULL): whole days. At most SCHED_WINDOWS_MAX.
 *  tz       NULL or "": UTC. Else a zone name loaded by sched_tz_load from
 *           zonedir (NULL: SCHED_ZONEINFO_DIR).
 *
 * Returns the schedule, or NULL with errno
 *   EINVAL  an argument is wrong; err gets e.g. "days: unknown day 'tuz'",
 *           "window 2 '25:00-26:00': hour out of range", "tz 'Mars/Base':
 *           unknown zone" (truncated to errlen bytes, NUL included);
 *   ENOMEM  out of memory;
 *   or the errno sched_tz_load failed with (ENOENT for an unknown zone).
 */
struct sched *sched_parse(const char *days, const char *const *windows, size_t n, const char *tz,
			  const char *zonedir, char *err, size_t errlen);

/* Frees s and its zone. Accepts NULL. */
void sched_free(struct sched *s);

/* True when t falls in s (see the top for the exact meaning). False for NULL. */
bool sched_active(const struct sched *s, time_t t);

/*
 * Writes s in canonical form, NUL-terminated, into out[0, cap): days (Monday
 * first; runs of 3 or more as ranges, "*" for all), windows, zone:
 * "mon-fri 09:00-17:00 Europe/Paris", "sat,sun 00:00-24:00 UTC",
 * "* 22:00-06:00,12:00-13:00 UTC". The days and windows parse back.
 *
 * Returns 0, or -ENOSPC (out holds the truncated text, NUL-terminated, when
 * cap > 0), or -EINVAL (s NULL, or out NULL with cap > 0).
 */
int sched_format(const struct sched *s, char *out, size_t cap);

#endif
