/*
 * value.c — heap, reference counting, strings, lists and dicts.
 */
#include "jinja/value.h"
#include "jinja/interp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dicts up to this many entries are searched linearly, without an index. */
#define JDICT_LINEAR_MAX 8

/* ------------------------------------------------------------------------
 * Heap
 * ---------------------------------------------------------------------- */

void jheap_init(jheap *h)
{
    memset(h, 0, sizeof *h);
    h->live.prev = h->live.next = &h->live;
    h->limit = SIZE_MAX;
    h->work_limit = UINT64_MAX;
}

bool jheap_reserve(jheap *h, size_t n)
{
    if (h->bytes > h->limit || n > h->limit - h->bytes) {
        h->refused = true;
        return false;
    }
    h->bytes += n;
    if (h->bytes > h->peak) h->peak = h->bytes;
    return true;
}

bool jheap_charge(jheap *h, size_t n)
{
    return jheap_work(h, n / JWORK_BLOCK) && jheap_reserve(h, n);
}

void *jheap_scratch(jheap *h, size_t n)
{
    if (!jheap_reserve(h, n)) return NULL;
    void *p = malloc(n ? n : 1);
    if (!p) h->bytes -= n;
    return p;
}

void jheap_scratch_free(jheap *h, void *p, size_t n)
{
    if (!p) return;
    free(p);
    h->bytes -= n;
}

static void unlink_obj(jobj *o)
{
    o->prev->next = o->next;
    o->next->prev = o->prev;
}

/* Free the object's own storage (not what it references). */
static void free_storage(jobj *o)
{
    switch ((jkind)o->kind) {
    case JK_LIST: free(((jlist *)o)->items); break;
    case JK_DICT: {
        jdict *d = (jdict *)o;
        free(d->keys);
        free(d->vals);
        free(d->index);
        break;
    }
    case JK_LOOP: jloop_free_storage(o); break;
    default: break;
    }
    o->heap->bytes -= o->size;
    free(o);
}

void jheap_free(jheap *h)
{
    jobj *o = h->live.next;
    while (o != &h->live) {
        jobj *next = o->next;
        free_storage(o);
        o = next;
    }
    o = h->pending;
    while (o) {
        jobj *next = o->next;
        free_storage(o);
        o = next;
    }
    jheap_init(h);
}

void *jheap_new(jheap *h, jkind kind, size_t size)
{
    if (!jheap_work(h, JWORK_STEP) || !jheap_charge(h, size)) return NULL;
    jobj *o = calloc(1, size);
    if (!o) {
        h->bytes -= size;
        return NULL;
    }
    o->heap = h;
    o->size = size;
    o->rc = 1;
    o->kind = (uint8_t)kind;
    o->next = h->live.next;
    o->prev = &h->live;
    h->live.next->prev = o;
    h->live.next = o;
    return o;
}

/* Drop the references an object holds (children may become pending). */
static void release_children(jobj *o)
{
    switch ((jkind)o->kind) {
    case JK_LIST: {
        jlist *l = (jlist *)o;
        for (size_t i = 0; i < l->n; i++) jv_release(l->items[i]);
        break;
    }
    case JK_DICT: {
        jdict *d = (jdict *)o;
        for (size_t i = 0; i < d->n; i++) {
            jv_release(d->keys[i]);
            jv_release(d->vals[i]);
        }
        break;
    }
    case JK_MACRO: {
        jmacro *m = (jmacro *)o;
        if (m->closure) jobj_release(&m->closure->h);
        jv_release(m->caller);
        break;
    }
    case JK_METHOD: jv_release(((jmethod *)o)->self); break;
    case JK_LOOP: jloop_release_children(o); break;
    case JK_SCOPE: {
        jscope *s = (jscope *)o;
        if (s->parent) jobj_release(&s->parent->h);
        if (s->vars) jobj_release(&s->vars->h);
        break;
    }
    case JK_STR: break;
    }
}

/* Objects are freed iteratively: a count that reaches 0 moves the object to
 * the pending list, and the outermost release empties that list, so freeing
 * a deeply nested structure never recurses. */
