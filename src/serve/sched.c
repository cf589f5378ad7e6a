/*
 * sched.c — continuous batching of generation jobs over one session's
 * sequences (see sched.h for the contract).
 *
 * Locks: s->lock guards the queue, the slots' job pointers as the other
 * threads see them (stats), and `stopping`; a job's lock guards its
 * output and its consumer state (parked, released). The order is always
 * s->lock before a job's lock, and a job's lock before the consumer's own
 * (taken inside park/wake).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/sched.h"

#define SCHED_N_BATCH_DEFAULT 512
#define PIECE_CAP 1024

struct sched_job {
    sched *owner;
    pthread_mutex_t lock;
    atomic_int refs;    /* the consumer's and the scheduler's */
    atomic_int cancel;  /* set by release: the scheduler drops the job */
    sched_job *next;    /* in the queue */
    int queued;         /* under owner->lock */

    mote_token *prompt;
    int n_prompt;
    int max_tokens;
    mote_sampler_params sampling;
    char *stop[SCHED_STOP_MAX];
    size_t stop_len[SCHED_STOP_MAX];
    int n_stop;
    int top_logprobs;
    mote_grammar *grammar;
    mote_token *bias_id; /* (n_bias) logit bias, or NULL */
    float *bias;
    int n_bias;
    void (*park)(void *);
    void (*wake)(void *);
    int (*peer_closed)(void *);
    void *user;

    /* Output, under lock. text[0..ready) may be taken; text[ready..len) is
     * held back (a possible stop string, or a character not yet whole). */
    char *text;
    size_t len, cap, ready, taken;
    sched_token *tokens;
    int n_tokens, cap_tokens, tokens_taken;
    sched_finish finish;
    int n_generated, n_cached;
    double t_submit, t_start, t_first, t_last;  /* seconds, CLOCK_MONOTONIC */
    char error[256];
    int parked, released;
};

typedef struct slot {
    sched_job *job;       /* NULL: free */
    int seq;
    int n_fed;            /* prompt tokens in the cache */
    int generating;       /* the prompt is read; `last` is the next input */
    mote_token last;
    int n_gen;
    mote_sampler *smp;
    int out_i;            /* batch index of this slot's output this step, or -1 */
    int feeding;          /* prompt tokens in this step's batch */
    int verifying;        /* generating in this step: `last` and n_draft drafts are in its batch */
    mote_token *draft;    /* (cfg.lookup) this step's drafts after `last` */
    int adaptive;         /* this job's drafts are of the length that pays (sched.auto_on) */
    mote_spec_state spec; /* ... their running acceptance */
    int n_draft;
    int base;             /* the sequence's length before this step */
    int cut;              /* after this step's sampling: the length to cut its sequence to, or -1 */
    unsigned long last_used; /* when its last job started (a count of starts) */
} slot;

struct sched {
    mote_model *model;
    mote_session *session;
    sched_config cfg;
    int n_ctx, n_vocab, n_batch;
    unsigned long n_starts;  /* jobs started: the slots' clock */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sched_job *head, *tail;
    int n_queued, n_running, stopping, cancel_all;
    long long n_prompt_tokens, n_generated_tokens;
    long long n_drafted, n_accepted; /* lookup's drafts, and those the sampler drew too */
    double busy_seconds;   /* time spent in forward passes */
    mote_token *ctx;       /* (n_ctx + 1) lookup: a slot's tokens and `last` */
    int auto_on;           /* cfg.lookup_auto and the profile has the model's pass costs */
    float cost[MOTE_SPEC_COST_N]; /* (auto_on) those costs */
    slot *slots;
    sched_job **starting;  /* (n_parallel) jobs leaving the queue this round */
    mote_batch batch;
};

/* ------------------------------------------------------------------------
 * Jobs
 * ---------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void job_unref(sched_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1) return;
    for (int i = 0; i < j->n_stop; i++) free(j->stop[i]);
    free(j->prompt);
    free(j->text);
    free(j->tokens);
    mote_grammar_free(j->grammar);
    free(j->bias_id);
    free(j->bias);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

/* Under j->lock: tell a parked consumer that something changed. */
static void job_signal(sched_job *j)
{
    if (j->parked && !j->released) {
        j->parked = 0;
        if (j->wake) j->wake(j->user);
    }
}

/* Under j->lock: end the job; every byte becomes ready. */
static void job_end(sched_job *j, sched_finish why, const char *error)
{
    if (j->finish != SCHED_RUNNING) return;
    j->finish = why;
    j->ready = j->len;
    if (error) snprintf(j->error, sizeof j->error, "%s", error);
    job_signal(j);
}

