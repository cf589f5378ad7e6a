/*
 * test_tokenizer.c — tokenizers against llama.cpp's reference outputs.
 *
 * - every ../shared/vocab/NAME.gguf with .inp/.out: each test string's ids
 *   (no BOS/EOS, special tokens not parsed) equal the reference line;
 * - the prompt ids of every ../shared/golden/NAME.cases.tsv (and the BERT
 *   embedding cases) for its model, with BOS as llama.cpp adds it;
 * - detokenizing gives the text back; special tokens are split off only
 *   when asked; EOG tokens; pieces; unencodable text; load validation on
 *   small synthetic vocabularies;
 * - the BPE merge index, built on first use: once, by whichever of several
 *   threads tokenizing a fresh vocabulary at once gets there first.
 *
 * Each vocabulary file is loaded once (loading dominates the run time).
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tok_unicode.h"
#include "engine/vocab.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "engine/model.h"
#include "testutil.h"

/* ------------------------------------------------------------------------
 * Vocabulary cache
 * ---------------------------------------------------------------------- */

#define MAX_CACHED 64

static struct {
    char path[512];
    struct vocab *v;
} cache[MAX_CACHED];
static size_t n_cache;

/* The vocabulary of a shared file (relative to ../shared), loaded once. */
static struct vocab *shared_vocab(const char *rel)
{
    const char *path = shared_path(rel);
    assert_non_null(path);
    for (size_t i = 0; i < n_cache; i++)
        if (strcmp(cache[i].path, path) == 0) return cache[i].v;
    gguf_file *f = NULL;
    mote_status st = gguf_open(path, &f);
    if (st != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
    struct vocab *v = NULL;
    st = vocab_load(f, &v);
    gguf_close(f);
    if (st != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
    assert_true(n_cache < MAX_CACHED);
    snprintf(cache[n_cache].path, sizeof cache[n_cache].path, "%s", path);
    cache[n_cache++].v = v;
    return v;
}

static int teardown_cache(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_cache; i++) vocab_free(cache[i].v);
    n_cache = 0;
    return 0;
}

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* Parse space-separated ids; returns the count. */
static size_t parse_ids(const char *s, size_t len, int32_t *out, size_t cap)
{
    size_t n = 0;
    char *end;
    const char *stop = s + len;
    while (s < stop) {
        while (s < stop && (*s == ' ' || *s == '\t')) s++;
        if (s >= stop) break;
        long x = strtol(s, &end, 10);
        if (end == s) break;
        if (n < cap) out[n] = (int32_t)x;
        n++;
        s = end;
    }
    return n;
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
    print_message("    %s:", what);
    for (size_t i = 0; i < n; i++) print_message(" %d", ids[i]);
    print_message("\n");
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static tokbuf tokenize(const struct vocab *v, const char *s, size_t n, bool add_special, bool parse_special)
{
    tokbuf b = {0};
    mote_status st = vocab_tokenize(v, s, n, add_special, parse_special, &b);
    if (st != MOTE_OK) fail_msg("tokenize '%.*s': %s", (int)n, s, mote_last_error());
    return b;
}

/* Undo the golden files' escapes: \\ \n \t. */
static size_t unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            char c = s[++i];
            s[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return o;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ------------------------------------------------------------------------
 * llama.cpp's vocabulary test strings
 * ---------------------------------------------------------------------- */

#define VOCAB_SEP "\n__ggml_vocab_test__\n"
#define MAX_IDS 4096

/* Check one vocabulary; returns the number of failing strings. */
static int check_vocab_file(const char *gguf_name, int *n_strings)
{
    char rel[512];
    snprintf(rel, sizeof rel, "vocab/%s.inp", gguf_name);
    char *inp = read_file(shared_path(rel), NULL);
    snprintf(rel, sizeof rel, "vocab/%s.out", gguf_name);
    char *outp = read_file(shared_path(rel), NULL);
    assert_non_null(inp);
    assert_non_null(outp);
    snprintf(rel, sizeof rel, "vocab/%s", gguf_name);
    struct vocab *v = shared_vocab(rel);

    static int32_t want[MAX_IDS];
    int fails = 0, n = 0;
    const char *s = inp, *line = outp;
    size_t sep_len = strlen(VOCAB_SEP);
    while (*s || *line) {
        /* The .inp ends with a separator, or just with the last string. */
        const char *e = strstr(s, VOCAB_SEP);
        size_t slen = e ? (size_t)(e - s) : strlen(s);
        const char *le = strchr(line, '\n');
        size_t llen = le ? (size_t)(le - line) : strlen(line);
        if (!*line) fail_msg("%s: more strings than reference lines", gguf_name);

        size_t nw = parse_ids(line, llen, want, MAX_IDS);
        assert_true(nw <= MAX_IDS);
        tokbuf got = tokenize(v, s, slen, false, false);
        if (!same_ids(got.ids, got.n, want, nw)) {
            if (fails < 3) {
                print_message("  %s: string %d '%.*s'\n", gguf_name, n, (int)(slen < 80 ? slen : 80), s);
                print_ids("want", want, nw);
                print_ids("got ", got.ids, got.n);
            }
            fails++;
        }
        tokbuf_free(&got);
        n++;
        line = le ? le + 1 : line + llen;
        if (!e) break;
        s = e + sep_len;
        if (!*s && !*line) break;
    }
    if (*line) fail_msg("%s: more reference lines than strings", gguf_name);
    free(inp);
    free(outp);
    *n_strings = n;
    return fails;
}

static void test_vocab_reference_strings(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char **names;
    size_t n = shared_listed("vocab", ".gguf.inp", &names);
    assert_true(n >= 15);
    int total_fails = 0;
    for (size_t i = 0; i < n; i++) {
        char gguf_name[256];
        snprintf(gguf_name, sizeof gguf_name, "%.*s", (int)(strlen(names[i]) - 4), names[i]);
        int n_strings = 0;
        int fails = check_vocab_file(gguf_name, &n_strings);
        print_message("  %-32s %d/%d\n", gguf_name, n_strings - fails, n_strings);
        total_fails += fails;
    }
    free_list(names, n);
    assert_int_equal(total_fails, 0);
}

/* ------------------------------------------------------------------------
 * Golden prompts of the reference models
 * ---------------------------------------------------------------------- */

/* Each line: case \t text \t ids \t ...; tokenize text with add_special. */
static int check_tsv(const char *tsv_rel, const char *model_rel, int *n_cases)
{
    char *data = read_file(shared_path(tsv_rel), NULL);
    assert_non_null(data);
    struct vocab *v = shared_vocab(model_rel);
    static int32_t want[MAX_IDS];
    int fails = 0;
    *n_cases = 0;
    for (char *line = data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2) {
            char *t3 = strchr(t2 + 1, '\t');
            size_t nw = parse_ids(t2 + 1, t3 ? (size_t)(t3 - t2 - 1) : strlen(t2 + 1), want, MAX_IDS);
            *t2 = '\0';
            size_t len = unescape(t1 + 1);
            tokbuf got = tokenize(v, t1 + 1, len, true, false);
            if (!same_ids(got.ids, got.n, want, nw)) {
                print_message("  %s case %.*s '%s'\n", tsv_rel, (int)(t1 - line), line, t1 + 1);
                print_ids("want", want, nw);
                print_ids("got ", got.ids, got.n);
                fails++;
            }
            tokbuf_free(&got);
            (*n_cases)++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    return fails;
}

static void test_golden_prompts(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *suffixes[] = {".cases.tsv", ".embed.tsv"};
    int total = 0, fails = 0;
    for (size_t k = 0; k < 2; k++) {
        char **names;
        size_t n = shared_listed("golden", suffixes[k], &names);
        if (k == 0) assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            char model[512], tsv[512];
            snprintf(model, sizeof model, "models/%.*s.gguf",
                     (int)(strlen(names[i]) - strlen(suffixes[k])), names[i]);
            snprintf(tsv, sizeof tsv, "golden/%s", names[i]);
            int n_cases;
            fails += check_tsv(tsv, model, &n_cases);
            total += n_cases;
        }
        free_list(names, n);
    }
    print_message("  %d golden prompts checked\n", total);
    assert_true(total > 0);
    assert_int_equal(fails, 0);
}

/* ------------------------------------------------------------------------
 * Round trips
 * ---------------------------------------------------------------------- */

/* detokenize(tokenize(s)) == s for every reference string of a lossless
 * vocabulary (no lowercasing, no clean-up of " ," in detokenize). */
static void check_roundtrip(const char *gguf_rel, const char *inp_rel, bool add_special)
{
    struct vocab *v = shared_vocab(gguf_rel);
    char *inp = read_file(shared_path(inp_rel), NULL);
    assert_non_null(inp);
    int n = 0;
    for (char *s = inp; *s;) {
        char *e = strstr(s, VOCAB_SEP);
        size_t len = e ? (size_t)(e - s) : strlen(s);
        tokbuf t = tokenize(v, s, len, add_special, false);
        char *back = NULL;
        size_t back_len = 0;
        assert_int_equal(vocab_detokenize(v, t.ids, t.n, false, &back, &back_len), MOTE_OK);
        if (back_len != len || memcmp(back, s, len) != 0)
            fail_msg("%s: round trip of '%.*s' gave '%s'", gguf_rel, (int)len, s, back);
        free(back);
        tokbuf_free(&t);
        n++;
        if (!e) break;
        s = e + strlen(VOCAB_SEP);
    }
    assert_true(n > 10);
    free(inp);
}

static void test_roundtrip(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    check_roundtrip("vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-spm.gguf.inp", false);
    check_roundtrip("vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-spm.gguf.inp", true);
    check_roundtrip("vocab/ggml-vocab-qwen2.gguf", "vocab/ggml-vocab-qwen2.gguf.inp", true);
    check_roundtrip("vocab/ggml-vocab-qwen35.gguf", "vocab/ggml-vocab-qwen35.gguf.inp", false);
    check_roundtrip("vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-deepseek-llm.gguf.inp", true);
    check_roundtrip("vocab/ggml-vocab-command-r.gguf", "vocab/ggml-vocab-command-r.gguf.inp", false);
}

/* ------------------------------------------------------------------------
 * Special tokens
 * ---------------------------------------------------------------------- */

static int contains(const tokbuf *b, int32_t id)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->ids[i] == id) return 1;
    return 0;
}

static void test_special_parsing(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    struct vocab *v = shared_vocab("vocab/ggml-vocab-llama-bpe.gguf");
    const char *text = "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>";
    tokbuf on = tokenize(v, text, strlen(text), true, true);
    /* BOS, header tokens and EOT come out as single control tokens. */
    assert_int_equal(on.ids[0], 128000);
    assert_int_equal(on.ids[1], 128006);
    assert_int_equal(on.ids[on.n - 1], 128009);
    assert_true(contains(&on, 128007));
    tokbuf off = tokenize(v, text, strlen(text), false, false);
    /* Unparsed, the markup is ordinary text. */
    for (size_t i = 0; i < off.n; i++) assert_true(off.ids[i] < 128000);
    char *back = NULL;
    assert_int_equal(vocab_detokenize(v, on.ids, on.n, true, &back, NULL), MOTE_OK);
    assert_string_equal(back, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>");
    free(back);
    assert_int_equal(vocab_detokenize(v, on.ids, on.n, false, &back, NULL), MOTE_OK);
    assert_string_equal(back, "user\n\nHi!");
    free(back);
    tokbuf_free(&on);
    tokbuf_free(&off);

    /* The longest special text wins where several start at one place. */
    v = shared_vocab("vocab/ggml-vocab-qwen2.gguf");
    text = "<|im_start|>system\nBe brief.<|im_end|>\n<|endoftext|>";
    on = tokenize(v, text, strlen(text), false, true);
    assert_int_equal(on.ids[0], 151644);
    assert_true(contains(&on, 151645));
    assert_int_equal(on.ids[on.n - 1], 151643);
    tokbuf_free(&on);

    /* USER_DEFINED tokens are split off even without parse_special: MPT's
     * runs of spaces. */
    v = shared_vocab("vocab/ggml-vocab-mpt.gguf");
    int32_t spaces4 = vocab_find(v, "    ", 4);
    assert_true(spaces4 >= 0);
    assert_true(v->tokens[spaces4].attr & TOKEN_ATTR_USER_DEFINED);
    text = "a    b";
    off = tokenize(v, text, strlen(text), false, false);
    assert_true(contains(&off, spaces4));
    tokbuf_free(&off);

    /* SentencePiece: text after a special token gets the space prefix. */
    v = shared_vocab("vocab/ggml-vocab-llama-spm.gguf");
    text = "Hi</s>Hi";
    on = tokenize(v, text, strlen(text), false, true);
    tokbuf hi = tokenize(v, "Hi", 2, false, false);
    assert_int_equal(on.n, 2 * hi.n + 1);
    assert_int_equal(on.ids[hi.n], 2);
    assert_memory_equal(on.ids, hi.ids, hi.n * sizeof *hi.ids);
    assert_memory_equal(on.ids + hi.n + 1, hi.ids, hi.n * sizeof *hi.ids);
    tokbuf_free(&on);
    tokbuf_free(&hi);
}

static void test_special_ids(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    struct vocab *v = shared_vocab("vocab/ggml-vocab-llama-bpe.gguf");
    assert_int_equal(v->bos, 128000);
    assert_int_equal(v->eos, 128001);
    assert_int_equal(v->eot, 128009); /* recognised by its text <|eot_id|> */
    assert_true(v->add_bos);
    assert_false(v->add_eos);
    assert_true(vocab_is_eog(v, 128001));
    assert_true(vocab_is_eog(v, 128009));
    assert_false(vocab_is_eog(v, 128000));
    assert_false(vocab_is_eog(v, 15339));

    v = shared_vocab("vocab/ggml-vocab-qwen2.gguf");
    assert_int_equal(v->eot, 151645); /* <|im_end|> */
    assert_true(vocab_is_eog(v, 151643));
    assert_true(vocab_is_eog(v, 151645));
    assert_false(v->add_bos);

    v = shared_vocab("vocab/ggml-vocab-gemma-4.gguf");
    assert_int_equal(v->bos, 2);
    assert_true(v->add_bos); /* forced for Gemma 4, as llama.cpp does */
    int32_t turn = vocab_find(v, "<turn|>", 7), s = vocab_find(v, "</s>", 4);
    assert_true(turn >= 0 && s >= 0);
    assert_true(vocab_is_eog(v, turn));
    assert_false(vocab_is_eog(v, s)); /* Gemma 4's "</s>" is ordinary text */
    assert_int_equal(v->tokens[s].attr, TOKEN_ATTR_NORMAL);

    v = shared_vocab("models/stories260K.gguf");
    /* sep/pad are 4294967295 in the file: out of range, so absent. */
    assert_int_equal(v->sep, TOKEN_NONE);
    assert_int_equal(v->pad, TOKEN_NONE);
    assert_int_equal(v->unk, 0);

    v = shared_vocab("vocab/ggml-vocab-bert-bge.gguf");
    assert_int_equal(v->type, VOCAB_WPM);
    tokbuf t = tokenize(v, "hello", 5, true, false);
    assert_int_equal(t.ids[0], 101);
    assert_int_equal(t.ids[t.n - 1], 102);
    tokbuf_free(&t);
}

/* ------------------------------------------------------------------------
 * Pieces and detokenizing
 * ---------------------------------------------------------------------- */

static void piece_is(const struct vocab *v, int32_t id, bool special, const char *want)
{
    char buf[64];
    size_t n = 0;
    assert_int_equal(vocab_token_to_piece(v, id, 0, special, buf, sizeof buf, &n), MOTE_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
}

static void test_pieces(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    struct vocab *v = shared_vocab("vocab/ggml-vocab-llama-spm.gguf");
    piece_is(v, vocab_find(v, "<0x0A>", 6), false, "\n");
    piece_is(v, vocab_find(v, "\xE2\x96\x81Hello", 8), false, " Hello");
    piece_is(v, 1, false, "");
    piece_is(v, 1, true, "<s>");

    v = shared_vocab("vocab/ggml-vocab-gpt-2.gguf");
    piece_is(v, vocab_find(v, "\xC4\xA0world", 7), false, " world"); /* Ġworld */
    piece_is(v, vocab_find(v, "\xC4\x8A", 2), false, "\n");          /* Ċ */

    v = shared_vocab("vocab/ggml-vocab-gemma-4.gguf");
    piece_is(v, 236743, false, " ");
    piece_is(v, vocab_find(v, "<0xC3>", 6), false, "\xC3");

    /* Too small a buffer: MOTE_E_RANGE with the length needed. */
    v = shared_vocab("vocab/ggml-vocab-llama-spm.gguf");
    char small[2];
    size_t n = 0;
    int32_t hello = vocab_find(v, "\xE2\x96\x81Hello", 8);
    assert_int_equal(vocab_token_to_piece(v, hello, 0, false, small, sizeof small, &n), MOTE_E_RANGE);
    assert_int_equal(n, 6);
    assert_int_equal(vocab_token_to_piece(v, hello, 1, false, small, 0, &n), MOTE_E_RANGE);
    assert_int_equal(n, 5); /* lstrip drops the space */
    assert_int_equal(vocab_token_to_piece(v, v->n_tokens, 0, false, small, sizeof small, &n), MOTE_E_INVALID);

    /* SentencePiece: the prefixed space disappears after a leading BOS. */
    tokbuf t = tokenize(v, "Hello world", 11, true, false);
    assert_int_equal(t.ids[0], 1);
    char *s = NULL;
    assert_int_equal(vocab_detokenize(v, t.ids, t.n, false, &s, NULL), MOTE_OK);
    assert_string_equal(s, "Hello world");
    free(s);
    assert_int_equal(vocab_detokenize(v, t.ids, t.n, true, &s, NULL), MOTE_OK);
    assert_string_equal(s, "<s>Hello world");
    free(s);
    tokbuf_free(&t);

    /* GPT-2 cleans " ," on the way back, as llama.cpp does. */
    v = shared_vocab("vocab/ggml-vocab-gpt-2.gguf");
    t = tokenize(v, "Hello , world", 13, false, false);
    assert_int_equal(vocab_detokenize(v, t.ids, t.n, false, &s, NULL), MOTE_OK);
    assert_string_equal(s, "Hello, world");
    free(s);
    tokbuf_free(&t);
}

/* ------------------------------------------------------------------------
 * Text a vocabulary cannot encode
 * ---------------------------------------------------------------------- */

static void test_unencodable(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    /* TinyStories-656K has no byte tokens: é becomes <unk>, never a crash. */
    struct vocab *v = shared_vocab("models/TinyStories-656K.f16.gguf");
    const char *text = "caf\xC3\xA9 \xE2\x98\x95 ok";
    tokbuf t = tokenize(v, text, strlen(text), true, false);
    assert_int_equal(t.ids[0], 1);
    assert_true(contains(&t, 0));
    tokbuf_free(&t);
    /* Invalid UTF-8 too. */
    t = tokenize(v, "a\xFF\xC3", 3, false, false);
    assert_true(contains(&t, 0));
    tokbuf_free(&t);

    /* Without an unknown token it is a clear error. */
    int32_t unk = v->unk;
    v->unk = TOKEN_NONE;
    tokbuf b = {0};
    assert_int_equal(vocab_tokenize(v, text, strlen(text), false, false, &b), MOTE_E_TOKENIZE);
    assert_non_null(strstr(mote_last_error(), "cannot encode"));
    tokbuf_free(&b);
    v->unk = unk;

    /* Byte fallback where byte tokens exist. */
    v = shared_vocab("models/stories260K.gguf");
    t = tokenize(v, "\xE2\x98\x95", 3, false, false);
    int32_t want[] = {vocab_find(v, "<0xE2>", 6), vocab_find(v, "<0x98>", 6), vocab_find(v, "<0x95>", 6)};
    assert_true(contains(&t, want[0]) && contains(&t, want[1]) && contains(&t, want[2]));
    tokbuf_free(&t);
}

/* ------------------------------------------------------------------------
 * The public API over a model handle
 * ---------------------------------------------------------------------- */

static void test_public_api(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    struct mote_model m = {0};
    m.vocab = shared_vocab("models/TinyStories-656K.f16.gguf");
    assert_int_equal(mote_vocab_size(&m), 2048);
    assert_int_equal(mote_token_bos(&m), 1);
    assert_int_equal(mote_token_eos(&m), 2);
    assert_true(mote_token_is_eog(&m, 2));
    assert_false(mote_token_is_eog(&m, 1));

    mote_token ids[8];
    size_t n = 0;
    const char *text = "Once upon a time";
    assert_int_equal(mote_tokenize(&m, text, strlen(text), 1, 0, ids, 8, &n), MOTE_OK);
    mote_token want[] = {1, 80, 147, 201, 282, 57}; /* README: llama.cpp's ids */
    assert_int_equal(n, 6);
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(mote_tokenize(&m, text, strlen(text), 1, 0, ids, 3, &n), MOTE_E_RANGE);
    assert_int_equal(n, 6);
    assert_memory_equal(ids, want, 3 * sizeof *ids);

    char *s = NULL;
    assert_int_equal(mote_detokenize(&m, want, 6, 0, &s), MOTE_OK);
    assert_non_null(strstr(s, "upon"));
    mote_free(s);
    char piece[16];
    assert_int_equal(mote_token_to_piece(&m, 1, 1, piece, sizeof piece, &n), MOTE_OK);
    assert_int_equal(n, strlen("<|start_story|>"));
    mote_token bad = 5000;
    assert_int_equal(mote_detokenize(&m, &bad, 1, 0, &s), MOTE_E_INVALID);
    assert_int_equal(mote_tokenize(NULL, "x", 1, 0, 0, ids, 8, &n), MOTE_E_INVALID);
    assert_int_equal(mote_vocab_size(NULL), 0);
}

/* ------------------------------------------------------------------------
 * Synthetic vocabularies: validation and small exact cases
 * ---------------------------------------------------------------------- */

typedef struct synth {
    const char *model;          /* tokenizer.ggml.model */
    const char *const *tokens;
    size_t n_tokens;
    const float *scores;        /* NULL: none */
    size_t n_scores;
    const int32_t *types;       /* NULL: none */
    size_t n_types;
    const char *const *merges;  /* NULL: none */
    size_t n_merges;
    int64_t bos;                /* < -1: no key */
} synth;

static mote_status load_synth(const synth *s, struct vocab **out)
{
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    assert_int_equal(gguf_writer_add_str(w, "tokenizer.ggml.model", s->model), MOTE_OK);
    assert_int_equal(gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", s->tokens, s->n_tokens), MOTE_OK);
    if (s->scores)
        assert_int_equal(gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, s->scores, s->n_scores), MOTE_OK);
    if (s->types)
        assert_int_equal(gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, s->types, s->n_types), MOTE_OK);
    if (s->merges)
        assert_int_equal(gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", s->merges, s->n_merges), MOTE_OK);
    if (s->bos >= -1) assert_int_equal(gguf_writer_add_i64(w, "tokenizer.ggml.bos_token_id", s->bos), MOTE_OK);
    void *buf;
    size_t size;
    assert_int_equal(gguf_writer_write_buffer(w, &buf, &size), MOTE_OK);
    gguf_writer_free(w);
    gguf_file *f;
    assert_int_equal(gguf_open_buffer(buf, size, "synth.gguf", &f), MOTE_OK);
    mote_status st = vocab_load(f, out);
    gguf_close(f);
    free(buf);
    return st;
}

static void test_load_validation(void **state)
{
    (void)state;
    static const char *const toks[] = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b",
                                       "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab"};
    static const float scores[] = {0, 0, 0, -1, -2, -2, -1, -3, -0.5f};
    static const int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1};
    synth s = {"llama", toks, 9, scores, 9, types, 9, NULL, 0, -2};
    struct vocab *v;

    /* A good one: "ab" -> ▁ab (score -0.5 beats ▁a + b). */
    assert_int_equal(load_synth(&s, &v), MOTE_OK);
    tokbuf t = tokenize(v, "ab", 2, true, false);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.ids[0], 1);
    assert_int_equal(t.ids[1], 8);
    tokbuf_free(&t);
    /* "c" has no token and no byte token: <unk>. */
    t = tokenize(v, "c", 1, false, false);
    assert_true(contains(&t, 0));
    tokbuf_free(&t);
    vocab_free(v);

