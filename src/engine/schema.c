/*
 * schema.c — a JSON Schema compiled to the grammar of the JSON texts that
 * satisfy it (mote_grammar_from_json_schema).
 *
 * The rule: every text the grammar accepts validates against the schema.
 * A keyword mote cannot enforce that way is refused with
 * MOTE_E_UNSUPPORTED and a message naming it and where it is; it is never
 * ignored. The grammar may accept fewer texts than the schema (it writes
 * an object's properties in their listed order, numbers of at most 16
 * digits, at most 20 spaces of indentation), never more.
 *
 * Supported: type (one or a list), enum, const, properties, required,
 * additionalProperties (false, true, or a schema), items (one schema),
 * prefixItems (or an items list; exactly those items are written, so
 * additionalItems never applies), minItems,
 * maxItems, minLength, maxLength (bounds past 1024 become 1024), anyOf, oneOf whose branches have types
 * that cannot overlap, allOf of one schema, $ref within the document
 * (recursion included), $defs/definitions, minimum 0 on integers and
 * numbers, and the true/false schemas (false only where a property is
 * not generated). Annotations (title, description, default, examples,
 * $schema, $id, $comment, ...) and unknown keywords are ignored, as JSON
 * Schema says.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/status.h"
#include "engine/grammar.h"

#define SCHEMA_DEPTH_MAX 64        /* nesting of schemas being compiled */
#define SCHEMA_REPEAT_MAX 1024     /* largest minItems/maxItems/minLength/maxLength */
#define SCHEMA_DIGITS_MAX 16       /* digits of a number's integer and fraction parts */
#define SCHEMA_INDENT_MAX 20       /* spaces or tabs after a newline */
#define SCHEMA_PATH_MAX 256

typedef struct ref_rule {
    const cJSON *node;
    int rule;
} ref_rule;

typedef struct compiler {
    mote_grammar *g;
    const cJSON *root;
    ref_rule *refs;        /* schemas reached through $ref, and their rules */
    int n_refs, cap_refs;
    int depth;
    char path[SCHEMA_PATH_MAX]; /* where in the schema we are: "#/properties/a" */
    mote_status status;    /* the first failure */
    /* shared rules, made on first use (-1 until then) */
    int ws, string, number, integer, nonneg_number, nonneg_integer, boolean, null, value, str_char;
} compiler;

/* ------------------------------------------------------------------------
 * Failing
 * ---------------------------------------------------------------------- */

static int refuse(compiler *c, const char *keyword, const char *why)
{
    if (c->status == MOTE_OK)
        c->status = mote_fail(MOTE_E_UNSUPPORTED, "json schema: '%s' at %s %s", keyword, c->path, why);
    return -1;
}

static int invalid(compiler *c, const char *what)
{
    if (c->status == MOTE_OK) c->status = mote_fail(MOTE_E_INVALID, "json schema: %s at %s", what, c->path);
    return -1;
}

static int oom(compiler *c)
{
    if (c->status == MOTE_OK)
        c->status = mote_fail(MOTE_E_NOMEM, "json schema: out of memory, or a grammar past %d rules", GRAMMAR_RULES_MAX);
    return -1;
}

/* Check a rule index from the builder. */
static int ok(compiler *c, int r)
{
    return r < 0 ? oom(c) : r;
}

/* ------------------------------------------------------------------------
 * Building blocks
 * ---------------------------------------------------------------------- */

static gram_elem R(int rule)
{
    return (gram_elem){GE_RULE, rule < 0 ? UINT32_MAX : (uint32_t)rule};
}

static gram_elem S(int set)
{
    return (gram_elem){GE_SET, set < 0 ? UINT32_MAX : (uint32_t)set};
}

static int rule_of(compiler *c, const gram_elem *e, int n)
{
    const int r = grammar_rule(c->g);
    if (r < 0 || grammar_alt(c->g, r, e, n) < 0) return oom(c);
    return r;
}

static int lit(compiler *c, const char *s)
{
    return ok(c, grammar_literal(c->g, s, strlen(s)));
}

static int range_set(compiler *c, uint32_t lo, uint32_t hi)
{
    return grammar_set(c->g, 0, &lo, &hi, 1);
}

/* x repeated min..max times (max < 0: no bound). */
static int repeat(compiler *c, gram_elem x, int min, int max)
{
    const int tail = grammar_rule(c->g); /* the optional part */
    if (tail < 0) return oom(c);
    if (max < 0) { /* tail ::= x tail | "" */
        const gram_elem e[2] = {x, R(tail)};
        if (grammar_alt(c->g, tail, e, 2) < 0 || grammar_alt(c->g, tail, NULL, 0) < 0) return oom(c);
    } else { /* opt_k ::= x opt_(k-1) | "", built from the inside out */
        int inner = -1;
        for (int k = 0; k < max - min; k++) {
            const int r = k + 1 == max - min ? tail : grammar_rule(c->g);
            if (r < 0) return oom(c);
            const gram_elem e[2] = {x, R(inner)};
            if (grammar_alt(c->g, r, e, inner < 0 ? 1 : 2) < 0 || grammar_alt(c->g, r, NULL, 0) < 0) return oom(c);
            inner = r;
        }
        if (max == min && grammar_alt(c->g, tail, NULL, 0) < 0) return oom(c);
    }
    gram_elem *e = malloc(((size_t)min + 1) * sizeof *e);
    if (!e) return oom(c);
    for (int i = 0; i < min; i++) e[i] = x;
    e[min] = R(tail);
    const int r = rule_of(c, e, min + 1);
    free(e);
    return r;
}

