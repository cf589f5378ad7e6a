/*
 * tune.c — mote_tune: time matmul's result-neutral choices (kernels/
 * tuning.h) on the matrix shapes of a model and keep the fastest per
 * weight type and shape class in this machine's profile
 * (engine/tune_profile.h).
 *
 * Classes: each weight type x m*k bucket of the model's matrices, at n = 1
 * (generation), 16 and 128 tokens (prompts; --quick: 1 and 128). The
 * output head only at n = 1: a prompt computes logits for its last token
 * alone. Each class is timed on the most common shape of its bucket, on
 * the model's own weights:
 *   n = 1   a sample is one pass over every matrix of that shape (as a
 *           token reads them: from memory, not from cache), repeated to at
 *           least SAMPLE_MIN_S;
 *   n > 1   a sample is products with those matrices in turn until
 *           SAMPLE_MIN_S has passed (compute-bound: caches matter little).
 * Search: one choice at a time (coordinate descent from the defaults);
 * a candidate and the incumbent are sampled alternately, REPS times each,
 * and the candidate wins if its median is MARGIN faster. A class's result
 * is then confirmed by FINAL_REPS alternating samples of the default and
 * the tuned choice; a choice not MARGIN faster there too is dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "engine/tune_profile.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "kernels/tuning.h"
#include "mote_tools.h"
#include "toolkit/tune_spec.h"

#define SAMPLE_MIN_S 0.004  /* shortest timed sample */
#define REPS 5              /* samples of each side per comparison (--quick: 3) */
#define FINAL_REPS 7        /* samples of default and tuned at the end (--quick: 5) */
#define MARGIN 0.03         /* a candidate must be this much faster to win */
#define MAX_SHAPE_TENSORS 512

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One class being timed. */
typedef struct tune_class {
    uint32_t wtype;
    int64_t m, k, n;
    int mk_class, n_class;
    const void *w[MAX_SHAPE_TENSORS]; /* the matrices of this shape */
    int count;
    int head_only;                    /* every matrix is the output head: n = 1 only */
} tune_class;

typedef struct tune_ctx {
    const kernel_ops *ops;
    mote_pool *pool;
    int nth;
    float *X, *Y;   /* [n][k] activations, [n][m] outputs (largest shapes) */
    void *scratch;  /* converted activations */
    int rot;        /* next matrix for n > 1 */
} tune_ctx;

