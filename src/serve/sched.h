/*
 * sched.h — the generation scheduler of one served model.
 *
 * A scheduler owns one session with n_parallel sequences (slots) and one
 * thread. Jobs (a prompt, sampling settings, limits) wait in a bounded
 * queue; each free slot takes the next one. Every step evaluates one
 * batch: the next token of each generating slot and pieces of the prompts
 * being read, so that streams advance together (continuous batching). A
 * new job goes to the free slot whose cached tokens share the longest
 * prefix with its prompt (else the one used least recently: free slots
 * keep their caches, an LRU of recent prefixes); if another slot, even a
 * busy one, shares a longer prefix, its keys and values are copied over.
 * Only the rest of the prompt is evaluated.
 *
 * The thread sleeps on a condition variable while no job is queued or
 * running: an idle scheduler costs no CPU.
 *
 * Output. The job's text grows as tokens are sampled; the consumer takes
 * what is ready with sched_job_take. Text is held back while it could be
 * the start of a stop string or ends inside a UTF-8 character, so a stop
 * string never reaches the consumer even when it spans tokens.
 *
 * The consumer is usually an HTTP connection driven by an event loop that
 * must not block. sched_job_take can "park" the consumer (the callback
 * suspends the connection) when nothing is ready; the scheduler "wakes"
 * it when output arrives or the job ends. Both callbacks run under the
 * job's lock, so a wake can never be lost between a take and a park.
 * While the consumer is parked the scheduler asks peer_closed after each
 * step; a closed peer cancels the job (the CPU stops at the next token).
 */
#ifndef MOTE_SERVE_SCHED_H
#define MOTE_SERVE_SCHED_H

#include <stddef.h>

#include "mote.h"

#define SCHED_TOP_LOGPROBS_MAX 20  /* most alternatives a token reports */
#define SCHED_STOP_MAX 16          /* stop strings a job may have */
#define SCHED_STOP_LEN_MAX 256     /* bytes of one stop string */

typedef struct sched_config {
    int n_ctx;       /* positions per slot; 0: the model's, at most 4096 */
    int n_threads;   /* 0: the whole pool */
    int kv_type;     /* enum mote_kv_type */
    int n_parallel;  /* slots (sequences generating at once) */
    int n_batch;     /* tokens per step; 0: 512 */
    int queue_max;   /* jobs waiting for a slot; more are refused */
    int lookup;      /* speculative decoding: draft up to this many tokens per stream and step by
                      * prompt lookup (mote_lookup_draft), verified in the step's pass; 0: off.
                      * The text is the same as without. */
    int lookup_auto; /* SCHED_AUTO_*: drafts of the length that pays (mote_lookup_draft_adaptive) by
                      * this machine's profile for the model; lookup (0: 8) is then the most */
} sched_config;

enum {
    SCHED_AUTO_OFF = 0,
    SCHED_AUTO_GREEDY = 1, /* greedy requests (temperature 0), where the profile says lookup can pay */
    SCHED_AUTO_ALL = 2,    /* every request, where the profile has the model's pass costs */
};

typedef enum sched_finish {
    SCHED_RUNNING = 0,
    SCHED_FINISH_STOP,      /* an end-of-generation token or a stop string */
    SCHED_FINISH_LENGTH,    /* max_tokens, or the context is full */
    SCHED_FINISH_CANCELLED, /* released or peer closed before the end */
    SCHED_FINISH_ERROR,     /* evaluation failed: see the error text */
} sched_finish;

