/*
 * cmd_tune.c — `mote tune MODEL`: measure this machine, time matmul's
 * result-neutral choices on the model's matrix shapes and keep the
 * fastest as this machine's profile (mote_machine_measure, mote_tune).
 * Progress goes to stderr, one line per class; the table to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mote_tools.h"

#define TUNE_BUFFER_MIB 256 /* the read probe's buffer: far past the caches, a second to fill */

static int on_class(void *user, int done, int total, const mote_tune_class *c)
{
    (void)user;
    fprintf(stderr, "[%2d/%d] %-6s %6lld x %-6lld n %-4lld %-8s default %9.3f ms  tuned %9.3f ms  %s\n", done,
            total, c->type, (long long)c->m, (long long)c->k, (long long)c->n, c->path, c->default_s * 1e3,
            c->tuned_s * 1e3, c->choice);
    return cli_interrupted();
}

/* The 1-minute load average, or -1. */
static double load_average(void)
{
    double l;
    return getloadavg(&l, 1) == 1 ? l : -1;
}

static void print_machine(const mote_machine *m)
{
    printf("machine: %s, %d thread(s)\n", m->cpu, m->n_threads);
    printf("  read %.1f / %.1f GB/s (1 / %d threads", m->read_gbs[0], m->read_gbs[1], m->n_threads);
    if (m->read_gbs_huge[0] > 0) printf("; huge pages %.1f / %.1f", m->read_gbs_huge[0], m->read_gbs_huge[1]);
    printf(")\n");
    printf("  F32 FMA %.0f / %.0f GFLOP/s (%s), int8 dot %.0f / %.0f Gop/s (%s)", m->fma_gflops[0],
           m->fma_gflops[1], m->fma_isa, m->dot_gops[0], m->dot_gops[1], m->dot_isa);
    if (m->bf16_isa[0]) printf(", BF16 dot %.0f / %.0f GFLOP/s (%s)", m->bf16_gflops[0], m->bf16_gflops[1], m->bf16_isa);
    printf("\n  caches: L1d %lld KiB, L2 %lld KiB, L3 %lld KiB\n", (long long)m->cache_l1d >> 10,
           (long long)m->cache_l2 >> 10, (long long)m->cache_l3 >> 10);
}

/* The pass costs and what run/serve will do with them. */
static void print_speculation(const mote_tune_result *r)
{
    printf("\nspeculation: a pass of n tokens (verifying n - 1 drafts) costs, in passes of one token (%.3f ms):\n",
           r->spec_pass_s * 1e3);
    printf("  n    ");
    for (int n = 2; n <= MOTE_SPEC_COST_N; n++) printf(" %5d", n);
    printf("\n  cost ");
    for (int n = 2; n <= MOTE_SPEC_COST_N; n++) printf(" %5.2f", (double)r->spec_cost[n - 1]);
    printf("\n  best draft length and expected speed over plain decoding, by acceptance:\n");
    static const double accepts[] = {0.3, 0.5, 0.7, 0.9};
    for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
        double g;
        const int k = mote_spec_best_length(r->spec_cost, MOTE_SPEC_COST_N - 1, accepts[i], &g);
        printf("    %2.0f%%: %d draft(s), %.2fx\n", accepts[i] * 100, k, g);
    }
    if (r->spec_on)
        printf("  decision: lookup on (auto) for greedy run/serve requests: at %.0f%% acceptance %d draft(s) "
               "give %.2fx (>= %.2fx)\n", MOTE_SPEC_PLAUSIBLE_ACCEPT * 100, r->spec_best_k, r->spec_gain,
               MOTE_SPEC_MIN_GAIN);
    else
        printf("  decision: lookup off by default: at %.0f%% acceptance the best is %.2fx (< %.2fx); --lookup auto "
               "still adapts\n", MOTE_SPEC_PLAUSIBLE_ACCEPT * 100, r->spec_gain, MOTE_SPEC_MIN_GAIN);
}

