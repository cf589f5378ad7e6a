/*
 * vocab.h — a tokenizer vocabulary built from a GGUF file's tokenizer.ggml.*
 * keys, and the operations on it. It reproduces llama.cpp's tokenizers:
 *
 *   tokenizer.ggml.model   algorithm                         file
 *   "llama"                SentencePiece-style bigram merges  tok_spm.c
 *   "gpt2", "gemma4"       BPE merges after a regex split     tok_bpe.c, tok_pretok.c
 *   "bert"                 WordPiece                          tok_wpm.c
 *   "t5"                   Unigram (Viterbi)                  tok_ugm.c
 *
 * Special and added tokens are split off the text first (tokenize.c);
 * detokenize.c turns ids back into text.
 *
 * A vocabulary owns copies of everything it needs, so it may outlive the
 * gguf_file it was loaded from. After loading it is immutable but for the
 * BPE merge index, which the first tokenize builds under a lock
 * (vocab_merges.h): tokenizing from several threads at once is safe.
 */
#ifndef MOTE_ENGINE_VOCAB_H
#define MOTE_ENGINE_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/strmap.h"
#include "gguf/gguf.h"
#include "mote.h"

#define TOKEN_NONE (-1) /* an absent special token */

enum vocab_type {
    VOCAB_SPM, /* "llama" */
    VOCAB_BPE, /* "gpt2", "gemma4" */
    VOCAB_WPM, /* "bert" */
    VOCAB_UGM, /* "t5" */
};

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum token_type {
    TOKEN_TYPE_UNDEFINED = 0,
    TOKEN_TYPE_NORMAL = 1,
    TOKEN_TYPE_UNKNOWN = 2,
    TOKEN_TYPE_CONTROL = 3,
    TOKEN_TYPE_USER_DEFINED = 4,
    TOKEN_TYPE_UNUSED = 5,
    TOKEN_TYPE_BYTE = 6,
};

/* Token attributes (bits; llama.cpp's llama_token_attr). */
enum token_attr {
    TOKEN_ATTR_UNDEFINED = 0,
    TOKEN_ATTR_UNKNOWN = 1 << 0,
    TOKEN_ATTR_UNUSED = 1 << 1,
    TOKEN_ATTR_NORMAL = 1 << 2,
    TOKEN_ATTR_CONTROL = 1 << 3,
    TOKEN_ATTR_USER_DEFINED = 1 << 4,
    TOKEN_ATTR_BYTE = 1 << 5,
    TOKEN_ATTR_LSTRIP = 1 << 7,  /* eat whitespace left of it when split off */
    TOKEN_ATTR_RSTRIP = 1 << 8,  /* eat whitespace right of it */
};

struct vocab_token {
    uint32_t off;   /* text starts at vocab.text + off (NUL-terminated there too) */
    uint32_t len;   /* bytes of text */
    float score;    /* tokenizer.ggml.scores (SPM merge priority, UGM log-prob) */
    uint32_t attr;  /* enum token_attr bits */
};

struct pretok;   /* tok_pretok.c: compiled pre-tokenizer regexes */
struct ugm_data; /* tok_ugm.c: Unigram normaliser and scores */

struct vocab {
    enum vocab_type type;
    char *model;            /* tokenizer.ggml.model */
    char *pre;              /* tokenizer.ggml.pre as given ("" if absent) */

    int32_t n_tokens;
    struct vocab_token *tokens; /* [n_tokens] */
    char *text;             /* every token's text, each NUL-terminated */
    size_t max_token_len;   /* longest token text, bytes */
    strmap ids;             /* token text -> id (texts are unique) */

    /* Special tokens, TOKEN_NONE when absent. */
    int32_t bos, eos, eot, eom, unk, sep, pad, mask;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    int32_t *eog;           /* tokens that end generation, ascending */
    size_t n_eog;
    /* CONTROL, USER_DEFINED and UNKNOWN tokens, longest text first (ties by
     * id): the order in which they are split off the text. */
    int32_t *special;
    size_t n_special;

    /* Flags, defaulted per type as llama.cpp does, then from the file. */
    bool add_bos, add_eos, add_sep;
    bool add_space_prefix;   /* SPM/UGM: prefix a space to the first text */
    bool escape_whitespace;  /* spaces become U+2581 before the algorithm */
    bool remove_extra_whitespace; /* UGM */
    bool treat_whitespace_as_suffix; /* UGM */
    bool clean_spaces;       /* detokenize: " ," -> "," etc. */
    bool lowercase, strip_accents; /* WPM normaliser */