void jobj_release(jobj *o)
{
    if (!o || --o->rc > 0) return;
    jheap *h = o->heap;
    unlink_obj(o);
    o->next = h->pending;
    h->pending = o;
    if (h->draining) return;
    h->draining = true;
    while (h->pending) {
        jobj *p = h->pending;
        h->pending = p->next;
        release_children(p);
        free_storage(p);
    }
    h->draining = false;
}

void jv_release(jv v)
{
    if (jv_on_heap(v)) jobj_release(v.u.o);
}

/* ------------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------- */

bool jstr_new(jheap *h, const char *s, size_t n, jv *out)
{
    if (n > JSTR_MAX) return false;
    jstr *str = jheap_new(h, JK_STR, sizeof(jstr) + n + 1);
    if (!str) return false;
    str->len = n;
    str->ncp = SIZE_MAX;
    if (n) memcpy(str->s, s, n);
    str->s[n] = '\0';
    *out = jv_obj(JT_STR, str);
    return true;
}

bool jstr_repeat(jheap *h, const char *s, size_t n, uint64_t times, jv *out)
{
    if (n == 0 || times == 0) return jstr_new(h, "", 0, out);
    if (times > JSTR_MAX / n) return false;
    size_t total = n * (size_t)times;
    jstr *str = jheap_new(h, JK_STR, sizeof(jstr) + total + 1);
    if (!str) return false;
    memcpy(str->s, s, n);
    /* double the filled prefix: log2(times) copies, not `times` */
    for (size_t have = n; have < total; have *= 2) memcpy(str->s + have, str->s, have < total - have ? have : total - have);
    str->len = total;
    str->ncp = SIZE_MAX;
    str->s[total] = '\0';
    *out = jv_obj(JT_STR, str);
    return true;
}

size_t jstr_ncp(jstr *s)
{
    if (s->ncp == SIZE_MAX) {
        size_t n = 0;
        for (size_t i = 0; i < s->len; i++)
            n += ((unsigned char)s->s[i] & 0xC0) != 0x80;
        s->ncp = n;
    }
    return s->ncp;
}

void jbuf_init(jbuf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max ? max : JSTR_MAX;
}

void jbuf_init_charged(jbuf *b, size_t max, jheap *h)
{
    jbuf_init(b, max);
    b->heap = h;
}