int cmd_tune(int argc, char **argv)
{
    mote_tune_params p = mote_tune_default_params();
    int quick = 0, no_save = 0, no_measure = 0, no_spec = 0;
    const char *pos[1] = {NULL};
    const cli_opt opts[] = {
        {'t', "threads", ARG_INT, &p.n_threads, "N", "threads to tune for (default: all CPUs; more are capped)", 0,
         MOTE_N_THREADS_MAX, NULL},
        {0, "quick", ARG_FLAG, &quick, NULL, "fewer candidates and samples; n = 1 and 128 only", 0, 0, NULL},
        {0, "no-save", ARG_FLAG, &no_save, NULL, "time and show, but write no profile", 0, 0, NULL},
        {0, "no-machine", ARG_FLAG, &no_measure, NULL, "skip measuring bandwidth and peaks", 0, 0, NULL},
        {0, "no-speculation", ARG_FLAG, &no_spec, NULL, "skip timing speculation's verification passes", 0, 0, NULL},
        {0},
    };
    const cli_spec spec = {
        .verb = "tune",
        .usage = "MODEL [-t N] [--quick] [--no-save] [--no-machine] [--no-speculation]",
        .about = "Measure this machine (read bandwidth, F32 FMA, int8 and BF16 dot peaks, caches),\n"
                 "then time the choices matmul makes without changing its results (tile sizes,\n"
                 "work-item grab size, generation's run length, prefetch distance, threads per\n"
                 "product) on MODEL's matrix shapes: each weight type and m*k bucket at n = 1, 16\n"
                 "and 128 tokens, alternating the candidates with the current best and comparing\n"
                 "medians. The fastest are written as this machine's profile, which run, serve\n"
                 "and bench then use by themselves.\n"
                 "Then it times real forward passes of 1..9 tokens as speculation verifies them\n"
                 "(at depths 16 and 256): cost(n) = pass of n / pass of 1. With the acceptance\n"
                 "of the drafts so far, run and serve draft as many lookup tokens as pay by these\n"
                 "costs (--lookup auto, 0 included), and do so by default for greedy requests\n"
                 "(--temp 0) where at 50% acceptance some length gains at least 5%.",
        .notes = "The profile is $XDG_CACHE_HOME/mote/tune-*.json (else ~/.cache/mote), one per\n"
                 "CPU model, core count, mote version and kernel table; MOTE_TUNE=off ignores it.\n"
                 "Outputs are bit-identical with and without it; only speed changes. A 1B model\n"
                 "takes a minute or two; --quick about half.",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(p.n_threads);
    char path[4096];
    if ((rc = cli_model_path(pos[0], path, sizeof path)) != 0) return rc;
    p.model_path = path;
    p.quick = quick;
    p.save = !no_save;
    p.speculation = !no_spec;

    mote_machine m;
    if (!no_measure) {
        mote_machine_params mp = mote_machine_default_params();
        mp.n_threads = p.n_threads > 0 ? p.n_threads : cli_cpu_count();
        mp.buffer_mib = TUNE_BUFFER_MIB;
        mp.passes = quick ? 2 : 3;
        mp.huge_pages = !quick;
        fprintf(stderr, "measuring the machine...\n");
        if (mote_machine_measure(&mp, &m) != MOTE_OK) return cli_lib_error();
        print_machine(&m);
        fflush(stdout);
        p.machine = &m;
    }

    const double load0 = load_average();
    const int cpus = cli_cpu_count();
    if (load0 > 0.5 * cpus)
        fprintf(stderr,
                "mote tune: warning: the machine is busy (load average %.1f on %d CPUs); the timings, and so the\n"
                "profile, reflect that (fewer threads win when others hold the cores): tune again when it is quiet\n",
                load0, cpus);
    cli_catch_interrupt();
    p.progress = on_class;
    mote_tune_result r;
    const double t0 = cli_now();
    if (mote_tune(&p, &r) != MOTE_OK) return cli_lib_error();
    const double secs = cli_now() - t0;

    printf("\n| %-6s | %-13s | %4s | %5s | %-8s | %10s | %10s | %6s | %-28s |\n", "type", "m x k", "n", "count", "path",
           "default ms", "tuned ms", "gain", "choice");
    printf("|--------|---------------|-----:|------:|----------|-----------:|-----------:|-------:|------------------------------|\n");
    int changed = 0;
    for (int i = 0; i < r.n_classes; i++) {
        const mote_tune_class *c = &r.classes[i];
        char shape[32];
        snprintf(shape, sizeof shape, "%lldx%lld", (long long)c->m, (long long)c->k);
        printf("| %-6s | %-13s | %4lld | %5d | %-8s | %10.3f | %10.3f | %5.2fx | %-28s |\n", c->type, shape,
               (long long)c->n, c->count, c->path, c->default_s * 1e3, c->tuned_s * 1e3,
               c->tuned_s > 0 ? c->default_s / c->tuned_s : 1.0, c->choice);
        changed += c->changed;
    }
    printf("\n%d of %d classes tuned in %.1f s (load average %.1f at the start, %.1f at the end)", changed,
           r.n_classes, secs, load0, load_average());
    if (r.saved) printf("; profile %s\n", r.profile_path);
    else printf("; no profile written (--no-save)\n");
    if (r.spec_measured) print_speculation(&r);
    else if (p.speculation) printf("\nspeculation: not measured (the model cannot decode)\n");
    mote_tune_result_free(&r);
    return 0;
}