static int text_append(sched_job *j, const char *p, size_t n)
{
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1) cap *= 2;
        char *t = realloc(j->text, cap);
        if (!t) return -1;
        j->text = t;
        j->cap = cap;
    }
    memcpy(j->text + j->len, p, n);
    j->len += n;
    j->text[j->len] = '\0';
    return 0;
}

/* Where the earliest stop string starts in text, searching only where one
 * could end in the bytes from `from` on; -1 if none. */
static long find_stop(const sched_job *j, size_t from)
{
    long best = -1;
    for (int i = 0; i < j->n_stop; i++) {
        const size_t n = j->stop_len[i];
        const size_t start = from >= n - 1 ? from - (n - 1) : 0;
        if (j->len < start + n) continue;
        const char *hit = memmem(j->text + start, j->len - start, j->stop[i], n);
        if (hit && (best < 0 || hit - j->text < best)) best = hit - j->text;
    }
    return best;
}

/* How much of the text may be handed over: not a tail that could begin a
 * stop string, nor a character whose bytes have not all come. */
static size_t ready_len(const sched_job *j)
{
    size_t hold = 0;
    for (int i = 0; i < j->n_stop; i++) {
        size_t k = j->stop_len[i] - 1 < j->len ? j->stop_len[i] - 1 : j->len;
        for (; k > hold; k--)
            if (memcmp(j->text + j->len - k, j->stop[i], k) == 0) break;
        if (k > hold) hold = k;
    }
    size_t safe = j->len - hold;
    /* back up to the lead byte of a character cut at `safe` */
    for (size_t back = 1; back <= 3 && back <= safe; back++) {
        const unsigned char c = (unsigned char)j->text[safe - back];
        if ((c & 0xC0) == 0x80) continue; /* a continuation byte: look further */
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (need > back) safe -= back;
        break;
    }
    return safe;
}

int sched_job_take(sched_job *j, sched_output *out, int park)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    pthread_mutex_lock(&j->lock);
    if (j->ready > j->taken) {
        const size_t n = j->ready - j->taken;
        if (!(out->text = malloc(n + 1))) goto oom;
        memcpy(out->text, j->text + j->taken, n);
        out->text[n] = '\0';
        out->len = n;
        j->taken = j->ready;
    }
    if (j->n_tokens > j->tokens_taken) {
        const int n = j->n_tokens - j->tokens_taken;
        if (!(out->tokens = malloc((size_t)n * sizeof *out->tokens))) goto oom;
        memcpy(out->tokens, j->tokens + j->tokens_taken, (size_t)n * sizeof *out->tokens);
        out->n_tokens = n;
        j->tokens_taken = j->n_tokens;
    }
    out->finish = j->finish;
    out->n_prompt = j->n_prompt;
    out->n_generated = j->n_generated;
    out->n_cached = j->n_cached;
    if (j->t_start > 0) out->queue_ms = (j->t_start - j->t_submit) * 1e3;
    if (j->t_first > 0) out->prompt_ms = (j->t_first - j->t_start) * 1e3;
    if (j->t_last > 0) out->gen_ms = (j->t_last - j->t_first) * 1e3;
    snprintf(out->error, sizeof out->error, "%s", j->error);
    rc = out->len || out->n_tokens || out->finish != SCHED_RUNNING;
    if (!rc && park && j->park && !j->released) {
        j->parked = 1;
        j->park(j->user);
    }
    pthread_mutex_unlock(&j->lock);
    return rc;
oom:
    pthread_mutex_unlock(&j->lock);
    sched_output_free(out);
    return -1;
}

void sched_output_free(sched_output *out)
{
    free(out->text);
    free(out->tokens);
    out->text = NULL;
    out->tokens = NULL;
}

void sched_job_release(sched_job *j)
{
    if (!j) return;
    sched *s = j->owner;
    pthread_mutex_lock(&s->lock);
    int dequeued = 0;
    if (j->queued) { /* never started: take it out of the queue */
        sched_job **pp = &s->head, *prev = NULL;
        while (*pp != j) prev = *pp, pp = &(*pp)->next;
        *pp = j->next;
        if (s->tail == j) s->tail = prev;
        s->n_queued--;
        j->queued = 0;
        dequeued = 1;
    }
    pthread_mutex_lock(&j->lock);
    j->released = 1;
    j->parked = 0;
    pthread_mutex_unlock(&j->lock);
    atomic_store(&j->cancel, 1);
    pthread_mutex_unlock(&s->lock);
    if (dequeued) job_unref(j); /* the scheduler's reference */
    job_unref(j);
}

/* ------------------------------------------------------------------------
 * Slots
 * ---------------------------------------------------------------------- */

