/*
 * fuzz_tokenize.c — libFuzzer target for tokenizing and detokenizing
 * arbitrary bytes with every kind of vocabulary in ../shared: SentencePiece
 * (with and without byte tokens), byte-level BPE under each pre-tokenizer,
 * Gemma 4's raw-UTF-8 BPE, WordPiece and Unigram.
 *
 * Input: the first byte picks the vocabulary (low 5 bits, modulo the
 * table) and the flags (bit 5 add_special, bit 6 parse_special, bit 7
 * render_special); the rest, at most MAX_TEXT bytes, is the text.
 *
 * Contract, for every vocabulary:
 * - mote_tokenize either fails with MOTE_E_TOKENIZE and a message (a
 *   vocabulary without byte tokens or an unknown token, or one asked to add
 *   a BOS it does not have), or gives the same count to a size query (cap
 *   0), to an exact buffer and to a buffer one short (MOTE_E_RANGE, the same
 *   prefix); a vocabulary that can encode every byte never fails without
 *   add_special;
 * - every id is inside the vocabulary, and with parse_special off the ids
 *   with add_special are those without, plus the BOS/EOS/SEP the vocabulary
 *   adds;
 * - detokenize succeeds; mote_token_to_piece gives each id's length to a
 *   size query, fills an exact buffer and refuses a buffer one short;
 * - the text read as ids (3 bytes each) detokenizes when they are all in
 *   the vocabulary, and fails with MOTE_E_INVALID and a message if not;
 * - round trip: detokenize(tokenize(x)) == x where the algorithm loses
 *   nothing (see roundtrip_holds).
 */
#include <string.h>

#include "base/status.h"
#include "engine/model.h"
#include "engine/vocab.h"
#include "fuzz.h"

/* Longer texts only slow each run down; the algorithms' state is local. */
#define MAX_TEXT 4096

/* The vocabularies, by path under the shared folder. The order is part of
 * the input format (the seeds' first bytes): append, never reorder. */
static const char *const VOCAB_FILES[] = {
    "vocab/ggml-vocab-llama-spm.gguf",      /* SPM with byte tokens */
    "vocab/ggml-vocab-phi-3.gguf",          /* SPM, user-defined tokens */
    "vocab/ggml-vocab-baichuan.gguf",       /* SPM */
    "models/stories260K.gguf",              /* SPM, 512 tokens */
    "models/TinyStories-656K.f16.gguf",     /* SPM without byte tokens: <unk> */
    "vocab/ggml-vocab-llama-bpe.gguf",      /* BPE, llama3 pre-tokenizer */
    "vocab/ggml-vocab-qwen2.gguf",          /* BPE, qwen2 */
    "vocab/ggml-vocab-qwen35.gguf",         /* BPE, qwen35 */
    "vocab/ggml-vocab-gpt-2.gguf",          /* BPE, gpt-2 */
    "vocab/ggml-vocab-starcoder.gguf",      /* BPE, starcoder */
    "vocab/ggml-vocab-refact.gguf",         /* BPE, refact */
    "vocab/ggml-vocab-falcon.gguf",         /* BPE, falcon */
    "vocab/ggml-vocab-mpt.gguf",            /* BPE, mpt */
    "vocab/ggml-vocab-deepseek-llm.gguf",   /* BPE, deepseek-llm */
    "vocab/ggml-vocab-deepseek-coder.gguf", /* BPE, deepseek-coder */
    "vocab/ggml-vocab-command-r.gguf",      /* BPE, command-r */
    "vocab/ggml-vocab-gpt-neox.gguf",       /* BPE, no pre-tokenizer name */
    "vocab/ggml-vocab-aquila.gguf",         /* BPE, no pre-tokenizer name */
    "vocab/ggml-vocab-gemma-4.gguf",        /* gemma4: BPE on raw UTF-8 */
    "vocab/ggml-vocab-bert-bge.gguf",       /* WordPiece */
    "vocab/ggml-vocab-nomic-bert-moe.gguf", /* Unigram */
};
#define N_VOCABS (sizeof VOCAB_FILES / sizeof VOCAB_FILES[0])

static mote_model *models[N_VOCABS]; /* NULL where the file is absent */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = fuzz_shared_dir();
    if (!dir) {
        fuzz_skip_reason = "no reference folder (set MOTE_SHARED or provide ../shared)";
        return 0;
    }
    mote_model_params p = mote_model_default_params();
    p.vocab_only = 1;
    size_t n_open = 0;
    for (size_t i = 0; i < N_VOCABS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, VOCAB_FILES[i]);
        if (mote_model_open(path, &p, &models[i]) == MOTE_OK) n_open++;
        else fprintf(stderr, "fuzz_tokenize: %s not opened: %s\n", path, mote_last_error());
    }
    if (n_open == 0) fuzz_skip_reason = "no vocabulary of the reference folder opened";
    return 0;
}

