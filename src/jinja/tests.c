/*
 * tests.c — jinja2's tests (`x is defined`, `x is string`, ...) with
 * Python's type model: bool is a number, a string is a sequence and
 * iterable, a dict is a sequence, an Undefined is iterable.
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"

#include <string.h>

static bool one_arg(jrender *r, const jnode *at, jargs *a, const char *name, jv *arg)
{
    static const char *const params[] = {"other"};
    if (!jargs_bind(r, a, name, params, 1, 1, arg)) return false;
    return true;
}

#define NO_ARGS(name)                                                                          \
    if (a->npos || a->nkw) return jfail(r, at, "test '%s' takes no arguments", name)

#define SIMPLE_TEST(fname, name, expr)                                             \
    static bool fname(jrender *r, const jnode *at, jv v, jargs *a, bool *res)     \
    {                                                                              \
        NO_ARGS(name);                                                             \
        *res = (expr);                                                             \
        return true;                                                               \
    }

static bool is_gen(jv v) { return v.type == JT_LIST && jv_list(v)->form == JL_GEN; }

SIMPLE_TEST(t_defined, "defined", v.type != JT_UNDEF)
SIMPLE_TEST(t_undefined, "undefined", v.type == JT_UNDEF)
SIMPLE_TEST(t_none, "none", v.type == JT_NONE)
SIMPLE_TEST(t_boolean, "boolean", v.type == JT_BOOL)
SIMPLE_TEST(t_false, "false", v.type == JT_BOOL && !v.u.i)
SIMPLE_TEST(t_true, "true", v.type == JT_BOOL && v.u.i)
SIMPLE_TEST(t_integer, "integer", v.type == JT_INT)
SIMPLE_TEST(t_float, "float", v.type == JT_FLOAT)
SIMPLE_TEST(t_number, "number", jv_is_num(v))
SIMPLE_TEST(t_string, "string", v.type == JT_STR)
SIMPLE_TEST(t_mapping, "mapping", v.type == JT_DICT)
/* Undefined has __len__ and __getitem__, so it passes as a sequence */
SIMPLE_TEST(t_sequence, "sequence", (v.type == JT_LIST && !is_gen(v)) || v.type == JT_STR || v.type == JT_DICT || v.type == JT_UNDEF)
SIMPLE_TEST(t_iterable, "iterable", v.type == JT_LIST || v.type == JT_STR || v.type == JT_DICT || v.type == JT_UNDEF)
SIMPLE_TEST(t_callable, "callable", v.type == JT_MACRO || v.type == JT_FUNC || v.type == JT_METHOD)
SIMPLE_TEST(t_escaped, "escaped", v.type == JT_STR && (v.flags & JV_SAFE))

static bool parity(jrender *r, const jnode *at, jv v, jargs *a, bool *res, int want)
{
    NO_ARGS(want ? "odd" : "even");
    if (v.type == JT_UNDEF) return jfail_undef(r, at, v);
    jv m;
    if (!jbinop(r, at, JOP_MOD, v, jv_int(2), &m)) return false;
    *res = jv_equal(m, jv_int(want));
    return true;
}

static bool t_odd(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return parity(r, at, v, a, res, 1); }
static bool t_even(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return parity(r, at, v, a, res, 0); }

static bool t_divisibleby(jrender *r, const jnode *at, jv v, jargs *a, bool *res)
{
    jv num;
    if (!one_arg(r, at, a, "divisibleby", &num)) return false;
    jv m;
    if (!jbinop(r, at, JOP_MOD, v, num, &m)) return false;
    *res = jv_equal(m, jv_int(0));
    return true;
}

static bool cmp_test(jrender *r, const jnode *at, jv v, jargs *a, bool *res, int op, const char *name)
{
    jv other;
    if (!one_arg(r, at, a, name, &other)) return false;
    return jcompare(r, at, op, v, other, res);
}

