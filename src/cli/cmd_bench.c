/*
 * cmd_bench.c — `mote bench`: prompt and generation speed of a model, the
 * way llama.cpp's llama-bench measures them.
 *
 *   - load: mote_model_open + mote_session_create;
 *   - time to first token: load, then a TTFT_PROMPT-token prompt evaluated
 *     from an empty cache and the first token picked (greedy argmax) —
 *     the very first evaluation, so it pays for faulting the weights in;
 *   - warm-up (not counted): a prompt of up to WARMUP_PROMPT tokens and one
 *     generated token, as llama-bench does;
 *   - then -r repetitions of: pp, p random valid token ids evaluated as one
 *     batch on top of DEPTH cached tokens; tg, n tokens evaluated one at a
 *     time on top of the same DEPTH tokens, each the greedy argmax of the
 *     previous logits. Only the evaluation calls are timed (the argmax is
 *     not), so tg matches llama-bench's, which does not sample;
 *   - CPU time per token: user + sys time of the process (all its threads,
 *     getrusage) over each pp run and each tg run (the loop of n
 *     evaluations, whose untimed argmax is a fraction of a percent of it),
 *     divided by its tokens;
 *   - energy per token: the same, in joules of the RAPL package counters
 *     (powercap) where they read, which count the whole package, other
 *     processes included (cli/energy.h); else a reason why not;
 *   - peak RSS: VmHWM of /proc/self/status at the end.
 *
 * Speeds are reported as the median, minimum and maximum tokens/s over the
 * repetitions, as a markdown table (-o md) or a JSON object (-o json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/energy.h"

#define TTFT_PROMPT 16   /* prompt tokens for the time to first token */
#define WARMUP_PROMPT 32 /* most prompt tokens of the warm-up */
#define TOKEN_SEED 0x6d6f7465ull /* random token ids: the same every run */

typedef struct bench_opts {
    const char *model;  /* -m */
    int n_prompt;       /* -p */
    int n_gen;          /* -n */
    int n_threads;      /* -t */
    int reps;           /* -r */
    int depth;          /* -d */
    const char *format; /* -o: "md" or "json" */
    int kv_ctx;         /* -c: context for the KV cache size reported; 0: 4096 */
    mote_tune_state tune; /* the tuning profile used */
} bench_opts;

/* What was measured. */
typedef struct bench_result {
    double load_s;      /* open + session create */
    double ttft_s;      /* load + TTFT_PROMPT prompt + first token */
    double *pp_tps;     /* (reps) prompt tokens/s */
    double *tg_tps;     /* (reps) generated tokens/s */
    double *pp_cpu;     /* (reps) CPU seconds per prompt token */
    double *tg_cpu;     /* (reps) CPU seconds per generated token */
    double *pp_j;       /* (reps) joules per prompt token; < 0 unknown */
    double *tg_j;       /* (reps) joules per generated token; < 0 unknown */
    energy_meter meter; /* the RAPL domains read, or why none */
    const char *no_energy; /* NULL: joules measured; else why not */
    uint64_t peak_rss;  /* bytes, 0 if unknown */
    uint64_t kv_bytes;  /* F16 KV cache of one sequence of kv_ctx positions */
    int kv_ctx;
} bench_result;

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static mote_token random_token(uint64_t *s, int n_vocab)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (mote_token)((*s >> 33) % (uint64_t)n_vocab);
}

static mote_token argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Peak resident set size (VmHWM), bytes; 0 where /proc is unavailable. */
static uint64_t peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, minimum and maximum of v[0..n) (n >= 1). */
static void summarize(const double *v, int n, double *med, double *lo, double *hi)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) {
        *med = *lo = *hi = v[0];
        return;
    }
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    *lo = s[0];
    *hi = s[n - 1];
    free(s);
}

static double median(const double *v, int n)
{
    double med, lo, hi;
    summarize(v, n, &med, &lo, &hi);
    return med;
}

/* ------------------------------------------------------------------------
 * Measuring
 * ---------------------------------------------------------------------- */

