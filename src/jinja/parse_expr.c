/*
 * parse_expr.c — expressions, with jinja2's grammar and precedence:
 *
 *   condexpr  := or ('if' or ['else' condexpr])*
 *   or        := and ('or' and)*          and := not ('and' not)*
 *   not       := 'not' not | compare
 *   compare   := math1 (cmpop math1 | 'in' math1 | 'not' 'in' math1)*
 *   math1     := concat (('+'|'-') concat)*
 *   concat    := math2 ('~' math2)*       (so `'a' ~ 1 + 2` is `('a' ~ 1) + 2`)
 *   math2     := pow (('*'|'/'|'//'|'%') pow)*
 *   pow       := unary ('**' unary)*
 *   unary     := ('-'|'+') unary-without-filters | primary; then postfix
 *                (.name [expr] (args)) and filters/tests (| name, is test)
 */
#include "jinja/interp.h"
#include "jinja/parser.h"

#include <string.h>

static jnode *parse_or(parser *p);
static jnode *parse_unary(parser *p, bool with_filter);

static bool is_tuple_end(parser *p, const char *const *extra)
{
    jtok *t = p_cur(p);
    if (t->kind == TK_VAR_END || t->kind == TK_BLOCK_END || t->kind == TK_RPAREN) return true;
    for (; extra && *extra; extra++)
        if (p_is_name(t, *extra)) return true;
    return false;
}

jnode *parse_expression(parser *p, bool with_condexpr)
{
    if (++p->depth > JPARSE_DEPTH_MAX) return p_fail(p, p_cur(p)->pos, "expression nested too deeply");
    jnode *r;
    if (!with_condexpr) {
        r = parse_or(p);
    } else {
        size_t pos = p_cur(p)->pos;
        r = parse_or(p);
        while (r && p_skip_name(p, "if")) {
            jnode *n = p_node(p, N_CONDEXPR, pos);
            if (!n) return NULL;
            n->b = r;
            n->a = parse_or(p);
            if (!n->a) return NULL;
            if (p_skip_name(p, "else")) {
                n->c = parse_expression(p, true);
                if (!n->c) return NULL;
            }
            r = n;
            pos = p_cur(p)->pos;
        }
    }
    p->depth--;
    return r;
}

static jnode *binary(parser *p, jnode_kind kind, int op, jnode *a, jnode *b, size_t pos)
{
    if (!a || !b) return NULL;
    jnode *n = p_node(p, kind, pos);
    if (!n) return NULL;
    n->op = (uint8_t)op;
    n->a = a;
    n->b = b;
    return n;
}

static jnode *parse_and(parser *p);
static jnode *parse_not(parser *p);
static jnode *parse_compare(parser *p);
static jnode *parse_math1(parser *p);
static jnode *parse_concat(parser *p);
static jnode *parse_math2(parser *p);
static jnode *parse_pow(parser *p);

static jnode *parse_or(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *left = parse_and(p);
    while (left && p_skip_name(p, "or")) left = binary(p, N_OR, 0, left, parse_and(p), pos);
    return left;
}

static jnode *parse_and(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *left = parse_not(p);
    while (left && p_skip_name(p, "and")) left = binary(p, N_AND, 0, left, parse_not(p), pos);
    return left;
}

static jnode *parse_not(parser *p)
{
    if (p_is_name(p_cur(p), "not")) {
        size_t pos = p_cur(p)->pos;
        p_next(p);
        if (++p->depth > JPARSE_DEPTH_MAX) return p_fail(p, pos, "expression nested too deeply");
        jnode *n = p_node(p, N_NOT, pos);
        if (!n || !(n->a = parse_not(p))) return NULL;
        p->depth--;
        return n;
    }
    return parse_compare(p);
}

