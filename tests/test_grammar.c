/*
 * test_grammar.c — JSON Schema compiled to grammars (engine/schema.c), the
 * matcher (engine/grammar.c), and sampling constrained by them.
 *
 * - accepts/rejects: for each schema, texts that validate are whole
 *   sentences of its grammar, texts that do not are not (fed in pieces
 *   of every size, UTF-8 characters cut anywhere);
 * - refused: keywords mote cannot enforce give MOTE_E_UNSUPPORTED naming
 *   the keyword; malformed schemas MOTE_E_INVALID;
 * - sampling: with ../shared's stories260K (whose stories are anything
 *   but JSON) and with a random-weight model, every generation under a
 *   schema parses and holds what the schema asks, over many seeds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine/grammar.h"
#include "synthmodel.h"
#include "testutil.h"

static mote_grammar *compile_ok(const char *schema)
{
    mote_grammar *g = NULL;
    if (mote_grammar_from_json_schema(schema, strlen(schema), &g) != MOTE_OK)
        fail_msg("schema %s: %s", schema, mote_last_error());
    return g;
}

/* Feed text in pieces of `step` bytes; 1 if it is a whole sentence. */
static int matches_step(const mote_grammar *g, const char *text, size_t step)
{
    gram_state st, next = {0};
    assert_int_equal(grammar_start(g, &st), 0);
    const size_t n = strlen(text);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i += step) {
        const size_t k = n - i < step ? n - i : step;
        const int rc = grammar_feed(g, &st, text + i, k, &next);
        assert_true(rc >= 0);
        ok = rc == 1;
        gram_state t = st;
        st = next;
        next = t;
    }
    ok = ok && st.complete && st.partial_left == 0;
    grammar_state_free(&st);
    grammar_state_free(&next);
    return ok;
}

/* The same answer whatever the piece size. */
static int matches(const mote_grammar *g, const char *text)
{
    const int whole = matches_step(g, text, strlen(text) + 1);
    for (size_t step = 1; step <= 4; step++)
        if (matches_step(g, text, step) != whole) fail_msg("'%s': step %zu disagrees", text, step);
    return whole;
}

static void check(const char *schema, const char *const *good, const char *const *bad)
{
    mote_grammar *g = compile_ok(schema);
    for (; good && *good; good++)
        if (!matches(g, *good)) fail_msg("schema %s\nshould accept: %s", schema, *good);
    for (; bad && *bad; bad++)
        if (matches(g, *bad)) fail_msg("schema %s\nshould reject: %s", schema, *bad);
    mote_grammar_free(g);
}

static void test_objects(void **state)
{
    (void)state;
    const char *schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                         "\"age\":{\"type\":\"integer\"},\"ok\":{\"type\":\"boolean\"}},\"required\":[\"name\"]}";
    const char *good[] = {"{\"name\":\"x\"}", "{\"name\":\"x\",\"age\":3}", "{\"name\":\"\",\"age\":-12,\"ok\":true}",
                          "{ \"name\" : \"Tim\" , \"ok\" : false }", "{\n  \"name\": \"a\\\"b\\\\c\\u00e9\"\n}",
                          " {\"name\":\"\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80\"} ", NULL};
    const char *bad[] = {"{\"age\":3}", "{\"name\":3}", "{\"name\":\"x\",\"extra\":1}", "{\"name\":\"x\"",
                         "{\"name\":\"x\"}}", "{\"age\":3,\"name\":\"x\"}", "{\"name\":\"x\",}", "{\"name\":\"a\nb\"}",
                         "{\"name\":\"x\",\"age\":1.5}", "{\"name\":\"x\",\"age\":01}", "{\"name\":\"\\ud800\"}",
                         "{\"name\":\"x\"} x", "", NULL};
    check(schema, good, bad);
    /* no properties: any members (of the additionalProperties schema) */
    const char *g2[] = {"{}", "{\"a\":1,\"b\":[true,null,{\"c\":\"d\"}]}", NULL};
    const char *b2[] = {"[]", "{\"a\"}", "{a:1}", NULL};
    check("{\"type\":\"object\"}", g2, b2);
    const char *g3[] = {"{}", "{\"a\":1,\"b\":2.5}", NULL};
    const char *b3[] = {"{\"a\":\"x\"}", NULL};
    check("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}}", g3, b3);
    const char *g4[] = {"{}", NULL};
    const char *b4[] = {"{\"a\":1}", NULL};
    check("{\"type\":\"object\",\"additionalProperties\":false}", g4, b4);
}

