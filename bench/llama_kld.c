/*
 * llama_kld.c — llama.cpp's side of `mote kld`: the same chunks of a text
 * through two models with libllama, and the same statistics from its
 * logits, so tests/test_kld.c can hold mote's numbers to llama.cpp's.
 *
 * The chunking is llama-perplexity's (tools/perplexity/perplexity.cpp):
 * tokens with BOS, chunks of N tokens with BOS first, an empty cache each,
 * logits of positions N/2 .. N-2 scored against the next token. The
 * statistics are computed exactly in double from both models' logits (not
 * from llama-perplexity's 16-bit base file), as mote_kld computes them.
 * Context settings are llama.cpp's defaults (F16 KV cache, flash attention
 * auto), as llama-perplexity runs.
 *
 * Usage: llama-kld BASE CANDIDATE TEXT N_CTX [THREADS]
 * Prints one flat JSON object, a key per line, with mote kld --json's keys
 * for n_chunks, n_scored, ppl_base, ppl_cand, kld_mean, kld_max, same_top.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static char *read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(buf); return NULL; }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* log of the softmax's normaliser, in double */
static double log_norm(const float *v, int n) {
    double max = v[0], sum = 0;
    for (int i = 1; i < n; i++) if (v[i] > max) max = v[i];
    for (int i = 0; i < n; i++) sum += exp((double)v[i] - max);
    return log(sum) + max;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: llama-kld BASE CANDIDATE TEXT N_CTX [THREADS]\n"); return 2; }
    const int n_ctx = atoi(argv[4]), n_threads = argc > 5 ? atoi(argv[5]) : 2;
    if (n_ctx < 4) { fprintf(stderr, "llama-kld: N_CTX must be at least 4\n"); return 2; }
    llama_log_set(quiet_log, NULL);
    const char *libdir = getenv("LLAMA_PEER_LIBDIR");
    ggml_backend_load_all_from_path(libdir ? libdir : LLAMA_LIBDIR);
    llama_backend_init();

    struct llama_model *model[2];
    struct llama_context *ctx[2];
    for (int k = 0; k < 2; k++) {
        struct llama_model_params mp = llama_model_default_params();
        mp.n_gpu_layers = 0;
        model[k] = llama_model_load_from_file(argv[1 + k], mp);
        if (!model[k]) { fprintf(stderr, "llama-kld: cannot load %s\n", argv[1 + k]); return 1; }
        struct llama_context_params cp = llama_context_default_params();
        cp.n_ctx = (uint32_t)n_ctx;
        cp.n_batch = cp.n_ubatch = (uint32_t)n_ctx;
        cp.n_threads = cp.n_threads_batch = n_threads;
        cp.no_perf = true;
        ctx[k] = llama_init_from_model(model[k], cp);
        if (!ctx[k]) { fprintf(stderr, "llama-kld: cannot create a context\n"); return 1; }
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model[0]);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    if (llama_vocab_n_tokens(llama_model_get_vocab(model[1])) != n_vocab) {
        fprintf(stderr, "llama-kld: the vocabularies differ\n");
        return 1;
    }

    size_t len;
    char *text = read_text(argv[3], &len);
    if (!text) { fprintf(stderr, "llama-kld: cannot read %s\n", argv[3]); return 1; }
    int cap = (int)len + 16;
    llama_token *toks = malloc((size_t)cap * sizeof *toks);
    const int n_toks = llama_tokenize(vocab, text, (int32_t)len, toks, cap, true, false);
    if (n_toks < 0) { fprintf(stderr, "llama-kld: tokenization failed\n"); return 1; }
    const int n_chunks = n_toks / n_ctx, first = n_ctx / 2;
    if (n_chunks < 1) { fprintf(stderr, "llama-kld: fewer than one chunk\n"); return 1; }
    const int add_bos = llama_vocab_get_add_bos(vocab);

    struct llama_batch batch = llama_batch_init(n_ctx, 0, 1);
    double nll = 0, nll_base = 0, kld_sum = 0, kld_max = 0;
    long count = 0, same_top = 0;
    for (int c = 0; c < n_chunks; c++) {
        for (int k = 0; k < 2; k++) {
            llama_memory_clear(llama_get_memory(ctx[k]), true);
            batch.n_tokens = n_ctx;
            for (int j = 0; j < n_ctx; j++) {
                batch.token[j] = j == 0 && add_bos ? llama_vocab_bos(vocab) : toks[c * n_ctx + j];
                batch.pos[j] = j;
                batch.n_seq_id[j] = 1;
                batch.seq_id[j][0] = 0;
                batch.logits[j] = j >= first;
            }
            if (llama_decode(ctx[k], batch)) { fprintf(stderr, "llama-kld: decode failed\n"); return 1; }
        }
        for (int j = first; j < n_ctx - 1; j++) {
            const float *b = llama_get_logits_ith(ctx[0], j), *q = llama_get_logits_ith(ctx[1], j);
            const int next = toks[c * n_ctx + j + 1];
            const double norm_b = log_norm(b, n_vocab), norm_q = log_norm(q, n_vocab);
            double kld = 0;
            int top_b = 0, top_q = 0;
            for (int i = 0; i < n_vocab; i++) {
                const double lb = (double)b[i] - norm_b, lq = (double)q[i] - norm_q;
                kld += exp(lb) * (lb - lq);
                if (b[i] > b[top_b]) top_b = i;
                if (q[i] > q[top_q]) top_q = i;
            }
            nll_base += norm_b - b[next];
            nll += norm_q - q[next];
            kld_sum += kld;
            if (kld > kld_max) kld_max = kld;
            same_top += top_b == top_q;
            count++;
        }
    }
    printf("{\n  \"n_chunks\": %d,\n  \"n_scored\": %ld,\n  \"ppl_base\": %.9g,\n  \"ppl_cand\": %.9g,\n"
           "  \"kld_mean\": %.9g,\n  \"kld_max\": %.9g,\n  \"same_top\": %.9g\n}\n",
           n_chunks, count, exp(nll_base / count), exp(nll / count), kld_sum / count, kld_max,
           (double)same_top / count);
    llama_batch_free(batch);
    for (int k = 0; k < 2; k++) { llama_free(ctx[k]); llama_model_free(model[k]); }
    free(toks);
    free(text);
    llama_backend_free();
    return 0;
}
