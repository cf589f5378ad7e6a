/*
 * test_speculative.c — speculative decoding (engine/speculative.c and the
 * loop in engine/generate.c) and what it rests on, mote_seq_set_alone.
 *
 * - A sequence set alone gets, from one pass over several of its tokens,
 *   the logits that feeding them one at a time gives, bit for bit, in
 *   every weight type and KV cache type, in a mote_batch beside another
 *   sequence too.
 * - Greedy and sampled generation give the same tokens with and without
 *   speculation (lookup, a draft model, both), and leave the same cache.
 * - The verification rule keeps the sampler's distribution: a chi-square
 *   test on a small vocabulary whose distribution is known.
 * - A draft model of another vocabulary is refused, saying which token.
 * - The adaptive length (--lookup auto): its rule on given pass costs and
 *   acceptances, the running acceptance, and per text: no drafts where
 *   none pays, drafts once the text is seen to repeat, the same tokens.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mote.h"
#include "engine/sample.h"
#include "engine/spec_policy.h"
#include "engine/speculative.h"
#include "testutil.h"

#define N_CTX 256
#define N_GEN 120

static mote_model *open_shared(const char *rel)
{
    mote_model *m = NULL;
    const char *p = shared_path(rel);
    if (mote_model_open(p, NULL, &m) != MOTE_OK) fail_msg("%s: %s", p, mote_last_error());
    return m;
}

static mote_session *new_session(const mote_model *m, int n_ctx, int n_seq, int kv_type)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = n_ctx;
    sp.n_batch = 64;
    sp.n_seq_max = n_seq;
    sp.kv_type = kv_type;
    sp.n_threads = 2;
    mote_session *s = NULL;
    if (mote_session_create(m, &sp, &s) != MOTE_OK) fail_msg("session: %s", mote_last_error());
    return s;
}

/* ------------------------------------------------------------------------
 * mote_seq_set_alone: a pass over k tokens = k one-token passes
 * ---------------------------------------------------------------------- */

static const char *const alone_models[] = {
    "models/synth-llama-F32.gguf",     "models/synth-llama-F16.gguf",       "models/synth-llama-Q8_0.gguf",
    "models/synth-llama-Q4_K_M.gguf",  "models/synth-qwen2-Q4_0.gguf",      "models/synth-llama3-IQ4_XS.gguf",
    "models/TinyStories-656K-BF16.gguf", "models/archs/synth-gemma3-Q8_0.gguf", "models/archs/synth-phi3-Q4_K_M.gguf",
};

#define N_ALONE 7

/* The prompt's first np tokens into a, in passes of at most 64 (the sessions' n_batch). */
static void eval_prompt(mote_session *a, const mote_token *prompt, int np)
{
    for (int i = 0; i < np; i += 64)
        assert_int_equal(mote_session_eval(a, prompt + i, np - i < 64 ? np - i : 64, 0), MOTE_OK);
}

