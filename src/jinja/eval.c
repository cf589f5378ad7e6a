/*
 * eval.c — expressions: names, literals, attribute and item access, calls,
 * filters, tests, boolean logic. Operators live in ops.c.
 *
 * Attribute access follows jinja2's sandbox: `obj.name` first looks for a
 * Python attribute (so `d.items` is the dict method even if d has a key
 * "items"), then an item; `obj[key]` first looks for an item, then, for
 * string keys, an attribute. A miss gives an Undefined that remembers jinja2's
 * message, raised only if the template uses it further.
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Errors and undefined values
 * ---------------------------------------------------------------------- */

bool jfail(jrender *r, const jnode *at, const char *fmt, ...)
{
    if (r->failed) return false;
    r->failed = true;
    r->err_pos = at ? at->pos : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return false;
}

bool jfail_oom(jrender *r, const jnode *at)
{
    if (jheap_spent(&r->heap)) return jfail(r, at, "template too expensive (step limit reached)");
    if (r->heap.refused) return jfail(r, at, "template used too much memory");
    return jfail(r, at, "out of memory or a size limit reached (string, list, output)");
}

bool jwork(jrender *r, const jnode *at, uint64_t units)
{
    if (r->failed) return false;
    return jheap_work(&r->heap, units) || jfail(r, at, "template too expensive (step limit reached)");
}

/* Units for the contents of v itself (not of its items). */
static uint64_t shallow_units(jv v)
{
    switch ((jtype)v.type) {
    case JT_STR: return jv_str(v)->len / JWORK_BLOCK;
    case JT_LIST: return jv_list(v)->n * JWORK_ITEM;
    case JT_DICT: case JT_NS: return jv_dict(v)->n * 2 * JWORK_ITEM;
    default: return 0;
    }
}

bool jwork_given(jrender *r, const jnode *at, jv in, const jargs *a)
{
    uint64_t units = shallow_units(in);
    for (size_t i = 0; a && i < a->npos; i++) units += shallow_units(a->pos[i]);
    for (size_t i = 0; a && i < a->nkw; i++) units += shallow_units(a->kw[i]);
    return jwork(r, at, units);
}

__attribute__((noinline)) jv jundef(jrender *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    jv hint;
    if (!jstr_new(&r->heap, msg, (size_t)n, &hint)) return jv_undef();
    jv u = jv_undef();
    u.u.o = hint.u.o;
    return u;
}

bool jfail_undef(jrender *r, const jnode *at, jv undef)
{
    if (undef.type == JT_UNDEF && undef.u.o) return jfail(r, at, "%s", ((jstr *)undef.u.o)->s);
    return jfail(r, at, "value is undefined");
}

/* jinja2's object_type_repr: "dict object", "None", ... */
static const char *type_repr(jv obj, char buf[64])
{
    if (obj.type == JT_NONE) return "None";
    if (obj.type == JT_NS) return "jinja2.utils.Namespace object";
    snprintf(buf, 64, "%s object", jv_type_name(obj));
    return buf;
}

static jv undef_attr(jrender *r, jv obj, const char *name)
{
    char buf[64];
    return jundef(r, "'%s' has no attribute '%.100s'", type_repr(obj, buf), name);
}

static jv undef_elem(jrender *r, jv obj, jv key)
{
    char buf[64];
    jbuf b;
    jbuf_init_charged(&b, 200, &r->heap);
    jv_write_repr(&b, key);
    jv u = jundef(r, "%s has no element %s", type_repr(obj, buf), b.p ? b.p : "?");
    jbuf_free(&b);
    return u;
}

/* ------------------------------------------------------------------------
 * Arguments
 * ---------------------------------------------------------------------- */

void jargs_release(jargs *a)
{
    for (size_t i = 0; i < a->npos; i++) jv_release(a->pos[i]);
    for (size_t i = 0; i < a->nkw; i++) jv_release(a->kw[i]);
    a->npos = a->nkw = 0;
}

