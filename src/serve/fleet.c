/*
 * fleet.c — the served models: which are loaded, what each costs, and the
 * memory budget they share.
 *
 * A model is loaded whole: its file mapped and its scheduler started (a
 * session with a KV cache for max_streams streams, and scratch). What it
 * costs is known before it loads: the file's bytes (generation reads every
 * weight, so every page of the map ends up resident), the tables the open
 * allocates, and the session's plan (mote_session_plan: KV cache, scratch,
 * tables). That sum is charged to the budget while the model is loaded.
 *
 * Loading a model that does not fit evicts idle models -- loaded, not
 * pinned, no request holding them -- lowest priority first, then least
 * recently used, until it fits. A model with a request in flight is never
 * evicted, so a request that cannot fit even then is refused with 503, a
 * reason and Retry-After: the budget is not exceeded. The evicted model is
 * closed before the new one's session is allocated or any of its weights
 * read; only the new model's tables (its vocabulary), made when its file
 * is opened to learn its shape and cost, exist for a moment beside it.
 *
 * Everything here runs under s->lock. Loading a small model takes
 * milliseconds (the map is not read, the session is one allocation), so
 * the HTTP thread does it in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mote.h"
#include "serve/internal.h"

#define MIB (1024.0 * 1024.0)

double serve_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------
 * Settings
 * ---------------------------------------------------------------------- */

/* The scheduler settings of model m: its own, else the server's. */
static sched_config model_sched_config(const serve_server *s, const serve_model *m)
{
    const serve_model_config *c = &m->cfg;
    const int streams = c->max_streams > 0 ? c->max_streams : s->cfg.n_parallel;
    return (sched_config){
        .n_ctx = c->n_ctx > 0 ? c->n_ctx : s->cfg.n_ctx,
        .n_threads = s->cfg.n_threads,
        .kv_type = c->kv_type >= 0 ? c->kv_type : s->cfg.kv_type,
        .n_parallel = streams > 0 ? streams : 1,
        .queue_max = s->cfg.queue_max,
        .lookup = s->cfg.lookup,
        .lookup_auto = s->cfg.lookup_auto,
    };
}

/* Seconds a model stays loaded unused; SERVE_KEEP_ALIVE_FOREVER: always. */
static double model_keep_alive(const serve_server *s, const serve_model *m)
{
    if (m->pinned) return SERVE_KEEP_ALIVE_FOREVER;
    if (m->cfg.keep_alive_s != SERVE_KEEP_ALIVE_DEFAULT) return m->cfg.keep_alive_s;
    return s->cfg.keep_alive_s > 0 ? s->cfg.keep_alive_s : SERVE_KEEP_ALIVE_FOREVER;
}

/* ------------------------------------------------------------------------
 * Loading and unloading
 * ---------------------------------------------------------------------- */

/* Close m's scheduler and model and give its bytes back; under s->lock,
 * with no request holding it. */
static void unload(serve_server *s, serve_model *m, const char *why)
{
    sched_free(m->sched);
    mote_embedder_free(m->embedder);
    mote_model_close(m->model);
    m->sched = NULL;
    m->embedder = NULL;
    m->model = NULL;
    s->charged -= m->charged;
    fprintf(stderr, "mote serve: %s: unloaded (%s), %.1f MiB freed; %.1f of %.1f MiB in use\n", m->cfg.id, why,
            (double)m->charged / MIB, (double)s->charged / MIB, (double)s->cfg.memory_budget / MIB);
    m->charged = 0;
}

/* The idle model eviction takes next: loaded, unpinned, unheld, lowest
 * priority, then least recently used; NULL if none. */
static serve_model *eviction_candidate(serve_server *s, const serve_model *for_m)
{
    serve_model *best = NULL;
    for (int i = 0; i < s->n_models; i++) {
        serve_model *m = &s->models[i];
        if (m == for_m || !m->model || m->pinned || m->active > 0) continue;
        if (!best || m->cfg.priority < best->cfg.priority ||
            (m->cfg.priority == best->cfg.priority && m->last_used < best->last_used))
            best = m;
    }
    return best;
}

/* A model made for embeddings (its GGUF names a pooling: embedding
 * models, Qwen3-Embedding) is run by an embedder, every other by a
 * scheduler. */
