/*
 * tune_spec.c — what a verification pass costs on this machine and model
 * (tune_spec.h), the numbers speculation's adaptive length weighs
 * (engine/spec_policy.c).
 *
 * One session of the model, sequence 0 computed alone (as speculation
 * verifies: each token's arithmetic that of one-token decoding, the weights
 * read once for all). At each depth (tokens already cached: attention's
 * share grows with it) a round times one pass of each n = 1..MOTE_SPEC_COST_N
 * (every row's logits kept, the cache cut back after each), forwards in
 * even rounds and backwards in odd ones; rounds go on for at least
 * DEPTH_MIN_S and ROUNDS_MIN rounds (a large model: ROUNDS_FEWEST where
 * DEPTH_MAX_S has passed). Each pass is timed alone and a pass of n costs the median
 * of its passes: a small model's pass is tens of microseconds, and the
 * median of hundreds of them stands where a busy machine preempts a few.
 * A depth's medians are summed over the depths.
 */
#include "toolkit/tune_spec.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"

#define ROUNDS_FEWEST 5      /* rounds at each depth, always; */
#define ROUNDS_MIN 15        /* at least this many (quick: 7) unless DEPTH_MAX_S has passed; */
#define ROUNDS_MIN_QUICK 7
#define ROUNDS_MAX 2001       /* at most this many, */
#define DEPTH_MIN_S 0.5       /* going on until this long has passed (quick: 0.2) */
#define DEPTH_MIN_S_QUICK 0.2
#define DEPTH_MAX_S 8.0       /* a 1B model's round is seconds: enough (quick: 3) */
#define DEPTH_MAX_S_QUICK 3.0
#define DEPTH_NEAR 16         /* a fresh reply */
#define DEPTH_FAR 256         /* a long one (cut to the model's context) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Add the median seconds of a pass of n = 1.. tokens at depth (the tokens
 * cached) to total[n - 1]. samples: room for ROUNDS_MAX per n. */
static mote_status measure_depth(mote_session *s, const mote_token *toks, int depth, int quick, double *samples,
                                 double *total)
{
    const double t_start = now_s();
    int rounds = 0;
    for (;;) {
        const double t = now_s() - t_start;
        const int more = rounds < ROUNDS_FEWEST ||
                         (rounds < (quick ? ROUNDS_MIN_QUICK : ROUNDS_MIN) && t < (quick ? DEPTH_MAX_S_QUICK : DEPTH_MAX_S)) ||
                         t < (quick ? DEPTH_MIN_S_QUICK : DEPTH_MIN_S);
        if (!more || rounds == ROUNDS_MAX) break;
        for (int i = 0; i < MOTE_SPEC_COST_N; i++) {
            const int n = rounds % 2 ? MOTE_SPEC_COST_N - i : i + 1;
            const double t0 = now_s();
            MOTE_TRY(mote_session_eval(s, toks + depth, n, n > 1));
            samples[(n - 1) * ROUNDS_MAX + rounds] = now_s() - t0;
            MOTE_TRY(mote_seq_truncate(s, 0, depth));
        }
        rounds++;
    }
    for (int n = 0; n < MOTE_SPEC_COST_N; n++) {
        double *x = samples + n * ROUNDS_MAX;
        qsort(x, (size_t)rounds, sizeof *x, cmp_double);
        total[n] += x[rounds / 2];
    }
    return MOTE_OK;
}

mote_status tune_spec_measure(const char *model_path, int n_threads, int quick, float *cost, double *pass_s)
{
    mote_model *m = NULL;
    mote_session *s = NULL;
    mote_token *toks = NULL;
    MOTE_TRY(mote_model_open(model_path, NULL, &m));
    mote_session_params sp = mote_session_default_params();
    sp.n_threads = n_threads;
    mote_status st = mote_session_create(m, &sp, &s);
    int depths[2] = {DEPTH_NEAR, DEPTH_FAR}, n_depths = quick ? 1 : 2;
    if (st == MOTE_OK) {
        const int room = mote_session_n_ctx(s) - MOTE_SPEC_COST_N;
        for (int d = 0; d < n_depths; d++)
            if (depths[d] > room) depths[d] = room;
        if (depths[0] < 1) st = mote_fail(MOTE_E_UNSUPPORTED, "%s: context too short to time speculation", model_path);
    }
    const int most = depths[n_depths - 1] + MOTE_SPEC_COST_N;
    double *samples = NULL;
    if (st == MOTE_OK && (!(toks = malloc(sizeof *toks * (size_t)most)) ||
                          !(samples = malloc(sizeof *samples * MOTE_SPEC_COST_N * ROUNDS_MAX))))
        st = mote_fail(MOTE_E_NOMEM, "mote_tune: out of memory");
    if (st == MOTE_OK) {
        /* token values do not change a dense model's time: a fixed spread of ids */
        const int n_vocab = mote_vocab_size(m);
        for (int i = 0; i < most; i++) toks[i] = (mote_token)((i * 7919 + 13) % n_vocab);
        st = mote_seq_set_alone(s, 0, 1);
    }
    double total[MOTE_SPEC_COST_N] = {0};
    for (int d = 0, at = 0; st == MOTE_OK && d < n_depths; at = depths[d++]) {
        if (depths[d] > at) st = mote_session_eval(s, toks + at, depths[d] - at, 0);
        if (st == MOTE_OK) st = measure_depth(s, toks, depths[d], quick, samples, total);
    }
    if (st == MOTE_OK) {
        /* a pass of more tokens does all a shorter one does: a lower median is noise */
        for (int n = 1; n < MOTE_SPEC_COST_N; n++)
            if (total[n] < total[n - 1]) total[n] = total[n - 1];
        for (int n = 0; n < MOTE_SPEC_COST_N; n++) cost[n] = (float)(total[n] / total[0]);
        *pass_s = total[0] / n_depths;
    }
    free(samples);
    free(toks);
    mote_session_free(s);
    mote_model_close(m);
    return st;
}
