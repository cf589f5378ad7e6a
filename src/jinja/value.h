/*
 * value.h — the value model of the Jinja interpreter: Python objects as C.
 *
 * A jv is a small tagged value passed by copy. Scalars (undefined, None,
 * bool, int, float) live in it; strings, lists, dicts, namespaces, macros,
 * bound methods and loop objects live on the heap behind a reference count.
 *
 * Every heap object of one render is linked into that render's jheap. Reference
 * counts free memory early (string building in loops would otherwise grow
 * quadratically); whatever is still linked when the render ends (error paths,
 * reference cycles through namespaces) is freed by jheap_free in one sweep.
 * So a forgotten release costs memory until the end of the render, never
 * correctness, while a release too many is a bug that ASan reports.
 *
 * Ownership convention: a function that produces a jv through `jv *out` hands
 * over one reference; arguments are borrowed (containers retain what they
 * store).
 */
#ifndef MOTE_JINJA_VALUE_H
#define MOTE_JINJA_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Types
 * ---------------------------------------------------------------------- */

typedef enum jtype {
    JT_UNDEF,  /* jinja Undefined; u.o is a jstr hint ("'x' is undefined") or NULL */
    JT_NONE,   /* Python None */
    JT_BOOL,   /* u.i is 0 or 1 */
    JT_INT,    /* u.i (Python ints are unbounded; we stop at int64 overflow) */
    JT_FLOAT,  /* u.f */
    JT_STR,    /* u.o is a jstr (UTF-8); flag JV_SAFE marks markupsafe.Markup */
    JT_LIST,   /* u.o is a jlist: list, tuple or one-shot generator */
    JT_DICT,   /* u.o is a jdict (insertion ordered, like Python 3.7+) */
    JT_NS,     /* u.o is a jdict holding a namespace()'s attributes */
    JT_MACRO,  /* u.o is a jmacro */
    JT_METHOD, /* u.o is a jmethod: an attribute such as s.strip, bound to s */
    JT_LOOP,   /* u.o is a jloop: the `loop` variable of a for loop */
    JT_FUNC,   /* u.fn is a global function (range, namespace, raise_exception) */
} jtype;

/* Flag bits of jv.flags. */
#define JV_SAFE 1u   /* JT_STR: Markup; `+` with a plain string escapes it */
#define JV_BLOCKED 1u /* JT_UNDEF: an attribute the sandbox refuses to give */

/* Kind of a heap object (what follows the header). */
typedef enum jkind {
    JK_STR,
    JK_LIST,
    JK_DICT,
    JK_MACRO,
    JK_METHOD,
    JK_LOOP,
    JK_SCOPE,
} jkind;

typedef struct jheap jheap;

/* Header of every heap object. */
typedef struct jobj {
    struct jobj *prev, *next; /* neighbours in the heap's list of live objects */
    jheap *heap;              /* the render this object belongs to */
    size_t size;              /* bytes charged to the heap for this object */
    uint32_t rc;              /* reference count; freed when it drops to 0 */
    uint8_t kind;             /* jkind */
} jobj;

struct jbuiltin;

typedef struct jv {
    uint8_t type;  /* jtype */
    uint8_t flags; /* JV_* bits */
    union {
        int64_t i;                 /* JT_BOOL, JT_INT */
        double f;                  /* JT_FLOAT */
        jobj *o;                   /* heap types, JT_UNDEF hint */
        const struct jbuiltin *fn; /* JT_FUNC */
    } u;
} jv;

/* Immutable UTF-8 string; s[len] is a NUL for convenience (s may hold NULs). */
typedef struct jstr {
    jobj h;
    size_t len;   /* bytes */
    size_t ncp;   /* code points, or SIZE_MAX until counted */
    char s[];
} jstr;

typedef enum jlist_form {
    JL_LIST,  /* Python list */
    JL_TUPLE, /* Python tuple (prints with parentheses) */
    JL_GEN,   /* generator from map/select/...: truthy, no len, one pass */
} jlist_form;

typedef struct jlist {
    jobj h;
    size_t n, cap; /* items used / allocated */
    uint8_t form;  /* jlist_form */
    jv *items;     /* owned references */
} jlist;

/* Ordered dict; index is an open-addressing table of entry numbers + 1
 * (0 = empty), built once the dict outgrows a linear scan. */
typedef struct jdict {
    jobj h;
    size_t n, cap;    /* entries used / allocated */
    jv *keys, *vals;  /* entries in insertion order (owned references) */
    uint32_t *index;  /* hash slots holding entry + 1, or NULL */
    size_t index_cap; /* power of two, or 0 without an index */
} jdict;

struct jnode;
struct jscope;

