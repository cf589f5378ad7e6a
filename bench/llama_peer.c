/*
 * llama_peer.c — time llama.cpp's prompt processing and generation the way
 * llama-bench does, with the same options and JSON shape as `mote bench`.
 *
 * Built by bench/Makefile against the libllama shipped in the npm package
 * @node-llama-cpp/linux-x64 (installed by bench/llama-setup). Only the
 * compute is timed:
 *   ppN  decode N random tokens in batches of up to 2048 (ubatch 512),
 *        then synchronize;                           t/s = N / seconds
 *   tgN  decode N single tokens one after the other;  t/s = N / seconds
 * Each test starts from an empty KV cache, or from one holding DEPTH random
 * tokens (-d) that are decoded untimed. Before the timed runs comes one
 * warmup run (the full prompt for pp, one token for tg), as in llama-bench.
 * The CPU backend runs on a ggml thread pool (poll 50) attached to the
 * context, as llama-bench does; without one ggml would start threads anew
 * for every graph.
 * Each timed run also reports its CPU seconds (user + sys of the process,
 * all threads) and, where the RAPL counters read, its package joules, per
 * token, measured as `mote bench` measures them (src/cli/energy.c, built in).
 *
 * Usage: llama-peer -m FILE [-p 512] [-n 128] [-t 2] [-r 5] [-d 0]
 *                   [-o json|text] [--no-warmup] [--cpu-variant NAME] [-v]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/energy.h"
#include "llama.h"

/* ---------------------------------------------------------------- options */

typedef struct {
    const char *model;   /* GGUF file */
    int n_prompt;        /* tokens of the pp test (0: no pp test) */
    int n_gen;           /* tokens of the tg test (0: no tg test) */
    int n_threads;       /* threads for both tests */
    int reps;            /* timed repetitions per test */
    int depth;           /* tokens already in the KV cache when a test starts */
    int json;            /* 1: one JSON object on stdout; 0: a text table */
    int warmup;          /* 1: one untimed run before the timed ones */
    const char *variant; /* force libggml-cpu-<variant>.so; NULL: best for CPU */
    int verbose;         /* 1: keep llama.cpp's log on stderr */
} options;

enum { BATCH = 2048, UBATCH = 512, POLL = 50, MAX_REPS = 1000 };

static void usage(FILE *f) {
    fprintf(f, "usage: llama-peer -m FILE [-p N] [-n N] [-t N] [-r N] [-d N] [-o json|text]\n"
               "                  [--no-warmup] [--cpu-variant NAME] [-v]\n");
}

