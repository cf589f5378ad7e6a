/*
 * methods.c — Python's list and dict methods, and the method lookup for
 * every builtin type.
 *
 * Methods that mutate (append, pop, update, ...) are marked so: HF renders
 * with jinja2's ImmutableSandboxedEnvironment, where they are refused, and
 * eval.c refuses them too unless the caller allows mutation.
 */
#include "jinja/interp.h"
#include "jinja/methods.h"

#include <string.h>

#define BIND(fname, nreq, ...)                                                                 \
    static const char *const params_[] = {__VA_ARGS__};                                        \
    jv arg[sizeof params_ / sizeof params_[0]];                                                 \
    if (!jargs_bind(r, a, fname, params_, sizeof params_ / sizeof params_[0], nreq, arg))     \
        return false

#define NO_ARGS(fname)                                                                         \
    if (a->npos || a->nkw) return jfail(r, a->at, "%s() takes no arguments", fname)

/* ------------------------------------------------------------------------
 * list (and tuple: index, count)
 * ---------------------------------------------------------------------- */

static bool l_index(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("index", 1, "value", "start", "stop");
    jlist *l = jv_list(self);
    int64_t n = (int64_t)l->n, st = 0, en = n;
    if (!jv_missing(arg[1]) && jv_is_intlike(arg[1])) st = arg[1].u.i < 0 ? (arg[1].u.i + n < 0 ? 0 : arg[1].u.i + n) : arg[1].u.i;
    if (!jv_missing(arg[2]) && jv_is_intlike(arg[2])) en = arg[2].u.i < 0 ? (arg[2].u.i + n < 0 ? 0 : arg[2].u.i + n) : arg[2].u.i;
    for (int64_t i = st; i < en && i < n; i++)
        if (jv_equal(l->items[i], arg[0])) {
            *out = jv_int(i);
            return true;
        }
    jbuf b;
    jbuf_init_charged(&b, 200, &r->heap);
    jv_write_repr(&b, arg[0]);
    bool ok = jfail(r, a->at, "%s is not in list", b.p ? b.p : "value");
    jbuf_free(&b);
    return ok;
}

static bool l_count(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("count", 1, "value");
    jlist *l = jv_list(self);
    int64_t n = 0;
    for (size_t i = 0; i < l->n; i++) n += jv_equal(l->items[i], arg[0]);
    *out = jv_int(n);
    return true;
}

static bool l_copy(jrender *r, jv self, jargs *a, jv *out)
{
    NO_ARGS("copy");
    jlist *l = jv_list(self);
    if (!jlist_new(&r->heap, JL_LIST, l->n, out)) return jfail_oom(r, a->at);
    for (size_t i = 0; i < l->n; i++) jlist_push(jv_list(*out), l->items[i]);
    return true;
}

static bool l_append(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("append", 1, "object");
    if (!jlist_push(jv_list(self), arg[0])) return jfail_oom(r, a->at);
    *out = jv_none();
    return true;
}

static bool l_extend(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("extend", 1, "iterable");
    jv l;
    if (!jiter_list(r, a->at, arg[0], &l)) return false;
    size_t n = jv_list(l)->n; /* fixed first: extending a list by itself */
    for (size_t i = 0; i < n; i++)
        if (!jlist_push(jv_list(self), jv_list(l)->items[i])) return jfail_oom(r, a->at);
    jv_release(l);
    *out = jv_none();
    return true;
}

static bool l_insert(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("insert", 2, "index", "object");
    if (!jv_is_intlike(arg[0])) return jfail(r, a->at, "list indices must be integers");
    jlist *l = jv_list(self);
    int64_t n = (int64_t)l->n, i = arg[0].u.i;
    if (i < 0) i = i + n < 0 ? 0 : i + n;
    if (i > n) i = n;
    if (!jlist_push(l, arg[0])) return jfail_oom(r, a->at); /* grow by one */
    jv_release(l->items[l->n - 1]);
    memmove(l->items + i + 1, l->items + i, (size_t)(n - i) * sizeof(jv));
    l->items[i] = jv_retain(arg[1]);
    *out = jv_none();
    return true;
}

