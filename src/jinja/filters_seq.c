/*
 * filters_seq.c — jinja2's filters over sequences: first, last, join, list,
 * map, select/reject(attr), sort, unique, dictsort, min, max, sum, batch,
 * slice, reverse.
 *
 * Like jinja2, map/select/reject/unique/batch/slice/items return generators:
 * truthy even when empty, without a length, consumed by one pass.
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"

#include <stdlib.h>
#include <string.h>

#define BIND(fname, ...)                                                                \
    static const char *const params_[] = {__VA_ARGS__};                                 \
    jv arg[sizeof params_ / sizeof params_[0]];                                          \
    if (!jargs_bind(r, a, fname, params_, sizeof params_ / sizeof params_[0], 0, arg)) \
        return false

#define NO_ARGS(fname)                                                                        \
    if (a->npos || a->nkw) return jfail(r, at, "%s() takes no arguments", fname)

/* ------------------------------------------------------------------------
 * Attribute paths and sort keys
 * ---------------------------------------------------------------------- */

/* One part of "a.0.b": digits are list positions. */
static bool path_part(jrender *r, const jnode *at, const char *s, size_t n, jv *out)
{
    bool digits = n > 0;
    for (size_t i = 0; i < n; i++) digits &= s[i] >= '0' && s[i] <= '9';
    if (digits && n < 18) {
        *out = jv_int(strtoll(s, NULL, 10));
        return true;
    }
    return jstr_new(&r->heap, s, n, out) || jfail_oom(r, at);
}

bool jattr_path(jrender *r, const jnode *at, jv item, jv path, jv *out)
{
    if (jv_missing(path) || path.type == JT_NONE) {
        *out = jv_retain(item);
        return true;
    }
    if (path.type != JT_STR) return jgetitem(r, at, item, path, out);
    jstr *p = jv_str(path);
    jv cur = jv_retain(item);
    for (size_t i = 0; i <= p->len;) {
        size_t e = i;
        while (e < p->len && p->s[e] != '.') e++;
        jv key, next;
        if (!path_part(r, at, p->s + i, e - i, &key)) return false;
        bool ok = jgetitem(r, at, cur, key, &next);
        jv_release(key);
        jv_release(cur);
        if (!ok) return false;
        cur = next;
        i = e + 1;
    }
    *out = cur;
    return true;
}

/* Sort / unique / min / max key: attribute (comma list = several keys),
 * lowercased strings unless case_sensitive. */
static bool sort_key(jrender *r, const jnode *at, jv item, jv attr, bool case_sensitive, bool multi, jv *out)
{
    if (multi && attr.type == JT_STR && memchr(jv_str(attr)->s, ',', jv_str(attr)->len)) {
        jstr *p = jv_str(attr);
        if (!jlist_new(&r->heap, JL_LIST, 0, out)) return jfail_oom(r, at);
        for (size_t i = 0; i <= p->len;) {
            size_t e = i;
            while (e < p->len && p->s[e] != ',') e++;
            jv part, k;
            if (!jstr_new(&r->heap, p->s + i, e - i, &part)) return jfail_oom(r, at);
            if (!sort_key(r, at, item, part, case_sensitive, false, &k)) return false;
            jlist_push(jv_list(*out), k);
            jv_release(k);
            jv_release(part);
            i = e + 1;
        }
        return true;
    }
    jv v;
    if (!jattr_path(r, at, item, attr, &v)) return false;
    if (!case_sensitive && v.type == JT_STR) {
        bool ok = jstr_case(r, v, 'l', out);
        jv_release(v);
        return ok;
    }
    *out = v;
    return true;
}

typedef struct keyed {
    jv key, item;
} keyed;

/* Stable merge sort that stops at the first unorderable pair. */
static bool merge_sort(jrender *r, const jnode *at, keyed *v, keyed *tmp, size_t n, bool reverse)
{
    if (n < 2) return true;
    size_t h = n / 2;
    if (!merge_sort(r, at, v, tmp, h, reverse) || !merge_sort(r, at, v + h, tmp, n - h, reverse)) return false;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        /* jinja2's sort keys are lists: equal items never reach `<` */
        int c = 0;
        if (!jv_equal(v[i].key, v[j].key) && !jorder(r, at, v[i].key, v[j].key, &c)) return false;
        if (reverse) c = -c;
        tmp[k++] = c <= 0 ? v[i++] : v[j++];
    }
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
    return true;
}

