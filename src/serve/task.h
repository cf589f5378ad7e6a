/*
 * task.h — a request computed on a thread of its own: the connection is
 * suspended while the task runs, so that MHD's thread keeps serving the
 * others, and the handler, called again on resume, sends what the task
 * wrote (a JSON body or an error). Embeddings and the memory's routes run
 * this way.
 */
#ifndef MOTE_SERVE_TASK_H
#define MOTE_SERVE_TASK_H

#include <stddef.h>

#include "serve/internal.h"

/* The work: fill *body (malloc'd JSON, *len bytes) and return 0, or fill
 * *err and return -1. Runs on the task's thread. */
typedef int (*serve_task_fn)(void *arg, char **body, size_t *len, serve_error *err);

/* Start fn(arg) for the request (conn->task holds it; free_arg(arg) when
 * the request ends). MHD_NO only when out of memory. */
enum MHD_Result serve_task_start(serve_server *s, struct MHD_Connection *c, serve_conn *conn, serve_task_fn fn,
                                 void *arg, void (*free_arg)(void *));
/* The handler's call after the task resumed the connection: the answer. */
enum MHD_Result serve_task_resume(struct MHD_Connection *c, serve_conn *conn);
void serve_task_free(serve_task *t);

#endif