/* Framed: markup before and after the JSON (a tool call's). */
static void test_framed(void **state)
{
    (void)state;
    const char *schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"f\"}},\"required\":[\"name\"]}";
    mote_grammar *g = NULL;
    assert_int_equal(mote_grammar_from_json_schema_framed(schema, strlen(schema), "<tool_call>\n", "\n</tool_call>", &g),
                     MOTE_OK);
    const char *good[] = {"<tool_call>\n{\"name\":\"f\"}\n</tool_call>", "<tool_call>\n {\"name\": \"f\"} \n</tool_call>", NULL};
    const char *bad[] = {"{\"name\":\"f\"}", "<tool_call>\n{\"name\":\"f\"}", "{\"name\":\"f\"}\n</tool_call>",
                         "<tool_call>\n{\"name\":\"g\"}\n</tool_call>", "<tool_call>{\"name\":\"f\"}</tool_call>", NULL};
    for (const char *const *t = good; *t; t++)
        if (!matches(g, *t)) fail_msg("framed should accept: %s", *t);
    for (const char *const *t = bad; *t; t++)
        if (matches(g, *t)) fail_msg("framed should reject: %s", *t);
    mote_grammar_free(g);
    /* NULL and "" frames are the plain grammar */
    assert_int_equal(mote_grammar_from_json_schema_framed(schema, strlen(schema), NULL, "", &g), MOTE_OK);
    assert_true(matches(g, "{\"name\":\"f\"}"));
    mote_grammar_free(g);
}

static void test_scalars_and_arrays(void **state)
{
    (void)state;
    const char *gn[] = {"0", "-0", "12", "-3.25", "1e5", "2.5E-3", "7e+12", NULL};
    const char *bn[] = {"01", "-", "1.", ".5", "1e", "+1", "NaN", "\"1\"", "1234567890123456789", NULL};
    check("{\"type\":\"number\"}", gn, bn);
    const char *gi[] = {"0", "-7", "42", NULL};
    const char *bi[] = {"1.0", "1e3", "true", NULL};
    check("{\"type\":\"integer\"}", gi, bi);
    const char *gm[] = {"0", "3", "0.5", NULL};
    const char *bm[] = {"-1", "-0", NULL};
    check("{\"type\":\"number\",\"minimum\":0}", gm, bm);
    const char *gs[] = {"\"ab\"", "\"abcd\"", "\"\xC3\xA9\xC3\xA9\"", "\"\\n\\t\"", NULL};
    const char *bs[] = {"\"a\"", "\"abcde\"", "\"\"", NULL};
    check("{\"type\":\"string\",\"minLength\":2,\"maxLength\":4}", gs, bs);
    const char *ga[] = {"[1]", "[1,2,3]", "[ 1 , 2 ]", NULL};
    const char *ba[] = {"[]", "[1,2,3,4]", "[1,]", "[\"a\"]", "[1 2]", NULL};
    check("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}", ga, ba);
    const char *gt[] = {"[\"a\",1]", NULL};
    const char *bt[] = {"[\"a\"]", "[1,\"a\"]", "[\"a\",1,2]", NULL};
    check("{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}", gt, bt);
    const char *gb[] = {"true", "false", "null", NULL};
    const char *bb[] = {"True", "0", NULL};
    check("{\"type\":[\"boolean\",\"null\"]}", gb, bb);
    const char *ge[] = {"\"red\"", "2", "null", "{\"a\":[1]}", NULL};
    const char *be[] = {"\"blue\"", "3", "{\"a\":[2]}", NULL};
    check("{\"enum\":[\"red\",2,null,{\"a\":[1]}]}", ge, be);
    const char *gc[] = {"\"x\"", NULL};
    const char *bc[] = {"\"y\"", NULL};
    check("{\"const\":\"x\"}", gc, bc);
    const char *gany[] = {"1", "\"s\"", "[[],{}]", "{\"k\":[null]}", NULL};
    /* not UTF-8: an overlong '{', a surrogate, past U+10FFFF */
    const char *bany[] = {"[", "nul", "\xF0\x80\x81\xBB}", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xC0\xAF\"", NULL};
    check("{}", gany, bany);
    check("true", gany, bany);
}

