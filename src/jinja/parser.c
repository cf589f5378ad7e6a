/*
 * parser.c — statements (if, for, set, macro, call, filter, with, break,
 * continue, HF's generation) and the helpers both parser files share.
 *
 * Like jinja2, a block body is parsed until one of its end tags appears right
 * after a `{%`; the parser then sits on that name. Unknown tags and a missing
 * end tag are reported with the tags jinja2 would have expected.
 */
#include "jinja/interp.h"
#include "jinja/parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

bool p_is_name(const jtok *t, const char *name)
{
    size_t n = strlen(name);
    return t->kind == TK_NAME && t->len == n && memcmp(t->text, name, n) == 0;
}

bool p_skip_name(parser *p, const char *name)
{
    if (!p_is_name(p_cur(p), name)) return false;
    p_next(p);
    return true;
}

bool p_skip(parser *p, jtok_kind kind)
{
    if (p_cur(p)->kind != kind) return false;
    p_next(p);
    return true;
}

void *p_fail(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed) return NULL;
    p->failed = true;
    p->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

static const char *kind_text(jtok_kind k)
{
    switch (k) {
    case TK_EOF: return "end of template";
    case TK_DATA: return "template data";
    case TK_VAR_BEGIN: return "begin of print statement";
    case TK_VAR_END: return "end of print statement";
    case TK_BLOCK_BEGIN: return "begin of statement block";
    case TK_BLOCK_END: return "end of statement block";
    case TK_NAME: return "name";
    case TK_STRING: return "string";
    case TK_INT: return "integer";
    case TK_FLOAT: return "float";
    case TK_ADD: return "+";
    case TK_SUB: return "-";
    case TK_MUL: return "*";
    case TK_DIV: return "/";
    case TK_FLOORDIV: return "//";
    case TK_MOD: return "%";
    case TK_POW: return "**";
    case TK_TILDE: return "~";
    case TK_LBRACKET: return "[";
    case TK_RBRACKET: return "]";
    case TK_LPAREN: return "(";
    case TK_RPAREN: return ")";
    case TK_LBRACE: return "{";
    case TK_RBRACE: return "}";
    case TK_EQ: return "==";
    case TK_NE: return "!=";
    case TK_GT: return ">";
    case TK_GTEQ: return ">=";
    case TK_LT: return "<";
    case TK_LTEQ: return "<=";
    case TK_ASSIGN: return "=";
    case TK_DOT: return ".";
    case TK_COLON: return ":";
    case TK_PIPE: return "|";
    case TK_COMMA: return ",";
    case TK_SEMICOLON: return ";";
    }
    return "?";
}

const char *p_describe(const jtok *t, char buf[64])
{
    if (t->kind == TK_NAME) {
        size_t n = t->len < 63 ? t->len : 63;
        memcpy(buf, t->text, n);
        buf[n] = '\0';
        return buf;
    }
    return kind_text((jtok_kind)t->kind);
}

bool p_expect(parser *p, jtok_kind kind)
{
    if (p->failed) return false;
    jtok *t = p_cur(p);
    if (t->kind == kind) {
        p_next(p);
        return true;
    }
    char buf[64];
    if (t->kind == TK_EOF)
        p_fail(p, t->pos, "unexpected end of template, expected '%s'", kind_text(kind));
    else
        p_fail(p, t->pos, "expected token '%s', got '%s'", kind_text(kind), p_describe(t, buf));
    return false;
}

jnode *p_node(parser *p, jnode_kind kind, size_t pos)
{
    if (p->failed) return NULL;
    jnode *n = jarena_alloc(&p->t->arena, sizeof *n);
    if (!n) return p_fail(p, pos, "out of memory");
    n->kind = (uint8_t)kind;
    n->pos = (uint32_t)pos;
    return n;
}

char *p_strdup(parser *p, const char *s, size_t n)
{
    char *r = jarena_strdup(&p->t->arena, s, n);
    if (!r) p_fail(p, 0, "out of memory");
    return r;
}

bool nvec_push(parser *p, nvec *v, jnode *n)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        jnode **nv = jarena_alloc(&p->t->arena, cap * sizeof *nv);
        if (!nv) return p_fail(p, n->pos, "out of memory") != NULL;
        if (v->n) memcpy(nv, v->v, v->n * sizeof *nv);
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = n;
    return true;
}

jnode_list nvec_list(nvec *v)
{
    jnode_list l = {v->v, v->n};
    return l;
}

/* ------------------------------------------------------------------------
 * Block bodies
 * ---------------------------------------------------------------------- */

static bool subparse(parser *p, const char *const *end_names, jnode_list *out);
static jnode *parse_statement(parser *p);

/* "'endfor' or 'else'" */
static void names_text(const char *const *names, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s'%s'", i ? " or " : "", names[i]);
    }
}

