/*
 * seeds.c — writes the model target's seed corpus: tiny but complete GGUF
 * models (a 24-token SentencePiece vocabulary, n_embd 32, one or two
 * blocks, and one of three layers on two shared blocks) in the
 * architectures and weight types the engine runs, a few KB each. They are made at build time, not committed: `seeds DIR`.
 *
 * Weights are small pseudo-random values (a fixed seed), norms 1: a run is
 * numerically tame, so a mutation that breaks the numbers is the fuzzer's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_write.h"
#include "gguf/ggml_type.h"
#include "tensor/quant.h"

#define N_EMBD 32
#define N_FF 64
#define N_HEAD 2
#define N_HEAD_KV 1

static const char *const tokens[] = {
    "<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "c", "d", "e", "o", "n", "t",
    "\xE2\x96\x81" "a", "\xE2\x96\x81" "t", "\xE2\x96\x81" "the", "on", "ce", "up", "\xE2\x96\x81" "once",
    "\xE2\x96\x81" "upon", "<0x0A>", "<0x20>", ".", ",",
};
#define N_VOCAB ((int)(sizeof tokens / sizeof tokens[0]))

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) & 0xFFFF) / 65536.0f - 0.5f;
}

/* The tensors' bytes: the writer borrows them until the file is written. */
static void *kept[128];
static int n_kept;

static void free_kept(void)
{
    while (n_kept > 0) free(kept[--n_kept]);
}

/* One tensor of ne0 x ne1 values (ne1 1: a vector), stored as type. */
static int add(gguf_writer *w, const char *name, int ne0, int ne1, uint32_t type, float fill)
{
    size_t n = (size_t)ne0 * (size_t)ne1;
    float *x = malloc(n * sizeof *x);
    void *q = malloc(n * sizeof(float));
    int rc = x && q ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) x[i] = fill != 0 ? fill : 0.2f * uniform();
    const void *data = x;
    if (rc == 0 && type != GGML_TYPE_F32) {
        size_t row = ggml_row_size(type, ne0);
        for (int r = 0; rc == 0 && r < ne1; r++)
            if (quantize_row(type, x + (size_t)r * ne0, (char *)q + r * row, ne0) != MOTE_OK) rc = -1;
        data = q;
    }
    int64_t ne[2] = {ne0, ne1};
    if (rc == 0 && gguf_writer_add_tensor(w, name, type, ne1 == 1 ? 1 : 2, ne, data) != MOTE_OK) rc = -1;
    if (n_kept + 2 > (int)(sizeof kept / sizeof kept[0])) rc = -1;
    kept[n_kept++] = x;
    kept[n_kept++] = q;
    return rc;
}

/* n_blocks < n_layer: layer l computes with stored block l % n_blocks
 * (mote.block_map), so the map's checks are fuzzed too. */