static int embeds(const mote_model *model)
{
    return mote_model_embedding_only(model) || mote_model_pooling(model) != MOTE_POOL_NONE;
}

/* What m would cost loaded, from its opened model; 0 with *err on failure. */
static uint64_t model_cost(const serve_server *s, const serve_model *m, mote_model *model, serve_error *err)
{
    mote_memory weights = {0}, session = {0};
    const sched_config sc = model_sched_config(s, m);
    const mote_embed_params ep = serve_embed_params(s, m);
    if (mote_model_memory(model, &weights) != MOTE_OK ||
        (embeds(model) ? mote_embedder_plan(model, &ep, &session) != MOTE_OK : sched_plan(model, &sc, &session) != 0)) {
        serve_fail(err, 500, "server_error", NULL, "model", "model '%.60s': %.180s", m->cfg.id, mote_last_error());
        return 0;
    }
    return weights.mapped + weights.heap + session.kv + session.scratch + session.heap;
}

/* Load m if it is not; under s->lock. 0, or -1 with *err (503 when the
 * budget is held by models in use; *retry set then). */
static int load(serve_server *s, serve_model *m, serve_error *err, int *retry)
{
    *retry = 0;
    if (m->model) return 0;
    const double t0 = serve_now();
    mote_model *model = NULL;
    if (mote_model_open(m->cfg.file, NULL, &model) != MOTE_OK)
        return serve_fail(err, 500, "server_error", NULL, "model", "opening model '%.60s': %.160s", m->cfg.id,
                          mote_last_error());
    const uint64_t cost = model_cost(s, m, model, err);
    const uint64_t budget = s->cfg.memory_budget;
    if (!cost) return mote_model_close(model), -1;
    if (cost > budget) {
        mote_model_close(model);
        return serve_fail(err, 503, "server_error", "model_too_large", "model",
                          "model '%.60s' needs %.1f MiB (weights, KV cache for its streams, scratch), more than the "
                          "whole memory budget of %.1f MiB",
                          m->cfg.id, (double)cost / MIB, (double)budget / MIB);
    }
    while (s->charged + cost > budget) {
        serve_model *victim = eviction_candidate(s, m);
        if (!victim) {
            mote_model_close(model);
            *retry = 1;
            return serve_fail(err, 503, "server_error", "memory_budget", "model",
                              "model '%.60s' needs %.1f MiB and %.1f of the %.1f MiB budget are held by models with "
                              "requests in flight or pinned; try again shortly",
                              m->cfg.id, (double)cost / MIB, (double)s->charged / MIB, (double)budget / MIB);
        }
        victim->n_evictions++;
        s->n_evictions++;
        char why[SERVE_ID_MAX + 32];
        snprintf(why, sizeof why, "evicted for %s", m->cfg.id);
        unload(s, victim, why);
    }
    const sched_config sc = model_sched_config(s, m);
    const mote_embed_params ep = serve_embed_params(s, m);
    char why[256];
    if (embeds(model) && mote_embedder_create(model, &ep, &m->embedder) != MOTE_OK) {
        mote_model_close(model);
        return serve_fail(err, 500, "server_error", NULL, "model", "starting model '%.60s': %.160s", m->cfg.id,
                          mote_last_error());
    }
    if (!m->embedder && sched_create(model, &sc, &m->sched, why, sizeof why) != 0) {
        mote_model_close(model);
        return serve_fail(err, 500, "server_error", NULL, "model", "starting model '%.60s': %.160s", m->cfg.id, why);
    }
    m->model = model;
    m->charged = cost;
    s->charged += cost;
    m->n_loads++;
    m->loaded_at = serve_now();
    m->load_ms = (m->loaded_at - t0) * 1e3;
    m->awaiting_first_token = 1;
    m->last_used = m->loaded_at;
    pthread_cond_signal(&s->janitor_cond); /* its keep_alive counts from now */
    fprintf(stderr, "mote serve: %s: loaded in %.1f ms, %.1f MiB; %.1f of %.1f MiB in use\n", m->cfg.id, m->load_ms,
            (double)cost / MIB, (double)s->charged / MIB, (double)budget / MIB);
    return 0;
}