static void test_alone_equals_one_at_a_time(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    /* 12 cached positions, and 300: past a whole chunk of the streaming
     * attention (256 positions), which a block of tokens could share in
     * one kernel call of another rounding */
    static const int prompt_lens[] = {12, 300};
    mote_token prompt[300];
    prompt[0] = 1;
    for (int i = 1; i < 300; i++) prompt[i] = 40 + (mote_token)(i * 7 % 50);
    static const mote_token toks[N_ALONE] = {60, 61, 62, 63, 64, 65, 66};
    static const mote_token other[] = {1, 7, 8};
    const int kv_types[] = {MOTE_KV_F32, MOTE_KV_F16, MOTE_KV_Q8_0};
    for (size_t mi = 0; mi < sizeof alone_models / sizeof *alone_models; mi++) {
        mote_model *m = open_shared(alone_models[mi]);
        const int V = mote_vocab_size(m);
        float *want = malloc(sizeof(float) * (size_t)V * N_ALONE);
        assert_non_null(want);
        mote_model_info info;
        assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
        for (size_t ki = 0; ki < sizeof kv_types / sizeof *kv_types; ki++)
            for (size_t pi = 0; pi < sizeof prompt_lens / sizeof *prompt_lens; pi++) {
                if (kv_types[ki] == MOTE_KV_Q8_0 && info.head_dim % 32 != 0) continue; /* Q8_0 rows need it */
                const int np = prompt_lens[pi];
                /* one at a time */
                mote_session *a = new_session(m, np + 64, 2, kv_types[ki]);
                eval_prompt(a, prompt, np);
                for (int i = 0; i < N_ALONE; i++) {
                    assert_int_equal(mote_session_eval(a, &toks[i], 1, 0), MOTE_OK);
                    memcpy(want + (size_t)i * V, mote_session_logits(a, -1), sizeof(float) * (size_t)V);
                }
                /* one pass, sequence 0 alone (mote_session_eval) */
                assert_int_equal(mote_seq_truncate(a, 0, np), MOTE_OK);
                assert_int_equal(mote_seq_set_alone(a, 0, 1), MOTE_OK);
                assert_int_equal(mote_session_eval(a, toks, N_ALONE, 1), MOTE_OK);
                for (int i = 0; i < N_ALONE; i++)
                    if (memcmp(want + (size_t)i * V, mote_session_logits(a, i), sizeof(float) * (size_t)V) != 0)
                        fail_msg("%s, kv %d, %d cached: token %d of an alone pass differs from one-token decoding",
                                 alone_models[mi], kv_types[ki], np, i);
                /* in a mote_batch beside another sequence's prompt */
                assert_int_equal(mote_seq_truncate(a, 0, np), MOTE_OK);
                mote_batch b;
                assert_int_equal(mote_batch_init(&b, 16), MOTE_OK);
                for (int i = 0; i < 3; i++) assert_int_equal(mote_batch_add(&b, other[i], 1, -1, 1), MOTE_OK);
                for (int i = 0; i < N_ALONE; i++) assert_int_equal(mote_batch_add(&b, toks[i], 0, -1, 1), MOTE_OK);
                assert_int_equal(mote_session_decode(a, &b), MOTE_OK);
                for (int i = 0; i < N_ALONE; i++)
                    if (memcmp(want + (size_t)i * V, mote_session_logits(a, 3 + i), sizeof(float) * (size_t)V) != 0)
                        fail_msg("%s, kv %d, %d cached: token %d of an alone sequence in a batch differs",
                                 alone_models[mi], kv_types[ki], np, i);
                mote_batch_free(&b);
                mote_session_free(a);
            }
        free(want);
        mote_model_close(m);
    }
}

static void test_alone_refused_for_embeddings(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/synth-bert-F32.gguf");
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 32;
    sp.embeddings = 1;
    mote_session *s = NULL;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    assert_int_equal(mote_seq_set_alone(s, 0, 1), MOTE_E_UNSUPPORTED);
    assert_int_equal(mote_seq_set_alone(s, 1, 0), MOTE_E_INVALID);
    mote_session_free(s);
    mote_model_close(m);
}

/* ------------------------------------------------------------------------
 * Same tokens with and without speculation
 * ---------------------------------------------------------------------- */

typedef struct run_log {
    mote_token toks[N_CTX];
    int n;
} run_log;

static int log_token(void *user, mote_token t, const char *piece, size_t len)
{
    (void)piece;
    (void)len;
    run_log *l = user;
    if (l->n < N_CTX) l->toks[l->n++] = t;
    return 0;
}

typedef struct gen_result {
    run_log log;
    mote_generate_stats st;
    int pos;
    mote_token cached[N_CTX];
} gen_result;