static jnode *parse_compare(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *expr = parse_math1(p);
    if (!expr) return NULL;
    nvec operands = {0};
    uint8_t ops[64];
    for (;;) {
        jtok *t = p_cur(p);
        int op = -1;
        switch (t->kind) {
        case TK_EQ: op = JOP_EQ; break;
        case TK_NE: op = JOP_NE; break;
        case TK_LT: op = JOP_LT; break;
        case TK_LTEQ: op = JOP_LTEQ; break;
        case TK_GT: op = JOP_GT; break;
        case TK_GTEQ: op = JOP_GTEQ; break;
        default: break;
        }
        if (op >= 0) {
            p_next(p);
        } else if (p_skip_name(p, "in")) {
            op = JOP_IN;
        } else if (p_is_name(t, "not") && p_is_name(p_look(p), "in")) {
            p_next(p);
            p_next(p);
            op = JOP_NOTIN;
        } else {
            break;
        }
        if (operands.n >= sizeof ops) return p_fail(p, t->pos, "comparison chain too long");
        ops[operands.n] = (uint8_t)op;
        jnode *rhs = parse_math1(p);
        if (!rhs || !nvec_push(p, &operands, rhs)) return NULL;
    }
    if (!operands.n) return expr;
    jnode *n = p_node(p, N_COMPARE, pos);
    if (!n) return NULL;
    n->a = expr;
    n->ops = jarena_alloc(&p->t->arena, operands.n);
    if (!n->ops) return p_fail(p, pos, "out of memory");
    memcpy(n->ops, ops, operands.n);
    n->items = nvec_list(&operands);
    return n;
}

static jnode *parse_math1(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *left = parse_concat(p);
    while (left && (p_cur(p)->kind == TK_ADD || p_cur(p)->kind == TK_SUB)) {
        int op = p_cur(p)->kind == TK_ADD ? JOP_ADD : JOP_SUB;
        p_next(p);
        left = binary(p, N_BINOP, op, left, parse_concat(p), pos);
        pos = p_cur(p)->pos;
    }
    return left;
}

static jnode *parse_concat(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *first = parse_math2(p);
    if (!first || p_cur(p)->kind != TK_TILDE) return first;
    nvec args = {0};
    if (!nvec_push(p, &args, first)) return NULL;
    while (p_cur(p)->kind == TK_TILDE) {
        p_next(p);
        jnode *x = parse_math2(p);
        if (!x || !nvec_push(p, &args, x)) return NULL;
    }
    jnode *n = p_node(p, N_CONCAT, pos);
    if (!n) return NULL;
    n->items = nvec_list(&args);
    return n;
}

static jnode *parse_math2(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *left = parse_pow(p);
    for (;;) {
        if (!left) return NULL;
        int op;
        switch (p_cur(p)->kind) {
        case TK_MUL: op = JOP_MUL; break;
        case TK_DIV: op = JOP_DIV; break;
        case TK_FLOORDIV: op = JOP_FLOORDIV; break;
        case TK_MOD: op = JOP_MOD; break;
        default: return left;
        }
        p_next(p);
        left = binary(p, N_BINOP, op, left, parse_pow(p), pos);
        pos = p_cur(p)->pos;
    }
}

static jnode *parse_pow(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *left = parse_unary(p, true);
    while (left && p_cur(p)->kind == TK_POW) {
        p_next(p);
        left = binary(p, N_BINOP, JOP_POW, left, parse_unary(p, true), pos);
        pos = p_cur(p)->pos;
    }
    return left;
}

/* ------------------------------------------------------------------------
 * Primary expressions and postfix operators
 * ---------------------------------------------------------------------- */

static jnode *parse_postfix(parser *p, jnode *node);
static jnode *parse_filter_expr(parser *p, jnode *node);

static jnode *parse_unary(parser *p, bool with_filter)
{
    jtok *t = p_cur(p);
    size_t pos = t->pos;
    if (++p->depth > JPARSE_DEPTH_MAX) return p_fail(p, pos, "expression nested too deeply");
    jnode *node;
    if (t->kind == TK_SUB || t->kind == TK_ADD) {
        p_next(p);
        node = p_node(p, t->kind == TK_SUB ? N_NEG : N_POS, pos);
        if (!node || !(node->a = parse_unary(p, false))) return NULL;
    } else {
        node = parse_primary(p, false);
    }
    node = parse_postfix(p, node);
    if (with_filter) node = parse_filter_expr(p, node);
    p->depth--;
    return node;
}

static jnode *const_node(parser *p, size_t pos, jv value)
{
    jnode *n = p_node(p, N_CONST, pos);
    if (n) n->value = value;
    return n;
}