    /* Scores and types must have one entry per token. */
    s.n_scores = 8;
    assert_int_equal(load_synth(&s, &v), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "tokenizer.ggml.scores"));
    s.n_scores = 9;
    s.n_types = 10;
    static const int32_t types10[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    s.types = types10;
    assert_int_equal(load_synth(&s, &v), MOTE_E_FORMAT);
    s.types = types;
    s.n_types = 9;

    /* An out-of-range BOS id is ignored (default 1 stays), a negative too. */
    s.bos = 99;
    assert_int_equal(load_synth(&s, &v), MOTE_OK);
    assert_int_equal(v->bos, 1);
    vocab_free(v);
    s.bos = 2;
    assert_int_equal(load_synth(&s, &v), MOTE_OK);
    assert_int_equal(v->bos, 2);
    vocab_free(v);
    s.bos = -2;

    /* A NaN score has no order: refused, naming the entry. Infinite scores
     * rank as the largest finite ones: "ab" still becomes <s> ▁ab. */
    float odd[9];
    memcpy(odd, scores, sizeof odd);
    odd[5] = NAN;
    s.scores = odd;
    assert_int_equal(load_synth(&s, &v), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "tokenizer.ggml.scores[5] is NaN"));
    odd[5] = -INFINITY;
    odd[8] = INFINITY;
    assert_int_equal(load_synth(&s, &v), MOTE_OK);
    assert_true(v->tokens[5].score == -FLT_MAX && v->tokens[8].score == FLT_MAX);
    t = tokenize(v, "ab", 2, true, false);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.ids[1], 8);
    tokbuf_free(&t);
    vocab_free(v);
    s.scores = scores;

    /* Duplicate texts are an error. */
    static const char *const dup[] = {"<unk>", "<s>", "</s>", "a", "a"};
    synth d = {"llama", dup, 5, NULL, 0, NULL, 0, NULL, 0, -2};
    assert_int_equal(load_synth(&d, &v), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "duplicate"));

    /* Unknown tokenizer models and pre-tokenizers are unsupported. */
    synth u = {"rwkv", dup, 3, NULL, 0, NULL, 0, NULL, 0, -2};
    assert_int_equal(load_synth(&u, &v), MOTE_E_UNSUPPORTED);

    /* BPE needs merges, and merges must split into two halves. */
    static const char *const bpe_toks[] = {"a", "b", "ab", "c", "abc"};
    synth b = {"gpt2", bpe_toks, 5, NULL, 0, NULL, 0, NULL, 0, 0};
    assert_int_equal(load_synth(&b, &v), MOTE_E_FORMAT);
    static const char *const bad_merges[] = {"a b", "abc"};
    b.merges = bad_merges;
    b.n_merges = 2;
    assert_int_equal(load_synth(&b, &v), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "merge 1"));

    /* Merges apply by rank: "ab c" (rank 1) after "a b" (rank 0). */
    static const char *const merges[] = {"a b", "ab c"};
    b.merges = merges;
    assert_int_equal(load_synth(&b, &v), MOTE_OK);
    t = tokenize(v, "abcab", 5, false, false);
    int32_t want[] = {4, 2};
    assert_int_equal(t.n, 2);
    assert_memory_equal(t.ids, want, sizeof want);
    tokbuf_free(&t);
    vocab_free(v);
}

