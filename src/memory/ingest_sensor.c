/*
 * ingest_sensor.c — sensor logs: CSV and JSON Lines into readings.
 *
 * The time: a column or key named time, timestamp, ts, date, datetime,
 * time_utc, epoch or unix (any case; the first one), holding ISO 8601
 * ("2026-11-21T14:05:00Z", "2026-11-21 14:05", a zone "+01:00", "+0100"
 * or none = UTC, fractions of seconds) or Unix time (seconds; with 11 or
 * more digits before the point, milliseconds).
 *
 * The series, long form: when there is a "value" column/key, each row is
 * one reading of the series named by its labels, "sensor", "device",
 * "location", "room", "name", "series" then "metric", "quantity",
 * "measurement", "type" joined by spaces in that order ({"ts":...,
 * "sensor":"kitchen", "metric":"temperature", "value":19.8, "unit":"°C"}
 * is "kitchen temperature"), "value" without labels; its unit from "unit".
 * Wide form: every other numeric column/key is a series named by its
 * header, after the labels sensor/device/location/room/name/series when
 * the row has them ("kitchen temp_c"); a header's "(unit)" or "[unit]"
 * suffix is its unit. An empty CSV cell or a JSON null is no reading.
 *
 * A bad row (time unparsable, a value not a finite number, a CSV row with
 * another number of fields than the header, a line not a JSON object) is
 * skipped whole with a warning.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "memory/ingest_internal.h"

#define SERIES_NAME_MAX 256   /* bytes of a series name kept */
#define SNIFF_LINE_MAX 65536
#define MS_DIGITS_FROM 1e11   /* a Unix time this large is in milliseconds */
#define TIME_MS_MAX 2.5e14    /* about year 9900: later times are refused */

static const char *const time_names[] = {"time", "timestamp", "ts", "date", "datetime", "time_utc", "epoch", "unix"};
static const char *const place_labels[] = {"sensor", "device", "location", "room", "name", "series"};
static const char *const what_labels[] = {"metric", "quantity", "measurement", "type"};
#define N_OF(a) (sizeof(a) / sizeof(a)[0])

static int name_in(const char *s, size_t n, const char *const *list, size_t count)
{
    while (n > 0 && isspace((unsigned char)*s)) s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') s++, n -= 2;
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && strncasecmp(s, list[i], n) == 0) return 1;
    return 0;
}

static int is_time_name(const char *s, size_t n) { return name_in(s, n, time_names, N_OF(time_names)); }

