/*
 * mem_store.c — how fast the memory store is at the size issue 13 aims
 * for: FILES sources of CHUNKS chunks each (default 1000 x 100 = 100000
 * chunks of ~60 words, 384-dim vectors), in a fresh store in a temporary
 * folder.
 *
 *   make -C bench build/mem-store && bench/build/mem-store [FILES [CHUNKS [DIM]]]
 *
 * Prints the time to put every source (one transaction each), to open the
 * store again (which loads every vector into memory), and the median
 * latency of a search in each mode for k = 10, over QUERIES queries; and,
 * as the peer in the same run, the int8 scan alone (i8_dot_rows over the
 * same matrix), which the vector mode's latency is measured against.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels/dot_i8.h"
#include "memory/store.h"
#include "memory/store_db.h"

#define QUERIES 50
#define WORDS 60     /* words per chunk */
#define VOCAB 5000   /* distinct words */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static float normal(uint64_t *s)
{
    const double u1 = ((rng(s) >> 11) + 1.0) / 9007199254740993.0, u2 = (rng(s) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

static void unit_vector(float *v, int dim, uint64_t *s)
{
    double n = 0;
    for (int i = 0; i < dim; i++) {
        v[i] = normal(s);
        n += (double)v[i] * v[i];
    }
    for (int i = 0; i < dim; i++) v[i] /= (float)sqrt(n);
}

/* Word w of the vocabulary: "w" + a base-26 spelling (Zipf-ish use below). */
static void word(char *out, unsigned w)
{
    int n = 0;
    out[n++] = 'w';
    do out[n++] = (char)('a' + w % 26), w /= 26;
    while (w);
    out[n] = '\0';
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what)
{
    fprintf(stderr, "mem-store: %s: %s\n", what, mote_last_error());
    exit(1);
}

int main(int argc, char **argv)
{
    const int files = argc > 1 ? atoi(argv[1]) : 1000, chunks = argc > 2 ? atoi(argv[2]) : 100;
    const int dim = argc > 3 ? atoi(argv[3]) : 384;
    if (files < 1 || chunks < 1 || dim < 1 || dim > I8_DOT_DIM_MAX) {
        fprintf(stderr, "usage: mem-store [FILES [CHUNKS [DIM]]]\n");
        return 2;
    }
    char dir[] = "/tmp/mote-bench-mem-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    mem_store *st;
    if (mem_store_open(dir, NULL, &st) != MOTE_OK) die("open");
    uint64_t s = 88172645463325252ull;
    float *vecs = malloc((size_t)chunks * dim * sizeof *vecs);
    char *text = malloc(WORDS * 16);
    mem_doc d = {.kind = MEM_TEXT, .n_chunks = chunks, .chunks = calloc((size_t)chunks, sizeof(mem_chunk))};
    double t0 = now_ms();
    for (int f = 0; f < files; f++) {
        char path[64], hex[MEM_HASH_HEX + 1];
        snprintf(path, sizeof path, "/bench/%d.txt", f);
        d.source = path;
        for (int c = 0; c < chunks; c++) {
            text[0] = '\0';
            for (int w = 0; w < WORDS; w++) {
                char wd[16];
                /* squaring a uniform number favours small word numbers: a few common words, many rare ones */
                const double u = (rng(&s) >> 11) / 9007199254740992.0;
                word(wd, (unsigned)(u * u * VOCAB));
                strcat(text, wd);
                strcat(text, " ");
            }
            d.chunks[c].text = strdup(text);
            unit_vector(vecs + (size_t)c * dim, dim, &s);
        }
        mem_hash_bytes(path, strlen(path), hex);
        const mem_source_stamp stamp = {.hash = hex, .size = 1, .mtime = 1};
        if (mem_store_put(st, &d, &stamp, vecs, dim) != MOTE_OK) die("put");
        for (int c = 0; c < chunks; c++) free(d.chunks[c].text);
    }
    const double put_ms = now_ms() - t0;
    mem_store_close(st);
    t0 = now_ms();
    if (mem_store_open(dir, NULL, &st) != MOTE_OK) die("reopen");
    const double open_ms = now_ms() - t0;
    mem_store_stats stats;
    mem_store_status(st, &stats);

    printf("memory store: %d sources x %d chunks = %lld chunks, %d dims; database %.1f MB\n", files, chunks,
           (long long)stats.n_chunks, dim, stats.db_bytes / 1e6);
    printf("put all: %.0f ms (%.0f chunks/s); open (load vectors): %.0f ms\n", put_ms,
           stats.n_chunks / (put_ms / 1e3), open_ms);

    static const char *names[] = {"bm25", "vector", "hybrid"};
    static const enum mem_search_mode modes[] = {MEM_SEARCH_BM25, MEM_SEARCH_VECTOR, MEM_SEARCH_HYBRID};
    float *qv = malloc((size_t)dim * sizeof *qv);
    double t[QUERIES], scan_med;
    for (int i = 0; i < QUERIES; i++) { /* the peer: the scan alone */
        const double a = now_ms();
        i8_dot_rows(st->vec.q, st->vec.q, st->vec.n, (size_t)dim, st->vec.dots);
        t[i] = now_ms() - a;
    }
    qsort(t, QUERIES, sizeof *t, cmp_double);
    scan_med = t[QUERIES / 2];
    printf("%-8s %10s %10s\n", "search", "median ms", "vs scan");
    printf("%-8s %10.2f %10.2f\n", "(scan)", scan_med, 1.0);
    for (int m = 0; m < 3; m++) {
        for (int i = 0; i < QUERIES; i++) {
            char q[64], w1[16], w2[16];
            word(w1, (unsigned)(rng(&s) % VOCAB));
            word(w2, (unsigned)(rng(&s) % 200));
            snprintf(q, sizeof q, "%s %s", w1, w2);
            unit_vector(qv, dim, &s);
            mem_hit hits[10];
            int n;
            const double a = now_ms();
            if (mem_store_search(st, &(mem_query){.mode = modes[m], .text = q, .vec = qv, .dim = dim, .kind = -1},
                                 hits, 10, &n) != MOTE_OK)
                die("search");
            t[i] = now_ms() - a;
            mem_hits_free(hits, n);
        }
        qsort(t, QUERIES, sizeof *t, cmp_double);
        printf("%-8s %10.2f %10.2f\n", names[m], t[QUERIES / 2], t[QUERIES / 2] / scan_med);
    }
    mem_store_close(st);
    free(vecs);
    free(text);
    free(d.chunks);
    free(qv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}