static void test_combinators_and_refs(void **state)
{
    (void)state;
    const char *g1[] = {"\"a\"", "3", NULL};
    const char *b1[] = {"true", NULL};
    check("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", g1, b1);
    check("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", g1, b1);
    /* a recursive tree through $defs */
    const char *tree = "{\"$ref\":\"#/$defs/node\",\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":"
                       "{\"v\":{\"type\":\"integer\"},\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}},"
                       "\"required\":[\"v\"]}}}";
    const char *g2[] = {"{\"v\":1}", "{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":4}]}]}", NULL};
    const char *b2[] = {"{\"v\":1,\"kids\":[{}]}", "{\"kids\":[]}", NULL};
    check(tree, g2, b2);
    const char *g3[] = {"{\"a\":{\"a\":{}}}", NULL};
    check("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#\"}}}", g3, NULL);
    const char *g4[] = {"\"x\"", NULL};
    check("{\"definitions\":{\"s\":{\"type\":\"string\"}},\"allOf\":[{\"$ref\":\"#/definitions/s\"}]}", g4, NULL);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"{\"type\":\"string\",\"pattern\":\"^a\"}", "pattern"},
        {"{\"type\":\"string\",\"format\":\"date\"}", "format"},
        {"{\"type\":\"integer\",\"minimum\":5}", "minimum"},
        {"{\"type\":\"integer\",\"maximum\":5}", "maximum"},
        {"{\"not\":{\"type\":\"string\"}}", "not"},
        {"{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}", "oneOf"},
        {"{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}", "allOf"},
        {"{\"$ref\":\"http://example.com/s.json\"}", "$ref"},
        {"false", "false"},
        {"{\"type\":\"array\",\"uniqueItems\":true}", "uniqueItems"},
        {"{\"type\":\"string\",\"minLength\":5000}", "minLength"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"x\"}}}", "pattern"},
        {"{\"enum\":[1],\"type\":\"string\"}", "enum"},
        /* schemas that refer to themselves before reading anything */
        {"{\"$ref\":\"#\"}", "$ref"},
        {"{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"},{\"type\":\"null\"}]}}}", "$ref"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mote_grammar *g = (mote_grammar *)&g;
        const mote_status st = mote_grammar_from_json_schema(cases[i][0], strlen(cases[i][0]), &g);
        if (st != MOTE_E_UNSUPPORTED) fail_msg("%s: status %d, not unsupported", cases[i][0], st);
        assert_null(g);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", cases[i][1]);
        if (!strstr(mote_last_error(), quoted)) fail_msg("%s: '%s' does not name %s", cases[i][0], mote_last_error(), quoted);
    }
    static const char *const malformed[] = {"{", "{\"type\":\"strange\"}", "{\"type\":3}", "{\"$ref\":\"#/nope\"}",
                                            "{\"minItems\":-1,\"type\":\"array\"}", "[1]"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        mote_grammar *g = NULL;
        if (mote_grammar_from_json_schema(malformed[i], strlen(malformed[i]), &g) != MOTE_E_INVALID)
            fail_msg("%s: not refused as invalid", malformed[i]);
        assert_null(g);
    }
    mote_grammar *none = (mote_grammar *)&none;
    assert_int_equal(mote_grammar_from_json_schema(NULL, 0, &none), MOTE_E_INVALID);
    assert_null(none);
    assert_int_equal(mote_grammar_from_json_schema("{}", 2, NULL), MOTE_E_INVALID);
    mote_grammar_free(NULL);
}

/* ------------------------------------------------------------------------
 * Sampling under a schema
 * ---------------------------------------------------------------------- */

static const char person_schema[] =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":12},"
    "\"age\":{\"type\":\"integer\"},\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\"]},\"maxItems\":3}},"
    "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}";

