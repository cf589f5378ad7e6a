/*
 * grammar.c — grammars over code points and their matcher (grammar.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/grammar.h"

typedef struct gram_alt {
    uint32_t first, n;   /* elems[first .. first + n) */
} gram_alt;

typedef struct gram_rule {
    uint32_t *alts;      /* alternative indices */
    uint32_t n, cap;
} gram_rule;

typedef struct gram_set {
    uint32_t first, n;   /* ranges[2 * first ..] pairs (lo, hi) */
    int negated;
} gram_set;

struct mote_grammar {
    gram_rule *rules;
    uint32_t n_rules, cap_rules;
    gram_alt *alts;
    uint32_t n_alts, cap_alts;
    gram_elem *elems;
    uint32_t n_elems, cap_elems;
    gram_set *sets;
    uint32_t n_sets, cap_sets;
    uint32_t *ranges;
    uint32_t n_ranges, cap_ranges;
    int ascii_set[128];  /* grammar_char's cache (index + 1; 0: none yet) */
    int root;
    int broken;          /* building failed: out of memory or past the limits */
};

/* Grow *p (of *cap items of size sz) to hold need. 0 or -1. */
static int grow(void **p, uint32_t *cap, uint32_t need, size_t sz)
{
    if (need <= *cap) return 0;
    uint32_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > UINT32_MAX / 2) return -1;
        c *= 2;
    }
    void *q = realloc(*p, (size_t)c * sz);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

mote_grammar *grammar_new(void)
{
    mote_grammar *g = calloc(1, sizeof *g);
    if (g) g->root = -1;
    return g;
}

void mote_grammar_free(mote_grammar *g)
{
    if (!g) return;
    for (uint32_t i = 0; i < g->n_rules; i++) free(g->rules[i].alts);
    free(g->rules);
    free(g->alts);
    free(g->elems);
    free(g->sets);
    free(g->ranges);
    free(g);
}

int grammar_rule(mote_grammar *g)
{
    if (g->broken || g->n_rules >= GRAMMAR_RULES_MAX ||
        grow((void **)&g->rules, &g->cap_rules, g->n_rules + 1, sizeof *g->rules) != 0) {
        g->broken = 1;
        return -1;
    }
    memset(&g->rules[g->n_rules], 0, sizeof *g->rules);
    return (int)g->n_rules++;
}

int grammar_alt(mote_grammar *g, int rule, const gram_elem *elems, int n)
{
    if (g->broken || rule < 0 || (uint32_t)rule >= g->n_rules || n < 0) return g->broken = 1, -1;
    for (int i = 0; i < n; i++)
        if ((elems[i].kind == GE_RULE && elems[i].arg >= g->n_rules) ||
            (elems[i].kind == GE_SET && elems[i].arg >= g->n_sets))
            return g->broken = 1, -1; /* a failed sub-rule (-1) shows here */
    gram_rule *r = &g->rules[rule];
    if (grow((void **)&g->elems, &g->cap_elems, g->n_elems + (uint32_t)n, sizeof *g->elems) != 0 ||
        grow((void **)&g->alts, &g->cap_alts, g->n_alts + 1, sizeof *g->alts) != 0 ||
        grow((void **)&r->alts, &r->cap, r->n + 1, sizeof *r->alts) != 0)
        return g->broken = 1, -1;
    if (n) memcpy(g->elems + g->n_elems, elems, (size_t)n * sizeof *elems);
    g->alts[g->n_alts] = (gram_alt){g->n_elems, (uint32_t)n};
    g->n_elems += (uint32_t)n;
    r->alts[r->n++] = g->n_alts;
    return (int)g->n_alts++;
}

int grammar_set(mote_grammar *g, int negated, const uint32_t *lo, const uint32_t *hi, int n)
{
    if (g->broken || n < 0 ||
        grow((void **)&g->ranges, &g->cap_ranges, 2 * (g->n_ranges + (uint32_t)n), sizeof *g->ranges) != 0 ||
        grow((void **)&g->sets, &g->cap_sets, g->n_sets + 1, sizeof *g->sets) != 0)
        return g->broken = 1, -1;
    for (int i = 0; i < n; i++) {
        g->ranges[2 * (g->n_ranges + (uint32_t)i)] = lo[i];
        g->ranges[2 * (g->n_ranges + (uint32_t)i) + 1] = hi[i];
    }
    g->sets[g->n_sets] = (gram_set){g->n_ranges, (uint32_t)n, negated};
    g->n_ranges += (uint32_t)n;
    return (int)g->n_sets++;
}