static void *fail_tag(parser *p, const jtok *t, const char *name)
{
    char msg[240] = "";
    if (name) snprintf(msg, sizeof msg, "Encountered unknown tag '%s'.", name);
    else snprintf(msg, sizeof msg, "Unexpected end of template.");
    if (p->n_end) {
        char want[120];
        names_text(p->end_stack[p->n_end - 1], want, sizeof want);
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, " Jinja was looking for the following tags: %s.", want);
    }
    if (p->n_tag) {
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, " The innermost block that needs to be closed is '%s'.",
                 p->tag_stack[p->n_tag - 1]);
    }
    return p_fail(p, t->pos, "%s", msg);
}

/* The body of a block up to one of end_names; with drop_needle the end name
 * is consumed (the caller then expects the block end). */
static bool parse_statements(parser *p, const char *const *end_names, bool drop_needle, jnode_list *out)
{
    p_skip(p, TK_COLON);
    if (!p_expect(p, TK_BLOCK_END)) return false;
    if (!subparse(p, end_names, out)) return false;
    if (p_cur(p)->kind == TK_EOF) {
        if (p->n_end < JPARSE_END_STACK) p->end_stack[p->n_end++] = end_names;
        fail_tag(p, p_cur(p), NULL);
        return false;
    }
    if (drop_needle) p_next(p);
    return true;
}

static bool subparse(parser *p, const char *const *end_names, jnode_list *out)
{
    nvec body = {0};
    if (end_names) {
        if (p->n_end >= JPARSE_END_STACK) return p_fail(p, p_cur(p)->pos, "blocks nested too deeply");
        p->end_stack[p->n_end++] = end_names;
    }
    while (!p->failed && p_cur(p)->kind != TK_EOF) {
        jtok *t = p_cur(p);
        if (t->kind == TK_DATA) {
            jnode *n = p_node(p, N_TEXT, t->pos);
            if (!n) return false;
            n->text = t->text;
            n->len = t->len;
            if (!nvec_push(p, &body, n)) return false;
            p_next(p);
        } else if (t->kind == TK_VAR_BEGIN) {
            p_next(p);
            jnode *n = p_node(p, N_OUTPUT, t->pos);
            if (!n || !(n->a = parse_tuple(p, false, true, NULL, false, false))) return false;
            if (!p_expect(p, TK_VAR_END) || !nvec_push(p, &body, n)) return false;
        } else if (t->kind == TK_BLOCK_BEGIN) {
            p_next(p);
            bool at_end = false;
            for (size_t k = 0; end_names && end_names[k]; k++) at_end |= p_is_name(p_cur(p), end_names[k]);
            if (at_end) break;
            jnode *n = parse_statement(p);
            if (!n || !p_expect(p, TK_BLOCK_END)) return false;
            if (n->kind != N_SCOPE || n->body.n) /* skip empty no-op statements */
                if (!nvec_push(p, &body, n)) return false;
        } else {
            return p_fail(p, t->pos, "internal parsing error") != NULL;
        }
    }
    if (end_names) p->n_end--;
    *out = nvec_list(&body);
    return !p->failed;
}

/* ------------------------------------------------------------------------
 * Statements
 * ---------------------------------------------------------------------- */

static const char *const END_FOR[] = {"endfor", "else", NULL};
static const char *const END_FOR_ELSE[] = {"endfor", NULL};
static const char *const END_IF[] = {"elif", "else", "endif", NULL};
static const char *const END_IF_ELSE[] = {"endif", NULL};
static const char *const END_SET[] = {"endset", NULL};
static const char *const END_MACRO[] = {"endmacro", NULL};
static const char *const END_CALL[] = {"endcall", NULL};
static const char *const END_FILTER[] = {"endfilter", NULL};
static const char *const END_WITH[] = {"endwith", NULL};
static const char *const END_GENERATION[] = {"endgeneration", NULL};
static const char *const END_IN[] = {"in", NULL};
static const char *const END_RECURSIVE[] = {"recursive", NULL};

static bool can_assign(const jnode *n)
{
    if (n->kind == N_NAME || n->kind == N_NSREF) return true;
    if (n->kind != N_TUPLE) return false;
    for (size_t i = 0; i < n->items.n; i++)
        if (!can_assign(n->items.v[i])) return false;
    return true;
}

static jnode *assign_target(parser *p, const char *const *extra_end, bool with_namespace)
{
    size_t pos = p_cur(p)->pos;
    jnode *t = parse_tuple(p, true, true, extra_end, false, with_namespace);
    if (!t) return NULL;
    if (!can_assign(t))
        return p_fail(p, pos, "can't assign to '%s'", t->kind == N_CONST ? "const" : "expression");
    return t;
}

