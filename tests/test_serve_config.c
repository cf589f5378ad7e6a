/*
 * test_serve_config.c — the `mote serve --config` file parser
 * (src/serve/config.c): the example of config.h, every key's bad values,
 * unknown and repeated keys, ids and aliases given twice, sizes and
 * durations, and the sampling fields shared with request bodies
 * (serve_parse_sampling, serve_sampling_apply, a request's sampling_set).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/config.h"
#include "serve/request.h"
#include "testutil.h"

#define ERR_CAP 512

/* A config of one model "a" from file "f" with more keys (JSON text). */
#define ONE_MODEL(keys) "{\"models\": [{\"id\": \"a\", \"file\": \"f\", " keys "}]}"

static int parse(const char *json, serve_file_config *c, char *err)
{
    return serve_config_parse(json, strlen(json), c, err, ERR_CAP);
}

/* json must fail with an error holding want, and leave the config zeroed. */
static void expect_error(const char *json, const char *want)
{
    serve_file_config c, zero;
    memset(&zero, 0, sizeof zero);
    char err[ERR_CAP];
    const int rc = parse(json, &c, err);
    if (rc != -1) fail_msg("parsed, wanted an error holding \"%s\": %s", want, json);
    assert_memory_equal(&c, &zero, sizeof c);
    if (!strstr(err, want)) fail_msg("error \"%s\" lacks \"%s\" (config %s)", err, want, json);
}

static void parse_ok(const char *json, serve_file_config *c)
{
    char err[ERR_CAP];
    if (parse(json, c, err) != 0) fail_msg("error \"%s\" for %s", err, json);
}

static void test_example(void **state)
{
    (void)state;
    serve_file_config c;
    parse_ok("{\"memory_budget\": \"6GiB\",\n"
             " \"models\": [{\"id\": \"chat\", \"file\": \"qwen3-0.6b.gguf\", \"aliases\": [\"assistant\"],\n"
             "             \"role\": \"chat\", \"keep_alive\": \"5m\", \"priority\": 1, \"pinned\": false,\n"
             "             \"n_ctx\": 4096, \"max_streams\": 4, \"kv_type\": \"f16\",\n"
             "             \"sampling\": {\"temperature\": 0.7}}]}",
             &c);
    assert_int_equal(c.memory_budget, 6ull << 30);
    assert_int_equal(c.n_models, 1);
    const serve_model_config *m = &c.models[0];
    assert_string_equal(m->id, "chat");
    assert_string_equal(m->file, "qwen3-0.6b.gguf");
    assert_int_equal(m->n_aliases, 1);
    assert_string_equal(m->aliases[0], "assistant");
    assert_string_equal(m->role, "chat");
    assert_true(m->keep_alive_s == 300);
    assert_int_equal(m->priority, 1);
    assert_int_equal(m->pinned, 0);
    assert_int_equal(m->n_ctx, 4096);
    assert_int_equal(m->max_streams, 4);
    assert_int_equal(m->kv_type, MOTE_KV_F16);
    assert_int_equal(m->sampling_set, SERVE_SAMPLE_TEMPERATURE);
    mote_sampler_params want = mote_sampler_default_params();
    want.temp = 0.7f;
    assert_memory_equal(&m->sampling, &want, sizeof want);
    serve_config_free(&c);
    assert_null(c.models);
    assert_int_equal(c.n_models, 0);
    serve_config_free(&c); /* twice is harmless */
}

/* Keys left out take their documented defaults; the other spellings of
 * the values. */