static void test_bytelevel_mapping(void **state)
{
    (void)state;
    /* GPT-2's bytes_to_unicode: printable Latin-1 maps to itself, the rest
     * to 256, 257, ... in byte order; and back. */
    uint32_t next = 256;
    for (unsigned b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        uint32_t c = bytelevel_cpt((unsigned char)b);
        assert_int_equal(c, printable ? b : next++);
        assert_int_equal(bytelevel_byte(c), (int)b);
    }
    assert_int_equal(next, 256 + 68);
    assert_int_equal(bytelevel_byte(0x20), -1);
    assert_int_equal(bytelevel_byte(256 + 68), -1);
}

/* ------------------------------------------------------------------------
 * Unigram (T5 / XLM-R): no llama.cpp reference strings ship for it
 * ---------------------------------------------------------------------- */

/* Reference ids from Hugging Face tokenizers 0.23 (Rust): a Unigram model
 * with this file's pieces and scores, its precompiled charsmap as the
 * normalizer and a Metaspace pre-tokenizer. */
static const struct {
    const char *text;
    int32_t ids[8];
    size_t n;
} UGM_CASES[] = {
    {"ied 4 \xC2\xBD months", {17, 297, 201, 78660, 21775}, 5},
    {"\xC3\x84pfel", {20056, 254, 7510}, 3},
    {"Hello world", {35378, 8999}, 2},
    {" Hello, world!", {35378, 4, 8999, 38}, 4},
    {"    Hello\n    Hello", {35378, 35378}, 2},
    {" this is \xF0\x9F\xA6\x99.cpp", {903, 83, 6, 3, 5, 238, 6366}, 7}, /* 3: <unk> */
    {"' era", {242, 1615}, 2},
    {"333333333", {6, 66000, 66000, 66000}, 4},
    {"C\xE1\xBB\xAD" "a Vi\xE1\xBB\x87t", {199152, 3763}, 2},
    {"r\xC3\xA9sum\xC3\xA9", {233482}, 1},
    {"Vie\xE1\xBA\xBFt Nam", {71907, 27106, 2096}, 3},
};

