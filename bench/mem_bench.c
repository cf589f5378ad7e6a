/*
 * mem_bench.c — bench/memory's measuring half: what has to run inside one
 * process against the memory store's API (src/memory/store.h). The Python
 * driver bench/memory builds it (make -C bench build/mem-bench), runs it,
 * and reads the JSON line it prints last.
 *
 *   mem-bench search CHUNKS [QUERIES [DIM]]
 *       Fills a fresh store (temporary folder) with CHUNKS chunks of
 *       pseudo-English (100 chunks a source, ~60 words a chunk: half from
 *       a list of common English words, half from a Zipf-like vocabulary
 *       of made-up words) and a random unit vector each, through
 *       mem_store_put; reopens it (loading the vectors), then times
 *       QUERIES searches of k = 10 in each mode: the int8 scan alone
 *       (i8_dot_rows, the peer), vector, BM25 and hybrid. Queries are 2-5
 *       words: one or two common English words, one made-up word of the
 *       commonest 200 and one or two of any rank, with a precomputed
 *       random unit vector (the query's embedding is not timed); then,
 *       as the worst case, BM25 and hybrid with 2-3 common English words
 *       only ("common" in the JSON); and hybrid with the mixed queries and
 *       a source filter (a path prefix that a tenth of the sources match:
 *       "/bench/001" at 100k chunks), which joins every BM25 match to its
 *       rows.
 *   mem-bench save STORE FILE WORD write|rename TIMEOUT_MS
 *       Opens STORE (which `mote memory watch` keeps up to date), saves a
 *       short Markdown note holding WORD as FILE, written in place or as
 *       a hidden temporary file renamed over FILE (as editors save), then
 *       searches STORE (BM25) for WORD every millisecond: prints
 *       {"found_ms": MS after the save} or null after TIMEOUT_MS.
 *
 * Times are wall clock (CLOCK_MONOTONIC) per call; the JSON has every
 * mode's p50 and p95 in ms.
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

#define K 10            /* hits a search asks for */
#define PER_SOURCE 100  /* chunks a source */
#define WORDS 60        /* words a chunk */
#define VOCAB 20000     /* made-up words */
#define RARE_HEAD 200   /* "somewhat common" made-up words: the first this many */

/* Common English words: about half the words of every chunk. */
static const char *const common[] = {
    "the",  "of",   "and",   "to",    "in",   "is",    "that",  "for",   "it",   "as",    "was",   "with",
    "be",   "by",   "on",    "not",   "this", "are",   "or",    "from",  "at",   "which", "but",   "have",
    "an",   "they", "you",   "were",  "her",  "there", "been",  "one",   "all",  "we",    "their", "has",
    "when", "if",   "so",    "no",    "will", "more",  "out",   "up",    "into", "do",    "any",   "your",
    "what", "some", "can",   "other", "time", "could", "than",  "only",  "two",  "may",   "these", "about",
    "year", "work", "house", "water", "city", "money", "phone", "school", "road", "music", "food",  "night"};
#define N_COMMON (sizeof common / sizeof common[0])

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

static double uniform(uint64_t *s)
{
    return (rng(s) >> 11) / 9007199254740992.0;
}

