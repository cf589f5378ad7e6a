/*
 * imatrix_peer.c — llama.cpp's own importance matrix, for test_imatrix to
 * hold mote's against: what `llama-imatrix -m MODEL -f TEXT -c C -b C
 * --no-ppl` computes and writes, through libllama's eval callback as
 * tools/imatrix/imatrix.cpp does it (that tool is not in the npm package
 * bench/llama comes from; its arithmetic is copied here, in C).
 *
 * -b C makes every decode one chunk (one sequence), the passes mote makes.
 * The file is written with libggml-base's gguf functions exactly as
 * save_imatrix writes it (or as save_imatrix_legacy with --dat), so it is
 * a llama.cpp-made file for mote's reader too.
 *
 * Built by the top Makefile when bench/llama exists (build/tests/peer/).
 * Usage: imatrix-peer MODEL TEXT CHUNK OUT [--dat] [--process-output] [--kv-f32]
 * (--kv-f32: an F32 KV cache without flash attention, the arithmetic
 * mote's F32 cache reproduces bit for bit.)
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"

#define MIN_ROWS 16 /* imatrix.cpp: smaller batches are not collected */

typedef struct stat {
    char name[GGML_MAX_NAME];
    int64_t n;       /* values */
    float *values;   /* in_sum2 */
    int64_t count;   /* a dense weight's one count */
} stat;

static stat *stats;
static int n_stats, process_output;