/* Seconds per product of one sample with choice t. */
static double sample(tune_ctx *c, const tune_class *cl, const kernel_tuning *t)
{
    long runs = 0;
    const double t0 = now_s();
    double dt;
    do {
        const int pass = cl->n == 1 ? cl->count : 1;
        for (int i = 0; i < pass; i++) {
            const void *w = cl->n == 1 ? cl->w[i] : cl->w[c->rot++ % cl->count];
            matmul_tuned_with(c->ops, c->pool, t, w, cl->wtype, cl->m, cl->k, c->X, cl->n, c->Y, c->scratch);
        }
        runs += pass;
        dt = now_s() - t0;
    } while (dt < SAMPLE_MIN_S);
    return dt / (double)runs;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Medians of a and b sampled alternately (the first of each pair swaps). */
static void compare(tune_ctx *c, const tune_class *cl, const kernel_tuning *a, const kernel_tuning *b, int reps,
                    double *ma, double *mb)
{
    double ta[16], tb[16];
    for (int r = 0; r < reps; r++) {
        if (r % 2) {
            tb[r] = sample(c, cl, b);
            ta[r] = sample(c, cl, a);
        } else {
            ta[r] = sample(c, cl, a);
            tb[r] = sample(c, cl, b);
        }
    }
    *ma = median(ta, reps);
    *mb = median(tb, reps);
}

/* The values tried for each field, by path (0-terminated; threads is
 * filled in from the pool size). */
typedef struct knob_values {
    int field;      /* tuning_field's index: 0 tile_m, 1 tile_n, 2 grab_min, 3 quarters_min, 4 pf_ahead,
                     * 5 threads, 6 gemm_m, 7 gemm_n */
    int n;          /* values in v (threads: 0, filled in) */
    int32_t v[8];
} knob_values;

static int knobs_for(matmul_path path, int64_t n, int quick, knob_values *out)
{
    int k = 0;
    if (path == MATMUL_QUARTERS) {
        out[k++] = quick ? (knob_values){3, 2, {16, 256}} : (knob_values){3, 5, {16, 32, 128, 256, 1024}};
    } else if (path == MATMUL_TILES) {
        out[k++] = quick ? (knob_values){0, 2, {4, 64}} : (knob_values){0, 4, {4, 8, 32, 64}};
        if (n > 1) out[k++] = quick ? (knob_values){1, 2, {8, 64}} : (knob_values){1, 4, {8, 16, 64, 128}};
        out[k++] = quick ? (knob_values){4, 2, {0, 16384}} : (knob_values){4, 5, {0, 1024, 2048, 8192, 16384}};
        out[k++] = (knob_values){2, 2, {2, 4}};
    } else {
        out[k++] = quick ? (knob_values){6, 2, {32, 64}} : (knob_values){6, 3, {32, 64, 96}};
        if (n > 16) out[k++] = quick ? (knob_values){7, 1, {64}} : (knob_values){7, 3, {32, 64, 96}};
        out[k++] = (knob_values){2, 2, {2, 4}};
    }
    out[k++] = (knob_values){5, 0, {0}}; /* threads: 1 .. nth - 1 */
    return k;
}

/* Search one class; *best starts at the default. */
static void search(tune_ctx *c, const tune_class *cl, int quick, kernel_tuning *best)
{
    const matmul_path path = matmul_path_of(c->ops, cl->wtype, cl->m, cl->k, cl->n);
    knob_values kv[8];
    const int nk = knobs_for(path, cl->n, quick, kv);
    const int reps = quick ? 3 : REPS;
    for (int i = 0; i < nk; i++) {
        int32_t vals[8];
        int nv = 0;
        if (kv[i].field == 5)
            for (int t = 1; t < c->nth && nv < 8; t++) vals[nv++] = t;
        else
            for (int j = 0; j < kv[i].n; j++) vals[nv++] = kv[i].v[j];
        for (int j = 0; j < nv; j++) {
            kernel_tuning cand = *best;
            *tuning_field(&cand, kv[i].field) = vals[j];
            if (tuning_equal(&cand, best)) continue;
            double mb, mc;
            compare(c, cl, best, &cand, reps, &mb, &mc);
            if (mc < mb * (1 - MARGIN)) *best = cand;
        }
    }
}

static void describe(const kernel_tuning *t, const kernel_tuning *d, char *buf, size_t cap)
{
    if (tuning_equal(t, d)) {
        snprintf(buf, cap, "default");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    kernel_tuning a = *t, b = *d;
    for (int f = 0; f < TUNING_FIELDS && used + 1 < cap; f++)
        if (*tuning_field(&a, f) != *tuning_field(&b, f)) {
            const int w = snprintf(buf + used, cap - used, "%s%s %d", used ? ", " : "", tuning_field_name(f),
                                   *tuning_field(&a, f));
            used = w < 0 || (size_t)w >= cap - used ? cap - 1 : used + (size_t)w;
        }
}

/* ------------------------------------------------------------------------
 * Classes of a model
 * ---------------------------------------------------------------------- */

static int is_matrix(const gguf_tensor *t)
{
    const size_t n = strlen(t->name);
    return t->n_dims == 2 && n > 7 && strcmp(t->name + n - 7, ".weight") == 0 && kernels_supported(t->type) &&
           ggml_row_size(t->type, t->ne[0]) > 0;
}

/* The classes of g's matrices (the most common shape of each type x m*k
 * bucket; token_embd only when it is also the output head). */
static mote_status model_classes(const gguf_file *g, tune_class **out, int *n_out)
{
    const int has_output = gguf_find_tensor(g, "output.weight") != NULL;
    tune_class *cls = NULL;
    int n = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        if (!is_matrix(t)) continue;
        const int embd = strcmp(t->name, "token_embd.weight") == 0;
        if (embd && has_output) continue;
        const int head = embd || strcmp(t->name, "output.weight") == 0;
        const int mc = tuning_mk_class(t->ne[1], t->ne[0]);
        /* the same type, bucket and shape: one more matrix of it */
        int j = 0;
        while (j < n && !(cls[j].wtype == t->type && cls[j].m == t->ne[1] && cls[j].k == t->ne[0])) j++;
        if (j == n) {
            tune_class *grown = realloc(cls, (size_t)(n + 1) * sizeof *cls);
            if (!grown) {
                free(cls);
                return mote_fail(MOTE_E_NOMEM, "mote_tune: out of memory");
            }
            cls = grown;
            memset(&cls[n], 0, sizeof cls[n]);
            cls[n] = (tune_class){.wtype = t->type, .m = t->ne[1], .k = t->ne[0], .mk_class = mc, .head_only = 1};
            n++;
        }
        if (cls[j].count < MAX_SHAPE_TENSORS) cls[j].w[cls[j].count++] = t->data;
        cls[j].head_only &= head;
    }
    /* keep, per type and bucket, the shape with the most weight bytes */
    int kept = 0;
    for (int i = 0; i < n; i++) {
        const double bytes = (double)cls[i].count * (double)cls[i].m * (double)cls[i].k;
        int best = 1;
        for (int j = 0; j < n && best; j++) {
            if (j == i || cls[j].wtype != cls[i].wtype || cls[j].mk_class != cls[i].mk_class) continue;
            const double bj = (double)cls[j].count * (double)cls[j].m * (double)cls[j].k;
            best = bytes > bj || (bytes == bj && i < j);
        }
        if (best) cls[kept++] = cls[i];
    }
    *out = cls;
    *n_out = kept;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * mote_tune
 * ---------------------------------------------------------------------- */

/* Write the profile: this run's entries, and those of the profile already
 * there (another model's shapes) for the classes this run did not time;
 * a broken or foreign old profile is replaced. */
static mote_status save_profile(const mote_tune_params *p, int threads, const mote_tune_result *r,
                                const tune_entry *fresh, int n_fresh, const tune_spec *spec, char *path, size_t cap)
{
    tune_key k;
    tune_key_this(&k);
    MOTE_TRY(tune_profile_path(&k, path, cap));
    tune_entry *old = NULL, *all;
    tune_spec *old_spec = NULL;
    int n_old = 0, n = 0, n_old_spec = 0, n_spec = 0;
    if (tune_profile_read_all(path, &k, &old, &n_old, &old_spec, &n_old_spec) != MOTE_OK) {
        mote_clear_error();
        n_old = n_old_spec = 0;
    }
    /* other models' pass costs are kept, this model's replaced */
    for (int i = 0; i < n_old_spec; i++)
        if (!spec || old_spec[i].model != spec->model) old_spec[n_spec++] = old_spec[i];
    tune_spec *specs = spec ? realloc(old_spec, (size_t)(n_spec + 1) * sizeof *specs) : old_spec;
    if (spec && specs) specs[n_spec++] = *spec;
    if (!specs && spec) free(old_spec);
    if ((spec && !specs) || !(all = malloc((size_t)(n_fresh + n_old + 1) * sizeof *all))) {
        free(old);
        free(specs);
        return mote_fail(MOTE_E_NOMEM, "mote_tune: out of memory");
    }
    for (int i = 0; i < n_old; i++) {
        int timed = 0;
        for (int j = 0; j < r->n_classes && !timed; j++)
            timed = strcmp(r->classes[j].type, ggml_type_name(old[i].wtype)) == 0 &&
                    r->classes[j].mk_class == old[i].mk_class && r->classes[j].n_class == old[i].n_class;
        if (!timed) all[n++] = old[i];
    }
    for (int i = 0; i < n_fresh; i++) all[n++] = fresh[i];
    const mote_status st = tune_profile_write_all(path, &k, threads, p->machine, all, n, specs, n_spec);
    free(old);
    free(all);
    free(specs);
    return st;
}

mote_tune_params mote_tune_default_params(void)
{
    return (mote_tune_params){.n_threads = 0, .quick = 0, .save = 1, .speculation = 1};
}

void mote_tune_result_free(mote_tune_result *r)
{
    if (!r) return;
    free(r->classes);
    r->classes = NULL;
    r->n_classes = 0;
}

mote_status mote_tune(const mote_tune_params *p, mote_tune_result *r)
{
    if (!p || !r || !p->model_path) return mote_fail(MOTE_E_INVALID, "mote_tune: NULL argument");
    memset(r, 0, sizeof *r);
    gguf_file *g;
    MOTE_TRY(gguf_open(p->model_path, &g));
    tune_class *shapes = NULL;
    int n_shapes = 0;
    tune_ctx c = {.ops = kernels_get()};
    tune_entry *entries = NULL;
    mote_status st = model_classes(g, &shapes, &n_shapes);
    if (st == MOTE_OK && n_shapes == 0)
        st = mote_fail(MOTE_E_UNSUPPORTED, "%s: no matrices mote multiplies", p->model_path);
    static const int64_t ns_full[] = {1, 16, 128}, ns_quick[] = {1, 128};
    const int64_t *ns = p->quick ? ns_quick : ns_full;
    const int n_ns = p->quick ? 2 : 3;
    int64_t km = 0, mm = 0, nm = ns[n_ns - 1];
    size_t scratch = 0;
    int total = 0;
    for (int i = 0; st == MOTE_OK && i < n_shapes; i++) {
        km = shapes[i].k > km ? shapes[i].k : km;
        mm = shapes[i].m > mm ? shapes[i].m : mm;
        const size_t s = matmul_scratch_size(shapes[i].wtype, shapes[i].k, nm);
        scratch = s > scratch ? s : scratch;
        total += shapes[i].head_only ? 1 : n_ns;
    }
    if (st == MOTE_OK) st = pool_create(p->n_threads, &c.pool);
    c.nth = pool_size(c.pool);
    if (st == MOTE_OK) {
        c.X = malloc((size_t)(nm * km) * sizeof *c.X);
        c.Y = malloc((size_t)(nm * mm) * sizeof *c.Y);
        c.scratch = malloc(scratch ? scratch : 1);
        r->classes = calloc((size_t)total, sizeof *r->classes);
        entries = calloc((size_t)total, sizeof *entries);
        if (!c.X || !c.Y || !c.scratch || !r->classes || !entries) st = mote_fail(MOTE_E_NOMEM, "mote_tune: out of memory");
    }
    if (st == MOTE_OK) {
        uint64_t s = 0x9E3779B97F4A7C15ull;
        for (int64_t i = 0; i < nm * km; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            c.X[i] = (float)((double)(s >> 40) / (double)(1 << 24) - 0.5);
        }
    }
    int n_entries = 0;
    const kernel_tuning dflt = tuning_default();
    for (int i = 0; st == MOTE_OK && i < n_shapes; i++)
        for (int j = 0; st == MOTE_OK && j < (shapes[i].head_only ? 1 : n_ns); j++) {
            tune_class cl = shapes[i];
            cl.n = ns[j];
            cl.n_class = tuning_n_class(cl.n);
            (void)sample(&c, &cl, &dflt); /* warm-up: fault the weights in */
            kernel_tuning best = dflt;
            search(&c, &cl, p->quick, &best);
            double md, mt;
            compare(&c, &cl, &dflt, &best, p->quick ? 5 : FINAL_REPS, &md, &mt);
            if (tuning_equal(&best, &dflt) || !(mt < md * (1 - MARGIN))) {
                best = dflt; /* none found, or not confirmed: one figure for the default */
                mt = md;
            }
            mote_tune_class *o = &r->classes[r->n_classes++];
            snprintf(o->type, sizeof o->type, "%s", ggml_type_name(cl.wtype));
            o->m = cl.m;
            o->k = cl.k;
            o->n = cl.n;
            o->count = cl.count;
            o->mk_class = cl.mk_class;
            o->n_class = cl.n_class;
            o->default_s = md;
            o->tuned_s = mt;
            const matmul_path path = matmul_path_of(c.ops, cl.wtype, cl.m, cl.k, cl.n);
            snprintf(o->path, sizeof o->path, "%s",
                     path == MATMUL_GEMM ? "gemm" : path == MATMUL_QUARTERS ? "quarters" : "tiles");
            describe(&best, &dflt, o->choice, sizeof o->choice);
            o->changed = !tuning_equal(&best, &dflt);
            if (o->changed)
                entries[n_entries++] = (tune_entry){.wtype = cl.wtype, .mk_class = cl.mk_class, .n_class = cl.n_class, .t = best};
            if (p->progress && p->progress(p->progress_user, r->n_classes, total, o))
                st = mote_fail(MOTE_E_CANCELLED, "mote_tune: cancelled");
        }
    tune_spec spec = {.model = tune_model_id(g), .threads = c.nth};
    if (st == MOTE_OK && p->speculation) {
        /* a model speculation cannot run (an encoder) keeps its matmul choices */
        if (tune_spec_measure(p->model_path, p->n_threads, p->quick, spec.cost, &r->spec_pass_s) == MOTE_OK) {
            r->spec_measured = 1;
            memcpy(r->spec_cost, spec.cost, sizeof r->spec_cost);
            r->spec_best_k = mote_spec_best_length(spec.cost, MOTE_SPEC_COST_N - 1, MOTE_SPEC_PLAUSIBLE_ACCEPT,
                                                   &r->spec_gain);
            r->spec_on = r->spec_gain >= MOTE_SPEC_MIN_GAIN;
        } else {
            mote_clear_error();
        }
    }
    if (st == MOTE_OK && p->save) {
        st = save_profile(p, c.nth, r, entries, n_entries, r->spec_measured ? &spec : NULL, r->profile_path,
                          sizeof r->profile_path);
        r->saved = st == MOTE_OK;
    }
    free(entries);
    free(c.X);
    free(c.Y);
    free(c.scratch);
    pool_free(c.pool);
    free(shapes);
    gguf_close(g);
    if (st != MOTE_OK) mote_tune_result_free(r);
    return st;
}