static jnode *parse_list_or_dict(parser *p, bool dict)
{
    size_t pos = p_cur(p)->pos;
    jtok_kind close = dict ? TK_RBRACE : TK_RBRACKET;
    p_next(p);
    nvec keys = {0}, vals = {0};
    while (p_cur(p)->kind != close) {
        if (keys.n && !p_expect(p, TK_COMMA)) return NULL;
        if (p_cur(p)->kind == close) break;
        jnode *k = parse_expression(p, true);
        if (!k || !nvec_push(p, &keys, k)) return NULL;
        if (dict) {
            if (!p_expect(p, TK_COLON)) return NULL;
            jnode *v = parse_expression(p, true);
            if (!v || !nvec_push(p, &vals, v)) return NULL;
        }
    }
    if (!p_expect(p, close)) return NULL;
    jnode *n = p_node(p, dict ? N_DICT : N_LIST, pos);
    if (!n) return NULL;
    n->items = nvec_list(&keys);
    n->items2 = nvec_list(&vals);
    return n;
}

jnode *parse_primary(parser *p, bool with_namespace)
{
    if (p->failed) return NULL;
    jtok *t = p_cur(p);
    size_t pos = t->pos;
    switch (t->kind) {
    case TK_NAME: {
        p_next(p);
        if (p_is_name(t, "true") || p_is_name(t, "True")) return const_node(p, pos, jv_bool(true));
        if (p_is_name(t, "false") || p_is_name(t, "False")) return const_node(p, pos, jv_bool(false));
        if (p_is_name(t, "none") || p_is_name(t, "None")) return const_node(p, pos, jv_none());
        if (with_namespace && p_cur(p)->kind == TK_DOT) {
            p_next(p);
            jtok *attr = p_cur(p);
            if (!p_expect(p, TK_NAME)) return NULL;
            jnode *n = p_node(p, N_NSREF, pos);
            if (!n || !(n->name = p_strdup(p, t->text, t->len))) return NULL;
            if (!(n->text = p_strdup(p, attr->text, attr->len))) return NULL;
            if (!jstr_new(p->heap, attr->text, attr->len, &n->value)) return p_fail(p, pos, "out of memory");
            return n;
        }
        jnode *n = p_node(p, N_NAME, pos);
        if (!n || !(n->name = p_strdup(p, t->text, t->len))) return NULL;
        /* the name as a dict key, made once: assignments in loops reuse it */
        if (!jstr_new(p->heap, t->text, t->len, &n->value)) return p_fail(p, pos, "out of memory");
        if (p->macro) {
            if (!strcmp(n->name, "varargs")) p->macro->flags |= JN_USES_VARARGS;
            if (!strcmp(n->name, "kwargs")) p->macro->flags |= JN_USES_KWARGS;
            if (!strcmp(n->name, "caller")) p->macro->flags |= JN_USES_CALLER;
        }
        return n;
    }
    case TK_STRING: {
        /* adjacent literals concatenate: "a" "b" is "ab" */
        jbuf b;
        jbuf_init(&b, 0);
        while (p_cur(p)->kind == TK_STRING) {
            jbuf_put(&b, p_cur(p)->text, p_cur(p)->len);
            p_next(p);
        }
        jv s;
        if (!jbuf_to_str(&b, p->heap, &s)) return p_fail(p, pos, "string literal too long");
        return const_node(p, pos, s);
    }
    case TK_INT:
        p_next(p);
        return const_node(p, pos, jv_int(t->ival));
    case TK_FLOAT:
        p_next(p);
        return const_node(p, pos, jv_float(t->fval));
    case TK_LPAREN: {
        p_next(p);
        jnode *n = parse_tuple(p, false, true, NULL, true, false);
        if (!n || !p_expect(p, TK_RPAREN)) return NULL;
        return n;
    }
    case TK_LBRACKET: return parse_list_or_dict(p, false);
    case TK_LBRACE: return parse_list_or_dict(p, true);
    default: {
        char buf[64];
        return p_fail(p, pos, "unexpected '%s'", p_describe(t, buf));
    }
    }
}

jnode *parse_tuple(parser *p, bool simplified, bool with_condexpr,
                   const char *const *extra_end, bool explicit_parens, bool with_namespace)
{
    size_t pos = p_cur(p)->pos;
    nvec args = {0};
    bool is_tuple = false;
    for (;;) {
        if (args.n && !p_expect(p, TK_COMMA)) return NULL;
        if (is_tuple_end(p, extra_end)) break;
        jnode *x = simplified ? parse_primary(p, with_namespace) : parse_expression(p, with_condexpr);
        if (!x || !nvec_push(p, &args, x)) return NULL;
        if (p_cur(p)->kind == TK_COMMA) is_tuple = true;
        else break;
    }
    if (!is_tuple) {
        if (args.n) return args.v[0];
        if (!explicit_parens) {
            char buf[64];
            return p_fail(p, p_cur(p)->pos, "Expected an expression, got '%s'", p_describe(p_cur(p), buf));
        }
    }
    jnode *n = p_node(p, N_TUPLE, pos);
    if (!n) return NULL;
    n->items = nvec_list(&args);
    return n;
}