static void test_unigram(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    struct vocab *v = shared_vocab("vocab/ggml-vocab-nomic-bert-moe.gguf");
    assert_int_equal(v->type, VOCAB_UGM);
    for (size_t i = 0; i < sizeof UGM_CASES / sizeof UGM_CASES[0]; i++) {
        tokbuf t = tokenize(v, UGM_CASES[i].text, strlen(UGM_CASES[i].text), false, false);
        if (!same_ids(t.ids, t.n, UGM_CASES[i].ids, UGM_CASES[i].n)) {
            print_ids("want", UGM_CASES[i].ids, UGM_CASES[i].n);
            print_ids("got ", t.ids, t.n);
            fail_msg("unigram: '%s'", UGM_CASES[i].text);
        }
        tokbuf_free(&t);
    }
    /* SentencePiece drops leading, trailing and repeated whitespace. */
    tokbuf t = tokenize(v, " \t\n ", 4, false, false);
    assert_int_equal(t.n, 0);
    tokbuf_free(&t);
    /* <s> ... </s> around it, and <mask> eats the space before it. */
    t = tokenize(v, "Hello <mask>", 12, true, true);
    int32_t want[] = {0, 35378, 250001, 2};
    assert_int_equal(t.n, 4);
    assert_memory_equal(t.ids, want, sizeof want);
    tokbuf_free(&t);
    char *back = NULL;
    int32_t ids[] = {0, 35378, 8999, 2};
    assert_int_equal(vocab_detokenize(v, ids, 4, false, &back, NULL), MOTE_OK);
    assert_string_equal(back, "Hello world");
    free(back);
}