/* Evaluate n random tokens (not timed), e.g. to fill the cache to DEPTH. */
static int eval_random(mote_session *s, int n, int n_vocab, uint64_t *rng, mote_token *buf)
{
    for (int i = 0; i < n; i++) buf[i] = random_token(rng, n_vocab);
    if (n > 0 && mote_session_eval(s, buf, n, 0) != MOTE_OK) return cli_lib_error();
    return 0;
}

/* What one run of n tokens cost per token, from samples a and b. */
static void cost_per_token(const energy_meter *m, const energy_sample *a, const energy_sample *b, int n,
                           double *cpu, double *joules)
{
    double j = energy_joules(m, a, b);
    *cpu = energy_cpu_s(a, b) / n;
    *joules = j < 0 ? -1.0 : j / n;
}

/* One pp run: n random tokens as one batch; *tps = tokens/s, and its CPU
 * seconds and joules per token. */
static int run_pp(mote_session *s, int n, int n_vocab, uint64_t *rng, mote_token *buf,
                  const energy_meter *m, double *tps, double *cpu, double *joules)
{
    for (int i = 0; i < n; i++) buf[i] = random_token(rng, n_vocab);
    energy_sample a, b;
    energy_take(m, &a);
    double t0 = cli_now();
    if (mote_session_eval(s, buf, n, 0) != MOTE_OK) return cli_lib_error();
    *tps = n / (cli_now() - t0);
    energy_take(m, &b);
    cost_per_token(m, &a, &b, n, cpu, joules);
    return 0;
}

/* One tg run: n tokens one at a time, each the argmax of the last logits;
 * the cost per token is of the whole loop. */
static int run_tg(mote_session *s, int n, int n_vocab, uint64_t *rng, const energy_meter *m,
                  double *tps, double *cpu, double *joules)
{
    mote_token t = random_token(rng, n_vocab);
    double secs = 0.0;
    energy_sample a, b;
    energy_take(m, &a);
    for (int i = 0; i < n; i++) {
        double t0 = cli_now();
        if (mote_session_eval(s, &t, 1, 0) != MOTE_OK) return cli_lib_error();
        secs += cli_now() - t0;
        t = argmax(mote_session_logits(s, -1), n_vocab);
    }
    energy_take(m, &b);
    *tps = n / secs;
    cost_per_token(m, &a, &b, n, cpu, joules);
    return 0;
}

/* The session's progress: shown while the cache fills to -d (a long
 * evaluation), never during the timed runs; Ctrl-C cancels any of them. */
typedef struct fill_progress {
    cli_progress shown;
    int filling;
} fill_progress;

static int on_progress(void *user, uint64_t done, uint64_t total)
{
    fill_progress *f = user;
    return f->filling ? cli_progress_fn(&f->shown, done, total) : cli_interrupted();
}

