/*
 * tune_profile.c — reading, writing and applying the tuning profile
 * (tune_profile.h).
 */
#include "engine/tune_profile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/status.h"
#include "engine/model.h"
#include "gguf/ggml_type.h"
#include "kernels/kernels.h"

#ifndef MOTE_VERSION
#define MOTE_VERSION "unknown"
#endif

/* ------------------------------------------------------------------------
 * Key and path
 * ---------------------------------------------------------------------- */

void tune_key_this(tune_key *k)
{
    memset(k, 0, sizeof *k);
    cpu_model_name(k->cpu, sizeof k->cpu);
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    k->cores = cores < 1 ? 1 : (int)cores;
    snprintf(k->version, sizeof k->version, "%s", MOTE_VERSION);
    snprintf(k->isa, sizeof k->isa, "%s", kernels_get()->isa);
}

/* FNV-1a over the key's fields (for the file name; the file repeats them). */
static uint64_t key_hash(const tune_key *k)
{
    uint64_t h = 0xcbf29ce484222325ull;
    char cores[16];
    snprintf(cores, sizeof cores, "%d", k->cores);
    const char *parts[4] = {k->cpu, cores, k->version, k->isa};
    for (int i = 0; i < 4; i++)
        for (const char *p = parts[i];; p++) {
            h = (h ^ (unsigned char)*p) * 0x100000001b3ull; /* the NUL separates the fields */
            if (!*p) break;
        }
    return h;
}

uint64_t tune_model_id(const gguf_file *g)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        int64_t v[2 + GGUF_MAX_DIMS] = {t->type, t->n_dims};
        for (uint32_t d = 0; d < t->n_dims && d < GGUF_MAX_DIMS; d++) v[2 + d] = t->ne[d];
        for (const char *p = t->name;; p++) {
            h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
            if (!*p) break;
        }
        const unsigned char *b = (const unsigned char *)v;
        for (size_t j = 0; j < sizeof v; j++) h = (h ^ b[j]) * 0x100000001b3ull;
    }
    return h;
}

/* The cache directory: $XDG_CACHE_HOME/mote, else $HOME/.cache/mote. */
static mote_status cache_dir(char *buf, size_t cap)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') n = snprintf(buf, cap, "%s/mote", xdg);
    else if (home && home[0]) n = snprintf(buf, cap, "%s/.cache/mote", home);
    else return mote_fail(MOTE_E_UNSUPPORTED, "tuning profile: neither XDG_CACHE_HOME nor HOME names a directory");
    if (n < 0 || (size_t)n >= cap) return mote_fail(MOTE_E_RANGE, "tuning profile: cache directory path too long");
    return MOTE_OK;
}

mote_status tune_profile_path(const tune_key *k, char *buf, size_t cap)
{
    MOTE_TRY(cache_dir(buf, cap));
    const size_t used = strlen(buf);
    const int n = snprintf(buf + used, cap - used, "/tune-%016llx.json", (unsigned long long)key_hash(k));
    if (n < 0 || (size_t)n >= cap - used) return mote_fail(MOTE_E_RANGE, "tuning profile: path too long");
    return MOTE_OK;
}

/* mkdir -p of path's directory, 0700 for what it makes. */
static mote_status make_dirs(const char *path)
{
    char dir[1024];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return mote_fail(MOTE_E_RANGE, "%s: path too long", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return MOTE_OK;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        const char c = *p;
        if (c != '/' && c != '\0') continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return mote_fail(MOTE_E_IO, "%s: cannot create directory: %s", dir, strerror(errno));
        *p = c;
        if (!c) return MOTE_OK;
    }
}

/* ------------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------- */

static cJSON *machine_json(const mote_machine *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    const struct {
        const char *name;
        const double *v;
    } figs[] = {{"read_gbs", m->read_gbs},       {"read_gbs_huge", m->read_gbs_huge}, {"fma_gflops", m->fma_gflops},
                {"dot_gops", m->dot_gops},       {"bf16_gflops", m->bf16_gflops}};
    cJSON_AddNumberToObject(o, "threads", m->n_threads);
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        cJSON *a = cJSON_CreateDoubleArray(figs[i].v, 2);
        if (a) cJSON_AddItemToObject(o, figs[i].name, a);
    }
    cJSON_AddStringToObject(o, "dot_isa", m->dot_isa ? m->dot_isa : "");
    cJSON_AddNumberToObject(o, "l1d_bytes", (double)m->cache_l1d);
    cJSON_AddNumberToObject(o, "l2_bytes", (double)m->cache_l2);
    cJSON_AddNumberToObject(o, "l3_bytes", (double)m->cache_l3);
    return o;
}