static void generate(mote_session *s, int n_vocab, const mote_sampler_params *sp, const mote_speculative *spec,
                     const mote_token *prompt, int n_prompt, int n_predict, gen_result *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(mote_seq_clear(s, 0), MOTE_OK);
    mote_sampler *smp = NULL;
    assert_int_equal(mote_sampler_create(sp, n_vocab, &smp), MOTE_OK);
    if (mote_generate_speculative(s, smp, spec, prompt, n_prompt, n_predict, log_token, &r->log, &r->st) != MOTE_OK)
        fail_msg("generate: %s", mote_last_error());
    mote_sampler_free(smp);
    int n = 0;
    const mote_token *c = mote_seq_tokens(s, 0, &n);
    r->pos = n;
    memcpy(r->cached, c, sizeof *c * (size_t)n);
}

static void assert_same_run(const gen_result *a, const gen_result *b, const char *what)
{
    if (a->log.n != b->log.n || memcmp(a->log.toks, b->log.toks, sizeof *a->log.toks * (size_t)a->log.n) != 0) {
        int i = 0;
        while (i < a->log.n && i < b->log.n && a->log.toks[i] == b->log.toks[i]) i++;
        fail_msg("%s: %d tokens plain, %d speculative; they differ from token %d on", what, a->log.n, b->log.n, i);
    }
    if (a->pos != b->pos || memcmp(a->cached, b->cached, sizeof *a->cached * (size_t)a->pos) != 0)
        fail_msg("%s: the cache holds %d tokens after plain decoding and %d after speculation, or others", what,
                 a->pos, b->pos);
    assert_int_equal(a->st.stopped_by_eog, b->st.stopped_by_eog);
    assert_int_equal(b->st.n_generated, a->st.n_generated);
    assert_true(b->st.n_accepted <= b->st.n_drafted);
}

static const char *const prompts[] = {
    "Once upon a time",
    "Tom and his dog went to the park. Tom threw the ball and the dog",
    "Lily and Tom went to the park. They saw a big",
    "The little dog was very happy because",
};

typedef struct spec_case {
    const char *name;
    int lookup;
    int draft;          /* 0: none, 1: the model itself, 2: the other model */
    int draft_max;
    float draft_p_min;
    const float *cost;  /* adaptive with these pass costs; NULL: not */
} spec_case;

/* Pass costs: verification nearly free (long drafts pay even at a low
 * acceptance), a CPU's 1B model (short drafts pay at a fair one), and
 * n tokens for n passes (no draft ever pays). */
static const float cost_cheap[MOTE_SPEC_COST_N] = {1, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f, 1.06f, 1.07f, 1.08f};
static const float cost_cpu[MOTE_SPEC_COST_N] = {1, 1.1f, 1.25f, 1.45f, 1.7f, 2, 2.3f, 2.6f, 2.9f};
static const float cost_linear[MOTE_SPEC_COST_N] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static const spec_case spec_cases[] = {
    {"lookup 3", 3, 0, 0, 0.0f, NULL},
    {"lookup 8", 8, 0, 0, 0.0f, NULL},
    {"self draft 4", 0, 1, 4, 0.0f, NULL},
    {"other draft 6, p_min 0.3", 0, 2, 6, 0.3f, NULL},
    {"lookup 5 + other draft", 5, 2, 3, 0.0f, NULL},
    {"lookup auto, cheap passes", 0, 0, 0, 0.0f, cost_cheap},
    {"lookup auto (at most 3), 1B-like passes", 3, 0, 0, 0.0f, cost_cpu},
    {"lookup auto, passes of n", 0, 0, 0, 0.0f, cost_linear},
};

static mote_speculative adaptive_spec(int lookup, const float *cost)
{
    mote_speculative sc = {.lookup = lookup, .adaptive = 1};
    memcpy(sc.cost, cost, sizeof sc.cost);
    return sc;
}

/* Every prompt and spec case on model (draft: the "other" draft model),
 * with sampler params sp and KV type kv; *accepted adds the accepted
 * drafts. */