static int measure(const bench_opts *o, mote_model **model, bench_result *r)
{
    const int p = o->n_prompt, n = o->n_gen, d = o->depth;
    int longest = p > n ? p : n;
    if (longest < TTFT_PROMPT) longest = TTFT_PROMPT;

    double t0 = cli_now();
    if (cli_open_model(o->model, 0, model) != 0) return EXIT_LIB;
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = d + longest + 1;
    sp.n_batch = p > TTFT_PROMPT ? p : TTFT_PROMPT; /* pp is one batch */
    sp.n_threads = o->n_threads;
    fill_progress fill = {0};
    cli_progress_init(&fill.shown, "filling the cache to -d");
    sp.progress = on_progress;
    sp.progress_user = &fill;
    mote_session *s = NULL;
    if (mote_session_create(*model, &sp, &s) != MOTE_OK) return cli_lib_error();
    r->load_s = cli_now() - t0;
    mote_session_params kp = mote_session_default_params();
    kp.n_ctx = r->kv_ctx = o->kv_ctx ? o->kv_ctx : 4096;
    if (mote_session_kv_bytes(*model, &kp, &r->kv_bytes) != MOTE_OK) {
        mote_session_free(s);
        return cli_lib_error();
    }

    int rc = 0, n_vocab = mote_vocab_size(*model);
    uint64_t rng = TOKEN_SEED;
    size_t buf_n = (size_t)(d > longest ? d : longest);
    mote_token *buf = malloc(buf_n * sizeof *buf);
    if (!buf) rc = cli_error("out of memory");

    /* Time to first token, on the first evaluation of the process. */
    if (rc == 0) {
        for (int i = 0; i < TTFT_PROMPT; i++) buf[i] = random_token(&rng, n_vocab);
        if (mote_token_bos(*model) >= 0) buf[0] = mote_token_bos(*model);
        double t1 = cli_now();
        if (mote_session_eval(s, buf, TTFT_PROMPT, 0) != MOTE_OK) rc = cli_lib_error();
        else (void)argmax(mote_session_logits(s, -1), n_vocab);
        r->ttft_s = r->load_s + (cli_now() - t1);
    }
    /* Warm-up, then the cache is filled to DEPTH once and cut back to it. */
    if (rc == 0 && mote_session_truncate(s, 0) != MOTE_OK) rc = cli_lib_error();
    if (rc == 0) rc = eval_random(s, p < WARMUP_PROMPT ? p : WARMUP_PROMPT, n_vocab, &rng, buf);
    if (rc == 0) rc = eval_random(s, 1, n_vocab, &rng, buf);
    if (rc == 0 && mote_session_truncate(s, 0) != MOTE_OK) rc = cli_lib_error();
    fill.filling = 1;
    if (rc == 0) rc = eval_random(s, d, n_vocab, &rng, buf);
    fill.filling = 0;

    for (int rep = 0; rc == 0 && rep < o->reps; rep++) {
        if (p > 0 && mote_session_truncate(s, d) != MOTE_OK) rc = cli_lib_error();
        if (rc == 0 && p > 0)
            rc = run_pp(s, p, n_vocab, &rng, buf, &r->meter, &r->pp_tps[rep], &r->pp_cpu[rep], &r->pp_j[rep]);
        if (rc == 0 && n > 0 && mote_session_truncate(s, d) != MOTE_OK) rc = cli_lib_error();
        if (rc == 0 && n > 0)
            rc = run_tg(s, n, n_vocab, &rng, &r->meter, &r->tg_tps[rep], &r->tg_cpu[rep], &r->tg_j[rep]);
        if (rc == 0) {
            fprintf(stderr, "bench: run %d/%d:", rep + 1, o->reps);
            if (p > 0) fprintf(stderr, " pp%d %.2f t/s", p, r->pp_tps[rep]);
            if (n > 0) fprintf(stderr, " tg%d %.2f t/s", n, r->tg_tps[rep]);
            fputc('\n', stderr);
        }
    }
    free(buf);
    mote_session_free(s);
    r->peak_rss = peak_rss_bytes();
    return rc;
}

/* Whether the joules of the runs stand: r->no_energy stays NULL, or says
 * why not. */
static void check_energy(const bench_opts *o, bench_result *r)
{
    r->no_energy = energy_why_not(&r->meter, r->pp_j, o->n_prompt > 0 ? o->reps : 0);
    if (!r->no_energy) r->no_energy = energy_why_not(&r->meter, r->tg_j, o->n_gen > 0 ? o->reps : 0);
}

/* ------------------------------------------------------------------------
 * Reports
 * ---------------------------------------------------------------------- */

/* What the per-token costs are, or why there are no joules: one line. */
static void print_cost_note(const bench_result *r)
{
    printf("per token: CPU time is user + sys of the process (all threads); ");
    if (r->no_energy) printf("energy: not available (%s)\n", r->no_energy);
    else printf("energy: RAPL %s, the whole package (other processes too)\n", r->meter.what);
}

static void test_name(char *buf, size_t cap, const char *kind, int n, int depth)
{
    if (depth > 0) snprintf(buf, cap, "%s%d @ d%d", kind, n, depth);
    else snprintf(buf, cap, "%s%d", kind, n);
}