static void test_defaults_and_forms(void **state)
{
    (void)state;
    serve_file_config c;
    parse_ok("{\"models\": [{\"id\": \"a\", \"file\": \"f\"},\n"
             "  {\"id\": \"b\", \"file\": \"g\", \"keep_alive\": -1, \"kv_type\": \"f32\", \"pinned\": true,\n"
             "   \"priority\": -1000, \"aliases\": [], \"role\": null, \"sampling\": {}},\n"
             "  {\"id\": \"c\", \"file\": \"h\", \"keep_alive\": 90.5, \"kv_type\": \"q8_0\", \"priority\": 1000,\n"
             "   \"n_ctx\": 4194304, \"max_streams\": 256},\n"
             "  {\"id\": \"d\", \"file\": \"i\", \"keep_alive\": \"never\", \"n_ctx\": 0},\n"
             "  {\"id\": \"e\", \"file\": \"j\", \"keep_alive\": 0}],\n"
             " \"memory_budget\": 1000000}",
             &c);
    assert_int_equal(c.memory_budget, 1000000);
    assert_int_equal(c.n_models, 5);
    const serve_model_config *m = c.models;
    assert_true(m[0].keep_alive_s == SERVE_KEEP_ALIVE_DEFAULT);
    assert_int_equal(m[0].kv_type, -1);
    assert_int_equal(m[0].priority, 0);
    assert_int_equal(m[0].pinned, 0);
    assert_int_equal(m[0].n_ctx, 0);
    assert_int_equal(m[0].max_streams, 0);
    assert_null(m[0].role);
    assert_null(m[0].aliases);
    assert_int_equal(m[0].n_aliases, 0);
    assert_int_equal(m[0].sampling_set, 0);
    const mote_sampler_params def = mote_sampler_default_params();
    assert_memory_equal(&m[0].sampling, &def, sizeof def);
    assert_true(m[1].keep_alive_s == SERVE_KEEP_ALIVE_FOREVER);
    assert_int_equal(m[1].kv_type, MOTE_KV_F32);
    assert_int_equal(m[1].pinned, 1);
    assert_int_equal(m[1].priority, -1000);
    assert_int_equal(m[1].n_aliases, 0);
    assert_null(m[1].role);
    assert_int_equal(m[1].sampling_set, 0);
    assert_true(m[2].keep_alive_s == 90.5);
    assert_int_equal(m[2].kv_type, MOTE_KV_Q8_0);
    assert_int_equal(m[2].priority, 1000);
    assert_int_equal(m[2].n_ctx, MOTE_N_CTX_MAX);
    assert_int_equal(m[2].max_streams, 256);
    assert_true(m[3].keep_alive_s == SERVE_KEEP_ALIVE_FOREVER);
    assert_true(m[4].keep_alive_s == 0);
    serve_config_free(&c);

    /* every sampling field at once, each into its own place */
    parse_ok(ONE_MODEL("\"sampling\": {\"temperature\": 0.5, \"top_k\": 40, \"top_p\": 0.9, \"min_p\": 0.05,"
                       " \"repeat_penalty\": 1.1, \"presence_penalty\": -0.5, \"frequency_penalty\": 0.25,"
                       " \"seed\": -1}"),
             &c);
    const mote_sampler_params *sp = &c.models[0].sampling;
    assert_int_equal(c.models[0].sampling_set, 0xff);
    assert_true(sp->temp == 0.5f && sp->top_k == 40 && sp->top_p == 0.9f && sp->min_p == 0.05f);
    assert_true(sp->repeat_penalty == 1.1f && sp->presence_penalty == -0.5f && sp->freq_penalty == 0.25f);
    assert_true(sp->seed == UINT64_MAX); /* -1 modulo 2^64, as in requests */
    assert_int_equal(sp->penalty_last_n, def.penalty_last_n);
    serve_config_free(&c);
}