/* Generate under the schema with a fresh sampler; the text. */
static char *generate(mote_model *model, const mote_grammar *g, uint64_t seed, float temp, int *ended)
{
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 256;
    mote_session *s = NULL;
    assert_int_equal(mote_session_create(model, &sp, &s), MOTE_OK);
    mote_sampler_params p = mote_sampler_default_params();
    p.seed = seed;
    p.temp = temp;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    mote_sampler *smp = NULL;
    assert_int_equal(mote_sampler_create(&p, mote_vocab_size(model), &smp), MOTE_OK);
    assert_int_equal(mote_sampler_set_grammar(smp, model, g), MOTE_OK);
    mote_token prompt[8];
    size_t n = 0;
    assert_int_equal(mote_tokenize(model, "Once", 4, 1, 0, prompt, 8, &n), MOTE_OK);
    assert_int_equal(mote_session_eval(s, prompt, (int)n, 0), MOTE_OK);
    char *text = calloc(1, 4096);
    size_t len = 0;
    *ended = 0;
    for (int i = 0; i < 200; i++) {
        const mote_token t = mote_sampler_sample(smp, mote_session_logits(s, -1));
        if (t < 0) fail_msg("seed %llu: %s (after '%s')", (unsigned long long)seed, mote_last_error(), text);
        if (mote_token_is_eog(model, t)) {
            *ended = 1;
            break;
        }
        char piece[256];
        size_t pl = 0;
        assert_int_equal(mote_token_to_piece(model, t, 0, piece, sizeof piece, &pl), MOTE_OK);
        assert_true(len + pl < 4096);
        memcpy(text + len, piece, pl);
        len += pl;
        assert_int_equal(mote_session_eval(s, &t, 1, 0), MOTE_OK);
    }
    mote_sampler_free(smp);
    mote_session_free(s);
    return text;
}

/* The person schema holds for text (a whole generation). */
static void assert_person(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j || !cJSON_IsObject(j)) fail_msg("not a JSON object: '%s'", text);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *age = cJSON_GetObjectItemCaseSensitive(j, "age");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    if (!cJSON_IsString(name) || !cJSON_IsNumber(age) || age->valuedouble != floor(age->valuedouble))
        fail_msg("name or age wrong: '%s'", text);
    if (tags && (!cJSON_IsArray(tags) || cJSON_GetArraySize(tags) > 3)) fail_msg("tags wrong: '%s'", text);
    int n = 0;
    for (const cJSON *k = j->child; k; k = k->next) n++;
    if (n != 2 + (tags != NULL)) fail_msg("other members: '%s'", text);
    cJSON_Delete(j);
}

static void sample_many(mote_model *model, int seeds)
{
    mote_grammar *g = compile_ok(person_schema);
    int whole = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        int ended;
        char *text = generate(model, g, (uint64_t)seed, seed == 1 ? 0.0f : 1.5f, &ended);
        if (ended) {
            assert_person(text);
            whole++;
        }
        free(text);
    }
    print_message("[   INFO   ] %d of %d generations ended within 200 tokens, all valid\n", whole, seeds);
    assert_true(whole > 0);
    mote_grammar_free(g);
}

static void test_sampling_stories(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(shared_path("models/stories260K.gguf"), NULL, &m), MOTE_OK);
    sample_many(m, 12);
    mote_model_close(m);
}

static void test_sampling_synth(void **state)
{
    (void)state;
    char *dir = synthmodel_tempdir();
    char *path = synthmodel_make(dir, "tiny-llama", "Q8_0", 1);
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(path, NULL, &m), MOTE_OK);
    sample_many(m, 6);
    /* set_grammar's argument checks */
    mote_sampler *smp = NULL;
    assert_int_equal(mote_sampler_create(NULL, mote_vocab_size(m) + 1, &smp), MOTE_OK);
    mote_grammar *g = compile_ok("{}");
    assert_int_equal(mote_sampler_set_grammar(smp, m, g), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_grammar(smp, NULL, g), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_grammar(NULL, m, g), MOTE_E_INVALID);
    assert_int_equal(mote_sampler_set_grammar(smp, m, NULL), MOTE_OK);
    mote_sampler_free(smp);
    mote_grammar_free(g);
    mote_model_close(m);
    free(path);
    synthmodel_tempdir_remove(dir);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_framed),
        cmocka_unit_test(test_scalars_and_arrays),
        cmocka_unit_test(test_combinators_and_refs),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_sampling_stories),
        cmocka_unit_test(test_sampling_synth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
