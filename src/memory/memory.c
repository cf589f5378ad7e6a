/*
 * memory.c — the private memory as a library (see memory.h): the store,
 * the embedding model, adding, searching and asking.
 */
#include "memory/memory.h"

#include <dirent.h>
#include <stdarg.h>
#include <unistd.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/status.h"
#include "memory/vault.h"

#define DEFAULT_K 6
#define DEFAULT_MAX_TOKENS 512
#define ASK_CTX_MAX 4096
#define EMBED_BATCH 32 /* chunks embedded per call */

struct memory {
    char *dir;
    mem_store *store;
    mem_vault *vault;        /* NULL: a plain store */
    char *model_path;        /* the embedding model's, absolute, or NULL */
    mote_model *model;       /* opened when first needed */
    mote_embedder *embedder;
    int n_threads;
    mem_ingest_opts ingest;
};

memory_opts memory_default_opts(void)
{
    return (memory_opts){.create = 1, .ingest = mem_ingest_defaults()};
}

memory_ask_opts memory_default_ask_opts(void)
{
    return (memory_ask_opts){.k = DEFAULT_K, .max_tokens = DEFAULT_MAX_TOKENS};
}

mem_store *memory_store(memory *m) { return m->store; }
const char *memory_model_path(const memory *m) { return m->model_path; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------
 * Open and close
 * ---------------------------------------------------------------------- */

void memory_close(memory *m)
{
    if (!m) return;
    mem_store_close(m->store);
    mem_vault_free(m->vault);
    mote_embedder_free(m->embedder);
    mote_model_close(m->model);
    free(m->model_path);
    free(m->dir);
    free(m);
}

mote_status memory_open(const memory_opts *o, memory **out)
{
    *out = NULL;
    if (!o || !o->dir || !*o->dir) return mote_fail(MOTE_E_INVALID, "memory: no store folder");
    struct stat sb;
    if (!o->create && stat(o->dir, &sb) != 0)
        return mote_fail(MOTE_E_IO, "memory: %s: no memory there yet (mote memory add makes it)", o->dir);
    memory *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(o->dir))) {
        free(m);
        return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    }
    m->n_threads = o->n_threads;
    m->ingest = o->ingest.chunk_target ? o->ingest : mem_ingest_defaults();
    mote_status st = MOTE_OK;
    mem_store_opts so = {0};
    if (o->key) {
        st = mem_vault_new(o->key, &m->vault);
        so.vault = m->vault;
    }
    if (st == MOTE_OK) st = mem_store_open(o->dir, &so, &m->store);
    if (st == MOTE_OK && o->embed_model) {
        char abs[PATH_MAX];
        if (!realpath(o->embed_model, abs)) st = mote_fail(MOTE_E_IO, "memory: embedding model %s: %s", o->embed_model, strerror(errno));
        else if (!(m->model_path = strdup(abs))) st = mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    } else if (st == MOTE_OK) {
        char path[PATH_MAX];
        int found = 0;
        st = mem_store_meta_get(m->store, MEMORY_META_MODEL_PATH, path, sizeof path, &found);
        if (st == MOTE_OK && found && !(m->model_path = strdup(path))) st = mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    }
    if (st != MOTE_OK) {
        memory_close(m);
        return st;
    }
    *out = m;
    return MOTE_OK;
}

/* The embedding model, opened once; the store is told which it is (its
 * file's name and dimension: vectors of another model are refused). */
static mote_status need_embedder(memory *m)
{
    if (m->embedder) return MOTE_OK;
    if (!m->model_path)
        return mote_fail(MOTE_E_INVALID, "memory: %s has no embedding model yet: give one (--embed-model FILE); "
                         "the memory remembers it", m->dir);
    mote_model_params mp = mote_model_default_params();
    MOTE_TRY(mote_model_open(m->model_path, &mp, &m->model));
    mote_embed_params ep = mote_embed_default_params();
    ep.n_threads = m->n_threads;
    ep.truncate = 1; /* a chunk longer than the model's context keeps its beginning */
    MOTE_TRY(mote_embedder_create(m->model, &ep, &m->embedder));
    const char *base = strrchr(m->model_path, '/');
    MOTE_TRY(mem_store_embedder(m->store, base ? base + 1 : m->model_path, mote_embedder_dim(m->embedder)));
    return mem_store_meta_set(m->store, MEMORY_META_MODEL_PATH, m->model_path);
}