/* ws ::= "" | " " | "\n" [ \t]{0,20} */
static int ws(compiler *c)
{
    if (c->ws >= 0) return c->ws;
    const uint32_t lo[2] = {' ', '\t'}, hi[2] = {' ', '\t'};
    const int indent = repeat(c, S(grammar_set(c->g, 0, lo, hi, 2)), 0, SCHEMA_INDENT_MAX);
    const int r = grammar_rule(c->g);
    const gram_elem sp = S(grammar_char(c->g, ' ')), nl[2] = {S(grammar_char(c->g, '\n')), R(indent)};
    if (r < 0 || grammar_alt(c->g, r, NULL, 0) < 0 || grammar_alt(c->g, r, &sp, 1) < 0 ||
        grammar_alt(c->g, r, nl, 2) < 0)
        return oom(c);
    return c->ws = r;
}

/* One character of a JSON string: unescaped (not ", \ or a control), or
 * an escape; \u escapes of surrogates are left out (a lone one is no
 * character, and a pair would count as two towards maxLength). */
static int str_char(compiler *c)
{
    if (c->str_char >= 0) return c->str_char;
    mote_grammar *g = c->g;
    const uint32_t lo[3] = {0, '"', '\\'}, hi[3] = {0x1F, '"', '\\'};
    const int plain = grammar_set(g, 1, lo, hi, 3);
    const uint32_t xl[3] = {'0', 'a', 'A'}, xh[3] = {'9', 'f', 'F'};
    const int hex = grammar_set(g, 0, xl, xh, 3);
    /* first hex digit: any but d/D; or d/D then 0-7 */
    const uint32_t nl[4] = {'0', 'a', 'e', 'A'}, nh[4] = {'9', 'c', 'f', 'C'};
    const uint32_t el[2] = {'E', 'E'}, eh[2] = {'F', 'F'};
    const int nd = grammar_set(g, 0, nl, nh, 4), ef = grammar_set(g, 0, el, eh, 1);
    const uint32_t dl[2] = {'d', 'D'}, dh[2] = {'d', 'D'};
    const int d = grammar_set(g, 0, dl, dh, 2), d07 = range_set(c, '0', '7');
    const int u4 = grammar_rule(g);
    const gram_elem u_nd[4] = {S(nd), S(hex), S(hex), S(hex)}, u_ef[4] = {S(ef), S(hex), S(hex), S(hex)};
    const gram_elem u_d[4] = {S(d), S(d07), S(hex), S(hex)};
    if (u4 < 0 || grammar_alt(g, u4, u_nd, 4) < 0 || grammar_alt(g, u4, u_ef, 4) < 0 || grammar_alt(g, u4, u_d, 4) < 0)
        return oom(c);
    const uint32_t sl[8] = {'"', '\\', '/', 'b', 'f', 'n', 'r', 't'};
    const int simple = grammar_set(g, 0, sl, sl, 8);
    const int r = grammar_rule(g);
    const gram_elem e_plain = S(plain), e_simple[2] = {S(grammar_char(g, '\\')), S(simple)};
    const gram_elem e_u[3] = {S(grammar_char(g, '\\')), S(grammar_char(g, 'u')), R(u4)};
    if (r < 0 || grammar_alt(g, r, &e_plain, 1) < 0 || grammar_alt(g, r, e_simple, 2) < 0 ||
        grammar_alt(g, r, e_u, 3) < 0)
        return oom(c);
    return c->str_char = r;
}

/* "..." with min..max characters (max < 0: any number). */
static int string_len(compiler *c, int min, int max)
{
    const int q = grammar_char(c->g, '"');
    const int body = repeat(c, R(str_char(c)), min, max);
    const gram_elem e[3] = {S(q), R(body), S(q)};
    return rule_of(c, e, 3);
}

