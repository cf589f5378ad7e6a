/*
 * config.c — a `mote serve --config` file (JSON, cJSON) into a
 * serve_file_config, and the sizes ("6GiB") and durations ("5m") in it.
 *
 * Every key is checked for its type and range, unknown and repeated keys
 * are refused, and each error names the path of the value at fault
 * ("models[2].keep_alive: ...") so that a person finds it in the file.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/config.h"
#include "serve/request.h"

/* The longest keep_alive, ten years: anything longer is a typo (-1 says
 * forever). */
#define KEEP_ALIVE_MAX_S (10 * 365.25 * 86400)
#define PRIORITY_LIMIT 1000  /* priorities run from -1000 to 1000 */
#define MAX_STREAMS_MAX 256  /* streams per model */
#define QUOTE_MAX 40         /* bytes of a value an error message shows */
#define KEYS_TEXT_MAX 256    /* the "known: ..." list of an unknown key's error */
#define PATH_MAX_LEN 96      /* "models[255].aliases[63]" and the like */

/* Where an error message goes (the caller's buffer). */
typedef struct errbuf {
    char *s;    /* NULL: the caller wants no message */
    size_t cap; /* bytes of s */
} errbuf;

static int fail(errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(errbuf *e, const char *fmt, ...)
{
    if (e->s && e->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->s, e->cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* s as an error message may show it: its first QUOTE_MAX bytes, each
 * byte outside printable ASCII as '?', "..." when cut. */
static const char *quoted(const char *s, char buf[QUOTE_MAX + 4])
{
    size_t n = 0;
    for (; s[n] && n < QUOTE_MAX; n++) buf[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
    strcpy(buf + n, s[n] ? "..." : "");
    return buf;
}

static int dup_string(const char *s, char **out, errbuf *e)
{
    return (*out = strdup(s)) ? 0 : fail(e, "out of memory");
}

/* ---- sizes and durations ---- */

/* A decimal number at *p: digits, then optionally '.' and digits (a digit
 * on each side). *whole: the integer part (at most INT64_MAX); *frac: the
 * fraction, 0 when none; *p moves past it. -1: no number there. */
static int parse_decimal(const char **p, uint64_t *whole, double *frac, int *has_frac)
{
    const char *s = *p;
    *whole = 0;
    *frac = 0;
    *has_frac = 0;
    if (*s < '0' || *s > '9') return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        const unsigned d = (unsigned)(*s - '0');
        if (*whole > ((uint64_t)INT64_MAX - d) / 10) return -1;
        *whole = *whole * 10 + d;
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') return -1;
        double place = 0.1;
        for (; *s >= '0' && *s <= '9'; s++, place /= 10) *frac += (*s - '0') * place;
        *has_frac = 1;
    }
    *p = s;
    return 0;
}

int serve_parse_bytes(const char *s, uint64_t *out)
{
    static const struct {
        const char *name;
        uint64_t scale;
    } units[] = {
        {"", 1},         {"B", 1},
        {"kB", 1000},    {"KB", 1000}, {"KiB", 1ull << 10},
        {"MB", 1000000}, {"MiB", 1ull << 20},
        {"GB", 1000000000ull}, {"GiB", 1ull << 30},
        {"TB", 1000000000000ull}, {"TiB", 1ull << 40},
    };
    *out = 0;
    uint64_t whole;
    double frac;
    int has_frac;
    if (!s || parse_decimal(&s, &whole, &frac, &has_frac) != 0) return -1;
    size_t u = 0;
    while (u < sizeof units / sizeof *units && strcmp(s, units[u].name) != 0) u++;
    if (u == sizeof units / sizeof *units) return -1;
    const uint64_t scale = units[u].scale;
    if (has_frac && scale == 1) return -1; /* no fraction of a byte */
    if (whole > INT64_MAX / scale) return -1;
    /* the fraction's bytes, rounded to the nearest: below scale <= 2^40,
     * so a double holds them to well under a byte */
    const uint64_t total = whole * scale, part = (uint64_t)llround(frac * (double)scale);
    if (part > INT64_MAX - total) return -1;
    *out = total + part;
    return 0;
}

int serve_parse_duration(const char *s, double *out)
{
    /* largest first: a duration names its units in this order, each once */
    static const struct {
        const char *name;
        double seconds;
    } units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}, {"ms", 0.001}};
    const int n_units = (int)(sizeof units / sizeof *units);
    *out = 0;
    if (!s || !*s) return -1;
    if (strcmp(s, "-1") == 0 || strcmp(s, "never") == 0) {
        *out = SERVE_KEEP_ALIVE_FOREVER;
        return 0;
    }
    double total = 0;
    int next = 0; /* the first unit the next part may name */
    for (const char *p = s; *p;) {
        const char *part = p;
        uint64_t whole;
        double frac;
        int has_frac;
        if (parse_decimal(&p, &whole, &frac, &has_frac) != 0) return -1;
        const double v = (double)whole + frac;
        if (!*p) {
            if (part != s) return -1; /* "1h30": a unit left out */
            total = v;                /* a bare number: seconds */
            break;
        }
        int best = -1; /* the longest unit name there ("ms" before "m") */
        for (int u = 0; u < n_units; u++) {
            const size_t len = strlen(units[u].name);
            if (strncmp(p, units[u].name, len) == 0 && (best < 0 || len > strlen(units[best].name))) best = u;
        }
        if (best < next) return -1;
        total += v * units[best].seconds;
        p += strlen(units[best].name);
        next = best + 1;
    }
    if (!(total <= KEEP_ALIVE_MAX_S)) return -1;
    *out = total;
    return 0;
}

/* ---- keys and values ---- */

/* Every key of object obj (at path `at`, "" for the root) is one of
 * known[0..n), and none is given twice. */
static int check_keys(const cJSON *obj, const char *at, const char *const *known, int n, errbuf *e)
{
    const char *dot = *at ? "." : "";
    char q[QUOTE_MAX + 4];
    for (const cJSON *k = obj->child; k; k = k->next) {
        const char *name = k->string ? k->string : "";
        int i = 0;
        while (i < n && strcmp(name, known[i]) != 0) i++;
        if (i == n) {
            char list[KEYS_TEXT_MAX] = "";
            for (size_t len = 0, j = 0; j < (size_t)n && len < sizeof list; j++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", known[j]);
            return fail(e, "%s%s%s: unknown key (known: %s)", at, dot, quoted(name, q), list);
        }
        /* every key is known, so this meets at most n earlier keys */
        for (const cJSON *j = obj->child; j != k; j = j->next)
            if (strcmp(j->string, name) == 0) return fail(e, "%s%s%s: given twice", at, dot, name);
    }
    return 0;
}

/* obj's value for key `name`, or NULL when absent or null; path gets
 * "at.name" for messages. */
static const cJSON *value_at(const cJSON *obj, const char *at, const char *name, char path[PATH_MAX_LEN])
{
    snprintf(path, PATH_MAX_LEN, "%s%s%s", at, *at ? "." : "", name);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int get_integer(const cJSON *v, const char *path, int lo, int hi, int *out, errbuf *e)
{
    const double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || d != floor(d)) return fail(e, "%s: must be an integer from %d to %d", path, lo, hi);
    *out = (int)d;
    return 0;
}

/* An id, alias or role: what a request's "model" names, so 1 to
 * SERVE_ID_MAX-1 bytes of printable ASCII with no space (it would not
 * survive a command line) nor '/' (a store's names hold it), and not
 * "role:..." (a request names a role so). NULL: fine; else why not. */
static const char *name_problem(const char *s)
{
    const size_t n = strlen(s);
    if (n == 0) return "is empty";
    if (n >= SERVE_ID_MAX) return "is too long (at most 127 bytes)";
    for (const char *c = s; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f || *c == '/') return "may hold only printable ASCII, without spaces or '/'";
    if (strncmp(s, "role:", 5) == 0) return "must not start with 'role:' (requests name roles so)";
    return NULL;
}

static int get_name(const cJSON *v, const char *path, char **out, errbuf *e)
{
    if (!cJSON_IsString(v) || !v->valuestring) return fail(e, "%s: must be a string", path);
    const char *why = name_problem(v->valuestring);
    char q[QUOTE_MAX + 4];
    if (why) return fail(e, "%s: '%s' %s", path, quoted(v->valuestring, q), why);
    return dup_string(v->valuestring, out, e);
}

/* keep_alive: a duration string, or a number of seconds (-1: forever). */
static int get_keep_alive(const cJSON *v, const char *path, double *out, errbuf *e)
{
    char q[QUOTE_MAX + 4];
    if (cJSON_IsString(v) && v->valuestring) {
        if (serve_parse_duration(v->valuestring, out) == 0) return 0;
        return fail(e, "%s: '%s' is not a duration (e.g. \"30s\", \"5m\", \"1h\", \"never\")", path,
                    quoted(v->valuestring, q));
    }
    const double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (d == SERVE_KEEP_ALIVE_FOREVER || (d >= 0 && d <= KEEP_ALIVE_MAX_S)) {
        *out = d;
        return 0;
    }
    return fail(e, "%s: must be a duration (\"5m\") or seconds from 0 to %.0f, or -1 for never", path,
                KEEP_ALIVE_MAX_S);
}

static int get_kv_type(const cJSON *v, const char *path, int *out, errbuf *e)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {{"f32", MOTE_KV_F32}, {"f16", MOTE_KV_F16}, {"q8_0", MOTE_KV_Q8_0}};
    for (size_t i = 0; cJSON_IsString(v) && v->valuestring && i < sizeof types / sizeof *types; i++)
        if (strcmp(v->valuestring, types[i].name) == 0) {
            *out = types[i].type;
            return 0;
        }
    return fail(e, "%s: must be \"f32\", \"f16\" or \"q8_0\"", path);
}

/* "sampling": the request fields' checks, with the config's paths. */
static int get_sampling(const cJSON *v, const char *path, serve_model_config *m, errbuf *e)
{
    if (!cJSON_IsObject(v)) return fail(e, "%s: must be an object", path);
    if (check_keys(v, path, serve_sampling_names, SERVE_SAMPLING_FIELDS, e) != 0) return -1;
    serve_error err;
    if (serve_parse_sampling(v, &m->sampling, &m->sampling_set, &err) == 0) return 0;
    /* "'temperature' must be ..." -> "models[0].sampling.temperature: must be ..." */
    char prefix[SERVE_PARAM_MAX + 3];
    snprintf(prefix, sizeof prefix, "'%s' ", err.param);
    const size_t skip = strncmp(err.message, prefix, strlen(prefix)) == 0 ? strlen(prefix) : 0;
    return fail(e, "%s.%s: %s", path, err.param, err.message + skip);
}

/* ---- a model, the file ---- */

static const char *const model_keys[] = {"id",       "file",   "aliases", "role",        "keep_alive", "priority",
                                         "pinned",   "n_ctx",  "max_streams", "kv_type", "sampling"};
static const char *const root_keys[] = {"memory_budget", "models"};

static int get_aliases(const cJSON *v, const char *path, int model, serve_model_config *m, errbuf *e)
{
    if (!cJSON_IsArray(v)) return fail(e, "%s: must be an array of names", path);
    const int n = cJSON_GetArraySize(v);
    if (n > SERVE_CONFIG_ALIASES_MAX) return fail(e, "%s: at most %d aliases", path, SERVE_CONFIG_ALIASES_MAX);
    if (n && !(m->aliases = calloc((size_t)n, sizeof *m->aliases))) return fail(e, "out of memory");
    char at[PATH_MAX_LEN];
    for (const cJSON *a = v->child; a; a = a->next) {
        snprintf(at, sizeof at, "models[%d].aliases[%d]", model, m->n_aliases);
        if (get_name(a, at, &m->aliases[m->n_aliases], e) != 0) return -1;
        m->n_aliases++;
    }
    return 0;
}

/* models[i] into *m (zeroed; on error partly filled, for the caller to free). */
static int parse_model(const cJSON *obj, int i, serve_model_config *m, errbuf *e)
{
    m->keep_alive_s = SERVE_KEEP_ALIVE_DEFAULT;
    m->kv_type = -1;
    m->sampling = mote_sampler_default_params();
    char at[PATH_MAX_LEN], path[PATH_MAX_LEN];
    snprintf(at, sizeof at, "models[%d]", i);
    if (!cJSON_IsObject(obj)) return fail(e, "%s: must be an object", at);
    if (check_keys(obj, at, model_keys, (int)(sizeof model_keys / sizeof *model_keys), e) != 0) return -1;
    const cJSON *v;
    if (!(v = value_at(obj, at, "id", path))) return fail(e, "%s: 'id' is required", at);
    if (get_name(v, path, &m->id, e) != 0) return -1;
    if (!(v = value_at(obj, at, "file", path))) return fail(e, "%s: 'file' is required", at);
    if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring)
        return fail(e, "%s: must be a GGUF path or a store name", path);
    if (dup_string(v->valuestring, &m->file, e) != 0) return -1;
    if ((v = value_at(obj, at, "aliases", path)) && get_aliases(v, path, i, m, e) != 0) return -1;
    if ((v = value_at(obj, at, "role", path)) && get_name(v, path, &m->role, e) != 0) return -1;
    if ((v = value_at(obj, at, "keep_alive", path)) && get_keep_alive(v, path, &m->keep_alive_s, e) != 0) return -1;
    if ((v = value_at(obj, at, "priority", path)) &&
        get_integer(v, path, -PRIORITY_LIMIT, PRIORITY_LIMIT, &m->priority, e) != 0)
        return -1;
    if ((v = value_at(obj, at, "pinned", path))) {
        if (!cJSON_IsBool(v)) return fail(e, "%s: must be true or false", path);
        m->pinned = cJSON_IsTrue(v);
    }
    if ((v = value_at(obj, at, "n_ctx", path)) && get_integer(v, path, 0, MOTE_N_CTX_MAX, &m->n_ctx, e) != 0)
        return -1;
    if ((v = value_at(obj, at, "max_streams", path)) &&
        get_integer(v, path, 0, MAX_STREAMS_MAX, &m->max_streams, e) != 0)
        return -1;
    if ((v = value_at(obj, at, "kv_type", path)) && get_kv_type(v, path, &m->kv_type, e) != 0) return -1;
    if ((v = value_at(obj, at, "sampling", path)) && get_sampling(v, path, m, e) != 0) return -1;
    return 0;
}