static int parse_int(const char *s, int lo, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < lo || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

static int parse_options(int argc, char **argv, options *o) {
    *o = (options){.n_prompt = 512, .n_gen = 128, .n_threads = 2, .reps = 5, .warmup = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *num = NULL, lo = 0;
        if (!strcmp(a, "--no-warmup")) { o->warmup = 0; continue; }
        if (!strcmp(a, "-v")) { o->verbose = 1; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
        if (!v) { fprintf(stderr, "llama-peer: %s needs a value\n", a); return -1; }
        if (!strcmp(a, "-m")) o->model = v;
        else if (!strcmp(a, "--cpu-variant")) o->variant = v;
        else if (!strcmp(a, "-o")) {
            if (strcmp(v, "json") && strcmp(v, "text")) { fprintf(stderr, "llama-peer: -o json|text\n"); return -1; }
            o->json = !strcmp(v, "json");
        }
        else if (!strcmp(a, "-p")) num = &o->n_prompt;
        else if (!strcmp(a, "-n")) num = &o->n_gen;
        else if (!strcmp(a, "-t")) { num = &o->n_threads; lo = 1; }
        else if (!strcmp(a, "-r")) { num = &o->reps; lo = 1; }
        else if (!strcmp(a, "-d")) num = &o->depth;
        else { fprintf(stderr, "llama-peer: unknown option %s\n", a); usage(stderr); return -1; }
        if (num && parse_int(v, lo, num)) { fprintf(stderr, "llama-peer: bad value for %s: %s\n", a, v); return -1; }
        i++;
    }
    if (!o->model) { usage(stderr); return -1; }
    if (o->reps > MAX_REPS) { fprintf(stderr, "llama-peer: at most %d repetitions\n", MAX_REPS); return -1; }
    return 0;
}

/* ----------------------------------------------------------------- timing */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One test's results: tokens/s of each timed run. */
typedef struct {
    char name[32];          /* "pp512", "tg128" */
    int n_tokens;           /* tokens timed per run */
    double ts[MAX_REPS];    /* tokens/s per repetition, in run order */
    double cpu[MAX_REPS];   /* CPU seconds per token, per repetition */
    double joules[MAX_REPS];/* joules per token, per repetition; < 0 unknown */
    int n;                  /* repetitions done */
} test_result;

static double median(const double *v, int n) {
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static void min_max(const double *v, int n, double *lo, double *hi) {
    *lo = *hi = v[0];
    for (int k = 1; k < n; k++) {
        if (v[k] < *lo) *lo = v[k];
        if (v[k] > *hi) *hi = v[k];
    }
}

/* --------------------------------------------------------- running llama */

/* Deterministic token stream (llama-bench uses rand(); any ids will do). */
static uint32_t rng_state = 12345;
static llama_token random_token(int n_vocab) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (llama_token)((rng_state >> 8) % (uint32_t)n_vocab);
}

/* Decode n tokens at the end of the cache in batches of up to BATCH; the
 * very first token of an empty cache is BOS when the model adds one. */
static int decode_tokens(struct llama_context *ctx, int n, int at_start) {
    const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
    int n_vocab = llama_vocab_n_tokens(vocab);
    static llama_token tok[BATCH];
    for (int done = 0; done < n;) {
        int k = n - done < BATCH ? n - done : BATCH;
        for (int i = 0; i < k; i++) tok[i] = random_token(n_vocab);
        if (at_start && done == 0 && llama_vocab_get_add_bos(vocab)) tok[0] = llama_vocab_bos(vocab);
        if (llama_decode(ctx, llama_batch_get_one(tok, k)) != 0) return -1;
        done += k;
    }
    llama_synchronize(ctx);
    return 0;
}

/* Generation: one token per decode, each fed the previous "output". */
static int decode_one_by_one(struct llama_context *ctx, int n, int at_start) {
    const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
    int n_vocab = llama_vocab_n_tokens(vocab);
    llama_token tok = at_start && llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : random_token(n_vocab);
    for (int i = 0; i < n; i++) {
        if (llama_decode(ctx, llama_batch_get_one(&tok, 1)) != 0) return -1;
        llama_synchronize(ctx);
        tok = random_token(n_vocab);
    }
    return 0;
}

/* Bring the cache to exactly `depth` tokens: clear it and refill, or keep
 * the prefix computed by an earlier call (same contents every time). */
static int reset_to_depth(struct llama_context *ctx, int depth, int *have_depth) {
    llama_memory_t mem = llama_get_memory(ctx);
    if (depth > 0 && *have_depth) return llama_memory_seq_rm(mem, 0, depth, -1) ? 0 : -1;
    llama_memory_clear(mem, true);
    if (depth == 0) return 0;
    if (decode_tokens(ctx, depth, 1)) return -1;
    *have_depth = 1;
    return 0;
}

/* One test (pp if is_gen == 0, tg otherwise): warmup, then o->reps runs. */
static int run_test(struct llama_context *ctx, const options *o, const energy_meter *m, int is_gen,
                    test_result *r) {
    int n = is_gen ? o->n_gen : o->n_prompt;
    int have_depth = 0;
    snprintf(r->name, sizeof r->name, "%s%d", is_gen ? "tg" : "pp", n);
    r->n_tokens = n;
    r->n = 0;
    for (int i = o->warmup ? -1 : 0; i < o->reps; i++) {
        if (reset_to_depth(ctx, o->depth, &have_depth)) return -1;
        int at_start = o->depth == 0;
        energy_sample e0, e1;
        energy_take(m, &e0);
        double t0 = now_s();
        int rc = is_gen ? decode_one_by_one(ctx, i < 0 ? 1 : n, at_start) : decode_tokens(ctx, n, at_start);
        double dt = now_s() - t0;
        energy_take(m, &e1);
        if (rc) return -1;
        if (i < 0) continue;
        double j = energy_joules(m, &e0, &e1);
        r->cpu[r->n] = energy_cpu_s(&e0, &e1) / n;
        r->joules[r->n] = j < 0 ? -1.0 : j / n;
        r->ts[r->n++] = (double)n / dt;
    }
    return 0;
}

/* ------------------------------------------------------------ environment */

/* Which libggml-cpu-*.so got mapped into this process. */
static void loaded_cpu_variant(char *out, size_t size) {
    snprintf(out, size, "?");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "libggml-cpu-");
        if (!p) continue;
        size_t len = strcspn(p, "\n");
        snprintf(out, size, "%.*s", (int)len, p);
        break;
    }
    fclose(f);
}

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/* -------------------------------------------------------------------- main */