static void same_tokens(const char *model_rel, const char *draft_rel, const mote_sampler_params *sp, int kv,
                        int n_ctx, int n_predict, long *accepted)
{
    mote_model *m = open_shared(model_rel), *dm = open_shared(draft_rel);
    const int V = mote_vocab_size(m);
    mote_session *s = new_session(m, n_ctx, 1, kv);
    mote_session *self = new_session(m, n_ctx, 1, kv), *other = new_session(dm, n_ctx, 1, kv);
    gen_result *plain = malloc(sizeof *plain), *spec = malloc(sizeof *spec);
    assert_non_null(plain);
    assert_non_null(spec);
    for (size_t pi = 0; pi < sizeof prompts / sizeof *prompts; pi++) {
        mote_token prompt[64];
        size_t np = 0;
        assert_int_equal(mote_tokenize(m, prompts[pi], strlen(prompts[pi]), 1, 0, prompt, 64, &np), MOTE_OK);
        generate(s, V, sp, NULL, prompt, (int)np, n_predict, plain);
        for (size_t ci = 0; ci < sizeof spec_cases / sizeof *spec_cases; ci++) {
            const spec_case *c = &spec_cases[ci];
            mote_speculative sc = {.lookup = c->lookup, .draft_max = c->draft_max, .draft_p_min = c->draft_p_min};
            if (c->cost) sc = adaptive_spec(c->lookup, c->cost);
            sc.draft = c->draft == 1 ? self : c->draft == 2 ? other : NULL;
            generate(s, V, sp, &sc, prompt, (int)np, n_predict, spec);
            char what[256];
            snprintf(what, sizeof what, "%s, kv %d, temp %g, prompt \"%s\", %s", model_rel, kv, (double)sp->temp,
                     prompts[pi], c->name);
            assert_same_run(plain, spec, what);
            *accepted += spec->st.n_accepted;
        }
    }
    free(plain);
    free(spec);
    mote_session_free(s);
    mote_session_free(self);
    mote_session_free(other);
    mote_model_close(dm);
    mote_model_close(m);
}

static mote_sampler_params greedy(void)
{
    mote_sampler_params sp = mote_sampler_default_params();
    sp.temp = 0.0f;
    return sp;
}

static void test_greedy_same_tokens(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const mote_sampler_params sp = greedy();
    long accepted = 0;
    same_tokens("models/TinyStories-656K.f16.gguf", "models/TinyStories-656K-Q4_0.gguf", &sp, MOTE_KV_F16, N_CTX,
                N_GEN, &accepted);
    same_tokens("models/TinyStories-656K-Q8_0.gguf", "models/TinyStories-656K-F32.gguf", &sp, MOTE_KV_F32, N_CTX,
                N_GEN, &accepted);
    same_tokens("models/TinyStories-656K-Q4_0.gguf", "models/TinyStories-656K.f16.gguf", &sp, MOTE_KV_F16, N_CTX,
                N_GEN, &accepted);
    same_tokens("models/stories260K.gguf", "models/stories260K.gguf", &sp, MOTE_KV_F16, N_CTX, N_GEN, &accepted);
    /* a context that fills: generation stops at the same token */
    same_tokens("models/TinyStories-656K.f16.gguf", "models/TinyStories-656K-Q8_0.gguf", &sp, MOTE_KV_F16, 40, -1,
                &accepted);
    /* the drafts were not all refused: the verification did accept */
    assert_true(accepted > 100);
}

static void test_sampled_same_tokens(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_sampler_params sp = mote_sampler_default_params();
    sp.seed = 1234;
    sp.temp = 0.8f;
    sp.repeat_penalty = 1.1f;
    long accepted = 0;
    same_tokens("models/TinyStories-656K.f16.gguf", "models/TinyStories-656K-Q8_0.gguf", &sp, MOTE_KV_F16, N_CTX,
                N_GEN, &accepted);
    sp.temp = 1.0f;
    sp.top_k = 0;
    sp.top_p = 1.0f;
    sp.min_p = 0.0f;
    sp.seed = 99;
    same_tokens("models/stories260K.gguf", "models/stories260K.gguf", &sp, MOTE_KV_F32, N_CTX, N_GEN, &accepted);
    assert_true(accepted > 50);
}