typedef struct jmacro {
    jobj h;
    const struct jnode *node;  /* the macro (or call block) definition */
    struct jscope *closure;    /* scope the macro was defined in */
    jv caller;                 /* call blocks: the `caller` given to the callee */
} jmacro;

struct jrender;
struct jargs;

/* A method of a builtin type: str.strip, dict.items, list.index, ... */
typedef struct jmethod_def {
    const char *name; /* Python method name */
    bool mutates;     /* refused by the immutable sandbox (HF's setting) */
    bool (*call)(struct jrender *r, jv self, struct jargs *a, jv *out);
} jmethod_def;

typedef struct jmethod {
    jobj h;
    jv self;                /* the bound object */
    const jmethod_def *def; /* which method */
} jmethod;

/* A global function such as range() or namespace(). */
typedef struct jbuiltin {
    const char *name; /* global name */
    bool (*call)(struct jrender *r, struct jargs *a, jv *out);
} jbuiltin;

/* ------------------------------------------------------------------------
 * Heap
 * ---------------------------------------------------------------------- */

/* The memory limit holds at every allocation, not only between evaluation
 * steps: one step (a split into millions of strings, a capture nested in
 * each of a hundred macro calls) cannot go past it. An allocation that would
 * fails like malloc failing, and the render reports the limit. */
struct jheap {
    jobj live;       /* sentinel of the circular list of live objects */
    jobj *pending;   /* objects whose count hit 0, waiting to be freed */
    bool draining;   /* jv_release is emptying pending (no recursion) */
    size_t bytes;    /* bytes of live objects and charged buffers */
    size_t peak;     /* highest bytes seen */
    size_t limit;    /* most bytes live at once (SIZE_MAX: no limit) */
    bool refused;    /* an allocation was refused for the limit */
    uint64_t work;       /* work done, in JWORK units */
    uint64_t work_limit; /* work allowed (UINT64_MAX: no limit) */
};

/* Work, in units of about a nanosecond. An evaluation step, a heap object
 * and an ordering comparison cost JWORK_STEP. An operation whose cost grows
 * with its values charges for it: a unit per JWORK_BLOCK bytes it
 * allocates, copies or scans with memcpy/memcmp/memmem (and per JWORK_BLOCK
 * bytes of a string it is given), a unit per byte it walks character by
 * character or hashes, JWORK_CHAR per byte it case-maps or rebuilds one
 * character at a time, JWORK_ITEM per list or dict entry it visits.
 * max_steps bounds steps plus units / JWORK_STEP, so it bounds time
 * whatever the sizes of the values: a loop cannot scan a long string or
 * compare long lists once per step for a step's price. Once the budget is
 * spent allocations fail, and primitives that have no render to fail
 * (equality, hashing) stop early with any result: the render fails at its
 * next step, so such a result never reaches the output. */
#define JWORK_STEP 16
#define JWORK_BLOCK 8
#define JWORK_CHAR 16
#define JWORK_ITEM 4

/* Charge n units; false once the budget is spent. */
static inline bool jheap_work(jheap *h, uint64_t n)
{
    h->work = n > UINT64_MAX - h->work ? UINT64_MAX : h->work + n;
    return h->work <= h->work_limit;
}
static inline bool jheap_spent(const jheap *h) { return h->work > h->work_limit; }

void jheap_init(jheap *h);
/* Count n more bytes as held; false (and nothing counted) past the limit. */
bool jheap_reserve(jheap *h, size_t n);
/* jheap_reserve, and the work of filling the bytes; false also once the
 * work budget is spent. */
bool jheap_charge(jheap *h, size_t n);
/* Scratch memory of an operation (sort keys, offsets), charged to the heap
 * until freed with its size; NULL past the limit. */
void *jheap_scratch(jheap *h, size_t n);
void jheap_scratch_free(jheap *h, void *p, size_t n);
/* Free every object still linked, whatever its reference count. */
void jheap_free(jheap *h);
/* A new object of `size` bytes (header included), count 1; NULL on failure. */
void *jheap_new(jheap *h, jkind kind, size_t size);

/* ------------------------------------------------------------------------
 * Scalars and reference counting
 * ---------------------------------------------------------------------- */

static inline jv jv_undef(void) { jv v = {JT_UNDEF, 0, {0}}; return v; }
static inline jv jv_none(void) { jv v = {JT_NONE, 0, {0}}; return v; }
static inline jv jv_bool(bool b) { jv v = {JT_BOOL, 0, {0}}; v.u.i = b; return v; }
static inline jv jv_int(int64_t i) { jv v = {JT_INT, 0, {0}}; v.u.i = i; return v; }
static inline jv jv_float(double f) { jv v = {JT_FLOAT, 0, {0}}; v.u.f = f; return v; }
static inline jv jv_obj(jtype t, void *o) { jv v = {(uint8_t)t, 0, {0}}; v.u.o = (jobj *)o; return v; }

