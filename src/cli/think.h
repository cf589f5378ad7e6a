/*
 * think.h — telling a reply's reasoning from its answer while it streams.
 *
 * Reasoning models (Qwen3, SmolLM3, QwQ, DeepSeek-R1) write
 * "<think>\n...\n</think>\n\n" before the answer. A think_split is fed the
 * reply's pieces as they come and passes each byte on as reasoning or
 * answer, without the tags. A tag may arrive split across pieces: the
 * bytes that could begin one are held back until the next piece decides.
 *
 *   - "<think>" opens reasoning only at the start of the reply (after white
 *     space, which is dropped with it), as llama.cpp's reasoning parser
 *     does; later in an answer it is text.
 *   - The template may have opened the block in the prompt (QwQ's and
 *     DeepSeek-R1's "<think>\n" after the assistant header): the split then
 *     starts inside the reasoning (think_prompt_opens says which).
 *   - "</think>" ends the reasoning; white space after it is dropped (the
 *     templates strip it from a stored answer too), as is white space at
 *     the reasoning's start.
 *   - A reply without tags is all answer, byte for byte.
 *
 * No allocation, no I/O: pure over the bytes given.
 */
#ifndef MOTE_CLI_THINK_H
#define MOTE_CLI_THINK_H

#include <stddef.h>

/* Leading white space of a reply held back while a "<think>" may follow;
 * past this much the reply is taken to be all answer. */
#define THINK_HOLD_WS 64
/* Bytes a think_split works on at a time (held bytes plus new ones). */
#define THINK_BUF 256

/* Where a think_split starts. */
enum think_start {
    THINK_OFF = 0,    /* no splitting: everything is answer */
    THINK_DETECT = 1, /* a reply that may open with "<think>" */
    THINK_INSIDE = 2, /* the prompt opened the reasoning block */
};

/* Receives text of one part: reasoning (1) or answer (0); n > 0. */
typedef void (*think_emit_fn)(void *user, int reasoning, const char *s, size_t n);

typedef struct think_split {
    int state;            /* where the text so far leaves us (think.c) */
    char buf[THINK_BUF];  /* bytes not yet passed on: buf[0..n) */
    size_t n;
    think_emit_fn emit;
    void *user;
} think_split;

void think_split_init(think_split *t, enum think_start start, think_emit_fn emit, void *user);
/* Pass s[0..n) on, holding back what may begin a tag. */
void think_split_feed(think_split *t, const char *s, size_t n);
/* The reply ended: pass on what is held (a tag that never completed is
 * text of the part it was in). */
void think_split_finish(think_split *t);

/* 1 if the reasoning block is open at the end of a template's generation
 * prompt: with_prompt is the conversation rendered with
 * add_generation_prompt, without_prompt without; the generation prompt is
 * what follows their common prefix, and it opens the block when its last
 * "<think>" has no "</think>" after it. */
int think_prompt_opens(const char *with_prompt, const char *without_prompt);

#endif