/* Each bad value fails naming its path. */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        /* id, file */
        {"{\"models\": [{\"file\": \"f\"}]}", "models[0]: 'id' is required"},
        {"{\"models\": [{\"id\": null, \"file\": \"f\"}]}", "models[0]: 'id' is required"},
        {"{\"models\": [{\"id\": 5, \"file\": \"f\"}]}", "models[0].id: must be a string"},
        {"{\"models\": [{\"id\": \"\", \"file\": \"f\"}]}", "models[0].id: '' is empty"},
        {"{\"models\": [{\"id\": \"a b\", \"file\": \"f\"}]}", "models[0].id: 'a b' may hold only printable ASCII"},
        {"{\"models\": [{\"id\": \"a/b\", \"file\": \"f\"}]}", "models[0].id: 'a/b' may hold only"},
        {"{\"models\": [{\"id\": \"a\\tb\", \"file\": \"f\"}]}", "models[0].id: 'a?b' may hold only"},
        {"{\"models\": [{\"id\": \"caf\\u00e9\", \"file\": \"f\"}]}", "models[0].id: 'caf?\?' may hold only"},
        {"{\"models\": [{\"id\": \"role:chat\", \"file\": \"f\"}]}", "models[0].id: 'role:chat' must not start with 'role:'"},
        {"{\"models\": [{\"id\": \"a\"}]}", "models[0]: 'file' is required"},
        {"{\"models\": [{\"id\": \"a\", \"file\": \"\"}]}", "models[0].file: must be a GGUF path or a store name"},
        {"{\"models\": [{\"id\": \"a\", \"file\": [\"f\"]}]}", "models[0].file: must be a GGUF path"},
        /* aliases, role */
        {ONE_MODEL("\"aliases\": \"b\""), "models[0].aliases: must be an array of names"},
        {ONE_MODEL("\"aliases\": [1]"), "models[0].aliases[0]: must be a string"},
        {ONE_MODEL("\"aliases\": [\"b\", \"c d\"]"), "models[0].aliases[1]: 'c d' may hold only"},
        {ONE_MODEL("\"aliases\": [\"role:x\"]"), "models[0].aliases[0]: 'role:x' must not start"},
        {ONE_MODEL("\"role\": 1"), "models[0].role: must be a string"},
        {ONE_MODEL("\"role\": \"\""), "models[0].role: '' is empty"},
        {ONE_MODEL("\"role\": \"x/y\""), "models[0].role: 'x/y' may hold only"},
        /* keep_alive */
        {ONE_MODEL("\"keep_alive\": \"5x\""), "models[0].keep_alive: '5x' is not a duration (e.g. \"30s\", \"5m\""},
        {ONE_MODEL("\"keep_alive\": \"\""), "models[0].keep_alive: '' is not a duration"},
        {ONE_MODEL("\"keep_alive\": true"), "models[0].keep_alive: must be a duration (\"5m\") or seconds"},
        {ONE_MODEL("\"keep_alive\": -2"), "models[0].keep_alive: must be a duration"},
        {ONE_MODEL("\"keep_alive\": -0.5"), "models[0].keep_alive: must be a duration"},
        {ONE_MODEL("\"keep_alive\": 1e10"), "models[0].keep_alive: must be a duration"},
        {ONE_MODEL("\"keep_alive\": 1e999"), "models[0].keep_alive: must be a duration"},
        /* integers */
        {ONE_MODEL("\"priority\": 1001"), "models[0].priority: must be an integer from -1000 to 1000"},
        {ONE_MODEL("\"priority\": -1001"), "models[0].priority: must be an integer from -1000 to 1000"},
        {ONE_MODEL("\"priority\": 1.5"), "models[0].priority: must be an integer"},
        {ONE_MODEL("\"priority\": \"1\""), "models[0].priority: must be an integer"},
        {ONE_MODEL("\"n_ctx\": -1"), "models[0].n_ctx: must be an integer from 0 to 4194304"},
        {ONE_MODEL("\"n_ctx\": 4194305"), "models[0].n_ctx: must be an integer from 0 to 4194304"},
        {ONE_MODEL("\"n_ctx\": 1e999"), "models[0].n_ctx: must be an integer"},
        {ONE_MODEL("\"max_streams\": 257"), "models[0].max_streams: must be an integer from 0 to 256"},
        {ONE_MODEL("\"max_streams\": false"), "models[0].max_streams: must be an integer"},
        /* pinned, kv_type */
        {ONE_MODEL("\"pinned\": 1"), "models[0].pinned: must be true or false"},
        {ONE_MODEL("\"pinned\": \"true\""), "models[0].pinned: must be true or false"},
        {ONE_MODEL("\"kv_type\": \"q4_0\""), "models[0].kv_type: must be \"f32\", \"f16\" or \"q8_0\""},
        {ONE_MODEL("\"kv_type\": \"F16\""), "models[0].kv_type: must be"},
        {ONE_MODEL("\"kv_type\": 0"), "models[0].kv_type: must be"},
        /* sampling: the request's checks under the config's path */
        {ONE_MODEL("\"sampling\": 0.7"), "models[0].sampling: must be an object"},
        {ONE_MODEL("\"sampling\": {\"temperature\": 101}"), "models[0].sampling.temperature: must be between 0 and 100"},
        {ONE_MODEL("\"sampling\": {\"temperature\": \"hot\"}"), "models[0].sampling.temperature: must be a number"},
        {ONE_MODEL("\"sampling\": {\"top_p\": 1.5}"), "models[0].sampling.top_p: must be between 0 and 1"},
        {ONE_MODEL("\"sampling\": {\"top_k\": 2.5}"), "models[0].sampling.top_k: must be an integer"},
        {ONE_MODEL("\"sampling\": {\"top_k\": -1}"), "models[0].sampling.top_k: must be between 0 and"},
        {ONE_MODEL("\"sampling\": {\"repeat_penalty\": 0}"), "models[0].sampling.repeat_penalty: must be between 0.01"},
        {ONE_MODEL("\"sampling\": {\"seed\": 1.5}"), "models[0].sampling.seed: must be an integer"},
        {ONE_MODEL("\"sampling\": {\"frequency_penalty\": 3}"), "models[0].sampling.frequency_penalty: must be between -2"},
        /* memory_budget */
        {"{\"memory_budget\": \"6GB!\", \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}",
         "memory_budget: '6GB!' is not a size (e.g. \"6GiB\", \"512MiB\", \"1.5GB\")"},
        {"{\"memory_budget\": \"12 GiB\", \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}", "memory_budget: '12 GiB' is not a size"},
        {"{\"memory_budget\": -1, \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}", "memory_budget: must be a size"},
        {"{\"memory_budget\": 1.5, \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}", "memory_budget: must be a size"},
        {"{\"memory_budget\": 1e19, \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}", "memory_budget: must be a size"},
        {"{\"memory_budget\": true, \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}", "memory_budget: must be a size"},
        {"{\"memory_budget\": 0, \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}", "memory_budget: must be more than 0"},
        {"{\"memory_budget\": \"0GiB\", \"models\": [{\"id\": \"a\", \"file\": \"f\"}]}", "memory_budget: must be more than 0"},
        /* models, the root, the text */
        {"{}", "'models' is required"},
        {"{\"models\": []}", "models: must be an array of 1 to 256 models"},
        {"{\"models\": {\"id\": \"a\"}}", "models: must be an array of 1 to 256 models"},
        {"{\"models\": [{\"id\": \"a\", \"file\": \"f\"}, 5]}", "models[1]: must be an object"},
        {"[]", "the config must be a JSON object"},
        {"\"models\"", "the config must be a JSON object"},
        {"{\"models\": [}", "not valid JSON: a syntax error at line 1, column 13 (byte 12)"},
        {"{\n  \"models\": [\n    {\"id\": \"a\",, }]}", "not valid JSON: a syntax error at line 3, column"},
        {"", "not valid JSON"},
        {"{\"models\": [{\"id\": \"a\", \"file\": \"f\"}]} x", "not valid JSON: text after the value at line 1, column 40"},
        /* the index in a path is the model's */
        {"{\"models\": [{\"id\": \"a\", \"file\": \"f\"}, {\"id\": \"b\", \"file\": \"f\"},"
         " {\"id\": \"c\", \"file\": \"f\", \"keep_alive\": \"5x\"}]}",
         "models[2].keep_alive: '5x' is not a duration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_error(cases[i].json, cases[i].want);

    /* the longest id is 127 bytes */
    char json[512], id[SERVE_ID_MAX + 1];
    memset(id, 'x', SERVE_ID_MAX - 1);
    id[SERVE_ID_MAX - 1] = '\0';
    snprintf(json, sizeof json, "{\"models\": [{\"id\": \"%s\", \"file\": \"f\"}]}", id);
    serve_file_config c;
    parse_ok(json, &c);
    assert_int_equal(strlen(c.models[0].id), SERVE_ID_MAX - 1);
    serve_config_free(&c);
    strcat(id, "x");
    snprintf(json, sizeof json, "{\"models\": [{\"id\": \"%s\", \"file\": \"f\"}]}", id);
    expect_error(json, "models[0].id: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is too long (at most 127 bytes)");
}