/* ================================================================ time */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, const char *e, int n, int *v)
{
    if (e - s < n) return 0;
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* ISO 8601 date and time, or Unix seconds / milliseconds, to Unix ms. */
static int parse_time(const char *s, size_t n, int64_t *ms)
{
    const char *e = s + n;
    while (s < e && isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') s++, e--;
    if (s == e || e - s > 64) return 0;
    char buf[72];
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(s, e, 4, &y) && s + 4 < e && s[4] == '-') {
        if (!digits(s + 5, e, 2, &mo) || s + 7 >= e || s[7] != '-' || !digits(s + 8, e, 2, &d)) return 0;
        static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return 0;
        if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 0;
        const char *p = s + 10;
        double frac = 0;
        int64_t off_s = 0;
        if (p < e && (*p == 'T' || *p == 't' || *p == ' ')) {
            p++;
            if (!digits(p, e, 2, &h) || p + 2 >= e || p[2] != ':' || !digits(p + 3, e, 2, &mi)) return 0;
            p += 5;
            if (p < e && *p == ':') {
                if (!digits(p + 1, e, 2, &sec)) return 0;
                p += 3;
                if (p < e && (*p == '.' || *p == ',')) {
                    double scale = 0.1;
                    for (p++; p < e && isdigit((unsigned char)*p); p++, scale /= 10) frac += (*p - '0') * scale;
                }
            }
            if (h > 23 || mi > 59 || sec > 60) return 0;
            while (p < e && *p == ' ') p++;
            if (p < e && (*p == 'Z' || *p == 'z')) p++;
            else if (e - p == 3 && strncasecmp(p, "UTC", 3) == 0) p += 3;
            else if (p < e && (*p == '+' || *p == '-')) {
                const int sign = *p == '-' ? -1 : 1;
                int oh, om = 0;
                if (!digits(p + 1, e, 2, &oh)) return 0;
                p += 3;
                if (p < e && *p == ':') p++;
                if (p < e && !digits(p, e, 2, &om)) return 0;
                if (p < e) p += 2;
                if (oh > 18 || om > 59) return 0;
                off_s = sign * (oh * 3600 + om * 60);
            }
        }
        if (p != e) return 0;
        const int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_s;
        *ms = t * 1000 + (int64_t)llround(frac * 1000);
        return 1;
    }
    char *end;
    const double v = strtod(buf, &end);
    if (end == buf || *end || !isfinite(v)) return 0;
    for (const char *q = buf; *q; q++) /* digits, a sign and a point only: no "1e9", no "nan" */
        if (!isdigit((unsigned char)*q) && *q != '.' && *q != '-' && *q != '+') return 0;
    const double t = fabs(v) >= MS_DIGITS_FROM ? v : v * 1000;
    if (fabs(t) > TIME_MS_MAX) return 0;
    *ms = (int64_t)llround(t);
    return 1;
}

/* A finite number filling s[0..n) but blanks; 0 if not. */
static int parse_number(const char *s, size_t n, double *v)
{
    while (n > 0 && isspace((unsigned char)*s)) s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0 || n > 63) return 0;
    char buf[64], *end;
    memcpy(buf, s, n);
    buf[n] = 0;
    for (size_t i = 0; i < n; i++) /* no hex, inf or nan */
        if (!isdigit((unsigned char)buf[i]) && !strchr("+-.eE", buf[i])) return 0;
    *v = strtod(buf, &end);
    return end != buf && !*end && isfinite(*v);
}

/* ================================================================ series and readings */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static int series_find_or_add(ingest_ctx *c, sensor_log *g, const char *name, const char *unit);

/* s as one line of valid UTF-8 (malloc'd; NULL on OOM): names and units
 * come from the file and go into chunk text. */
static char *clean_label(const char *s)
{
    int bad = 0;
    size_t n;
    char *o = utf8_clean(s, strlen(s), &n, &bad);
    for (size_t i = 0; o && i < n; i++)
        if ((unsigned char)o[i] < 0x20 || o[i] == 0x7f) o[i] = ' ';
    return o;
}

/* The index of series name (created with unit if new), or -1 on OOM. */
static int series_index(ingest_ctx *c, sensor_log *g, const char *raw_name, const char *unit)
{
    char *name = clean_label(raw_name);
    if (!name) return c->oom = 1, -1;
    int i = series_find_or_add(c, g, name, unit);
    free(name);
    return i;
}

static int series_find_or_add(ingest_ctx *c, sensor_log *g, const char *name, const char *unit)
{
    if (g->n_series * 2 >= g->table_cap) {
        int cap = g->table_cap ? 2 * g->table_cap : 64;
        int *t = calloc((size_t)cap, sizeof *t);
        if (!t) return c->oom = 1, -1;
        for (int i = 0; i < g->n_series; i++) {
            size_t h = hash_str(g->names[i]) & (size_t)(cap - 1);
            while (t[h]) h = (h + 1) & (size_t)(cap - 1);
            t[h] = i + 1;
        }
        free(g->table);
        g->table = t;
        g->table_cap = cap;
    }
    size_t h = hash_str(name) & (size_t)(g->table_cap - 1);
    for (; g->table[h]; h = (h + 1) & (size_t)(g->table_cap - 1))
        if (strcmp(g->names[g->table[h] - 1], name) == 0) return g->table[h] - 1;
    if (g->n_series == g->cap_series) {
        int cap = g->cap_series ? 2 * g->cap_series : 16;
        char **nn = realloc(g->names, (size_t)cap * sizeof *nn);
        if (nn) g->names = nn;
        char **nu = nn ? realloc(g->units, (size_t)cap * sizeof *nu) : NULL;
        if (nu) g->units = nu;
        if (!nn || !nu) return c->oom = 1, -1;
        g->cap_series = cap;
    }
    char *n = strdup(name), *u = clean_label(unit ? unit : "");
    if (!n || !u) { free(n), free(u); return c->oom = 1, -1; }
    g->names[g->n_series] = n;
    g->units[g->n_series] = u;
    g->table[h] = ++g->n_series;
    return g->n_series - 1;
}