/* Under s->lock: the job leaves its slot; the slot keeps its cache. */
static void slot_free(sched *s, slot *sl)
{
    mote_sampler_free(sl->smp);
    sl->smp = NULL;
    job_unref(sl->job);
    sl->job = NULL;
    sl->generating = 0;
    s->n_running--;
}

/* The job ends and leaves its slot, both under s->lock (as in
 * slot_token): the running count is right when the consumer wakes. */
static void slot_end(sched *s, slot *sl, sched_finish why, const char *error)
{
    pthread_mutex_lock(&s->lock);
    pthread_mutex_lock(&sl->job->lock);
    job_end(sl->job, why, error);
    pthread_mutex_unlock(&sl->job->lock);
    slot_free(s, sl);
    pthread_mutex_unlock(&s->lock);
}

/* The slot other than sl whose cache (busy or not) shares the longest
 * prefix with j's prompt, longer than `than`; NULL if none. */
static slot *prefix_source(sched *s, const slot *sl, const sched_job *j, int than, int *len)
{
    slot *best = NULL;
    *len = than;
    for (int i = 0; i < s->cfg.n_parallel; i++) {
        slot *o = &s->slots[i];
        if (o == sl) continue;
        const int n = mote_seq_common_prefix(s->session, o->seq, j->prompt, j->n_prompt);
        if (n > *len) *len = n, best = o;
    }
    return best;
}

/* Start job j in the free slot sl: keep the cached prefix it shares, or
 * copy a longer one from another slot, even one generating (a shared
 * system prompt or document is evaluated once: copying its keys and
 * values costs a memory copy, evaluating them a forward pass). */
static void slot_start(sched *s, slot *sl, sched_job *j)
{
    sl->job = j;
    sl->n_gen = 0;
    sl->generating = 0;
    mote_seq_set_alone(s->session, sl->seq, 0); /* the prompt in batches */
    sl->last_used = ++s->n_starts;
    const int prefix = mote_seq_common_prefix(s->session, sl->seq, j->prompt, j->n_prompt);
    int keep = prefix < j->n_prompt ? prefix : j->n_prompt - 1; /* one token gives the logits */
    int shared;
    const slot *src = prefix_source(s, sl, j, prefix, &shared);
    if (shared > j->n_prompt - 1) shared = j->n_prompt - 1;
    if (src && shared > keep && mote_seq_copy(s->session, src->seq, sl->seq, shared) == MOTE_OK) {
        keep = shared;
    } else if (mote_seq_truncate(s->session, sl->seq, keep) != MOTE_OK) { /* a cut a sliding window cannot take */
        keep = 0;
        mote_seq_clear(s->session, sl->seq);
    }
    sl->n_fed = keep;
    pthread_mutex_lock(&j->lock);
    j->n_cached = keep;
    j->t_start = now_s();
    pthread_mutex_unlock(&j->lock);
    if (mote_sampler_create(&j->sampling, s->n_vocab, &sl->smp) != MOTE_OK ||
        mote_sampler_set_logit_bias(sl->smp, j->bias_id, j->bias, j->n_bias) != MOTE_OK ||
        mote_sampler_set_grammar(sl->smp, s->model, j->grammar) != MOTE_OK) {
        slot_end(s, sl, SCHED_FINISH_ERROR, mote_last_error());
        return;
    }
    for (int i = 0; i < j->n_prompt; i++) mote_sampler_accept(sl->smp, j->prompt[i]);
    /* a greedy request's text is the same by construction; a sampled one's
     * random stream would change, so only where asked for all */
    sl->adaptive = s->auto_on && (s->cfg.lookup_auto == SCHED_AUTO_ALL || j->sampling.temp <= 0.0f);
    mote_spec_state_init(&sl->spec);
    if (j->max_tokens == 0) slot_end(s, sl, SCHED_FINISH_LENGTH, NULL);
}

/* The token's log-probability and the top alternatives, from the logits. */
static void logprobs(const float *logits, int n_vocab, int top, sched_token *tk)
{
    float mx = -INFINITY;
    for (int i = 0; i < n_vocab; i++)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (int i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - mx);
    const float lse = mx + (float)log(sum);
    tk->logprob = logits[tk->id] - lse;
    tk->n_top = 0;
    for (int i = 0; i < n_vocab; i++) { /* insertion into the sorted top list */
        if (tk->n_top == top && (top == 0 || logits[i] <= tk->top_logprob[top - 1])) continue;
        int k = tk->n_top < top ? tk->n_top++ : top - 1;
        while (k > 0 && tk->top_logprob[k - 1] < logits[i]) {
            tk->top_logprob[k] = tk->top_logprob[k - 1];
            tk->top_id[k] = tk->top_id[k - 1];
            k--;
        }
        tk->top_logprob[k] = logits[i];
        tk->top_id[k] = i;
    }
    for (int k = 0; k < tk->n_top; k++) tk->top_logprob[k] -= lse;
}