/* Unknown keys at each level, and a key given twice. */
static void test_unknown_keys(void **state)
{
    (void)state;
    expect_error("{\"modles\": []}", "modles: unknown key (known: memory_budget, models)");
    expect_error("{\"models\": [{\"id\": \"a\", \"file\": \"f\"}, {\"id\": \"b\", \"file\": \"f\", \"pinnned\": true}]}",
                 "models[1].pinnned: unknown key (known: id, file, aliases, role, keep_alive, priority, pinned, n_ctx, "
                 "max_streams, kv_type, sampling)");
    expect_error(ONE_MODEL("\"sampling\": {\"max_tokens\": 5}"),
                 "models[0].sampling.max_tokens: unknown key (known: temperature, top_k, top_p, min_p, "
                 "repeat_penalty, presence_penalty, frequency_penalty, seed)");
    expect_error(ONE_MODEL("\"sampling\": {\"temp\": 0.5}"), "models[0].sampling.temp: unknown key");
    expect_error(ONE_MODEL("\"Pinned\": true"), "models[0].Pinned: unknown key"); /* keys are case-sensitive */
    expect_error("{\"a\\nb\": 1}", "a?b: unknown key");                          /* shown printable */
    expect_error(ONE_MODEL("\"file\": \"g\""), "models[0].file: given twice");
    expect_error("{\"models\": [{\"id\": \"a\", \"file\": \"f\"}], \"models\": [{\"id\": \"b\", \"file\": \"f\"}]}",
                 "models: given twice");
    expect_error(ONE_MODEL("\"sampling\": {\"seed\": 1, \"seed\": 2}"), "models[0].sampling.seed: given twice");
}

