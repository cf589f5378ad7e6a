/*
 * exec.c — statements: output, if, for (with jinja2's LoopContext), set,
 * macros and call blocks, filter and set blocks, with; and scopes.
 *
 * Scoping follows what jinja2 compiles to: `if` opens no scope; every
 * iteration of a for loop runs in a fresh scope under the loop's enclosing
 * scope (so `set` inside a loop is gone at the next iteration and after the
 * loop, which is why templates use namespace()); macros run in a scope under
 * the one they were defined in, read at call time.
 */
#include "jinja/interp.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Scopes
 * ---------------------------------------------------------------------- */

jscope *jscope_new(jrender *r, jscope *parent)
{
    jscope *s = jheap_new(&r->heap, JK_SCOPE, sizeof *s);
    if (!s) return NULL;
    jv d;
    if (!jdict_new(&r->heap, &d)) {
        jobj_release(&s->h);
        return NULL;
    }
    s->vars = jv_dict(d);
    s->parent = parent;
    if (parent) parent->h.rc++;
    return s;
}

jv *jscope_lookup(jscope *s, const char *name)
{
    for (; s; s = s->parent) {
        jv *v = jdict_get_cstr(s->vars, name);
        if (v) return v;
    }
    return NULL;
}

bool jscope_set(jrender *r, jscope *s, const char *name, jv v)
{
    (void)r;
    return jdict_set_cstr(s->vars, name, v);
}

/* Bind a value to an assignment target: a name, ns.attr or a tuple of them. */
static bool assign(jrender *r, const jnode *target, jv value)
{
    switch ((jnode_kind)target->kind) {
    case N_NAME:
        return jdict_set(r->scope->vars, target->value, value) || jfail_oom(r, target);
    case N_NSREF: {
        jv *ns = jscope_lookup(r->scope, target->name);
        if (!ns || ns->type != JT_NS)
            return jfail(r, target, "cannot assign attribute on non-namespace object");
        return jdict_set(jv_dict(*ns), target->value, value) || jfail_oom(r, target);
    }
    case N_TUPLE: {
        jv l;
        if (!jiter_list(r, target, value, &l)) return false;
        size_t want = target->items.n, got = jv_list(l)->n;
        if (got < want) return jfail(r, target, "not enough values to unpack (expected %zu, got %zu)", want, got);
        if (got > want) return jfail(r, target, "too many values to unpack (expected %zu)", want);
        for (size_t i = 0; i < want; i++)
            if (!assign(r, target->items.v[i], jv_list(l)->items[i])) return false;
        jv_release(l);
        return true;
    }
    default:
        return jfail(r, target, "can't assign to this expression");
    }
}

bool jcapture(jrender *r, const jnode_list *body, jv *out)
{
    jbuf b;
    jbuf_init_charged(&b, r->opt->max_output, &r->heap);
    jbuf *saved = r->out;
    r->out = &b;
    int ctl = 0;
    bool ok = jexec(r, body, &ctl);
    r->out = saved;
    if (!ok) {
        jbuf_free(&b);
        return false;
    }
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, NULL);
}

/* ------------------------------------------------------------------------
 * Loops
 * ---------------------------------------------------------------------- */

void jloop_free_storage(jobj *o) { (void)o; }

void jloop_release_children(jobj *o)
{
    jloop *lp = (jloop *)o;
    jv_release(lp->items);
    jv_release(lp->ahead);
    jv_release(lp->prev);
    jv_release(lp->cur);
    jv_release(lp->changed);
    if (lp->cond_scope) jobj_release(&lp->cond_scope->h);
    if (lp->outer) jobj_release(&lp->outer->h);
}

/* Next item from the iterated values that passes the loop filter:
 * 1 found, 0 exhausted, -1 error. */
static int loop_fetch(jrender *r, jloop *lp, jv *out)
{
    jlist *items = jv_list(lp->items);
    while (lp->next < items->n) {
        if (!jstep(r, lp->node)) return -1;
        jv it = items->items[lp->next++];
        if (!lp->node->c) {
            *out = jv_retain(it);
            return 1;
        }
        jscope *saved = r->scope;
        r->scope = lp->cond_scope;
        jv t;
        bool ok = assign(r, lp->node->a, it) && jeval(r, lp->node->c, &t);
        r->scope = saved;
        if (!ok) return -1;
        bool pass = jv_truthy(t);
        jv_release(t);
        if (pass) {
            *out = jv_retain(it);
            return 1;
        }
    }
    return 0;
}

