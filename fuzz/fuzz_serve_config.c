/*
 * fuzz_serve_config.c — libFuzzer target for `mote serve --config`'s
 * parser (src/serve/config.c): any bytes as a config file, and their
 * first line as a size and as a duration.
 *
 * Input: the whole of it is the file's text, in a buffer of its own with
 * no NUL after it (the parser must respect the length).
 *
 * Contract (config.h):
 * - serve_config_parse returns 0 or -1;
 * - 0: 1 to SERVE_CONFIG_MODELS_MAX models; each id, alias and role 1 to
 *   SERVE_ID_MAX-1 bytes of printable ASCII without space or '/', not
 *   "role:..."; ids and aliases unique across the file; a non-empty file;
 *   every number in its documented range; sampling fields outside
 *   sampling_set left at mote's defaults, those in it in the request
 *   ranges; a memory budget of 0 (none) or 1 to 2^63-1;
 * - -1: a non-empty message, and the config zeroed;
 * - the same text parses the same way twice (the same error too);
 * - serve_parse_bytes gives 0 to 2^63-1 and, for plain digits, their
 *   value; serve_parse_duration 0 to ten years or _FOREVER; *out 0 when
 *   either refuses.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "serve/config.h"

#define ERR_CAP 256
#define TEN_YEARS_S (10 * 365.25 * 86400)
#define LINE_MAX_BYTES 64

static int name_ok(const char *s)
{
    const size_t n = strlen(s);
    if (n < 1 || n >= SERVE_ID_MAX || strncmp(s, "role:", 5) == 0) return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f || *s == '/') return 0;
    return 1;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_model(const serve_model_config *m)
{
    const mote_sampler_params def = mote_sampler_default_params();
    const mote_sampler_params *sp = &m->sampling;
    fuzz_check(m->id && name_ok(m->id), "id a name");
    fuzz_check(m->file && m->file[0], "a file");
    fuzz_check(m->n_aliases >= 0 && m->n_aliases <= SERVE_CONFIG_ALIASES_MAX, "alias count");
    fuzz_check(m->n_aliases == 0 || m->aliases, "aliases present");
    for (int a = 0; a < m->n_aliases; a++) fuzz_check(name_ok(m->aliases[a]), "alias a name");
    fuzz_check(!m->role || name_ok(m->role), "role a name");
    fuzz_check(m->keep_alive_s == SERVE_KEEP_ALIVE_DEFAULT || m->keep_alive_s == SERVE_KEEP_ALIVE_FOREVER ||
                   (m->keep_alive_s >= 0 && m->keep_alive_s <= TEN_YEARS_S),
               "keep_alive range");
    fuzz_check(m->priority >= -1000 && m->priority <= 1000, "priority range");
    fuzz_check(m->pinned == 0 || m->pinned == 1, "pinned 0/1");
    fuzz_check(m->n_ctx >= 0 && m->n_ctx <= MOTE_N_CTX_MAX, "n_ctx range");
    fuzz_check(m->max_streams >= 0 && m->max_streams <= 256, "max_streams range");
    fuzz_check(m->kv_type == -1 || m->kv_type == MOTE_KV_F16 || m->kv_type == MOTE_KV_F32 ||
                   m->kv_type == MOTE_KV_Q8_0,
               "kv_type");
    fuzz_check(m->sampling_set <= 0xffu, "sampling_set bits");
    const unsigned set = m->sampling_set;
    fuzz_check(set & SERVE_SAMPLE_TEMPERATURE ? sp->temp >= 0 && sp->temp <= 100 : sp->temp == def.temp, "temperature");
    fuzz_check(set & SERVE_SAMPLE_TOP_K ? sp->top_k >= 0 : sp->top_k == def.top_k, "top_k");
    fuzz_check(set & SERVE_SAMPLE_TOP_P ? sp->top_p >= 0 && sp->top_p <= 1 : sp->top_p == def.top_p, "top_p");
    fuzz_check(set & SERVE_SAMPLE_MIN_P ? sp->min_p >= 0 && sp->min_p <= 1 : sp->min_p == def.min_p, "min_p");
    fuzz_check(set & SERVE_SAMPLE_REPEAT_PENALTY ? sp->repeat_penalty > 0 && sp->repeat_penalty <= 100
                                                 : sp->repeat_penalty == def.repeat_penalty,
               "repeat_penalty");
    fuzz_check(set & SERVE_SAMPLE_PRESENCE_PENALTY ? fabsf(sp->presence_penalty) <= 2
                                                   : sp->presence_penalty == def.presence_penalty,
               "presence_penalty");
    fuzz_check(set & SERVE_SAMPLE_FREQUENCY_PENALTY ? fabsf(sp->freq_penalty) <= 2 : sp->freq_penalty == def.freq_penalty,
               "frequency_penalty");
    fuzz_check(set & SERVE_SAMPLE_SEED || sp->seed == def.seed, "seed");
    fuzz_check(sp->penalty_last_n == def.penalty_last_n, "penalty_last_n untouched");
}

static void check_config(const serve_file_config *c)
{
    fuzz_check(c->n_models >= 1 && c->n_models <= SERVE_CONFIG_MODELS_MAX && c->models, "model count");
    fuzz_check(c->memory_budget <= INT64_MAX, "memory_budget below 2^63");
    size_t n = 0;
    for (int i = 0; i < c->n_models; i++) {
        check_model(&c->models[i]);
        n += 1 + (size_t)c->models[i].n_aliases;
    }
    /* ids and aliases unique: sorted, no two neighbours equal */
    char **names = malloc(n * sizeof *names);
    fuzz_check(names != NULL, "malloc");
    n = 0;
    for (int i = 0; i < c->n_models; i++) {
        names[n++] = c->models[i].id;
        for (int a = 0; a < c->models[i].n_aliases; a++) names[n++] = c->models[i].aliases[a];
    }
    qsort(names, n, sizeof *names, by_string);
    for (size_t k = 1; k < n; k++) fuzz_check(strcmp(names[k - 1], names[k]) != 0, "names unique");
    free(names);
}