/* ------------------------------------------------------------------------
 * The verification rule keeps the target distribution
 * ---------------------------------------------------------------------- */

#define SMALL_V 6
#define TRIALS 200000
/* chi-square with SMALL_V - 2 degrees of freedom (outcomes other than the
 * draft, given a rejection) above 18.47 has probability 0.001 */
#define CHI2_LIMIT 18.47

static void check_rule(const mote_sampler_params *sp, const float *logits, mote_token draft)
{
    mote_sampler *smp = NULL;
    assert_int_equal(mote_sampler_create(sp, SMALL_V, &smp), MOTE_OK);
    /* p: the sampler's own distribution after its chain */
    mote_token ids[SMALL_V];
    float probs[SMALL_V];
    double p[SMALL_V] = {0};
    const int n = sampler_distribution(smp, logits, ids, probs, SMALL_V);
    for (int i = 0; i < n; i++) p[ids[i]] = probs[i];
    long count[SMALL_V] = {0}, acc = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        int accepted = 0;
        const mote_token t = spec_verify(smp, logits, draft, &accepted);
        assert_true(t >= 0 && t < SMALL_V);
        assert_int_equal(accepted, t == draft);
        acc += accepted;
        count[t]++;
    }
    mote_sampler_free(smp);
    /* acceptance: p(draft), within 5 standard deviations */
    const double pa = p[draft], sd = sqrt(pa * (1 - pa) / TRIALS);
    if (fabs((double)acc / TRIALS - pa) > 5 * sd + 1e-12)
        fail_msg("draft %d accepted %.5f of the time, p = %.5f", draft, (double)acc / TRIALS, pa);
    /* given a rejection: p without the draft, renormalised */
    const long rejected = TRIALS - acc;
    double chi2 = 0;
    int df = 0;
    for (int t = 0; t < SMALL_V; t++) {
        if (t == draft) continue;
        const double e = rejected * p[t] / (1 - pa);
        if (e == 0) {
            assert_int_equal(count[t], 0); /* filtered out by the chain: never drawn */
            continue;
        }
        chi2 += (count[t] - e) * (count[t] - e) / e;
        df++;
    }
    if (chi2 > CHI2_LIMIT) fail_msg("draft %d: chi-square %.2f over %d outcomes", draft, chi2, df);
}

/* A session that keeps few logit rows (n_outputs_max) gets drafts that
 * fit them: the verification pass keeps a row per drafted token. */
static void test_drafts_fit_output_rows(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/TinyStories-656K-Q8_0.gguf");
    mote_session_params p = mote_session_default_params();
    p.n_ctx = N_CTX;
    p.n_batch = 64;
    p.n_outputs_max = 3;
    p.n_threads = 2;
    mote_session *s = NULL;
    assert_int_equal(mote_session_create(m, &p, &s), MOTE_OK);
    static const mote_token prompt[] = {1, 50, 51, 52, 53, 50, 51, 52, 53, 50, 51, 52, 53, 50};
    const int np = (int)(sizeof prompt / sizeof *prompt);
    mote_sampler_params sp = mote_sampler_default_params();
    sp.temp = 0.0f;
    const mote_speculative none = {0}, look = {.lookup = 8};
    gen_result *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_true(a && b);
    generate(s, mote_vocab_size(m), &sp, &none, prompt, np, 60, a);
    generate(s, mote_vocab_size(m), &sp, &look, prompt, np, 60, b);
    assert_same_run(a, b, "lookup 8 with n_outputs_max 3");
    assert_true(b->st.n_drafted > 0);
    free(a), free(b);
    mote_session_free(s);
    mote_model_close(m);
}