static int write_model(const char *dir, const char *arch, uint32_t type, const char *tname, int n_layer, int n_blocks)
{
    gguf_writer *w;
    if (gguf_writer_create(&w) != MOTE_OK) return -1;
    char key[128], path[4096];
#define K(s) (snprintf(key, sizeof key, "%s.%s", arch, s), key)
    int rc = 0;
    rc |= gguf_writer_add_str(w, "general.architecture", arch);
    rc |= gguf_writer_add_str(w, "general.name", "fuzz seed");
    rc |= gguf_writer_add_u32(w, K("block_count"), (uint32_t)n_layer);
    if (n_blocks < n_layer) {
        uint32_t map[8];
        for (int l = 0; l < n_layer && l < 8; l++) map[l] = (uint32_t)(l % n_blocks);
        rc |= gguf_writer_add_arr(w, "mote.block_map", GGUF_TYPE_UINT32, map, (uint64_t)n_layer);
    }
    rc |= gguf_writer_add_u32(w, K("context_length"), 64);
    rc |= gguf_writer_add_u32(w, K("embedding_length"), N_EMBD);
    rc |= gguf_writer_add_u32(w, K("feed_forward_length"), N_FF);
    rc |= gguf_writer_add_u32(w, K("attention.head_count"), N_HEAD);
    rc |= gguf_writer_add_u32(w, K("attention.head_count_kv"), N_HEAD_KV);
    rc |= gguf_writer_add_f32(w, K("rope.freq_base"), 10000.0f);
    rc |= gguf_writer_add_f32(w, K("attention.layer_norm_rms_epsilon"), 1e-5f);
    /* the keys of each family's features (src/model/arch_load.c) */
    const int gemma3 = strcmp(arch, "gemma3") == 0, phi3 = strcmp(arch, "phi3") == 0;
    if (gemma3) {
        rc |= gguf_writer_add_u32(w, K("attention.sliding_window"), 4);
        rc |= gguf_writer_add_f32(w, K("final_logit_softcapping"), 30.0f);
    }
    if (phi3) {
        rc |= gguf_writer_add_u32(w, K("rope.scaling.original_context_length"), 32);
        rc |= gguf_writer_add_f32(w, K("rope.scaling.attn_factor"), 1.1f);
    }
    if (strcmp(arch, "granite") == 0) {
        rc |= gguf_writer_add_f32(w, K("embedding_scale"), 12.0f);
        rc |= gguf_writer_add_f32(w, K("residual_scale"), 0.22f);
        rc |= gguf_writer_add_f32(w, K("attention.scale"), 0.125f);
        rc |= gguf_writer_add_f32(w, K("logit_scale"), 8.0f);
    }
#undef K
    rc |= gguf_writer_add_str(w, "tokenizer.ggml.model", "llama");
    rc |= gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", tokens, (size_t)N_VOCAB);
    float scores[N_VOCAB];
    int32_t types[N_VOCAB];
    for (int i = 0; i < N_VOCAB; i++) {
        scores[i] = -(float)i;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : tokens[i][0] == '<' ? 6 : 1;
    }
    rc |= gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, (size_t)N_VOCAB);
    rc |= gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (size_t)N_VOCAB);
    rc |= gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
    rc |= gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
    if (strcmp(arch, "qwen2") == 0)
        rc |= gguf_writer_add_str(w, "tokenizer.chat_template",
                                  "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                                  "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
    if (rc) goto fail;

    const int hd = N_EMBD / N_HEAD, kv = hd * N_HEAD_KV;
    if (add(w, "token_embd.weight", N_EMBD, N_VOCAB, type, 0) || add(w, "output_norm.weight", N_EMBD, 1, GGML_TYPE_F32, 1))
        goto fail;
    if (phi3 && (add(w, "rope_factors_long.weight", hd / 2, 1, GGML_TYPE_F32, 2.0f) ||
                 add(w, "rope_factors_short.weight", hd / 2, 1, GGML_TYPE_F32, 1.5f)))
        goto fail;
    for (int l = 0; l < n_blocks; l++) {
        char name[64];
#define T(s, a, b, t, fill) (snprintf(name, sizeof name, "blk.%d." s, l), add(w, name, a, b, t, fill))
        if (T("attn_norm.weight", N_EMBD, 1, GGML_TYPE_F32, 1) || T("attn_output.weight", N_EMBD, N_EMBD, type, 0) ||
            T("ffn_norm.weight", N_EMBD, 1, GGML_TYPE_F32, 1) || T("ffn_down.weight", N_FF, N_EMBD, type, 0))
            goto fail;
        if (phi3 ? T("attn_qkv.weight", N_EMBD, N_EMBD + 2 * kv, type, 0) || T("ffn_up.weight", N_EMBD, 2 * N_FF, type, 0)
                 : T("attn_q.weight", N_EMBD, N_EMBD, type, 0) || T("attn_k.weight", N_EMBD, kv, type, 0) ||
                       T("attn_v.weight", N_EMBD, kv, type, 0) || T("ffn_gate.weight", N_EMBD, N_FF, type, 0) ||
                       T("ffn_up.weight", N_EMBD, N_FF, type, 0))
            goto fail;
        if (gemma3 && (T("attn_q_norm.weight", hd, 1, GGML_TYPE_F32, 1) || T("attn_k_norm.weight", hd, 1, GGML_TYPE_F32, 1) ||
                       T("post_attention_norm.weight", N_EMBD, 1, GGML_TYPE_F32, 1) ||
                       T("post_ffw_norm.weight", N_EMBD, 1, GGML_TYPE_F32, 1)))
            goto fail;
        if (strcmp(arch, "qwen2") == 0 &&
            (T("attn_q.bias", N_EMBD, 1, GGML_TYPE_F32, 0) || T("attn_k.bias", kv, 1, GGML_TYPE_F32, 0) ||
             T("attn_v.bias", kv, 1, GGML_TYPE_F32, 0)))
            goto fail;
#undef T
    }
    if (n_blocks < n_layer)
        snprintf(path, sizeof path, "%s/%s-%s-%dl-shared%d.gguf", dir, arch, tname, n_layer, n_blocks);
    else
        snprintf(path, sizeof path, "%s/%s-%s-%dl.gguf", dir, arch, tname, n_layer);
    if (gguf_writer_write_file(w, path) != MOTE_OK) goto fail;
    gguf_writer_free(w);
    free_kept();
    return 0;
fail:
    gguf_writer_free(w);
    free_kept();
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 2;
    }
    if (write_model(argv[1], "llama", GGML_TYPE_F32, "f32", 1, 1) || write_model(argv[1], "llama", GGML_TYPE_Q8_0, "q8_0", 2, 2) ||
        write_model(argv[1], "llama", GGML_TYPE_Q4_0, "q4_0", 1, 1) || write_model(argv[1], "qwen2", GGML_TYPE_F16, "f16", 1, 1) ||
        write_model(argv[1], "gemma3", GGML_TYPE_F32, "f32", 2, 2) || write_model(argv[1], "phi3", GGML_TYPE_F32, "f32", 1, 1) ||
        write_model(argv[1], "granite", GGML_TYPE_Q8_0, "q8_0", 1, 1) ||
        write_model(argv[1], "llama", GGML_TYPE_Q8_0, "q8_0", 3, 2) ||
        write_model(argv[1], "llama", MOTE_TYPE_FP8, "fp8", 1, 1)) {
        fprintf(stderr, "seeds: cannot write the models in %s\n", argv[1]);
        return 1;
    }
    return 0;
}