/* digits{1,SCHEMA_DIGITS_MAX}; an integer part has no leading zero. */
static int number_rule(compiler *c, int integer, int nonneg)
{
    mote_grammar *g = c->g;
    const int digit = range_set(c, '0', '9'), d19 = range_set(c, '1', '9');
    const int more = repeat(c, S(digit), 0, SCHEMA_DIGITS_MAX - 1);
    const int intpart = grammar_rule(g);
    const gram_elem zero = S(grammar_char(g, '0')), lead[2] = {S(d19), R(more)};
    if (intpart < 0 || grammar_alt(g, intpart, &zero, 1) < 0 || grammar_alt(g, intpart, lead, 2) < 0) return oom(c);
    const int sign = grammar_rule(g); /* "" | "-" */
    const gram_elem minus = S(grammar_char(g, '-'));
    if (sign < 0 || grammar_alt(g, sign, NULL, 0) < 0 || (!nonneg && grammar_alt(g, sign, &minus, 1) < 0))
        return oom(c);
    if (integer) {
        const gram_elem e[2] = {R(sign), R(intpart)};
        return rule_of(c, e, 2);
    }
    const int digits = repeat(c, S(digit), 1, SCHEMA_DIGITS_MAX);
    const int frac = grammar_rule(g), exp = grammar_rule(g);
    const gram_elem f[2] = {S(grammar_char(g, '.')), R(digits)};
    const uint32_t el[2] = {'e', 'E'}, pl[2] = {'+', '-'};
    const int esign = grammar_rule(g);
    const gram_elem pm = S(grammar_set(g, 0, pl, pl, 2));
    const gram_elem x[3] = {S(grammar_set(g, 0, el, el, 2)), R(esign), R(digits)};
    if (frac < 0 || exp < 0 || esign < 0 || grammar_alt(g, frac, NULL, 0) < 0 || grammar_alt(g, frac, f, 2) < 0 ||
        grammar_alt(g, esign, NULL, 0) < 0 || grammar_alt(g, esign, &pm, 1) < 0 || grammar_alt(g, exp, NULL, 0) < 0 ||
        grammar_alt(g, exp, x, 3) < 0)
        return oom(c);
    /* minimum 0: no minus sign, so every number is >= 0 */
    const gram_elem e[4] = {R(sign), R(intpart), R(frac), R(exp)};
    return rule_of(c, e, 4);
}

static int shared_number(compiler *c, int integer, int nonneg)
{
    int *slot = integer ? (nonneg ? &c->nonneg_integer : &c->integer) : (nonneg ? &c->nonneg_number : &c->number);
    if (*slot < 0) *slot = number_rule(c, integer, nonneg);
    return *slot;
}

/* "[" ws (item (ws "," ws item)*)? ws "]" with min..max items. */
static int array_of(compiler *c, int item, int min, int max)
{
    mote_grammar *g = c->g;
    const int w = ws(c);
    const gram_elem next[4] = {R(w), S(grammar_char(g, ',')), R(w), R(item)};
    const int sep_item = rule_of(c, next, 4);
    const int open = grammar_char(g, '['), close = grammar_char(g, ']');
    const int r = grammar_rule(g);
    if (r < 0 || sep_item < 0) return oom(c);
    if (min == 0) {
        const gram_elem empty[3] = {S(open), R(w), S(close)};
        if (grammar_alt(g, r, empty, 3) < 0) return oom(c);
    }
    if (max != 0) {
        const int rest = repeat(c, R(sep_item), min > 0 ? min - 1 : 0, max < 0 ? -1 : max - 1);
        const gram_elem e[6] = {S(open), R(w), R(item), R(rest), R(w), S(close)};
        if (rest < 0 || grammar_alt(g, r, e, 6) < 0) return oom(c);
    }
    return r;
}

/* The JSON text of a value, as a literal. */
static int value_literal(compiler *c, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    if (!text) return oom(c);
    const int r = lit(c, text);
    free(text);
    return r;
}

static int any_value(compiler *c);

/* "{" ws ("key" ws ":" ws value (ws "," ws ...)*)? ws "}" with any keys. */
static int object_of(compiler *c, int value)
{
    mote_grammar *g = c->g;
    const int w = ws(c);
    const int key = string_len(c, 0, -1);
    const gram_elem kv_e[5] = {R(key), R(w), S(grammar_char(g, ':')), R(w), R(value)};
    const int kv = rule_of(c, kv_e, 5);
    const gram_elem next[4] = {R(w), S(grammar_char(g, ',')), R(w), R(kv)};
    const int rest = repeat(c, R(rule_of(c, next, 4)), 0, -1);
    const int r = grammar_rule(g);
    const gram_elem empty[3] = {S(grammar_char(g, '{')), R(w), S(grammar_char(g, '}'))};
    const gram_elem full[6] = {S(grammar_char(g, '{')), R(w), R(kv), R(rest), R(w), S(grammar_char(g, '}'))};
    if (r < 0 || grammar_alt(g, r, empty, 3) < 0 || grammar_alt(g, r, full, 6) < 0) return oom(c);
    return r;
}

/* Any JSON value (the schema {} or true). */
static int any_value(compiler *c)
{
    if (c->value >= 0) return c->value;
    mote_grammar *g = c->g;
    const int r = c->value = grammar_rule(g); /* made first: objects and arrays refer to it */
    if (r < 0) return oom(c);
    const int obj = object_of(c, r), arr = array_of(c, r, 0, -1);
    const int str = string_len(c, 0, -1), num = shared_number(c, 0, 0);
    const int t = lit(c, "true"), f = lit(c, "false"), n = lit(c, "null");
    const int alts[7] = {obj, arr, str, num, t, f, n};
    for (int i = 0; i < 7; i++) {
        const gram_elem e = R(alts[i]);
        if (grammar_alt(g, r, &e, 1) < 0) return oom(c);
    }
    return r;
}