static jnode *parse_for(parser *p, size_t pos)
{
    jnode *n = p_node(p, N_FOR, pos);
    if (!n || !(n->a = assign_target(p, END_IN, false))) return NULL;
    if (!p_is_name(p_cur(p), "in")) {
        char buf[64];
        return p_fail(p, p_cur(p)->pos, "expected token 'in', got '%s'", p_describe(p_cur(p), buf));
    }
    p_next(p);
    if (!(n->b = parse_tuple(p, false, false, END_RECURSIVE, false, false))) return NULL;
    if (p_skip_name(p, "if") && !(n->c = parse_expression(p, true))) return NULL;
    if (p_skip_name(p, "recursive")) n->flags |= JN_RECURSIVE;
    p->loop_depth++;
    if (!parse_statements(p, END_FOR, false, &n->body)) return NULL;
    p->loop_depth--;
    bool has_else = p_is_name(p_cur(p), "else");
    p_next(p);
    if (has_else && !parse_statements(p, END_FOR_ELSE, true, &n->else_body)) return NULL;
    return n;
}

static jnode *parse_if(parser *p, size_t pos)
{
    jnode *result = p_node(p, N_IF, pos);
    jnode *node = result;
    while (node) {
        if (!(node->a = parse_tuple(p, false, false, NULL, false, false))) return NULL;
        if (!parse_statements(p, END_IF, false, &node->body)) return NULL;
        jtok *t = p_cur(p);
        p_next(p);
        if (p_is_name(t, "elif")) {
            jnode *elif = p_node(p, N_IF, p_cur(p)->pos);
            if (!elif) return NULL;
            jnode **slot = jarena_alloc(&p->t->arena, sizeof *slot);
            if (!slot) return p_fail(p, t->pos, "out of memory");
            slot[0] = elif;
            node->else_body.v = slot;
            node->else_body.n = 1;
            node = elif;
            continue;
        }
        if (p_is_name(t, "else") && !parse_statements(p, END_IF_ELSE, true, &node->else_body)) return NULL;
        break;
    }
    return result;
}

/* (a, b=default, ...) of a macro or call block */
static bool parse_signature(parser *p, jnode *n)
{
    if (!p_expect(p, TK_LPAREN)) return false;
    const char *names[64];
    nvec defaults = {0};
    while (p_cur(p)->kind != TK_RPAREN) {
        if (n->nparams && !p_expect(p, TK_COMMA)) return false;
        jtok *t = p_cur(p);
        if (!p_expect(p, TK_NAME)) return false;
        if (n->nparams >= sizeof names / sizeof names[0]) return p_fail(p, t->pos, "too many parameters");
        if (!(names[n->nparams++] = p_strdup(p, t->text, t->len))) return false;
        if (p_skip(p, TK_ASSIGN)) {
            jnode *d = parse_expression(p, true);
            if (!d || !nvec_push(p, &defaults, d)) return false;
        } else if (defaults.n) {
            return p_fail(p, t->pos, "non-default argument follows default argument") != NULL;
        }
    }
    if (!p_expect(p, TK_RPAREN)) return false;
    n->items2 = nvec_list(&defaults);
    if (n->nparams) {
        n->names = jarena_alloc(&p->t->arena, n->nparams * sizeof(char *));
        if (!n->names) return p_fail(p, n->pos, "out of memory") != NULL;
        memcpy(n->names, names, n->nparams * sizeof(char *));
    }
    return true;
}

/* Body of a macro or call block: its own loop depth and name-use flags. */
static bool parse_callable_body(parser *p, jnode *n, const char *const *end)
{
    jnode *outer_macro = p->macro;
    int outer_loops = p->loop_depth;
    p->macro = n;
    p->loop_depth = 0;
    bool ok = parse_statements(p, end, true, &n->body);
    p->macro = outer_macro;
    p->loop_depth = outer_loops;
    return ok;
}

static jnode *parse_macro(parser *p, size_t pos)
{
    jnode *n = p_node(p, N_MACRO, pos);
    jtok *t = p_cur(p);
    if (!n || !p_expect(p, TK_NAME) || !(n->name = p_strdup(p, t->text, t->len))) return NULL;
    if (!parse_signature(p, n) || !parse_callable_body(p, n, END_MACRO)) return NULL;
    return n;
}

static jnode *parse_call_block(parser *p, size_t pos)
{
    jnode *n = p_node(p, N_CALL_BLOCK, pos);
    if (!n) return NULL;
    n->name = "caller";
    if (p_cur(p)->kind == TK_LPAREN && !parse_signature(p, n)) return NULL;
    if (!(n->a = parse_expression(p, true))) return NULL;
    if (n->a->kind != N_CALL) return p_fail(p, pos, "expected call");
    if (!parse_callable_body(p, n, END_CALL)) return NULL;
    return n;
}

