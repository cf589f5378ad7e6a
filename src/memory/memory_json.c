/*
 * memory_json.c — the memory's hits as JSON and its filters from text,
 * as the command line, the server and the MCP tools take and give them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "memory/memory.h"

/* A time for --since/--until: Unix seconds, or an ISO date "2026-11-21",
 * "2026-11-21T14:00", "2026-11-21 14:00:05" (UTC). */
int memory_parse_time(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end && !errno) {
        *out = v;
        return 0;
    }
    struct tm tm = {0};
    int Y, M, D, h = 0, m = 0, sec = 0, n = 0;
    if (sscanf(s, "%d-%d-%d%n", &Y, &M, &D, &n) != 3) return -1;
    const char *rest = s + n;
    if (*rest == 'T' || *rest == ' ') {
        int k = 0;
        if (sscanf(rest + 1, "%d:%d%n", &h, &m, &k) != 2) return -1;
        rest += 1 + k;
        if (*rest == ':' && sscanf(rest + 1, "%d%n", &sec, &k) == 1) rest += 1 + k;
        if (*rest == 'Z') rest++;
    }
    if (*rest || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return -1;
    tm.tm_year = Y - 1900, tm.tm_mon = M - 1, tm.tm_mday = D, tm.tm_hour = h, tm.tm_min = m, tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm);
    return 0;
}

int memory_parse_kind(const char *s, int *out)
{
    for (int k = MEM_TEXT; k <= MEM_SENSOR; k++)
        if (strcmp(s, mem_kind_name((enum mem_kind)k)) == 0) {
            *out = k;
            return 0;
        }
    return -1;
}

cJSON *memory_hit_json(const mem_hit *h, int rank)
{
    char cite[PATH_MAX + 128];
    memory_cite(h, cite, sizeof cite);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rank", rank);
    cJSON_AddNumberToObject(o, "chunk_id", (double)h->chunk_id);
    cJSON_AddNumberToObject(o, "score", h->score);
    cJSON_AddNumberToObject(o, "rank_bm25", h->rank_bm25);
    cJSON_AddNumberToObject(o, "rank_vector", h->rank_vec);
    cJSON_AddStringToObject(o, "citation", cite);
    cJSON_AddStringToObject(o, "source", h->source);
    cJSON_AddStringToObject(o, "kind", mem_kind_name(h->kind));
    if (h->title) cJSON_AddStringToObject(o, "title", h->title);
    if (h->line_lo > 0) {
        cJSON_AddNumberToObject(o, "line_lo", h->line_lo);
        cJSON_AddNumberToObject(o, "line_hi", h->line_hi);
    }
    if (h->msg_id) cJSON_AddStringToObject(o, "message_id", h->msg_id);
    if (h->t_lo) {
        cJSON_AddNumberToObject(o, "t_lo", (double)h->t_lo);
        cJSON_AddNumberToObject(o, "t_hi", (double)h->t_hi);
    }
    cJSON_AddStringToObject(o, "text", h->text);
    return o;
}
