/*
 * embed.c — POST /v1/embeddings (OpenAI's embeddings API).
 *
 * The request's texts are embedded by the model's embedder on a thread of
 * the request's own while its connection is suspended, so that MHD's
 * thread keeps serving others; one request at a time runs a model's
 * embedder (its lock), several models' at once. The worker writes the
 * whole response and resumes the connection; the handler, called again,
 * sends it.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/internal.h"

struct serve_embed_job {
    serve_server *s;
    serve_model *m;
    struct MHD_Connection *c;
    char **texts;        /* (n) the request's, taken over */
    int n;
    int base64, dimensions;
    /* the outcome, written by the worker before it resumes */
    int failed;
    serve_error err;
    char *body;          /* the response, malloc'd */
    size_t len;
};

mote_embed_params serve_embed_params(const serve_server *s, const serve_model *m)
{
    mote_embed_params p = mote_embed_default_params();
    p.n_threads = s->cfg.n_threads;
    p.n_ctx = m->cfg.n_ctx > 0 ? m->cfg.n_ctx : 0; /* the model's own: a server-wide n_ctx is for generation */
    return p;
}

void serve_embed_free(serve_embed_job *j)
{
    if (!j) return;
    for (int i = 0; i < j->n; i++) free(j->texts[i]);
    free(j->texts);
    free(j->body);
    free(j);
}

/* RFC 4648 base64 of n bytes. */
static void put_base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        const unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(abc[v >> 18 & 63], f);
        fputc(abc[v >> 12 & 63], f);
        fputc(i + 1 < n ? abc[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? abc[v & 63] : '=', f);
    }
}

/* The response: each vector cut to `dim` (Matryoshka models keep their
 * meaning in a prefix) and normalised again, as floats or base64 of
 * little-endian float32s. */
static int write_response(serve_embed_job *j, float *vec, int full, int dim, int64_t n_tokens)
{
    FILE *f = open_memstream(&j->body, &j->len);
    if (!f) return -1;
    fputs("{\"object\":\"list\",\"data\":[", f);
    for (int i = 0; i < j->n; i++) {
        float *v = vec + (size_t)i * full;
        if (dim < full) {
            double ss = 0;
            for (int d = 0; d < dim; d++) ss += (double)v[d] * v[d];
            const float scale = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
            for (int d = 0; d < dim; d++) v[d] *= scale;
        }
        fprintf(f, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "", i);
        if (j->base64) {
            fputc('"', f);
            put_base64(f, (const unsigned char *)v, sizeof(float) * (size_t)dim); /* x86 and arm64: little-endian */
            fputc('"', f);
        } else {
            fputc('[', f);
            for (int d = 0; d < dim; d++) fprintf(f, d ? ",%.9g" : "%.9g", (double)v[d]);
            fputc(']', f);
        }
        fputc('}', f);
    }
    fprintf(f, "],\"model\":\"");
    for (const char *p = j->m->cfg.id; *p; p++) /* ids are checked names: no quotes or controls */
        fputc(*p, f);
    fprintf(f, "\",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}", (long long)n_tokens,
            (long long)n_tokens);
    return fclose(f) == 0 ? 0 : -1;
}

static void *worker(void *arg)
{
    serve_embed_job *j = arg;
    const int full = mote_embedder_dim(j->m->embedder);
    const int dim = j->dimensions ? j->dimensions : full;
    float *vec = malloc(sizeof(float) * (size_t)full * (size_t)j->n);
    int64_t n_tokens = 0;
    if (!vec) {
        j->failed = 1;
        serve_fail(&j->err, 500, "server_error", NULL, NULL, "out of memory for %d vectors", j->n);
    } else {
        pthread_mutex_lock(&j->m->embed_lock);
        const mote_status st = mote_embed(j->m->embedder, (const char *const *)j->texts, NULL, j->n, vec, &n_tokens);
        pthread_mutex_unlock(&j->m->embed_lock);
        if (st != MOTE_OK) {
            j->failed = 1;
            serve_fail(&j->err, st == MOTE_E_RANGE || st == MOTE_E_INVALID ? 400 : 500,
                       st == MOTE_E_RANGE || st == MOTE_E_INVALID ? "invalid_request_error" : "server_error",
                       st == MOTE_E_RANGE ? "context_length_exceeded" : NULL, "input", "%.200s", mote_last_error());
        } else if (write_response(j, vec, full, dim, n_tokens) != 0) {
            j->failed = 1;
            serve_fail(&j->err, 500, "server_error", NULL, NULL, "out of memory for the response");
        }
    }
    free(vec);
    serve_server *s = j->s;
    MHD_resume_connection(j->c);
    s->embed_jobs--;
    return NULL;
}

enum MHD_Result serve_post_embeddings(serve_server *s, struct MHD_Connection *c, serve_conn *conn,
                                      const serve_request *req)
{
    serve_error err;
    serve_model *m = serve_find_model(s, conn, req->model, &err);
    if (!m)
        return conn->retry_after ? serve_reply_error_with(c, &err, MHD_HTTP_HEADER_RETRY_AFTER, "1")
                                 : serve_reply_error(c, &err);
    if (!m->embedder) {
        serve_fail(&err, 400, "invalid_request_error", "model_not_supported", "model",
                   "model '%.100s' does not make embeddings: its GGUF names no pooling (embedding models: bert, "
                   "nomic-bert, gemma-embedding, Qwen3-Embedding)", m->cfg.id);
        return serve_reply_error(c, &err);
    }
    if (req->dimensions > mote_embedder_dim(m->embedder)) {
        serve_fail(&err, 400, "invalid_request_error", NULL, "dimensions",
                   "'dimensions' %d is more than the model's %d", req->dimensions, mote_embedder_dim(m->embedder));
        return serve_reply_error(c, &err);
    }
    serve_embed_job *j = calloc(1, sizeof *j);
    if (!j) return MHD_NO;
    *j = (serve_embed_job){.s = s, .m = m, .c = c, .n = (int)req->n_inputs, .base64 = req->base64,
                           .dimensions = req->dimensions};
    /* the texts are the request's, which is freed when this returns: copy the pointers' strings */
    j->texts = calloc(req->n_inputs, sizeof *j->texts);
    for (size_t i = 0; j->texts && i < req->n_inputs; i++)
        if (!(j->texts[i] = strdup(req->inputs[i]))) break;
    if (!j->texts || (req->n_inputs && !j->texts[req->n_inputs - 1])) {
        serve_embed_free(j);
        return MHD_NO;
    }
    conn->embed = j;
    s->embed_jobs++;
    MHD_suspend_connection(c);
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int started = pthread_create(&t, &attr, worker, j) == 0;
    pthread_attr_destroy(&attr);
    if (!started) {
        MHD_resume_connection(c);
        s->embed_jobs--;
        j->failed = 1;
        serve_fail(&j->err, 503, "server_error", NULL, NULL, "cannot start a thread for the request");
    }
    return MHD_YES;
}

enum MHD_Result serve_embed_resume(serve_server *s, struct MHD_Connection *c, serve_conn *conn)
{
    (void)s;
    serve_embed_job *j = conn->embed;
    if (j->failed) return serve_reply_error(c, &j->err);
    char *body = j->body;
    j->body = NULL;
    return serve_reply_body(c, MHD_HTTP_OK, body, j->len);
}