/* ------------------------------------------------------------------------
 * What must hold
 * ---------------------------------------------------------------------- */

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static int valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || len > n - i) return 0;
        uint32_t cp = len == 1 ? c : (uint32_t)(c & (0x7F >> len));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Every byte has a token of its own (byte-level BPE, or <0xXX> fallback). */
static int has_all_bytes(const struct vocab *v)
{
    for (int b = 0; b < 256; b++)
        if (!vocab_valid(v, v->byte_token[b])) return 0;
    return 1;
}

static int can_encode_anything(const struct vocab *v)
{
    return vocab_valid(v, v->unk) || has_all_bytes(v);
}

/*
 * detokenize(tokenize(x)) == x (detokenized without render_special) holds,
 * as in llama.cpp, for valid UTF-8 with parse_special off, where:
 * - the algorithm keeps every byte: SentencePiece or BPE with a token for
 *   every byte (no <unk>); WordPiece (lowercases, splits punctuation) and
 *   Unigram (normalises) are lossy;
 * - the text has no U+2581 where spaces are escaped as it (it comes back
 *   as a space);
 * - detokenize's clean-up of " ," and friends has nothing to clean;
 * - no added token eats the spaces beside it (LSTRIP/RSTRIP), and in
 *   SentencePiece no user-defined token is split off: the text after it
 *   gets a space prefix, as in llama.cpp;
 * - the BOS/EOS/SEP that add_special adds are control tokens (rendered as
 *   nothing).
 */
static int roundtrip_holds(const struct vocab *v, const uint8_t *text, size_t n, int add_special,
                           const mote_token *ids, size_t n_ids)
{
    if (v->type != VOCAB_SPM && v->type != VOCAB_BPE) return 0;
    if (!has_all_bytes(v) || !valid_utf8(text, n)) return 0;
    if (v->escape_whitespace && memmem(text, n, "\xE2\x96\x81", 3)) return 0;
    if (v->clean_spaces)
        for (size_t i = 0; i + 1 < n; i++)
            if (text[i] == ' ' && strchr("?!.,'", text[i + 1])) return 0;
    for (size_t i = 0; i < n_ids; i++) {
        uint32_t attr = v->tokens[ids[i]].attr;
        if (attr & (TOKEN_ATTR_LSTRIP | TOKEN_ATTR_RSTRIP)) return 0;
        if (v->type == VOCAB_SPM && (attr & TOKEN_ATTR_USER_DEFINED)) return 0;
    }
    if (add_special) {
        const int32_t added[] = {v->bos, v->eos, v->sep};
        for (size_t i = 0; i < 3; i++)
            if (vocab_valid(v, added[i]) && !(v->tokens[added[i]].attr & TOKEN_ATTR_CONTROL)) return 0;
    }
    return 1;
}

/* Tokenize with a size query, an exact buffer and one a token short; the
 * ids (malloc'd) or NULL when the vocabulary cannot encode the text. */
static mote_token *tokenize(const mote_model *m, const char *text, size_t n, int add_special,
                            int parse_special, size_t *n_ids)
{
    size_t count = 0;
    mote_clear_error();
    mote_status st = mote_tokenize(m, text, n, add_special, parse_special, NULL, 0, &count);
    if (st == MOTE_E_TOKENIZE) {
        fuzz_check(mote_last_error()[0], "a failed tokenize left no message");
        return NULL;
    }
    fuzz_check(st == (count > 0 ? MOTE_E_RANGE : MOTE_OK), "the size query did not say the count");
    mote_token *ids = malloc((count + 1) * sizeof *ids);
    fuzz_check(ids != NULL, "out of memory in the fuzzer");
    size_t again = 0;
    fuzz_check(mote_tokenize(m, text, n, add_special, parse_special, ids, count, &again) == MOTE_OK &&
                   again == count,
               "tokenize into a buffer of the queried size disagrees with the query");
    if (count > 0) {
        mote_token *short_ids = malloc(count * sizeof *short_ids);
        fuzz_check(short_ids != NULL, "out of memory in the fuzzer");
        size_t n_short = 0;
        fuzz_check(mote_tokenize(m, text, n, add_special, parse_special, short_ids, count - 1, &n_short) ==
                           MOTE_E_RANGE &&
                       n_short == count,
                   "a buffer one token short was not refused with the full count");
        fuzz_check(memcmp(short_ids, ids, (count - 1) * sizeof *ids) == 0,
                   "a buffer one token short did not get the same first tokens");
        free(short_ids);
    }
    *n_ids = count;
    return ids;
}

/* token_to_piece's size query, exact buffer and a buffer one byte short. */
static void check_piece(const mote_model *m, mote_token id, int render_special)
{
    size_t len = 0;
    mote_status st = mote_token_to_piece(m, id, render_special, NULL, 0, &len);
    fuzz_check(st == (len > 0 ? MOTE_E_RANGE : MOTE_OK), "token_to_piece's size query failed");
    char buf[512];
    if (len > sizeof buf) return;
    size_t again = 0;
    fuzz_check(mote_token_to_piece(m, id, render_special, buf, len, &again) == MOTE_OK && again == len,
               "token_to_piece into a buffer of the queried size failed");
    if (len > 0)
        fuzz_check(mote_token_to_piece(m, id, render_special, buf, len - 1, &again) == MOTE_E_RANGE &&
                       again == len,
                   "token_to_piece did not refuse a buffer one byte short");
    fuzz_sink += len ? (uint8_t)buf[0] : 0;
}