static int loop_next(jrender *r, jloop *lp, jv *out)
{
    jlist *ahead = jv_list(lp->ahead);
    if (lp->ahead_pos < ahead->n) {
        *out = jv_retain(ahead->items[lp->ahead_pos++]);
        return 1;
    }
    return loop_fetch(r, lp, out);
}

/* The next item without consuming it (NULL at the end); -1 on error. */
static int loop_peek(jrender *r, jloop *lp, jv **out)
{
    jlist *ahead = jv_list(lp->ahead);
    if (lp->ahead_pos >= ahead->n) {
        jv it;
        int got = loop_fetch(r, lp, &it);
        if (got <= 0) {
            *out = NULL;
            return got;
        }
        bool ok = jlist_push(ahead, it);
        jv_release(it);
        if (!ok) {
            jfail_oom(r, lp->node);
            return -1;
        }
    }
    *out = &ahead->items[lp->ahead_pos];
    return 1;
}

static bool loop_length(jrender *r, jloop *lp, int64_t *len)
{
    jlist *ahead = jv_list(lp->ahead);
    for (;;) {
        jv it;
        int got = loop_fetch(r, lp, &it);
        if (got < 0) return false;
        if (got == 0) break;
        bool ok = jlist_push(ahead, it);
        jv_release(it);
        if (!ok) return jfail_oom(r, lp->node);
    }
    *len = lp->index0 + 1 + (int64_t)(ahead->n - lp->ahead_pos);
    return true;
}

static bool loop_cycle(jrender *r, jv self, jargs *a, jv *out)
{
    jloop *lp = (jloop *)self.u.o;
    if (!a->npos) return jfail(r, a->at, "no items for cycling given");
    *out = jv_retain(a->pos[(size_t)lp->index0 % a->npos]);
    return true;
}

static bool loop_changed(jrender *r, jv self, jargs *a, jv *out)
{
    jloop *lp = (jloop *)self.u.o;
    jv args;
    if (!jlist_new(&r->heap, JL_TUPLE, a->npos, &args)) return jfail_oom(r, a->at);
    for (size_t i = 0; i < a->npos; i++) jlist_push(jv_list(args), a->pos[i]);
    bool changed = !lp->has_changed || !jv_equal(lp->changed, args);
    if (changed) {
        jv_release(lp->changed);
        lp->changed = args;
        lp->has_changed = true;
    } else {
        jv_release(args);
    }
    *out = jv_bool(changed);
    return true;
}

static const jmethod_def loop_methods[] = {
    {"cycle", false, loop_cycle},
    {"changed", false, loop_changed},
};

bool jloop_getattr(jrender *r, const jnode *at, jloop *lp, const char *name, jv *out)
{
    int64_t len = 0;
    jv *next = NULL;
    if (!strcmp(name, "index0")) *out = jv_int(lp->index0);
    else if (!strcmp(name, "index")) *out = jv_int(lp->index0 + 1);
    else if (!strcmp(name, "first")) *out = jv_bool(lp->index0 == 0);
    else if (!strcmp(name, "depth")) *out = jv_int(lp->depth0 + 1);
    else if (!strcmp(name, "depth0")) *out = jv_int(lp->depth0);
    else if (!strcmp(name, "length") || !strcmp(name, "revindex") || !strcmp(name, "revindex0")) {
        if (!loop_length(r, lp, &len)) return false;
        if (name[0] == 'l') *out = jv_int(len);
        else if (!strcmp(name, "revindex")) *out = jv_int(len - lp->index0);
        else *out = jv_int(len - lp->index0 - 1);
    } else if (!strcmp(name, "last") || !strcmp(name, "nextitem")) {
        if (loop_peek(r, lp, &next) < 0) return false;
        if (name[0] == 'l') *out = jv_bool(next == NULL);
        else *out = next ? jv_retain(*next) : jundef(r, "there is no next item");
    } else if (!strcmp(name, "previtem")) {
        *out = lp->index0 == 0 ? jundef(r, "there is no previous item") : jv_retain(lp->prev);
    } else {
        for (size_t i = 0; i < sizeof loop_methods / sizeof loop_methods[0]; i++) {
            if (strcmp(name, loop_methods[i].name)) continue;
            jmethod *m = jheap_new(&r->heap, JK_METHOD, sizeof(jmethod));
            if (!m) return jfail_oom(r, at);
            lp->h.rc++;
            m->self = jv_obj(JT_LOOP, lp);
            m->def = &loop_methods[i];
            *out = jv_obj(JT_METHOD, m);
            return true;
        }
        *out = jundef(r, "'LoopContext object' has no attribute '%.100s'", name);
    }
    return true;
}