/* Sample the slot's next token from logits and hand its text over; pos:
 * the sequence's length once the token before it is cached (without
 * drafts after it). */
static void slot_token(sched *s, slot *sl, const float *logits, int pos)
{
    sched_job *j = sl->job;
    const mote_token t = mote_sampler_sample(sl->smp, logits);
    if (t < 0) {
        slot_end(s, sl, SCHED_FINISH_ERROR, mote_last_error());
        return;
    }
    mote_sampler_accept(sl->smp, t);
    sl->n_gen++;
    const int eog = mote_token_is_eog(s->model, t);
    sched_token tk = {.id = t};
    if (j->top_logprobs >= 0 && !eog) logprobs(logits, s->n_vocab, j->top_logprobs, &tk);
    char piece[PIECE_CAP];
    size_t n = 0;
    if (!eog && mote_token_to_piece(s->model, t, 0, piece, sizeof piece, &n) != MOTE_OK) n = 0;

    sched_finish why = SCHED_RUNNING;
    const char *error = NULL;
    /* The counters change under s->lock before the consumer can learn of
     * the end: a client that reads /metrics after its answer sees them. */
    pthread_mutex_lock(&s->lock);
    pthread_mutex_lock(&j->lock);
    j->n_generated = sl->n_gen;
    j->t_last = now_s();
    if (sl->n_gen == 1) j->t_first = j->t_last;
    if (j->top_logprobs >= 0 && !eog) {
        if (j->n_tokens == j->cap_tokens) {
            const int cap = j->cap_tokens ? 2 * j->cap_tokens : 16;
            sched_token *p = realloc(j->tokens, (size_t)cap * sizeof *p);
            if (p) j->tokens = p, j->cap_tokens = cap;
        }
        if (j->n_tokens < j->cap_tokens) j->tokens[j->n_tokens++] = tk;
        else why = SCHED_FINISH_ERROR, error = "out of memory";
    }
    const size_t before = j->len;
    if (eog) why = SCHED_FINISH_STOP;
    else if (text_append(j, piece, n) != 0) why = SCHED_FINISH_ERROR, error = "out of memory";
    if (why == SCHED_RUNNING) {
        const long at = find_stop(j, before);
        if (at >= 0) {
            j->len = (size_t)at;
            j->text[j->len] = '\0';
            why = SCHED_FINISH_STOP;
        } else if ((j->max_tokens >= 0 && sl->n_gen >= j->max_tokens) ||
                   pos >= s->n_ctx) {
            why = SCHED_FINISH_LENGTH;
        } else {
            j->ready = ready_len(j);
            if (j->ready > j->taken || j->n_tokens > j->tokens_taken) job_signal(j);
        }
    }
    if (why != SCHED_RUNNING) job_end(j, why, error);
    pthread_mutex_unlock(&j->lock);
    s->n_generated_tokens++;
    if (why != SCHED_RUNNING) slot_free(s, sl);
    pthread_mutex_unlock(&s->lock);
    if (why == SCHED_RUNNING) {
        sl->last = t;
        /* verification passes compute each of its tokens as one-token decoding does */
        if (!sl->generating && s->cfg.lookup) mote_seq_set_alone(s->session, sl->seq, 1);
        sl->generating = 1;
    }
}

/* Lookup's drafts after the slot's `last`, at most room, none past the
 * context or the job's max_tokens. */
static int slot_drafts(sched *s, slot *sl, int room)
{
    if (!s->cfg.lookup || (s->auto_on && !sl->adaptive)) return 0;
    int n = 0;
    const mote_token *cached = mote_seq_tokens(s->session, sl->seq, &n);
    int k = s->cfg.lookup < room ? s->cfg.lookup : room;
    if (s->n_ctx - n - 1 < k) k = s->n_ctx - n - 1;
    if (sl->job->max_tokens >= 0 && sl->job->max_tokens - sl->n_gen - 1 < k) k = sl->job->max_tokens - sl->n_gen - 1;
    if (k <= 0) return 0;
    if (n > 0) memcpy(s->ctx, cached, sizeof *cached * (size_t)n);
    s->ctx[n] = sl->last;
    if (sl->adaptive) return mote_lookup_draft_adaptive(&sl->spec, s->cost, s->ctx, n + 1, k, sl->draft);
    return mote_lookup_draft(s->ctx, n + 1, 0, 0, k, sl->draft);
}