/* With parse_special off, what add_special adds is BOS (WordPiece: CLS)
 * before, EOS or SEP after, and the text's own tokens do not change. */
static void check_added(const struct vocab *v, const mote_token *with, size_t n_with, const mote_token *without,
                        size_t n_without)
{
    /* A user-defined BOS is split off the text; the text then starts with
     * it and gets no second one. Rare enough to leave out. */
    if (vocab_valid(v, v->bos) && (v->tokens[v->bos].attr & TOKEN_ATTR_USER_DEFINED)) return;
    int bos = v->type == VOCAB_WPM || v->add_bos, eos = v->type != VOCAB_WPM && v->add_eos;
    int sep = v->type == VOCAB_WPM;
    fuzz_check(n_with == n_without + (size_t)(bos + eos + sep), "add_special added a wrong number of tokens");
    fuzz_check(!bos || with[0] == v->bos, "add_special did not start with BOS");
    fuzz_check(!eos || with[n_with - 1] == v->eos, "add_special did not end with EOS");
    fuzz_check(!sep || with[n_with - 1] == v->sep, "add_special did not end with SEP");
    fuzz_check(n_without == 0 || memcmp(with + bos, without, n_without * sizeof *with) == 0,
               "add_special changed the text's own tokens");
}

/* The text read as ids (3 bytes each, modulo n_vocab + 1: the last one
 * is out of range): detokenize renders any ids in the vocabulary, and
 * refuses one outside it with a message and no text. */
static void check_any_ids(const mote_model *m, const uint8_t *text, size_t n, int render_special)
{
    mote_token ids[MAX_TEXT / 3];
    size_t n_ids = 0;
    uint32_t n_vocab = (uint32_t)mote_vocab_size(m);
    int outside = 0;
    for (size_t i = 0; i + 3 <= n; i += 3) {
        uint32_t v = text[i] | (uint32_t)text[i + 1] << 8 | (uint32_t)text[i + 2] << 16;
        ids[n_ids] = (mote_token)(v % (n_vocab + 1));
        outside |= ids[n_ids++] == (mote_token)n_vocab;
    }
    char *back = (char *)ids; /* not NULL: detokenize must set it */
    mote_clear_error();
    mote_status st = mote_detokenize(m, ids, n_ids, render_special, &back);
    if (outside) {
        fuzz_check(st == MOTE_E_INVALID && !back && mote_last_error()[0],
                   "detokenize of an id outside the vocabulary did not fail with a message");
        return;
    }
    fuzz_check(st == MOTE_OK && back, "detokenize of ids in the vocabulary failed");
    fuzz_sink += strlen(back);
    mote_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_skip_reason || size == 0) return 0;
    const mote_model *m = models[(data[0] & 0x1F) % N_VOCABS];
    if (!m) return 0;
    const struct vocab *v = m->vocab;
    int add_special = (data[0] >> 5) & 1, parse_special = (data[0] >> 6) & 1, render_special = data[0] >> 7;
    const uint8_t *text = data + 1;
    size_t n = size - 1 < MAX_TEXT ? size - 1 : MAX_TEXT;

    check_any_ids(m, text, n, render_special);

    size_t n_ids = 0;
    mote_token *ids = tokenize(m, (const char *)text, n, add_special, parse_special, &n_ids);
    if (!ids) {
        fuzz_check(add_special || !can_encode_anything(v), "a vocabulary that encodes every byte failed");
        return 0;
    }
    int n_vocab = mote_vocab_size(m);
    for (size_t i = 0; i < n_ids; i++) {
        fuzz_check(ids[i] >= 0 && ids[i] < n_vocab, "token id outside the vocabulary");
        check_piece(m, ids[i], render_special);
    }

    char *back = NULL;
    fuzz_check(mote_detokenize(m, ids, n_ids, render_special, &back) == MOTE_OK && back,
               "detokenize of tokenize's ids failed");
    mote_free(back);

    if (!parse_special) {
        size_t n_other = 0;
        mote_token *other = tokenize(m, (const char *)text, n, !add_special, 0, &n_other);
        if (other && add_special) check_added(v, ids, n_ids, other, n_other);
        if (other && !add_special) check_added(v, other, n_other, ids, n_ids);
        free(other);

        if (roundtrip_holds(v, text, n, add_special, ids, n_ids)) {
            size_t back_len = 0;
            fuzz_check(vocab_detokenize(v, ids, n_ids, 0, &back, &back_len) == MOTE_OK,
                       "detokenize failed");
            fuzz_check(back_len == n && memcmp(back, text, n) == 0,
                       "detokenize(tokenize(text)) is not the text");
            free(back);
        }
    }
    free(ids);
    return 0;
}