/* Sorted copy of items by key. */
static bool sorted_list(jrender *r, const jnode *at, jv items, jv attr, bool case_sensitive, bool reverse,
                        jlist_form form, jv *out)
{
    jlist *l = jv_list(items);
    size_t bytes = (l->n + 1) * sizeof(keyed);
    keyed *v = jheap_scratch(&r->heap, bytes), *tmp = jheap_scratch(&r->heap, bytes);
    bool ok = v && tmp;
    if (v) memset(v, 0, bytes);
    for (size_t i = 0; ok && i < l->n; i++) {
        v[i].item = l->items[i];
        ok = sort_key(r, at, l->items[i], attr, case_sensitive, true, &v[i].key);
    }
    ok = ok && merge_sort(r, at, v, tmp, l->n, reverse);
    ok = ok && jlist_new(&r->heap, form, l->n, out);
    for (size_t i = 0; ok && i < l->n; i++) jlist_push(jv_list(*out), v[i].item);
    for (size_t i = 0; v && i < l->n; i++) jv_release(v[i].key);
    jheap_scratch_free(&r->heap, v, bytes);
    jheap_scratch_free(&r->heap, tmp, bytes);
    return ok || r->failed ? ok : jfail_oom(r, at);
}

/* ------------------------------------------------------------------------
 * Filters
 * ---------------------------------------------------------------------- */

static bool f_list(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("list");
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    if (!jlist_new(&r->heap, JL_LIST, jv_list(l)->n, out)) return jfail_oom(r, at);
    for (size_t i = 0; i < jv_list(l)->n; i++) jlist_push(jv_list(*out), jv_list(l)->items[i]);
    jv_release(l);
    return true;
}

static bool f_first(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("first");
    if (in.type == JT_LIST && jv_list(in)->form == JL_GEN) {
        /* take one item from the generator */
        jlist *g = jv_list(in);
        if (!g->n) {
            *out = jundef(r, "No first item, sequence was empty.");
            return true;
        }
        *out = g->items[0];
        memmove(g->items, g->items + 1, (g->n - 1) * sizeof(jv));
        g->n--;
        return true;
    }
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    *out = jv_list(l)->n ? jv_retain(jv_list(l)->items[0]) : jundef(r, "No first item, sequence was empty.");
    jv_release(l);
    return true;
}

static bool f_last(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("last");
    if (in.type == JT_UNDEF) {
        *out = jundef(r, "No last item, sequence was empty.");
        return true;
    }
    if ((in.type == JT_LIST && jv_list(in)->form == JL_GEN) ||
        (in.type != JT_LIST && in.type != JT_STR && in.type != JT_DICT))
        return jfail(r, at, "'%s' object is not reversible", jv_type_name(in));
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    jlist *x = jv_list(l);
    *out = x->n ? jv_retain(x->items[x->n - 1]) : jundef(r, "No last item, sequence was empty.");
    jv_release(l);
    return true;
}

