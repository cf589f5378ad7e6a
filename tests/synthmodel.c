/* synthmodel.c — a tiny vocabulary and random-weight models (see synthmodel.h). */
#include "synthmodel.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf_write.h"
#include "testutil.h"

#define SP "\xE2\x96\x81" /* U+2581, SentencePiece's word boundary */
#define MAX_TOKENS 1024
#define MAX_TOKEN_LEN 32
#define SYNTH_SEED 20240611

/* llama.cpp's token types (llama_token_type). */
enum { TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_BYTE = 6 };

/* The words of the reference prompts, and a few more. */
static const char *const words[] = {
    "Once", "upon", "a",    "time", "The",  "the",  "little", "dog", "was", "very", "happy", "because",
    "Lily", "and",  "Tom",  "went", "to",   "park", "They",   "saw", "big", "there", "lived", "girl",
    "she",  "he",   "liked", "play", "with", "ball", "sun",    "day",
};

typedef struct vocab_list {
    char text[MAX_TOKENS][MAX_TOKEN_LEN];
    float score[MAX_TOKENS];
    int32_t type[MAX_TOKENS];
    int n;
} vocab_list;

static int find(const vocab_list *v, const char *text)
{
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->text[i], text) == 0) return i;
    return -1;
}

/* Add text unless present; a higher score is merged first by SentencePiece. */
static void add(vocab_list *v, const char *text, float score, int32_t type)
{
    if (find(v, text) >= 0 || v->n == MAX_TOKENS) return;
    snprintf(v->text[v->n], MAX_TOKEN_LEN, "%s", text);
    v->score[v->n] = score;
    v->type[v->n++] = type;
}

/* The whole vocabulary, built the same way every time. */
static const vocab_list *vocab(void)
{
    static vocab_list v;
    if (v.n) return &v;
    add(&v, "<unk>", 0.0f, TYPE_UNKNOWN);
    add(&v, "<s>", 0.0f, TYPE_CONTROL);
    add(&v, "</s>", 0.0f, TYPE_CONTROL);
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        add(&v, hex, 0.0f, TYPE_BYTE);
    }
    add(&v, SP, -1.0f, TYPE_NORMAL);
    for (char c = 'a'; c <= 'z'; c++) add(&v, (char[]){c, 0}, -2.0f, TYPE_NORMAL);
    add(&v, ".", -2.0f, TYPE_NORMAL);
    add(&v, ",", -2.0f, TYPE_NORMAL);
    /* "▁w", "▁wo", ... "▁word": each merge step is a token, longer ones
     * score higher, so merging always ends at the whole word. */
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        const size_t len = strlen(words[w]);
        for (size_t k = 1; k <= len; k++) {
            char piece[MAX_TOKEN_LEN];
            snprintf(piece, sizeof piece, SP "%.*s", (int)k, words[w]);
            add(&v, piece, (float)k - 1.0f, TYPE_NORMAL);
        }
    }
    return &v;
}

int synthmodel_token_id(const char *text) { return find(vocab(), text); }

int synthmodel_write_vocab(const char *path)
{
    const vocab_list *v = vocab();
    assert_int_equal(find(v, "<s>"), SYNTHMODEL_BOS);
    assert_int_equal(find(v, "<0x00>"), SYNTHMODEL_BYTE0);
    const char *texts[MAX_TOKENS];
    for (int i = 0; i < v->n; i++) texts[i] = v->text[i];
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    assert_int_equal(gguf_writer_add_str(w, "general.architecture", "llama"), MOTE_OK);
    assert_int_equal(gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), MOTE_OK);
    assert_int_equal(gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", texts, (uint64_t)v->n), MOTE_OK);
    assert_int_equal(gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v->score, (uint64_t)v->n),
                     MOTE_OK);
    assert_int_equal(gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v->type, (uint64_t)v->n),
                     MOTE_OK);
    assert_int_equal(gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", SYNTHMODEL_UNK), MOTE_OK);
    assert_int_equal(gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", SYNTHMODEL_BOS), MOTE_OK);
    assert_int_equal(gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", SYNTHMODEL_EOS), MOTE_OK);
    assert_int_equal(gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true), MOTE_OK);
    assert_int_equal(gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", false), MOTE_OK);
    if (gguf_writer_write_file(w, path) != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
    gguf_writer_free(w);
    return v->n;
}

char *synthmodel_tempdir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(4096);
    assert_non_null(dir);
    snprintf(dir, 4096, "%s/mote-synthmodel-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) fail_msg("mkdtemp %s failed", dir);
    return dir;
}

void synthmodel_tempdir_remove(char *dir)
{
    if (!dir) return;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
    free(dir);
}

char *synthmodel_make(const char *dir, const char *like, const char *type, int n_layer)
{
    char vocab_path[4200];
    snprintf(vocab_path, sizeof vocab_path, "%s/vocab.gguf", dir);
    if (access(vocab_path, R_OK) != 0) synthmodel_write_vocab(vocab_path);
    char *out = malloc(4300);
    assert_non_null(out);
    snprintf(out, 4300, "%s/%s-%s.gguf", dir, like, type);
    mote_synth_params p = mote_synth_default_params();
    p.like = like;
    p.type = type;
    p.vocab_path = vocab_path;
    p.out_path = out;
    p.seed = SYNTH_SEED;
    p.n_layer = n_layer;
    p.n_threads = 2;
    p.progress = NULL;
    if (mote_synth(&p) != MOTE_OK) fail_msg("synth %s %s: %s", like, type, mote_last_error());
    return out;
}