    /* Byte fallback: the token for each byte value, TOKEN_NONE if none.
     * SPM/UGM/gemma4: "<0xXX>" (SPM: else the 1-byte string); byte-level
     * BPE: the token of the byte's printable stand-in character. */
    int32_t byte_token[256];

    /* BPE */
    struct bpe_merges *merges; /* the merges, indexed on first use (vocab_merges.h) */
    struct pretok *pretok;  /* regex split; NULL for non-BPE */
    unsigned pretok_flags;  /* PRE_* bits of tokenizer.ggml.pre */
    bool byte_encode;       /* GPT-2 byte-level text (false: raw UTF-8) */
    bool ignore_merges;     /* a whole pre-token that is a token is used as is */
    char bytelevel[256][3]; /* UTF-8 of each byte's stand-in character */
    unsigned char bytelevel_len[256];

    struct ugm_data *ugm;   /* UGM only */

    /* What the file said that mote ignored (as llama.cpp does), one line
     * each ("tokenizer.ggml.bos_token_id 99999 is outside ..."), or NULL. */
    char *warnings;
};

/* Load the vocabulary from f's tokenizer.ggml.* keys. Validates counts,
 * types and ids; an out-of-range special id is treated as absent (keeping
 * the type's default) as llama.cpp does, and listed in v->warnings. */
mote_status vocab_load(const gguf_file *f, struct vocab **out);
void vocab_free(struct vocab *v);
/* Bytes the vocabulary allocated (tables, texts, maps), for accounting. */
size_t vocab_bytes(const struct vocab *v);

static inline const char *vocab_text(const struct vocab *v, int32_t id)
{
    return v->text + v->tokens[id].off;
}

/* The id of a token text, or TOKEN_NONE. */
static inline int32_t vocab_find(const struct vocab *v, const char *s, size_t n)
{
    return strmap_get(&v->ids, s, n);
}

static inline bool vocab_valid(const struct vocab *v, int32_t id)
{
    return id >= 0 && id < v->n_tokens;
}

bool vocab_is_eog(const struct vocab *v, int32_t id);

/* ------------------------------------------------------------------------
 * Tokenizing (tokenize.c)
 * ---------------------------------------------------------------------- */

/* A growing array of token ids. */
typedef struct tokbuf {
    int32_t *ids;
    size_t n, cap;
} tokbuf;

mote_status tokbuf_push(tokbuf *b, int32_t id);
void tokbuf_free(tokbuf *b);

/* Tokenize text[0..len) into out (appending). add_special: BOS/EOS/SEP as
 * the vocabulary says; parse_special: split CONTROL tokens written in the
 * text (USER_DEFINED ones are always split, as in llama.cpp and HF). */
mote_status vocab_tokenize(const struct vocab *v, const char *text, size_t len,
                           bool add_special, bool parse_special, tokbuf *out);

/* Bytes text[off..off+len) of a text being tokenized. */
struct tok_span {
    size_t off, len;
};

/* vocab_tokenize, except that inside the plain spans (sorted, disjoint:
 * e.g. the messages of a rendered chat) CONTROL tokens are never parsed:
 * their text is text. Text on either side of a span's edge is still
 * tokenized as one piece. */
mote_status vocab_tokenize_spans(const struct vocab *v, const char *text, size_t len,
                                 bool add_special, bool parse_special,
                                 const struct tok_span *plain, size_t n_plain, tokbuf *out);

/* ------------------------------------------------------------------------
 * Detokenizing (detokenize.c)
 * ---------------------------------------------------------------------- */

/* The text of token id into buf (up to cap bytes, no NUL); *n_out gets the
 * full length. lstrip: drop up to that many leading spaces. render_special:
 * CONTROL and UNKNOWN tokens render their text (otherwise ""). Returns
 * MOTE_E_RANGE if cap is too small, MOTE_E_INVALID for a bad id. */
mote_status vocab_token_to_piece(const struct vocab *v, int32_t id, int lstrip,
                                 bool render_special, char *buf, size_t cap, size_t *n_out);

/* The text of toks[0..n) as a malloc'd NUL-terminated string. Without
 * render_special, a leading BOS and trailing EOS the vocabulary adds are
 * dropped and the space SentencePiece prefixed to the text is removed, so
 * that detokenize(tokenize(s, add_special)) == s for lossless vocabularies. */
mote_status vocab_detokenize(const struct vocab *v, const int32_t *toks, size_t n,
                             bool render_special, char **out, size_t *out_len);

#endif