/* Draw the slot's tokens from its rows of the step (generate.c's rule):
 * on while the token drawn is the next draft. The rows of the drafts not
 * drawn are to leave the cache (sl->cut), once every slot has read its
 * rows: a sequence operation ends the step's outputs. */
static void slot_verify(sched *s, slot *sl)
{
    const int k = sl->n_draft, base = sl->base;
    int i = 0;
    for (;; i++) {
        slot_token(s, sl, mote_session_logits(s->session, sl->out_i + i), base + 1 + i);
        if (!sl->job || i == k || sl->last != sl->draft[i]) break;
    }
    const int accepted = i < k ? i : k;
    sl->cut = i < k ? base + 1 + i : -1;
    pthread_mutex_lock(&s->lock);
    s->n_drafted += k;
    s->n_accepted += accepted;
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------------
 * The scheduler's thread
 * ---------------------------------------------------------------------- */

/* One forward pass over every running slot. */
static void step(sched *s)
{
    mote_batch_clear(&s->batch);
    int budget = s->n_batch, extra = s->n_batch; /* extra: room for drafts, a token kept for each stream */
    for (int i = 0; i < s->cfg.n_parallel; i++) extra -= s->slots[i].job && s->slots[i].generating;
    for (int i = 0; i < s->cfg.n_parallel; i++) {
        slot *sl = &s->slots[i];
        sl->out_i = -1;
        sl->feeding = 0;
        sl->verifying = 0;
        if (!sl->job || !sl->generating) continue;
        sl->out_i = s->batch.n;
        sl->verifying = 1;
        sl->cut = -1;
        sl->base = mote_seq_pos(s->session, sl->seq);
        mote_batch_add(&s->batch, sl->last, sl->seq, -1, 1);
        sl->n_draft = slot_drafts(s, sl, extra);
        for (int d = 0; d < sl->n_draft; d++) mote_batch_add(&s->batch, sl->draft[d], sl->seq, -1, 1);
        extra -= sl->n_draft;
        budget -= 1 + sl->n_draft;
    }
    for (int i = 0; i < s->cfg.n_parallel && budget > 0; i++) {
        slot *sl = &s->slots[i];
        if (!sl->job || sl->generating) continue;
        const sched_job *j = sl->job;
        int take = j->n_prompt - sl->n_fed;
        if (take > budget) take = budget;
        for (int k = 0; k < take; k++) {
            const int p = sl->n_fed + k;
            if (p == j->n_prompt - 1) sl->out_i = s->batch.n;
            mote_batch_add(&s->batch, j->prompt[p], sl->seq, -1, p == j->n_prompt - 1);
        }
        sl->feeding = take;
        budget -= take;
    }
    if (s->batch.n == 0) return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const mote_status st = mote_session_decode(s->session, &s->batch);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&s->lock);
    s->busy_seconds += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->cfg.n_parallel; i++) {
        slot *sl = &s->slots[i];
        if (!sl->job || (sl->out_i < 0 && !sl->feeding)) continue;
        if (st != MOTE_OK) {
            slot_end(s, sl, SCHED_FINISH_ERROR, mote_last_error());
            continue;
        }
        sl->n_fed += sl->feeding;
        if (sl->feeding) {
            pthread_mutex_lock(&s->lock);
            s->n_prompt_tokens += sl->feeding;
            pthread_mutex_unlock(&s->lock);
        }
        if (sl->verifying) slot_verify(s, sl);
        else if (sl->out_i >= 0)
            slot_token(s, sl, mote_session_logits(s->session, sl->out_i), mote_seq_pos(s->session, sl->seq));
    }
    for (int i = 0; i < s->cfg.n_parallel; i++) {
        slot *sl = &s->slots[i];
        if (!sl->verifying || sl->cut < 0 || st != MOTE_OK) continue;
        if (mote_seq_truncate(s->session, sl->seq, sl->cut) != MOTE_OK && sl->job)
            slot_end(s, sl, SCHED_FINISH_ERROR, mote_last_error());
    }
}

/* End the jobs whose consumer has gone: released, or parked with its peer
 * closed. */
static void reap_cancelled(sched *s)
{
    for (int i = 0; i < s->cfg.n_parallel; i++) {
        slot *sl = &s->slots[i];
        if (!sl->job) continue;
        sched_job *j = sl->job;
        int gone = atomic_load(&j->cancel);
        if (!gone) {
            pthread_mutex_lock(&j->lock);
            gone = j->parked && j->peer_closed && j->peer_closed(j->user);
            pthread_mutex_unlock(&j->lock);
        }
        if (gone) slot_end(s, sl, SCHED_FINISH_CANCELLED, NULL);
    }
}