/* ------------------------------------------------------------------------
 * Schemas
 * ---------------------------------------------------------------------- */

enum { T_NULL = 1, T_BOOLEAN = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16, T_STRING = 32, T_INTEGER = 64,
       T_ALL = 127 };

static int type_bit(const char *name)
{
    static const char *const names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
    for (int i = 0; i < 7; i++)
        if (strcmp(name, names[i]) == 0) return 1 << i;
    return 0;
}

/* The types a JSON value has (an integer-valued number is both). */
static int value_types(const cJSON *v)
{
    if (cJSON_IsNull(v)) return T_NULL;
    if (cJSON_IsBool(v)) return T_BOOLEAN;
    if (cJSON_IsObject(v)) return T_OBJECT;
    if (cJSON_IsArray(v)) return T_ARRAY;
    if (cJSON_IsString(v)) return T_STRING;
    const double d = v->valuedouble;
    return T_NUMBER | (d == floor(d) && isfinite(d) ? T_INTEGER : 0);
}

/* The schema's "type" as bits; T_ALL when absent. -1 when malformed. */
static int schema_types(compiler *c, const cJSON *s)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (!t) return T_ALL;
    if (cJSON_IsString(t)) {
        const int b = type_bit(t->valuestring);
        return b ? b : invalid(c, "an unknown 'type'");
    }
    if (!cJSON_IsArray(t)) return invalid(c, "'type' that is not a string or a list");
    int bits = 0;
    for (const cJSON *e = t->child; e; e = e->next) {
        const int b = cJSON_IsString(e) ? type_bit(e->valuestring) : 0;
        if (!b) return invalid(c, "an unknown 'type'");
        bits |= b;
    }
    return bits;
}

static int compile(compiler *c, const cJSON *s);

/* Append "/seg" to the path for the duration of a sub-compile. */
static size_t path_push(compiler *c, const char *seg)
{
    const size_t n = strlen(c->path);
    snprintf(c->path + n, sizeof c->path - n, "/%s", seg);
    return n;
}

static int compile_at(compiler *c, const cJSON *s, const char *seg)
{
    const size_t n = path_push(c, seg);
    const int r = compile(c, s);
    c->path[n] = '\0';
    return r;
}

/* A non-negative integer keyword; *out keeps its default when absent. An
 * upper bound past SCHEMA_REPEAT_MAX becomes that (fewer is still
 * valid); a lower bound past it is refused. */
static int count_keyword(compiler *c, const cJSON *s, const char *name, int *out, int is_max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, name);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble))
        return invalid(c, "a count that is not a non-negative integer");
    if (v->valuedouble > SCHEMA_REPEAT_MAX) {
        if (!is_max) return refuse(c, name, "is larger than mote enforces (1024)");
        *out = SCHEMA_REPEAT_MAX;
        return 0;
    }
    *out = (int)v->valuedouble;
    return 0;
}

/* $ref within the document: "#", "#/a/b" (JSON pointer, ~0 ~1 escapes). */
static const cJSON *resolve(compiler *c, const char *ref)
{
    if (ref[0] != '#') return refuse(c, "$ref", "points outside the schema"), NULL;
    const cJSON *node = c->root;
    const char *p = ref + 1;
    if (*p && *p != '/') return refuse(c, "$ref", "names an anchor (only JSON pointers are followed)"), NULL;
    while (*p == '/') {
        p++;
        char seg[256];
        size_t n = 0;
        for (; *p && *p != '/' && n + 1 < sizeof seg; p++) {
            if (*p == '~' && p[1] == '0') seg[n++] = '~', p++;
            else if (*p == '~' && p[1] == '1') seg[n++] = '/', p++;
            else if (*p == '%') return refuse(c, "$ref", "uses percent-encoding"), NULL;
            else seg[n++] = *p;
        }
        seg[n] = '\0';
        if (cJSON_IsArray(node)) {
            char *end;
            const long i = strtol(seg, &end, 10);
            node = *end || end == seg ? NULL : cJSON_GetArrayItem(node, (int)i);
        } else {
            node = cJSON_GetObjectItemCaseSensitive(node, seg);
        }
        if (!node) return invalid(c, "a $ref to nothing"), NULL;
    }
    return node;
}

