/*
 * tok_pretok.c — BPE pre-tokenizer regexes and the splitting loop.
 *
 * The regexes are the models' own (their tokenizer.json "Split" patterns,
 * as listed by llama.cpp for each tokenizer.ggml.pre name), compiled with
 * PCRE2 in UTF + UCP mode so \p{L}, \s, \d and case folding are Unicode
 * aware like the Rust/Python engines the models were trained with.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "engine/tok_pretok.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/tok_unicode.h"

/* ------------------------------------------------------------------------
 * The regex sets
 * ---------------------------------------------------------------------- */

/* GPT-2 (tiktoken r50k). */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* Llama 3 (tiktoken cl100k): numbers in groups of up to three. */
#define RE_LLAMA3                                                                        \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"             \
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Qwen 2: like Llama 3 with single digits. */
#define RE_QWEN2                                                                         \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"                  \
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Qwen 3.5: combining marks stay with their letters. */
#define RE_QWEN35                                                                        \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}"          \
    "| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* GPT-4o (o200k): case-aware words with contractions attached. */
#define RE_GPT4O                                                                         \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"                                                      \
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"                                                      \
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Mistral Tekken. */
#define RE_TEKKEN                                                                        \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" \
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" \
    "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* BLOOM, Poro, Viking: everything but spaces and sentence punctuation. */
#define RE_BLOOM " ?[^(\\s|.,!?…。，、।۔،)]+"

/* Han, Hiragana, Katakana runs (DeepSeek V3, Hunyuan). */
#define RE_CJK_KANA "[一-龥぀-ゟ゠-ヿ]+"
/* CJK and Hangul runs (DeepSeek LLM and Coder). */
#define RE_CJK_HANGUL "[一-龥ࠀ-一가-퟿]+"

struct pretok_spec {
    const char *re[PRETOK_MAX_REGEX]; /* applied in order; NULL-terminated */
};