/* The input's first line (at most LINE_MAX_BYTES) as a size and a duration. */
static void check_units(const uint8_t *data, size_t size)
{
    char s[LINE_MAX_BYTES + 1];
    size_t n = 0;
    while (n < size && n < LINE_MAX_BYTES && data[n] != '\n' && data[n] != 0) n++;
    memcpy(s, data, n);
    s[n] = '\0';
    uint64_t b = 1;
    if (serve_parse_bytes(s, &b) == 0) {
        fuzz_check(b <= INT64_MAX, "a size below 2^63");
        if (strspn(s, "0123456789") == n) fuzz_check(b == strtoull(s, NULL, 10), "digits are bytes");
    } else {
        fuzz_check(b == 0, "a refused size gives 0");
    }
    double d = 1;
    if (serve_parse_duration(s, &d) == 0)
        fuzz_check(d == SERVE_KEEP_ALIVE_FOREVER || (d >= 0 && d <= TEN_YEARS_S), "a duration in range");
    else
        fuzz_check(d == 0, "a refused duration gives 0");
    fuzz_sink += b + (uint64_t)(d > 0 ? d : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    fuzz_check(text != NULL, "malloc");
    memcpy(text, data, size);

    serve_file_config c, again, zero;
    memset(&zero, 0, sizeof zero);
    char err[ERR_CAP], err2[ERR_CAP];
    const int rc = serve_config_parse(text, size, &c, err, sizeof err);
    fuzz_check(rc == 0 || rc == -1, "returns 0 or -1");
    if (rc == 0) {
        check_config(&c);
    } else {
        fuzz_check(memchr(err, 0, sizeof err) && err[0], "a message");
        fuzz_check(memcmp(&c, &zero, sizeof c) == 0, "zeroed on error");
    }
    const int rc2 = serve_config_parse(text, size, &again, err2, sizeof err2);
    fuzz_check(rc2 == rc, "same result twice");
    if (rc == 0) {
        fuzz_check(again.n_models == c.n_models && again.memory_budget == c.memory_budget, "same config twice");
        for (int i = 0; i < c.n_models; i++)
            fuzz_check(strcmp(again.models[i].id, c.models[i].id) == 0 &&
                           again.models[i].n_aliases == c.models[i].n_aliases &&
                           again.models[i].sampling_set == c.models[i].sampling_set,
                       "same models twice");
    } else {
        fuzz_check(strcmp(err, err2) == 0, "same error twice");
    }
    serve_config_free(&c);
    serve_config_free(&again);
    free(text);
    check_units(data, size);
    return 0;
}