int grammar_char(mote_grammar *g, uint32_t cp)
{
    if (cp < 128 && g->ascii_set[cp]) return g->ascii_set[cp] - 1;
    const int s = grammar_set(g, 0, &cp, &cp, 1);
    if (cp < 128 && s >= 0) g->ascii_set[cp] = s + 1;
    return s;
}

/* Decode one UTF-8 character of s[0..n) into *cp; its length, or 0 when
 * the bytes are not UTF-8. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) return *cp = s[0], 1;
    size_t len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || len > n) return 0;
    uint32_t c = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    *cp = c;
    return len;
}

int grammar_literal(mote_grammar *g, const char *s, size_t n)
{
    gram_elem *e = malloc((n ? n : 1) * sizeof *e);
    if (!e) return g->broken = 1, -1;
    int k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        const size_t len = utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (!len) {
            free(e);
            return g->broken = 1, -1;
        }
        const int set = grammar_char(g, cp);
        e[k++] = (gram_elem){GE_SET, set < 0 ? UINT32_MAX : (uint32_t)set};
        i += len;
    }
    const int r = grammar_rule(g);
    const int ok = r >= 0 && grammar_alt(g, r, e, k) >= 0;
    free(e);
    return ok ? r : -1;
}

/* Rules that can match the empty text (a fixpoint). */
static uint8_t *nullable_rules(const mote_grammar *g)
{
    uint8_t *nul = calloc(g->n_rules ? g->n_rules : 1, 1);
    if (!nul) return NULL;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t r = 0; r < g->n_rules; r++) {
            if (nul[r]) continue;
            for (uint32_t a = 0; a < g->rules[r].n && !nul[r]; a++) {
                const gram_alt *alt = &g->alts[g->rules[r].alts[a]];
                uint32_t i = 0;
                while (i < alt->n && g->elems[alt->first + i].kind == GE_RULE && nul[g->elems[alt->first + i].arg]) i++;
                if (i == alt->n) nul[r] = changed = 1;
            }
        }
    }
    return nul;
}

/* Depth-first search for a rule that reaches itself without reading a
 * character (left recursion); colour: 0 new, 1 on the path, 2 done. */
static int left_cycle(const mote_grammar *g, const uint8_t *nul, uint8_t *colour, uint32_t r, int depth)
{
    if (colour[r] == 1) return 1;
    if (colour[r] == 2 || depth > GRAMMAR_RULES_MAX) return 0;
    colour[r] = 1;
    for (uint32_t a = 0; a < g->rules[r].n; a++) {
        const gram_alt *alt = &g->alts[g->rules[r].alts[a]];
        for (uint32_t i = 0; i < alt->n; i++) {
            const gram_elem *e = &g->elems[alt->first + i];
            if (e->kind != GE_RULE) break;
            if (left_cycle(g, nul, colour, e->arg, depth + 1)) return 1;
            if (!nul[e->arg]) break;
        }
    }
    colour[r] = 2;
    return 0;
}

int grammar_finish(mote_grammar *g, int root)
{
    if (g->broken || root < 0 || (uint32_t)root >= g->n_rules) return -1;
    uint8_t *nul = nullable_rules(g), *colour = calloc(g->n_rules, 1);
    int cycle = -1;
    if (nul && colour) {
        cycle = 0;
        for (uint32_t r = 0; r < g->n_rules && !cycle; r++) cycle = left_cycle(g, nul, colour, r, 0);
    }
    free(nul);
    free(colour);
    if (cycle) return cycle < 0 ? -1 : -2;
    g->root = root;
    return 0;
}

/* ------------------------------------------------------------------------
 * Matching
 * ---------------------------------------------------------------------- */