static void add_reading(ingest_ctx *c, sensor_log *g, int64_t t_ms, int series, double v, int line)
{
    mem_doc *d = c->doc;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 256;
        mem_reading *r = realloc(d->readings, cap * sizeof *r);
        if (r) d->readings = r;
        int *l = r ? realloc(g->line, cap * sizeof *l) : NULL;
        if (l) g->line = l;
        int *s = l ? realloc(g->series, cap * sizeof *s) : NULL;
        if (s) g->series = s;
        if (!s) { c->oom = 1; return; }
        g->cap = cap;
    }
    char *name = strdup(g->names[series]);
    if (!name) { c->oom = 1; return; }
    d->readings[g->n] = (mem_reading){t_ms, name, v};
    g->line[g->n] = line;
    g->series[g->n] = series;
    d->n_readings = ++g->n;
}

/* A name cut to SERIES_NAME_MAX bytes at a character boundary, with its
 * "(unit)" / "[unit]" suffix split off into unit. */
static void split_unit(const char *s, size_t n, char *name, char *unit)
{
    while (n > 0 && isspace((unsigned char)*s)) s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') s++, n -= 2;
    unit[0] = 0;
    if (n >= 3 && (s[n - 1] == ')' || s[n - 1] == ']')) {
        const char open = s[n - 1] == ')' ? '(' : '[';
        size_t k = n - 1;
        while (k > 0 && s[k - 1] != open) k--;
        if (k > 1) {
            size_t un = utf8_floor(s + k, n - 1 - k < SERIES_NAME_MAX ? n - 1 - k : SERIES_NAME_MAX);
            memcpy(unit, s + k, un);
            unit[un] = 0;
            n = k - 1;
            while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
        }
    }
    size_t nn = utf8_floor(s, n < SERIES_NAME_MAX ? n : SERIES_NAME_MAX);
    memcpy(name, s, nn);
    name[nn] = 0;
}

/* ================================================================ rows */

#define MAX_COLS 256
#define LABEL_MAX (SERIES_NAME_MAX + 1)

typedef struct field { const char *s; size_t n; } field;

/* A row's labels joined "kitchen temperature" (place labels, then what). */
typedef struct labels { char place[N_OF(place_labels)][LABEL_MAX], what[N_OF(what_labels)][LABEL_MAX]; } labels;

static void join_labels(const labels *l, int with_what, const char *col, char *out)
{
    strbuf b = {0};
    for (size_t i = 0; i < N_OF(place_labels); i++)
        if (l->place[i][0]) { if (b.n) sb_add(&b, " ", 1); sb_adds(&b, l->place[i]); }
    for (size_t i = 0; with_what && i < N_OF(what_labels); i++)
        if (l->what[i][0]) { if (b.n) sb_add(&b, " ", 1); sb_adds(&b, l->what[i]); }
    if (col && *col) { if (b.n) sb_add(&b, " ", 1); sb_adds(&b, col); }
    size_t n = b.s ? utf8_floor(b.s, b.n < SERIES_NAME_MAX ? b.n : SERIES_NAME_MAX) : 0;
    memcpy(out, b.s ? b.s : "", n);
    out[n] = 0;
    if (!n) strcpy(out, "value");
    sb_free(&b);
}

