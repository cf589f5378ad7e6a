/*
 * memory.h — the private memory as a library: a store folder, the
 * embedding model that fills it, and what `mote memory` does with them:
 * add files (walk folders, skip unchanged files by their hash, replace a
 * changed file's chunks, drop deleted files), search (BM25, vectors or
 * both fused), ask a model with the best chunks as numbered sources.
 *
 * A memory is used by one thread at a time. It prints nothing: progress
 * and per-file warnings go to the caller's callbacks.
 */
#ifndef MOTE_MEMORY_MEMORY_H
#define MOTE_MEMORY_MEMORY_H

#include <stdint.h>

#include "memory/doc.h"
#include "memory/ingest.h"
#include "memory/store.h"
#include "mote.h"

/* The store's meta key holding the embedding model's path. */
#define MEMORY_META_MODEL_PATH "embed_model_path"

typedef struct memory memory;

typedef struct memory_opts {
    const char *dir;           /* the store's folder (created 0700) */
    const char *embed_model;   /* GGUF path, or NULL: the one the store remembers */
    const uint8_t *key;        /* 32-byte vault key: an encrypted store; NULL: plain */
    int create;                /* 1: a missing store is made; 0: MOTE_E_IO */
    int n_threads;             /* 0: the whole pool */
    mem_ingest_opts ingest;    /* chunking and limits */
} memory_opts;

memory_opts memory_default_opts(void);

/* Where an add is, for a progress line. */
typedef struct memory_progress {
    const char *path;          /* the file being read */
    int64_t files_done, files_total;
    int64_t bytes_done, bytes_total; /* of the files to read (unchanged ones skipped) */
    int64_t chunks;            /* embedded and stored so far */
} memory_progress;

typedef struct memory_callbacks {
    /* Called before each file and after each is stored; nonzero stops
     * the add (MOTE_E_CANCELLED; files stored so far stay). */
    int (*progress)(void *user, const memory_progress *p);
    /* A file that was skipped or only partly read: its path and why. */
    void (*warn)(void *user, const char *path, const char *message);
    void *user;
} memory_callbacks;

typedef struct memory_add_stats {
    int64_t files;             /* supported files found */
    int64_t added, updated, unchanged, removed, failed, skipped; /* skipped: not a supported file */
    int64_t chunks, bytes;     /* stored by this add */
    double seconds, embed_seconds;
} memory_add_stats;

/* Open the memory of o->dir. The embedding model is opened when first
 * needed (an add, a search with vectors); the store remembers its path. */
mote_status memory_open(const memory_opts *o, memory **out);
void memory_close(memory *m);
mem_store *memory_store(memory *m);
/* The embedding model's path in use or remembered, or NULL. */
const char *memory_model_path(const memory *m);

/* Add paths (files and folders, walked recursively; dot-folders are
 * skipped, a Maildir's cur/ and new/ are read as mail). A file whose
 * content hash is stored is skipped; a changed one replaces its chunks;
 * stored sources under a given folder (or a given file) that are gone
 * are removed. cb may be NULL; st (may be NULL) gets the counts. A file
 * that fails is a warning and the add goes on; the call fails only for
 * the memory itself (the store, the model). */
mote_status memory_add(memory *m, const char *const *paths, int n, const memory_callbacks *cb,
                       memory_add_stats *st);
/* One file as memory_add sees it (watch): *changed 1 if it was stored. A
 * path that is gone is removed. */
mote_status memory_add_file(memory *m, const char *path, const memory_callbacks *cb, int *changed);

/* Forget path: a file, or every file under a folder, whether they exist
 * or not; *n: how many were stored. */
mote_status memory_forget(memory *m, const char *path, int64_t *n);
/* Whether the memory is encrypted (opened with a key). */
int memory_encrypted(const memory *m);

/* Search: q's filters and mode, text and (unless BM25 only) the text's
 * embedding; hits as mem_store_search. Without an embedding model a
 * hybrid search is BM25 alone. */
mote_status memory_search(memory *m, const mem_query *q, mem_hit *hits, int k, int *n_hits);

typedef struct memory_ask_opts {
    const char *model;         /* the generating model's GGUF path */
    int k;                     /* chunks retrieved (default 6) */
    int max_tokens;            /* of the answer (default 512) */
    int n_ctx;                 /* 0: the model's, at most 4096 */
    float temperature;         /* default 0: greedy */
    mote_token_fn on_token;    /* the answer as it comes (may be NULL) */
    void *user;
} memory_ask_opts;

memory_ask_opts memory_default_ask_opts(void);

typedef struct memory_answer {
    char *text;                /* the answer (malloc'd) */
    mem_hit *sources;          /* (n_sources) the chunks the prompt held, [1].. in order */
    int n_sources;
    int *cited;                /* (n_sources) 1: the answer cites [i + 1] */
    int n_prompt, n_generated; /* tokens */
} memory_answer;

/* Retrieve the question's best chunks (hybrid), put as many as fit the
 * model's context into the prompt as numbered sources, and answer through
 * the model's chat template (a plain prompt when it has none). */
mote_status memory_ask(memory *m, const char *question, const memory_ask_opts *o, memory_answer *out);
void memory_answer_free(memory_answer *a);

/* The system message of an ask: the instructions (answer from the
 * sources only, cite them as [n]) and sources [1]..[n] with their
 * citations and texts (malloc'd; NULL when out of memory). */
char *memory_system_text(const mem_hit *hits, int n);

/* Where a hit is, for people: "path:12-30" (text, Markdown, HTML), "path
 * pp. 2-3" (PDF), "path <message-id> 2026-11-21 14:05 UTC" (mail),
 * "path:40-99 2026-11-21 14:00–15:00 UTC" (sensor windows). */
void memory_cite(const mem_hit *h, char *buf, size_t cap);

/* A time filter's bound: Unix seconds, or an ISO date "2026-11-21",
 * "2026-11-21T14:00", "2026-11-21 14:00:05" (UTC). 0 or -1. */
int memory_parse_time(const char *s, int64_t *out);
/* An enum mem_kind from its name (text, markdown, html, pdf, mail,
 * sensor). 0 or -1. */
int memory_parse_kind(const char *s, int *out);
struct cJSON;
/* A hit as a JSON object: rank, chunk_id, score, rank_bm25, rank_vector,
 * citation, source, kind, text; title, line_lo/line_hi, message_id,
 * t_lo/t_hi when it has them. */
struct cJSON *memory_hit_json(const mem_hit *h, int rank);

#endif