bool jargs_bind(jrender *r, const jargs *a, const char *fname, const char *const *params,
                size_t nparams, size_t nreq, jv *slots)
{
    jv missing = jv_undef();
    missing.flags = JV_MISSING;
    for (size_t i = 0; i < nparams; i++) slots[i] = missing;
    if (a->npos > nparams)
        return jfail(r, a->at, "%s() takes at most %zu argument(s) (%zu given)", fname, nparams, a->npos);
    for (size_t i = 0; i < a->npos; i++) slots[i] = a->pos[i];
    for (size_t k = 0; k < a->nkw; k++) {
        size_t i = 0;
        while (i < nparams && strcmp(params[i], a->kwname[k]) != 0) i++;
        if (i == nparams)
            return jfail(r, a->at, "%s() got an unexpected keyword argument '%s'", fname, a->kwname[k]);
        if (!jv_missing(slots[i]))
            return jfail(r, a->at, "%s() got multiple values for argument '%s'", fname, a->kwname[k]);
        slots[i] = a->kw[k];
    }
    for (size_t i = 0; i < nreq; i++)
        if (jv_missing(slots[i]))
            return jfail(r, a->at, "%s() missing required argument '%s'", fname, params[i]);
    return true;
}

static bool push_pos(jrender *r, jargs *a, jv v)
{
    if (a->npos >= JARGS_MAX) {
        jv_release(v);
        return jfail(r, a->at, "too many arguments (at most %d)", JARGS_MAX);
    }
    a->pos[a->npos++] = v;
    return true;
}

static bool push_kw(jrender *r, jargs *a, const char *name, jv v)
{
    if (a->nkw >= JARGS_MAX) {
        jv_release(v);
        return jfail(r, a->at, "too many keyword arguments (at most %d)", JARGS_MAX);
    }
    a->kwname[a->nkw] = name;
    a->kw[a->nkw++] = v;
    return true;
}

/* Evaluate the arguments of a call, filter or test node: items are
 * positional, items2 keyword (names), b is *args and c is **kwargs. */