static cJSON *spec_json(const tune_spec *sp, int n_sp)
{
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; list && i < n_sp; i++) {
        double c[MOTE_SPEC_COST_N];
        for (int j = 0; j < MOTE_SPEC_COST_N; j++) c[j] = round((double)sp[i].cost[j] * 1e4) / 1e4; /* 1.04, not 1.0399999618 */
        cJSON *o = cJSON_CreateObject(), *cost = cJSON_CreateDoubleArray(c, MOTE_SPEC_COST_N);
        char id[24];
        snprintf(id, sizeof id, "%016llx", (unsigned long long)sp[i].model);
        if (!o || !cost) {
            cJSON_Delete(o);
            cJSON_Delete(cost);
            cJSON_Delete(list);
            return NULL;
        }
        cJSON_AddStringToObject(o, "model", id);
        cJSON_AddNumberToObject(o, "threads", sp[i].threads);
        cJSON_AddItemToObject(o, "cost", cost);
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static char *profile_text(const tune_key *k, int threads, const mote_machine *machine, const tune_entry *e, int n,
                          const tune_spec *sp, int n_sp)
{
    cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
    char *text = NULL;
    if (!root || !list) goto done;
    cJSON_AddStringToObject(root, "format", TUNE_PROFILE_FORMAT);
    cJSON_AddNumberToObject(root, "version", TUNE_PROFILE_VERSION);
    cJSON_AddStringToObject(root, "cpu", k->cpu);
    cJSON_AddNumberToObject(root, "cores", k->cores);
    cJSON_AddStringToObject(root, "mote", k->version);
    cJSON_AddStringToObject(root, "isa", k->isa);
    cJSON_AddNumberToObject(root, "threads", threads);
    if (machine) {
        cJSON *m = machine_json(machine);
        if (m) cJSON_AddItemToObject(root, "machine", m);
    }
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) goto done;
        cJSON_AddItemToArray(list, o);
        cJSON_AddStringToObject(o, "type", ggml_type_name(e[i].wtype));
        cJSON_AddNumberToObject(o, "mk", e[i].mk_class);
        cJSON_AddNumberToObject(o, "n", e[i].n_class);
        kernel_tuning t = e[i].t;
        for (int j = 0; j < TUNING_FIELDS; j++) cJSON_AddNumberToObject(o, tuning_field_name(j), *tuning_field(&t, j));
    }
    cJSON_AddItemToObject(root, "kernels", list);
    list = NULL;
    if (n_sp > 0) {
        cJSON *spec = spec_json(sp, n_sp);
        if (!spec) goto done;
        cJSON_AddItemToObject(root, "speculation", spec);
    }
    text = cJSON_Print(root);
done:
    cJSON_Delete(list);
    cJSON_Delete(root);
    return text;
}

mote_status tune_profile_write(const char *path, const tune_key *k, int threads, const mote_machine *machine,
                               const tune_entry *e, int n)
{
    return tune_profile_write_all(path, k, threads, machine, e, n, NULL, 0);
}

mote_status tune_profile_write_all(const char *path, const tune_key *k, int threads, const mote_machine *machine,
                                   const tune_entry *e, int n, const tune_spec *sp, int n_sp)
{
    if (!path || !k || (n > 0 && !e) || (n_sp > 0 && !sp))
        return mote_fail(MOTE_E_INVALID, "tune_profile_write: NULL argument");
    MOTE_TRY(make_dirs(path));
    char *text = profile_text(k, threads, machine, e, n, sp, n_sp);
    if (!text) return mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    const int fd = mkstemp(tmp); /* 0600 */
    mote_status st = MOTE_OK;
    if (fd < 0) {
        st = mote_fail(MOTE_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
    } else {
        FILE *f = fdopen(fd, "w");
        if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0)
            st = mote_fail(MOTE_E_IO, "%s: cannot write: %s", tmp, strerror(errno));
        if (f ? fclose(f) != 0 : close(fd) != 0)
            if (st == MOTE_OK) st = mote_fail(MOTE_E_IO, "%s: cannot write: %s", tmp, strerror(errno));
        if (st == MOTE_OK && rename(tmp, path) != 0)
            st = mote_fail(MOTE_E_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        if (st != MOTE_OK) unlink(tmp);
    }
    free(text);
    return st;
}

/* ------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------- */

static uint32_t type_by_name(const char *name)
{
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++) {
        const ggml_type_traits *tr = ggml_type_get(t);
        if (tr && tr->name && strcmp(tr->name, name) == 0) return t;
    }
    return MOTE_TYPE_COUNT;
}