static bool jbuf_grow(jbuf *b, size_t extra)
{
    if (b->failed) return false;
    if (extra > b->max || b->n > b->max - extra) {
        b->failed = true;
        return false;
    }
    size_t need = b->n + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    if (b->heap && !jheap_reserve(b->heap, cap - b->cap)) {
        b->failed = true;
        return false;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        if (b->heap) b->heap->bytes -= cap - b->cap;
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void jbuf_put(jbuf *b, const char *s, size_t n)
{
    if (!n || b->failed) return;
    /* a unit a call: the bytes are charged when they become a string */
    if (b->heap && !jheap_work(b->heap, 1)) {
        b->failed = true;
        return;
    }
    if (!jbuf_grow(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void jbuf_putc(jbuf *b, char c) { jbuf_put(b, &c, 1); }

void jbuf_printf(jbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        jbuf_put(b, tmp, (size_t)n);
        return;
    }
    if (b->heap && !jheap_work(b->heap, 1)) {
        b->failed = true;
        return;
    }
    if (!jbuf_grow(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

void jbuf_free(jbuf *b)
{
    if (b->heap) b->heap->bytes -= b->cap;
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

bool jbuf_to_str(jbuf *b, jheap *h, jv *out)
{
    bool ok = !b->failed && jstr_new(h, b->p ? b->p : "", b->n, out);
    jbuf_free(b);
    return ok;
}

/* ------------------------------------------------------------------------
 * Lists
 * ---------------------------------------------------------------------- */

bool jlist_new(jheap *h, jlist_form form, size_t cap, jv *out)
{
    if (cap > JLIST_MAX) return false;
    jlist *l = jheap_new(h, JK_LIST, sizeof(jlist));
    if (!l) return false;
    l->form = (uint8_t)form;
    if (cap) {
        bool charged = jheap_charge(h, cap * sizeof(jv));
        if (charged) l->h.size += cap * sizeof(jv); /* released with the list */
        l->items = charged ? malloc(cap * sizeof(jv)) : NULL;
        if (!l->items) {
            jobj_release(&l->h);
            return false;
        }
        l->cap = cap;
    }
    *out = jv_obj(JT_LIST, l);
    return true;
}

bool jlist_push(jlist *l, jv v)
{
    if (l->n == l->cap) {
        if (l->n >= JLIST_MAX) return false;
        size_t cap = l->cap ? l->cap * 2 : 4;
        if (!jheap_charge(l->h.heap, (cap - l->cap) * sizeof(jv))) return false;
        jv *items = realloc(l->items, cap * sizeof(jv));
        if (!items) {
            l->h.heap->bytes -= (cap - l->cap) * sizeof(jv);
            return false;
        }
        l->items = items;
        l->h.size += (cap - l->cap) * sizeof(jv);
        l->cap = cap;
    }
    l->items[l->n++] = jv_retain(v);
    return true;
}

/* ------------------------------------------------------------------------
 * Dicts
 * ---------------------------------------------------------------------- */

/* Charge the work of visiting o's contents to its render (objects made on
 * the stack for a lookup have none); false once the budget is spent. */
static bool work(jobj *o, uint64_t units)
{
    return !o->heap || jheap_work(o->heap, units);
}

bool jdict_new(jheap *h, jv *out)
{
    jdict *d = jheap_new(h, JK_DICT, sizeof(jdict));
    if (!d) return false;
    *out = jv_obj(JT_DICT, d);
    return true;
}

bool jv_hashable(jv k)
{
    switch ((jtype)k.type) {
    case JT_NONE: case JT_BOOL: case JT_INT: case JT_FLOAT: case JT_STR: case JT_UNDEF:
        return true;
    case JT_LIST: {
        jlist *l = jv_list(k);
        if (l->form != JL_TUPLE) return l->form == JL_GEN;
        for (size_t i = 0; i < l->n; i++)
            if (!jv_hashable(l->items[i])) return false;
        return true;
    }
    case JT_MACRO: case JT_NS: case JT_FUNC: case JT_METHOD: case JT_LOOP:
        return true; /* hashed by identity */
    case JT_DICT: return false;
    }
    return false;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* Equal values hash equally: 1, 1.0 and True share a hash. */
static uint64_t jv_hash(jv k, int depth)
{
    switch ((jtype)k.type) {
    case JT_NONE: return 0x9e3779b97f4a7c15ULL;
    case JT_UNDEF: return 0x1234567ULL;
    case JT_BOOL: case JT_INT: return mix64((uint64_t)k.u.i);
    case JT_FLOAT: {
        double f = k.u.f;
        if (f == floor(f) && fabs(f) < 9.2e18) return mix64((uint64_t)(int64_t)f);
        uint64_t bits;
        memcpy(&bits, &f, sizeof bits);
        return mix64(bits);
    }
    case JT_STR: {
        jstr *s = jv_str(k);
        uint64_t hsh = 1469598103934665603ULL;
        if (!work(&s->h, s->len)) return hsh;
        for (size_t i = 0; i < s->len; i++) hsh = (hsh ^ (unsigned char)s->s[i]) * 1099511628211ULL;
        return hsh;
    }
    case JT_LIST: {
        jlist *l = jv_list(k);
        if (l->form == JL_GEN) return mix64((uint64_t)(uintptr_t)l);
        uint64_t hsh = 0x345678;
        if (depth > JNEST_MAX) return hsh;
        for (size_t i = 0; i < l->n && work(&l->h, JWORK_ITEM); i++) hsh = mix64(hsh ^ jv_hash(l->items[i], depth + 1));
        return hsh;
    }
    case JT_FUNC: return mix64((uint64_t)(uintptr_t)k.u.fn);
    default: return mix64((uint64_t)(uintptr_t)k.u.o);
    }
}

static void index_insert(jdict *d, size_t entry)
{
    size_t mask = d->index_cap - 1;
    size_t i = (size_t)jv_hash(d->keys[entry], 0) & mask;
    while (d->index[i]) i = (i + 1) & mask;
    d->index[i] = (uint32_t)(entry + 1);
}

static bool index_rebuild(jdict *d)
{
    free(d->index);
    d->index = NULL;
    d->index_cap = 0;
    if (d->n <= JDICT_LINEAR_MAX) return true;
    size_t cap = 16;
    while (cap < d->n * 2) cap *= 2;
    d->index = calloc(cap, sizeof(uint32_t));
    if (!d->index) return false;
    d->index_cap = cap;
    for (size_t e = 0; e < d->n; e++) index_insert(d, e);
    return true;
}

long jdict_find(const jdict *d, jv k)
{
    if (!d->index) {
        for (size_t i = 0; i < d->n; i++)
            if (jv_equal(d->keys[i], k)) return (long)i;
        return -1;
    }
    size_t mask = d->index_cap - 1;
    size_t i = (size_t)jv_hash(k, 0) & mask;
    while (d->index[i]) {
        size_t e = d->index[i] - 1;
        if (jv_equal(d->keys[e], k)) return (long)e;
        i = (i + 1) & mask;
    }
    return -1;
}

jv *jdict_get_cstr(const jdict *d, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < d->n && !d->index; i++) {
        jv k = d->keys[i];
        if (k.type == JT_STR && jv_str(k)->len == n && memcmp(jv_str(k)->s, key, n) == 0)
            return &d->vals[i];
    }
    if (!d->index) return NULL;
    /* Indexed dicts hash the key: build a temporary string on the stack
     * (a jstr header with the key's bytes after it). */
    enum { TMP_KEY_MAX = 64 };
    _Alignas(jstr) unsigned char tmp[sizeof(jstr) + TMP_KEY_MAX];
    if (n >= TMP_KEY_MAX) {
        for (size_t i = 0; i < d->n; i++) {
            jv k = d->keys[i];
            if (k.type == JT_STR && jv_str(k)->len == n && memcmp(jv_str(k)->s, key, n) == 0)
                return &d->vals[i];
        }
        return NULL;
    }
    jstr *ts = (jstr *)tmp;
    memset(ts, 0, sizeof *ts);
    ts->len = n;
    ts->ncp = SIZE_MAX;
    memcpy(ts->s, key, n + 1);
    long e = jdict_find(d, jv_obj(JT_STR, ts));
    return e < 0 ? NULL : &d->vals[e];
}

bool jdict_set(jdict *d, jv k, jv v)
{
    long e = jdict_find(d, k);
    if (e >= 0) {
        jv old = d->vals[e];
        d->vals[e] = jv_retain(v);
        jv_release(old);
        return true;
    }
    if (d->n == d->cap) {
        if (d->n >= JLIST_MAX) return false;
        size_t cap = d->cap ? d->cap * 2 : 4, more = (cap - d->cap) * 2 * sizeof(jv);
        if (!jheap_charge(d->h.heap, more)) return false;
        jv *keys = realloc(d->keys, cap * sizeof(jv));
        jv *vals = keys ? realloc(d->vals, cap * sizeof(jv)) : NULL;
        if (keys) d->keys = keys;
        if (!vals) {
            d->h.heap->bytes -= more;
            return false;
        }
        d->vals = vals;
        d->h.size += more;
        d->cap = cap;
    }
    d->keys[d->n] = jv_retain(k);
    d->vals[d->n] = jv_retain(v);
    d->n++;
    if (d->n > JDICT_LINEAR_MAX) {
        if (!d->index || d->n * 2 > d->index_cap) return index_rebuild(d);
        index_insert(d, d->n - 1);
    }
    return true;
}

bool jdict_set_cstr(jdict *d, const char *key, jv v)
{
    jv k;
    if (!jstr_cstr(d->h.heap, key, &k)) return false;
    bool ok = jdict_set(d, k, v);
    jv_release(k);
    return ok;
}

void jdict_clear(jdict *d)
{
    size_t n = d->n;
    d->n = 0;
    free(d->index);
    d->index = NULL;
    d->index_cap = 0;
    for (size_t i = 0; i < n; i++) {
        jv_release(d->keys[i]);
        jv_release(d->vals[i]);
    }
}

void jdict_remove(jdict *d, size_t i)
{
    jv k = d->keys[i], v = d->vals[i];
    memmove(d->keys + i, d->keys + i + 1, (d->n - i - 1) * sizeof(jv));
    memmove(d->vals + i, d->vals + i + 1, (d->n - i - 1) * sizeof(jv));
    d->n--;
    index_rebuild(d); /* a failed rebuild leaves no index: linear search */
    jv_release(k);
    jv_release(v);
}

/* ------------------------------------------------------------------------
 * Python semantics
 * ---------------------------------------------------------------------- */

bool jv_truthy(jv v)
{
    switch ((jtype)v.type) {
    case JT_UNDEF: case JT_NONE: return false;
    case JT_BOOL: case JT_INT: return v.u.i != 0;
    case JT_FLOAT: return v.u.f != 0.0;
    case JT_STR: return jv_str(v)->len > 0;
    case JT_LIST: return jv_list(v)->form == JL_GEN || jv_list(v)->n > 0;
    case JT_DICT: return jv_dict(v)->n > 0;
    default: return true;
    }
}

static bool equal_depth(jv a, jv b, int depth)
{
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a.type != JT_FLOAT && b.type != JT_FLOAT) return a.u.i == b.u.i;
        return jv_num(a) == jv_num(b);
    }
    if (a.type != b.type) return false;
    switch ((jtype)a.type) {
    case JT_UNDEF: case JT_NONE: return true;
    case JT_STR: {
        jstr *x = jv_str(a), *y = jv_str(b);
        if (x == y) return true;
        return x->len == y->len && work(&x->h, x->len / JWORK_BLOCK) && memcmp(x->s, y->s, x->len) == 0;
    }
    case JT_LIST: {
        jlist *x = jv_list(a), *y = jv_list(b);
        if (x == y) return true;
        if (x->form != y->form || x->form == JL_GEN || x->n != y->n) return false;
        if (depth > JNEST_MAX) return false;
        for (size_t i = 0; i < x->n; i++)
            if (!work(&x->h, JWORK_ITEM) || !equal_depth(x->items[i], y->items[i], depth + 1)) return false;
        return true;
    }
    case JT_DICT: {
        jdict *x = jv_dict(a), *y = jv_dict(b);
        if (x == y) return true;
        if (x->n != y->n || depth > JNEST_MAX) return false;
        for (size_t i = 0; i < x->n; i++) {
            if (!work(&x->h, 2 * JWORK_ITEM)) return false;
            long e = jdict_find(y, x->keys[i]);
            if (e < 0 || !equal_depth(x->vals[i], y->vals[e], depth + 1)) return false;
        }
        return true;
    }
    case JT_FUNC: return a.u.fn == b.u.fn;
    case JT_METHOD: {
        jmethod *x = (jmethod *)a.u.o, *y = (jmethod *)b.u.o;
        return x->def == y->def && equal_depth(x->self, y->self, depth + 1);
    }
    default: return a.u.o == b.u.o;
    }
}

bool jv_equal(jv a, jv b) { return equal_depth(a, b, 0); }

const char *jv_type_name(jv v)
{
    switch ((jtype)v.type) {
    case JT_UNDEF: return "Undefined";
    case JT_NONE: return "NoneType";
    case JT_BOOL: return "bool";
    case JT_INT: return "int";
    case JT_FLOAT: return "float";
    case JT_STR: return (v.flags & JV_SAFE) ? "Markup" : "str";
    case JT_LIST:
        switch (jv_list(v)->form) {
        case JL_TUPLE: return "tuple";
        case JL_GEN: return "generator";
        default: return "list";
        }
    case JT_DICT: return "dict";
    case JT_NS: return "Namespace";
    case JT_MACRO: return "Macro";
    case JT_METHOD: return "builtin_function_or_method";
    case JT_LOOP: return "LoopContext";
    case JT_FUNC: return "function";
    }
    return "object";
}