void serve_model_first_token(serve_server *s, serve_model *m)
{
    pthread_mutex_lock(&s->lock);
    if (m->awaiting_first_token && m->model) {
        m->awaiting_first_token = 0;
        m->first_token_ms = (serve_now() - m->loaded_at) * 1e3 + m->load_ms;
        fprintf(stderr, "mote serve: %s: first token %.1f ms after the load began\n", m->cfg.id, m->first_token_ms);
    }
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------------
 * Finding
 * ---------------------------------------------------------------------- */

/* The model a name means: an id, an alias, or "role:ROLE" (of several
 * models with that role, a loaded one first); NULL if none. */
static serve_model *resolve(serve_server *s, const char *name)
{
    for (int i = 0; i < s->n_models; i++)
        if (strcmp(s->models[i].cfg.id, name) == 0) return &s->models[i];
    for (int i = 0; i < s->n_models; i++)
        for (int a = 0; a < s->models[i].cfg.n_aliases; a++)
            if (strcmp(s->models[i].cfg.aliases[a], name) == 0) return &s->models[i];
    static const char role[] = "role:";
    if (strncmp(name, role, sizeof role - 1) != 0) return NULL;
    serve_model *found = NULL;
    for (int i = 0; i < s->n_models; i++) {
        serve_model *m = &s->models[i];
        if (!m->cfg.role || strcmp(m->cfg.role, name + sizeof role - 1) != 0) continue;
        if (!found || (!found->model && m->model)) found = m;
    }
    return found;
}

/* resolve(), or NULL with a 404 naming the model. */
static serve_model *resolve_or_fail(serve_server *s, const char *name, serve_error *err)
{
    serve_model *m = resolve(s, name);
    if (!m)
        serve_fail(err, 404, "invalid_request_error", "model_not_found", "model", "The model '%.200s' does not exist",
                   name);
    return m;
}

serve_model *serve_find_model(serve_server *s, serve_conn *conn, const char *id, serve_error *err)
{
    if (!id && s->n_models != 1) {
        serve_fail(err, 400, "invalid_request_error", NULL, "model", "'model' is required: this server has %d models",
                   s->n_models);
        return NULL;
    }
    serve_model *m = id ? resolve_or_fail(s, id, err) : &s->models[0];
    if (!m) return NULL;
    pthread_mutex_lock(&s->lock);
    int retry = 0;
    const int ok = load(s, m, err, &retry) == 0;
    if (ok && !conn->model) {
        conn->model = m;
        m->active++;
    }
    pthread_mutex_unlock(&s->lock);
    if (retry) conn->retry_after = 1;
    return ok ? m : NULL;
}

void serve_release_model(serve_server *s, serve_model *m)
{
    pthread_mutex_lock(&s->lock);
    m->active--;
    m->last_used = serve_now();
    pthread_cond_signal(&s->janitor_cond);
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------------
 * Admin: POST /v1/models/{id}/load|unload|pin|unpin
 * ---------------------------------------------------------------------- */

/* OpenAI's model object: the fields every entry of /v1/models has. */
static cJSON *model_object(const serve_server *s, const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", (double)s->created);
    cJSON_AddStringToObject(o, "owned_by", "mote");
    return o;
}

/* The state of model m as /v1/models shows it; under s->lock. */
static cJSON *model_json(const serve_server *s, const serve_model *m)
{
    cJSON *o = model_object(s, m->cfg.id);
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    cJSON_AddStringToObject(st, "state", m->model ? "loaded" : "unloaded");
    cJSON_AddNumberToObject(st, "bytes", (double)m->charged);
    sched_stats ss = {0};
    if (m->sched) sched_get_stats(m->sched, &ss);
    cJSON_AddNumberToObject(st, "streams", ss.running);
    cJSON_AddNumberToObject(st, "queued", ss.queued);
    cJSON_AddNumberToObject(st, "max_streams", model_sched_config(s, m).n_parallel);
    cJSON_AddNumberToObject(st, "requests", m->active);
    cJSON_AddNumberToObject(st, "idle_seconds", m->model && !m->active ? serve_now() - m->last_used : 0);
    cJSON_AddBoolToObject(st, "pinned", m->pinned);
    cJSON_AddNumberToObject(st, "priority", m->cfg.priority);
    if (m->cfg.role) cJSON_AddStringToObject(st, "role", m->cfg.role);
    const double keep = model_keep_alive(s, m);
    if (keep >= 0) cJSON_AddNumberToObject(st, "keep_alive_seconds", keep);
    else cJSON_AddNullToObject(st, "keep_alive_seconds");
    cJSON_AddNumberToObject(st, "loads", (double)m->n_loads);
    cJSON_AddNumberToObject(st, "evictions", (double)m->n_evictions);
    if (m->n_loads) {
        cJSON_AddNumberToObject(st, "load_ms", m->load_ms);
        if (m->first_token_ms > 0) cJSON_AddNumberToObject(st, "first_token_ms", m->first_token_ms);
    }
    cJSON *al = cJSON_AddArrayToObject(o, "aliases");
    for (int a = 0; a < m->cfg.n_aliases; a++) cJSON_AddItemToArray(al, cJSON_CreateString(m->cfg.aliases[a]));
    return o;
}

cJSON *serve_models_json(serve_server *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n_models; i++) cJSON_AddItemToArray(data, model_json(s, &s->models[i]));
    for (int i = 0; i < s->n_models; i++) /* aliases too: clients pick from this list */
        for (int a = 0; a < s->models[i].cfg.n_aliases; a++) {
            cJSON *m = model_object(s, s->models[i].cfg.aliases[a]);
            cJSON_AddStringToObject(m, "parent", s->models[i].cfg.id);
            cJSON_AddItemToArray(data, m);
        }
    cJSON *b = cJSON_AddObjectToObject(root, "memory");
    cJSON_AddNumberToObject(b, "budget", (double)s->cfg.memory_budget);
    cJSON_AddNumberToObject(b, "used", (double)s->charged);
    cJSON_AddNumberToObject(b, "evictions", (double)s->n_evictions);
    pthread_mutex_unlock(&s->lock);
    return root;
}

cJSON *serve_model_json(serve_server *s, const char *name, serve_error *err)
{
    serve_model *m = resolve_or_fail(s, name, err);
    if (!m) return NULL;
    pthread_mutex_lock(&s->lock);
    cJSON *o = model_json(s, m);
    pthread_mutex_unlock(&s->lock);
    return o;
}

cJSON *serve_model_admin(serve_server *s, const char *name, const char *action, serve_error *err, int *retry)
{
    *retry = 0;
    serve_model *m = resolve_or_fail(s, name, err);
    if (!m) return NULL;
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    if (strcmp(action, "load") == 0) {
        rc = load(s, m, err, retry);
        if (rc == 0) m->last_used = serve_now();
    } else if (strcmp(action, "unload") == 0) {
        if (m->active > 0)
            rc = serve_fail(err, 409, "invalid_request_error", "model_busy", "model",
                            "model '%.60s' has %d requests in flight; unload it when they end", m->cfg.id, m->active);
        else if (m->model)
            unload(s, m, "asked to");
    } else if (strcmp(action, "pin") == 0) { /* loaded, and kept so */
        rc = load(s, m, err, retry);
        if (rc == 0) m->pinned = 1;
    } else if (strcmp(action, "unpin") == 0) {
        m->pinned = 0;
        pthread_cond_signal(&s->janitor_cond); /* its keep_alive counts again */
    } else {
        rc = serve_fail(err, 404, "invalid_request_error", "not_found", NULL,
                        "Unknown action '%.40s' (load, unload, pin, unpin)", action);
    }
    cJSON *o = rc == 0 ? model_json(s, m) : NULL;
    pthread_mutex_unlock(&s->lock);
    return o;
}

/* ------------------------------------------------------------------------
 * keep_alive: the janitor
 * ---------------------------------------------------------------------- */

/* A loaded model no request has held for its keep_alive is closed (its
 * scheduler and KV cache too); the next request loads it again. The
 * thread sleeps on a condition variable until the earliest such moment,
 * or indefinitely while no model can expire: no polling. */
static void *janitor(void *arg)
{
    serve_server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->janitor_stop) {
        const double now = serve_now();
        double next = 0;
        for (int i = 0; i < s->n_models; i++) {
            serve_model *m = &s->models[i];
            const double keep = model_keep_alive(s, m);
            if (!m->model || m->active > 0 || keep < 0) continue;
            if (now - m->last_used >= keep) {
                unload(s, m, "idle");
                continue;
            }
            const double due = m->last_used + keep;
            if (next == 0 || due < next) next = due;
        }
        if (next == 0) {
            pthread_cond_wait(&s->janitor_cond, &s->lock);
        } else {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            const double wait = next - serve_now() + 0.001;
            until.tv_sec += (time_t)wait;
            until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&s->janitor_cond, &s->lock, &until);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Start and stop
 * ---------------------------------------------------------------------- */

/* Where names meet: every id and alias names one model. */
static int check_names(const serve_config *cfg, char *err, size_t errcap)
{
    for (int i = 0; i < cfg->n_models; i++) {
        const serve_model_config *m = &cfg->models[i];
        for (int a = -1; a < m->n_aliases; a++) {
            const char *name = a < 0 ? m->id : m->aliases[a];
            for (int j = 0; j <= i; j++) {
                const serve_model_config *o = &cfg->models[j];
                for (int b = -1; b < (j == i ? a : o->n_aliases); b++) {
                    const char *other = b < 0 ? o->id : o->aliases[b];
                    if (strcmp(name, other) != 0) continue;
                    if (a < 0 && b < 0)
                        snprintf(err, errcap, "two models have the id '%s' (%s and %s)", name, o->file, m->file);
                    else
                        snprintf(err, errcap, "the name '%s' is taken twice (%s of '%s', %s of '%s'): an alias "
                                 "must name one model",
                                 name, b < 0 ? "the id" : "an alias", o->id, a < 0 ? "the id" : "an alias", m->id);
                    return -1;
                }
            }
        }
    }
    return 0;
}

int serve_fleet_start(serve_server *s, char *err, size_t errcap)
{
    const serve_config *cfg = &s->cfg;
    if (check_names(cfg, err, errcap) != 0) return -1;
    s->n_models = cfg->n_models;
    s->models = calloc(cfg->n_models > 0 ? (size_t)cfg->n_models : 1, sizeof *s->models);
    if (!s->models) return snprintf(err, errcap, "out of memory"), -1;
    for (int i = 0; i < cfg->n_models; i++) {
        serve_model *m = &s->models[i];
        m->cfg = cfg->models[i]; /* the strings stay the caller's */
        m->pinned = m->cfg.pinned;
        pthread_mutex_init(&m->embed_lock, NULL);
    }
    if (pthread_create(&s->janitor, NULL, janitor, s) != 0) return snprintf(err, errcap, "cannot start a thread"), -1;
    s->janitor_started = 1;
    return 0;
}

/* Load the pinned models now: they are to be ready, and they hold their
 * place in the budget from the start. */
int serve_fleet_load_pinned(serve_server *s, char *err, size_t errcap)
{
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    for (int i = 0; rc == 0 && i < s->n_models; i++) {
        serve_error e;
        int retry;
        if (s->models[i].pinned && load(s, &s->models[i], &e, &retry) != 0) {
            snprintf(err, errcap, "pinned model '%s': %s", s->models[i].cfg.id, e.message);
            rc = -1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void serve_fleet_cancel_all(serve_server *s)
{
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n_models; i++)
        if (s->models[i].sched) sched_cancel_all(s->models[i].sched);
    pthread_mutex_unlock(&s->lock);
    /* tasks run to their end (they resume their connections) */
    while (s->tasks > 0) nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
}

void serve_fleet_stop(serve_server *s)
{
    if (s->janitor_started) {
        pthread_mutex_lock(&s->lock);
        s->janitor_stop = 1;
        pthread_cond_signal(&s->janitor_cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->janitor, NULL);
        s->janitor_started = 0;
    }
    for (int i = 0; s->models && i < s->n_models; i++) {
        sched_free(s->models[i].sched);
        mote_embedder_free(s->models[i].embedder);
        mote_model_close(s->models[i].model);
        pthread_mutex_destroy(&s->models[i].embed_lock);
    }
    free(s->models);
    s->models = NULL;
}