static float normal(uint64_t *s)
{
    const double u1 = ((rng(s) >> 11) + 1.0) / 9007199254740993.0, u2 = uniform(s);
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

/* Made-up word w: consonant-vowel syllables spelling w (distinct for distinct w). */
static void made_up(char *out, unsigned w)
{
    static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
    int n = 0;
    do {
        out[n++] = cons[w % 14];
        w /= 14;
        out[n++] = vow[w % 5];
        w /= 5;
    } while (w);
    out[n++] = 'x'; /* no made-up word is an English one, nor stems to one */
    out[n] = '\0';
}

/* Zipf-like: squaring a uniform number favours small word numbers. */
static unsigned zipf(uint64_t *s, unsigned n)
{
    const double u = uniform(s);
    return (unsigned)(u * u * n);
}

static void append_word(char *text, uint64_t *s)
{
    char w[32];
    if (rng(s) & 1) snprintf(w, sizeof w, "%s", common[rng(s) % N_COMMON]);
    else made_up(w, zipf(s, VOCAB));
    strcat(text, w);
    strcat(text, " ");
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values. */
static double pct(const double *sorted, int n, double p)
{
    int i = (int)ceil(p / 100 * n) - 1;
    return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void die(const char *what)
{
    fprintf(stderr, "mem-bench: %s: %s\n", what, mote_last_error());
    exit(1);
}

/* ------------------------------------------------------------------------
 * search
 * ---------------------------------------------------------------------- */

static void fill(mem_store *st, int chunks, int dim, uint64_t *s)
{
    float *vecs = malloc((size_t)PER_SOURCE * dim * sizeof *vecs);
    mem_doc d = {.kind = MEM_TEXT, .chunks = calloc(PER_SOURCE, sizeof(mem_chunk))};
    for (int f = 0; f * PER_SOURCE < chunks; f++) {
        char path[64], hex[MEM_HASH_HEX + 1];
        snprintf(path, sizeof path, "/bench/%05d.md", f);
        d.source = path;
        d.n_chunks = chunks - f * PER_SOURCE < PER_SOURCE ? chunks - f * PER_SOURCE : PER_SOURCE;
        for (int c = 0; c < d.n_chunks; c++) {
            char *text = calloc(WORDS, 32);
            for (int w = 0; w < WORDS; w++) append_word(text, s);
            d.chunks[c].text = text;
            d.chunks[c].line_lo = d.chunks[c].line_hi = c + 1;
            unit_vector(vecs + (size_t)c * dim, dim, s);
        }
        mem_hash_bytes(path, strlen(path), hex);
        const mem_source_stamp stamp = {.hash = hex, .size = 1, .mtime = 1};
        if (mem_store_put(st, &d, &stamp, vecs, dim) != MOTE_OK) die("put");
        for (int c = 0; c < d.n_chunks; c++) free(d.chunks[c].text);
    }
    free(vecs);
    free(d.chunks);
}

/* Query i: 2-5 words, common and rare mixed (see the top). */
static void make_query(char *q, size_t cap, uint64_t *s)
{
    char w[32];
    q[0] = '\0';
    const int n_common = 1 + (int)(rng(s) % 2), n_rare = 1 + (int)(rng(s) % 2);
    for (int i = 0; i < n_common; i++) {
        strncat(q, common[rng(s) % N_COMMON], cap - strlen(q) - 2);
        strcat(q, " ");
    }
    made_up(w, (unsigned)(rng(s) % RARE_HEAD));
    strncat(q, w, cap - strlen(q) - 2);
    for (int i = 0; i < n_rare; i++) {
        made_up(w, (unsigned)(rng(s) % VOCAB));
        strcat(q, " ");
        strncat(q, w, cap - strlen(q) - 2);
    }
}

/* 2-3 common English words only. */
static void make_common_query(char *q, size_t cap, uint64_t *s)
{
    q[0] = '\0';
    const int n = 2 + (int)(rng(s) % 2);
    for (int i = 0; i < n; i++) {
        if (i) strcat(q, " ");
        strncat(q, common[rng(s) % N_COMMON], cap - strlen(q) - 2);
    }
}

static int run_search(int argc, char **argv)
{
    const int chunks = argc > 2 ? atoi(argv[2]) : 100000, queries = argc > 3 ? atoi(argv[3]) : 200;
    const int dim = argc > 4 ? atoi(argv[4]) : 384;
    const char *keep = getenv("MEM_BENCH_KEEP"); /* a folder to leave the store in, for a look with sqlite3 */
    if (chunks < 1 || queries < 1 || dim < 1 || dim > I8_DOT_DIM_MAX) {
        fprintf(stderr, "usage: mem-bench search CHUNKS [QUERIES [DIM]]\n");
        return 2;
    }
    char dir[] = "/tmp/mote-bench-mem-XXXXXX";
    if (keep) snprintf(dir, sizeof dir, "%s", keep);
    else if (!mkdtemp(dir)) return 1;
    mem_store *st;
    if (mem_store_open(dir, NULL, &st) != MOTE_OK) die("open");
    uint64_t s = 88172645463325252ull;
    double t0 = now_ms();
    fill(st, chunks, dim, &s);
    const double fill_ms = now_ms() - t0;
    mem_store_close(st);
    t0 = now_ms();
    if (mem_store_open(dir, NULL, &st) != MOTE_OK) die("reopen");
    const double open_ms = now_ms() - t0;
    mem_store_stats stats;
    if (mem_store_status(st, &stats) != MOTE_OK) die("status");

#define N_MODES 7
    static const char *names[N_MODES] = {"scan",        "vector",        "bm25",           "hybrid",
                                         "bm25_common", "hybrid_common", "hybrid_filtered"};
    static const enum mem_search_mode modes[N_MODES] = {MEM_SEARCH_VECTOR, MEM_SEARCH_VECTOR, MEM_SEARCH_BM25,
                                                        MEM_SEARCH_HYBRID, MEM_SEARCH_BM25,   MEM_SEARCH_HYBRID,
                                                        MEM_SEARCH_HYBRID};
    /* sources S/10 .. 2S/10 - 1 of S (exactly for S a power of 10): the leading
     * digits of S/10 as fill's "%05d" spells it */
    const int tenth = (chunks + PER_SOURCE - 1) / PER_SOURCE / 10;
    int digits = 0;
    for (int x = tenth; x >= 10; x /= 10) digits++;
    char num[16], prefix[32];
    snprintf(num, sizeof num, "%05d", tenth);
    snprintf(prefix, sizeof prefix, "/bench/%.*s", 5 - digits, num);
    char(*texts)[160] = malloc((size_t)queries * sizeof *texts);
    char(*ctexts)[160] = malloc((size_t)queries * sizeof *ctexts);
    float *qv = malloc((size_t)queries * dim * sizeof *qv);
    double *t = malloc((size_t)queries * sizeof *t), p50[N_MODES], p95[N_MODES], hits_sum[N_MODES] = {0};
    for (int i = 0; i < queries; i++) {
        make_query(texts[i], sizeof texts[i], &s);
        make_common_query(ctexts[i], sizeof ctexts[i], &s);
        unit_vector(qv + (size_t)i * dim, dim, &s);
    }
    fprintf(stderr, "mem-bench: %lld chunks, e.g. queries \"%s\", \"%s\"; common only \"%s\"\n",
            (long long)stats.n_chunks, texts[0], texts[1], ctexts[0]);
    for (int m = 0; m < N_MODES; m++) {
        for (int i = 0; i < queries; i++) {
            mem_hit hits[K];
            int n = 0;
            const mem_query q = {.mode = modes[m], .text = m == 4 || m == 5 ? ctexts[i] : texts[i],
                                 .vec = qv + (size_t)i * dim, .dim = dim, .kind = -1,
                                 .path_prefix = m == 6 ? prefix : NULL};
            const double a = now_ms();
            if (m == 0) i8_dot_rows(st->vec.q, st->vec.q + (size_t)(i % 64) * dim, st->vec.n, (size_t)dim,
                                    st->vec.dots);
            else if (mem_store_search(st, &q, hits, K, &n) != MOTE_OK) die("search");
            t[i] = now_ms() - a;
            hits_sum[m] += n;
            mem_hits_free(hits, n);
        }
        qsort(t, (size_t)queries, sizeof *t, cmp_double);
        p50[m] = pct(t, queries, 50);
        p95[m] = pct(t, queries, 95);
    }
    printf("{\"chunks\": %lld, \"dim\": %d, \"queries\": %d, \"k\": %d, \"db_mb\": %.1f, \"fill_s\": %.2f, "
           "\"open_ms\": %.1f",
           (long long)stats.n_chunks, dim, queries, K, stats.db_bytes / 1e6, fill_ms / 1e3, open_ms);
    for (int m = 0; m < N_MODES; m++)
        printf(", \"%s\": {\"p50_ms\": %.3f, \"p95_ms\": %.3f, \"hits_mean\": %.2f}", names[m], p50[m], p95[m],
               hits_sum[m] / queries);
    printf("}\n");
    mem_store_close(st);
    free(texts);
    free(ctexts);
    free(qv);
    free(t);
    if (keep) return 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}

/* ------------------------------------------------------------------------
 * save
 * ---------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static int run_save(int argc, char **argv)
{
    if (argc < 7 || (strcmp(argv[5], "write") != 0 && strcmp(argv[5], "rename") != 0)) {
        fprintf(stderr, "usage: mem-bench save STORE FILE WORD write|rename TIMEOUT_MS\n");
        return 2;
    }
    const char *store = argv[2], *file = argv[3], *word = argv[4];
    const double timeout = atof(argv[6]);
    mem_store *st;
    if (mem_store_open(store, NULL, &st) != MOTE_OK) die("open");
    char text[512];
    snprintf(text, sizeof text,
             "# A note saved during the watch benchmark\n\nThe word to find is %s. The rest of the note is a "
             "few ordinary sentences about the garden, the weather and what to buy at the market on Saturday.\n",
             word);
    /* an editor's two ways to save: write in place, or a hidden temporary file renamed over it */
    double t0;
    if (argv[5][0] == 'w') {
        write_file(file, text);
        t0 = now_ms();
    } else {
        char tmp[4096];
        const char *slash = strrchr(file, '/');
        snprintf(tmp, sizeof tmp, "%.*s.%s.tmp", slash ? (int)(slash - file + 1) : 0, file, slash ? slash + 1 : file);
        write_file(tmp, text);
        if (rename(tmp, file) != 0) {
            perror(tmp);
            return 1;
        }
        t0 = now_ms();
    }
    for (;;) {
        mem_hit h[1];
        int n = 0;
        if (mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = word, .kind = -1}, h, 1, &n) !=
            MOTE_OK)
            die("search");
        mem_hits_free(h, n);
        const double t = now_ms() - t0;
        if (n > 0) {
            printf("{\"found_ms\": %.2f}\n", t);
            break;
        }
        if (t > timeout) {
            printf("{\"found_ms\": null}\n");
            break;
        }
        usleep(1000);
    }
    mem_store_close(st);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "search") == 0) return run_search(argc, argv);
    if (argc > 1 && strcmp(argv[1], "save") == 0) return run_save(argc, argv);
    fprintf(stderr, "usage: mem-bench search CHUNKS [QUERIES [DIM]] | save STORE FILE WORD write|rename TIMEOUT_MS\n");
    return 2;
}