/* Ids and aliases are unique across the file; the error names both places. */
static void test_duplicates(void **state)
{
    (void)state;
    expect_error("{\"models\": [{\"id\": \"a\", \"file\": \"f\"}, {\"id\": \"a\", \"file\": \"g\"}]}",
                 "models[1].id: 'a' is already models[0].id (ids and aliases must be unique)");
    expect_error("{\"models\": [{\"id\": \"a\", \"file\": \"f\"}, {\"id\": \"b\", \"file\": \"g\", \"aliases\": [\"a\"]}]}",
                 "models[1].aliases[0]: 'a' is already models[0].id");
    expect_error("{\"models\": [{\"id\": \"a\", \"file\": \"f\", \"aliases\": [\"x\", \"b\"]}, {\"id\": \"b\", \"file\": \"g\"}]}",
                 "models[1].id: 'b' is already models[0].aliases[1]");
    expect_error("{\"models\": [{\"id\": \"a\", \"file\": \"f\", \"aliases\": [\"x\"]}, {\"id\": \"b\", \"file\": \"g\", "
                 "\"aliases\": [\"y\", \"x\"]}]}",
                 "models[1].aliases[1]: 'x' is already models[0].aliases[0]");
    expect_error(ONE_MODEL("\"aliases\": [\"b\", \"b\"]"), "models[0].aliases[1]: 'b' is already models[0].aliases[0]");
    expect_error(ONE_MODEL("\"aliases\": [\"a\"]"), "models[0].aliases[0]: 'a' is already models[0].id");
    /* of several, the earliest repetition in the file */
    expect_error("{\"models\": [{\"id\": \"z\", \"file\": \"f\", \"aliases\": [\"b\"]}, {\"id\": \"c\", \"file\": \"f\"},"
                 " {\"id\": \"b\", \"file\": \"f\"}, {\"id\": \"z\", \"file\": \"f\"}, {\"id\": \"c\", \"file\": \"f\"}]}",
                 "models[2].id: 'b' is already models[0].aliases[0]");
    /* roles may be shared; names differing in case are different */
    serve_file_config c;
    parse_ok("{\"models\": [{\"id\": \"a\", \"file\": \"f\", \"role\": \"chat\"}, {\"id\": \"A\", \"file\": \"f\", "
             "\"role\": \"chat\", \"aliases\": [\"chat\"]}]}",
             &c);
    assert_int_equal(c.n_models, 2);
    serve_config_free(&c);
}

