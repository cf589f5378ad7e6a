/*
 * server.h — the HTTP server of `mote serve` (libmicrohttpd).
 *
 * One polling thread (epoll on Linux) serves every connection and blocks
 * in the kernel while none has work, so an idle server costs no CPU.
 * Models are listed at start and loaded on first use within a memory
 * budget (fleet.c); each generates on a scheduler thread of its own
 * (sched.h), which sleeps while idle.
 */
#ifndef MOTE_SERVE_SERVER_H
#define MOTE_SERVE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "serve/config.h"

typedef struct serve_config {
    const char *host;          /* address to bind, numeric IPv4 or IPv6 */
    int port;                  /* 0: the kernel picks one (serve_port says which) */
    const char *api_key;       /* required as "Authorization: Bearer KEY"; NULL: none */
    size_t max_body;           /* larger request bodies get 413 */
    size_t max_header;         /* bytes of a connection's request line and headers */
    unsigned max_connections;  /* more are refused at accept */
    unsigned timeout_s;        /* an idle connection is closed after this */
    const serve_model_config *models; /* what to serve; the strings must outlive the server */
    int n_models;
    uint64_t memory_budget;    /* bytes the loaded models may hold together; 0: 3/4 of physical memory */
    /* the models' defaults, where their config says nothing */
    int n_ctx;                 /* positions per stream; 0: the model's */
    int n_threads;             /* 0: the whole pool */
    int kv_type;               /* enum mote_kv_type */
    int n_parallel;            /* streams generating at once per model */
    int queue_max;             /* requests waiting per model; more get 429 */
    int lookup;                /* speculative decoding by prompt lookup: drafts per stream and step; 0: off */
    int lookup_auto;           /* SCHED_AUTO_* (serve/sched.h): lookup's drafts of the length that pays */
    const char *chat_template; /* overrides every model's; NULL: theirs */
    double keep_alive_s;       /* > 0: unload a model no request used for this long; else never */
    /* the private memory behind /v1/memory/ (mem_routes.c), or NULL: none */
    const char *memory_dir;
    const uint8_t *memory_key; /* its 32-byte key if encrypted, or NULL */
} serve_config;

typedef struct serve_server serve_server;

/* Start serving. 0: *out running; -1: err holds why. */
int serve_start(const serve_config *cfg, serve_server **out, char *err, size_t errcap);
/* The port it listens on. */
int serve_port(const serve_server *s);
/* Stop accepting, finish the requests in flight, close the models. */
void serve_stop(serve_server *s);

/* 1 when host is a loopback address (127.0.0.0/8, ::1, "localhost"). */
int serve_host_is_loopback(const char *host);

/* Compare a and b in time that depends only on their lengths. */
int serve_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