static bool t_eq(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return cmp_test(r, at, v, a, res, JOP_EQ, "eq"); }
static bool t_ne(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return cmp_test(r, at, v, a, res, JOP_NE, "ne"); }
static bool t_lt(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return cmp_test(r, at, v, a, res, JOP_LT, "lt"); }
static bool t_le(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return cmp_test(r, at, v, a, res, JOP_LTEQ, "le"); }
static bool t_gt(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return cmp_test(r, at, v, a, res, JOP_GT, "gt"); }
static bool t_ge(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return cmp_test(r, at, v, a, res, JOP_GTEQ, "ge"); }
static bool t_in(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return cmp_test(r, at, v, a, res, JOP_IN, "in"); }

/* `is sameas`: Python identity; scalars compare by value and type */
static bool t_sameas(jrender *r, const jnode *at, jv v, jargs *a, bool *res)
{
    jv other;
    if (!one_arg(r, at, a, "sameas", &other)) return false;
    if (v.type != other.type) *res = false;
    else if (jv_on_heap(v)) *res = v.u.o == other.u.o;
    else *res = jv_equal(v, other);
    return true;
}

static bool case_test(jrender *r, const jnode *at, jv v, jargs *a, bool *res, bool upper)
{
    NO_ARGS(upper ? "upper" : "lower");
    jv s;
    if (!jv_to_str(r, at, v, &s)) return false;
    /* str.isupper(): some cased character, and no cased character of the other case */
    bool cased = false, wrong = false;
    jstr *x = jv_str(s);
    for (size_t i = 0; i < x->len;) {
        uint32_t cp;
        i += u8_decode(x->s, x->len, i, &cp);
        if (upper ? u_isupper(cp) : u_islower(cp)) cased = true;
        else if (u_iscased(cp)) wrong = true;
    }
    jv_release(s);
    *res = cased && !wrong;
    return true;
}

static bool t_upper(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return case_test(r, at, v, a, res, true); }
static bool t_lower(jrender *r, const jnode *at, jv v, jargs *a, bool *res) { return case_test(r, at, v, a, res, false); }

static bool t_filter(jrender *r, const jnode *at, jv v, jargs *a, bool *res)
{
    NO_ARGS("filter");
    *res = v.type == JT_STR && jfilter_find(jv_str(v)->s) != NULL;
    return true;
}

static bool t_test(jrender *r, const jnode *at, jv v, jargs *a, bool *res)
{
    NO_ARGS("test");
    *res = v.type == JT_STR && jtest_find(jv_str(v)->s) != NULL;
    return true;
}

static const jtest_def tests[] = {
    {"!=", t_ne},          {"<", t_lt},           {"<=", t_le},          {"==", t_eq},
    {">", t_gt},           {">=", t_ge},          {"boolean", t_boolean}, {"callable", t_callable},
    {"defined", t_defined}, {"divisibleby", t_divisibleby}, {"eq", t_eq}, {"equalto", t_eq},
    {"escaped", t_escaped}, {"even", t_even},     {"false", t_false},    {"filter", t_filter},
    {"float", t_float},    {"ge", t_ge},          {"greaterthan", t_gt}, {"gt", t_gt},
    {"in", t_in},          {"integer", t_integer}, {"iterable", t_iterable}, {"le", t_le},
    {"lessthan", t_lt},    {"lower", t_lower},    {"lt", t_lt},          {"mapping", t_mapping},
    {"ne", t_ne},          {"none", t_none},      {"number", t_number},  {"odd", t_odd},
    {"sameas", t_sameas},  {"sequence", t_sequence}, {"string", t_string}, {"test", t_test},
    {"true", t_true},      {"undefined", t_undefined}, {"upper", t_upper},
};

const jtest_def *jtest_find(const char *name)
{
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (!strcmp(tests[i].name, name)) return &tests[i];
    return NULL;
}

bool jtest_by_name(jrender *r, const jnode *at, jv name, jv in, jargs *a, bool *res)
{
    if (name.type != JT_STR) return jfail(r, at, "test name must be a string");
    const jtest_def *t = jtest_find(jv_str(name)->s);
    if (!t) return jfail(r, at, "No test named '%s'.", jv_str(name)->s);
    return jwork_given(r, at, in, a) && t->fn(r, at, in, a, res);
}