/* The most models and aliases a file may hold, and one more. */
static void test_limits(void **state)
{
    (void)state;
    const size_t cap = 64 * 1024;
    char *json = malloc(cap);
    assert_non_null(json);
    for (int extra = 0; extra < 2; extra++) {
        size_t n = (size_t)snprintf(json, cap, "{\"models\": [");
        for (int i = 0; i < SERVE_CONFIG_MODELS_MAX + extra; i++)
            n += (size_t)snprintf(json + n, cap - n, "%s{\"id\": \"m%d\", \"file\": \"f\"}", i ? "," : "", i);
        snprintf(json + n, cap - n, "]}");
        serve_file_config c;
        if (!extra) {
            parse_ok(json, &c);
            assert_int_equal(c.n_models, SERVE_CONFIG_MODELS_MAX);
            assert_string_equal(c.models[255].id, "m255");
            serve_config_free(&c);
        } else {
            expect_error(json, "models: must be an array of 1 to 256 models");
        }
        n = (size_t)snprintf(json, cap, "{\"models\": [{\"id\": \"a\", \"file\": \"f\", \"aliases\": [");
        for (int i = 0; i < SERVE_CONFIG_ALIASES_MAX + extra; i++)
            n += (size_t)snprintf(json + n, cap - n, "%s\"a%d\"", i ? "," : "", i);
        snprintf(json + n, cap - n, "]}]}");
        if (!extra) {
            parse_ok(json, &c);
            assert_int_equal(c.models[0].n_aliases, SERVE_CONFIG_ALIASES_MAX);
            assert_string_equal(c.models[0].aliases[63], "a63");
            serve_config_free(&c);
        } else {
            expect_error(json, "models[0].aliases: at most 64 aliases");
        }
    }
    free(json);

    /* no room for a message, or none wanted: still an error, no overrun */
    serve_file_config c;
    char tiny[8];
    assert_int_equal(serve_config_parse("[]", 2, &c, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_int_equal(serve_config_parse("[]", 2, &c, NULL, 0), -1);
    /* the length is respected: no NUL needed, none read past */
    const char text[] = "{\"models\": [{\"id\": \"a\", \"file\": \"f\"}]}garbage";
    assert_int_equal(serve_config_parse(text, sizeof text - 1 - 7, &c, NULL, 0), 0);
    serve_config_free(&c);
    assert_int_equal(serve_config_parse(text, sizeof text - 1 - 8, &c, NULL, 0), -1);
}

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t bytes;
    } good[] = {
        {"0", 0},
        {"1", 1},
        {"007", 7},
        {"10B", 10},
        {"6442450944", 6442450944ull},
        {"6GiB", 6ull << 30},
        {"512MiB", 512ull << 20},
        {"1KiB", 1024},
        {"0.5KiB", 512},
        {"1.3KiB", 1331}, /* 1331.2: the nearest byte */
        {"1.5GiB", 1610612736ull},
        {"1TiB", 1ull << 40},
        {"800kB", 800000},
        {"800KB", 800000},
        {"1.5GB", 1500000000ull},
        {"0.1GB", 100000000ull},
        {"2MB", 2000000},
        {"3TB", 3000000000000ull},
        {"9223372036854775807", 9223372036854775807ull},
        {"8388607TiB", 8388607ull << 40},
        {"1.000000000000000000000000001GB", 1000000000ull},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t b = 12345;
        if (serve_parse_bytes(good[i].s, &b) != 0) fail_msg("'%s' refused", good[i].s);
        if (b != good[i].bytes) fail_msg("'%s' gave %llu, not %llu", good[i].s, (unsigned long long)b,
                                         (unsigned long long)good[i].bytes);
    }
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "12 GiB", "1.5", "1.5B", "1.", ".5GB", "1..5GB", "1K", "1M", "1G", "1T",
        "1gib", "1gb", "1kib", "1Gib", "1GiBx", "1GiB ", "1e3", "0x10", "1,000", "abc", "GiB",
        "9223372036854775808",   /* 2^63 */
        "18446744073709551616",  /* 2^64 */
        "99999999999999999999999999",
        "8388608TiB",            /* 2^63 */
        "9223372036854775807.5GB",
        "9223372036.854775808GB", /* 2^63 by its fraction */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t b = 12345;
        if (serve_parse_bytes(bad[i], &b) != -1) fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)b);
        assert_int_equal(b, 0);
    }
    uint64_t b;
    assert_int_equal(serve_parse_bytes(NULL, &b), -1);
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        double seconds;
    } good[] = {
        {"0", 0},
        {"0s", 0},
        {"300", 300},
        {"2.5", 2.5},
        {"30s", 30},
        {"5m", 300},
        {"1h", 3600},
        {"1d", 86400},
        {"1h30m", 5400},
        {"1.5h", 5400},
        {"250ms", 0.25},
        {"1d2h3m4s5ms", 86400 + 7200 + 180 + 4 + 0.005},
        {"90m", 5400},
        {"-1", SERVE_KEEP_ALIVE_FOREVER},
        {"never", SERVE_KEEP_ALIVE_FOREVER},
        {"315576000", 315576000}, /* ten years, the most */
        {"3652.5d", 315576000},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        double d = 12345;
        if (serve_parse_duration(good[i].s, &d) != 0) fail_msg("'%s' refused", good[i].s);
        if (fabs(d - good[i].seconds) > 1e-9) fail_msg("'%s' gave %g, not %g", good[i].s, d, good[i].seconds);
    }
    static const char *const bad[] = {
        "", "5x", "-5", "-1s", "-0", "--1", "+5", "30m1h", "1m1m", "1s1ms1s", "1h30", "1 h", " 5m", "5m ", "5M", "1H",
        "never!", "Never", "forever", "315576001", "3653d", "1e3", ".5s", "5.s", "m", "1hh", "1mss", "h1",
        "99999999999999999999999", "5m-1s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double d = 12345;
        if (serve_parse_duration(bad[i], &d) != -1) fail_msg("'%s' accepted as %g", bad[i], d);
        assert_true(d == 0);
    }
    double d;
    assert_int_equal(serve_parse_duration(NULL, &d), -1);
}

