/*
 * parser.h — state shared by the statement parser (parser.c) and the
 * expression parser (parse_expr.c). Internal to those two files.
 */
#ifndef MOTE_JINJA_PARSER_H
#define MOTE_JINJA_PARSER_H

#include "jinja/ast.h"

/* Most block tags open at once (end-tag names remembered for messages). */
#define JPARSE_END_STACK 64

typedef struct parser {
    jtemplate *t;         /* the template being built */
    jheap *heap;          /* constants (string literals) are allocated here */
    jtoks toks;           /* all tokens, ending with TK_EOF */
    size_t i;             /* current token */
    jsyntax_error *err;   /* first error */
    bool failed;          /* an error was recorded: unwind */
    int depth;            /* recursion guard */
    int loop_depth;       /* for loops around the current statement (break/continue) */
    jnode *macro;         /* innermost macro or call block being parsed */
    const char *const *end_stack[JPARSE_END_STACK]; /* end tags looked for */
    const char *tag_stack[JPARSE_END_STACK];        /* open block tags */
    int n_end, n_tag;
} parser;

/* Token access */
static inline jtok *p_cur(parser *p) { return &p->toks.v[p->i]; }
static inline jtok *p_look(parser *p)
{
    return &p->toks.v[p->i + 1 < p->toks.n ? p->i + 1 : p->i];
}
static inline void p_next(parser *p)
{
    if (p->i + 1 < p->toks.n) p->i++;
}
bool p_is_name(const jtok *t, const char *name);
bool p_skip_name(parser *p, const char *name);
bool p_skip(parser *p, jtok_kind kind);
/* Consume a token of this kind or fail with "expected token ..." */
bool p_expect(parser *p, jtok_kind kind);

/* Errors: record the first one and return NULL / false. */
void *p_fail(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *p_describe(const jtok *t, char buf[64]);

/* Node construction (arena) */
jnode *p_node(parser *p, jnode_kind kind, size_t pos);
char *p_strdup(parser *p, const char *s, size_t n);

/* A growable array of nodes in the arena. */
typedef struct nvec {
    jnode **v;     /* arena array, reallocated by doubling */
    size_t n, cap; /* used / allocated */
} nvec;
bool nvec_push(parser *p, nvec *v, jnode *n);
jnode_list nvec_list(nvec *v);

/* Expressions (parse_expr.c), as in jinja2's Parser */
jnode *parse_expression(parser *p, bool with_condexpr);
jnode *parse_tuple(parser *p, bool simplified, bool with_condexpr,
                   const char *const *extra_end, bool explicit_parens, bool with_namespace);
jnode *parse_primary(parser *p, bool with_namespace);
jnode *parse_filter(parser *p, jnode *node, bool start_inline);
/* Positional and keyword arguments between parentheses into n. */
bool parse_call_args(parser *p, jnode *n);

#endif