static bool f_join(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("join", "d", "attribute");
    jv l, sep = jv_none();
    if (!jv_missing(arg[0]) && !jv_to_str(r, at, arg[0], &sep)) return false;
    if (!jiter_list(r, at, in, &l)) return false;
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    for (size_t i = 0; i < jv_list(l)->n; i++) {
        jv v;
        if (!jattr_path(r, at, jv_list(l)->items[i], arg[1], &v)) {
            jbuf_free(&b);
            return false;
        }
        if (i && sep.type == JT_STR) jbuf_put(&b, jv_str(sep)->s, jv_str(sep)->len);
        jv_write_str(&b, v);
        jv_release(v);
    }
    jv_release(l);
    jv_release(sep);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

static bool f_reverse(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("reverse");
    if (in.type == JT_STR) {
        jstr *s = jv_str(in);
        if (!jwork(r, at, s->len * JWORK_CHAR)) return false;
        jbuf b;
        jbuf_init_charged(&b, 0, &r->heap);
        for (size_t e = s->len; e > 0;) {
            size_t st = e - 1;
            while (st > 0 && ((unsigned char)s->s[st] & 0xC0) == 0x80) st--;
            jbuf_put(&b, s->s + st, e - st);
            e = st;
        }
        if (!jbuf_to_str(&b, &r->heap, out)) return jfail_oom(r, at);
        out->flags = in.flags & JV_SAFE;
        return true;
    }
    bool was_gen = in.type == JT_LIST && jv_list(in)->form == JL_GEN;
    if (in.type != JT_LIST && in.type != JT_DICT && in.type != JT_UNDEF)
        return jfail(r, at, "argument must be iterable");
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    jlist *x = jv_list(l);
    /* reversed() gives an iterator; a generator is listed and reversed */
    if (!jlist_new(&r->heap, was_gen || in.type == JT_UNDEF ? JL_LIST : JL_GEN, x->n, out)) return jfail_oom(r, at);
    for (size_t i = x->n; i > 0; i--) jlist_push(jv_list(*out), x->items[i - 1]);
    jv_release(l);
    return true;
}

/* map(filter, *args) or map(attribute=..., default=...) */
static bool f_map(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    if (!jlist_new(&r->heap, JL_GEN, 0, out)) return jfail_oom(r, at);
    if (!jv_truthy(in)) return true;
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    jlist *x = jv_list(l);
    if (!a->npos) {
        jv attr = jv_undef(), dflt = jv_undef();
        attr.flags = dflt.flags = JV_MISSING;
        for (size_t k = 0; k < a->nkw; k++) {
            if (!strcmp(a->kwname[k], "attribute")) attr = a->kw[k];
            else if (!strcmp(a->kwname[k], "default")) dflt = a->kw[k];
            else return jfail(r, at, "Unexpected keyword argument '%s'", a->kwname[k]);
        }
        if (jv_missing(attr)) return jfail(r, at, "map requires a filter argument");
        for (size_t i = 0; i < x->n; i++) {
            jv v;
            if (!jattr_path(r, at, x->items[i], attr, &v)) return false;
            if (v.type == JT_UNDEF && !jv_missing(dflt) && dflt.type != JT_NONE) {
                jv_release(v);
                v = jv_retain(dflt);
            }
            bool ok = jlist_push(jv_list(*out), v);
            jv_release(v);
            if (!ok) return jfail_oom(r, at);
        }
    } else {
        jargs sub = *a;
        sub.npos = a->npos - 1;
        memmove(sub.pos, a->pos + 1, sub.npos * sizeof(jv));
        for (size_t i = 0; i < x->n; i++) {
            jv v;
            if (!jfilter_by_name(r, at, a->pos[0], x->items[i], &sub, &v)) return false;
            bool ok = jlist_push(jv_list(*out), v);
            jv_release(v);
            if (!ok) return jfail_oom(r, at);
        }
    }
    jv_release(l);
    return true;
}

/* select, reject, selectattr, rejectattr */
static bool select_common(jrender *r, const jnode *at, jv in, jargs *a, bool by_attr, bool reject, jv *out)
{
    if (!jlist_new(&r->heap, JL_GEN, 0, out)) return jfail_oom(r, at);
    if (!jv_truthy(in)) return true;
    size_t off = by_attr ? 1 : 0;
    if (by_attr && !a->npos) return jfail(r, at, "Missing parameter for attribute name");
    jargs sub = *a;
    sub.npos = a->npos > off + 1 ? a->npos - off - 1 : 0;
    if (sub.npos) memmove(sub.pos, a->pos + off + 1, sub.npos * sizeof(jv));
    bool has_test = a->npos > off;
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    jlist *x = jv_list(l);
    for (size_t i = 0; i < x->n; i++) {
        jv v;
        if (by_attr) {
            if (!jattr_path(r, at, x->items[i], a->pos[0], &v)) return false;
        } else {
            v = jv_retain(x->items[i]);
        }
        bool res;
        if (has_test) {
            if (!jtest_by_name(r, at, a->pos[off], v, &sub, &res)) return false;
        } else {
            res = jv_truthy(v);
        }
        jv_release(v);
        if (res != reject && !jlist_push(jv_list(*out), x->items[i])) return jfail_oom(r, at);
    }
    jv_release(l);
    return true;
}

static bool f_select(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return select_common(r, at, in, a, false, false, out); }
static bool f_reject(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return select_common(r, at, in, a, false, true, out); }
static bool f_selectattr(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return select_common(r, at, in, a, true, false, out); }
static bool f_rejectattr(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return select_common(r, at, in, a, true, true, out); }

static bool f_sort(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("sort", "reverse", "case_sensitive", "attribute");
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    bool reverse = !jv_missing(arg[0]) && jv_truthy(arg[0]);
    bool cs = !jv_missing(arg[1]) && jv_truthy(arg[1]);
    bool ok = sorted_list(r, at, l, arg[2], cs, reverse, JL_LIST, out);
    jv_release(l);
    return ok;
}

static bool f_dictsort(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("dictsort", "case_sensitive", "by", "reverse");
    if (in.type != JT_DICT) return jfail(r, at, "'%s' object has no attribute 'items'", jv_type_name(in));
    const char *by = jv_missing(arg[1]) ? "key" : arg[1].type == JT_STR ? jv_str(arg[1])->s : "";
    if (strcmp(by, "key") && strcmp(by, "value")) return jfail(r, at, "You can only sort by either \"key\" or \"value\"");
    jdict *d = jv_dict(in);
    jv pairs;
    if (!jlist_new(&r->heap, JL_LIST, d->n, &pairs)) return jfail_oom(r, at);
    for (size_t i = 0; i < d->n; i++) {
        jv p;
        if (!jlist_new(&r->heap, JL_TUPLE, 2, &p)) return jfail_oom(r, at);
        jlist_push(jv_list(p), d->keys[i]);
        jlist_push(jv_list(p), d->vals[i]);
        jlist_push(jv_list(pairs), p);
        jv_release(p);
    }
    bool cs = !jv_missing(arg[0]) && jv_truthy(arg[0]);
    bool reverse = !jv_missing(arg[2]) && jv_truthy(arg[2]);
    bool ok = sorted_list(r, at, pairs, jv_int(by[0] == 'k' ? 0 : 1), cs, reverse, JL_LIST, out);
    jv_release(pairs);
    return ok;
}

static bool f_unique(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("unique", "case_sensitive", "attribute");
    bool cs = !jv_missing(arg[0]) && jv_truthy(arg[0]);
    jv l, seen;
    if (!jiter_list(r, at, in, &l)) return false;
    if (!jlist_new(&r->heap, JL_GEN, 0, out) || !jdict_new(&r->heap, &seen)) return jfail_oom(r, at);
    for (size_t i = 0; i < jv_list(l)->n; i++) {
        jv item = jv_list(l)->items[i], key;
        if (!jwork(r, at, JWORK_ITEM) || !sort_key(r, at, item, arg[1], cs, false, &key)) return false;
        if (!jv_hashable(key)) return jfail(r, at, "unhashable type: '%s'", jv_type_name(key));
        if (jdict_find(jv_dict(seen), key) < 0) {
            if (!jdict_set(jv_dict(seen), key, jv_none()) || !jlist_push(jv_list(*out), item)) return jfail_oom(r, at);
        }
        jv_release(key);
    }
    jv_release(seen);
    jv_release(l);
    return true;
}

static bool min_max(jrender *r, const jnode *at, jv in, jargs *a, bool want_max, jv *out)
{
    BIND(want_max ? "max" : "min", "case_sensitive", "attribute");
    bool cs = !jv_missing(arg[0]) && jv_truthy(arg[0]);
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    jlist *x = jv_list(l);
    if (!x->n) {
        *out = jundef(r, "No aggregated item, sequence was empty.");
        return true;
    }
    size_t best = 0;
    jv best_key;
    if (!sort_key(r, at, x->items[0], arg[1], cs, false, &best_key)) return false;
    for (size_t i = 1; i < x->n; i++) {
        jv key;
        int c;
        if (!sort_key(r, at, x->items[i], arg[1], cs, false, &key) || !jorder(r, at, key, best_key, &c))
            return false;
        if (want_max ? c > 0 : c < 0) {
            jv_release(best_key);
            best_key = key;
            best = i;
        } else {
            jv_release(key);
        }
    }
    *out = jv_retain(x->items[best]);
    jv_release(best_key);
    jv_release(l);
    return true;
}

static bool f_min(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return min_max(r, at, in, a, false, out); }
static bool f_max(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return min_max(r, at, in, a, true, out); }

static bool f_sum(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("sum", "attribute", "start");
    jv acc = jv_missing(arg[1]) ? jv_int(0) : jv_retain(arg[1]), l;
    if (!jiter_list(r, at, in, &l)) return false;
    for (size_t i = 0; i < jv_list(l)->n; i++) {
        jv v, next;
        if (!jattr_path(r, at, jv_list(l)->items[i], arg[0], &v)) return false;
        if (!jbinop(r, at, JOP_ADD, acc, v, &next)) return false;
        jv_release(acc);
        jv_release(v);
        acc = next;
    }
    jv_release(l);
    *out = acc;
    return true;
}

static bool push_chunk(jrender *r, const jnode *at, jv gen, jv *chunk)
{
    bool ok = jlist_push(jv_list(gen), *chunk);
    jv_release(*chunk);
    return (ok && jlist_new(&r->heap, JL_LIST, 0, chunk)) || jfail_oom(r, at);
}

static bool f_batch(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("batch", "linecount", "fill_with");
    if (jv_missing(arg[0]) || !jv_is_intlike(arg[0])) return jfail(r, at, "batch() needs an integer line count");
    int64_t count = arg[0].u.i;
    jv l, tmp;
    if (!jiter_list(r, at, in, &l)) return false;
    if (!jlist_new(&r->heap, JL_GEN, 0, out) || !jlist_new(&r->heap, JL_LIST, 0, &tmp)) return jfail_oom(r, at);
    for (size_t i = 0; i < jv_list(l)->n; i++) {
        if ((int64_t)jv_list(tmp)->n == count && !push_chunk(r, at, *out, &tmp)) return false;
        if (!jlist_push(jv_list(tmp), jv_list(l)->items[i])) return jfail_oom(r, at);
    }
    if (jv_list(tmp)->n) {
        bool fill = !jv_missing(arg[1]) && arg[1].type != JT_NONE;
        while (fill && (int64_t)jv_list(tmp)->n < count)
            if (!jlist_push(jv_list(tmp), arg[1])) return jfail_oom(r, at);
        if (!jlist_push(jv_list(*out), tmp)) return jfail_oom(r, at);
    }
    jv_release(tmp);
    jv_release(l);
    return true;
}

static bool f_slice(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("slice", "slices", "fill_with");
    if (jv_missing(arg[0]) || !jv_is_intlike(arg[0]) || arg[0].u.i <= 0)
        return jfail(r, at, "slice() needs a positive number of slices");
    int64_t slices = arg[0].u.i;
    jv l;
    if (!jiter_list(r, at, in, &l)) return false;
    int64_t len = (int64_t)jv_list(l)->n, per = len / slices, extra = len % slices, offset = 0;
    if (!jlist_new(&r->heap, JL_GEN, 0, out)) return jfail_oom(r, at);
    for (int64_t s = 0; s < slices && s < JRANGE_MAX; s++) {
        int64_t start = offset + s * per;
        if (s < extra) offset++;
        int64_t end = offset + (s + 1) * per;
        jv chunk;
        if (!jlist_new(&r->heap, JL_LIST, 0, &chunk)) return jfail_oom(r, at);
        for (int64_t i = start; i < end; i++) jlist_push(jv_list(chunk), jv_list(l)->items[i]);
        if (!jv_missing(arg[1]) && arg[1].type != JT_NONE && s >= extra) jlist_push(jv_list(chunk), arg[1]);
        jlist_push(jv_list(*out), chunk);
        jv_release(chunk);
    }
    jv_release(l);
    return true;
}

static const jfilter_def filters[] = {
    {"batch", f_batch},
    {"dictsort", f_dictsort},
    {"first", f_first},
    {"join", f_join},
    {"last", f_last},
    {"list", f_list},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"reverse", f_reverse},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"slice", f_slice},
    {"sort", f_sort},
    {"sum", f_sum},
    {"unique", f_unique},
};

const jfilter_def *jfilter_find_seq(const char *name)
{
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (!strcmp(filters[i].name, name)) return &filters[i];
    return NULL;
}