/* serve_sampling_apply copies exactly the fields of its mask. */
static void test_sampling_apply(void **state)
{
    (void)state;
    const mote_sampler_params def = mote_sampler_default_params();
    mote_sampler_params other = {.temp = 0.25f, .top_k = 7, .top_p = 0.5f, .min_p = 0.125f, .repeat_penalty = 1.5f,
                                 .penalty_last_n = def.penalty_last_n + 1, .freq_penalty = 0.75f,
                                 .presence_penalty = -0.75f, .seed = 99};
    for (int i = 0; i < SERVE_SAMPLING_FIELDS; i++) {
        mote_sampler_params p = def;
        serve_sampling_apply(&p, &other, 1u << i);
        /* the one field of bit i is other's, the rest the defaults */
        const int diff[8] = {p.temp != def.temp,
                             p.top_k != def.top_k,
                             p.top_p != def.top_p,
                             p.min_p != def.min_p,
                             p.repeat_penalty != def.repeat_penalty,
                             p.presence_penalty != def.presence_penalty,
                             p.freq_penalty != def.freq_penalty,
                             p.seed != def.seed};
        for (int j = 0; j < SERVE_SAMPLING_FIELDS; j++)
            if (diff[j] != (i == j)) fail_msg("bit %d (%s) changed field %d", i, serve_sampling_names[i], j);
        assert_int_equal(p.penalty_last_n, def.penalty_last_n); /* never a config's field */
    }
    mote_sampler_params p = def;
    serve_sampling_apply(&p, &other, 0xff);
    other.penalty_last_n = def.penalty_last_n;
    assert_memory_equal(&p, &other, sizeof p);

    /* server defaults, then the model's config, then the request */
    serve_file_config c;
    parse_ok(ONE_MODEL("\"sampling\": {\"temperature\": 0.2, \"top_k\": 7, \"seed\": 5}"), &c);
    const char body[] = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": 0.9, \"top_p\": 0.5}";
    serve_request req;
    serve_error err;
    assert_int_equal(serve_parse_request(SERVE_REQ_CHAT, body, sizeof body - 1, &req, &err), 0);
    mote_sampler_params server = def;
    server.top_p = 0.8f;
    server.min_p = 0.1f;
    mote_sampler_params eff = server;
    serve_sampling_apply(&eff, &c.models[0].sampling, c.models[0].sampling_set);
    serve_sampling_apply(&eff, &req.sampling, req.sampling_set);
    assert_true(eff.temp == 0.9f);  /* the request's over the model's */
    assert_int_equal(eff.top_k, 7); /* the model's */
    assert_true(eff.seed == 5);
    assert_true(eff.top_p == 0.5f); /* the request's over the server's */
    assert_true(eff.min_p == 0.1f); /* the server's */
    assert_true(eff.repeat_penalty == def.repeat_penalty);
    serve_request_free(&req);
    serve_config_free(&c);
}

static void parse_chat(const char *fields, serve_request *req)
{
    char body[512];
    snprintf(body, sizeof body, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]%s}", fields);
    serve_error err;
    if (serve_parse_request(SERVE_REQ_CHAT, body, strlen(body), req, &err) != 0)
        fail_msg("%s: %s", body, err.message);
}

/* A request's sampling_set holds the fields it gave, has_seed its SEED bit;
 * its errors are those of before the sampling checks were shared. */