/* Keywords that constrain values and that mote does not enforce. */
static int refuse_unknown_constraints(compiler *c, const cJSON *s)
{
    static const char *const no[] = {
        "not", "if", "then", "else", "pattern", "patternProperties", "propertyNames", "dependencies",
        "dependentRequired", "dependentSchemas", "contains", "minContains", "maxContains", "uniqueItems",
        "multipleOf", "maximum", "exclusiveMinimum", "exclusiveMaximum", "format", "unevaluatedItems",
        "unevaluatedProperties", "$dynamicRef", "$recursiveRef", "minProperties",
        "maxProperties", "contentSchema",
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (cJSON_GetObjectItemCaseSensitive(s, no[i])) {
            /* harmless forms */
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, no[i]);
            if (strcmp(no[i], "uniqueItems") == 0 && cJSON_IsFalse(v)) continue;
            if (strcmp(no[i], "minProperties") == 0 && cJSON_IsNumber(v) && v->valuedouble <= 0) continue;
            return refuse(c, no[i], "is not supported");
        }
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(s, "minimum");
    if (min && !(cJSON_IsNumber(min) && min->valuedouble == 0))
        return refuse(c, "minimum", "is supported only as 0");
    return 0;
}

/* An object with listed properties: required ones in order, then the
 * others, each optional. */
static int object_props(compiler *c, const cJSON *s)
{
    mote_grammar *g = c->g;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    if (props && !cJSON_IsObject(props)) return invalid(c, "'properties' that is not an object");
    if (req && !cJSON_IsArray(req)) return invalid(c, "'required' that is not a list");
    for (const cJSON *r = req ? req->child : NULL; r; r = r->next)
        if (!cJSON_IsString(r)) return invalid(c, "'required' with a name that is not a string");
    if (!props || !props->child) {
        if (req && req->child) { /* required names without schemas: any values, if allowed */
            if (cJSON_IsFalse(addl)) return refuse(c, "required", "names properties that additionalProperties forbids");
        } else if (!addl || cJSON_IsTrue(addl)) {
            return object_of(c, any_value(c));
        } else if (cJSON_IsFalse(addl)) {
            return lit(c, "{}");
        } else {
            return object_of(c, compile_at(c, addl, "additionalProperties"));
        }
    }
    /* the members: required first (in the order of "required"), then the rest */
    int n = 0;
    for (const cJSON *p = props ? props->child : NULL; p; p = p->next) n++;
    for (const cJSON *r = req ? req->child : NULL; r; r = r->next) n++;
    int *kv = malloc(((size_t)n + 1) * sizeof *kv), *is_req = calloc((size_t)n + 1, sizeof *is_req);
    if (!kv || !is_req) return free(kv), free(is_req), oom(c);
    int k = 0, rc = 0;
    const int w = ws(c);
    for (int pass = 0; pass < 2 && rc >= 0; pass++) {
        /* pass 0: the required names; pass 1: the other properties */
        const cJSON *list = pass == 0 ? (req ? req->child : NULL) : (props ? props->child : NULL);
        for (const cJSON *it = list; it && rc >= 0; it = it->next) {
            const char *name = pass == 0 ? it->valuestring : it->string;
            int dup = 0;
            for (const cJSON *r = req ? req->child : NULL; pass == 1 && r && !dup; r = r->next)
                dup = strcmp(r->valuestring, name) == 0;
            for (const cJSON *r = req ? req->child : NULL; pass == 0 && r != it && !dup; r = r->next)
                dup = strcmp(r->valuestring, name) == 0;
            if (dup) continue;
            const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, name) : NULL;
            int value;
            if (ps) {
                char seg[128];
                snprintf(seg, sizeof seg, "properties/%.100s", name);
                if (cJSON_IsFalse(ps)) {
                    if (pass == 0) rc = refuse(c, "required", "names a property whose schema is false");
                    continue; /* never written */
                }
                value = compile_at(c, ps, seg);
            } else if (addl && !cJSON_IsTrue(addl)) {
                value = cJSON_IsFalse(addl) ? refuse(c, "required", "names a property additionalProperties forbids")
                                            : compile_at(c, addl, "additionalProperties");
            } else {
                value = any_value(c);
            }
            cJSON *key = cJSON_CreateString(name);
            const int key_rule = key ? value_literal(c, key) : oom(c);
            cJSON_Delete(key);
            const gram_elem e[5] = {R(key_rule), R(w), S(grammar_char(g, ':')), R(w), R(value)};
            if (value < 0 || key_rule < 0) rc = -1;
            else {
                is_req[k] = pass == 0;
                kv[k++] = rule_of(c, e, 5);
            }
        }
    }
    if (rc < 0) return free(kv), free(is_req), -1;
    /* rest_i: the members from i on, after at least one member was written:
     *   required i:  ws "," ws kv_i rest_(i+1)
     *   optional i:  ws "," ws kv_i rest_(i+1) | rest_(i+1)
     * first_i: the same before any member (no comma before kv_i). */
    int rest = rule_of(c, NULL, 0), first = rest;
    for (int i = k - 1; i >= 0 && rest >= 0; i--) {
        const gram_elem with[5] = {R(w), S(grammar_char(g, ',')), R(w), R(kv[i]), R(rest)};
        const gram_elem lead[2] = {R(kv[i]), R(rest)};
        const int nr = grammar_rule(g), nf = grammar_rule(g);
        if (nr < 0 || nf < 0 || grammar_alt(g, nr, with, 5) < 0 || grammar_alt(g, nf, lead, 2) < 0) {
            rest = oom(c);
            break;
        }
        if (!is_req[i]) {
            const gram_elem skip_r = R(rest), skip_f = R(first);
            if (grammar_alt(g, nr, &skip_r, 1) < 0 || grammar_alt(g, nf, &skip_f, 1) < 0) {
                rest = oom(c);
                break;
            }
        }
        rest = nr;
        first = nf;
    }
    free(kv);
    free(is_req);
    if (rest < 0) return -1;
    const gram_elem e[5] = {S(grammar_char(g, '{')), R(w), R(first), R(w), S(grammar_char(g, '}'))};
    return rule_of(c, e, 5);
}