static bool eval_args(jrender *r, const jnode *n, jargs *a)
{
    a->at = n;
    a->npos = a->nkw = 0;
    for (size_t i = 0; i < n->items.n; i++) {
        jv v;
        if (!jeval(r, n->items.v[i], &v) || !push_pos(r, a, v)) return false;
    }
    if (n->b) {
        jv v, l;
        if (!jeval(r, n->b, &v) || !jiter_list(r, n->b, v, &l)) return false;
        for (size_t i = 0; i < jv_list(l)->n; i++)
            if (!push_pos(r, a, jv_retain(jv_list(l)->items[i]))) return false;
        jv_release(l);
        jv_release(v);
    }
    for (size_t i = 0; i < n->items2.n; i++) {
        jv v;
        if (!jeval(r, n->items2.v[i], &v) || !push_kw(r, a, n->names[i], v)) return false;
    }
    if (n->c) {
        jv v;
        if (!jeval(r, n->c, &v)) return false;
        if (v.type != JT_DICT) return jfail(r, n->c, "argument after ** must be a mapping, not %s", jv_type_name(v));
        jdict *d = jv_dict(v);
        for (size_t i = 0; i < d->n; i++) {
            if (d->keys[i].type != JT_STR) return jfail(r, n->c, "keywords must be strings");
            /* the dict stays alive in the arguments' values' owner: keep v */
            if (!push_kw(r, a, jv_str(d->keys[i])->s, jv_retain(d->vals[i]))) return false;
        }
        /* v is intentionally not released: kwname points into its keys and it
         * is freed with the render's heap */
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Attributes, items, calls
 * ---------------------------------------------------------------------- */

static bool method_value(jrender *r, const jnode *at, jv obj, const jmethod_def *def, jv *out)
{
    if (def->mutates && !r->opt->allow_mutation) {
        /* jinja2's ImmutableSandboxedEnvironment: an undefined that raises
         * SecurityError when used */
        *out = jundef(r, "access to attribute '%s' of '%s' object is unsafe.", def->name, jv_type_name(obj));
        return true;
    }
    jmethod *m = jheap_new(&r->heap, JK_METHOD, sizeof(jmethod));
    if (!m) return jfail_oom(r, at);
    m->self = jv_retain(obj);
    m->def = def;
    *out = jv_obj(JT_METHOD, m);
    return true;
}

bool jgetattr(jrender *r, const jnode *at, jv obj, const char *name, jv *out)
{
    switch ((jtype)obj.type) {
    case JT_UNDEF: return jfail_undef(r, at, obj);
    case JT_LOOP: return jloop_getattr(r, at, (jloop *)obj.u.o, name, out);
    case JT_NS: {
        jv *v = jdict_get_cstr(jv_dict(obj), name);
        *out = v ? jv_retain(*v) : undef_attr(r, obj, name);
        return true;
    }
    case JT_DICT: case JT_STR: case JT_LIST: {
        const jmethod_def *def = jmethod_find(obj, name);
        if (def) return method_value(r, at, obj, def, out);
        if (obj.type == JT_DICT) {
            jv *v = jdict_get_cstr(jv_dict(obj), name);
            if (v) {
                *out = jv_retain(*v);
                return true;
            }
        }
        *out = undef_attr(r, obj, name);
        return true;
    }
    default:
        *out = undef_attr(r, obj, name);
        return true;
    }
}

bool jgetitem(jrender *r, const jnode *at, jv obj, jv key, jv *out)
{
    switch ((jtype)obj.type) {
    case JT_UNDEF: return jfail_undef(r, at, obj);
    case JT_DICT:
        if (jv_hashable(key)) {
            long e = jdict_find(jv_dict(obj), key);
            if (e >= 0) {
                *out = jv_retain(jv_dict(obj)->vals[e]);
                return true;
            }
        }
        break;
    case JT_LIST:
        if (jv_list(obj)->form != JL_GEN && jv_is_intlike(key)) {
            size_t i;
            if (jindex(key.u.i, jv_list(obj)->n, &i)) {
                *out = jv_retain(jv_list(obj)->items[i]);
                return true;
            }
            *out = undef_elem(r, obj, key);
            return true;
        }
        break;
    case JT_STR:
        if (jv_is_intlike(key)) {
            jstr *s = jv_str(obj);
            size_t i;
            if (jindex(key.u.i, jstr_ncp(s), &i)) {
                size_t b = u8_offset(s->s, s->len, i);
                size_t e = u8_offset(s->s + b, s->len - b, 1) + b;
                if (!jwork(r, at, b)) return false; /* the walk to character i */
                if (!jstr_new(&r->heap, s->s + b, e - b, out)) return jfail_oom(r, at);
                return true;
            }
            *out = undef_elem(r, obj, key);
            return true;
        }
        break;
    default: break;
    }
    if (key.type == JT_STR) return jgetattr(r, at, obj, jv_str(key)->s, out);
    *out = undef_elem(r, obj, key);
    return true;
}

bool jcall(jrender *r, const jnode *at, jv callee, jargs *a, jv *out)
{
    switch ((jtype)callee.type) {
    case JT_MACRO: return jcall_macro(r, at, (jmacro *)callee.u.o, a, out);
    case JT_FUNC: return callee.u.fn->call(r, a, out);
    case JT_METHOD: {
        jmethod *m = (jmethod *)callee.u.o;
        return jwork_given(r, at, m->self, a) && m->def->call(r, m->self, a, out);
    }
    case JT_UNDEF: return jfail_undef(r, at, callee);
    case JT_LOOP: return jloop_call(r, at, (jloop *)callee.u.o, a, out);
    default: return jfail(r, at, "'%s' object is not callable", jv_type_name(callee));
    }
}

bool jiter_list(jrender *r, const jnode *at, jv v, jv *out)
{
    switch ((jtype)v.type) {
    case JT_UNDEF:
        if (!jlist_new(&r->heap, JL_LIST, 0, out)) return jfail_oom(r, at);
        return true;
    case JT_LIST: {
        jlist *l = jv_list(v);
        if (l->form != JL_GEN) {
            *out = jv_retain(v);
            return true;
        }
        /* a generator runs once: hand its items over and leave it empty */
        if (!jlist_new(&r->heap, JL_LIST, 0, out)) return jfail_oom(r, at);
        jlist *dst = jv_list(*out);
        dst->items = l->items;
        dst->n = l->n;
        dst->cap = l->cap;
        l->items = NULL;
        l->n = l->cap = 0;
        return true;
    }
    case JT_DICT: {
        jdict *d = jv_dict(v);
        if (!jlist_new(&r->heap, JL_LIST, d->n, out)) return jfail_oom(r, at);
        for (size_t i = 0; i < d->n; i++) jlist_push(jv_list(*out), d->keys[i]);
        return true;
    }
    case JT_STR: {
        jstr *s = jv_str(v);
        if (!jlist_new(&r->heap, JL_LIST, jstr_ncp(s), out)) return jfail_oom(r, at);
        for (size_t i = 0; i < s->len;) {
            size_t k = u8_offset(s->s + i, s->len - i, 1);
            jv c;
            if (!jstr_new(&r->heap, s->s + i, k, &c) || !jlist_push(jv_list(*out), c)) return jfail_oom(r, at);
            jv_release(c);
            i += k;
        }
        return true;
    }
    default:
        return jfail(r, at, "'%s' object is not iterable", jv_type_name(v));
    }
}

/* ------------------------------------------------------------------------
 * Expressions
 * ---------------------------------------------------------------------- */

__attribute__((noinline)) static bool eval_seq(jrender *r, const jnode *n, jv *out)
{
    if (!jlist_new(&r->heap, n->kind == N_TUPLE ? JL_TUPLE : JL_LIST, n->items.n, out)) return jfail_oom(r, n);
    for (size_t i = 0; i < n->items.n; i++) {
        jv v;
        if (!jeval(r, n->items.v[i], &v)) return false;
        if (!jlist_push(jv_list(*out), v)) return jfail_oom(r, n);
        jv_release(v);
    }
    return true;
}

__attribute__((noinline)) static bool eval_dict(jrender *r, const jnode *n, jv *out)
{
    if (!jdict_new(&r->heap, out)) return jfail_oom(r, n);
    for (size_t i = 0; i < n->items.n; i++) {
        jv k, v;
        if (!jeval(r, n->items.v[i], &k) || !jeval(r, n->items2.v[i], &v)) return false;
        if (!jv_hashable(k)) return jfail(r, n->items.v[i], "unhashable type: '%s'", jv_type_name(k));
        if (!jdict_set(jv_dict(*out), k, v)) return jfail_oom(r, n);
        jv_release(k);
        jv_release(v);
    }
    return true;
}

__attribute__((noinline)) static bool eval_getitem(jrender *r, const jnode *n, jv *out)
{
    jv obj;
    if (!jeval(r, n->a, &obj)) return false;
    bool ok;
    if (n->b->kind == N_SLICE) {
        const jnode *s = n->b;
        jv parts[3] = {jv_none(), jv_none(), jv_none()};
        const jnode *pn[3] = {s->a, s->b, s->c};
        for (int i = 0; i < 3; i++)
            if (pn[i] && !jeval(r, pn[i], &parts[i])) return false;
        if (obj.type == JT_UNDEF) return jfail_undef(r, n, obj);
        ok = jslice(r, n, obj, parts[0], parts[1], parts[2], out);
        for (int i = 0; i < 3; i++) jv_release(parts[i]);
    } else {
        jv key;
        if (!jeval(r, n->b, &key)) return false;
        ok = jgetitem(r, n, obj, key, out);
        jv_release(key);
    }
    jv_release(obj);
    return ok;
}

/* not inlined: keeps eval_node's stack frame small for deep recursion */
__attribute__((noinline)) static bool eval_call(jrender *r, const jnode *n, jv *out)
{
    jv callee;
    if (!jeval(r, n->a, &callee)) return false;
    jargs a;
    if (!eval_args(r, n, &a)) return false;
    bool ok = jcall(r, n, callee, &a, out);
    jargs_release(&a);
    jv_release(callee);
    return ok;
}

/* A filter node; a filter block's chain ends in a NULL input (block_input). */
__attribute__((noinline)) static bool eval_filter(jrender *r, const jnode *n, const jv *block_input, jv *out)
{
    jv in;
    if (!n->a) in = jv_retain(*block_input);
    else if (n->a->kind == N_FILTER && block_input) {
        if (!eval_filter(r, n->a, block_input, &in)) return false;
    } else if (!jeval(r, n->a, &in)) return false;
    const jfilter_def *f = n->fn;
    if (!f) return jfail(r, n, "No filter named '%s'.", n->name);
    jargs a;
    if (!eval_args(r, n, &a)) return false;
    bool ok = jwork_given(r, n, in, &a) && f->fn(r, n, in, &a, out);
    jargs_release(&a);
    jv_release(in);
    return ok;
}

bool jeval_filter_block(jrender *r, const jnode *chain, jv input, jv *out)
{
    return eval_filter(r, chain, &input, out);
}

__attribute__((noinline)) static bool eval_test(jrender *r, const jnode *n, jv *out)
{
    jv in;
    if (!jeval(r, n->a, &in)) return false;
    const jtest_def *t = n->fn;
    if (!t) return jfail(r, n, "No test named '%s'.", n->name);
    jargs a;
    if (!eval_args(r, n, &a)) return false;
    bool res = false;
    bool ok = jwork_given(r, n, in, &a) && t->fn(r, n, in, &a, &res);
    jargs_release(&a);
    jv_release(in);
    if (ok) *out = jv_bool(res);
    return ok;
}

__attribute__((noinline)) static bool eval_unary(jrender *r, const jnode *n, jv *out)
{
    jv v;
    if (!jeval(r, n->a, &v)) return false;
    if (v.type == JT_UNDEF) return jfail_undef(r, n, v);
    if (!jv_is_num(v))
        return jfail(r, n, "bad operand type for unary %c: '%s'", n->kind == N_NEG ? '-' : '+', jv_type_name(v));
    if (n->kind == N_POS) *out = v.type == JT_FLOAT ? v : jv_int(v.u.i);
    else if (v.type == JT_FLOAT) *out = jv_float(-v.u.f);
    else if (v.u.i == INT64_MIN) return jfail(r, n, "integer overflow");
    else *out = jv_int(-v.u.i);
    return true;
}

__attribute__((noinline)) static bool eval_compare(jrender *r, const jnode *n, jv *out)
{
    jv left;
    if (!jeval(r, n->a, &left)) return false;
    bool res = true;
    for (size_t i = 0; i < n->items.n && res; i++) {
        jv right;
        if (!jeval(r, n->items.v[i], &right)) return false;
        if (!jcompare(r, n, n->ops[i], left, right, &res)) return false;
        jv_release(left);
        left = right;
    }
    jv_release(left);
    *out = jv_bool(res);
    return true;
}

__attribute__((noinline)) static bool eval_concat(jrender *r, const jnode *n, jv *out)
{
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    for (size_t i = 0; i < n->items.n; i++) {
        jv v;
        if (!jeval(r, n->items.v[i], &v)) {
            jbuf_free(&b);
            return false;
        }
        jv_write_str(&b, v);
        jv_release(v);
    }
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, n);
}

static bool eval_node(jrender *r, const jnode *n, jv *out)
{
    switch ((jnode_kind)n->kind) {
    case N_CONST: *out = jv_retain(n->value); return true;
    case N_NAME: {
        jv *v = jscope_lookup(r->scope, n->name);
        *out = v ? jv_retain(*v) : jundef(r, "'%.100s' is undefined", n->name);
        return true;
    }
    case N_TUPLE: case N_LIST: return eval_seq(r, n, out);
    case N_DICT: return eval_dict(r, n, out);
    case N_GETATTR: {
        jv obj;
        if (!jeval(r, n->a, &obj)) return false;
        bool ok = jgetattr(r, n, obj, n->name, out);
        jv_release(obj);
        return ok;
    }
    case N_GETITEM: return eval_getitem(r, n, out);
    case N_CALL: return eval_call(r, n, out);
    case N_FILTER: return eval_filter(r, n, NULL, out);
    case N_TEST: return eval_test(r, n, out);
    case N_NOT: {
        jv v;
        if (!jeval(r, n->a, &v)) return false;
        *out = jv_bool(!jv_truthy(v));
        jv_release(v);
        return true;
    }
    case N_NEG: case N_POS: return eval_unary(r, n, out);
    case N_BINOP: {
        jv a, b;
        if (!jeval(r, n->a, &a) || !jeval(r, n->b, &b)) return false;
        bool ok = jbinop(r, n, n->op, a, b, out);
        jv_release(a);
        jv_release(b);
        return ok;
    }
    case N_AND: case N_OR: {
        jv a;
        if (!jeval(r, n->a, &a)) return false;
        if (jv_truthy(a) == (n->kind == N_OR)) {
            *out = a;
            return true;
        }
        jv_release(a);
        return jeval(r, n->b, out);
    }
    case N_CONCAT: return eval_concat(r, n, out);
    case N_COMPARE: return eval_compare(r, n, out);
    case N_CONDEXPR: {
        jv t;
        if (!jeval(r, n->a, &t)) return false;
        bool yes = jv_truthy(t);
        jv_release(t);
        if (yes) return jeval(r, n->b, out);
        if (n->c) return jeval(r, n->c, out);
        *out = jundef(r, "the inline if-expression evaluated to false and no else section was defined.");
        return true;
    }
    case N_SLICE: case N_NSREF:
    default:
        return jfail(r, n, "internal error: node %d is not an expression", n->kind);
    }
}

bool jeval(jrender *r, const jnode *n, jv *out)
{
    if (r->failed || !jstep(r, n)) return false;
    if (r->heap.bytes > r->opt->max_memory) return jfail(r, n, "template used too much memory");
    if (++r->depth > JEVAL_DEPTH_MAX) return jfail(r, n, "maximum recursion depth exceeded");
    bool ok = eval_node(r, n, out);
    r->depth--;
    return ok && !r->failed;
}