static inline bool jv_on_heap(jv v)
{
    return (v.type >= JT_STR && v.type <= JT_LOOP) || (v.type == JT_UNDEF && v.u.o);
}
static inline jv jv_retain(jv v)
{
    if (jv_on_heap(v)) v.u.o->rc++;
    return v;
}
void jv_release(jv v);
/* Release one object reference (scopes, which are not values). */
void jobj_release(jobj *o);

static inline jstr *jv_str(jv v) { return (jstr *)v.u.o; }
static inline jlist *jv_list(jv v) { return (jlist *)v.u.o; }
static inline jdict *jv_dict(jv v) { return (jdict *)v.u.o; }

/* Numbers in Python's sense: bool, int and float. */
static inline bool jv_is_num(jv v) { return v.type == JT_BOOL || v.type == JT_INT || v.type == JT_FLOAT; }
static inline bool jv_is_intlike(jv v) { return v.type == JT_BOOL || v.type == JT_INT; }
static inline double jv_num(jv v) { return v.type == JT_FLOAT ? v.u.f : (double)v.u.i; }

/* ------------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------- */

/* Longest string a render may build (bytes). */
#define JSTR_MAX ((size_t)64 << 20)

bool jstr_new(jheap *h, const char *s, size_t n, jv *out);
/* s[0..n) repeated `times` times (Python's str * int); false past JSTR_MAX. */
bool jstr_repeat(jheap *h, const char *s, size_t n, uint64_t times, jv *out);
static inline bool jstr_cstr(jheap *h, const char *s, jv *out);
/* Code points of a string (cached). */
size_t jstr_ncp(jstr *s);

/* A growing byte buffer with a sticky failure flag: append freely, check once
 * when finishing. */
typedef struct jbuf {
    char *p;       /* malloc'd bytes, NUL-terminated while non-NULL */
    size_t n, cap; /* bytes used / allocated */
    size_t max;  /* fail beyond this many bytes */
    bool failed; /* an append hit max or malloc failed */
    jheap *heap; /* charged for cap and a unit a write, or NULL */
} jbuf;

/* A buffer outside any render (the lexer's). */
void jbuf_init(jbuf *b, size_t max);
/* A buffer of a render: its memory counts against the heap's limit and
 * each write against the work budget; either spent fails it. */
void jbuf_init_charged(jbuf *b, size_t max, jheap *h);
void jbuf_put(jbuf *b, const char *s, size_t n);
static inline void jbuf_puts(jbuf *b, const char *s);
void jbuf_putc(jbuf *b, char c);
void jbuf_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jbuf_free(jbuf *b);
/* Turn the buffer into a string value and free it; false if it failed. */
bool jbuf_to_str(jbuf *b, jheap *h, jv *out);

/* ------------------------------------------------------------------------
 * Lists and dicts
 * ---------------------------------------------------------------------- */

/* Most items a list or dict may hold. */
#define JLIST_MAX ((size_t)1 << 24)

bool jlist_new(jheap *h, jlist_form form, size_t cap, jv *out);
bool jlist_push(jlist *l, jv v); /* retains v */

bool jdict_new(jheap *h, jv *out);
/* Python hashable? (str, numbers, None, tuples of hashables) */
bool jv_hashable(jv k);
/* Entry number of key k, or -1. k must be hashable. */
long jdict_find(const jdict *d, jv k);
/* Lookup by C string key; NULL if absent. */
jv *jdict_get_cstr(const jdict *d, const char *key);
/* Insert or replace (keeps the first insertion position); retains k and v. */
bool jdict_set(jdict *d, jv k, jv v);
bool jdict_set_cstr(jdict *d, const char *key, jv v);
/* Remove every entry, keeping the allocated capacity. */
void jdict_clear(jdict *d);
/* Remove entry i (keeps order). */
void jdict_remove(jdict *d, size_t i);

/* ------------------------------------------------------------------------
 * Python semantics shared by every part of the interpreter
 * ---------------------------------------------------------------------- */

/* bool(v) */
bool jv_truthy(jv v);
/* v == w, Python rules (1 == 1.0 == True, [1] != (1,), Undefined == Undefined). */
bool jv_equal(jv a, jv b);
/* Type name as Python prints it: 'str', 'int', 'list', 'dict', 'NoneType'. */
const char *jv_type_name(jv v);

static inline bool jstr_cstr(jheap *h, const char *s, jv *out)
{
    size_t n = 0;
    while (s[n]) n++;
    return jstr_new(h, s, n, out);
}
static inline void jbuf_puts(jbuf *b, const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    jbuf_put(b, s, n);
}

#endif