static void print_md(const bench_opts *o, const mote_model *m, const bench_result *r)
{
    mote_model_info info;
    mote_model_get_info(m, &info);
    char label[96], size[32], params[32], test[48];
    char ft_buf[32];
    const char *ft = cli_file_type(m, ft_buf, sizeof ft_buf, NULL);
    char arch[48];
    cli_escape(info.arch, arch, sizeof arch); /* text from the file: no control bytes */
    snprintf(label, sizeof label, "%s%s%s", arch, ft ? " " : "", ft ? ft : "");
    cli_human_bytes(info.weight_bytes, size, sizeof size);
    cli_human_count(info.n_params, params, sizeof params);
    printf("| %-24s | %12s | %10s | %7s | %16s | %32s | %12s | %10s |\n", "model", "size", "params",
           "threads", "test", "t/s median (min .. max)", "CPU ms/token", "J/token");
    printf("| %-24s | %12s | %10s | %7s | %16s | %32s | %12s | %10s |\n", "------------------------",
           "-----------:", "---------:", "------:", "---------------:",
           "-------------------------------:", "-----------:", "---------:");
    for (int k = 0; k < 2; k++) {
        const double *v = k == 0 ? r->pp_tps : r->tg_tps;
        int n = k == 0 ? o->n_prompt : o->n_gen;
        if (n == 0) continue;
        double med, lo, hi;
        summarize(v, o->reps, &med, &lo, &hi);
        double cpu = median(k == 0 ? r->pp_cpu : r->tg_cpu, o->reps);
        double joules = median(k == 0 ? r->pp_j : r->tg_j, o->reps);
        char cell[64], jcell[32];
        snprintf(cell, sizeof cell, "%.2f (%.2f .. %.2f)", med, lo, hi);
        if (r->no_energy) snprintf(jcell, sizeof jcell, "-");
        else snprintf(jcell, sizeof jcell, "%.4g", joules);
        test_name(test, sizeof test, k == 0 ? "pp" : "tg", n, o->depth);
        printf("| %-24s | %12s | %10s | %7d | %16s | %32s | %12.4g | %10s |\n", label, size, params,
               o->n_threads, test, cell, cpu * 1e3, jcell);
    }
    char rss[32], kv[32];
    cli_human_bytes(r->peak_rss, rss, sizeof rss);
    cli_human_bytes(r->kv_bytes, kv, sizeof kv);
    printf("\nload %.1f ms, time to first token %.1f ms (%d-token prompt), peak RSS %s\n",
           r->load_s * 1e3, r->ttft_s * 1e3, TTFT_PROMPT, rss);
    printf("KV cache (F16) at %d positions: %s\n", r->kv_ctx, kv);
    print_cost_note(r);
    char tune[1200];
    cli_tune_describe(&o->tune, tune, sizeof tune);
    printf("tuning: %s\n", tune);
    printf("%d run%s after a warm-up", o->reps, o->reps == 1 ? "" : "s");
    if (o->n_prompt > 0) printf("; pp: one batch of random ids");
    if (o->n_gen > 0) printf("; tg: one token per eval, next = greedy argmax (not timed)");
    putchar('\n');
}