static const struct pretok_spec SPEC_DEFAULT = {{
    "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL}};
static const struct pretok_spec SPEC_GPT2 = {{RE_GPT2, NULL}};
static const struct pretok_spec SPEC_LLAMA3 = {{RE_LLAMA3, NULL}};
static const struct pretok_spec SPEC_QWEN2 = {{RE_QWEN2, NULL}};
static const struct pretok_spec SPEC_QWEN35 = {{RE_QWEN35, NULL}};
static const struct pretok_spec SPEC_STARCODER = {{"\\p{N}", RE_GPT2, NULL}};
static const struct pretok_spec SPEC_FALCON = {{
    "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL}};
static const struct pretok_spec SPEC_DEEPSEEK_LLM = {{
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕ"
    "ἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳ"
    "Ꙁ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    RE_CJK_HANGUL,
    "\\p{N}+"}};
static const struct pretok_spec SPEC_DEEPSEEK_CODER = {{
    "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK_HANGUL, "\\p{N}", NULL}};
static const struct pretok_spec SPEC_DEEPSEEK3 = {{
    "\\p{N}{1,3}", RE_CJK_KANA,
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL}};
static const struct pretok_spec SPEC_BLOOM = {{RE_BLOOM, NULL}};
static const struct pretok_spec SPEC_VIKING = {{RE_BLOOM, "\\p{N}", NULL}};
static const struct pretok_spec SPEC_TEKKEN = {{RE_TEKKEN, NULL}};
static const struct pretok_spec SPEC_GPT4O = {{RE_GPT4O, NULL}};
static const struct pretok_spec SPEC_TINY_AYA = {{"\\d{1,3}(?=(?:\\d{3})*\\b)", RE_GPT4O, NULL}};
static const struct pretok_spec SPEC_CHAMELEON = {{
    "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
    "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2}};
static const struct pretok_spec SPEC_BAILINGMOE = {{
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*"
    "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    NULL}};
static const struct pretok_spec SPEC_SEED_CODER = {{
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL}};
static const struct pretok_spec SPEC_EXAONE_MOE = {{
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    NULL}};
static const struct pretok_spec SPEC_MINICPM5 = {{
    "\\p{N}{1,3}",
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL}};
static const struct pretok_spec SPEC_UFAKZEKA = {{
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL}};
/* SentencePiece-style BPE: only newlines are split off. */
static const struct pretok_spec SPEC_GEMMA4 = {{"[^\\n]+|[\\n]+", NULL}};
static const struct pretok_spec SPEC_LAGUNA = {{"[^\\n]+|[\\n]+", RE_QWEN2, NULL}};

/* ------------------------------------------------------------------------
 * tokenizer.ggml.pre names (llama.cpp's mapping)
 * ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    const struct pretok_spec *spec;
    unsigned flags;
} PRE_NAMES[] = {
    {"default", &SPEC_DEFAULT, 0},
    {"llama3", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"llama-v3", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"llama-bpe", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"falcon3", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"falcon-h1", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"pixtral", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"midm-2.0", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"lfm2", &SPEC_LLAMA3, PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"dbrx", &SPEC_LLAMA3, 0},
    {"smaug-bpe", &SPEC_LLAMA3, 0},
    {"glm4", &SPEC_LLAMA3, PRE_NO_BOS},
    {"chatglm-bpe", &SPEC_LLAMA3, PRE_NO_BOS},
    {"deepseek-llm", &SPEC_DEEPSEEK_LLM, PRE_NO_CLEAN},
    {"deepseek-coder", &SPEC_DEEPSEEK_CODER, PRE_NO_CLEAN},
    {"deepseek-v3", &SPEC_DEEPSEEK3, PRE_NO_CLEAN},
    {"hunyuan-dense", &SPEC_DEEPSEEK3, PRE_NO_CLEAN},
    {"joyai-llm", &SPEC_DEEPSEEK3, PRE_NO_CLEAN},
    {"falcon", &SPEC_FALCON, 0},
    {"mpt", &SPEC_GPT2, 0},
    {"gpt-2", &SPEC_GPT2, 0},
    {"phi-2", &SPEC_GPT2, 0},
    {"jina-es", &SPEC_GPT2, 0},
    {"jina-de", &SPEC_GPT2, 0},
    {"jina-v2-es", &SPEC_GPT2, 0},
    {"jina-v2-de", &SPEC_GPT2, 0},
    {"gigachat", &SPEC_GPT2, 0},
    {"a.x-4.0", &SPEC_GPT2, 0},
    {"mellum", &SPEC_GPT2, 0},
    {"modern-bert", &SPEC_GPT2, 0},
    {"exaone4", &SPEC_GPT2, 0},
    {"olmo", &SPEC_GPT2, 0},
    {"jais", &SPEC_GPT2, 0},
    {"jina-v1-en", &SPEC_GPT2, PRE_ADD_SEP},
    {"jina-v2-code", &SPEC_GPT2, PRE_ADD_SEP},
    {"roberta-bpe", &SPEC_GPT2, PRE_ADD_SEP},
    {"trillion", &SPEC_GPT2, PRE_NO_CLEAN},
    {"granite-docling", &SPEC_GPT2, PRE_NO_CLEAN},
    {"starcoder", &SPEC_STARCODER, 0},
    {"refact", &SPEC_STARCODER, 0},
    {"codeshell", &SPEC_STARCODER, 0},
    {"exaone", &SPEC_STARCODER, 0},
    {"minerva-7b", &SPEC_STARCODER, 0},
    {"mellum2", &SPEC_STARCODER, 0},
    {"command-r", &SPEC_STARCODER, PRE_NO_CLEAN},
    {"smollm", &SPEC_STARCODER, PRE_NO_CLEAN},
    {"qwen2", &SPEC_QWEN2, PRE_NO_CLEAN},
    {"deepseek-r1-qwen", &SPEC_QWEN2, PRE_NO_CLEAN},
    {"kormo", &SPEC_QWEN2, PRE_NO_CLEAN},
    {"f2llmv2", &SPEC_QWEN2, PRE_NO_CLEAN},
    {"hunyuan", &SPEC_QWEN2, PRE_NO_CLEAN},
    {"solar-open", &SPEC_QWEN2, PRE_NO_CLEAN},
    {"grok-2", &SPEC_QWEN2, PRE_NO_CLEAN},
    {"megrez", &SPEC_QWEN2, 0},
    {"stablelm2", &SPEC_QWEN2, 0},
    {"qwen35", &SPEC_QWEN35, PRE_NO_CLEAN},
    {"poro-chat", &SPEC_BLOOM, PRE_NO_CLEAN},
    {"bloom", &SPEC_BLOOM, 0},
    {"gpt3-finnish", &SPEC_BLOOM, 0},
    {"viking", &SPEC_VIKING, PRE_NO_CLEAN},
    {"tekken", &SPEC_TEKKEN, PRE_NO_CLEAN | PRE_IGNORE_MERGES | PRE_ADD_BOS},
    {"chameleon", &SPEC_CHAMELEON, PRE_NO_CLEAN | PRE_ADD_BOS},
    {"gpt-4o", &SPEC_GPT4O, PRE_NO_CLEAN},
    {"llama4", &SPEC_GPT4O, PRE_NO_CLEAN},
    {"kanana2", &SPEC_GPT4O, PRE_NO_CLEAN},
    {"talkie", &SPEC_GPT4O, PRE_NO_CLEAN},
    {"minimax-m2", &SPEC_GPT4O, PRE_NO_CLEAN},
    {"tiny_aya", &SPEC_TINY_AYA, PRE_NO_CLEAN},
    {"cohere2moe", &SPEC_TINY_AYA, PRE_NO_CLEAN},
    {"bailingmoe", &SPEC_BAILINGMOE, PRE_NO_CLEAN},
    {"bailingmoe2", &SPEC_BAILINGMOE, PRE_NO_CLEAN},
    {"llada-moe", &SPEC_BAILINGMOE, PRE_NO_CLEAN},
    {"seed-coder", &SPEC_SEED_CODER, PRE_NO_CLEAN},
    {"exaone-moe", &SPEC_EXAONE_MOE, 0},
    {"minicpm5", &SPEC_MINICPM5, PRE_IGNORE_MERGES},
    {"ufakzeka", &SPEC_UFAKZEKA, PRE_NO_CLEAN},
    {"laguna", &SPEC_LAGUNA, PRE_NO_CLEAN},
    {"gemma4", &SPEC_GEMMA4, PRE_RAW_UTF8 | PRE_NEWLINE_TOKENS},
    {"granite-embed-multi-311m", &SPEC_GEMMA4, PRE_RAW_UTF8 | PRE_NEWLINE_TOKENS},
    {"sarvam-moe", &SPEC_GEMMA4, PRE_RAW_UTF8 | PRE_NO_CLEAN},
};

/* ------------------------------------------------------------------------
 * Compiling
 * ---------------------------------------------------------------------- */

struct pretok {
    pcre2_code *re[PRETOK_MAX_REGEX]; /* compiled, JIT'd where possible */
    size_t n_re;
};

void pretok_free(struct pretok *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_re; i++) pcre2_code_free(p->re[i]);
    free(p);
}

/* $ means the end of the piece only, as in ECMAScript and Rust regex. */
#define PRETOK_COMPILE_OPTIONS (PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY)

mote_status pretok_create(const char *name, struct pretok **out, unsigned *flags)
{
    *out = NULL;
    if (!name || !*name) name = "default";
    const struct pretok_spec *spec = NULL;
    for (size_t i = 0; i < sizeof PRE_NAMES / sizeof PRE_NAMES[0]; i++) {
        if (strcmp(PRE_NAMES[i].name, name) == 0) {
            spec = PRE_NAMES[i].spec;
            *flags = PRE_NAMES[i].flags;
            break;
        }
    }
    if (!spec)
        return mote_fail(MOTE_E_UNSUPPORTED, "tokenizer: unknown pre-tokenizer '%s' "
                         "(tokenizer.ggml.pre)", name);

    struct pretok *p = calloc(1, sizeof *p);
    if (!p) return mote_fail(MOTE_E_NOMEM, "tokenizer: pre-tokenizer");
    for (size_t i = 0; i < PRETOK_MAX_REGEX && spec->re[i]; i++) {
        int err;
        PCRE2_SIZE at;
        p->re[i] = pcre2_compile((PCRE2_SPTR)spec->re[i], PCRE2_ZERO_TERMINATED,
                                 PRETOK_COMPILE_OPTIONS, &err, &at, NULL);
        if (!p->re[i]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            pretok_free(p);
            return mote_fail(MOTE_E_UNSUPPORTED, "tokenizer: pre-tokenizer '%s': regex %zu: %s at %zu",
                             name, i, (const char *)msg, (size_t)at);
        }
        p->n_re = i + 1;
        /* Without JIT (not built in, or no executable memory) the
         * interpreter gives the same matches, only slower. */
        (void)pcre2_jit_compile(p->re[i], PCRE2_JIT_COMPLETE);
    }
    *out = p;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Splitting
 * ---------------------------------------------------------------------- */

typedef struct spanbuf {
    span *v;
    size_t n, cap;
} spanbuf;

static mote_status span_push(spanbuf *b, size_t off, size_t len)
{
    if (len == 0) return MOTE_OK;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        span *v = realloc(b->v, cap * sizeof *v);
        if (!v) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu pre-tokens", cap);
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = (span){off, len};
    return MOTE_OK;
}

/* Find the next match of re in subject[0..n) at or after pos: *found = 1
 * and [*ms, *me) on a match, *found = 0 when there is none. */
static mote_status next_match(const pcre2_code *re, const char *subject, size_t n, size_t pos,
                              pcre2_match_data *md, size_t *ms, size_t *me, int *found)
{
    uint32_t opts = PCRE2_NO_UTF_CHECK; /* the text was sanitised */
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, n, pos, opts, md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re, (PCRE2_SPTR)subject, n, pos, opts | PCRE2_NO_JIT, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) {
        *found = 0;
        return MOTE_OK;
    }
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return mote_fail(MOTE_E_TOKENIZE, "tokenizer: pre-tokenizer regex failed: %s",
                         (const char *)msg);
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *ms = ov[0];
    *me = ov[1];
    *found = 1;
    return MOTE_OK;
}

/* Cut one piece with one regex: matches and the gaps between them. */
static mote_status split_piece(const pcre2_code *re, const char *text, span piece,
                               pcre2_match_data *md, spanbuf *out)
{
    const char *s = text + piece.off;
    size_t pos = 0, gap = 0;
    while (pos < piece.len) {
        size_t ms = 0, me = 0;
        int found = 0;
        MOTE_TRY(next_match(re, s, piece.len, pos, md, &ms, &me, &found));
        if (!found) break;
        if (me == ms) {
            /* An empty match cuts nothing; step over one character. */
            if (ms >= piece.len) break;
            pos = ms + utf8_seq_len((unsigned char)s[ms]);
            continue;
        }
        MOTE_TRY(span_push(out, piece.off + gap, ms - gap));
        MOTE_TRY(span_push(out, piece.off + ms, me - ms));
        pos = gap = me;
    }
    return span_push(out, piece.off + gap, piece.len - gap);
}

mote_status pretok_split(const struct pretok *p, const char *text, size_t n,
                         span **pieces, size_t *n_pieces)
{
    *pieces = NULL;
    *n_pieces = 0;
    spanbuf cur = {0}, next = {0};
    mote_status st = span_push(&cur, 0, n);
    pcre2_match_data *md = pcre2_match_data_create(8, NULL);
    if (!md) st = mote_fail(MOTE_E_NOMEM, "tokenizer: regex match data");
    for (size_t r = 0; st == MOTE_OK && r < p->n_re; r++) {
        next.n = 0;
        for (size_t i = 0; st == MOTE_OK && i < cur.n; i++)
            st = split_piece(p->re[r], text, cur.v[i], md, &next);
        spanbuf t = cur;
        cur = next;
        next = t;
    }
    pcre2_match_data_free(md);
    free(next.v);
    if (st != MOTE_OK) {
        free(cur.v);
        return st;
    }
    *pieces = cur.v;
    *n_pieces = cur.n;
    return MOTE_OK;
}