/* One subscript: an expression or a slice a:b:c. */
static jnode *parse_subscribed(parser *p)
{
    size_t pos = p_cur(p)->pos;
    jnode *parts[3] = {NULL, NULL, NULL};
    if (p_cur(p)->kind == TK_COLON) {
        p_next(p);
    } else {
        jnode *x = parse_expression(p, true);
        if (!x) return NULL;
        if (p_cur(p)->kind != TK_COLON) return x;
        p_next(p);
        parts[0] = x;
    }
    jtok_kind k = p_cur(p)->kind;
    if (k != TK_COLON && k != TK_RBRACKET && k != TK_COMMA) {
        if (!(parts[1] = parse_expression(p, true))) return NULL;
    }
    if (p_cur(p)->kind == TK_COLON) {
        p_next(p);
        k = p_cur(p)->kind;
        if (k != TK_RBRACKET && k != TK_COMMA && !(parts[2] = parse_expression(p, true))) return NULL;
    }
    jnode *n = p_node(p, N_SLICE, pos);
    if (!n) return NULL;
    n->a = parts[0];
    n->b = parts[1];
    n->c = parts[2];
    return n;
}

static jnode *parse_subscript(parser *p, jnode *node)
{
    jtok *t = p_cur(p);
    size_t pos = t->pos;
    p_next(p);
    if (t->kind == TK_DOT) {
        jtok *attr = p_cur(p);
        p_next(p);
        if (attr->kind == TK_NAME) {
            jnode *n = p_node(p, N_GETATTR, pos);
            if (!n || !(n->name = p_strdup(p, attr->text, attr->len))) return NULL;
            n->a = node;
            return n;
        }
        if (attr->kind != TK_INT) return p_fail(p, attr->pos, "expected name or number");
        jnode *n = p_node(p, N_GETITEM, pos);
        if (!n || !(n->b = const_node(p, attr->pos, jv_int(attr->ival)))) return NULL;
        n->a = node;
        return n;
    }
    /* '[' */
    nvec args = {0};
    while (p_cur(p)->kind != TK_RBRACKET) {
        if (args.n && !p_expect(p, TK_COMMA)) return NULL;
        jnode *x = parse_subscribed(p);
        if (!x || !nvec_push(p, &args, x)) return NULL;
        if (p->failed) return NULL;
    }
    if (!p_expect(p, TK_RBRACKET)) return NULL;
    jnode *n = p_node(p, N_GETITEM, pos);
    if (!n) return NULL;
    n->a = node;
    if (args.n == 1) {
        n->b = args.v[0];
    } else {
        if (!(n->b = p_node(p, N_TUPLE, pos))) return NULL;
        n->b->items = nvec_list(&args);
    }
    return n;
}

bool parse_call_args(parser *p, jnode *n)
{
    size_t pos = p_cur(p)->pos;
    if (!p_expect(p, TK_LPAREN)) return false;
    nvec args = {0}, kwvals = {0};
    const char *names[64];
    bool require_comma = false;
    while (p_cur(p)->kind != TK_RPAREN) {
        if (require_comma) {
            if (!p_expect(p, TK_COMMA)) return false;
            if (p_cur(p)->kind == TK_RPAREN) break;
        }
        jtok *t = p_cur(p);
        if (t->kind == TK_MUL) {
            if (n->b || n->c) return p_fail(p, pos, "invalid syntax for function call expression");
            p_next(p);
            if (!(n->b = parse_expression(p, true))) return false;
        } else if (t->kind == TK_POW) {
            if (n->c) return p_fail(p, pos, "invalid syntax for function call expression");
            p_next(p);
            if (!(n->c = parse_expression(p, true))) return false;
        } else if (t->kind == TK_NAME && p_look(p)->kind == TK_ASSIGN) {
            if (n->c) return p_fail(p, pos, "invalid syntax for function call expression");
            if (kwvals.n >= sizeof names / sizeof names[0]) return p_fail(p, pos, "too many arguments");
            if (!(names[kwvals.n] = p_strdup(p, t->text, t->len))) return false;
            p_next(p);
            p_next(p);
            jnode *v = parse_expression(p, true);
            if (!v || !nvec_push(p, &kwvals, v)) return false;
        } else {
            if (n->b || n->c || kwvals.n) return p_fail(p, pos, "invalid syntax for function call expression");
            jnode *v = parse_expression(p, true);
            if (!v || !nvec_push(p, &args, v)) return false;
        }
        require_comma = true;
    }
    if (!p_expect(p, TK_RPAREN)) return false;
    n->items = nvec_list(&args);
    n->items2 = nvec_list(&kwvals);
    if (kwvals.n) {
        n->names = jarena_alloc(&p->t->arena, kwvals.n * sizeof(char *));
        if (!n->names) return p_fail(p, pos, "out of memory");
        memcpy(n->names, names, kwvals.n * sizeof(char *));
    }
    return true;
}

