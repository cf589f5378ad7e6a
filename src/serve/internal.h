/*
 * internal.h — what the server's files share: the server and connection
 * state, the reply helpers (server.c) and the generation routes (gen.c).
 */
#ifndef MOTE_SERVE_INTERNAL_H
#define MOTE_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "mote.h"
#include "serve/config.h"
#include "serve/request.h"
#include "serve/sched.h"
#include "serve/server.h"

typedef struct serve_model {
    serve_model_config cfg; /* as configured, cfg.file resolved (the strings are the caller's) */
    mote_model *model;  /* NULL while unloaded (fleet.c) */
    sched *sched;       /* started with a generating model, else NULL */
    mote_embedder *embedder; /* started with an embedding model (one that names a pooling), else NULL */
    pthread_mutex_t embed_lock; /* one embedding request at a time runs the embedder */
    uint64_t charged;   /* bytes the budget holds for it while loaded */
    int pinned;         /* never evicted nor unloaded when idle (cfg, then pin/unpin) */
    int active;         /* requests holding it (serve_find_model to completion) */
    double last_used;   /* when the last of them completed (serve_now) */
    /* events: for the log, /v1/models and /metrics */
    double loaded_at;   /* when the last load finished */
    double load_ms;     /* how long it took: open, plan, session */
    double first_token_ms; /* from the start of the last load to its first token */
    int awaiting_first_token;
    unsigned long long n_loads, n_evictions;
} serve_model;

/* The statuses /metrics counts separately (others: "other"). */
#define SERVE_N_CODES 12
#define SERVE_N_ROUTES_MAX 16

struct serve_server {
    serve_config cfg;
    struct MHD_Daemon *daemon;
    int port;
    time_t created;          /* "created" of every model in /v1/models */
    serve_model *models;     /* the fleet (fleet.c) */
    int n_models;
    uint64_t charged;        /* bytes of the loaded models, at most cfg.memory_budget */
    unsigned long long n_evictions;
    pthread_mutex_t lock;    /* guards the fleet's state */
    atomic_int in_flight;    /* requests begun and not yet completed */
    atomic_int tasks;        /* requests computing on threads of their own (task.c) */
    atomic_uint next_id;     /* for response ids */
    pthread_t janitor;       /* unloads models idle past their keep_alive */
    pthread_cond_t janitor_cond;
    int janitor_started, janitor_stop;
    struct memory *memory;   /* the private memory (mem_routes.c), or NULL */
    pthread_mutex_t memory_lock; /* one request at a time uses it */
    /* /metrics: answers by route (the last row: no route) and status */
    atomic_ullong answered[SERVE_N_ROUTES_MAX + 1][SERVE_N_CODES];
};

typedef struct serve_gen serve_gen;
typedef struct serve_task serve_task;

/* One request's state across MHD's calls of the handler. */
typedef struct serve_conn {
    char *body;          /* gathered so far */
    size_t len, cap;
    int too_large;       /* more than max_body came: the answer is 413 */
    serve_gen *gen;      /* a generation in progress (gen.c) */
    serve_task *task;    /* a request computed on a thread of its own (task.c) */
    serve_model *model;  /* the model it uses, held until it completes */
    int route;           /* index in the route table, -1: none */
    int retry_after;     /* a refusal for want of memory: the answer says when to retry */
    int model_route;     /* /v1/models/{name}[/{action}] (server.c's model_route) */
    unsigned status;     /* of the answer queued */
} serve_conn;

/* The status of the response just queued on MHD's thread (the reply
 * helpers set it; the handler files it in its serve_conn). */
void serve_note_status(unsigned status);

/* Replies (server.c). Each queues a response and returns MHD's verdict. */
enum MHD_Result serve_reply_json(struct MHD_Connection *c, unsigned status, cJSON *json);
/* A JSON body already written (malloc'd, len bytes; consumed). */
enum MHD_Result serve_reply_body(struct MHD_Connection *c, unsigned status, char *body, size_t len);
enum MHD_Result serve_reply_error(struct MHD_Connection *c, const serve_error *e);
/* The same with one more header (header NULL: none). */
enum MHD_Result serve_reply_error_with(struct MHD_Connection *c, const serve_error *e, const char *header,
                                       const char *value);
/* The fleet (fleet.c). */
double serve_now(void); /* CLOCK_MONOTONIC seconds */
/* The model a request names -- id, alias or "role:ROLE"; the only one
 * when it names none -- loaded if it is not (evicting idle ones to make
 * room) and held for the request (conn) until it completes, so that it is
 * never unloaded under a request; NULL with *err filled (503 with
 * conn->retry_after when the budget is held by models in use). */
serve_model *serve_find_model(serve_server *s, serve_conn *conn, const char *id, serve_error *err);
/* A request lets go of the model it held. */
void serve_release_model(serve_server *s, serve_model *m);
/* A request of m's produced a token: the first since a load is logged. */
void serve_model_first_token(serve_server *s, serve_model *m);
/* GET /v1/models (every model's state, the aliases, the budget), GET
 * /v1/models/{name}, POST /v1/models/{name}/{load,unload,pin,unpin}:
 * JSON, or NULL with *err (and *retry for a 503 of the budget). */
cJSON *serve_models_json(serve_server *s);
cJSON *serve_model_json(serve_server *s, const char *name, serve_error *err);
cJSON *serve_model_admin(serve_server *s, const char *name, const char *action, serve_error *err, int *retry);
/* Build the fleet from cfg and start its janitor; load the pinned
 * models; end every generation (shutdown); stop and close everything. */
int serve_fleet_start(serve_server *s, char *err, size_t errcap);
int serve_fleet_load_pinned(serve_server *s, char *err, size_t errcap);
void serve_fleet_cancel_all(serve_server *s);
void serve_fleet_stop(serve_server *s);
/* text with every byte that is not part of valid UTF-8 replaced by U+FFFD
 * (malloc'd, NULL when out of memory); n bytes of text. */
char *serve_utf8_repaired(const char *text, size_t n);

/* Generation (gen.c). */
enum MHD_Result serve_post_chat(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                const serve_request *req);
enum MHD_Result serve_post_completion(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req);
/* The handler's call after a suspended request resumed. */
enum MHD_Result serve_gen_resume(serve_server *s, struct MHD_Connection *c, serve_conn *conn);
/* The request ended (MHD's completed callback): release the job. */
void serve_gen_free(serve_gen *g);

/* The private memory (mem_routes.c): POST /v1/memory/search, /add (tasks)
 * and /ask (a chat with the best chunks as sources, streamed like one). */
int serve_memory_start(serve_server *s, char *err, size_t errcap);
void serve_memory_stop(serve_server *s);
enum MHD_Result serve_post_memory_search(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                         const serve_request *req);
enum MHD_Result serve_post_memory_add(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req);
enum MHD_Result serve_post_memory_ask(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req);

/* Embeddings (embed.c): POST /v1/embeddings, a task (task.h). */
enum MHD_Result serve_post_embeddings(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req);
/* The embedder settings of a model's config and the server's. */
mote_embed_params serve_embed_params(const serve_server *s, const serve_model *m);

#endif