static int set_has(const mote_grammar *g, uint32_t set, uint32_t cp)
{
    const gram_set *s = &g->sets[set];
    int in = 0;
    for (uint32_t i = 0; i < s->n && !in; i++)
        in = cp >= g->ranges[2 * (s->first + i)] && cp <= g->ranges[2 * (s->first + i) + 1];
    return in != s->negated;
}

/* Does the set hold some code point in [lo, hi]? */
static int set_meets(const mote_grammar *g, uint32_t set, uint32_t lo, uint32_t hi)
{
    const gram_set *s = &g->sets[set];
    for (uint32_t i = 0; i < s->n; i++) {
        const uint32_t a = g->ranges[2 * (s->first + i)], b = g->ranges[2 * (s->first + i) + 1];
        if (!s->negated && a <= hi && b >= lo) return 1;
        if (s->negated && a <= lo && b >= hi) return 0; /* one range covers them all */
    }
    return s->negated;
}

static void state_clear(gram_state *st)
{
    st->work = 0;
    st->pool_len = 0;
    st->n = 0;
    st->complete = 0;
    st->partial = 0;
    st->partial_left = 0;
    st->partial_min = 0;
}

void grammar_state_free(gram_state *st)
{
    free(st->pool);
    free(st->start);
    free(st->len);
    memset(st, 0, sizeof *st);
}

/* Add stack s[0..len) unless the state has it. 0, or -1 out of memory. */
static int add_stack(gram_state *st, const gram_pos *s, uint32_t len)
{
    for (int i = 0; i < st->n; i++)
        if (st->len[i] == len && memcmp(st->pool + st->start[i], s, len * sizeof *s) == 0) return 0;
    if (st->n >= GRAMMAR_STACKS_MAX) return 0; /* past the bound: fewer continuations, never wrong ones */
    if (st->pool_len + len > st->pool_cap) {
        size_t cap = st->pool_cap ? st->pool_cap : 256;
        while (cap < st->pool_len + len) cap *= 2;
        gram_pos *p = realloc(st->pool, cap * sizeof *p);
        if (!p) return -1;
        st->pool = p;
        st->pool_cap = cap;
    }
    if (st->n == st->cap) {
        const int cap = st->cap ? 2 * st->cap : 16;
        uint32_t *a = realloc(st->start, (size_t)cap * sizeof *a);
        if (!a) return -1;
        st->start = a;
        uint32_t *b = realloc(st->len, (size_t)cap * sizeof *b);
        if (!b) return -1;
        st->len = b;
        st->cap = cap;
    }
    memcpy(st->pool + st->pool_len, s, len * sizeof *s);
    st->start[st->n] = (uint32_t)st->pool_len;
    st->len[st->n] = len;
    st->pool_len += len;
    st->n++;
    return 0;
}

static const gram_elem *elem_at(const mote_grammar *g, gram_pos p)
{
    return &g->elems[g->alts[p.alt].first + p.off];
}

/* Add to st every stack that s[0..len) becomes once its top is a set:
 * finished alternatives are popped, rule references expanded. depth
 * counts nested expansions; both it and the state's work are bounded
 * (grammar_finish refuses left recursion; the bounds keep a grammar
 * built to branch without end from taking the CPU or the stack). */
static int normalise(const mote_grammar *g, gram_state *st, const gram_pos *s, uint32_t len, int depth)
{
    if (depth > GRAMMAR_EXPAND_MAX || ++st->work > GRAMMAR_WORK_MAX) return 0;
    gram_pos tmp[len + 1];
    memcpy(tmp, s, len * sizeof *s);
    while (len > 0 && tmp[len - 1].off == g->alts[tmp[len - 1].alt].n) len--;
    if (len == 0) {
        st->complete = 1;
        return 0;
    }
    const gram_elem *e = elem_at(g, tmp[len - 1]);
    if (e->kind == GE_SET) return add_stack(st, tmp, len);
    tmp[len - 1].off++; /* the parent continues after the reference */
    while (len > 0 && tmp[len - 1].off == g->alts[tmp[len - 1].alt].n) len--;
    if (len == GRAMMAR_DEPTH_MAX) return 0; /* too deep (or left-recursive): not followed */
    const gram_rule *r = &g->rules[e->arg];
    for (uint32_t i = 0; i < r->n; i++) {
        tmp[len] = (gram_pos){r->alts[i], 0};
        if (normalise(g, st, tmp, len + 1, depth + 1) != 0) return -1;
    }
    return 0;
}