static int label_slot(const char *name, size_t n, const labels *l, char **slot)
{
    for (size_t i = 0; i < N_OF(place_labels); i++)
        if (name_in(name, n, &place_labels[i], 1)) return *slot = (char *)l->place[i], 1;
    for (size_t i = 0; i < N_OF(what_labels); i++)
        if (name_in(name, n, &what_labels[i], 1)) return *slot = (char *)l->what[i], 1;
    return 0;
}

/* Split a CSV line at delim (double quotes group, "" is a quote); the
 * count of fields, of which the first MAX_COLS are stored. */
static int csv_split(const char *s, size_t n, char delim, field *f)
{
    int k = 0;
    size_t i = 0;
    for (;;) {
        size_t a = i;
        int q = 0;
        while (i < n && (q || s[i] != delim)) {
            if (s[i] == '"') q = !q;
            i++;
        }
        if (k < MAX_COLS) f[k] = (field){s + a, i - a};
        k++;
        if (i >= n) return k;
        i++;
    }
}

/* s[0..n) trimmed, unquoted and cut to SERIES_NAME_MAX bytes into out. */
static void copy_trim(const char *s, size_t n, char *out)
{
    while (n > 0 && isspace((unsigned char)*s)) s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') s++, n -= 2;
    n = utf8_floor(s, n < SERIES_NAME_MAX ? n : SERIES_NAME_MAX);
    memcpy(out, s, n);
    out[n] = 0;
}

static char csv_delim(const char *s, size_t n)
{
    size_t commas = 0, semis = 0, tabs = 0;
    for (size_t i = 0; i < n; i++) commas += s[i] == ',', semis += s[i] == ';', tabs += s[i] == '\t';
    return tabs > commas && tabs > semis ? '\t' : semis > commas ? ';' : ',';
}

typedef struct line_iter { const char *s; size_t n, at; int line; } line_iter;

