/*
 * sensor_summary.c — what a sensor log says, in words to embed and cite:
 * per series, per window of sensor_window_s (aligned to multiples of it
 * since 1970, UTC), one line
 *
 *   kitchen temperature 2026-11-21 14:00–15:00 UTC: 19.8–23.1 °C (mean 21.45, last 22.9, 58 readings); gap 14:20–14:45
 *
 * with the gaps that start in it: two readings further apart than
 * GAP_FACTOR times the series' median interval. A series' lines are packed
 * into chunks of at most chunk_target bytes, titled by the series, with
 * t_lo..t_hi the windows' span in seconds and line_lo..line_hi the rows'.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/ingest_internal.h"

#define GAP_FACTOR 3         /* a gap: more than this many expected intervals */
#define GAPS_PER_WINDOW 8    /* gaps named in one line; then "…" */
#define EN_DASH "\xE2\x80\x93"
#define ELLIPSIS "\xE2\x80\xA6"
#define MEAN_FIXED_MAX 1e9   /* means below this get two decimals, others %g */

typedef struct key { int series; int64_t t; size_t i; } key;

static int by_series_time(const void *a, const void *b)
{
    const key *x = a, *y = b;
    if (x->series != y->series) return x->series < y->series ? -1 : 1;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int by_value(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* "2026-11-21" and "14:05" (":07" too when secs) of Unix seconds t. */
static void civil(int64_t t, char *date, size_t dcap, char *hm, size_t hcap, int secs)
{
    const int64_t days = floor_div(t, 86400), sod = t - days * 86400;
    const int64_t z = days + 719468, era = floor_div(z, 146097), doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    const int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
    const int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(date, dcap, "%04lld-%02d-%02d", (long long)y, m, d);
    if (secs) snprintf(hm, hcap, "%02d:%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    else snprintf(hm, hcap, "%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60));
}

/* "14:00–15:00" within one day, else with the dates; ms times. */
static void span(strbuf *b, int64_t a_ms, int64_t e_ms, int secs, int date_first)
{
    char da[24], ha[16], de[24], he[16];
    const int64_t a = floor_div(a_ms, 1000), e = floor_div(e_ms, 1000);
    civil(a, da, sizeof da, ha, sizeof ha, secs);
    civil(e, de, sizeof de, he, sizeof he, secs);
    char dl[24], hl[16]; /* the day of the last instant before e */
    civil(e > a ? e - 1 : e, dl, sizeof dl, hl, sizeof hl, secs);
    const int same_day = strcmp(da, dl) == 0;
    if (date_first || !same_day) sb_printf(b, "%s ", da);
    sb_printf(b, "%s" EN_DASH, ha);
    if (!same_day) sb_printf(b, "%s ", de);
    sb_adds(b, he);
}

static void num(strbuf *b, double v) { sb_printf(b, "%g", v); }

static void mean_num(strbuf *b, double v)
{
    if (fabs(v) >= MEAN_FIXED_MAX) { num(b, v); return; }
    char buf[64];
    snprintf(buf, sizeof buf, "%.2f", v);
    char *p = buf + strlen(buf);
    while (p[-1] == '0') *--p = 0;
    if (p[-1] == '.') *--p = 0;
    if (strcmp(buf, "-0") == 0) strcpy(buf, "0");
    sb_adds(b, buf);
}

typedef struct pack {
    strbuf text;
    int64_t t_lo, t_hi; /* seconds */
    int lo, hi;
} pack;

static void pack_emit(ingest_ctx *c, pack *p, const char *series)
{
    if (p->text.oom) c->oom = 1;
    if (p->text.n) ing_add_chunk(c, p->text.s, p->text.n, series, p->lo, p->hi, NULL, p->t_lo, p->t_hi);
    p->text.n = 0;
    p->lo = p->hi = 0;
}

static void pack_line(ingest_ctx *c, pack *p, const char *series, strbuf *line, int64_t w_lo, int64_t w_hi, int lo, int hi)
{
    const size_t target = (size_t)c->o.chunk_target;
    if (line->oom) { c->oom = 1; return; }
    size_t n = line->n > target ? utf8_floor(line->s, target) : line->n;
    if (p->text.n && p->text.n + 1 + n > target) pack_emit(c, p, series);
    if (p->text.n) sb_add(&p->text, "\n", 1);
    else p->t_lo = w_lo;
    sb_add(&p->text, line->s, n);
    p->t_hi = w_hi;
    if (!p->lo || lo < p->lo) p->lo = lo;
    if (hi > p->hi) p->hi = hi;
}

/* One series' readings k[0..n), sorted by time. */
static void summarise_series(ingest_ctx *c, const sensor_log *g, const key *k, size_t n)
{
    const mem_reading *r = c->doc->readings;
    const int s = k[0].series;
    const char *name = g->names[s], *unit = g->units[s];
    const int64_t w_ms = (int64_t)c->o.sensor_window_s * 1000;
    const int secs = c->o.sensor_window_s % 60 != 0;
    /* the expected interval: the median of the positive steps */
    int64_t thresh = INT64_MAX;
    int64_t *d = n > 1 ? malloc((n - 1) * sizeof *d) : NULL;
    if (n > 1 && !d) { c->oom = 1; return; }
    size_t nd = 0;
    for (size_t j = 1; j < n; j++)
        if (k[j].t > k[j - 1].t) d[nd++] = k[j].t - k[j - 1].t;
    if (nd) {
        qsort(d, nd, sizeof *d, by_value);
        const int64_t med = d[nd / 2];
        thresh = med > INT64_MAX / GAP_FACTOR ? INT64_MAX : GAP_FACTOR * med;
    }
    free(d);
    pack p = {0};
    strbuf line = {0}, gaps = {0};
    size_t a = 0;
    while (a < n && !c->oom && !c->full) {
        const int64_t w = floor_div(k[a].t, w_ms);
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        int lo = 0, hi = 0, n_gaps = 0;
        size_t b = a;
        gaps.n = 0;
        for (; b < n && floor_div(k[b].t, w_ms) == w; b++) {
            const mem_reading *x = &r[k[b].i];
            const int ln = g->line[k[b].i];
            mn = fmin(mn, x->value), mx = fmax(mx, x->value), sum += x->value;
            if (!lo || ln < lo) lo = ln;
            if (ln > hi) hi = ln;
            if (b + 1 < n && k[b + 1].t - k[b].t > thresh) {
                if (n_gaps++ < GAPS_PER_WINDOW) {
                    sb_adds(&gaps, "; gap ");
                    span(&gaps, k[b].t, k[b + 1].t, secs, 0);
                } else if (n_gaps == GAPS_PER_WINDOW + 1) {
                    sb_adds(&gaps, "; " ELLIPSIS);
                }
            }
        }
        const size_t cnt = b - a;
        line.n = 0;
        sb_printf(&line, "%s ", name);
        span(&line, w * w_ms, (w + 1) * w_ms, secs, 1);
        sb_adds(&line, " UTC: ");
        num(&line, mn);
        sb_adds(&line, EN_DASH);
        num(&line, mx);
        if (*unit) sb_printf(&line, " %s", unit);
        sb_adds(&line, " (mean ");
        mean_num(&line, sum / (double)cnt);
        sb_adds(&line, ", last ");
        num(&line, r[k[b - 1].i].value);
        sb_printf(&line, ", %zu reading%s)", cnt, cnt == 1 ? "" : "s");
        if (gaps.n) sb_add(&line, gaps.s, gaps.n);
        if (gaps.oom) c->oom = 1;
        pack_line(c, &p, name, &line, floor_div(w * w_ms, 1000), floor_div((w + 1) * w_ms, 1000), lo, hi);
        a = b;
    }
    pack_emit(c, &p, name);
    sb_free(&p.text);
    sb_free(&line);
    sb_free(&gaps);
}

void sensor_summarise(ingest_ctx *c, const sensor_log *g)
{
    if (g->n == 0) return;
    key *k = malloc(g->n * sizeof *k);
    if (!k) { c->oom = 1; return; }
    for (size_t i = 0; i < g->n; i++) k[i] = (key){g->series[i], c->doc->readings[i].t_ms, i};
    qsort(k, g->n, sizeof *k, by_series_time);
    for (size_t a = 0, b; a < g->n && !c->oom && !c->full; a = b) {
        for (b = a + 1; b < g->n && k[b].series == k[a].series; b++) {}
        summarise_series(c, g, k + a, b - a);
    }
    free(k);
}