/* An integer member of o in [lo, hi] into *v; 0 if absent or not one. */
static int get_int(const cJSON *o, const char *name, long lo, long hi, long *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(x)) return 0;
    const double d = x->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi)) return 0; /* NaN too; before the cast, which must fit */
    *v = (long)d;
    return (double)*v == d;
}

static const char *get_str(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static mote_status read_entry(const char *path, const cJSON *o, int i, tune_entry *e)
{
    const char *type = get_str(o, "type");
    long mk, nc;
    if (!cJSON_IsObject(o) || !type || !get_int(o, "mk", 0, TUNING_MK_CLASSES - 1, &mk) ||
        !get_int(o, "n", 0, TUNING_N_CLASSES - 1, &nc))
        return mote_fail(MOTE_E_FORMAT, "%s: kernels[%d]: needs a type name and classes mk (0..%d) and n (0..%d)",
                         path, i, TUNING_MK_CLASSES - 1, TUNING_N_CLASSES - 1);
    e->wtype = type_by_name(type);
    if (e->wtype == MOTE_TYPE_COUNT) return mote_fail(MOTE_E_FORMAT, "%s: kernels[%d]: unknown type %s", path, i, type);
    e->mk_class = (int)mk;
    e->n_class = (int)nc;
    for (int j = 0; j < TUNING_FIELDS; j++) {
        long v;
        if (!get_int(o, tuning_field_name(j), 0, INT32_MAX, &v))
            return mote_fail(MOTE_E_FORMAT, "%s: kernels[%d]: %s missing or not a whole number", path, i,
                             tuning_field_name(j));
        *tuning_field(&e->t, j) = (int32_t)v;
    }
    if (!tuning_valid(&e->t)) return mote_fail(MOTE_E_FORMAT, "%s: kernels[%d]: a value out of bounds", path, i);
    return MOTE_OK;
}

#define SPEC_COST_MAX 1e4 /* a pass of 9 tokens 10^4 times one token's is not a measurement */

static mote_status read_spec(const char *path, const cJSON *o, int i, tune_spec *sp)
{
    const char *id = get_str(o, "model");
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(o, "cost");
    long threads;
    char *end = NULL;
    if (!cJSON_IsObject(o) || !id || !get_int(o, "threads", 0, 1L << 20, &threads) || !cJSON_IsArray(cost) ||
        cJSON_GetArraySize(cost) != MOTE_SPEC_COST_N)
        return mote_fail(MOTE_E_FORMAT, "%s: speculation[%d]: needs a model id, threads and %d costs", path, i,
                         MOTE_SPEC_COST_N);
    sp->model = strtoull(id, &end, 16);
    if (end == id || *end != '\0' || strlen(id) != 16)
        return mote_fail(MOTE_E_FORMAT, "%s: speculation[%d]: model id \"%.20s\" is not 16 hex digits", path, i, id);
    sp->threads = (int)threads;
    for (int j = 0; j < MOTE_SPEC_COST_N; j++) {
        const cJSON *c = cJSON_GetArrayItem(cost, j);
        if (!cJSON_IsNumber(c) || !(c->valuedouble > 0.0 && c->valuedouble <= SPEC_COST_MAX))
            return mote_fail(MOTE_E_FORMAT, "%s: speculation[%d]: cost %d not a positive number", path, i, j + 1);
        sp->cost[j] = (float)c->valuedouble;
    }
    return MOTE_OK;
}

static mote_status read_text(const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mote_fail(MOTE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(TUNE_PROFILE_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
    }
    const size_t n = fread(buf, 1, TUNE_PROFILE_MAX_BYTES + 1, f);
    const int err = ferror(f);
    fclose(f);
    if (err || n > TUNE_PROFILE_MAX_BYTES) {
        free(buf);
        return err ? mote_fail(MOTE_E_IO, "%s: cannot read", path)
                   : mote_fail(MOTE_E_FORMAT, "%s: larger than a profile can be (%d bytes)", path,
                               TUNE_PROFILE_MAX_BYTES);
    }
    buf[n] = '\0';
    *out = buf;
    return MOTE_OK;
}

/* The key members of root match k (NULL: any key): MOTE_OK, else
 * MOTE_E_UNSUPPORTED (or MOTE_E_FORMAT for members missing). */
static mote_status check_key(const char *path, const cJSON *root, const tune_key *k)
{
    const char *fmt = get_str(root, "format"), *cpu = get_str(root, "cpu"), *ver = get_str(root, "mote"),
               *isa = get_str(root, "isa");
    long version, cores;
    if (!fmt || strcmp(fmt, TUNE_PROFILE_FORMAT) != 0 || !get_int(root, "version", 1, 1L << 30, &version))
        return mote_fail(MOTE_E_FORMAT, "%s: not a mote tuning profile", path);
    if (version != TUNE_PROFILE_VERSION)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: profile version %ld (this mote reads %d): run mote tune again",
                         path, version, TUNE_PROFILE_VERSION);
    if (!cpu || !ver || !isa || !get_int(root, "cores", 1, 1L << 20, &cores))
        return mote_fail(MOTE_E_FORMAT, "%s: cpu, cores, mote or isa missing", path);
    if (k && (strcmp(cpu, k->cpu) != 0 || cores != k->cores || strcmp(ver, k->version) != 0 || strcmp(isa, k->isa) != 0))
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: made for %s, %ld cores, mote %s, %s kernels: run mote tune again",
                         path, cpu, cores, ver, isa);
    return MOTE_OK;
}

