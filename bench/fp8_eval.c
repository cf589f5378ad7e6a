/*
 * fp8_eval.c — how close a quantized model stays to its F32 original:
 * KL divergence of the next-token distributions, top-1 agreement and
 * perplexity, over a text cut into chunks as llama.cpp's perplexity tool
 * cuts it (each chunk starts with BOS; the second half of its positions
 * are scored). And a converter, until `mote quantize` exists: every 2-D F32
 * tensor whose rows are whole blocks goes to TYPE (FP8, Q8_0, ...), the rest
 * is copied.
 *
 *   fp8-eval convert IN_F32.gguf TYPE OUT.gguf
 *   fp8-eval kld BASE.gguf TEXT CTX MODEL.gguf...
 *
 * Built by bench/Makefile from ../build/libmote.a (internal headers: the
 * converter uses the GGUF reader and writer and quantize_rows).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "mote.h"
#include "tensor/quant.h"

#define DIE(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), exit(1))
#define CHECK(call)                                                       \
    do {                                                                  \
        if ((call) != MOTE_OK) DIE("%s: %s", #call, mote_last_error());   \
    } while (0)

static uint32_t type_by_name(const char *name)
{
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++)
        if (ggml_type_get(t) && tensor_quantizer(t) && strcmp(ggml_type_name(t), name) == 0) return t;
    DIE("unknown type %s", name);
}

static void convert(const char *in, const char *type_name, const char *out)
{
    const uint32_t type = type_by_name(type_name);
    gguf_file *f;
    gguf_writer *w;
    CHECK(gguf_open(in, &f));
    CHECK(gguf_writer_create(&w));
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (strcmp(f->kv[i].key, "general.file_type") != 0) CHECK(gguf_writer_add_kv(w, &f->kv[i]));
    CHECK(gguf_writer_add_u32(w, "general.file_type", type == MOTE_TYPE_FP8 ? MOTE_FTYPE_FP8 : type == GGML_TYPE_Q8_0 ? 7 : 0));
    void **bufs = calloc(f->n_tensors, sizeof *bufs);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        const void *data = t->data;
        uint32_t tt = t->type;
        if (t->type == GGML_TYPE_F32 && t->n_dims == 2 && t->ne[0] % ggml_type_get(type)->block_size == 0) {
            bufs[i] = malloc(ggml_row_size(type, t->ne[0]) * (size_t)t->ne[1]);
            CHECK(quantize_rows(type, t->data, bufs[i], t->ne[1], t->ne[0], NULL, NULL));
            data = bufs[i];
            tt = type;
        }
        CHECK(gguf_writer_add_tensor(w, t->name, tt, t->n_dims, t->ne, data));
    }
    CHECK(gguf_writer_write_file(w, out));
    gguf_writer_free(w);
    for (uint64_t i = 0; i < f->n_tensors; i++) free(bufs[i]);
    free(bufs);
    gguf_close(f);
}

/* Every chunk's logits (ctx x n_vocab) of a model over the text's tokens. */
static float *chunk_logits(const char *path, const mote_token *tok, int n_chunks, int ctx, int *n_vocab)
{
    mote_model *m;
    mote_model_info info;
    CHECK(mote_model_open(path, NULL, &m));
    CHECK(mote_model_get_info(m, &info));
    *n_vocab = info.n_vocab;
    float *out = malloc((size_t)n_chunks * ctx * info.n_vocab * sizeof *out);
    mote_session_params p = mote_session_default_params();
    p.n_ctx = ctx;
    p.kv_type = MOTE_KV_F32;
    for (int c = 0; c < n_chunks; c++) {
        mote_session *s;
        CHECK(mote_session_create(m, &p, &s));
        CHECK(mote_session_eval(s, tok + (size_t)c * ctx, ctx, 1));
        for (int i = 0; i < ctx; i++)
            memcpy(out + ((size_t)c * ctx + i) * info.n_vocab, mote_session_logits(s, i), info.n_vocab * sizeof *out);
        mote_session_free(s);
    }
    mote_model_close(m);
    return out;
}

/* log softmax of n logits into out (double) */
static void log_softmax(const float *l, int n, double *out)
{
    double mx = l[0], sum = 0;
    for (int i = 1; i < n; i++) mx = l[i] > mx ? l[i] : mx;
    for (int i = 0; i < n; i++) sum += exp(l[i] - mx);
    const double lse = mx + log(sum);
    for (int i = 0; i < n; i++) out[i] = l[i] - lse;
}

static void kld(const char *base, const char *text_path, int ctx, char **models, int n_models)
{
    FILE *fp = fopen(text_path, "rb");
    if (!fp) DIE("cannot open %s", text_path);
    static char text[1 << 22];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    mote_model *m;
    CHECK(mote_model_open(base, NULL, &m));
    size_t n_tok = 0;
    mote_tokenize(m, text, len, 1, 0, NULL, 0, &n_tok);
    mote_token *tok = malloc(n_tok * sizeof *tok);
    CHECK(mote_tokenize(m, text, len, 1, 0, tok, n_tok, &n_tok));
    mote_token bos = tok[0];
    mote_model_close(m);
    const int n_chunks = (int)(n_tok / (size_t)ctx);
    if (n_chunks < 1) DIE("text too short for one chunk of %d", ctx);
    for (int c = 0; c < n_chunks; c++) tok[(size_t)c * ctx] = bos;
    int nv;
    float *ref = chunk_logits(base, tok, n_chunks, ctx, &nv);
    double *lp = malloc(nv * sizeof *lp), *lq = malloc(nv * sizeof *lq);
    printf("%d chunks of %d tokens, positions %d..%d of each scored (%d)\n", n_chunks, ctx, ctx / 2, ctx - 2,
           n_chunks * (ctx - 1 - ctx / 2));
    printf("| model | PPL | mean KLD | max KLD | top-1 same |\n|---|---:|---:|---:|---:|\n");
    for (int mi = -1; mi < n_models; mi++) {
        float *q = mi < 0 ? ref : chunk_logits(models[mi], tok, n_chunks, ctx, &nv);
        double nll = 0, kl = 0, klmax = 0;
        int same = 0, n = 0;
        for (int c = 0; c < n_chunks; c++)
            for (int i = ctx / 2; i < ctx - 1; i++) {
                const float *a = ref + ((size_t)c * ctx + i) * nv, *b = q + ((size_t)c * ctx + i) * nv;
                log_softmax(a, nv, lp);
                log_softmax(b, nv, lq);
                double k = 0;
                int ta = 0, tb = 0;
                for (int v = 0; v < nv; v++) {
                    k += exp(lp[v]) * (lp[v] - lq[v]);
                    if (a[v] > a[ta]) ta = v;
                    if (b[v] > b[tb]) tb = v;
                }
                kl += k;
                klmax = k > klmax ? k : klmax;
                same += ta == tb;
                nll -= lq[tok[(size_t)c * ctx + i + 1]];
                n++;
            }
        printf("| %s | %.4f | %.6f | %.6f | %.2f%% |\n", mi < 0 ? base : models[mi], exp(nll / n), kl / n, klmax,
               100.0 * same / n);
        if (mi >= 0) free(q);
    }
    free(ref), free(lp), free(lq), free(tok);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "convert") == 0) convert(argv[2], argv[3], argv[4]);
    else if (argc >= 5 && strcmp(argv[1], "kld") == 0) kld(argv[2], argv[3], atoi(argv[4]), argv + 5, argc - 5);
    else DIE("usage: fp8-eval convert IN.gguf TYPE OUT.gguf | kld BASE.gguf TEXT CTX MODEL.gguf...");
    return 0;
}
