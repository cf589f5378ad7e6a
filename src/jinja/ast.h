/*
 * ast.h — tokens and syntax tree of a Jinja template.
 *
 * The lexer turns the (newline-normalised) template into tokens, following
 * jinja2's lexer rule for rule: trim_blocks, lstrip_blocks, `{%- -%}`
 * whitespace control, comments and raw blocks are all resolved there, so the
 * parser sees only data, tags and expression tokens. The parser builds the
 * tree with jinja2's grammar and operator precedence. Tokens, nodes and their
 * strings live in one arena that is freed with the template.
 */
#ifndef MOTE_JINJA_AST_H
#define MOTE_JINJA_AST_H

#include "jinja/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of blocks and expressions the parser accepts. */
#define JPARSE_DEPTH_MAX 200

/* ------------------------------------------------------------------------
 * Arena
 * ---------------------------------------------------------------------- */

typedef struct jarena {
    struct jarena_chunk *head; /* chunks, newest first */
    size_t bytes;              /* total allocated */
} jarena;

/* Zeroed memory that lives until jarena_free; NULL on failure. */
void *jarena_alloc(jarena *a, size_t n);
char *jarena_strdup(jarena *a, const char *s, size_t n);
void jarena_free(jarena *a);

/* ------------------------------------------------------------------------
 * Tokens
 * ---------------------------------------------------------------------- */

typedef enum jtok_kind {
    TK_EOF,
    TK_DATA,        /* template text: text/len */
    TK_VAR_BEGIN,   /* {{ */
    TK_VAR_END,     /* }} */
    TK_BLOCK_BEGIN, /* {% */
    TK_BLOCK_END,   /* %} */
    TK_NAME,        /* identifier or keyword: text/len */
    TK_STRING,      /* string literal, unescaped: text/len */
    TK_INT,         /* ival */
    TK_FLOAT,       /* fval */
    /* operators */
    TK_ADD, TK_SUB, TK_MUL, TK_DIV, TK_FLOORDIV, TK_MOD, TK_POW, TK_TILDE,
    TK_LBRACKET, TK_RBRACKET, TK_LPAREN, TK_RPAREN, TK_LBRACE, TK_RBRACE,
    TK_EQ, TK_NE, TK_GT, TK_GTEQ, TK_LT, TK_LTEQ, TK_ASSIGN, TK_DOT,
    TK_COLON, TK_PIPE, TK_COMMA, TK_SEMICOLON,
} jtok_kind;

typedef struct jtok {
    uint8_t kind;     /* jtok_kind */
    uint32_t pos;     /* byte offset in the normalised source */
    const char *text; /* TK_DATA, TK_NAME, TK_STRING (arena or source) */
    size_t len;
    int64_t ival;
    double fval;
} jtok;

typedef struct jtoks {
    jtok *v;       /* arena array */
    size_t n, cap; /* tokens used / allocated */
} jtoks;

/* Normalise newlines (\r\n and \r become \n) and drop one trailing newline,
 * as jinja2 does; the result is arena memory. */
char *jinja_normalize(jarena *a, const char *src, size_t len, size_t *out_len);

/* Error of the lexer or parser: position and message. */
typedef struct jsyntax_error {
    size_t pos;    /* byte offset in the normalised source */
    char msg[256]; /* what went wrong, jinja2's wording */
} jsyntax_error;

/* Tokenize the normalised source. false with *err filled on a syntax error
 * (or an allocation failure). */
bool jinja_lex(jarena *a, const char *src, size_t len, jtoks *out, jsyntax_error *err);

/* ------------------------------------------------------------------------
 * Nodes
 * ---------------------------------------------------------------------- */

