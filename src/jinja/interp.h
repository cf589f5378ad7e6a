/*
 * interp.h — the renderer's state and the functions the evaluator files
 * (eval, exec, ops, repr, json, filters, tests, methods, builtins) share.
 */
#ifndef MOTE_JINJA_INTERP_H
#define MOTE_JINJA_INTERP_H

#include "jinja/ast.h"
#include "jinja/jinja.h"
#include "jinja/value.h"

#include <stdbool.h>

/* Deepest nesting of values walked by repr, tojson, ==, sort keys. */
#define JNEST_MAX 256
/* Deepest recursion of evaluation (bounds the C stack). */
#define JEVAL_DEPTH_MAX 500
/* Deepest macro call chain (Python would stop at its recursion limit). */
#define JCALL_DEPTH_MAX 100
/* Most positional and keyword arguments of one call. */
#define JARGS_MAX 16
/* jinja2's sandbox refuses range() results longer than this. */
#define JRANGE_MAX 100000

/* Flag of a jv slot filled by jargs_bind: the argument was not given. */
#define JV_MISSING 2u

/* ------------------------------------------------------------------------
 * Scopes, loops, render state
 * ---------------------------------------------------------------------- */

/* Variables of a template, macro call, loop iteration or with block. A scope
 * reads through to its parents; `set` writes to the innermost one. */
typedef struct jscope {
    jobj h;
    struct jscope *parent;
    jdict *vars;
} jscope;

/* State of a for loop, as jinja2's LoopContext: items are fetched one ahead
 * only when loop.last / loop.nextitem / loop.length ask, so a loop filter
 * (`for x in xs if cond`) is evaluated as lazily as in jinja2. */
typedef struct jloop {
    jobj h;
    jv items;            /* JT_LIST snapshot of what is iterated */
    size_t next;         /* next index of items to examine */
    const jnode *node;   /* the N_FOR (target, filter condition) */
    jscope *cond_scope;  /* scope in which the filter condition runs */
    jv ahead;            /* JT_LIST: items fetched early (passed the filter) */
    size_t ahead_pos;    /* consumed prefix of ahead */
    long index0;         /* current iteration, from 0 */
    jv prev, cur;        /* loop.previtem source and the current item */
    jv changed;          /* last value given to loop.changed(), or missing */
    bool has_changed;
    jscope *outer;       /* the scope the loop runs in (for recursive calls) */
    int depth0;          /* recursion level of a `recursive` loop, from 0 */
} jloop;

void jloop_free_storage(jobj *o);
void jloop_release_children(jobj *o);

typedef struct jrender {
    jheap heap;
    const jinja_options *opt;
    const jtemplate *tpl;
    jbuf *out;             /* current output (macros and blocks capture) */
    jscope *scope;         /* innermost scope */
    int depth;             /* evaluation recursion */
    int call_depth;        /* macro recursion */
    bool failed;
    size_t err_pos;        /* source offset of the failing node */
    char err[512];
} jrender;

