/* think.c — a reply's reasoning told from its answer while it streams (think.h). */
#include "cli/think.h"

#include <string.h>

#define OPEN_TAG "<think>"
#define CLOSE_TAG "</think>"
#define OPEN_LEN (sizeof OPEN_TAG - 1)
#define CLOSE_LEN (sizeof CLOSE_TAG - 1)

/* The states, in the order a reply with reasoning goes through them. */
enum {
    AT_START,       /* nothing but white space yet: "<think>" may come */
    REASONING_LEAD, /* after "<think>": white space is dropped */
    REASONING,      /* inside: "</think>" may come */
    ANSWER_LEAD,    /* after "</think>": white space is dropped */
    ANSWER,         /* the rest is answer */
};

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

static size_t space_span(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_space(s[i])) i++;
    return i;
}

/* Length of the common prefix of s[0..n) and tag[0..len). */
static size_t tag_match(const char *s, size_t n, const char *tag, size_t len)
{
    size_t i = 0;
    while (i < n && i < len && s[i] == tag[i]) i++;
    return i;
}

/* Length of the longest proper prefix of tag that s[0..n) ends with. */
static size_t tag_prefix_at_end(const char *s, size_t n, const char *tag, size_t len)
{
    for (size_t k = len - 1 < n ? len - 1 : n; k > 0; k--)
        if (memcmp(s + n - k, tag, k) == 0) return k;
    return 0;
}

static void emit(think_split *t, int reasoning, const char *s, size_t n)
{
    if (n > 0) t->emit(t->user, reasoning, s, n);
}

/* Pass on what buf decides; keep what may still begin a tag unless final. */
static void drain(think_split *t, int final)
{
    size_t at = 0;
    while (at < t->n) {
        const char *p = t->buf + at;
        const size_t left = t->n - at;
        if (t->state == ANSWER) {
            emit(t, 0, p, left);
            at = t->n;
        } else if (t->state == AT_START) {
            const size_t ws = space_span(p, left);
            const size_t m = tag_match(p + ws, left - ws, OPEN_TAG, OPEN_LEN);
            if (ws > THINK_HOLD_WS) {
                t->state = ANSWER; /* more white space than is held: no tag is looked for */
            } else if (m == OPEN_LEN) { /* the white space before the tag goes with it */
                at += ws + OPEN_LEN;
                t->state = REASONING_LEAD;
            } else if (!final && ws + m == left) {
                break; /* white space, maybe the start of the tag: wait */
            } else {
                t->state = ANSWER; /* text: all of it is answer, as it came */
            }
        } else if (t->state == REASONING_LEAD || t->state == ANSWER_LEAD) {
            const size_t ws = space_span(p, left);
            at += ws;
            if (ws < left) t->state = t->state == REASONING_LEAD ? REASONING : ANSWER;
        } else { /* REASONING */
            const char *close = memmem(p, left, CLOSE_TAG, CLOSE_LEN);
            if (close) {
                emit(t, 1, p, (size_t)(close - p));
                at += (size_t)(close - p) + CLOSE_LEN;
                t->state = ANSWER_LEAD;
                continue;
            }
            const size_t keep = final ? 0 : tag_prefix_at_end(p, left, CLOSE_TAG, CLOSE_LEN);
            emit(t, 1, p, left - keep);
            at += left - keep;
            break;
        }
    }
    memmove(t->buf, t->buf + at, t->n - at);
    t->n -= at;
}

void think_split_init(think_split *t, enum think_start start, think_emit_fn emit_fn, void *user)
{
    t->state = start == THINK_OFF ? ANSWER : start == THINK_INSIDE ? REASONING_LEAD : AT_START;
    t->n = 0;
    t->emit = emit_fn;
    t->user = user;
}

void think_split_feed(think_split *t, const char *s, size_t n)
{
    while (n > 0) {
        /* drain leaves at most THINK_HOLD_WS + OPEN_LEN bytes: room stays */
        const size_t take = n < sizeof t->buf - t->n ? n : sizeof t->buf - t->n;
        memcpy(t->buf + t->n, s, take);
        t->n += take;
        s += take;
        n -= take;
        drain(t, 0);
    }
}

void think_split_finish(think_split *t) { drain(t, 1); }

/* The last occurrence of needle in hay, or NULL. */
static const char *last_of(const char *hay, const char *needle)
{
    const char *last = NULL;
    for (const char *at = strstr(hay, needle); at; at = strstr(at + 1, needle)) last = at;
    return last;
}

int think_prompt_opens(const char *with_prompt, const char *without_prompt)
{
    size_t i = 0;
    while (with_prompt[i] && with_prompt[i] == without_prompt[i]) i++;
    const char *open = last_of(with_prompt + i, OPEN_TAG), *close = last_of(with_prompt + i, CLOSE_TAG);
    return open && (!close || close < open);
}