static int array_schema(compiler *c, const cJSON *s)
{
    int min = 0, max = -1;
    if (count_keyword(c, s, "minItems", &min, 0) != 0 || count_keyword(c, s, "maxItems", &max, 1) != 0) return -1;
    if (max >= 0 && min > max) return refuse(c, "minItems", "is larger than maxItems: no array fits");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(s, "prefixItems");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    if (!prefix && cJSON_IsArray(items)) prefix = items, items = NULL; /* drafts before 2020-12 */
    if (prefix) { /* a tuple: exactly its items, when the limits allow */
        if (!cJSON_IsArray(prefix)) return invalid(c, "'prefixItems' that is not a list");
        const int n = cJSON_GetArraySize(prefix);
        if (items && !cJSON_IsFalse(items) && n < min)
            return refuse(c, "items", "after prefixItems is supported only when no more items are needed");
        if (n < min || (max >= 0 && n > max)) return refuse(c, "prefixItems", "has a length minItems/maxItems forbid");
        if (n == 0) return lit(c, "[]");
        mote_grammar *g = c->g;
        const int w = ws(c);
        gram_elem *e = malloc((size_t)(4 * n + 2) * sizeof *e);
        if (!e) return oom(c);
        int k = 0, i = 0, rc = 0;
        e[k++] = S(grammar_char(g, '['));
        e[k++] = R(w);
        for (const cJSON *it = prefix->child; it; it = it->next, i++) {
            char seg[32];
            snprintf(seg, sizeof seg, "prefixItems/%d", i);
            const int r = compile_at(c, it, seg);
            if (r < 0) rc = -1;
            if (i) e[k++] = S(grammar_char(g, ',')), e[k++] = R(w);
            e[k++] = R(r);
            e[k++] = R(w);
        }
        e[k++] = S(grammar_char(g, ']'));
        const int r = rc < 0 ? -1 : rule_of(c, e, k);
        free(e);
        return r;
    }
    int item;
    if (!items || cJSON_IsTrue(items)) item = any_value(c);
    else if (cJSON_IsFalse(items)) {
        if (min > 0) return refuse(c, "items", "is false while minItems asks for items");
        return lit(c, "[]");
    } else item = compile_at(c, items, "items");
    return item < 0 ? -1 : array_of(c, item, min, max);
}

static int string_schema(compiler *c, const cJSON *s)
{
    int min = 0, max = -1;
    if (count_keyword(c, s, "minLength", &min, 0) != 0 || count_keyword(c, s, "maxLength", &max, 1) != 0) return -1;
    if (max >= 0 && min > max) return refuse(c, "minLength", "is larger than maxLength: no string fits");
    if (min == 0 && max < 0) {
        if (c->string < 0) c->string = string_len(c, 0, -1);
        return c->string;
    }
    return string_len(c, min, max);
}

/* The rule of one type under the schema's keywords. */
static int typed(compiler *c, const cJSON *s, int type)
{
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(s, "minimum");
    switch (type) {
    case T_NULL: return c->null >= 0 ? c->null : (c->null = lit(c, "null"));
    case T_BOOLEAN:
        if (c->boolean < 0) {
            const int t = lit(c, "true"), f = lit(c, "false"), r = grammar_rule(c->g);
            const gram_elem et = R(t), ef = R(f);
            if (r < 0 || grammar_alt(c->g, r, &et, 1) < 0 || grammar_alt(c->g, r, &ef, 1) < 0) return oom(c);
            c->boolean = r;
        }
        return c->boolean;
    case T_OBJECT: return object_props(c, s);
    case T_ARRAY: return array_schema(c, s);
    case T_STRING: return string_schema(c, s);
    case T_NUMBER: return shared_number(c, 0, min != NULL);
    default: return shared_number(c, 1, min != NULL);
    }
}

