/*
 * task.c — requests computed on threads of their own (see task.h).
 */
#include "serve/task.h"

#include <pthread.h>
#include <stdlib.h>

struct serve_task {
    serve_server *s;
    struct MHD_Connection *c;
    serve_task_fn fn;
    void *arg;
    void (*free_arg)(void *);
    int failed;
    serve_error err;
    char *body;
    size_t len;
};

void serve_task_free(serve_task *t)
{
    if (!t) return;
    if (t->free_arg) t->free_arg(t->arg);
    free(t->body);
    free(t);
}

static void *run(void *arg)
{
    serve_task *t = arg;
    t->failed = t->fn(t->arg, &t->body, &t->len, &t->err) != 0;
    serve_server *s = t->s; /* t may be freed once the connection resumes */
    MHD_resume_connection(t->c);
    s->tasks--;
    return NULL;
}

enum MHD_Result serve_task_start(serve_server *s, struct MHD_Connection *c, serve_conn *conn, serve_task_fn fn,
                                 void *arg, void (*free_arg)(void *))
{
    serve_task *t = calloc(1, sizeof *t);
    if (!t) {
        if (free_arg) free_arg(arg);
        return MHD_NO;
    }
    *t = (serve_task){.s = s, .c = c, .fn = fn, .arg = arg, .free_arg = free_arg};
    conn->task = t;
    s->tasks++;
    MHD_suspend_connection(c);
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int started = pthread_create(&th, &attr, run, t) == 0;
    pthread_attr_destroy(&attr);
    if (!started) {
        t->failed = 1;
        serve_fail(&t->err, 503, "server_error", NULL, NULL, "cannot start a thread for the request");
        MHD_resume_connection(c);
        s->tasks--;
    }
    return MHD_YES;
}

enum MHD_Result serve_task_resume(struct MHD_Connection *c, serve_conn *conn)
{
    serve_task *t = conn->task;
    if (t->failed) return serve_reply_error(c, &t->err);
    char *body = t->body;
    t->body = NULL;
    return serve_reply_body(c, MHD_HTTP_OK, body, t->len);
}