mote_status tune_profile_read(const char *path, const tune_key *k, tune_entry **out, int *n)
{
    return tune_profile_read_all(path, k, out, n, NULL, NULL);
}

mote_status tune_profile_read_all(const char *path, const tune_key *k, tune_entry **out, int *n, tune_spec **sp,
                                  int *n_sp)
{
    if (!path || !k || !out || !n) return mote_fail(MOTE_E_INVALID, "tune_profile_read: NULL argument");
    *out = NULL;
    *n = 0;
    char *text;
    MOTE_TRY(read_text(path, &text));
    const mote_status st = tune_profile_parse_all(text, path, k, out, n, sp, n_sp);
    free(text);
    return st;
}

mote_status tune_profile_parse(const char *text, const char *path, const tune_key *k, tune_entry **out, int *n)
{
    return tune_profile_parse_all(text, path, k, out, n, NULL, NULL);
}

/* The optional "speculation" list of root into *out (NULL when absent). */
static mote_status parse_spec(const char *path, const cJSON *root, tune_spec **out, int *n_out)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "speculation");
    if (!list) return MOTE_OK;
    const int count = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list)) return mote_fail(MOTE_E_FORMAT, "%s: speculation is not a list", path);
    if (count > TUNE_PROFILE_MAX_BYTES / 32)
        return mote_fail(MOTE_E_FORMAT, "%s: %d speculation entries, more than a profile holds", path, count);
    if (count == 0) return MOTE_OK;
    tune_spec *sp = calloc((size_t)count, sizeof *sp);
    if (!sp) return mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
    mote_status st = MOTE_OK;
    for (int i = 0; st == MOTE_OK && i < count; i++) st = read_spec(path, cJSON_GetArrayItem(list, i), i, &sp[i]);
    if (st != MOTE_OK) {
        free(sp);
        return st;
    }
    *out = sp;
    *n_out = count;
    return MOTE_OK;
}

mote_status tune_profile_parse_all(const char *text, const char *path, const tune_key *k, tune_entry **out, int *n,
                                   tune_spec **sp, int *n_sp)
{
    if (!text || !path || !out || !n || (sp && !n_sp))
        return mote_fail(MOTE_E_INVALID, "tune_profile_parse: NULL argument");
    *out = NULL;
    *n = 0;
    if (sp) {
        *sp = NULL;
        *n_sp = 0;
    }
    cJSON *root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mote_fail(MOTE_E_FORMAT, "%s: not valid JSON (corrupt or truncated)", path);
    }
    mote_status st = check_key(path, root, k);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "kernels");
    const int count = cJSON_GetArraySize(list);
    tune_entry *e = NULL;
    if (st == MOTE_OK && !cJSON_IsArray(list)) st = mote_fail(MOTE_E_FORMAT, "%s: no kernels list", path);
    if (st == MOTE_OK && count > MOTE_TYPE_COUNT * TUNING_MK_CLASSES * TUNING_N_CLASSES)
        st = mote_fail(MOTE_E_FORMAT, "%s: %d kernel entries, more than there are classes", path, count);
    if (st == MOTE_OK && count > 0 && !(e = calloc((size_t)count, sizeof *e)))
        st = mote_fail(MOTE_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; st == MOTE_OK && i < count; i++) st = read_entry(path, cJSON_GetArrayItem(list, i), i, &e[i]);
    if (st == MOTE_OK && sp) st = parse_spec(path, root, sp, n_sp);
    cJSON_Delete(root);
    if (st != MOTE_OK) {
        free(e);
        return st;
    }
    *out = e;
    *n = count;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Applying
 * ---------------------------------------------------------------------- */