/* enum/const: the listed values that the schema's types allow. */
static int enumeration(compiler *c, const cJSON *s, int types)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(s, "const");
    if (en && !cJSON_IsArray(en)) return invalid(c, "'enum' that is not a list");
    const int r = grammar_rule(c->g);
    if (r < 0) return oom(c);
    int n = 0;
    for (const cJSON *v = cn ? cn : en->child; v; v = cn ? NULL : v->next) {
        if (!(value_types(v) & types)) continue;
        if (cn && en) { /* both: the const must be in the enum */
            int in = 0;
            for (const cJSON *e = en->child; e && !in; e = e->next) in = cJSON_Compare(e, cn, 1);
            if (!in) continue;
        }
        /* a value that other keywords could reject is refused, not trusted */
        if ((cJSON_IsObject(v) || cJSON_IsArray(v) || cJSON_IsString(v) || cJSON_IsNumber(v)) &&
            (cJSON_GetObjectItemCaseSensitive(s, "properties") || cJSON_GetObjectItemCaseSensitive(s, "required") ||
             cJSON_GetObjectItemCaseSensitive(s, "items") || cJSON_GetObjectItemCaseSensitive(s, "minItems") ||
             cJSON_GetObjectItemCaseSensitive(s, "maxItems") || cJSON_GetObjectItemCaseSensitive(s, "minLength") ||
             cJSON_GetObjectItemCaseSensitive(s, "maxLength") || cJSON_GetObjectItemCaseSensitive(s, "minimum") ||
             cJSON_GetObjectItemCaseSensitive(s, "additionalProperties") ||
             cJSON_GetObjectItemCaseSensitive(s, "prefixItems")))
            return refuse(c, cn ? "const" : "enum", "together with other constraints on its values is not supported");
        const gram_elem e = R(value_literal(c, v));
        if (grammar_alt(c->g, r, &e, 1) < 0) return oom(c);
        n++;
    }
    if (n == 0) return refuse(c, cn ? "const" : "enum", "leaves no value the schema allows");
    return r;
}

/* Types that two oneOf branches could share. */
static int oneof_disjoint(compiler *c, const cJSON *list)
{
    int seen = 0;
    for (const cJSON *b = list->child; b; b = b->next) {
        if (!cJSON_IsObject(b) || !cJSON_GetObjectItemCaseSensitive(b, "type") ||
            cJSON_GetObjectItemCaseSensitive(b, "$ref") || cJSON_GetObjectItemCaseSensitive(b, "anyOf") ||
            cJSON_GetObjectItemCaseSensitive(b, "oneOf") || cJSON_GetObjectItemCaseSensitive(b, "allOf"))
            return 0;
        int t = schema_types(c, b);
        if (t < 0) return 0;
        if (t & T_INTEGER) t |= T_NUMBER; /* integers are numbers */
        if (t & T_NUMBER) t |= T_INTEGER;
        if (t & seen) return 0;
        seen |= t;
    }
    return 1;
}

/* Alternatives of a list of schemas. */
static int alternatives(compiler *c, const cJSON *list, const char *name)
{
    if (!cJSON_IsArray(list) || !list->child) return invalid(c, "a combinator that is not a non-empty list");
    const int r = grammar_rule(c->g);
    if (r < 0) return oom(c);
    int i = 0;
    for (const cJSON *b = list->child; b; b = b->next, i++) {
        if (cJSON_IsFalse(b)) continue;
        char seg[48];
        snprintf(seg, sizeof seg, "%s/%d", name, i);
        const gram_elem e = R(compile_at(c, b, seg));
        if (e.arg == UINT32_MAX || grammar_alt(c->g, r, &e, 1) < 0) return c->status != MOTE_OK ? -1 : oom(c);
    }
    return r;
}