static void test_request_sampling_set(void **state)
{
    (void)state;
    serve_request req;
    parse_chat("", &req);
    assert_int_equal(req.sampling_set, 0);
    assert_int_equal(req.has_seed, 0);
    const mote_sampler_params def = mote_sampler_default_params();
    assert_memory_equal(&req.sampling, &def, sizeof def);
    serve_request_free(&req);

    parse_chat(", \"temperature\": 0.5, \"seed\": 3, \"top_k\": null, \"max_tokens\": 4", &req);
    assert_int_equal(req.sampling_set, SERVE_SAMPLE_TEMPERATURE | SERVE_SAMPLE_SEED);
    assert_int_equal(req.has_seed, 1);
    assert_true(req.sampling.temp == 0.5f && req.sampling.seed == 3 && req.sampling.top_k == def.top_k);
    serve_request_free(&req);

    parse_chat(", \"top_k\": 0, \"min_p\": 0, \"repeat_penalty\": 1", &req);
    assert_int_equal(req.sampling_set, SERVE_SAMPLE_TOP_K | SERVE_SAMPLE_MIN_P | SERVE_SAMPLE_REPEAT_PENALTY);
    assert_int_equal(req.has_seed, 0);
    serve_request_free(&req);

    parse_chat(", \"temperature\": 1, \"top_k\": 1, \"top_p\": 1, \"min_p\": 1, \"repeat_penalty\": 1,"
               " \"presence_penalty\": 1, \"frequency_penalty\": 1, \"seed\": 1",
               &req);
    assert_int_equal(req.sampling_set, 0xff);
    serve_request_free(&req);

    /* completions share it */
    const char body[] = "{\"prompt\": \"hi\", \"frequency_penalty\": -1, \"presence_penalty\": 2}";
    serve_error err;
    assert_int_equal(serve_parse_request(SERVE_REQ_COMPLETION, body, sizeof body - 1, &req, &err), 0);
    assert_int_equal(req.sampling_set, SERVE_SAMPLE_FREQUENCY_PENALTY | SERVE_SAMPLE_PRESENCE_PENALTY);
    assert_true(req.sampling.freq_penalty == -1.0f && req.sampling.presence_penalty == 2.0f);
    serve_request_free(&req);

    static const struct {
        const char *body, *param, *message;
    } bad[] = {
        {"{\"prompt\": \"x\", \"temperature\": 101}", "temperature", "'temperature' must be between 0 and 100"},
        {"{\"prompt\": \"x\", \"top_k\": 1.5}", "top_k", "'top_k' must be an integer"},
        {"{\"prompt\": \"x\", \"seed\": 0.5}", "seed", "'seed' must be an integer"},
        {"{\"prompt\": \"x\", \"min_p\": \"a\"}", "min_p", "'min_p' must be a number"},
        {"{\"prompt\": \"x\", \"repeat_penalty\": 0}", "repeat_penalty", "'repeat_penalty' must be between 0.01 and 100"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(serve_parse_request(SERVE_REQ_COMPLETION, bad[i].body, strlen(bad[i].body), &req, &err), -1);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.param, bad[i].param);
        assert_string_equal(err.message, bad[i].message);
        assert_int_equal(req.sampling_set, 0);
    }
}

/* logit_bias as parsed: -100 and false are bans (-inf, not a finite
 * -100), other values as given, a repeated token keeps its last value
 * ("007" is token 7, after its false). */
static void test_request_logit_bias(void **state)
{
    (void)state;
    static const char body[] = "{\"prompt\": \"x\", \"logit_bias\": {\"5\": -100, \"7\": false, \"9\": 2.5, "
                               "\"11\": 100, \"9\": -1, \"007\": 3}}";
    serve_request req;
    serve_error err;
    assert_int_equal(serve_parse_request(SERVE_REQ_COMPLETION, body, sizeof body - 1, &req, &err), 0);
    assert_int_equal(req.n_bias, 4);
    static const mote_token ids[] = {5, 7, 9, 11};
    const float want[] = {-INFINITY, 3.0f, -1.0f, 100.0f};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(req.bias_id[i], ids[i]);
        assert_true(req.bias[i] == want[i]);
    }
    serve_request_free(&req);
    /* false alone is a ban */
    static const char ban[] = "{\"prompt\": \"x\", \"logit_bias\": {\"7\": false}}";
    assert_int_equal(serve_parse_request(SERVE_REQ_COMPLETION, ban, sizeof ban - 1, &req, &err), 0);
    assert_true(req.n_bias == 1 && req.bias_id[0] == 7 && req.bias[0] == -INFINITY);
    serve_request_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_defaults_and_forms),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sampling_apply),
        cmocka_unit_test(test_request_sampling_set),
        cmocka_unit_test(test_request_logit_bias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