static void quiet_log(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/* imatrix.cpp filter_tensor_name: CUDA0#blk.0.attn_k.weight#0 -> blk.0.attn_k.weight */
static void filter_name(const char *name, char *out)
{
    const char *p = strchr(name, '#');
    size_t n;
    if (p) {
        p++;
        const char *q = strchr(p, '#');
        n = q ? (size_t)(q - p) : strlen(p);
    } else {
        p = name;
        n = strlen(name);
    }
    if (n >= GGML_MAX_NAME) n = GGML_MAX_NAME - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static stat *find(const char *name, int64_t n)
{
    for (int i = 0; i < n_stats; i++)
        if (!strcmp(stats[i].name, name)) return &stats[i];
    stats = realloc(stats, (size_t)(n_stats + 1) * sizeof *stats);
    stat *s = &stats[n_stats++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->n = n;
    s->values = calloc((size_t)n, sizeof(float));
    return s;
}

/* imatrix.cpp collect_imatrix, for the dense products of these models. */
static bool collect(struct ggml_tensor *t, bool ask, void *user)
{
    (void)user;
    const struct ggml_tensor *src0 = t->src[0], *src1 = t->src[1];
    char wname[GGML_MAX_NAME];
    filter_name(src0 ? src0->name : "", wname);
    if (ask) {
        if (t->op == GGML_OP_MUL_MAT_ID) return true;
        if (t->op != GGML_OP_MUL_MAT) return false;
        if (src1->ne[1] < MIN_ROWS || src1->type != GGML_TYPE_F32) return false;
        return !strncmp(wname, "blk.", 4) || (process_output && !strcmp(wname, "output.weight"));
    }
    if (t->op == GGML_OP_MUL_MAT_ID) {
        fprintf(stderr, "imatrix-peer: %s: MUL_MAT_ID (experts) is not handled here\n", wname);
        exit(1);
    }
    if (!ggml_backend_buffer_is_host(src1->buffer)) {
        fprintf(stderr, "imatrix-peer: activations not in host memory\n");
        exit(1);
    }
    const char *data = src1->data;
    const int64_t n_mat = src0->ne[2] * src0->ne[3], ne0 = src1->ne[0];
    stat *e = find(wname, ne0 * n_mat);
    if (e->n != ne0 * n_mat) {
        fprintf(stderr, "imatrix-peer: inconsistent size for %s\n", wname);
        exit(1);
    }
    for (int64_t i3 = 0; i3 < src1->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < src1->ne[2]; i2++) {
            const int64_t mat = (i3 % src0->ne[3]) * src0->ne[2] + (i2 % src0->ne[2]);
            float *acc = e->values + mat * ne0;
            for (int64_t row = 0; row < src1->ne[1]; row++) {
                const float *x = (const float *)(data + row * src1->nb[1] + i2 * src1->nb[2] + i3 * src1->nb[3]);
                for (int64_t j = 0; j < ne0; j++) acc[j] += x[j] * x[j];
            }
        }
    for (int64_t j = 0; j < e->n; j++)
        if (!isfinite(e->values[j])) {
            fprintf(stderr, "imatrix-peer: non-finite values in %s\n", wname);
            exit(1);
        }
    e->count += ggml_nrows(src1) / n_mat;
    return true;
}

static int by_name(const void *a, const void *b) { return strcmp(((const stat *)a)->name, ((const stat *)b)->name); }

/* imatrix.cpp save_imatrix */
static int save_gguf(const char *path, const char *dataset, int chunk, int chunks)
{
    size_t size = 0;
    for (int i = 0; i < n_stats; i++)
        size += 2 * ggml_tensor_overhead() + sizeof(float) * (size_t)(stats[i].n + 1) + 2 * GGML_MEM_ALIGN;
    struct ggml_init_params ip = {size, NULL, false};
    struct ggml_context *ctx = ggml_init(ip);
    struct gguf_context *g = gguf_init_empty();
    gguf_set_val_str(g, "general.type", "imatrix");
    const char *ds[1] = {dataset};
    gguf_set_arr_str(g, "imatrix.datasets", ds, 1);
    gguf_set_val_u32(g, "imatrix.chunk_count", (uint32_t)chunks);
    gguf_set_val_u32(g, "imatrix.chunk_size", (uint32_t)chunk);
    for (int i = 0; i < n_stats; i++) {
        struct ggml_tensor *sums = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, stats[i].n, 1);
        struct ggml_tensor *counts = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1, 1);
        ggml_format_name(sums, "%s.in_sum2", stats[i].name);
        ggml_format_name(counts, "%s.counts", stats[i].name);
        memcpy(sums->data, stats[i].values, sizeof(float) * (size_t)stats[i].n);
        ((float *)counts->data)[0] = (float)stats[i].count;
        gguf_add_tensor(g, sums);
        gguf_add_tensor(g, counts);
    }
    bool ok = gguf_write_to_file(g, path, false);
    gguf_free(g);
    ggml_free(ctx);
    return ok ? 0 : 1;
}

/* imatrix.cpp save_imatrix_legacy */
static int save_dat(const char *path, const char *dataset, int chunk, int chunks)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    int32_t n = n_stats;
    fwrite(&n, 4, 1, f);
    for (int i = 0; i < n_stats; i++) {
        const stat *s = &stats[i];
        int32_t len = (int32_t)strlen(s->name), ncall = (int32_t)((s->count + chunk - 1) / chunk), nval = (int32_t)s->n;
        fwrite(&len, 4, 1, f);
        fwrite(s->name, 1, (size_t)len, f);
        fwrite(&ncall, 4, 1, f);
        fwrite(&nval, 4, 1, f);
        for (int32_t j = 0; j < nval; j++) {
            float v = (s->values[j] / (float)s->count) * (float)ncall;
            fwrite(&v, 4, 1, f);
        }
    }
    int32_t last = chunks, len = (int32_t)strlen(dataset);
    fwrite(&last, 4, 1, f);
    fwrite(&len, 4, 1, f);
    fwrite(dataset, 1, (size_t)len, f);
    return fclose(f) ? 1 : 0;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: imatrix-peer MODEL TEXT CHUNK OUT [--dat] [--process-output]\n");
        return 2;
    }
    const char *model_path = argv[1], *text_path = argv[2], *out = argv[4];
    const int chunk = atoi(argv[3]);
    int dat = 0, kv_f32 = 0;
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "--dat")) dat = 1;
        else if (!strcmp(argv[i], "--kv-f32")) kv_f32 = 1;
        else if (!strcmp(argv[i], "--process-output")) process_output = 1;
    }
    llama_log_set(quiet_log, NULL);
    const char *libdir = getenv("LLAMA_PEER_LIBDIR");
    ggml_backend_load_all_from_path(libdir ? libdir : LLAMA_LIBDIR);
    llama_backend_init();

    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(model_path, mp);
    if (!model) return fprintf(stderr, "imatrix-peer: cannot load %s\n", model_path), 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)chunk;
    cp.n_threads = cp.n_threads_batch = 2;
    if (kv_f32) {
        cp.type_k = cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    cp.cb_eval = collect;
    cp.cb_eval_user_data = NULL;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) return fprintf(stderr, "imatrix-peer: cannot create a context\n"), 1;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);

    size_t len;
    char *text = read_text(text_path, &len);
    if (!text) return fprintf(stderr, "imatrix-peer: cannot read %s\n", text_path), 1;
    int n_tok = -llama_tokenize(vocab, text, (int32_t)len, NULL, 0, true, false);
    llama_token *toks = malloc(sizeof *toks * (size_t)n_tok);
    if (llama_tokenize(vocab, text, (int32_t)len, toks, n_tok, true, false) != n_tok) return 1;
    const int n_chunks = n_tok / chunk;
    const bool add_bos = llama_vocab_get_add_bos(vocab);

    struct llama_batch batch = llama_batch_init(chunk, 0, 1);
    for (int i = 0; i < n_chunks; i++) {
        llama_memory_clear(llama_get_memory(ctx), true);
        batch.n_tokens = chunk;
        for (int k = 0; k < chunk; k++) {
            batch.token[k] = k == 0 && add_bos ? llama_vocab_bos(vocab) : toks[i * chunk + k];
            batch.pos[k] = k;
            batch.n_seq_id[k] = 1;
            batch.seq_id[k][0] = 0;
            batch.logits[k] = true; /* every output: the last FFN sees all rows */
        }
        if (llama_decode(ctx, batch)) return fprintf(stderr, "imatrix-peer: decode failed\n"), 1;
    }
    llama_synchronize(ctx);
    qsort(stats, (size_t)n_stats, sizeof *stats, by_name);
    int rc = dat ? save_dat(out, text_path, chunk, n_chunks) : save_gguf(out, text_path, chunk, n_chunks);
    printf("%d tokens, %d chunks of %d, %d entries\n", n_tok, n_chunks, chunk, n_stats);
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return rc;
}