/* Record an error at node `at` (first one wins); returns false. */
bool jfail(jrender *r, const jnode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The error an operation on an undefined value raises. */
bool jfail_undef(jrender *r, const jnode *at, jv undef);
/* Out of memory or over a size limit (or the work budget). */
bool jfail_oom(jrender *r, const jnode *at);

/* Charge units of work (value.h: JWORK_*); false, the render failed, once
 * max_steps is spent. */
bool jwork(jrender *r, const jnode *at, uint64_t units);
/* One evaluation step. */
static inline bool jstep(jrender *r, const jnode *at) { return jwork(r, at, JWORK_STEP); }
/* Charge a filter, test or method for the values it is given (input and
 * arguments: a string's bytes, a list's or dict's entries), which it may
 * scan; the entries' own contents are charged where they are visited. */
bool jwork_given(jrender *r, const jnode *at, jv in, const struct jargs *a);
/* An undefined value whose message is fmt...: "'x' is undefined". */
jv jundef(jrender *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------
 * Call arguments
 * ---------------------------------------------------------------------- */

typedef struct jargs {
    const jnode *at;                /* the call, for errors */
    size_t npos, nkw;               /* positional / keyword arguments given */
    jv pos[JARGS_MAX];              /* positional values (owned) */
    const char *kwname[JARGS_MAX];  /* keyword names (template or value memory) */
    jv kw[JARGS_MAX];               /* keyword values (owned) */
} jargs;

/* Bind arguments to parameters by position and name, as Python does. slots
 * receive borrowed values; parameters not given are marked JV_MISSING. The
 * first nreq parameters are required. */
bool jargs_bind(jrender *r, const jargs *a, const char *fname, const char *const *params,
                size_t nparams, size_t nreq, jv *slots);
static inline bool jv_missing(jv v) { return v.type == JT_UNDEF && (v.flags & JV_MISSING); }
void jargs_release(jargs *a);

/* ------------------------------------------------------------------------
 * Evaluation (eval.c, exec.c)
 * ---------------------------------------------------------------------- */

bool jeval(jrender *r, const jnode *n, jv *out);
/* Run statements; *ctl is set to N_BREAK / N_CONTINUE when one fires. */
bool jexec(jrender *r, const jnode_list *body, int *ctl);
/* obj.name with the sandbox's rules (methods, then items). */
bool jgetattr(jrender *r, const jnode *at, jv obj, const char *name, jv *out);
/* obj[key] as environment.getitem (items, then attributes for str keys). */
bool jgetitem(jrender *r, const jnode *at, jv obj, jv key, jv *out);
bool jcall(jrender *r, const jnode *at, jv callee, jargs *a, jv *out);
bool jcall_macro(jrender *r, const jnode *at, jmacro *m, jargs *a, jv *out);
/* All items of an iterable as a list (dict: keys, str: characters,
 * undefined: empty). A generator is consumed. */
bool jiter_list(jrender *r, const jnode *at, jv v, jv *out);
/* Apply a filter block's chain (an N_FILTER whose innermost input is NULL)
 * to input. */
bool jeval_filter_block(jrender *r, const jnode *chain, jv input, jv *out);
/* Render statements into a string (macros, set blocks, filter blocks). */
bool jcapture(jrender *r, const jnode_list *body, jv *out);

jscope *jscope_new(jrender *r, jscope *parent);
jv *jscope_lookup(jscope *s, const char *name);
bool jscope_set(jrender *r, jscope *s, const char *name, jv v);

/* loop(items) in a recursive loop */
bool jloop_call(jrender *r, const jnode *at, jloop *lp, jargs *a, jv *out);
/* loop.attr */
bool jloop_getattr(jrender *r, const jnode *at, jloop *lp, const char *name, jv *out);

/* ------------------------------------------------------------------------
 * Operators (ops.c)
 * ---------------------------------------------------------------------- */

bool jbinop(jrender *r, const jnode *at, int op, jv a, jv b, jv *out);
/* ==, !=, <, <=, >, >=, in, not in */
bool jcompare(jrender *r, const jnode *at, int op, jv a, jv b, bool *res);
/* Ordering for sort/min/max: *res < 0, 0, > 0; TypeError when unorderable. */
bool jorder(jrender *r, const jnode *at, jv a, jv b, int *res);
bool jcontains(jrender *r, const jnode *at, jv container, jv item, bool *res);
/* Python's printf-style `fmt % args`. */
bool jpercent_format(jrender *r, const jnode *at, jv fmt, jv args, jv *out);
/* Python slice seq[start:stop:step] (missing parts are JT_NONE); TypeError
 * for values that cannot be sliced. */
bool jslice(jrender *r, const jnode *at, jv seq, jv start, jv stop, jv step, jv *out);
/* Index of a (possibly negative) position into a sequence of n; false if out of range. */
bool jindex(int64_t i, size_t n, size_t *out);

/* ------------------------------------------------------------------------
 * Text of values (repr.c)
 * ---------------------------------------------------------------------- */

/* Python str(v) appended to b (Undefined is empty). */
void jv_write_str(jbuf *b, jv v);
/* Python repr(v). */
void jv_write_repr(jbuf *b, jv v);
/* repr() of a float: the shortest text that reads back the same. */
void jfloat_repr(double f, char buf[40]);
/* str(v) as a string value (strings are returned as they are). */
bool jv_to_str(jrender *r, const jnode *at, jv v, jv *out);
/* HTML-escape (markupsafe.escape) into b. */
void jhtml_escape(jbuf *b, const char *s, size_t n);

/* ------------------------------------------------------------------------
 * JSON (json.c)
 * ---------------------------------------------------------------------- */

/* Parse a JSON document into values; false with a message and offset. */
bool jjson_parse(jheap *h, const char *s, size_t n, jv *out, char *err, size_t errcap, size_t *errpos);

typedef struct jjson_opts {
    bool ensure_ascii;              /* escape non-ASCII as \uXXXX */
    bool sort_keys;                 /* objects in key order */
    bool indent_set;                /* indent given (not None): one item per line */
    const char *indent;             /* text of one indentation level */
    size_t indent_len;
    const char *item_sep, *key_sep; /* separators; NULL: json.dumps defaults */
    size_t item_sep_len, key_sep_len;
} jjson_opts;

/* json.dumps(v, ...) into b; TypeError for values JSON cannot hold. */
bool jjson_dump(jrender *r, const jnode *at, jv v, const jjson_opts *o, jbuf *b);

/* ------------------------------------------------------------------------
 * Filters, tests, methods, globals
 * ---------------------------------------------------------------------- */

typedef struct jfilter_def {
    const char *name; /* as written after | */
    bool (*fn)(jrender *r, const jnode *at, jv in, jargs *a, jv *out);
} jfilter_def;

typedef struct jtest_def {
    const char *name; /* as written after `is` */
    bool (*fn)(jrender *r, const jnode *at, jv in, jargs *a, bool *res);
} jtest_def;

const jfilter_def *jfilter_find(const char *name);
const jtest_def *jtest_find(const char *name);
/* Filters found in the string-oriented and sequence-oriented tables. */
const jfilter_def *jfilter_find_str(const char *name);
const jfilter_def *jfilter_find_seq(const char *name);
/* Apply a filter / test by name (map, select, ...); unknown names fail. */
bool jfilter_by_name(jrender *r, const jnode *at, jv name, jv in, jargs *a, jv *out);
bool jtest_by_name(jrender *r, const jnode *at, jv name, jv in, jargs *a, bool *res);

/* The method `name` of a str, list or dict value, or NULL. */
const jmethod_def *jmethod_find(jv self, const char *name);

/* Global functions: range, dict, namespace, raise_exception, strftime_now. */
bool jbuiltins_install(jrender *r, jdict *globals);

/* Python's time.strftime for the fields chat templates use (C locale). */
void jstrftime(jbuf *b, const char *fmt, size_t n, const struct tm *tm);

/* Python str methods shared with filters (methods.c). */
bool jstr_strip(jrender *r, jv s, jv chars, int which, jv *out); /* which: 1 left, 2 right, 3 both */
bool jstr_replace(jrender *r, jv s, jv old, jv new_, int64_t count, jv *out);
bool jstr_case(jrender *r, jv s, int how, jv *out); /* how: 'u' upper, 'l' lower, 'c' capitalize */
/* str.splitlines() into a list */
bool jstr_splitlines(jrender *r, const char *s, size_t n, bool keepends, jv *out);

/* Getter used by selectattr, map(attribute=), sort(attribute=), ...:
 * "a.b.0" looks up a, then b, then item 0 with environment.getitem. */
bool jattr_path(jrender *r, const jnode *at, jv item, jv path, jv *out);

#endif
