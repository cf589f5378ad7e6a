/*
 * grammar.h — context-free grammars over Unicode code points, and the
 * matcher that constrains sampling to them (engine/grammar.c).
 *
 * A grammar is rules; a rule is alternatives; an alternative is a
 * sequence of elements, each a character set (ranges of code points,
 * possibly negated) or a reference to a rule. Repetition is recursion:
 * x* is r ::= x r | "" (right recursion; left recursion is not allowed
 * and is cut off by the depth limit, never looped on).
 *
 * The matcher's state is the set of parse stacks that the text so far
 * leaves open, each normalised so that its top is a character set (the
 * next code point it wants); an empty stack means the text is a whole
 * sentence of the grammar. Feeding a code point keeps the stacks whose
 * top matches it. Bytes that end inside a UTF-8 character are kept as a
 * partial character; they fit while some top set holds a code point that
 * starts with them.
 *
 * Built by engine/schema.c from a JSON Schema (mote_grammar_from_json_schema).
 */
#ifndef MOTE_ENGINE_GRAMMAR_H
#define MOTE_ENGINE_GRAMMAR_H

#include <stddef.h>
#include <stdint.h>

#include "mote.h"

#define GRAMMAR_DEPTH_MAX 512     /* entries of one parse stack */
#define GRAMMAR_STACKS_MAX 1024   /* stacks of one state */
#define GRAMMAR_RULES_MAX 100000  /* rules of one grammar (a bound on work) */
#define GRAMMAR_EXPAND_MAX 64     /* rule expansions before a character set */
#define GRAMMAR_WORK_MAX 65536    /* expansions per character fed */

enum { GE_SET = 0, GE_RULE = 1 };

typedef struct gram_elem {
    uint32_t kind;  /* GE_SET or GE_RULE */
    uint32_t arg;   /* set or rule index */
} gram_elem;

/* ------------------------------------------------------------------------
 * Building (each returns an index, or -1 when out of memory or past the
 * limits; the grammar then refuses to finish)
 * ---------------------------------------------------------------------- */

mote_grammar *grammar_new(void);
/* A new rule without alternatives yet. */
int grammar_rule(mote_grammar *g);
/* Add an alternative (n elements, n may be 0: the empty string). */
int grammar_alt(mote_grammar *g, int rule, const gram_elem *elems, int n);
/* A character set: n ranges [lo[i], hi[i]], or their complement. */
int grammar_set(mote_grammar *g, int negated, const uint32_t *lo, const uint32_t *hi, int n);
/* The set of one code point (cached). */
int grammar_char(mote_grammar *g, uint32_t cp);
/* A rule matching exactly the UTF-8 text s[0..n). */
int grammar_literal(mote_grammar *g, const char *s, size_t n);
/* Set the start rule and check the grammar; 0, -1 if building failed, -2
 * if a rule reaches itself without reading a character (left recursion). */
int grammar_finish(mote_grammar *g, int root);

/* ------------------------------------------------------------------------
 * Matching
 * ---------------------------------------------------------------------- */

typedef struct gram_pos {
    uint32_t alt, off;  /* alternative, and the element it waits at */
} gram_pos;

typedef struct gram_state {
    gram_pos *pool;       /* the stacks' entries, one after another */
    size_t pool_len, pool_cap;
    uint32_t *start, *len; /* stack i is pool[start[i] .. start[i] + len[i]) */
    int n, cap;
    int complete;          /* the text so far is a sentence */
    uint32_t partial;      /* bits of a character begun and not ended */
    int partial_left;      /* its continuation bytes still to come */
    uint32_t partial_min;  /* the least code point of its length (overlong forms are not UTF-8) */
    uint32_t work;         /* expansions made for the last character */
} gram_state;

/* The state before any text. 0, or -1 when out of memory. */
int grammar_start(const mote_grammar *g, gram_state *st);
/* out = in after the bytes s[0..n); out is reused (its memory kept).
 * Returns 1 when the text may go on or is whole, 0 when it cannot be
 * part of a sentence, -1 when out of memory. */
int grammar_feed(const mote_grammar *g, const gram_state *in, const char *s, size_t n, gram_state *out);
/* 1 when no more text is possible (the state is complete and has no
 * open stack). */
int grammar_done(const gram_state *st);
int grammar_copy(gram_state *dst, const gram_state *src);
void grammar_state_free(gram_state *st);

/* ------------------------------------------------------------------------
 * Constraining a sampler (engine/sample.c calls these)
 * ---------------------------------------------------------------------- */

/* A grammar applied to a model's tokens: each token's text, and the state
 * of the text sampled so far. */
typedef struct gram_constraint gram_constraint;

mote_status constraint_new(const mote_model *model, const mote_grammar *g, gram_constraint **out);
void constraint_free(gram_constraint *gc);
/* Back to the empty text. */
void constraint_reset(gram_constraint *gc);
/* 1 when token t may come next (an end-of-generation token only once the
 * text is a whole sentence); 0 when not; -1 when out of memory. */
int constraint_allows(gram_constraint *gc, mote_token t);
/* out = logits with every token that may not come next at -inf. Returns
 * how many may, or -1 when out of memory. */
int constraint_mask(gram_constraint *gc, const float *logits, float *out);
/* t (allowed) is now part of the text. 0, or -1 when out of memory. */
int constraint_commit(gram_constraint *gc, mote_token t);

#endif