/* The next line (no CR/LF); 0 at the end. */
static int next_line(line_iter *it, const char **l, size_t *ln)
{
    if (it->at >= it->n) return 0;
    size_t e = it->at;
    while (e < it->n && it->s[e] != '\n') e++;
    *l = it->s + it->at;
    *ln = e - it->at - (e > it->at && it->s[e - 1] == '\r');
    it->at = e + 1;
    it->line++;
    return 1;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

int sensor_sniff_csv(const char *s, size_t n)
{
    line_iter it = {s, n > SNIFF_LINE_MAX ? SNIFF_LINE_MAX : n, 0, 0};
    const char *l;
    size_t ln;
    while (next_line(&it, &l, &ln))
        if (!blank(l, ln)) break;
    if (it.line == 0 || blank(l, ln)) return 0;
    field *fs = calloc(MAX_COLS, sizeof *fs);
    if (!fs) return 0;
    const int k = csv_split(l, ln, csv_delim(l, ln), fs);
    int found = 0;
    for (int i = 0; i < k && i < MAX_COLS && k >= 2; i++) found |= is_time_name(fs[i].s, fs[i].n);
    free(fs);
    return found;
}

/* ---- CSV */

enum col_role { COL_SERIES, COL_TIME, COL_VALUE, COL_UNIT, COL_LABEL };

static void ingest_csv(ingest_ctx *c, sensor_log *g, const char *s, size_t n)
{
    line_iter it = {s, n, 0, 0};
    const char *l;
    size_t ln;
    while (next_line(&it, &l, &ln) && blank(l, ln)) {}
    if (it.line == 0 || blank(l, ln)) return;
    const char delim = csv_delim(l, ln);
    field *f = calloc(MAX_COLS, sizeof *f);
    enum col_role *role = calloc(MAX_COLS, sizeof *role);
    char (*col_name)[LABEL_MAX] = calloc(MAX_COLS, sizeof *col_name);
    char (*col_unit)[LABEL_MAX] = calloc(MAX_COLS, sizeof *col_unit);
    labels *lab = calloc(1, sizeof *lab);
    if (!f || !role || !col_name || !col_unit || !lab) { c->oom = 1; goto out; }
    const int nh = csv_split(l, ln, delim, f);
    if (nh > MAX_COLS) ing_warn(c, "csv: %s: %d columns, only the first %d are read", c->name, nh, MAX_COLS);
    int tcol = -1;
    for (int i = 0; i < nh && i < MAX_COLS; i++) {
        char *slot;
        split_unit(f[i].s, f[i].n, col_name[i], col_unit[i]);
        if (tcol < 0 && is_time_name(f[i].s, f[i].n)) role[i] = COL_TIME, tcol = i;
        else if (name_in(f[i].s, f[i].n, (const char *const[]){"value"}, 1)) role[i] = COL_VALUE;
        else if (name_in(f[i].s, f[i].n, (const char *const[]){"unit"}, 1)) role[i] = COL_UNIT;
        else if (label_slot(f[i].s, f[i].n, lab, &slot)) role[i] = COL_LABEL;
        else role[i] = COL_SERIES;
    }
    if (tcol < 0) { ing_warn(c, "csv: %s: no timestamp column in the header", c->name); goto out; }
    const int cols = nh < MAX_COLS ? nh : MAX_COLS;
    double *val = calloc((size_t)cols, sizeof *val);
    char *has = calloc((size_t)cols, 1);
    if (!val || !has) { free(val), free(has); c->oom = 1; goto out; }
    while (next_line(&it, &l, &ln) && !c->oom) {
        if (blank(l, ln)) continue;
        const int k = csv_split(l, ln, delim, f);
        if (k != nh) { ing_warn(c, "csv: %s: line %d: %d fields, the header has %d", c->name, it.line, k, nh); continue; }
        int64_t t;
        if (!parse_time(f[tcol].s, f[tcol].n, &t)) {
            ing_warn(c, "csv: %s: line %d: unparsable time \"%.*s\"", c->name, it.line, (int)(f[tcol].n > 40 ? 40 : f[tcol].n), f[tcol].s);
            continue;
        }
        memset(lab, 0, sizeof *lab);
        char unit[LABEL_MAX] = "";
        int bad = -1;
        for (int i = 0; i < cols; i++) {
            char *slot;
            has[i] = 0;
            if (role[i] == COL_LABEL && label_slot(col_name[i], strlen(col_name[i]), lab, &slot)) copy_trim(f[i].s, f[i].n, slot);
            else if (role[i] == COL_UNIT) copy_trim(f[i].s, f[i].n, unit);
            else if ((role[i] == COL_SERIES || role[i] == COL_VALUE) && !blank(f[i].s, f[i].n)) {
                if (!parse_number(f[i].s, f[i].n, &val[i])) { bad = i; break; }
                has[i] = 1;
            }
        }
        if (bad >= 0) {
            ing_warn(c, "csv: %s: line %d: %s \"%.*s\" is not a number", c->name, it.line, col_name[bad],
                     (int)(f[bad].n > 40 ? 40 : f[bad].n), f[bad].s);
            continue;
        }
        for (int i = 0; i < cols; i++) {
            if (!has[i]) continue;
            char name[LABEL_MAX];
            join_labels(lab, 1, role[i] == COL_VALUE ? NULL : col_name[i], name);
            int si = series_index(c, g, name, role[i] == COL_VALUE ? unit : col_unit[i]);
            if (si >= 0) add_reading(c, g, t, si, val[i], it.line);
        }
    }
    free(val);
    free(has);
out:
    free(f), free(role), free(col_name), free(col_unit), free(lab);
}

/* ---- JSON Lines */

static const cJSON *time_item(const cJSON *o)
{
    for (const cJSON *it = o->child; it; it = it->next)
        if (it->string && is_time_name(it->string, strlen(it->string))) return it;
    return NULL;
}

int sensor_sniff_jsonl(const char *s, size_t n)
{
    line_iter it = {s, n > SNIFF_LINE_MAX ? SNIFF_LINE_MAX : n, 0, 0};
    const char *l;
    size_t ln;
    while (next_line(&it, &l, &ln))
        if (!blank(l, ln)) break;
    if (it.line == 0 || blank(l, ln)) return 0;
    while (ln && isspace((unsigned char)*l)) l++, ln--;
    if (!ln || *l != '{') return 0;
    cJSON *o = cJSON_ParseWithLength(l, ln);
    const int ok = o && cJSON_IsObject(o) && time_item(o);
    cJSON_Delete(o);
    return ok;
}

static void jsonl_row(ingest_ctx *c, sensor_log *g, const cJSON *o, int line, labels *lab)
{
    const cJSON *ti = time_item(o);
    int64_t t;
    if (!ti) { ing_warn(c, "jsonl: %s: line %d: no time", c->name, line); return; }
    char tbuf[48];
    const char *ts = cJSON_IsString(ti) ? ti->valuestring : NULL;
    if (cJSON_IsNumber(ti)) snprintf(tbuf, sizeof tbuf, "%.17g", ti->valuedouble), ts = tbuf;
    if (!ts || !parse_time(ts, strlen(ts), &t)) { ing_warn(c, "jsonl: %s: line %d: unparsable time", c->name, line); return; }
    memset(lab, 0, sizeof *lab);
    const cJSON *value = NULL;
    char unit[LABEL_MAX] = "";
    for (const cJSON *it = o->child; it; it = it->next) {
        char *slot;
        if (!it->string || it == ti) continue;
        const size_t kn = strlen(it->string);
        if (strcmp(it->string, "value") == 0) value = it;
        else if (cJSON_IsString(it) && name_in(it->string, kn, (const char *const[]){"unit"}, 1)) copy_trim(it->valuestring, strlen(it->valuestring), unit);
        else if (cJSON_IsString(it) && label_slot(it->string, kn, lab, &slot)) copy_trim(it->valuestring, strlen(it->valuestring), slot);
    }
    char name[LABEL_MAX];
    if (value) {
        if (cJSON_IsNull(value)) return;
        if (!cJSON_IsNumber(value) || !isfinite(value->valuedouble)) { ing_warn(c, "jsonl: %s: line %d: value is not a number", c->name, line); return; }
        join_labels(lab, 1, NULL, name);
        int si = series_index(c, g, name, unit);
        if (si >= 0) add_reading(c, g, t, si, value->valuedouble, line);
        return;
    }
    int any = 0;
    for (const cJSON *it = o->child; it; it = it->next) {
        if (!it->string || it == ti || !cJSON_IsNumber(it) || !isfinite(it->valuedouble)) continue;
        char col[LABEL_MAX], cunit[LABEL_MAX];
        split_unit(it->string, strlen(it->string), col, cunit);
        join_labels(lab, 1, col, name);
        int si = series_index(c, g, name, cunit[0] ? cunit : unit);
        if (si >= 0) add_reading(c, g, t, si, it->valuedouble, line);
        any = 1;
    }
    if (!any) ing_warn(c, "jsonl: %s: line %d: no numeric field", c->name, line);
}

static void ingest_jsonl(ingest_ctx *c, sensor_log *g, const char *s, size_t n)
{
    line_iter it = {s, n, 0, 0};
    const char *l;
    size_t ln;
    labels *lab = malloc(sizeof *lab);
    if (!lab) { c->oom = 1; return; }
    while (next_line(&it, &l, &ln) && !c->oom) {
        if (blank(l, ln)) continue;
        cJSON *o = cJSON_ParseWithLength(l, ln);
        if (!o || !cJSON_IsObject(o)) ing_warn(c, "jsonl: %s: line %d: not a JSON object", c->name, it.line);
        else jsonl_row(c, g, o, it.line, lab);
        cJSON_Delete(o);
    }
    free(lab);
}

void ingest_sensor(ingest_ctx *c, const char *data, size_t len, int jsonl)
{
    sensor_log g = {0};
    if (jsonl) ingest_jsonl(c, &g, data, len);
    else ingest_csv(c, &g, data, len);
    if (!c->oom) sensor_summarise(c, &g);
    for (int i = 0; i < g.n_series; i++) free(g.names[i]), free(g.units[i]);
    free(g.names), free(g.units), free(g.table), free(g.line), free(g.series);
}