static bool l_pop(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("pop", 0, "index");
    jlist *l = jv_list(self);
    if (!l->n) return jfail(r, a->at, "pop from empty list");
    int64_t i = (int64_t)l->n - 1;
    if (!jv_missing(arg[0])) {
        if (!jv_is_intlike(arg[0])) return jfail(r, a->at, "list indices must be integers");
        size_t k;
        if (!jindex(arg[0].u.i, l->n, &k)) return jfail(r, a->at, "pop index out of range");
        i = (int64_t)k;
    }
    *out = l->items[i];
    memmove(l->items + i, l->items + i + 1, (l->n - (size_t)i - 1) * sizeof(jv));
    l->n--;
    return true;
}

static bool l_remove(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("remove", 1, "value");
    jlist *l = jv_list(self);
    for (size_t i = 0; i < l->n; i++) {
        if (!jv_equal(l->items[i], arg[0])) continue;
        jv gone = l->items[i];
        memmove(l->items + i, l->items + i + 1, (l->n - i - 1) * sizeof(jv));
        l->n--;
        jv_release(gone);
        *out = jv_none();
        return true;
    }
    return jfail(r, a->at, "list.remove(x): x not in list");
}

static bool l_reverse(jrender *r, jv self, jargs *a, jv *out)
{
    NO_ARGS("reverse");
    jlist *l = jv_list(self);
    for (size_t i = 0, j = l->n ? l->n - 1 : 0; i < j; i++, j--) {
        jv t = l->items[i];
        l->items[i] = l->items[j];
        l->items[j] = t;
    }
    *out = jv_none();
    return true;
}

static bool l_clear(jrender *r, jv self, jargs *a, jv *out)
{
    NO_ARGS("clear");
    jlist *l = jv_list(self);
    size_t n = l->n;
    l->n = 0;
    for (size_t i = 0; i < n; i++) jv_release(l->items[i]);
    *out = jv_none();
    return true;
}

static const jmethod_def list_methods[] = {
    {"append", true, l_append}, {"clear", true, l_clear},   {"copy", false, l_copy},
    {"count", false, l_count},  {"extend", true, l_extend}, {"index", false, l_index},
    {"insert", true, l_insert}, {"pop", true, l_pop},       {"remove", true, l_remove},
    {"reverse", true, l_reverse}, {NULL, false, NULL},
};

static const jmethod_def tuple_methods[] = {
    {"count", false, l_count}, {"index", false, l_index}, {NULL, false, NULL},
};

/* ------------------------------------------------------------------------
 * dict
 * ---------------------------------------------------------------------- */

static bool need_key(jrender *r, jargs *a, jv k)
{
    return jv_hashable(k) || jfail(r, a->at, "unhashable type: '%s'", jv_type_name(k));
}

static bool d_get(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("get", 1, "key", "default");
    if (!need_key(r, a, arg[0])) return false;
    long e = jdict_find(jv_dict(self), arg[0]);
    if (e >= 0) *out = jv_retain(jv_dict(self)->vals[e]);
    else *out = jv_missing(arg[1]) ? jv_none() : jv_retain(arg[1]);
    return true;
}

/* keys(), values(), items() */
static bool d_view(jrender *r, jv self, jargs *a, jv *out, int which)
{
    NO_ARGS(which == 0 ? "keys" : which == 1 ? "values" : "items");
    jdict *d = jv_dict(self);
    if (!jlist_new(&r->heap, JL_LIST, d->n, out)) return jfail_oom(r, a->at);
    for (size_t i = 0; i < d->n; i++) {
        if (which < 2) {
            jlist_push(jv_list(*out), which == 0 ? d->keys[i] : d->vals[i]);
            continue;
        }
        jv pair;
        if (!jlist_new(&r->heap, JL_TUPLE, 2, &pair)) return jfail_oom(r, a->at);
        jlist_push(jv_list(pair), d->keys[i]);
        jlist_push(jv_list(pair), d->vals[i]);
        jlist_push(jv_list(*out), pair);
        jv_release(pair);
    }
    return true;
}

static bool d_keys(jrender *r, jv self, jargs *a, jv *out) { return d_view(r, self, a, out, 0); }
static bool d_values(jrender *r, jv self, jargs *a, jv *out) { return d_view(r, self, a, out, 1); }
static bool d_items(jrender *r, jv self, jargs *a, jv *out) { return d_view(r, self, a, out, 2); }

static bool d_copy(jrender *r, jv self, jargs *a, jv *out)
{
    NO_ARGS("copy");
    jdict *d = jv_dict(self);
    if (!jdict_new(&r->heap, out)) return jfail_oom(r, a->at);
    for (size_t i = 0; i < d->n; i++)
        if (!jdict_set(jv_dict(*out), d->keys[i], d->vals[i])) return jfail_oom(r, a->at);
    return true;
}