/* A JSON string (the text made valid UTF-8 first). */
static void json_str(const char *s)
{
    size_t len;
    char *u = cli_utf8_sanitize(s, strlen(s), &len);
    putchar('"');
    for (size_t i = 0; u && i < len; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
    free(u);
}

static void json_series(const char *key, const double *v, int n, int reps)
{
    printf("  \"%s\": ", key);
    if (n == 0) {
        printf("null,\n");
        return;
    }
    double med, lo, hi;
    summarize(v, reps, &med, &lo, &hi);
    printf("{\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"samples\": [", med, lo, hi);
    for (int i = 0; i < reps; i++) printf(i ? ", %.6g" : "%.6g", v[i]);
    printf("]},\n");
}

static void print_json(const bench_opts *o, const mote_model *m, const bench_result *r)
{
    mote_model_info info;
    mote_model_get_info(m, &info);
    printf("{\n  \"model\": ");
    json_str(o->model);
    printf(",\n  \"arch\": ");
    json_str(info.arch);
    char ft_buf[32];
    const char *ft = cli_file_type(m, ft_buf, sizeof ft_buf, NULL);
    printf(",\n  \"ftype\": ");
    if (ft) json_str(ft);
    else printf("null");
    printf(",\n");
    printf("  \"size_bytes\": %llu,\n  \"n_params\": %lld,\n", (unsigned long long)info.weight_bytes,
           (long long)info.n_params);
    printf("  \"n_threads\": %d,\n  \"n_prompt\": %d,\n  \"n_gen\": %d,\n  \"depth\": %d,\n"
           "  \"repetitions\": %d,\n",
           o->n_threads, o->n_prompt, o->n_gen, o->depth, o->reps);
    json_series("pp_tps", r->pp_tps, o->n_prompt, o->reps);
    json_series("tg_tps", r->tg_tps, o->n_gen, o->reps);
    json_series("pp_cpu_s_per_token", r->pp_cpu, o->n_prompt, o->reps);
    json_series("tg_cpu_s_per_token", r->tg_cpu, o->n_gen, o->reps);
    json_series("pp_j_per_token", r->pp_j, r->no_energy ? 0 : o->n_prompt, o->reps);
    json_series("tg_j_per_token", r->tg_j, r->no_energy ? 0 : o->n_gen, o->reps);
    printf("  \"cpu_time\": \"user + sys of the process, all threads (getrusage)\",\n");
    if (r->no_energy) {
        printf("  \"energy\": {\"available\": false, \"reason\": ");
        json_str(r->no_energy);
    } else {
        printf("  \"energy\": {\"available\": true, \"domains\": ");
        json_str(r->meter.what);
        printf(", \"scope\": \"whole package: other processes count too\"");
    }
    printf("},\n");
    printf("  \"load_s\": %.6g,\n  \"ttft_s\": %.6g,\n  \"ttft_prompt_tokens\": %d,\n", r->load_s,
           r->ttft_s, TTFT_PROMPT);
    printf("  \"peak_rss_bytes\": %llu,\n", (unsigned long long)r->peak_rss);
    printf("  \"kv_ctx\": %d,\n  \"kv_bytes\": %llu,\n", r->kv_ctx, (unsigned long long)r->kv_bytes);
    printf("  \"tuning\": {\"used\": %s, \"disabled\": %s, \"classes\": %d, \"profile\": ", o->tune.used ? "true" : "false",
           o->tune.disabled ? "true" : "false", o->tune.n_entries);
    if (o->tune.used) json_str(o->tune.path);
    else printf("null");
    printf("},\n");
    printf("  \"tg_next_token\": \"greedy argmax, not timed\"\n}\n");
}

/* ------------------------------------------------------------------------
 * The verb
 * ---------------------------------------------------------------------- */

int cmd_bench(int argc, char **argv)
{
    bench_opts o = {.n_prompt = 512, .n_gen = 128, .n_threads = cli_cpu_count(),
                    .reps = 5, .format = "md"};
    const cli_opt opts[] = {
        {'m', "model", ARG_STRING, &o.model, "FILE", "model to measure (or give it as MODEL)", 0, 0, NULL},
        {'p', "n-prompt", ARG_INT, &o.n_prompt, "N", "prompt tokens per pp run (default 512)", 0,
         1 << 20, NULL},
        {'n', "n-gen", ARG_INT, &o.n_gen, "N", "tokens per tg run (default 128)", 0, 1 << 20,
         NULL},
        {'t', "threads", ARG_INT, &o.n_threads, "N", "worker threads (default: all CPUs; more are capped)", 1, MOTE_N_THREADS_MAX,
         NULL},
        {'r', "repetitions", ARG_INT, &o.reps, "N", "runs of each test (default 5)", 1, 1000, NULL},
        {'d', "depth", ARG_INT, &o.depth, "N", "tokens already in the cache (default 0)", 0,
         1 << 20, NULL},
        {'o', "output", ARG_STRING, &o.format, "FMT", "md (table, default) or json", 0, 0, NULL},
        {'c', "kv-ctx", ARG_INT, &o.kv_ctx, "N", "context at which to report the F16 KV cache size (default 4096)", 1,
         MOTE_N_CTX_MAX, NULL},
        {0},
    };
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "bench",
        .usage = "(MODEL | -m FILE) [-p N] [-n N] [-t N] [-r N] [-d N] [-c N] [-o md|json]",
        .about = "Measure a model like llama-bench: prompt processing (pp: N random tokens as one\n"
                 "batch) and generation (tg: N tokens one at a time, each the greedy argmax of the\n"
                 "last logits, argmax not timed), both on top of -d cached tokens, in tokens/s\n"
                 "(median, min and max over -r runs after a warm-up run); load time, time to\n"
                 "first token (load + a 16-token prompt + the first token) and peak RSS.\n"
                 "Per token of pp and tg: CPU time (user + sys of the process, all threads) and,\n"
                 "where the RAPL counters of /sys/class/powercap read (root's only since Linux\n"
                 "5.10), energy in joules of the whole CPU package, other processes included;\n"
                 "when they do not, the report says why. Whether this machine's tuning profile\n"
                 "(mote tune) was used.",
        .notes = "Progress goes to stderr (on a terminal, also while a long -d fills the\n"
                 "cache); the report to stdout. Ctrl-C stops the measurement (status 130).\n"
                 "MOTE_POWERCAP_ROOT=DIR reads the RAPL zones from DIR instead of\n"
                 "/sys/class/powercap.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(o.n_threads);
    if (o.model && pos[0]) return args_usage_error(&spec, "give the model once: as MODEL or with -m FILE");
    if (pos[0]) o.model = pos[0];
    if (!o.model) return args_usage_error(&spec, "give the model: mote bench MODEL (or -m FILE)");
    if (strcmp(o.format, "md") != 0 && strcmp(o.format, "json") != 0)
        return args_usage_error(&spec, "-o takes md or json, not '%s'", o.format);
    if (o.n_prompt == 0 && o.n_gen == 0) return args_usage_error(&spec, "-p and -n are both 0");
    cli_catch_interrupt(); /* Ctrl-C cancels the evaluation under way */
    cli_tune_load(&o.tune); /* before the load is timed: model open then finds it loaded */

    bench_result r = {0};
    r.pp_tps = calloc((size_t)o.reps, sizeof *r.pp_tps);
    r.tg_tps = calloc((size_t)o.reps, sizeof *r.tg_tps);
    r.pp_cpu = calloc((size_t)o.reps, sizeof *r.pp_cpu);
    r.tg_cpu = calloc((size_t)o.reps, sizeof *r.tg_cpu);
    r.pp_j = calloc((size_t)o.reps, sizeof *r.pp_j);
    r.tg_j = calloc((size_t)o.reps, sizeof *r.tg_j);
    energy_open(&r.meter, NULL);
    mote_model *model = NULL;
    if (!r.pp_tps || !r.tg_tps || !r.pp_cpu || !r.tg_cpu || !r.pp_j || !r.tg_j)
        rc = cli_error("out of memory");
    else rc = measure(&o, &model, &r);
    if (rc == 0) check_energy(&o, &r);
    if (rc != 0 && cli_interrupted()) rc = EXIT_INTERRUPTED;
    if (rc == 0 && strcmp(o.format, "json") == 0) print_json(&o, model, &r);
    else if (rc == 0) print_md(&o, model, &r);
    if (model) mote_model_close(model);
    free(r.pp_tps);
    free(r.tg_tps);
    free(r.pp_cpu);
    free(r.tg_cpu);
    free(r.pp_j);
    free(r.tg_j);
    return rc;
}