/* ------------------------------------------------------------------------
 * Adding
 * ---------------------------------------------------------------------- */

/* The paths an add found (absolute, sorted afterwards for lookups). */
typedef struct path_list {
    char **p;
    int64_t n, cap;
    int64_t *bytes; /* file sizes */
} path_list;

static mote_status list_push(path_list *l, const char *path, int64_t size)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->p, sizeof *p * (size_t)cap);
        if (p) l->p = p;
        int64_t *b = realloc(l->bytes, sizeof *b * (size_t)cap);
        if (b) l->bytes = b;
        if (!p || !b) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
        l->cap = cap;
    }
    if (!(l->p[l->n] = strdup(path))) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    l->bytes[l->n++] = size;
    return MOTE_OK;
}

static void list_free(path_list *l)
{
    for (int64_t i = 0; i < l->n; i++) free(l->p[i]);
    free(l->p);
    free(l->bytes);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_has(const path_list *sorted, const char *path)
{
    return bsearch(&path, sorted->p, (size_t)sorted->n, sizeof *sorted->p, cmp_str) != NULL;
}

/* Every regular file under dir (dot-entries skipped; a Maildir's tmp/
 * too: messages there are not delivered yet). */
static mote_status walk(const char *dir, path_list *out, int depth)
{
    if (depth > 64) return MOTE_OK; /* a loop of bind mounts */
    DIR *d = opendir(dir);
    if (!d) return MOTE_OK;         /* unreadable: nothing to add from it */
    const int maildir = mem_is_maildir(dir);
    struct dirent *e;
    mote_status st = MOTE_OK;
    while (st == MOTE_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (maildir && strcmp(e->d_name, "tmp") == 0) continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        struct stat sb;
        if (lstat(path, &sb) != 0) continue; /* symbolic links are not followed */
        if (S_ISDIR(sb.st_mode)) st = walk(path, out, depth + 1);
        else if (S_ISREG(sb.st_mode)) st = list_push(out, path, sb.st_size);
    }
    closedir(d);
    return st;
}

static void warn(const memory_callbacks *cb, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(const memory_callbacks *cb, const char *path, const char *fmt, ...)
{
    if (!cb || !cb->warn) return;
    if (strcmp(fmt, "%s") == 0) { /* a message as it is, however long */
        va_list ap;
        va_start(ap, fmt);
        cb->warn(cb->user, path, va_arg(ap, const char *));
        va_end(ap);
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cb->warn(cb->user, path, msg);
}

/* The text embedded for a chunk: its title (a heading path, a subject, a
 * series) on the line before its text. */
static char *embed_text(const mem_chunk *c)
{
    const size_t t = c->title ? strlen(c->title) : 0, n = strlen(c->text);
    char *s = malloc(t + n + 2);
    if (!s) return NULL;
    if (t) memcpy(s, c->title, t), s[t] = '\n';
    memcpy(s + (t ? t + 1 : 0), c->text, n + 1);
    return s;
}

/* Embed doc's chunks into vec (n_chunks x dim). */
static mote_status embed_doc(memory *m, const mem_doc *doc, float *vec)
{
    const int dim = mote_embedder_dim(m->embedder);
    char *texts[EMBED_BATCH];
    mote_status st = MOTE_OK;
    for (int i = 0; st == MOTE_OK && i < doc->n_chunks; i += EMBED_BATCH) {
        const int n = doc->n_chunks - i < EMBED_BATCH ? doc->n_chunks - i : EMBED_BATCH;
        int made = 0;
        for (; made < n; made++)
            if (!(texts[made] = embed_text(&doc->chunks[i + made]))) break;
        st = made < n ? mote_fail(MOTE_E_NOMEM, "memory: out of memory")
                      : mote_embed(m->embedder, (const char *const *)texts, NULL, n, vec + (size_t)i * dim, NULL);
        for (int j = 0; j < made; j++) free(texts[j]);
    }
    return st;
}

/* Ingest, embed and store one file whose hash differs from the stored
 * one. *chunks: how many were stored. A file that cannot be read is a
 * warning (MOTE_OK, *chunks -1); failures of the store or the model are
 * returned. */
static mote_status store_file(memory *m, const char *path, const char *hash, const struct stat *sb,
                              const memory_callbacks *cb, int *chunks, double *embed_s)
{
    *chunks = -1;
    mem_doc doc;
    mote_status st = mem_ingest_file(path, &m->ingest, &doc);
    if (st != MOTE_OK) {
        if (st != MOTE_E_UNSUPPORTED) warn(cb, path, "%s", mote_last_error());
        return MOTE_OK;
    }
    if (doc.warnings) warn(cb, path, "%s", doc.warnings);
    const int dim = mote_embedder_dim(m->embedder);
    float *vec = doc.n_chunks ? malloc(sizeof(float) * (size_t)doc.n_chunks * (size_t)dim) : NULL;
    if (doc.n_chunks && !vec) st = mote_fail(MOTE_E_NOMEM, "memory: %s: out of memory for %d vectors", path, doc.n_chunks);
    const double t0 = now_s();
    if (st == MOTE_OK) st = embed_doc(m, &doc, vec);
    *embed_s += now_s() - t0;
    mem_source_stamp stamp = {.hash = hash, .size = sb->st_size, .mtime = sb->st_mtime};
    if (st == MOTE_OK) st = mem_store_put(m->store, &doc, &stamp, vec, doc.n_chunks ? dim : 0);
    if (st == MOTE_OK) *chunks = doc.n_chunks;
    free(vec);
    mem_doc_free(&doc);
    return st;
}

/* Add one file (absolute path): unchanged, stored, or failed. */
static mote_status add_one(memory *m, const char *path, const memory_callbacks *cb, memory_add_stats *s)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        warn(cb, path, "cannot read: %s", strerror(errno));
        s->failed++;
        return MOTE_OK;
    }
    enum mem_kind kind;
    if (mem_ingest_kind(path, &kind) != MOTE_OK) {
        s->skipped++;
        return MOTE_OK;
    }
    s->files++;
    char hash[MEM_HASH_HEX + 1], old[MEM_HASH_HEX + 1];
    int exists = 0;
    if (mem_hash_file(path, hash) != MOTE_OK) {
        warn(cb, path, "%s", mote_last_error());
        s->failed++;
        return MOTE_OK;
    }
    MOTE_TRY(mem_store_source_state(m->store, path, old, &exists));
    if (exists && strcmp(old, hash) == 0) {
        s->unchanged++;
        return MOTE_OK;
    }
    MOTE_TRY(need_embedder(m));
    int chunks;
    MOTE_TRY(store_file(m, path, hash, &sb, cb, &chunks, &s->embed_seconds));
    if (chunks < 0) {
        s->failed++;
        return MOTE_OK;
    }
    if (exists) s->updated++;
    else s->added++;
    s->chunks += chunks;
    s->bytes += sb.st_size;
    return MOTE_OK;
}

/* Remove the stored sources under prefix that the walk did not find. */
static mote_status drop_missing(memory *m, const char *prefix, const path_list *found, memory_add_stats *s)
{
    mem_source_info *src;
    int n;
    MOTE_TRY(mem_store_sources(m->store, prefix, &src, &n));
    mote_status st = MOTE_OK;
    for (int i = 0; st == MOTE_OK && i < n; i++) {
        struct stat sb;
        if (list_has(found, src[i].path) || stat(src[i].path, &sb) == 0) continue;
        int removed = 0;
        st = mem_store_remove(m->store, src[i].path, &removed);
        s->removed += removed;
    }
    mem_sources_free(src, n);
    return st;
}

mote_status memory_add(memory *m, const char *const *paths, int n, const memory_callbacks *cb, memory_add_stats *out)
{
    memory_add_stats s = {0};
    const double t0 = now_s();
    path_list files = {0}, folders = {0};
    mote_status st = MOTE_OK;
    for (int i = 0; st == MOTE_OK && i < n; i++) {
        char abs[PATH_MAX];
        struct stat sb;
        if (!realpath(paths[i], abs) || stat(abs, &sb) != 0) { /* gone: forgotten */
            int64_t gone = 0;
            st = memory_forget(m, paths[i], &gone);
            s.removed += gone;
            if (st == MOTE_OK && !gone) warn(cb, paths[i], "no such file or folder");
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            st = list_push(&folders, abs, 0);
            if (st == MOTE_OK) st = walk(abs, &files, 0);
        } else {
            st = list_push(&files, abs, sb.st_size);
        }
    }
    int64_t total = 0;
    for (int64_t i = 0; i < files.n; i++) total += files.bytes[i];
    memory_progress p = {.files_total = files.n, .bytes_total = total};
    for (int64_t i = 0; st == MOTE_OK && i < files.n; i++) {
        p.path = files.p[i];
        if (cb && cb->progress && cb->progress(cb->user, &p)) st = mote_fail(MOTE_E_CANCELLED, "memory: add cancelled");
        if (st == MOTE_OK) st = add_one(m, files.p[i], cb, &s);
        p.files_done = i + 1;
        p.bytes_done += files.bytes[i];
        p.chunks = s.chunks;
    }
    if (st == MOTE_OK && cb && cb->progress) cb->progress(cb->user, &p);
    qsort(files.p, (size_t)files.n, sizeof *files.p, cmp_str); /* (bytes no longer needed) */
    for (int64_t i = 0; st == MOTE_OK && i < folders.n; i++) {
        char prefix[PATH_MAX + 1];
        snprintf(prefix, sizeof prefix, "%s/", folders.p[i]);
        st = drop_missing(m, prefix, &files, &s);
    }
    list_free(&files);
    list_free(&folders);
    s.seconds = now_s() - t0;
    if (out) *out = s;
    return st;
}

mote_status memory_add_file(memory *m, const char *path, const memory_callbacks *cb, int *changed)
{
    memory_add_stats s = {0};
    *changed = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int removed = 0;
        MOTE_TRY(mem_store_remove(m->store, path, &removed));
        *changed = removed;
        return MOTE_OK;
    }
    MOTE_TRY(add_one(m, path, cb, &s));
    *changed = s.added + s.updated > 0;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Searching
 * ---------------------------------------------------------------------- */

mote_status memory_search(memory *m, const mem_query *q, mem_hit *hits, int k, int *n_hits)
{
    mem_query qq = *q;
    float *vec = NULL;
    if (q->mode != MEM_SEARCH_BM25 && !q->vec && q->text && m->model_path) {
        MOTE_TRY(need_embedder(m));
        const int dim = mote_embedder_dim(m->embedder);
        if (!(vec = malloc(sizeof *vec * (size_t)dim))) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
        mote_status st = mote_embed(m->embedder, &q->text, NULL, 1, vec, NULL);
        if (st != MOTE_OK) {
            free(vec);
            return st;
        }
        qq.vec = vec;
        qq.dim = dim;
    }
    mote_status st = mem_store_search(m->store, &qq, hits, k, n_hits);
    free(vec);
    return st;
}

/* ------------------------------------------------------------------------
 * Citations
 * ---------------------------------------------------------------------- */

void memory_cite(const mem_hit *h, char *buf, size_t cap)
{
    char when[64] = "";
    if (h->t_lo) {
        const time_t lo = (time_t)h->t_lo, hi = (time_t)h->t_hi;
        struct tm a, b;
        gmtime_r(&lo, &a);
        gmtime_r(&hi, &b);
        size_t n = strftime(when, sizeof when, "%Y-%m-%d %H:%M", &a);
        if (h->t_hi > h->t_lo && n < sizeof when)
            strftime(when + n, sizeof when - n, a.tm_yday == b.tm_yday && a.tm_year == b.tm_year ? "–%H:%M UTC" : "–%Y-%m-%d %H:%M UTC", &b);
        else if (n < sizeof when)
            snprintf(when + n, sizeof when - n, " UTC");
    }
    switch (h->kind) {
    case MEM_MAIL:
        snprintf(buf, cap, "%s <%s>%s%s", h->source, h->msg_id ? h->msg_id : "", when[0] ? " " : "", when);
        break;
    case MEM_SENSOR:
        snprintf(buf, cap, "%s:%d-%d %s", h->source, h->line_lo, h->line_hi, when);
        break;
    case MEM_PDF:
        if (h->line_lo == h->line_hi) snprintf(buf, cap, "%s p. %d", h->source, h->line_lo);
        else snprintf(buf, cap, "%s pp. %d-%d", h->source, h->line_lo, h->line_hi);
        break;
    default:
        if (h->line_lo <= 0) snprintf(buf, cap, "%s", h->source);
        else if (h->line_lo == h->line_hi) snprintf(buf, cap, "%s:%d", h->source, h->line_lo);
        else snprintf(buf, cap, "%s:%d-%d", h->source, h->line_lo, h->line_hi);
        break;
    }
}

/* ------------------------------------------------------------------------
 * Asking
 * ---------------------------------------------------------------------- */

static const char ask_instructions[] =
    "You answer questions from the user's own files, given below as numbered sources. Use only what the "
    "sources say. Cite every fact with its source's number in square brackets, like [1] or [2][3]. If the "
    "sources do not hold the answer, say that you do not know.";

char *memory_system_text(const mem_hit *hits, int n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fprintf(f, "%s\n\nSources:\n", ask_instructions);
    for (int i = 0; i < n; i++) {
        char cite[PATH_MAX + 128];
        memory_cite(&hits[i], cite, sizeof cite);
        fprintf(f, "\n[%d] %s%s%s\n%s\n", i + 1, cite, hits[i].title ? " — " : "", hits[i].title ? hits[i].title : "",
                hits[i].text);
    }
    return fclose(f) == 0 ? text : (free(text), NULL);
}

/* The prompt's tokens for sources [1]..[n]: the chat template's rendering
 * of a system and a user message, or without a template a plain prompt. */
static mote_status ask_prompt(const mote_model *model, const char *question, const mem_hit *hits, int n,
                              mote_token **toks, size_t *n_toks)
{
    *toks = NULL;
    char *sys = memory_system_text(hits, n);
    if (!sys) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    const mote_chat_message msgs[] = {{"system", sys}, {"user", question}};
    size_t need = 0;
    mote_status st = mote_chat_tokenize(model, NULL, msgs, 2, 1, NULL, 0, &need);
    const int chat = st == MOTE_OK || st == MOTE_E_RANGE;
    char *plain = NULL;
    if (!chat) { /* no template: the sources, the question, "Answer:" */
        size_t len = strlen(sys) + strlen(question) + 32;
        if ((plain = malloc(len))) snprintf(plain, len, "%s\n\nQuestion: %s\nAnswer:", sys, question);
        st = plain ? mote_tokenize(model, plain, strlen(plain), 1, 0, NULL, 0, &need) : MOTE_E_NOMEM;
        if (st == MOTE_E_RANGE) st = MOTE_OK;
    } else {
        st = MOTE_OK;
    }
    if (st == MOTE_OK && !(*toks = malloc(sizeof **toks * (need + 1)))) st = mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    if (st == MOTE_OK)
        st = chat ? mote_chat_tokenize(model, NULL, msgs, 2, 1, *toks, need + 1, n_toks)
                  : mote_tokenize(model, plain, strlen(plain), 1, 0, *toks, need + 1, n_toks);
    if (st != MOTE_OK) {
        free(*toks);
        *toks = NULL;
    }
    free(plain);
    free(sys);
    return st;
}

typedef struct answer_buf {
    char *text;
    size_t len, cap;
    mote_token_fn user_fn;
    void *user;
} answer_buf;

static int on_token(void *user, mote_token t, const char *piece, size_t len)
{
    answer_buf *a = user;
    if (a->len + len + 1 > a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        while (cap < a->len + len + 1) cap *= 2;
        char *p = realloc(a->text, cap);
        if (!p) return 1;
        a->text = p;
        a->cap = cap;
    }
    memcpy(a->text + a->len, piece, len);
    a->len += len;
    a->text[a->len] = '\0';
    return a->user_fn ? a->user_fn(a->user, t, piece, len) : 0;
}

/* Which of the n sources the answer cites as [i]. */
static void find_citations(const char *text, int n, int *cited)
{
    for (const char *p = text; p && (p = strchr(p, '[')); p++) {
        char *end;
        long i = strtol(p + 1, &end, 10);
        if (end != p + 1 && *end == ']' && i >= 1 && i <= n) cited[i - 1] = 1;
    }
}

void memory_answer_free(memory_answer *a)
{
    if (!a) return;
    free(a->text);
    mem_hits_free(a->sources, a->n_sources);
    free(a->sources);
    free(a->cited);
    memset(a, 0, sizeof *a);
}

mote_status memory_ask(memory *m, const char *question, const memory_ask_opts *o, memory_answer *out)
{
    memset(out, 0, sizeof *out);
    if (!question || !*question) return mote_fail(MOTE_E_INVALID, "memory: ask: an empty question");
    memory_ask_opts opts = o ? *o : memory_default_ask_opts();
    if (!opts.model) return mote_fail(MOTE_E_INVALID, "memory: ask needs a generating model (-m MODEL)");
    if (opts.k <= 0) opts.k = DEFAULT_K;
    if (opts.k > MEM_SEARCH_K_MAX) opts.k = MEM_SEARCH_K_MAX;
    if (opts.max_tokens <= 0) opts.max_tokens = DEFAULT_MAX_TOKENS;

    mem_hit *hits = calloc((size_t)opts.k, sizeof *hits);
    if (!hits) return mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    int n_hits = 0;
    mem_query q = {.mode = MEM_SEARCH_HYBRID, .text = question, .kind = -1};
    mote_status st = memory_search(m, &q, hits, opts.k, &n_hits);
    mote_model *model = NULL;
    mote_session *s = NULL;
    mote_sampler *smp = NULL;
    mote_token *toks = NULL;
    size_t n_toks = 0;
    if (st == MOTE_OK) st = mote_model_open(opts.model, NULL, &model);
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = opts.n_ctx;
    sp.n_threads = m->n_threads;
    if (st == MOTE_OK) st = mote_session_create(model, &sp, &s);
    /* as many sources as leave room for the answer, best first */
    const int room = st == MOTE_OK ? mote_session_n_ctx(s) - opts.max_tokens : 0;
    int used = n_hits;
    for (; st == MOTE_OK; used--) {
        free(toks);
        st = ask_prompt(model, question, hits, used, &toks, &n_toks);
        if (st != MOTE_OK || (int)n_toks <= room) break;
        if (used == 0) {
            st = mote_fail(MOTE_E_RANGE, "memory: the question alone (%zu tokens) leaves no room for an answer in "
                           "%d positions", n_toks, mote_session_n_ctx(s));
            break;
        }
    }
    mote_sampler_params smpp = mote_sampler_default_params();
    smpp.temp = opts.temperature;
    if (st == MOTE_OK) st = mote_sampler_create(&smpp, mote_vocab_size(model), &smp);
    answer_buf a = {.user_fn = opts.on_token, .user = opts.user};
    mote_generate_stats gs = {0};
    if (st == MOTE_OK) st = mote_generate(s, smp, toks, (int)n_toks, opts.max_tokens, on_token, &a, &gs);
    if (st == MOTE_OK) {
        out->text = a.text ? a.text : strdup("");
        a.text = NULL;
        out->sources = hits;
        out->n_sources = used;
        out->cited = calloc(used > 0 ? (size_t)used : 1, sizeof *out->cited);
        if (out->cited) find_citations(out->text, used, out->cited);
        out->n_prompt = gs.n_prompt;
        out->n_generated = gs.n_generated;
        /* the retrieved chunks that did not fit are not sources */
        mem_hits_free(hits + used, n_hits - used);
        hits = NULL;
    }
    free(a.text);
    free(toks);
    mote_sampler_free(smp);
    mote_session_free(s);
    mote_model_close(model);
    if (hits) {
        mem_hits_free(hits, n_hits);
        free(hits);
    }
    if (st == MOTE_OK && (!out->text || !out->cited)) {
        memory_answer_free(out);
        st = mote_fail(MOTE_E_NOMEM, "memory: out of memory");
    }
    return st;
}

/* ------------------------------------------------------------------------
 * Forgetting
 * ---------------------------------------------------------------------- */

int memory_encrypted(const memory *m) { return m->vault != NULL; }

mote_status memory_forget(memory *m, const char *path, int64_t *n)
{
    *n = 0;
    char abs[PATH_MAX];
    if (!realpath(path, abs)) { /* gone: its absolute name as the add stored it */
        char cwd[PATH_MAX];
        if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) snprintf(abs, sizeof abs, "%s", path);
        else if (snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= (int)sizeof abs)
            return mote_fail(MOTE_E_INVALID, "memory: %s: path too long", path);
    }
    int removed = 0;
    MOTE_TRY(mem_store_remove(m->store, abs, &removed));
    *n += removed;
    char prefix[PATH_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s/", abs);
    mem_source_info *src;
    int count;
    MOTE_TRY(mem_store_sources(m->store, prefix, &src, &count));
    mote_status st = MOTE_OK;
    for (int i = 0; st == MOTE_OK && i < count; i++) {
        st = mem_store_remove(m->store, src[i].path, &removed);
        *n += removed;
    }
    mem_sources_free(src, count);
    return st;
}