int grammar_start(const mote_grammar *g, gram_state *st)
{
    memset(st, 0, sizeof *st);
    const gram_rule *r = &g->rules[g->root];
    for (uint32_t i = 0; i < r->n; i++) {
        const gram_pos p = {r->alts[i], 0};
        if (normalise(g, st, &p, 1, 0) != 0) return -1;
    }
    return 0;
}

int grammar_done(const gram_state *st)
{
    return st->complete && st->n == 0 && st->partial_left == 0;
}

int grammar_copy(gram_state *dst, const gram_state *src)
{
    state_clear(dst);
    for (int i = 0; i < src->n; i++)
        if (add_stack(dst, src->pool + src->start[i], src->len[i]) != 0) return -1;
    dst->complete = src->complete;
    dst->partial = src->partial;
    dst->partial_left = src->partial_left;
    dst->partial_min = src->partial_min;
    return 0;
}

/* out = the stacks of in that take cp, advanced. */
static int advance(const mote_grammar *g, const gram_state *in, uint32_t cp, gram_state *out)
{
    state_clear(out);
    for (int i = 0; i < in->n; i++) {
        const gram_pos *s = in->pool + in->start[i];
        const uint32_t len = in->len[i];
        if (!set_has(g, elem_at(g, s[len - 1])->arg, cp)) continue;
        gram_pos tmp[len];
        memcpy(tmp, s, len * sizeof *s);
        tmp[len - 1].off++;
        if (normalise(g, out, tmp, len, 0) != 0) return -1;
    }
    return 0;
}