/* ------------------------------------------------------------------------
 * Random text: never a crash, always valid ids, lossless where promised
 * ---------------------------------------------------------------------- */

/* Random text mixing ASCII, spaces, multi-byte UTF-8, invalid bytes and
 * pieces of special-token texts. */
static size_t random_text(uint64_t *rng, char *buf, size_t cap, bool valid_utf8)
{
    static const char *const bits[] = {" ", "  ", "\n", "\t", "'s", "123", "é", "中文", "🦙", "<|", "|>",
                                       "<s>", "</s>", "<|im_end|>", "[UNK]", "\xC3\xA9", "Ä", "ß", "..."};
    size_t n = 0, len = test_rng_next(rng) % 60;
    while (n + 16 < cap && len--) {
        uint64_t r = test_rng_next(rng);
        switch (r % 4) {
        case 0: buf[n++] = (char)(0x20 + (r >> 8) % 95); break;
        case 1: {
            const char *b = bits[(r >> 8) % (sizeof bits / sizeof bits[0])];
            memcpy(buf + n, b, strlen(b));
            n += strlen(b);
            break;
        }
        case 2: {
            uint32_t cpt = 0x80 + (uint32_t)((r >> 8) % 0x2F000);
            if ((cpt >= 0xD800 && cpt <= 0xDFFF) || cpt == 0x2581) cpt = 0x41;
            char u[4];
            size_t k = utf8_encode(cpt, u);
            memcpy(buf + n, u, k);
            n += k;
            break;
        }
        default:
            buf[n++] = valid_utf8 ? 'x' : (char)(r >> 8);
        }
    }
    return n;
}