/* "key": {median, min, max, samples} of v[0..n), or null when n == 0. */
static void json_series(const char *key, const double *v, int n) {
    printf("  \"%s\": ", key);
    if (n == 0) {
        printf("null,\n");
        return;
    }
    double lo, hi;
    min_max(v, n, &lo, &hi);
    printf("{\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"samples\": [", median(v, n), lo, hi);
    for (int k = 0; k < n; k++) printf(k ? ", %.6g" : "%.6g", v[k]);
    printf("]},\n");
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(argc, argv, &o)) return 2;
    if (!o.verbose) llama_log_set(quiet_log, NULL);

    /* The CPU backend variants live beside libllama: the best one for this
     * CPU is loaded (ggml scores each against cpuid), or the one asked for. */
    const char *libdir = getenv("LLAMA_PEER_LIBDIR");
    if (!libdir) libdir = LLAMA_LIBDIR;
    if (o.variant) {
        char path[4096];
        snprintf(path, sizeof path, "%s/libggml-cpu-%s.so", libdir, o.variant);
        if (!ggml_backend_load(path)) { fprintf(stderr, "llama-peer: cannot load %s\n", path); return 1; }
    } else {
        ggml_backend_load_all_from_path(libdir);
    }
    llama_backend_init();

    ggml_backend_dev_t cpu_dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!cpu_dev) { fprintf(stderr, "llama-peer: no CPU backend in %s\n", libdir); return 1; }
    ggml_backend_reg_t cpu_reg = ggml_backend_dev_backend_reg(cpu_dev);
    typedef struct ggml_threadpool *(*tp_new_fn)(struct ggml_threadpool_params *);
    typedef void (*tp_free_fn)(struct ggml_threadpool *);
    tp_new_fn tp_new = (tp_new_fn)ggml_backend_reg_get_proc_address(cpu_reg, "ggml_threadpool_new");
    tp_free_fn tp_free = (tp_free_fn)ggml_backend_reg_get_proc_address(cpu_reg, "ggml_threadpool_free");
    if (!tp_new || !tp_free) { fprintf(stderr, "llama-peer: CPU backend has no thread pool\n"); return 1; }

    double t0 = now_s();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(o.model, mp);
    if (!model) { fprintf(stderr, "llama-peer: cannot load model %s\n", o.model); return 1; }

    struct llama_context_params cp = llama_context_default_params();
    int longest = o.n_prompt > o.n_gen ? o.n_prompt : o.n_gen;
    cp.n_ctx = (uint32_t)(o.depth + longest);
    cp.n_batch = BATCH;
    cp.n_ubatch = UBATCH;
    cp.n_threads = cp.n_threads_batch = o.n_threads;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "llama-peer: cannot create a context\n"); return 1; }
    double load_s = now_s() - t0;

    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(o.n_threads);
    tpp.poll = POLL;
    struct ggml_threadpool *tp = tp_new(&tpp);
    if (!tp) { fprintf(stderr, "llama-peer: cannot start %d threads\n", o.n_threads); return 1; }
    llama_attach_threadpool(ctx, tp, NULL);

    static energy_meter meter;
    energy_open(&meter, NULL);
    static test_result res[2]; /* [0] pp, [1] tg; n == 0: not run */
    for (int is_gen = 0; is_gen < 2; is_gen++) {
        if ((is_gen ? o.n_gen : o.n_prompt) == 0) continue;
        if (run_test(ctx, &o, &meter, is_gen, &res[is_gen])) {
            fprintf(stderr, "llama-peer: decode failed (%s test)\n", is_gen ? "tg" : "pp");
            return 1;
        }
    }
    const char *no_energy = energy_why_not(&meter, res[0].joules, res[0].n);
    if (!no_energy) no_energy = energy_why_not(&meter, res[1].joules, res[1].n);

    char variant[512], desc[256];
    loaded_cpu_variant(variant, sizeof variant);
    llama_model_desc(model, desc, sizeof desc);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long long peak_rss = (long long)ru.ru_maxrss * 1024;

    if (o.json) {
        /* The keys of `mote bench -o json`, plus what identifies llama.cpp. */
        printf("{\n  \"engine\": \"llama.cpp\",\n  \"version\": ");
        json_string(LLAMA_VERSION);
        printf(",\n  \"cpu_backend\": ");
        json_string(variant);
        printf(",\n  \"system_info\": ");
        json_string(llama_print_system_info());
        printf(",\n  \"model\": ");
        json_string(o.model);
        printf(",\n  \"model_desc\": ");
        json_string(desc);
        printf(",\n  \"size_bytes\": %llu,\n  \"n_params\": %llu,\n",
               (unsigned long long)llama_model_size(model), (unsigned long long)llama_model_n_params(model));
        printf("  \"n_threads\": %d,\n  \"n_prompt\": %d,\n  \"n_gen\": %d,\n  \"depth\": %d,\n"
               "  \"repetitions\": %d,\n",
               o.n_threads, o.n_prompt, o.n_gen, o.depth, o.reps);
        json_series("pp_tps", res[0].ts, res[0].n);
        json_series("tg_tps", res[1].ts, res[1].n);
        json_series("pp_cpu_s_per_token", res[0].cpu, res[0].n);
        json_series("tg_cpu_s_per_token", res[1].cpu, res[1].n);
        json_series("pp_j_per_token", res[0].joules, no_energy ? 0 : res[0].n);
        json_series("tg_j_per_token", res[1].joules, no_energy ? 0 : res[1].n);
        printf("  \"cpu_time\": \"user + sys of the process, all threads (getrusage)\",\n");
        if (no_energy) {
            printf("  \"energy\": {\"available\": false, \"reason\": ");
            json_string(no_energy);
        } else {
            printf("  \"energy\": {\"available\": true, \"domains\": ");
            json_string(meter.what);
            printf(", \"scope\": \"whole package: other processes count too\"");
        }
        printf("},\n");
        printf("  \"load_s\": %.6g,\n  \"peak_rss_bytes\": %lld\n}\n", load_s, peak_rss);
    } else {
        printf("llama.cpp %s, CPU backend %s, %d threads\n", LLAMA_VERSION, variant, o.n_threads);
        printf("model %s (%s), load %.1f ms, peak RSS %.1f MiB\n", o.model, desc, load_s * 1e3,
               (double)peak_rss / (1 << 20));
        printf("%-8s %12s %12s %12s %12s %10s\n", "test", "median t/s", "min t/s", "max t/s", "CPU ms/tok",
               "J/tok");
        for (int i = 0; i < 2; i++) {
            const test_result *r = &res[i];
            if (r->n == 0) continue;
            double lo, hi;
            min_max(r->ts, r->n, &lo, &hi);
            printf("%-8s %12.2f %12.2f %12.2f %12.4g", r->name, median(r->ts, r->n), lo, hi,
                   median(r->cpu, r->n) * 1e3);
            if (no_energy) printf(" %10s", "-");
            else printf(" %10.4g", median(r->joules, r->n));
            if (o.depth) printf("   (at depth %d)", o.depth);
            printf("\n");
        }
        printf("per token: CPU time is user + sys of the process (all threads); ");
        if (no_energy) printf("energy: not available (%s)\n", no_energy);
        else printf("energy: RAPL %s, the whole package (other processes too)\n", meter.what);
    }

    llama_free(ctx);
    tp_free(tp);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