/* Under s->lock: end every queued job and mark the running ones cancelled. */
static void cancel_everything(sched *s)
{
    while (s->head) {
        sched_job *j = s->head;
        s->head = j->next;
        j->queued = 0;
        s->n_queued--;
        pthread_mutex_lock(&j->lock);
        job_end(j, SCHED_FINISH_CANCELLED, NULL);
        pthread_mutex_unlock(&j->lock);
        job_unref(j);
    }
    s->tail = NULL;
    for (int i = 0; i < s->cfg.n_parallel; i++)
        if (s->slots[i].job) atomic_store(&s->slots[i].job->cancel, 1);
}

/* The free slot whose cache shares the longest prefix with j's prompt;
 * of those that share as much (none, often), the one used least recently:
 * the free slots' caches are an LRU of the prefixes last seen. */
static slot *best_slot(sched *s, const sched_job *j)
{
    slot *best = NULL;
    int best_len = -1;
    for (int i = 0; i < s->cfg.n_parallel; i++) {
        slot *sl = &s->slots[i];
        if (sl->job) continue;
        const int len = mote_seq_common_prefix(s->session, sl->seq, j->prompt, j->n_prompt);
        if (len > best_len || (len == best_len && sl->last_used < best->last_used)) best_len = len, best = sl;
    }
    return best;
}

/* Slots and the queue are this thread's: other threads only add to the
 * queue, take a job back out of it (release), and read the counters. */
static void *run(void *arg)
{
    sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && !s->cancel_all && s->n_queued == 0 && s->n_running == 0)
            pthread_cond_wait(&s->cond, &s->lock);
        const int stopping = s->stopping;
        if (s->cancel_all) {
            s->cancel_all = 0;
            cancel_everything(s);
        }
        /* one queued job for each free slot */
        int n_start = 0;
        while (s->head && s->n_running < s->cfg.n_parallel) {
            sched_job *j = s->head;
            s->head = j->next;
            if (!s->head) s->tail = NULL;
            j->queued = 0;
            s->n_queued--;
            s->n_running++;
            s->starting[n_start++] = j;
        }
        pthread_mutex_unlock(&s->lock);

        for (int k = 0; k < n_start; k++) slot_start(s, best_slot(s, s->starting[k]), s->starting[k]);
        reap_cancelled(s);
        if (stopping) break;
        step(s);
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * Creation and submission
 * ---------------------------------------------------------------------- */

/* A sampler's buffers per vocabulary entry, at most: candidates (8),
 * penalised logits, counts, grammar-masked logits (4 each). */
#define SAMPLER_BYTES_PER_TOKEN 20

/* The session a scheduler with cfg holds. */
static mote_session_params session_params(const sched_config *cfg)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = cfg->n_ctx;
    sp.n_threads = cfg->n_threads;
    sp.kv_type = cfg->kv_type;
    sp.n_seq_max = cfg->n_parallel;
    sp.n_outputs_max = cfg->n_parallel * (1 + cfg->lookup); /* a step samples a token per slot, and its drafts' */
    sp.n_batch = cfg->n_batch > 0 ? cfg->n_batch : SCHED_N_BATCH_DEFAULT;
    if (sp.n_batch < cfg->n_parallel) sp.n_batch = cfg->n_parallel;
    return sp;
}

/* cfg with lookup_auto settled for model: auto on where this machine's
 * profile has the model's pass costs (and says they pay, for greedy
 * requests alone), lookup then the most a draft holds; off otherwise.
 * cost gets the costs (may be NULL). */
static sched_config settle_auto(const mote_model *model, const sched_config *cfg, float *cost)
{
    sched_config c = *cfg;
    if (!c.lookup_auto) return c;
    mote_spec_profile prof;
    if (mote_spec_profile_get(model, &prof) != MOTE_OK) prof.found = 0; /* a broken profile: as without one */
    if (!prof.found || (c.lookup_auto == SCHED_AUTO_GREEDY && !prof.pays)) {
        c.lookup_auto = SCHED_AUTO_OFF;
        return c;
    }
    if (c.lookup == 0 || c.lookup > MOTE_SPEC_COST_N - 1) c.lookup = MOTE_SPEC_COST_N - 1;
    if (cost) memcpy(cost, prof.cost, sizeof prof.cost);
    return c;
}

