/*
 * tok_pretok.h — BPE pre-tokenizers: tokenizer.ggml.pre names, what each
 * implies, and splitting text with its regexes (PCRE2, UTF-8 + Unicode
 * properties, JIT-compiled once per vocabulary).
 *
 * A pre-tokenizer is a list of regexes applied in turn, as llama.cpp's
 * unicode_regex_split() and HF's Split(behavior="isolated") do: each regex
 * cuts every current piece into its matches and the text between them, so
 * no byte is ever dropped.
 */
#ifndef MOTE_ENGINE_TOK_PRETOK_H
#define MOTE_ENGINE_TOK_PRETOK_H

#include <stddef.h>

#include "mote.h"

/* What a pre-tokenizer name implies besides its regexes (llama.cpp's
 * per-name settings in llama_vocab::impl::load). */
enum {
    PRE_IGNORE_MERGES = 1 << 0, /* a piece that is a token is kept whole */
    PRE_NO_CLEAN = 1 << 1,      /* detokenize without clean_spaces */
    PRE_ADD_BOS = 1 << 2,       /* add BOS by default */
    PRE_NO_BOS = 1 << 3,        /* the BOS default is "none" */
    PRE_ADD_SEP = 1 << 4,       /* add SEP by default */
    PRE_RAW_UTF8 = 1 << 5,      /* SentencePiece-style BPE: spaces -> U+2581,
                                   no byte-level encoding, <0xXX> fallback */
    PRE_NEWLINE_TOKENS = 1 << 6, /* Gemma 4: a run of newlines that is a
                                    token is used whole */
};

#define PRETOK_MAX_REGEX 6

/* Compiled pre-tokenizer (opaque). */
struct pretok;

/* Look up a tokenizer.ggml.pre name ("" means llama.cpp's "default").
 * Returns MOTE_E_UNSUPPORTED for names mote does not know; *flags gets the
 * PRE_* bits. */
mote_status pretok_create(const char *name, struct pretok **out, unsigned *flags);
void pretok_free(struct pretok *p);

/* A piece of text: bytes [off, off + len). */
typedef struct span {
    size_t off, len;
} span;

/* Split text[0..n) (well-formed UTF-8) into pieces, in order, covering all
 * of it. *pieces is malloc'd (free it), *n_pieces its length. */
mote_status pretok_split(const struct pretok *p, const char *text, size_t n,
                         span **pieces, size_t *n_pieces);

#endif