/* lossless: detokenize gives valid UTF-8 text back exactly (invalid bytes
 * may come back as U+FFFD, or, in SentencePiece, swallow the U+2581 of a
 * following space, as in llama.cpp). */
static void fuzz_vocab(const char *rel, bool lossless)
{
    struct vocab *v = shared_vocab(rel);
    uint64_t rng = 0x5eed ^ strlen(rel);
    char text[512];
    for (int iter = 0; iter < 300; iter++) {
        bool valid = iter % 2 == 0;
        size_t n = random_text(&rng, text, sizeof text, valid);
        for (int mode = 0; mode < 4; mode++) {
            tokbuf t = {0};
            mote_status st = vocab_tokenize(v, text, n, mode & 1, mode & 2, &t);
            if (st != MOTE_OK) fail_msg("%s: tokenize failed: %s", rel, mote_last_error());
            for (size_t i = 0; i < t.n; i++) assert_true(vocab_valid(v, t.ids[i]));
            char *back = NULL;
            size_t back_len = 0;
            assert_int_equal(vocab_detokenize(v, t.ids, t.n, (mode & 2) != 0, &back, &back_len), MOTE_OK);
            bool exact = lossless && valid;
            if (exact && !(mode & 2) && (back_len != n || memcmp(back, text, n) != 0)) {
                fail_msg("%s: round trip of %zu bytes gave %zu bytes (mode %d):\n'%.*s'\n'%s'", rel, n,
                         back_len, mode, (int)n, text, back);
            }
            free(back);
            tokbuf_free(&t);
        }
    }
    /* Any ids detokenize. */
    int32_t ids[64];
    for (int iter = 0; iter < 50; iter++) {
        for (size_t i = 0; i < 64; i++) ids[i] = (int32_t)(test_rng_next(&rng) % (uint64_t)v->n_tokens);
        char *back = NULL;
        assert_int_equal(vocab_detokenize(v, ids, 64, iter & 1, &back, NULL), MOTE_OK);
        free(back);
    }
}