static void test_rule_keeps_distribution(void **state)
{
    (void)state;
    static const float logits[SMALL_V] = {1.0f, 2.5f, 0.3f, 2.0f, -1.0f, 1.7f};
    mote_sampler_params sp = mote_sampler_default_params();
    sp.seed = 42;
    sp.temp = 1.0f;
    sp.top_k = 0;
    sp.top_p = 1.0f;
    sp.min_p = 0.0f;
    for (mote_token draft = 0; draft < SMALL_V; draft++) check_rule(&sp, logits, draft);
    /* the chain shapes p: temperature and top-k */
    sp.temp = 0.7f;
    sp.top_k = 4;
    sp.seed = 7;
    check_rule(&sp, logits, 1);
    check_rule(&sp, logits, 5);
    check_rule(&sp, logits, 4); /* filtered out: never accepted */
}

/* ------------------------------------------------------------------------
 * The adaptive length
 * ---------------------------------------------------------------------- */

/* TinyStories F16, a session of it and prompts[i] tokenized into prompt
 * (64 tokens); returns their count. */
static size_t story_session(int i, mote_model **m, mote_session **s, mote_token *prompt)
{
    *m = open_shared("models/TinyStories-656K.f16.gguf");
    *s = new_session(*m, N_CTX, 1, MOTE_KV_F16);
    size_t np = 0;
    assert_int_equal(mote_tokenize(*m, prompts[i], strlen(prompts[i]), 1, 0, prompt, 64, &np), MOTE_OK);
    return np;
}

