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
#include "serve/request.h"
#include "serve/sched.h"
#include "serve/server.h"

typedef struct serve_model {
    char *id;           /* the file stem: "stories260K" */
    const char *path;   /* as given */
    mote_model *model;  /* NULL until first used (or after --keep-alive unloaded it) */
    sched *sched;       /* NULL until the first generation */
    int active;         /* requests holding it (serve_find_model to completion) */
    double last_used;   /* when the last of them completed (CLOCK_MONOTONIC seconds) */
} serve_model;

/* The statuses /metrics counts separately (others: "other"). */
#define SERVE_N_CODES 12
#define SERVE_N_ROUTES_MAX 16

struct serve_server {
    serve_config cfg;
    struct MHD_Daemon *daemon;
    int port;
    time_t created;          /* "created" of every model in /v1/models */
    serve_model *models;     /* cfg.n_models */
    int *alias_model;        /* cfg.n_aliases: the model each alias names */
    pthread_mutex_t lock;    /* guards models[].model and .sched */
    atomic_int in_flight;    /* requests begun and not yet completed */
    atomic_uint next_id;     /* for response ids */
    pthread_t janitor;       /* --keep-alive: unloads idle models */
    pthread_cond_t janitor_cond;
    int janitor_started, janitor_stop;
    /* /metrics: answers by route (the last row: no route) and status */
    atomic_ullong answered[SERVE_N_ROUTES_MAX + 1][SERVE_N_CODES];
};

typedef struct serve_gen serve_gen;

/* One request's state across MHD's calls of the handler. */
typedef struct serve_conn {
    char *body;          /* gathered so far */
    size_t len, cap;
    int too_large;       /* more than max_body came: the answer is 413 */
    serve_gen *gen;      /* a generation in progress (gen.c) */
    serve_model *model;  /* the model it uses, held until it completes */
    int route;           /* index in the route table, -1: none */
    unsigned status;     /* of the answer queued */
} serve_conn;

/* The status of the response just queued on MHD's thread (the reply
 * helpers set it; the handler files it in its serve_conn). */
void serve_note_status(unsigned status);

/* Replies (server.c). Each queues a response and returns MHD's verdict. */
enum MHD_Result serve_reply_json(struct MHD_Connection *c, unsigned status, cJSON *json);
enum MHD_Result serve_reply_error(struct MHD_Connection *c, const serve_error *e);
/* The same with one more header (header NULL: none). */
enum MHD_Result serve_reply_error_with(struct MHD_Connection *c, const serve_error *e, const char *header,
                                       const char *value);
/* The model a request names (the only one when it names none), opened on
 * first use and held for the request (conn) until it completes, so that
 * --keep-alive never unloads it under a request; NULL with *err filled. */
serve_model *serve_find_model(serve_server *s, serve_conn *conn, const char *id, serve_error *err);
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

#endif