static jnode *parse_call(parser *p, jnode *callee)
{
    jnode *n = p_node(p, N_CALL, p_cur(p)->pos);
    if (!n) return NULL;
    n->a = callee;
    return parse_call_args(p, n) ? n : NULL;
}

static jnode *parse_postfix(parser *p, jnode *node)
{
    while (node && !p->failed) {
        jtok_kind k = p_cur(p)->kind;
        if (k == TK_DOT || k == TK_LBRACKET) node = parse_subscript(p, node);
        else if (k == TK_LPAREN) node = parse_call(p, node);
        else break;
    }
    return p->failed ? NULL : node;
}

/* A dotted filter or test name ("name" or "a.b"). */
static const char *dotted_name(parser *p)
{
    jtok *t = p_cur(p);
    if (!p_expect(p, TK_NAME)) return NULL;
    char buf[256];
    size_t n = t->len < sizeof buf ? t->len : sizeof buf - 1;
    memcpy(buf, t->text, n);
    while (p_cur(p)->kind == TK_DOT) {
        p_next(p);
        jtok *part = p_cur(p);
        if (!p_expect(p, TK_NAME)) return NULL;
        if (n + 1 + part->len < sizeof buf) {
            buf[n++] = '.';
            memcpy(buf + n, part->text, part->len);
            n += part->len;
        }
    }
    return p_strdup(p, buf, n);
}

jnode *parse_filter(parser *p, jnode *node, bool start_inline)
{
    while (p_cur(p)->kind == TK_PIPE || start_inline) {
        if (!start_inline) p_next(p);
        size_t pos = p_cur(p)->pos;
        jnode *n = p_node(p, N_FILTER, pos);
        if (!n || !(n->name = dotted_name(p))) return NULL;
        n->a = node;
        n->fn = jfilter_find(n->name);
        if (p_cur(p)->kind == TK_LPAREN && !parse_call_args(p, n)) return NULL;
        node = n;
        start_inline = false;
    }
    return node;
}

static jnode *parse_test(parser *p, jnode *node)
{
    size_t pos = p_cur(p)->pos;
    p_next(p); /* 'is' */
    bool negated = p_skip_name(p, "not");
    jnode *n = p_node(p, N_TEST, pos);
    if (!n || !(n->name = dotted_name(p))) return NULL;
    n->a = node;
    n->fn = jtest_find(n->name);
    jtok *t = p_cur(p);
    if (t->kind == TK_LPAREN) {
        if (!parse_call_args(p, n)) return NULL;
    } else if ((t->kind == TK_NAME || t->kind == TK_STRING || t->kind == TK_INT ||
                t->kind == TK_FLOAT || t->kind == TK_LBRACKET || t->kind == TK_LBRACE) &&
               !p_is_name(t, "else") && !p_is_name(t, "or") && !p_is_name(t, "and")) {
        /* one argument without parentheses: `x is divisibleby 3` */
        if (p_is_name(t, "is")) return p_fail(p, t->pos, "You cannot chain multiple tests with is");
        jnode *arg = parse_postfix(p, parse_primary(p, false));
        nvec args = {0};
        if (!arg || !nvec_push(p, &args, arg)) return NULL;
        n->items = nvec_list(&args);
    }
    if (!negated) return n;
    jnode *no = p_node(p, N_NOT, pos);
    if (no) no->a = n;
    return no;
}

static jnode *parse_filter_expr(parser *p, jnode *node)
{
    while (node && !p->failed) {
        jtok *t = p_cur(p);
        if (t->kind == TK_PIPE) node = parse_filter(p, node, false);
        else if (p_is_name(t, "is")) node = parse_test(p, node);
        else if (t->kind == TK_LPAREN) node = parse_call(p, node);
        else break;
    }
    return p->failed ? NULL : node;
}