/* MOTE_TUNE's value says the profile is not to be used. */
static int tune_off(const char *off_env)
{
    return off_env && (strcmp(off_env, "off") == 0 || strcmp(off_env, "0") == 0);
}

mote_status tune_profile_apply(const char *off_env, const char *path, mote_tune_state *st)
{
    memset(st, 0, sizeof *st);
    tuning_reset();
    if (tune_off(off_env)) {
        st->disabled = 1;
        return MOTE_OK;
    }
    tune_key k;
    tune_key_this(&k);
    if (path) snprintf(st->path, sizeof st->path, "%s", path);
    else if (tune_profile_path(&k, st->path, sizeof st->path) != MOTE_OK) {
        st->path[0] = '\0';
        return MOTE_OK; /* no cache directory: nothing to load */
    }
    if (access(st->path, F_OK) != 0 && errno == ENOENT) return MOTE_OK; /* never tuned */
    tune_entry *e;
    int n;
    const mote_status rs = tune_profile_read(st->path, &k, &e, &n);
    if (rs == MOTE_E_UNSUPPORTED) return MOTE_OK; /* another machine's or version's: not used */
    if (rs != MOTE_OK) return rs;
    for (int i = 0; i < n; i++) tuning_set(e[i].wtype, e[i].mk_class, e[i].n_class, &e[i].t);
    free(e);
    st->used = 1;
    st->n_entries = n;
    return MOTE_OK;
}

/* The first call's answer, repeated: the status, its message, the state. */
static struct {
    pthread_once_t once;
    mote_status status;
    char message[1024];
    mote_tune_state state;
} loaded = {PTHREAD_ONCE_INIT, MOTE_OK, "", {0}};

static void load_once(void)
{
    loaded.status = tune_profile_apply(getenv("MOTE_TUNE"), NULL, &loaded.state);
    if (loaded.status != MOTE_OK) snprintf(loaded.message, sizeof loaded.message, "%s", mote_last_error());
}

mote_status mote_tune_load(mote_tune_state *out)
{
    pthread_once(&loaded.once, load_once);
    if (out) *out = loaded.state;
    if (loaded.status != MOTE_OK) return mote_fail(loaded.status, "%s", loaded.message);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Speculation's pass costs of a model
 * ---------------------------------------------------------------------- */

mote_status mote_spec_profile_get(const mote_model *model, mote_spec_profile *out)
{
    if (!model || !out) return mote_fail(MOTE_E_INVALID, "mote_spec_profile_get: NULL argument");
    memset(out, 0, sizeof *out);
    if (tune_off(getenv("MOTE_TUNE"))) return MOTE_OK;
    tune_key k;
    tune_key_this(&k);
    char path[1024];
    if (tune_profile_path(&k, path, sizeof path) != MOTE_OK) {
        mote_clear_error();
        return MOTE_OK; /* no cache directory */
    }
    if (access(path, F_OK) != 0 && errno == ENOENT) return MOTE_OK; /* never tuned */
    tune_entry *e = NULL;
    tune_spec *sp = NULL;
    int n = 0, n_sp = 0;
    const mote_status rs = tune_profile_read_all(path, &k, &e, &n, &sp, &n_sp);
    free(e);
    if (rs == MOTE_E_UNSUPPORTED) {
        mote_clear_error();
        return MOTE_OK; /* another machine's or version's */
    }
    if (rs != MOTE_OK) return rs;
    const uint64_t id = tune_model_id(model->gguf);
    for (int i = 0; i < n_sp && !out->found; i++) {
        if (sp[i].model != id) continue;
        out->found = 1;
        out->n_threads = sp[i].threads;
        memcpy(out->cost, sp[i].cost, sizeof out->cost);
        out->best_k = mote_spec_best_length(out->cost, MOTE_SPEC_COST_N - 1, MOTE_SPEC_PLAUSIBLE_ACCEPT, &out->gain);
        out->pays = out->gain >= MOTE_SPEC_MIN_GAIN;
    }
    free(sp);
    return MOTE_OK;
}