int sched_plan(const mote_model *model, const sched_config *cfg_in, mote_memory *mem)
{
    if (cfg_in->n_parallel < 1) return -1;
    const sched_config settled = settle_auto(model, cfg_in, NULL), *cfg = &settled;
    const mote_session_params sp = session_params(cfg);
    if (mote_session_plan(model, &sp, mem) != MOTE_OK) return -1;
    /* the slots, the batch, and each stream's sampler */
    mem->heap += (uint64_t)cfg->n_parallel * (sizeof(slot) + sizeof(sched_job *)) +
                 (uint64_t)sp.n_batch * 4 * sizeof(int32_t) + (uint64_t)sp.n_batch +
                 (uint64_t)cfg->n_parallel * SAMPLER_BYTES_PER_TOKEN * (uint64_t)mote_vocab_size(model);
    if (cfg->lookup) /* drafts per slot, and a context's tokens (n_ctx 0: at most 4096) */
        mem->heap += ((uint64_t)cfg->n_parallel * (uint64_t)cfg->lookup + (sp.n_ctx > 0 ? sp.n_ctx : 4096) + 1) *
                     sizeof(mote_token);
    return 0;
}

int sched_create(mote_model *model, const sched_config *cfg_in, sched **out, char *err, size_t errcap)
{
    *out = NULL;
    if (cfg_in->n_parallel < 1 || cfg_in->queue_max < 0 || cfg_in->lookup < 0 || cfg_in->lookup > MOTE_DRAFT_MAX)
        return snprintf(err, errcap, "bad scheduler settings"), -1;
    sched *s = calloc(1, sizeof *s);
    if (!s) return snprintf(err, errcap, "out of memory"), -1;
    s->model = model;
    s->cfg = settle_auto(model, cfg_in, s->cost);
    s->auto_on = s->cfg.lookup_auto != SCHED_AUTO_OFF;
    const sched_config *cfg = &s->cfg;
    const mote_session_params sp = session_params(cfg);
    s->n_batch = sp.n_batch;
    s->n_vocab = mote_vocab_size(model);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (!(s->slots = calloc((size_t)cfg->n_parallel, sizeof *s->slots)) ||
        !(s->starting = calloc((size_t)cfg->n_parallel, sizeof *s->starting)) ||
        mote_batch_init(&s->batch, s->n_batch) != MOTE_OK) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    if (mote_session_create(model, &sp, &s->session) != MOTE_OK) {
        snprintf(err, errcap, "%s", mote_last_error());
        goto fail;
    }
    s->n_ctx = mote_session_n_ctx(s->session);
    for (int i = 0; i < cfg->n_parallel; i++) s->slots[i].seq = i;
    if (cfg->lookup) {
        int ok = (s->ctx = malloc(sizeof *s->ctx * ((size_t)s->n_ctx + 1))) != NULL;
        for (int i = 0; ok && i < cfg->n_parallel; i++)
            ok = (s->slots[i].draft = malloc(sizeof *s->slots[i].draft * (size_t)cfg->lookup)) != NULL;
        if (!ok) {
            snprintf(err, errcap, "out of memory");
            goto fail;
        }
    }
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        snprintf(err, errcap, "cannot start a thread");
        goto fail;
    }
    s->thread_started = 1;
    *out = s;
    return 0;
fail:
    sched_free(s);
    return -1;
}

int sched_n_ctx(const sched *s)
{
    return s->n_ctx;
}

void sched_cancel_all(sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->cancel_all = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}


