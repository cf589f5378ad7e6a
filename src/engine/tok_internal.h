/*
 * tok_internal.h — the tokenizer algorithms behind vocab_tokenize(), one
 * file each. Each tokenizes one raw-text fragment (special tokens already
 * split off, spaces already escaped where the vocabulary wants it) and
 * appends ids to out.
 */
#ifndef MOTE_ENGINE_TOK_INTERNAL_H
#define MOTE_ENGINE_TOK_INTERNAL_H

#include "engine/vocab.h"

/* ------------------------------------------------------------------------
 * Merge queue shared by SPM and BPE (tok_bigram.c)
 * ---------------------------------------------------------------------- */

/* A symbol of a word being merged: a run of bytes of the text, linked to
 * its live neighbours. Merged-away symbols have len 0. */
typedef struct tok_symbol {
    uint32_t off;   /* first byte in the text */
    uint32_t len;   /* bytes; 0 once merged into its left neighbour */
    int32_t prev;   /* index of the live symbol before, or -1 */
    int32_t next;   /* index of the live symbol after, or -1 */
    int32_t id;     /* BPE: token of this symbol's text, or TOKEN_NONE */
} tok_symbol;

/* A candidate merge of symbols left and right (adjacent when pushed). */
typedef struct tok_bigram {
    double prio;    /* higher first: SPM score, or minus the BPE rank */
    int32_t left, right;
    uint32_t len;   /* left.len + right.len when pushed: a stale entry
                       (either side changed since) no longer adds up */
    int32_t id;     /* token the merge makes */
} tok_bigram;

/* Max-heap on prio, ties to the leftmost pair: llama.cpp's order. */
typedef struct tok_bigram_heap {
    tok_bigram *v;
    size_t n, cap;
} tok_bigram_heap;

mote_status bigram_push(tok_bigram_heap *h, tok_bigram b);
tok_bigram bigram_pop(tok_bigram_heap *h); /* h->n > 0 */

/* Scratch arrays for one tokenize call. */
typedef struct tok_scratch {
    tok_symbol *sym;
    size_t n_sym, cap_sym;
    tok_bigram_heap heap;
} tok_scratch;

/* Reset the symbols to one per character of text[0..n) (character = lead
 * byte's length, clamped to the text, as llama.cpp splits). */
mote_status scratch_chars(tok_scratch *s, const char *text, size_t n);
/* The same with one symbol per byte. */
mote_status scratch_bytes(tok_scratch *s, size_t n);
void scratch_free(tok_scratch *s);

/* Merge symbols[b.left] and symbols[b.right] if the entry is still valid;
 * returns 1 if merged. */
int bigram_apply(tok_scratch *s, const tok_bigram *b);

/* tok_spm.c: SentencePiece-style merges of the best-scoring adjacent pair,
 * then byte fallback. */
mote_status spm_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out);

/* tok_bpe.c: regex pre-tokenization, then merges by rank per piece. */
mote_status bpe_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out);

/* tok_wpm.c: BERT normalisation, then greedy longest-match WordPiece. */
mote_status wpm_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out);

/* tok_ugm.c: Unigram (T5/XLM-R SentencePiece) */
mote_status ugm_init(struct vocab *v, const gguf_file *f);
void ugm_free(struct ugm_data *u);
mote_status ugm_tokenize(const struct vocab *v, const char *text, size_t n, tokbuf *out);

/* The unknown token for text the vocabulary cannot encode, or a
 * MOTE_E_TOKENIZE error naming the bytes when there is none. */
mote_status tok_unencodable(const struct vocab *v, const char *s, size_t n, tokbuf *out);

#endif