/* The rule on given costs and acceptances: E(k) / cost[k] at its best. */
static void test_best_length_rule(void **state)
{
    (void)state;
    double g;
    /* a pass of n costs n: nothing pays, at any acceptance */
    for (double a = 0.0; a <= 1.0; a += 0.25) {
        assert_int_equal(mote_spec_best_length(cost_linear, 8, a, &g), 0);
        assert_float_equal(g, 1.0, 0.0);
    }
    /* 1B-like costs: at 50% acceptance 1.5/1.1 = 1.364, 1.75/1.25 = 1.4, 1.875/1.45 = 1.293: two drafts */
    assert_int_equal(mote_spec_best_length(cost_cpu, 8, 0.5, &g), 2);
    assert_float_equal(g, 1.75 / 1.25f, 1e-6);
    /* at 90% longer drafts: E(4) = (1 - 0.9^5) / 0.1 = 4.095 over 1.7 = 2.41 (E(5) / 2 = 2.34, E(3) / 1.45 = 2.36) */
    assert_int_equal(mote_spec_best_length(cost_cpu, 8, 0.9, &g), 4);
    assert_float_equal(g, (1 - pow(0.9, 5)) / 0.1 / 1.7f, 1e-6);
    /* nearly free passes: the longest draft */
    assert_int_equal(mote_spec_best_length(cost_cheap, 8, 0.9, &g), 8);
    /* at 10%: 1.1 / 1.1 = 1, not more: plain */
    assert_int_equal(mote_spec_best_length(cost_cpu, 8, 0.1, &g), 0);
    /* bounded by k_max (lookup found fewer tokens), and by MOTE_SPEC_COST_N - 1 */
    assert_int_equal(mote_spec_best_length(cost_cpu, 1, 0.9, &g), 1);
    assert_int_equal(mote_spec_best_length(cost_cheap, 100, 1.0, &g), MOTE_SPEC_COST_N - 1);
    assert_int_equal(mote_spec_best_length(cost_cheap, 0, 1.0, &g), 0);
    /* a cost that is no number ends the lengths considered; acceptance is clamped */
    const float broken[MOTE_SPEC_COST_N] = {1, 1.01f, 1.02f, NAN, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
    assert_int_equal(mote_spec_best_length(broken, 8, 1.0, NULL), 2);
    assert_int_equal(mote_spec_best_length(cost_cheap, 8, 7.0, NULL), 8);
    assert_int_equal(mote_spec_best_length(cost_cheap, 8, NAN, NULL), 0);
    assert_int_equal(mote_spec_best_length(NULL, 8, 0.9, &g), 0);
}

/* The running acceptance: on while the proposal matches, one miss, the
 * rest not counted; nothing past the tokens seen. */
static void test_accept_estimate(void **state)
{
    (void)state;
    const mote_token prop[] = {4, 5, 6, 7};
    const mote_token same[] = {4, 5, 6, 7}, miss[] = {4, 9, 6, 7};
    const double w = SPEC_ACCEPT_WEIGHT;
    double a = spec_accept_observe(0.5, prop, 4, same, 4);
    assert_float_equal(a, 1 - 0.5 * pow(1 - w, 4), 1e-12);
    a = spec_accept_observe(0.5, prop, 4, miss, 4); /* a hit, then a miss */
    assert_float_equal(a, (0.5 + w * 0.5) * (1 - w), 1e-12);
    assert_float_equal(spec_accept_observe(0.5, prop, 4, same, 2), 1 - 0.5 * pow(1 - w, 2), 1e-12);
    assert_float_equal(spec_accept_observe(0.5, prop, 0, same, 4), 0.5, 0.0);
}

/* Per text: where passes cost n, adaptive lookup never drafts; where they
 * are cheap it drafts at once; at 1B-like costs on a story that repeats,
 * the drafts not verified (compared with the tokens drawn) raise the
 * estimate from the prior and the drafting starts. The tokens are plain
 * decoding's in every case (test_greedy_same_tokens: every prompt). */
static void test_adaptive_per_text(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m;
    mote_session *s;
    mote_token prompt[64];
    const size_t np = story_session(3, &m, &s, prompt);
    const mote_sampler_params sp = greedy();
    gen_result *plain = malloc(sizeof *plain), *r = malloc(sizeof *r);
    assert_true(plain && r);
    generate(s, mote_vocab_size(m), &sp, NULL, prompt, (int)np, 200, plain);
    const mote_speculative fixed = {.lookup = 8};
    generate(s, mote_vocab_size(m), &sp, &fixed, prompt, (int)np, 200, r);
    assert_same_run(plain, r, "lookup 8");
    assert_true(r->st.n_drafted > 0);

    mote_speculative sc = adaptive_spec(0, cost_linear);
    generate(s, mote_vocab_size(m), &sp, &sc, prompt, (int)np, 200, r);
    assert_same_run(plain, r, "auto, passes of n");
    assert_int_equal(r->st.n_drafted, 0);

    sc = adaptive_spec(0, cost_cheap);
    generate(s, mote_vocab_size(m), &sp, &sc, prompt, (int)np, 200, r);
    assert_same_run(plain, r, "auto, cheap passes");
    assert_true(r->st.n_drafted > 0 && r->st.n_accepted > 0); /* from the first draft on */

    sc = adaptive_spec(0, cost_cpu);
    generate(s, mote_vocab_size(m), &sp, &sc, prompt, (int)np, 200, r);
    assert_same_run(plain, r, "auto, 1B-like passes");
    assert_true(r->st.n_drafted > 0);
    assert_true(r->st.n_accepted * 10 >= r->st.n_drafted * 9); /* this story repeats */

    /* refused: with a draft model (its time is not in the costs), a cost that is no number */
    sc = adaptive_spec(0, cost_cpu);
    sc.draft = s;
    mote_sampler *smp = NULL;
    assert_int_equal(mote_sampler_create(&sp, mote_vocab_size(m), &smp), MOTE_OK);
    assert_int_equal(mote_generate_speculative(s, smp, &sc, prompt, (int)np, 4, NULL, NULL, NULL), MOTE_E_INVALID);
    sc = adaptive_spec(0, cost_cpu);
    sc.cost[4] = 0.0f;
    assert_int_equal(mote_generate_speculative(s, smp, &sc, prompt, (int)np, 4, NULL, NULL, NULL), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "cost 5"));
    mote_sampler_free(smp);
    free(plain);
    free(r);
    mote_session_free(s);
    mote_model_close(m);
}

/* ------------------------------------------------------------------------
 * Lookup and refusals
 * ---------------------------------------------------------------------- */