/* One id or alias and where it stands in the file. */
typedef struct name_place {
    const char *name;
    int model; /* models[model] */
    int alias; /* -1: the id; else aliases[alias] */
} name_place;

/* Which comes first in the file: the id, then its model's aliases. */
static int file_order(const name_place *a, const name_place *b)
{
    if (a->model != b->model) return (a->model > b->model) - (a->model < b->model);
    return (a->alias > b->alias) - (a->alias < b->alias);
}

/* By name, then in file order. */
static int name_place_cmp(const void *pa, const void *pb)
{
    const int c = strcmp(((const name_place *)pa)->name, ((const name_place *)pb)->name);
    return c ? c : file_order(pa, pb);
}

static void place_text(const name_place *p, char out[PATH_MAX_LEN])
{
    if (p->alias < 0) snprintf(out, PATH_MAX_LEN, "models[%d].id", p->model);
    else snprintf(out, PATH_MAX_LEN, "models[%d].aliases[%d]", p->model, p->alias);
}

/* No name is given twice among ids and aliases; else the error names the
 * earliest repetition in the file and what it repeats. Sorted, not
 * compared pairwise: a file may hold 256 * 65 names. */
static int check_unique(const serve_file_config *c, errbuf *e)
{
    size_t n = 0;
    for (int i = 0; i < c->n_models; i++) n += 1 + (size_t)c->models[i].n_aliases;
    name_place *all = malloc(n * sizeof *all);
    if (!all) return fail(e, "out of memory");
    n = 0;
    for (int i = 0; i < c->n_models; i++) {
        all[n++] = (name_place){c->models[i].id, i, -1};
        for (int a = 0; a < c->models[i].n_aliases; a++) all[n++] = (name_place){c->models[i].aliases[a], i, a};
    }
    qsort(all, n, sizeof *all, name_place_cmp);
    /* each run of one name starts with its earliest place; the one after
     * that is its first repetition */
    const name_place *first = NULL, *again = NULL;
    size_t run = 0;
    for (size_t k = 1; k < n; k++) {
        if (strcmp(all[run].name, all[k].name) != 0) run = k;
        else if (k == run + 1 && (!again || file_order(&all[k], again) < 0)) {
            first = &all[run];
            again = &all[k];
        }
    }
    int rc = 0;
    if (again) {
        char a[PATH_MAX_LEN], b[PATH_MAX_LEN];
        place_text(again, a);
        place_text(first, b);
        rc = fail(e, "%s: '%s' is already %s (ids and aliases must be unique)", a, again->name, b);
    }
    free(all);
    return rc;
}