/* Run a for loop over seq; depth0 > 0 for a recursive loop's inner calls. */
static bool run_loop(jrender *r, const jnode *n, jv seq, jscope *outer, int depth0)
{
    jv items;
    if (!jiter_list(r, n->b, seq, &items)) return false;
    jloop *lp = jheap_new(&r->heap, JK_LOOP, sizeof(jloop));
    if (!lp) return jfail_oom(r, n);
    lp->items = items;
    lp->node = n;
    lp->index0 = -1;
    lp->depth0 = depth0;
    lp->outer = outer;
    outer->h.rc++;
    if (!jlist_new(&r->heap, JL_LIST, 0, &lp->ahead)) return jfail_oom(r, n);
    if (n->c && !(lp->cond_scope = jscope_new(r, outer))) return jfail_oom(r, n);
    jv loopv = jv_obj(JT_LOOP, lp);
    jv loop_key;
    if (!jstr_cstr(&r->heap, "loop", &loop_key)) return jfail_oom(r, n);
    jscope *it = NULL;
    bool any = false;
    for (;;) {
        jv item;
        int got = loop_next(r, lp, &item);
        if (got < 0) return false;
        if (got == 0) break;
        any = true;
        if (!jstep(r, n)) return false;
        lp->index0++;
        jv_release(lp->prev);
        lp->prev = lp->cur;
        lp->cur = item;
        /* each iteration starts from an empty scope; reuse the last one
         * unless something (a macro defined in the body) kept it */
        if (it && it->h.rc == 1) {
            jdict_clear(it->vars);
        } else {
            if (it) jobj_release(&it->h);
            if (!(it = jscope_new(r, outer))) return jfail_oom(r, n);
        }
        jscope *saved = r->scope;
        r->scope = it;
        int ctl = 0;
        bool ok = jdict_set(it->vars, loop_key, loopv) && assign(r, n->a, item) && jexec(r, &n->body, &ctl);
        r->scope = saved;
        if (!ok) return r->failed ? false : jfail_oom(r, n);
        if (ctl == N_BREAK) break;
    }
    if (it) jobj_release(&it->h);
    jv_release(loop_key);
    jv_release(loopv);
    if (!any) {
        int ctl = 0;
        return jexec(r, &n->else_body, &ctl);
    }
    return true;
}

__attribute__((noinline)) static bool exec_for(jrender *r, const jnode *n)
{
    jv seq;
    if (!jeval(r, n->b, &seq)) return false;
    bool ok = run_loop(r, n, seq, r->scope, 0);
    jv_release(seq);
    return ok;
}

/* loop(children) inside a `for ... recursive` loop: the body rendered again
 * for the new items, one level deeper. */