int grammar_feed(const mote_grammar *g, const gram_state *in, const char *s, size_t n, gram_state *out)
{
    gram_state tmp = {0}, *cur = out, *other = &tmp;
    if (grammar_copy(out, in) != 0) return -1;
    int rc = 1;
    for (size_t i = 0; i < n && rc == 1; i++) {
        const unsigned char b = (unsigned char)s[i];
        uint32_t cp;
        if (cur->partial_left > 0) {
            if ((b & 0xC0) != 0x80) {
                rc = 0;
                break;
            }
            cur->partial = cur->partial << 6 | (b & 0x3F);
            if (--cur->partial_left > 0) continue;
            cp = cur->partial;
            if (cp < cur->partial_min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { /* not UTF-8 */
                rc = 0;
                break;
            }
        } else if (b < 0x80) {
            cp = b;
        } else {
            const int more = (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : -1;
            if (more < 0) {
                rc = 0;
                break;
            }
            static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
            cur->partial = b & (0x3F >> more);
            cur->partial_left = more;
            cur->partial_min = min_cp[more];
            continue;
        }
        if (advance(g, cur, cp, other) != 0) {
            rc = -1;
            break;
        }
        gram_state *t = cur;
        cur = other;
        other = t;
        if (cur->n == 0 && !cur->complete) rc = 0;
        else if (cur->n == 0) rc = i + 1 == n; /* whole: nothing may follow */
    }
    if (rc == 1 && cur->partial_left > 0) { /* a character begun: can some set take it? */
        const uint32_t shift = 6u * (uint32_t)cur->partial_left;
        uint32_t lo = cur->partial << shift, hi = lo | ((1u << shift) - 1);
        if (lo < cur->partial_min) lo = cur->partial_min;
        if (hi > 0x10FFFF) hi = 0x10FFFF;
        int fits = 0;
        if (lo > hi) rc = 0;
        for (int k = 0; k < cur->n && !fits && rc; k++)
            fits = set_meets(g, elem_at(g, cur->pool[cur->start[k] + cur->len[k] - 1])->arg, lo, hi);
        rc = rc && fits;
    }
    if (cur != out) {
        gram_state t = *out;
        *out = *cur;
        *cur = t;
    }
    grammar_state_free(&tmp);
    return rc;
}

/* ------------------------------------------------------------------------
 * Constraining a sampler
 * ---------------------------------------------------------------------- */

struct gram_constraint {
    const mote_grammar *g;
    int n_vocab;
    char *text;          /* every token's piece, one after another */
    uint32_t *off;       /* (n_vocab + 1) token t is text[off[t] .. off[t + 1]) */
    uint8_t *eog;        /* (n_vocab) end-of-generation tokens */
    gram_state now, scratch;
};

mote_status constraint_new(const mote_model *model, const mote_grammar *g, gram_constraint **out)
{
    *out = NULL;
    const int n_vocab = mote_vocab_size(model);
    gram_constraint *gc = calloc(1, sizeof *gc);
    if (!gc) return mote_fail(MOTE_E_NOMEM, "grammar: out of memory");
    gc->g = g;
    gc->n_vocab = n_vocab;
    gc->off = malloc(((size_t)n_vocab + 1) * sizeof *gc->off);
    gc->eog = malloc((size_t)n_vocab);
    size_t cap = 8 * (size_t)n_vocab + 64, len = 0;
    gc->text = malloc(cap);
    if (!gc->off || !gc->eog || !gc->text) goto oom;
    for (int t = 0; t < n_vocab; t++) {
        gc->off[t] = (uint32_t)len;
        gc->eog[t] = (uint8_t)mote_token_is_eog(model, t);
        char piece[1024];
        size_t n = 0;
        /* control tokens have no text (render_special 0): never allowed */
        if (gc->eog[t] || mote_token_to_piece(model, t, 0, piece, sizeof piece, &n) != MOTE_OK) n = 0;
        if (len + n > cap) {
            while (len + n > cap) cap *= 2;
            char *p = realloc(gc->text, cap);
            if (!p) goto oom;
            gc->text = p;
        }
        memcpy(gc->text + len, piece, n);
        len += n;
    }
    gc->off[n_vocab] = (uint32_t)len;
    if (grammar_start(g, &gc->now) != 0) goto oom;
    *out = gc;
    return MOTE_OK;
oom:
    constraint_free(gc);
    return mote_fail(MOTE_E_NOMEM, "grammar: out of memory for a vocabulary of %d tokens", n_vocab);
}

void constraint_free(gram_constraint *gc)
{
    if (!gc) return;
    free(gc->text);
    free(gc->off);
    free(gc->eog);
    grammar_state_free(&gc->now);
    grammar_state_free(&gc->scratch);
    free(gc);
}

void constraint_reset(gram_constraint *gc)
{
    grammar_state_free(&gc->now);
    if (grammar_start(gc->g, &gc->now) != 0) memset(&gc->now, 0, sizeof gc->now); /* allows nothing */
}

int constraint_allows(gram_constraint *gc, mote_token t)
{
    if (t < 0 || t >= gc->n_vocab) return 0;
    if (gc->eog[t]) return gc->now.complete && gc->now.partial_left == 0;
    const uint32_t n = gc->off[t + 1] - gc->off[t];
    if (n == 0) return 0;
    return grammar_feed(gc->g, &gc->now, gc->text + gc->off[t], n, &gc->scratch);
}

int constraint_mask(gram_constraint *gc, const float *logits, float *out)
{
    int n_ok = 0;
    for (int t = 0; t < gc->n_vocab; t++) {
        const int ok = constraint_allows(gc, t);
        if (ok < 0) return -1;
        out[t] = ok ? logits[t] : -INFINITY;
        n_ok += ok;
    }
    return n_ok;
}

int constraint_commit(gram_constraint *gc, mote_token t)
{
    if (gc->eog[t]) return 0;
    const int rc = grammar_feed(gc->g, &gc->now, gc->text + gc->off[t], gc->off[t + 1] - gc->off[t], &gc->scratch);
    if (rc < 0) return -1;
    gram_state tmp = gc->now;
    gc->now = gc->scratch;
    gc->scratch = tmp;
    return 0;
}