static void test_random_text(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    fuzz_vocab("vocab/ggml-vocab-llama-spm.gguf", true);
    fuzz_vocab("models/TinyStories-656K.f16.gguf", false); /* <unk> for what it lacks */
    fuzz_vocab("vocab/ggml-vocab-qwen2.gguf", true);
    fuzz_vocab("vocab/ggml-vocab-deepseek-llm.gguf", true);
    fuzz_vocab("vocab/ggml-vocab-llama-bpe.gguf", false);  /* cleans " ," */
    fuzz_vocab("vocab/ggml-vocab-gemma-4.gguf", false);
    fuzz_vocab("vocab/ggml-vocab-falcon.gguf", false);
    fuzz_vocab("vocab/ggml-vocab-bert-bge.gguf", false);   /* lowercases */
    fuzz_vocab("vocab/ggml-vocab-nomic-bert-moe.gguf", false);
}

/* ------------------------------------------------------------------------
 * The merge index, built on first use
 * ---------------------------------------------------------------------- */

#define RACERS 4

static const char RACE_TEXT[] = "Hello world! The quick brown fox jumps over the lazy dog, 12345 times.\n"
                                "    def tokenize(self, text): return [t for t in text.split()]";

typedef struct racer {
    const struct vocab *v;
    pthread_barrier_t *start;
    tokbuf out;
    mote_status st;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    r->st = vocab_tokenize(r->v, RACE_TEXT, sizeof RACE_TEXT - 1, false, false, &r->out);
    return NULL;
}