static int parse_root(const cJSON *root, serve_file_config *out, errbuf *e)
{
    char path[PATH_MAX_LEN], q[QUOTE_MAX + 4];
    if (!cJSON_IsObject(root)) return fail(e, "the config must be a JSON object: {\"models\": [...]}");
    if (check_keys(root, "", root_keys, (int)(sizeof root_keys / sizeof *root_keys), e) != 0) return -1;
    const cJSON *v;
    if ((v = value_at(root, "", "memory_budget", path))) {
        if (cJSON_IsString(v) && v->valuestring) {
            if (serve_parse_bytes(v->valuestring, &out->memory_budget) != 0)
                return fail(e, "%s: '%s' is not a size (e.g. \"6GiB\", \"512MiB\", \"1.5GB\")", path,
                            quoted(v->valuestring, q));
        } else {
            /* 2^63 as a double: every double below it is an exact int64 */
            const double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
            if (!(d >= 0 && d < 9223372036854775808.0) || d != floor(d))
                return fail(e, "%s: must be a size such as \"6GiB\" or a whole number of bytes", path);
            out->memory_budget = (uint64_t)d;
        }
        if (out->memory_budget == 0) return fail(e, "%s: must be more than 0 bytes (leave it out for none)", path);
    }
    if (!(v = value_at(root, "", "models", path))) return fail(e, "'models' is required");
    const int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 1 || n > SERVE_CONFIG_MODELS_MAX)
        return fail(e, "%s: must be an array of 1 to %d models", path, SERVE_CONFIG_MODELS_MAX);
    if (!(out->models = calloc((size_t)n, sizeof *out->models))) return fail(e, "out of memory");
    for (const cJSON *m = v->child; m; m = m->next) {
        const int i = out->n_models++; /* counted first: a half-filled model is freed too */
        if (parse_model(m, i, &out->models[i], e) != 0) return -1;
    }
    return check_unique(out, e);
}