void sched_free(sched *s)
{
    if (!s) return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->lock);
        s->stopping = 1;
        s->cancel_all = 1;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; s->slots && i < s->cfg.n_parallel; i++)
        if (s->slots[i].job) {
            pthread_mutex_lock(&s->slots[i].job->lock);
            job_end(s->slots[i].job, SCHED_FINISH_CANCELLED, NULL);
            pthread_mutex_unlock(&s->slots[i].job->lock);
            slot_free(s, &s->slots[i]);
        }
    for (int i = 0; s->slots && i < s->cfg.n_parallel; i++) free(s->slots[i].draft);
    free(s->slots);
    free(s->ctx);
    free(s->starting);
    mote_batch_free(&s->batch);
    mote_session_free(s->session);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int sched_submit(sched *s, const sched_job_params *p, sched_job **out, int *busy, char *err, size_t errcap)
{
    *out = NULL;
    *busy = 0;
    mote_grammar *grammar = p->grammar; /* ours now, whatever happens */
    if (p->n_prompt < 1 || p->n_prompt >= s->n_ctx || p->n_stop < 0 || p->n_stop > SCHED_STOP_MAX ||
        p->top_logprobs > SCHED_TOP_LOGPROBS_MAX || p->n_bias < 0 || p->n_bias > MOTE_LOGIT_BIAS_MAX)
        mote_grammar_free(grammar), grammar = NULL;
    if (p->n_prompt < 1) return snprintf(err, errcap, "the prompt is empty"), -1;
    if (p->n_prompt >= s->n_ctx)
        return snprintf(err, errcap, "the prompt has %d tokens and the context holds %d", p->n_prompt, s->n_ctx), -1;
    if (p->n_stop < 0 || p->n_stop > SCHED_STOP_MAX)
        return snprintf(err, errcap, "at most %d stop strings", SCHED_STOP_MAX), -1;
    if (p->top_logprobs > SCHED_TOP_LOGPROBS_MAX)
        return snprintf(err, errcap, "at most %d top log-probabilities", SCHED_TOP_LOGPROBS_MAX), -1;
    if (p->n_bias < 0 || p->n_bias > MOTE_LOGIT_BIAS_MAX)
        return snprintf(err, errcap, "at most %d biased tokens", MOTE_LOGIT_BIAS_MAX), -1;
    for (int i = 0; i < p->n_prompt; i++)
        if (p->prompt[i] < 0 || p->prompt[i] >= s->n_vocab) {
            mote_grammar_free(grammar);
            return snprintf(err, errcap, "token %d is outside the vocabulary", (int)p->prompt[i]), -1;
        }
    sched_job *j = calloc(1, sizeof *j);
    if (!j) return mote_grammar_free(grammar), snprintf(err, errcap, "out of memory"), -1;
    j->grammar = grammar;
    pthread_mutex_init(&j->lock, NULL);
    atomic_init(&j->refs, 2);
    atomic_init(&j->cancel, 0);
    j->owner = s;
    j->t_submit = now_s();
    j->n_prompt = p->n_prompt;
    j->max_tokens = p->max_tokens;
    j->sampling = p->sampling;
    j->top_logprobs = p->top_logprobs;
    j->park = p->park;
    j->wake = p->wake;
    j->peer_closed = p->peer_closed;
    j->user = p->user;
    int ok = (j->prompt = malloc((size_t)p->n_prompt * sizeof *j->prompt)) != NULL;
    if (ok) memcpy(j->prompt, p->prompt, (size_t)p->n_prompt * sizeof *j->prompt);
    if (ok && p->n_bias > 0) {
        j->bias_id = malloc((size_t)p->n_bias * sizeof *j->bias_id);
        j->bias = malloc((size_t)p->n_bias * sizeof *j->bias);
        if ((ok = j->bias_id && j->bias)) {
            memcpy(j->bias_id, p->bias_id, (size_t)p->n_bias * sizeof *j->bias_id);
            memcpy(j->bias, p->bias, (size_t)p->n_bias * sizeof *j->bias);
            j->n_bias = p->n_bias;
        }
    }
    for (int i = 0; ok && i < p->n_stop; i++) {
        const size_t n = strlen(p->stop[i]);
        if (n == 0 || n > SCHED_STOP_LEN_MAX) {
            snprintf(err, errcap, "a stop string must have 1 to %d bytes", SCHED_STOP_LEN_MAX);
            j->refs = 1;
            job_unref(j);
            return -1;
        }
        ok = (j->stop[i] = strdup(p->stop[i])) != NULL;
        j->stop_len[i] = n;
        j->n_stop = i + ok;
    }
    if (!ok) {
        j->refs = 1;
        job_unref(j);
        return snprintf(err, errcap, "out of memory"), -1;
    }
    pthread_mutex_lock(&s->lock);
    if (s->n_queued >= s->cfg.queue_max && s->n_running >= s->cfg.n_parallel) {
        pthread_mutex_unlock(&s->lock);
        j->refs = 1;
        job_unref(j);
        *busy = 1;
        return snprintf(err, errcap, "%d requests are waiting for this model; try again shortly", s->n_queued), -1;
    }
    j->queued = 1;
    if (s->tail) s->tail->next = j;
    else s->head = j;
    s->tail = j;
    s->n_queued++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    *out = j;
    return 0;
}

void sched_get_stats(sched *s, sched_stats *st)
{
    pthread_mutex_lock(&s->lock);
    st->queued = s->n_queued;
    st->running = s->n_running;
    st->n_prompt_tokens = s->n_prompt_tokens;
    st->n_generated_tokens = s->n_generated_tokens;
    st->n_drafted = s->n_drafted;
    st->n_accepted = s->n_accepted;
    st->busy_seconds = s->busy_seconds;
    st->n_parallel = s->cfg.n_parallel;
    mote_memory mem = {0};
    uint64_t per_pos = 0;
    st->kv_bytes = mote_session_memory(s->session, &mem, &per_pos) == MOTE_OK ? mem.kv : 0;
    pthread_mutex_unlock(&s->lock);
}