static void test_lookup_draft(void **state)
{
    (void)state;
    /* ... 5 6 7 8 9 ... 5 6 7 | the last 3-gram was followed by 8 9 10 */
    const mote_token ctx[] = {1, 5, 6, 7, 8, 9, 10, 2, 6, 7, 3, 5, 6, 7};
    mote_token out[8];
    const int n = (int)(sizeof ctx / sizeof *ctx);
    assert_int_equal(lookup_draft(ctx, n, 1, 3, 8, out), 8);
    assert_int_equal(out[0], 8);
    assert_int_equal(out[1], 9);
    assert_int_equal(out[2], 10);
    assert_int_equal(lookup_draft(ctx, n, 1, 3, 2, out), 2);
    /* 2-grams only: "6 7" latest before the tail is at 8-9, followed by 3 */
    assert_int_equal(lookup_draft(ctx, n, 1, 2, 1, out), 1);
    assert_int_equal(out[0], 3);
    /* nothing repeats */
    const mote_token fresh[] = {1, 2, 3, 4};
    assert_int_equal(lookup_draft(fresh, 4, 1, 3, 4, out), 0);
}

static void test_draft_vocab_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = open_shared("models/TinyStories-656K.f16.gguf"), *dm = open_shared("models/stories260K.gguf");
    mote_session *s = new_session(m, 64, 1, MOTE_KV_F16), *ds = new_session(dm, 64, 1, MOTE_KV_F16);
    mote_sampler *smp = NULL;
    assert_int_equal(mote_sampler_create(NULL, mote_vocab_size(m), &smp), MOTE_OK);
    const mote_token prompt[] = {1, 80, 147};
    mote_speculative sc = {.draft = ds};
    assert_int_equal(mote_generate_speculative(s, smp, &sc, prompt, 3, 4, NULL, NULL, NULL), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "same vocabulary"));
    assert_int_equal(mote_session_pos(s), 0); /* refused before the prompt */
    /* a shorter context than the model's */
    mote_session *small = new_session(m, 32, 1, MOTE_KV_F16);
    sc.draft = small;
    assert_int_equal(mote_generate_speculative(s, smp, &sc, prompt, 3, 4, NULL, NULL, NULL), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "shorter"));
    sc = (mote_speculative){.lookup = MOTE_DRAFT_MAX + 1};
    assert_int_equal(mote_generate_speculative(s, smp, &sc, prompt, 3, 4, NULL, NULL, NULL), MOTE_E_INVALID);
    mote_session_free(small);
    mote_sampler_free(smp);
    mote_session_free(ds);
    mote_session_free(s);
    mote_model_close(dm);
    mote_model_close(m);
}

static void test_measure(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m;
    mote_session *s;
    mote_token prompt[64];
    size_t np = story_session(1, &m, &s, prompt);
    mote_speculative sc = {.lookup = 4};
    mote_speculative_bench b;
    assert_int_equal(mote_speculative_measure(s, &sc, prompt, (int)np, 100, &b), MOTE_OK);
    assert_int_equal(b.identical, 1);
    assert_true(b.plain_tps > 0 && b.spec_tps > 0);
    assert_true(b.n_accepted > 0 && b.n_accepted <= b.n_drafted);
    assert_int_equal(mote_speculative_measure(s, NULL, prompt, (int)np, 100, &b), MOTE_E_INVALID);
    mote_session_free(s);
    mote_model_close(m);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_equals_one_at_a_time),
        cmocka_unit_test(test_alone_refused_for_embeddings),
        cmocka_unit_test(test_greedy_same_tokens),
        cmocka_unit_test(test_sampled_same_tokens),
        cmocka_unit_test(test_drafts_fit_output_rows),
        cmocka_unit_test(test_rule_keeps_distribution),
        cmocka_unit_test(test_best_length_rule),
        cmocka_unit_test(test_accept_estimate),
        cmocka_unit_test(test_adaptive_per_text),
        cmocka_unit_test(test_lookup_draft),
        cmocka_unit_test(test_draft_vocab_refused),
        cmocka_unit_test(test_measure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