typedef struct sched_job_params {
    const mote_token *prompt;  /* copied; at least one token */
    int n_prompt;
    int max_tokens;            /* -1: until the context is full */
    mote_sampler_params sampling;
    const char *const *stop;   /* copied; each 1..SCHED_STOP_LEN_MAX bytes */
    int n_stop;                /* at most SCHED_STOP_MAX */
    int top_logprobs;          /* -1: no log-probabilities; else alternatives
                                * per token, 0..SCHED_TOP_LOGPROBS_MAX */
    mote_grammar *grammar;     /* constrains the output, or NULL; the job
                                * takes it over (also when submit fails) */
    const mote_token *bias_id; /* copied: mote_sampler_set_logit_bias's lists */
    const float *bias;
    int n_bias;                /* 0..MOTE_LOGIT_BIAS_MAX */
    /* The consumer's callbacks (any may be NULL); see the file comment. */
    void (*park)(void *user);
    void (*wake)(void *user);
    int (*peer_closed)(void *user);
    void *user;
} sched_job_params;

/* A sampled token, with log-probabilities when the job asked for them
 * (under the model's distribution, before sampling's filters). */
typedef struct sched_token {
    mote_token id;
    float logprob;
    int n_top;
    mote_token top_id[SCHED_TOP_LOGPROBS_MAX];
    float top_logprob[SCHED_TOP_LOGPROBS_MAX];
} sched_token;

/* What sched_job_take hands over: the text and tokens since the last take
 * (malloc'd, the caller frees them), and the job's state. */
typedef struct sched_output {
    char *text;
    size_t len;
    sched_token *tokens;  /* only when the job asked for logprobs */
    int n_tokens;
    sched_finish finish;  /* SCHED_RUNNING until every byte has been taken */
    int n_prompt;         /* usage: prompt tokens, generated tokens */
    int n_generated;
    int n_cached;         /* prompt tokens that were already in the slot */
    double queue_ms;      /* timings: waiting for a slot, */
    double prompt_ms;     /* from the slot to the first token, */
    double gen_ms;        /* from the first token to the last */
    char error[256];      /* SCHED_FINISH_ERROR: what failed */
} sched_output;

typedef struct sched sched;
typedef struct sched_job sched_job;

/* Create a session for model (which must outlive the scheduler) and start
 * its thread. 0, or -1 with err filled. */
int sched_create(mote_model *model, const sched_config *cfg, sched **out, char *err, size_t errcap);
/* The memory a scheduler created with cfg would hold (kv, scratch, heap:
 * its session's plan and its own tables), before it exists. 0, or -1
 * (mote_last_error says why). */
int sched_plan(const mote_model *model, const sched_config *cfg, mote_memory *mem);
/* End every job, queued or running, as cancelled (their consumers are
 * woken); the scheduler stays ready for new ones. */
void sched_cancel_all(sched *s);
/* Cancel every job, join the thread, free the session. Every job must have
 * been released. */
void sched_free(sched *s);
/* Positions per slot. */
int sched_n_ctx(const sched *s);

/* Queue a job. 0: *out holds it (release it with sched_job_release); -1:
 * *busy set when the queue is full (try later), else the job is invalid;
 * err says why. */
int sched_submit(sched *s, const sched_job_params *p, sched_job **out, int *busy, char *err, size_t errcap);

/* Take what is ready (see sched_output). Returns 1 when it took something
 * or the job has ended, 0 when nothing is ready (then, if park is
 * nonzero, the consumer's park callback has been called). -1: out of
 * memory. */
int sched_job_take(sched_job *j, sched_output *out, int park);
void sched_output_free(sched_output *out);

/* The consumer is done with the job: cancel it if it is still running.
 * No callback is called after this returns. */
void sched_job_release(sched_job *j);

typedef struct sched_stats {
    int queued;      /* jobs waiting for a slot */
    int running;     /* jobs in slots */
    long long n_prompt_tokens, n_generated_tokens;  /* since start */
    long long n_drafted, n_accepted;   /* lookup: tokens drafted and accepted, since start */
    double busy_seconds;     /* in forward passes, since start */
    int n_parallel;          /* slots */
    unsigned long long kv_bytes; /* the session's KV cache */
} sched_stats;
void sched_get_stats(sched *s, sched_stats *st);

#endif