/* A syntax error's place as line, column (from 1) and byte offset. */
static int syntax_error(const char *json, size_t len, const char *at, const char *what, errbuf *e)
{
    const size_t off = at && at >= json && (size_t)(at - json) <= len ? (size_t)(at - json) : len;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        col = json[i] == '\n' ? 1 : col + 1;
        line += json[i] == '\n';
    }
    return fail(e, "not valid JSON: %s at line %zu, column %zu (byte %zu)", what, line, col, off);
}

int serve_config_parse(const char *json, size_t len, serve_file_config *out, char *err, size_t errcap)
{
    errbuf e = {err, errcap};
    memset(out, 0, sizeof *out);
    if (err && errcap) err[0] = '\0';
    if (!json) return fail(&e, "no config text");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) return syntax_error(json, len, end, "a syntax error", &e);
    /* cJSON stops after the value: only whitespace may follow it */
    size_t rest = end ? (size_t)(end - json) : len;
    while (rest < len && strchr(" \t\r\n", json[rest]) && json[rest]) rest++;
    int rc = rest < len ? syntax_error(json, len, json + rest, "text after the value", &e) : parse_root(root, out, &e);
    cJSON_Delete(root);
    if (rc != 0) serve_config_free(out);
    return rc;
}

void serve_model_config_free(serve_model_config *m)
{
    if (!m) return;
    free(m->id);
    free(m->file);
    for (int i = 0; i < m->n_aliases; i++) free(m->aliases[i]);
    free(m->aliases);
    free(m->role);
    memset(m, 0, sizeof *m);
}

void serve_config_free(serve_file_config *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_models; i++) serve_model_config_free(&c->models[i]);
    free(c->models);
    memset(c, 0, sizeof *c);
}