static void test_merges_lazy(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *rel = "vocab/ggml-vocab-starcoder.gguf";
    /* The answer of a vocabulary indexed by one thread (the cached one). */
    tokbuf want = tokenize(shared_vocab(rel), RACE_TEXT, sizeof RACE_TEXT - 1, false, false);
    assert_true(want.n > 10);

    gguf_file *f;
    assert_int_equal(gguf_open(shared_path(rel), &f), MOTE_OK);
    struct vocab *v;
    assert_int_equal(vocab_load(f, &v), MOTE_OK);
    gguf_close(f); /* the merges were copied: the index needs no file */
    const size_t loaded = vocab_bytes(v);

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
    racer r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (racer){.v = v, .start = &start};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&start);

    const size_t indexed = vocab_bytes(v);
    assert_true(indexed > loaded); /* the index exists now ... */
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(r[i].st, MOTE_OK);
        assert_true(same_ids(r[i].out.ids, r[i].out.n, want.ids, want.n));
        tokbuf_free(&r[i].out);
    }
    tokbuf again = tokenize(v, RACE_TEXT, sizeof RACE_TEXT - 1, false, false);
    assert_true(same_ids(again.ids, again.n, want.ids, want.n));
    assert_int_equal(vocab_bytes(v), indexed); /* ... and was built once */
    tokbuf_free(&again);
    tokbuf_free(&want);
    vocab_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytelevel_mapping),
        cmocka_unit_test(test_load_validation),
        cmocka_unit_test(test_vocab_reference_strings),
        cmocka_unit_test(test_golden_prompts),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_special_parsing),
        cmocka_unit_test(test_special_ids),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_unencodable),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_unigram),
        cmocka_unit_test(test_random_text),
        cmocka_unit_test(test_merges_lazy),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_cache);
}