typedef enum jnode_kind {
    /* statements */
    N_TEXT,         /* text, len */
    N_OUTPUT,       /* {{ a }}, or {% print items... %} */
    N_IF,           /* if a: body else else_body (elif = nested N_IF in else_body) */
    N_FOR,          /* for a in b [if c]: body else else_body; flags JN_RECURSIVE */
    N_SET,          /* set a = b */
    N_SET_BLOCK,    /* set a [| filters c]: body endset */
    N_MACRO,        /* macro name(params = defaults): body */
    N_CALL_BLOCK,   /* call(params) a (an N_CALL): body */
    N_FILTER_BLOCK, /* filter c: body (c is an N_FILTER chain with a NULL input) */
    N_BREAK,
    N_CONTINUE,
    N_WITH,         /* with names = items2: body */
    N_SCOPE,        /* a block that only renders its body (HF's generation tag) */
    /* expressions */
    N_CONST,    /* value */
    N_NAME,     /* name */
    N_NSREF,    /* name.attr as an assignment target (attr in text) */
    N_TUPLE,    /* items */
    N_LIST,     /* items */
    N_DICT,     /* keys items, values items2 */
    N_GETATTR,  /* a.name */
    N_GETITEM,  /* a[b] */
    N_SLICE,    /* a:b:c inside N_GETITEM (each may be NULL) */
    N_CALL,     /* a(items, names=items2, *b, **c) */
    N_FILTER,   /* a | name(items, names=items2, *b, **c); fn resolved */
    N_TEST,     /* a is name(items, names=items2); fn resolved */
    N_NOT,      /* not a */
    N_NEG,      /* -a */
    N_POS,      /* +a */
    N_BINOP,    /* a op b (op: JOP_*) */
    N_AND,      /* a and b */
    N_OR,       /* a or b */
    N_CONCAT,   /* items joined with ~ */
    N_COMPARE,  /* a ops[0] items[0] ops[1] items[1] ... */
    N_CONDEXPR, /* b if a else c (c may be NULL) */
} jnode_kind;

/* Binary operators (N_BINOP) and comparison operators (N_COMPARE). */
enum {
    JOP_ADD, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW,
    JOP_EQ, JOP_NE, JOP_LT, JOP_LTEQ, JOP_GT, JOP_GTEQ, JOP_IN, JOP_NOTIN,
};

/* N_FOR flag */
#define JN_RECURSIVE 1u
/* N_MACRO / N_CALL_BLOCK flags: the body refers to these names */
#define JN_USES_VARARGS 2u
#define JN_USES_KWARGS 4u
#define JN_USES_CALLER 8u

typedef struct jnode jnode;

typedef struct jnode_list {
    jnode **v; /* arena array */
    size_t n;
} jnode_list;

struct jnode {
    uint8_t kind;          /* jnode_kind */
    uint8_t op;            /* N_BINOP operator */
    uint8_t flags;         /* JN_* */
    uint32_t pos;          /* byte offset in the normalised source */
    jnode *a, *b, *c;      /* operands, meaning per kind (see jnode_kind) */
    jnode_list items;      /* elements, dict keys, positional arguments */
    jnode_list items2;     /* dict values, keyword argument values, defaults */
    jnode_list body;       /* statements */
    jnode_list else_body;  /* else / elif statements */
    const char *name;      /* identifier, attribute, filter or test name */
    const char *text;      /* N_TEXT: template text; N_NSREF: attribute */
    size_t len;            /* N_TEXT: bytes of text */
    const char **names;    /* keyword names (items2.n) or macro params (nparams) */
    size_t nparams;        /* N_MACRO / N_CALL_BLOCK / N_WITH */
    uint8_t *ops;          /* N_COMPARE: one JOP_* per element of items */
    jv value;              /* N_CONST value; N_NAME / N_NSREF: the name / attribute as a string key */
    const void *fn;        /* N_FILTER: jfilter_def; N_TEST: jtest_def (NULL: unknown) */
};

/* A parsed template: the statements, in an arena. */
typedef struct jtemplate {
    jarena arena;    /* tokens, nodes, names */
    const char *src; /* normalised source (arena) */
    size_t len;      /* bytes of src */
    jnode_list body; /* top-level statements */
} jtemplate;

/* Parse; constants are allocated on heap h. false with *err on failure. */
bool jinja_parse(jtemplate *t, jheap *h, const char *src, size_t len, jsyntax_error *err);
void jinja_template_free(jtemplate *t);

/* Line and column (1-based, columns in code points) of a source offset. */
void jinja_line_col(const char *src, size_t len, size_t pos, int *line, int *col);

#endif
