/*
 * embed.c — POST /v1/embeddings (OpenAI's embeddings API).
 *
 * The request's texts are embedded by the model's embedder as a task
 * (task.h: a thread of the request's own, the connection suspended); one
 * request at a time runs a model's embedder (its lock), several models'
 * at once.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/internal.h"
#include "serve/task.h"

/* One request's texts and answer options, for its task. */
typedef struct embed_job {
    serve_model *m;
    char **texts;        /* (n) copies of the request's */
    int n;
    int base64, dimensions;
} embed_job;

mote_embed_params serve_embed_params(const serve_server *s, const serve_model *m)
{
    mote_embed_params p = mote_embed_default_params();
    p.n_threads = s->cfg.n_threads;
    p.n_ctx = m->cfg.n_ctx > 0 ? m->cfg.n_ctx : 0; /* the model's own: a server-wide n_ctx is for generation */
    return p;
}

static void job_free(void *arg)
{
    embed_job *j = arg;
    for (int i = 0; i < j->n; i++) free(j->texts[i]);
    free(j->texts);
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
static int write_response(const embed_job *j, float *vec, int full, int dim, int64_t n_tokens, char **body,
                          size_t *len)
{
    FILE *f = open_memstream(body, len);
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

/* The task: embed under the model's lock, write the answer. */
static int run_job(void *arg, char **body, size_t *len, serve_error *err)
{
    embed_job *j = arg;
    const int full = mote_embedder_dim(j->m->embedder);
    const int dim = j->dimensions ? j->dimensions : full;
    float *vec = malloc(sizeof(float) * (size_t)full * (size_t)j->n);
    int64_t n_tokens = 0;
    int rc = 0;
    if (!vec) return serve_fail(err, 500, "server_error", NULL, NULL, "out of memory for %d vectors", j->n);
    pthread_mutex_lock(&j->m->embed_lock);
    const mote_status st = mote_embed(j->m->embedder, (const char *const *)j->texts, NULL, j->n, vec, &n_tokens);
    pthread_mutex_unlock(&j->m->embed_lock);
    const int bad = st == MOTE_E_RANGE || st == MOTE_E_INVALID;
    if (st != MOTE_OK)
        rc = serve_fail(err, bad ? 400 : 500, bad ? "invalid_request_error" : "server_error",
                        st == MOTE_E_RANGE ? "context_length_exceeded" : NULL, "input", "%.200s", mote_last_error());
    else if (write_response(j, vec, full, dim, n_tokens, body, len) != 0)
        rc = serve_fail(err, 500, "server_error", NULL, NULL, "out of memory for the response");
    free(vec);
    return rc;
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
    embed_job *j = calloc(1, sizeof *j);
    if (!j) return MHD_NO;
    *j = (embed_job){.m = m, .base64 = req->base64, .dimensions = req->dimensions};
    if (!(j->texts = calloc(req->n_inputs, sizeof *j->texts))) {
        free(j);
        return MHD_NO;
    }
    for (; j->n < (int)req->n_inputs; j->n++)
        if (!(j->texts[j->n] = strdup(req->inputs[j->n]))) {
            job_free(j);
            return MHD_NO;
        }
    return serve_task_start(s, c, conn, run_job, j, job_free);
}