bool jloop_call(jrender *r, const jnode *at, jloop *lp, jargs *a, jv *out)
{
    if (!(lp->node->flags & JN_RECURSIVE))
        return jfail(r, at, "The loop must have the 'recursive' marker to be called recursively.");
    if (a->npos != 1 || a->nkw) return jfail(r, at, "loop() takes exactly one argument");
    if (r->call_depth >= JCALL_DEPTH_MAX) return jfail(r, at, "maximum recursion depth exceeded");
    jbuf b;
    jbuf_init_charged(&b, r->opt->max_output, &r->heap);
    jbuf *saved = r->out;
    r->out = &b;
    r->call_depth++;
    bool ok = run_loop(r, lp->node, a->pos[0], lp->outer, lp->depth0 + 1);
    r->call_depth--;
    r->out = saved;
    if (!ok) {
        jbuf_free(&b);
        return false;
    }
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

/* ------------------------------------------------------------------------
 * Macros
 * ---------------------------------------------------------------------- */

static bool new_macro(jrender *r, const jnode *n, jv *out)
{
    jmacro *m = jheap_new(&r->heap, JK_MACRO, sizeof(jmacro));
    if (!m) return jfail_oom(r, n);
    m->node = n;
    m->closure = r->scope;
    r->scope->h.rc++;
    m->caller = jv_undef();
    *out = jv_obj(JT_MACRO, m);
    return true;
}

/* Positional, keyword and default arguments of a macro call into scope s. */
static bool bind_macro_args(jrender *r, const jnode *at, const jnode *def, const char *mname, jargs *a,
                            jscope *s)
{
    size_t np = def->nparams;
    bool bound[64] = {false};
    if (a->npos > np && !(def->flags & JN_USES_VARARGS))
        return jfail(r, at, "macro '%s' takes not more than %zu argument(s)", mname, np);
    for (size_t i = 0; i < a->npos && i < np; i++) {
        if (!jscope_set(r, s, def->names[i], a->pos[i])) return jfail_oom(r, at);
        bound[i] = true;
    }
    jv varargs, kwargs;
    if (!jlist_new(&r->heap, JL_TUPLE, 0, &varargs) || !jdict_new(&r->heap, &kwargs)) return jfail_oom(r, at);
    for (size_t i = np; i < a->npos; i++)
        if (!jlist_push(jv_list(varargs), a->pos[i])) return jfail_oom(r, at);
    for (size_t k = 0; k < a->nkw; k++) {
        const char *kn = a->kwname[k];
        size_t i = 0;
        while (i < np && strcmp(def->names[i], kn)) i++;
        if (i < np) {
            if (bound[i]) return jfail(r, at, "macro '%s' got multiple values for argument '%s'", mname, kn);
            if (!jscope_set(r, s, kn, a->kw[k])) return jfail_oom(r, at);
            bound[i] = true;
        } else if (!strcmp(kn, "caller") && (def->flags & JN_USES_CALLER)) {
            if (!jscope_set(r, s, "caller", a->kw[k])) return jfail_oom(r, at);
        } else if (def->flags & JN_USES_KWARGS) {
            if (!jdict_set_cstr(jv_dict(kwargs), kn, a->kw[k])) return jfail_oom(r, at);
        } else {
            return jfail(r, at, "macro '%s' takes no keyword argument '%s'", mname, kn);
        }
    }
    if ((def->flags & JN_USES_VARARGS) && !jscope_set(r, s, "varargs", varargs)) return jfail_oom(r, at);
    if ((def->flags & JN_USES_KWARGS) && !jscope_set(r, s, "kwargs", kwargs)) return jfail_oom(r, at);
    jv_release(varargs);
    jv_release(kwargs);
    if ((def->flags & JN_USES_CALLER) && !jscope_lookup(s, "caller")) {
        jv u = jundef(r, "No caller defined");
        if (!jscope_set(r, s, "caller", u)) return jfail_oom(r, at);
        jv_release(u);
    }
    /* defaults belong to the last parameters and see the earlier ones */
    size_t nd = def->items2.n, first_default = np - nd;
    jscope *saved = r->scope;
    r->scope = s;
    for (size_t i = 0; i < np; i++) {
        if (bound[i]) continue;
        jv v;
        if (i >= first_default) {
            if (!jeval(r, def->items2.v[i - first_default], &v)) {
                r->scope = saved;
                return false;
            }
        } else {
            v = jundef(r, "parameter '%s' was not provided", def->names[i]);
        }
        bool ok = jscope_set(r, s, def->names[i], v);
        jv_release(v);
        if (!ok) {
            r->scope = saved;
            return jfail_oom(r, at);
        }
    }
    r->scope = saved;
    return true;
}

bool jcall_macro(jrender *r, const jnode *at, jmacro *m, jargs *a, jv *out)
{
    const jnode *def = m->node;
    const char *mname = def->kind == N_MACRO ? def->name : "caller";
    if (def->nparams > 64) return jfail(r, at, "macro '%s' has too many parameters", mname);
    if (r->call_depth >= JCALL_DEPTH_MAX) return jfail(r, at, "maximum recursion depth exceeded");
    jscope *s = jscope_new(r, m->closure);
    if (!s) return jfail_oom(r, at);
    if (!bind_macro_args(r, at, def, mname, a, s)) return false;
    jscope *saved = r->scope;
    r->scope = s;
    r->call_depth++;
    bool ok = jcapture(r, &def->body, out);
    r->call_depth--;
    r->scope = saved;
    jobj_release(&s->h);
    return ok;
}

__attribute__((noinline)) static bool exec_call_block(jrender *r, const jnode *n)
{
    const jnode *call = n->a;
    jv callee, caller, result;
    if (!jeval(r, call->a, &callee)) return false;
    jargs a = {.at = call};
    for (size_t i = 0; i < call->items.n; i++) {
        if (a.npos >= JARGS_MAX) return jfail(r, call, "too many arguments");
        if (!jeval(r, call->items.v[i], &a.pos[a.npos])) return false;
        a.npos++;
    }
    for (size_t i = 0; i < call->items2.n; i++) {
        if (a.nkw + 1 >= JARGS_MAX) return jfail(r, call, "too many keyword arguments");
        if (!jeval(r, call->items2.v[i], &a.kw[a.nkw])) return false;
        a.kwname[a.nkw++] = call->names[i];
    }
    if (!new_macro(r, n, &caller)) return false;
    a.kwname[a.nkw] = "caller";
    a.kw[a.nkw++] = caller;
    bool ok = jcall(r, call, callee, &a, &result);
    jargs_release(&a);
    jv_release(callee);
    if (!ok) return false;
    jv_write_str(r->out, result);
    jv_release(result);
    return true;
}

/* ------------------------------------------------------------------------
 * Statements
 * ---------------------------------------------------------------------- */

/* Run body in a fresh scope under the current one. */
__attribute__((noinline)) static bool exec_scoped(jrender *r, const jnode *n, const jnode_list *body, int *ctl)
{
    jscope *outer = r->scope;
    jscope *s = jscope_new(r, outer);
    if (!s) return jfail_oom(r, n);
    r->scope = s;
    bool ok = jexec(r, body, ctl);
    r->scope = outer;
    jobj_release(&s->h);
    return ok;
}

__attribute__((noinline)) static bool exec_with(jrender *r, const jnode *n, int *ctl)
{
    jscope *outer = r->scope;
    jscope *s = jscope_new(r, outer);
    if (!s) return jfail_oom(r, n);
    /* values are computed in the enclosing scope, then bound */
    for (size_t i = 0; i < n->items.n; i++) {
        jv v;
        if (!jeval(r, n->items2.v[i], &v)) return false;
        r->scope = s;
        bool ok = assign(r, n->items.v[i], v);
        r->scope = outer;
        jv_release(v);
        if (!ok) return false;
    }
    r->scope = s;
    bool ok = jexec(r, &n->body, ctl);
    r->scope = outer;
    jobj_release(&s->h);
    return ok;
}

static bool exec_node(jrender *r, const jnode *n, int *ctl)
{
    jv v, s;
    switch ((jnode_kind)n->kind) {
    case N_TEXT:
        jbuf_put(r->out, n->text, n->len);
        break;
    case N_OUTPUT:
        if (n->a) {
            if (!jeval(r, n->a, &v)) return false;
            jv_write_str(r->out, v);
            jv_release(v);
        }
        for (size_t i = 0; i < n->items.n; i++) { /* {% print a, b %} */
            if (!jeval(r, n->items.v[i], &v)) return false;
            jv_write_str(r->out, v);
            jv_release(v);
        }
        break;
    case N_IF: {
        if (!jeval(r, n->a, &v)) return false;
        bool yes = jv_truthy(v);
        jv_release(v);
        return jexec(r, yes ? &n->body : &n->else_body, ctl);
    }
    case N_FOR: return exec_for(r, n);
    case N_SET: {
        if (!jeval(r, n->b, &v)) return false;
        bool ok = assign(r, n->a, v);
        jv_release(v);
        return ok;
    }
    case N_SET_BLOCK: {
        if (!jcapture(r, &n->body, &s)) return false;
        if (n->c) {
            bool ok = jeval_filter_block(r, n->c, s, &v);
            jv_release(s);
            if (!ok) return false;
            s = v;
        }
        bool ok = assign(r, n->a, s);
        jv_release(s);
        return ok;
    }
    case N_FILTER_BLOCK: {
        if (!jcapture(r, &n->body, &s)) return false;
        bool ok = jeval_filter_block(r, n->c, s, &v);
        jv_release(s);
        if (!ok) return false;
        jv_write_str(r->out, v);
        jv_release(v);
        break;
    }
    case N_MACRO: {
        if (!new_macro(r, n, &v)) return false;
        bool ok = jscope_set(r, r->scope, n->name, v);
        jv_release(v);
        return ok || jfail_oom(r, n);
    }
    case N_CALL_BLOCK: return exec_call_block(r, n);
    case N_BREAK: case N_CONTINUE: *ctl = n->kind; return true;
    case N_WITH: return exec_with(r, n, ctl);
    case N_SCOPE: return exec_scoped(r, n, &n->body, ctl);
    default: return jfail(r, n, "internal error: node %d is not a statement", n->kind);
    }
    if (r->out->failed) {
        /* past max_output, or the memory or work the buffer is charged to */
        if (jheap_spent(&r->heap) || r->heap.refused) return jfail_oom(r, n);
        return jfail(r, n, "output too large");
    }
    return true;
}

bool jexec(jrender *r, const jnode_list *body, int *ctl)
{
    for (size_t i = 0; i < body->n; i++) {
        const jnode *n = body->v[i];
        if (r->failed || !jstep(r, n)) return false;
        if (++r->depth > JEVAL_DEPTH_MAX) return jfail(r, n, "maximum recursion depth exceeded");
        bool ok = exec_node(r, n, ctl);
        r->depth--;
        if (!ok) return false;
        if (*ctl) return true;
    }
    return true;
}