static bool d_pop(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("pop", 1, "key", "default");
    if (!need_key(r, a, arg[0])) return false;
    jdict *d = jv_dict(self);
    long e = jdict_find(d, arg[0]);
    if (e < 0) {
        if (jv_missing(arg[1])) return jfail(r, a->at, "KeyError");
        *out = jv_retain(arg[1]);
        return true;
    }
    *out = jv_retain(d->vals[e]);
    jdict_remove(d, (size_t)e);
    return true;
}

static bool d_setdefault(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("setdefault", 1, "key", "default");
    if (!need_key(r, a, arg[0])) return false;
    jdict *d = jv_dict(self);
    long e = jdict_find(d, arg[0]);
    if (e >= 0) {
        *out = jv_retain(d->vals[e]);
        return true;
    }
    jv v = jv_missing(arg[1]) ? jv_none() : arg[1];
    if (!jdict_set(d, arg[0], v)) return jfail_oom(r, a->at);
    *out = jv_retain(v);
    return true;
}

static bool d_update(jrender *r, jv self, jargs *a, jv *out)
{
    jdict *d = jv_dict(self);
    if (a->npos > 1) return jfail(r, a->at, "update expected at most 1 argument, got %zu", a->npos);
    if (a->npos) {
        jv src = a->pos[0];
        if (src.type == JT_DICT) {
            jdict *s = jv_dict(src);
            for (size_t i = 0; i < s->n; i++)
                if (!jdict_set(d, s->keys[i], s->vals[i])) return jfail_oom(r, a->at);
        } else {
            jv l;
            if (!jiter_list(r, a->at, src, &l)) return false;
            for (size_t i = 0; i < jv_list(l)->n; i++) {
                jv pair = jv_list(l)->items[i];
                if (pair.type != JT_LIST || jv_list(pair)->n != 2)
                    return jfail(r, a->at, "dictionary update sequence element #%zu has the wrong length", i);
                if (!need_key(r, a, jv_list(pair)->items[0])) return false;
                if (!jdict_set(d, jv_list(pair)->items[0], jv_list(pair)->items[1])) return jfail_oom(r, a->at);
            }
            jv_release(l);
        }
    }
    for (size_t k = 0; k < a->nkw; k++)
        if (!jdict_set_cstr(d, a->kwname[k], a->kw[k])) return jfail_oom(r, a->at);
    *out = jv_none();
    return true;
}

static bool d_clear(jrender *r, jv self, jargs *a, jv *out)
{
    NO_ARGS("clear");
    jdict_clear(jv_dict(self));
    *out = jv_none();
    return true;
}

static bool d_popitem(jrender *r, jv self, jargs *a, jv *out)
{
    NO_ARGS("popitem");
    jdict *d = jv_dict(self);
    if (!d->n) return jfail(r, a->at, "popitem(): dictionary is empty");
    if (!jlist_new(&r->heap, JL_TUPLE, 2, out)) return jfail_oom(r, a->at);
    jlist_push(jv_list(*out), d->keys[d->n - 1]);
    jlist_push(jv_list(*out), d->vals[d->n - 1]);
    jdict_remove(d, d->n - 1);
    return true;
}

static const jmethod_def dict_methods[] = {
    {"clear", true, d_clear},   {"copy", false, d_copy},     {"get", false, d_get},
    {"items", false, d_items},  {"keys", false, d_keys},     {"pop", true, d_pop},
    {"popitem", true, d_popitem}, {"setdefault", true, d_setdefault}, {"update", true, d_update},
    {"values", false, d_values}, {NULL, false, NULL},
};

/* ------------------------------------------------------------------------
 * Lookup
 * ---------------------------------------------------------------------- */

const jmethod_def *jmethod_find(jv self, const char *name)
{
    const jmethod_def *table = NULL;
    if (self.type == JT_STR) table = jstr_methods;
    else if (self.type == JT_DICT) table = dict_methods;
    else if (self.type == JT_LIST && jv_list(self)->form == JL_LIST) table = list_methods;
    else if (self.type == JT_LIST && jv_list(self)->form == JL_TUPLE) table = tuple_methods;
    for (; table && table->name; table++)
        if (!strcmp(table->name, name)) return table;
    return NULL;
}