static jnode *parse_set(parser *p, size_t pos)
{
    jnode *target = assign_target(p, NULL, true);
    if (!target) return NULL;
    if (p_skip(p, TK_ASSIGN)) {
        jnode *n = p_node(p, N_SET, pos);
        if (!n) return NULL;
        n->a = target;
        n->b = parse_tuple(p, false, true, NULL, false, false);
        return n->b ? n : NULL;
    }
    jnode *n = p_node(p, N_SET_BLOCK, pos);
    if (!n) return NULL;
    n->a = target;
    if (p_cur(p)->kind == TK_PIPE && !(n->c = parse_filter(p, NULL, false))) return NULL;
    if (!parse_statements(p, END_SET, true, &n->body)) return NULL;
    return n;
}

static jnode *parse_with(parser *p, size_t pos)
{
    jnode *n = p_node(p, N_WITH, pos);
    if (!n) return NULL;
    nvec targets = {0}, values = {0};
    while (p_cur(p)->kind != TK_BLOCK_END) {
        if (targets.n && !p_expect(p, TK_COMMA)) return NULL;
        jnode *t = assign_target(p, NULL, false);
        if (!t || !p_expect(p, TK_ASSIGN) || !nvec_push(p, &targets, t)) return NULL;
        jnode *v = parse_expression(p, true);
        if (!v || !nvec_push(p, &values, v)) return NULL;
    }
    n->items = nvec_list(&targets);
    n->items2 = nvec_list(&values);
    return parse_statements(p, END_WITH, true, &n->body) ? n : NULL;
}

static jnode *parse_statement(parser *p)
{
    jtok *t = p_cur(p);
    size_t pos = t->pos;
    if (t->kind != TK_NAME) return p_fail(p, pos, "tag name expected");
    if (++p->depth > JPARSE_DEPTH_MAX) return p_fail(p, pos, "blocks nested too deeply");
    char name[32];
    size_t len = t->len < sizeof name - 1 ? t->len : sizeof name - 1;
    memcpy(name, t->text, len);
    name[len] = '\0';
    if (p->n_tag >= JPARSE_END_STACK) return p_fail(p, pos, "blocks nested too deeply");
    p->tag_stack[p->n_tag++] = p_strdup(p, name, len);
    p_next(p);
    jnode *n = NULL;
    if (!strcmp(name, "for")) n = parse_for(p, pos);
    else if (!strcmp(name, "if")) n = parse_if(p, pos);
    else if (!strcmp(name, "set")) n = parse_set(p, pos);
    else if (!strcmp(name, "macro")) n = parse_macro(p, pos);
    else if (!strcmp(name, "call")) n = parse_call_block(p, pos);
    else if (!strcmp(name, "with")) n = parse_with(p, pos);
    else if (!strcmp(name, "filter")) {
        n = p_node(p, N_FILTER_BLOCK, pos);
        if (n && !(n->c = parse_filter(p, NULL, true))) n = NULL;
        if (n && !parse_statements(p, END_FILTER, true, &n->body)) n = NULL;
    } else if (!strcmp(name, "generation")) {
        /* HF's AssistantTracker: renders its body unchanged */
        n = p_node(p, N_SCOPE, pos);
        if (n && !parse_statements(p, END_GENERATION, true, &n->body)) n = NULL;
    } else if (!strcmp(name, "print")) {
        /* {% print a, b %} writes each expression */
        n = p_node(p, N_OUTPUT, pos);
        nvec exprs = {0};
        while (n && p_cur(p)->kind != TK_BLOCK_END) {
            if (exprs.n && !p_expect(p, TK_COMMA)) return NULL;
            jnode *x = parse_expression(p, true);
            if (!x || !nvec_push(p, &exprs, x)) return NULL;
        }
        if (n) n->items = nvec_list(&exprs);
    } else if (!strcmp(name, "break") || !strcmp(name, "continue")) {
        if (!p->loop_depth) return p_fail(p, pos, "'%s' outside loop", name);
        n = p_node(p, name[0] == 'b' ? N_BREAK : N_CONTINUE, pos);
    } else {
        p->n_tag--;
        return fail_tag(p, t, name);
    }
    p->n_tag--;
    p->depth--;
    return n;
}

/* ------------------------------------------------------------------------
 * Entry
 * ---------------------------------------------------------------------- */

bool jinja_parse(jtemplate *t, jheap *h, const char *src, size_t len, jsyntax_error *err)
{
    memset(t, 0, sizeof *t);
    parser p = {.t = t, .heap = h, .err = err};
    t->src = jinja_normalize(&t->arena, src, len, &t->len);
    if (!t->src) {
        err->pos = 0;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    if (!jinja_lex(&t->arena, t->src, t->len, &p.toks, err)) return false;
    if (!subparse(&p, NULL, &t->body)) return false;
    return true;
}

void jinja_template_free(jtemplate *t)
{
    jarena_free(&t->arena);
    memset(t, 0, sizeof *t);
}