static int compile(compiler *c, const cJSON *s)
{
    if (c->status != MOTE_OK) return -1;
    if (cJSON_IsTrue(s)) return any_value(c);
    if (cJSON_IsFalse(s)) return refuse(c, "false", "allows no value");
    if (!cJSON_IsObject(s)) return invalid(c, "a schema that is not an object or a boolean");
    if (++c->depth > SCHEMA_DEPTH_MAX) {
        c->depth--;
        return refuse(c, "$ref", "nests deeper than mote follows (64)");
    }
    int r = -1;
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
    int n_kw = 0; /* constraining keywords beside a combinator or $ref */
    for (const cJSON *k = s->child; k; k = k->next) {
        static const char *const note[] = {"title", "description", "default", "examples", "$schema", "$id",
                                           "$comment", "$defs", "definitions", "deprecated", "readOnly",
                                           "writeOnly", "$anchor", "$dynamicAnchor", "$vocabulary",
                                           "contentMediaType", "contentEncoding"};
        int is_note = 0;
        for (size_t i = 0; i < sizeof note / sizeof *note && !is_note; i++) is_note = strcmp(k->string, note[i]) == 0;
        n_kw += !is_note;
    }
    if (refuse_unknown_constraints(c, s) != 0) goto out;
    if (ref) {
        if (n_kw > 1) {
            refuse(c, "$ref", "beside other constraints is not supported");
            goto out;
        }
        if (!cJSON_IsString(ref)) {
            invalid(c, "a $ref that is not a string");
            goto out;
        }
        const cJSON *target = resolve(c, ref->valuestring);
        if (!target) goto out;
        for (int i = 0; i < c->n_refs; i++)
            if (c->refs[i].node == target) {
                r = c->refs[i].rule;
                goto out;
            }
        /* a rule made before its body, so that recursion refers to it */
        if (c->n_refs == c->cap_refs) {
            const int cap = c->cap_refs ? 2 * c->cap_refs : 8;
            ref_rule *p = realloc(c->refs, (size_t)cap * sizeof *p);
            if (!p) {
                oom(c);
                goto out;
            }
            c->refs = p;
            c->cap_refs = cap;
        }
        const int rule = grammar_rule(c->g);
        if (rule < 0) {
            oom(c);
            goto out;
        }
        c->refs[c->n_refs++] = (ref_rule){target, rule};
        char saved[SCHEMA_PATH_MAX];
        memcpy(saved, c->path, sizeof saved);
        snprintf(c->path, sizeof c->path, "%.200s", ref->valuestring);
        const gram_elem e = R(compile(c, target));
        memcpy(c->path, saved, sizeof saved);
        if (e.arg == UINT32_MAX || grammar_alt(c->g, rule, &e, 1) < 0) {
            if (c->status == MOTE_OK) oom(c);
            goto out;
        }
        r = rule;
        goto out;
    }
    if (any || one || all) {
        if (n_kw > 1 || (!!any + !!one + !!all) > 1) {
            refuse(c, any ? "anyOf" : one ? "oneOf" : "allOf", "beside other constraints is not supported");
            goto out;
        }
        if (all) {
            if (!cJSON_IsArray(all) || cJSON_GetArraySize(all) != 1) {
                refuse(c, "allOf", "of more than one schema is not supported");
                goto out;
            }
            r = compile_at(c, all->child, "allOf/0");
        } else if (one && !oneof_disjoint(c, one)) {
            refuse(c, "oneOf", "is supported only when its branches have types that cannot overlap");
        } else {
            r = alternatives(c, any ? any : one, any ? "anyOf" : "oneOf");
        }
        goto out;
    }
    const int types = schema_types(c, s);
    if (types < 0) goto out;
    if (cJSON_GetObjectItemCaseSensitive(s, "enum") || cJSON_GetObjectItemCaseSensitive(s, "const")) {
        r = enumeration(c, s, types);
        goto out;
    }
    /* one rule per allowed type; a number type covers integers */
    int bits = types;
    if ((bits & T_NUMBER) && (bits & T_INTEGER)) bits &= ~T_INTEGER;
    int alts[7], n = 0;
    for (int t = 1; t <= T_INTEGER; t <<= 1)
        if (bits & t) alts[n++] = typed(c, s, t);
    if (n == 1) r = alts[0];
    else {
        r = grammar_rule(c->g);
        for (int i = 0; i < n && r >= 0; i++) {
            const gram_elem e = R(alts[i]);
            if (alts[i] < 0 || grammar_alt(c->g, r, &e, 1) < 0) r = -1;
        }
    }
out:
    c->depth--;
    if (r < 0 && c->status == MOTE_OK) oom(c);
    return c->status == MOTE_OK ? r : -1;
}

mote_status mote_grammar_from_json_schema(const char *schema, size_t len, mote_grammar **out)
{
    return mote_grammar_from_json_schema_framed(schema, len, NULL, NULL, out);
}

mote_status mote_grammar_from_json_schema_framed(const char *schema, size_t len, const char *before,
                                                 const char *after, mote_grammar **out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "mote_grammar_from_json_schema: NULL out");
    *out = NULL;
    if (!schema) return mote_fail(MOTE_E_INVALID, "mote_grammar_from_json_schema: NULL schema");
    cJSON *root = cJSON_ParseWithLength(schema, len);
    if (!root) return mote_fail(MOTE_E_INVALID, "json schema: not valid JSON");
    compiler c = {.root = root, .path = "#", .ws = -1, .string = -1, .number = -1, .integer = -1,
                  .nonneg_number = -1, .nonneg_integer = -1, .boolean = -1, .null = -1, .value = -1,
                  .str_char = -1};
    if (!(c.g = grammar_new())) {
        cJSON_Delete(root);
        return mote_fail(MOTE_E_NOMEM, "json schema: out of memory");
    }
    /* the text is the value, with white space around it allowed */
    const int value = compile(&c, root);
    int top = -1;
    if (value >= 0) {
        gram_elem e[5];
        int n = 0;
        if (before && *before) e[n++] = R(lit(&c, before));
        e[n++] = R(ws(&c));
        e[n++] = R(value);
        e[n++] = R(ws(&c));
        if (after && *after) e[n++] = R(lit(&c, after));
        top = rule_of(&c, e, n);
    }
    free(c.refs);
    cJSON_Delete(root);
    const int fin = top < 0 ? -1 : grammar_finish(c.g, top);
    if (fin == -2) refuse(&c, "$ref", "makes a schema refer to itself before any value is read");
    if (fin != 0) {
        mote_grammar_free(c.g);
        if (c.status == MOTE_OK) oom(&c);
        return c.status;
    }
    *out = c.g;
    return MOTE_OK;
}
