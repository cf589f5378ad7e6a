/*
 * synth.c — mote_synth: write a random-weight GGUF shaped like a real model.
 *
 * The plan (synth_plan.c) says which tensors, shapes and types; this file
 * writes the keys, copies the tokenizer, and streams the tensor data
 * through the GGUF writer's fill callback, producing each chunk of rows in
 * parallel on a thread pool. Nothing larger than a chunk (about 1 MiB) and
 * the block pools (a few MiB) is ever held in memory.
 *
 * Every random number comes from a stream keyed by (seed, what, index,
 * row), so a row's bytes do not depend on which thread makes it or how
 * the writer chunks the rows: same parameters, same file.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/status.h"
#include "base/threadpool.h"
#include "gguf/gguf_write.h"
#include "tensor/quant.h"
#include "toolkit/synth.h"

#define SYNTH_STD 0.02f        /* standard deviation of weights and biases */
#define POOL_ELEMS (1 << 20)   /* samples behind each type's block pool */
#define POOL_UNIT_MIN 32       /* elements per pick for types of block size 1 */
#define MAX_POOLS 8            /* distinct weight types in one model */
#define QUANT_VERSION 2        /* general.quantization_version of ggml's formats */
/* Ranges of random LongRoPE factors: Phi-4-mini's short ones lie in about
 * [1, 2), its long ones in [1, 40). */
#define LONGROPE_SHORT_MIN 1.0f
#define LONGROPE_SHORT_MAX 2.0f
#define LONGROPE_LONG_MIN 1.0f
#define LONGROPE_LONG_MAX 40.0f

/* ------------------------------------------------------------------------
 * Random numbers
 * ---------------------------------------------------------------------- */

enum stream_kind { STREAM_TENSOR = 1, STREAM_POOL = 2, STREAM_ROPE = 3 };

/* splitmix64's finaliser: a bijective 64-bit mix. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The stream for row `row` of object `index` of a kind. */
static inline uint64_t stream(uint64_t seed, enum stream_kind kind, uint64_t index, uint64_t row)
{
    return mix64(mix64(seed) + (((uint64_t)kind << 56) ^ (index << 32) ^ row));
}

static inline uint64_t next64(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return mix64(*s);
}

/* Approximately N(0, std): the sum of four 16-bit uniforms (Irwin-Hall),
 * centred and scaled to unit variance. Exact mean and variance, tails cut
 * at 3.46 sigma; pure integer and float arithmetic, so the same on every
 * machine, and cheap (one 64-bit draw per sample). */
static inline float normal(uint64_t *s, float std)
{
    static const float sqrt3 = 1.7320508075688772f;
    uint64_t r = next64(s);
    uint32_t sum = (uint32_t)(r & 0xffff) + (uint32_t)((r >> 16) & 0xffff) +
                   (uint32_t)((r >> 32) & 0xffff) + (uint32_t)(r >> 48);
    /* (u + 0.5) / 65536 is uniform on (0, 1), symmetric about 1/2. */
    float x = ((float)sum + 2.0f) * (1.0f / 65536.0f) - 2.0f;
    return x * (sqrt3 * std);
}

/* Uniform on [0, 1), 24 bits. */
static inline float uniform(uint64_t *s) { return (float)(next64(s) >> 40) * (1.0f / 16777216.0f); }

/* n draws of lo + (hi - lo) * u^power, in increasing order: LongRoPE factors
 * grow from the fast frequencies to the slow ones. Arithmetic only (no libm),
 * so the same on every machine. */
static void increasing_factors(uint64_t *s, float lo, float hi, int power, float *out, int n)
{
    for (int i = 0; i < n; i++) {
        float u = uniform(s), p = u;
        for (int k = 1; k < power; k++) p *= u;
        float x = lo + (hi - lo) * p;
        int j = i;
        for (; j > 0 && out[j - 1] > x; j--) out[j] = out[j - 1];
        out[j] = x;
    }
}

void synth_longrope_factors(const synth_shape *s, uint64_t seed, float *long_f, float *short_f)
{
    const int n = synth_rope_dims(s) / 2;
    uint64_t st = stream(seed, STREAM_ROPE, 0, 0);
    /* Long factors crowd towards the low end, as real ones do. */
    increasing_factors(&st, LONGROPE_LONG_MIN, LONGROPE_LONG_MAX, 2, long_f, n);
    increasing_factors(&st, LONGROPE_SHORT_MIN, LONGROPE_SHORT_MAX, 1, short_f, n);
}

/* ------------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------- */

/* Quantized blocks to pick rows from (the default, non-exact mode). */
typedef struct block_pool {
    uint32_t type;      /* enum ggml_type */
    int64_t unit;       /* elements per pick: the block size, or POOL_UNIT_MIN */
    size_t unit_bytes;  /* bytes per pick */
    int64_t n_units;    /* picks in the pool */
    uint8_t *data;      /* n_units * unit_bytes */
} block_pool;

typedef struct synth_ctx {
    const synth_shape *shape;
    uint64_t seed;
    int exact;                 /* quantize every row from its own samples */
    synth_tensor *tensors;     /* the plan */
    int n_tensors;
    mote_pool *pool;           /* worker threads */
    block_pool pools[MAX_POOLS];
    int n_pools;
    float **scratch;           /* per thread: max_cols floats (exact mode) */
    int64_t max_cols;          /* longest row of a matrix */
    float *rope;               /* Llama 3 rope factors, or NULL */
    float *rope_long;          /* LongRoPE factors, or NULL */
    float *rope_short;
    uint64_t done, total;      /* data bytes written / to write */
    mote_progress_fn progress;
    void *progress_user;
} synth_ctx;

/* The fill callback's argument: one per tensor. */
typedef struct fill_arg {
    synth_ctx *c;
    int index; /* into c->tensors */
} fill_arg;

static block_pool *find_pool(synth_ctx *c, uint32_t type)
{
    for (int i = 0; i < c->n_pools; i++)
        if (c->pools[i].type == type) return &c->pools[i];
    return NULL;
}

/* ------------------------------------------------------------------------
 * Block pools
 * ---------------------------------------------------------------------- */

typedef struct pool_job {
    synth_ctx *c;
    block_pool *bp;
} pool_job;

static void build_pool_part(void *ctx, int ith, int nth)
{
    const pool_job *job = ctx;
    block_pool *bp = job->bp;
    float x[QK_K];
    long lo, hi;
    pool_split((long)bp->n_units, ith, nth, &lo, &hi);
    for (long u = lo; u < hi; u++) {
        uint64_t s = stream(job->c->seed, STREAM_POOL, bp->type, (uint64_t)u);
        for (int64_t j = 0; j < bp->unit; j++) x[j] = normal(&s, SYNTH_STD);
        /* The unit is whole blocks of the type: this cannot fail. */
        quantize_row(bp->type, x, bp->data + (size_t)u * bp->unit_bytes, bp->unit);
    }
}

/* One pool for each type of matrix in the plan. */
static mote_status build_pools(synth_ctx *c)
{
    for (int i = 0; i < c->n_tensors; i++) {
        const synth_tensor *t = &c->tensors[i];
        if (t->n_dims != 2 || find_pool(c, t->type)) continue;
        if (c->n_pools == MAX_POOLS) return mote_fail(MOTE_E_INVALID, "synth: too many tensor types");
        int block = ggml_type_get(t->type)->block_size;
        block_pool *bp = &c->pools[c->n_pools++];
        bp->type = t->type;
        bp->unit = block > 1 ? block : POOL_UNIT_MIN;
        bp->unit_bytes = ggml_row_size(t->type, bp->unit);
        /* No more units than the model's matrices of this type hold: for
         * small models the pool costs what exact quantization would. */
        int64_t need = 0;
        for (int j = i; j < c->n_tensors; j++)
            if (c->tensors[j].n_dims == 2 && c->tensors[j].type == t->type)
                need += c->tensors[j].ne[0] / bp->unit * c->tensors[j].ne[1];
        bp->n_units = POOL_ELEMS / bp->unit < need ? POOL_ELEMS / bp->unit : need;
        if (bp->n_units < 1) bp->n_units = 1;
        bp->data = malloc((size_t)bp->n_units * bp->unit_bytes);
        if (!bp->data) return mote_fail(MOTE_E_NOMEM, "synth: out of memory for a block pool");
        pool_job job = {c, bp};
        pool_run(c->pool, build_pool_part, &job);
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Tensor data
 * ---------------------------------------------------------------------- */

/* A chunk of rows of one tensor, shared by the workers. */
typedef struct fill_job {
    synth_ctx *c;
    int index;          /* tensor */
    uint64_t row0;      /* first row of the chunk */
    uint64_t n_rows;
    uint8_t *buf;       /* the chunk's bytes */
} fill_job;

/* One row of a matrix: picked blocks of the pool, or quantized samples. */
static void matrix_row(synth_ctx *c, const synth_tensor *t, int ith, uint64_t row, uint8_t *dst)
{
    const int64_t n = t->ne[0];
    uint64_t s = stream(c->seed, STREAM_TENSOR, (uint64_t)(t - c->tensors), row);
    const block_pool *bp = c->exact ? NULL : find_pool(c, t->type);
    if (bp && n % bp->unit == 0) {
        for (int64_t j = 0; j < n / bp->unit; j++) {
            /* Lemire's multiply-shift: a uniform index below n_units. */
            uint64_t k = ((next64(&s) >> 32) * (uint64_t)bp->n_units) >> 32;
            memcpy(dst + (size_t)j * bp->unit_bytes, bp->data + k * bp->unit_bytes, bp->unit_bytes);
        }
        return;
    }
    float *x = c->scratch[ith];
    for (int64_t j = 0; j < n; j++) x[j] = normal(&s, SYNTH_STD);
    quantize_row(t->type, x, dst, n); /* types and row lengths were checked by the plan */
}

static void fill_part(void *ctx, int ith, int nth)
{
    fill_job *job = ctx;
    const synth_tensor *t = &job->c->tensors[job->index];
    const size_t row_bytes = ggml_row_size(t->type, t->ne[0]);
    long lo, hi;
    pool_split((long)job->n_rows, ith, nth, &lo, &hi);
    for (long r = lo; r < hi; r++)
        matrix_row(job->c, t, ith, job->row0 + (uint64_t)r, job->buf + (size_t)r * row_bytes);
}

/* A 1-D F32 tensor: one row. */
static void vector_row(synth_ctx *c, const synth_tensor *t, float *dst)
{
    uint64_t s = stream(c->seed, STREAM_TENSOR, (uint64_t)(t - c->tensors), 0);
    for (int64_t j = 0; j < t->ne[0]; j++) {
        switch (t->role) {
        case ROLE_NORM: dst[j] = 1.0f; break;
        case ROLE_ROPE_FREQS: dst[j] = c->rope[j]; break;
        case ROLE_ROPE_LONG: dst[j] = c->rope_long[j]; break;
        case ROLE_ROPE_SHORT: dst[j] = c->rope_short[j]; break;
        default: dst[j] = normal(&s, SYNTH_STD); break;
        }
    }
}

static mote_status fill_tensor(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    const fill_arg *a = user;
    synth_ctx *c = a->c;
    const synth_tensor *t = &c->tensors[a->index];
    if (t->n_dims == 1) {
        vector_row(c, t, buf);
    } else {
        fill_job job = {.c = c, .index = a->index, .row0 = row0, .n_rows = n_rows, .buf = buf};
        pool_run(c->pool, fill_part, &job);
    }
    c->done += n_rows * ggml_row_size(t->type, t->ne[0]);
    if (c->progress && c->progress(c->progress_user, c->done, c->total))
        return mote_fail(MOTE_E_CANCELLED, "synth: cancelled after %llu of %llu bytes",
                         (unsigned long long)c->done, (unsigned long long)c->total);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Keys
 * ---------------------------------------------------------------------- */

#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", s->arch, suffix), key)

/* A key the converter writes only when config.json sets the value. */
static mote_status add_f32_if_set(gguf_writer *w, const char *key, float value)
{
    return value > 0.0f ? gguf_writer_add_f32(w, key, value) : MOTE_OK;
}

/* TextModel's keys, and those its subclasses add (LlamaModel, GraniteModel,
 * Gemma3Model), in the order they first write them. */
static mote_status add_text_hparams(gguf_writer *w, const synth_shape *s, int n_layer,
                                    int64_t n_vocab, uint32_t ftype)
{
    char key[96];
    const int hd = synth_head_dim(s);
    MOTE_TRY(gguf_writer_add_u32(w, KEY("block_count"), (uint32_t)n_layer));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("context_length"), (uint32_t)s->n_ctx_train));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv));
    MOTE_TRY(gguf_writer_add_f32(w, KEY("rope.freq_base"), s->rope_base));
    MOTE_TRY(add_f32_if_set(w, KEY("rope.freq_base_swa"), s->rope_base_swa));
    MOTE_TRY(gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->norm_eps));
    if (s->head_dim_keys) {
        MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.key_length"), (uint32_t)hd));
        MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.value_length"), (uint32_t)hd));
    }
    MOTE_TRY(gguf_writer_add_u32(w, "general.file_type", ftype));
    if (s->keys == KEYS_LLAMA) {
        MOTE_TRY(gguf_writer_add_u32(w, KEY("vocab_size"), (uint32_t)n_vocab));
        MOTE_TRY(gguf_writer_add_u32(w, KEY("rope.dimension_count"), (uint32_t)synth_rope_dims(s)));
    }
    MOTE_TRY(add_f32_if_set(w, KEY("attention.scale"), s->attention_scale));
    MOTE_TRY(add_f32_if_set(w, KEY("embedding_scale"), s->embedding_scale));
    MOTE_TRY(add_f32_if_set(w, KEY("residual_scale"), s->residual_scale));
    MOTE_TRY(add_f32_if_set(w, KEY("logit_scale"), s->logit_scale));
    MOTE_TRY(add_f32_if_set(w, KEY("final_logit_softcapping"), s->softcap));
    if (s->sliding_window > 0) {
        uint32_t window = (uint32_t)s->sliding_window;
        MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.sliding_window"), window));
    }
    if (s->dense) { /* EmbeddingGemma's: in and out features of each dense layer */
        MOTE_TRY(gguf_writer_add_u32(w, KEY("dense_2_feat_in"), (uint32_t)s->n_embd));
        MOTE_TRY(gguf_writer_add_u32(w, KEY("dense_2_feat_out"), (uint32_t)s->dense));
        MOTE_TRY(gguf_writer_add_u32(w, KEY("dense_3_feat_in"), (uint32_t)s->dense));
        MOTE_TRY(gguf_writer_add_u32(w, KEY("dense_3_feat_out"), (uint32_t)s->n_embd));
    }
    if (s->pooling) MOTE_TRY(gguf_writer_add_u32(w, KEY("pooling_type"), (uint32_t)s->pooling));
    return MOTE_OK;
}

/* BertModel's keys (NomicBertModel's too): TextModel's for a config.json
 * with no num_key_value_heads and no rope_theta (head_count_kv is left to
 * its default, head_count), LayerNorm's epsilon; then the encoder's
 * attention.causal, the pooling, and nomic-bert's rotary_emb_base. */
static mote_status add_bert_hparams(gguf_writer *w, const synth_shape *s, int n_layer,
                                    uint32_t ftype)
{
    char key[96];
    MOTE_TRY(gguf_writer_add_u32(w, KEY("block_count"), (uint32_t)n_layer));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("context_length"), (uint32_t)s->n_ctx_train));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head));
    MOTE_TRY(gguf_writer_add_f32(w, KEY("attention.layer_norm_epsilon"), s->norm_eps));
    MOTE_TRY(gguf_writer_add_u32(w, "general.file_type", ftype));
    MOTE_TRY(gguf_writer_add_bool(w, KEY("attention.causal"), false));
    if (s->pooling) MOTE_TRY(gguf_writer_add_u32(w, KEY("pooling_type"), (uint32_t)s->pooling));
    if (!s->learned_pos) MOTE_TRY(gguf_writer_add_f32(w, KEY("rope.freq_base"), s->rope_base));
    return MOTE_OK;
}

/* Phi3MiniModel's keys: its own list (no key_length even with head_dim, the
 * sliding window always, 0 when config.json has none), then LongRoPE's
 * attention factor, written when the factor tensors are made. */
static mote_status add_phi3_hparams(gguf_writer *w, const synth_shape *s, int n_layer,
                                    uint32_t ftype)
{
    char key[96];
    const uint32_t orig_ctx = (uint32_t)s->rope_orig_ctx;
    MOTE_TRY(gguf_writer_add_u32(w, KEY("context_length"), (uint32_t)s->n_ctx_train));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("rope.scaling.original_context_length"), orig_ctx));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("block_count"), (uint32_t)n_layer));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv));
    MOTE_TRY(gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->norm_eps));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("rope.dimension_count"), (uint32_t)synth_rope_dims(s)));
    MOTE_TRY(gguf_writer_add_f32(w, KEY("rope.freq_base"), s->rope_base));
    MOTE_TRY(gguf_writer_add_u32(w, "general.file_type", ftype));
    MOTE_TRY(gguf_writer_add_u32(w, KEY("attention.sliding_window"), (uint32_t)s->sliding_window));
    if (s->longrope) {
        float attn_factor = synth_longrope_attn_factor(s);
        MOTE_TRY(gguf_writer_add_f32(w, KEY("rope.scaling.attn_factor"), attn_factor));
    }
    return MOTE_OK;
}
#undef KEY

/* The keys llama.cpp's converter writes for the architecture, in its order,
 * then the tokenizer (copied), then llama-quantize's version key. */
static mote_status add_hparams(gguf_writer *w, const synth_shape *s, int n_layer, int64_t n_vocab,
                               uint32_t ftype, uint64_t seed, int exact)
{
    char text[256];
    MOTE_TRY(gguf_writer_add_str(w, "general.architecture", s->arch));
    snprintf(text, sizeof text, "%s (random weights)", s->title ? s->title : s->name);
    MOTE_TRY(gguf_writer_add_str(w, "general.name", text));
    snprintf(text, sizeof text,
             "RANDOM weights (mote synth, seed %llu, %s), not a trained model: shapes of %s",
             (unsigned long long)seed, exact ? "exact" : "pooled blocks", s->name);
    MOTE_TRY(gguf_writer_add_str(w, "general.description", text));
    if (s->keys == KEYS_PHI3) return add_phi3_hparams(w, s, n_layer, ftype);
    if (s->keys == KEYS_BERT) return add_bert_hparams(w, s, n_layer, ftype);
    return add_text_hparams(w, s, n_layer, n_vocab, ftype);
}

/* The token count of the vocabulary file: the model's n_vocab. */
static mote_status vocab_size(const gguf_file *vf, int64_t *n_vocab)
{
    const gguf_kv *tokens;
    MOTE_TRY(gguf_get_arr(vf, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens));
    if (tokens->arr_n == 0 || tokens->arr_n > (1u << 24))
        return mote_fail(MOTE_E_FORMAT, "%s: vocabulary of %llu tokens", vf->path,
                         (unsigned long long)tokens->arr_n);
    *n_vocab = (int64_t)tokens->arr_n;
    return MOTE_OK;
}

/* Every tokenizer.* key of the vocabulary file, in its order. A model with
 * token types has its own count of them first, where BertModel's set_vocab
 * writes it (llama.cpp sizes token_types by it), instead of the file's. */
static mote_status add_tokenizer(gguf_writer *w, const gguf_file *vf, const synth_shape *s)
{
    static const char type_count[] = "tokenizer.ggml.token_type_count";
    if (s->token_types) MOTE_TRY(gguf_writer_add_u32(w, type_count, (uint32_t)s->token_types));
    for (uint64_t i = 0; i < vf->n_kv; i++) {
        const char *key = vf->kv[i].key;
        if (strncmp(key, "tokenizer.", 10) != 0 || (s->token_types && strcmp(key, type_count) == 0)) continue;
        MOTE_TRY(gguf_writer_add_kv(w, &vf->kv[i]));
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Public API
 * ---------------------------------------------------------------------- */

mote_synth_params mote_synth_default_params(void)
{
    mote_synth_params p = {.type = "Q8_0", .seed = 1};
    return p;
}

const char *mote_synth_model_name(int i)
{
    int n;
    const synth_shape *s = synth_shapes(&n);
    return i >= 0 && i < n ? s[i].name : NULL;
}

const char *mote_synth_model_about(int i)
{
    int n;
    const synth_shape *s = synth_shapes(&n);
    return i >= 0 && i < n ? s[i].about : NULL;
}

static void ctx_free(synth_ctx *c, int n_threads)
{
    for (int i = 0; i < c->n_pools; i++) free(c->pools[i].data);
    for (int i = 0; c->scratch && i < n_threads; i++) free(c->scratch[i]);
    free(c->scratch);
    free(c->rope);
    free(c->rope_long);
    free(c->rope_short);
    free(c->tensors);
    if (c->pool) pool_free(c->pool);
}

/* Everything the tensors need before the write: threads, scratch, pools. */
static mote_status ctx_prepare(synth_ctx *c, int n_threads)
{
    MOTE_TRY(pool_create(n_threads, &c->pool));
    for (int i = 0; i < c->n_tensors; i++) {
        const synth_tensor *t = &c->tensors[i];
        MOTE_TRY(tensor_row_check(t->type, t->ne[0]));
        if (t->n_dims == 2 && t->ne[0] > c->max_cols) c->max_cols = t->ne[0];
        c->total += ggml_row_size(t->type, t->ne[0]) * (uint64_t)t->ne[1];
    }
    c->scratch = calloc((size_t)n_threads, sizeof *c->scratch);
    if (!c->scratch) return mote_fail(MOTE_E_NOMEM, "synth: out of memory");
    for (int i = 0; i < n_threads; i++)
        if (!(c->scratch[i] = malloc((size_t)c->max_cols * sizeof(float))))
            return mote_fail(MOTE_E_NOMEM, "synth: out of memory");
    if (c->shape->rope_factor > 0.0f) {
        c->rope = malloc((size_t)(synth_head_dim(c->shape) / 2) * sizeof(float));
        if (!c->rope) return mote_fail(MOTE_E_NOMEM, "synth: out of memory");
        synth_rope_factors(c->shape, c->rope);
    }
    if (c->shape->longrope) {
        size_t n = (size_t)(synth_rope_dims(c->shape) / 2);
        c->rope_long = malloc(n * sizeof(float));
        c->rope_short = malloc(n * sizeof(float));
        if (!c->rope_long || !c->rope_short) return mote_fail(MOTE_E_NOMEM, "synth: out of memory");
        synth_longrope_factors(c->shape, c->seed, c->rope_long, c->rope_short);
    }
    return c->exact ? MOTE_OK : build_pools(c);
}

mote_status mote_synth(const mote_synth_params *p)
{
    if (!p || !p->like || !p->type || !p->vocab_path || !p->out_path)
        return mote_fail(MOTE_E_INVALID, "mote_synth: like, type, vocab_path and out_path are required");
    const synth_shape *shape = synth_find_shape(p->like);
    if (!shape) return mote_fail(MOTE_E_INVALID, "synth: unknown model '%s' (see mote synth --help)", p->like);
    uint32_t ftype;
    MOTE_TRY(synth_parse_ftype(p->type, &ftype));
    if (p->n_layer < 0 || p->n_threads < 0)
        return mote_fail(MOTE_E_INVALID, "synth: negative layer or thread count");
    int n_layer = p->n_layer ? p->n_layer : shape->n_layer;
    int n_threads = p->n_threads;
    if (n_threads == 0) {
        int cpus = cpu_available();
        n_threads = cpus > 256 ? 256 : cpus;
    }

    /* Writing over the vocabulary would truncate the file being read. */
    struct stat vs, os;
    if (stat(p->vocab_path, &vs) == 0 && stat(p->out_path, &os) == 0 && vs.st_dev == os.st_dev &&
        vs.st_ino == os.st_ino)
        return mote_fail(MOTE_E_INVALID, "synth: %s is both the vocabulary and the output",
                         p->out_path);

    gguf_file *vf = NULL;
    gguf_writer *w = NULL;
    synth_ctx c = {.shape = shape, .seed = p->seed, .exact = p->exact, .progress = p->progress,
                   .progress_user = p->progress_user};
    fill_arg *args = NULL;
    int64_t n_vocab = 0;
    mote_status st = gguf_open(p->vocab_path, &vf);
    if (st == MOTE_OK) st = vocab_size(vf, &n_vocab);
    if (st == MOTE_OK) st = gguf_writer_create(&w);
    if (st == MOTE_OK) st = add_hparams(w, shape, n_layer, n_vocab, ftype, p->seed, p->exact);
    if (st == MOTE_OK) st = add_tokenizer(w, vf, shape);
    if (st == MOTE_OK && ftype != SYNTH_FTYPE_F16 && ftype != SYNTH_FTYPE_BF16)
        st = gguf_writer_add_u32(w, "general.quantization_version", QUANT_VERSION);
    if (st == MOTE_OK) st = synth_plan(shape, n_layer, n_vocab, ftype, &c.tensors, &c.n_tensors);
    if (st == MOTE_OK) st = ctx_prepare(&c, n_threads);
    if (st == MOTE_OK && !(args = calloc((size_t)c.n_tensors, sizeof *args)))
        st = mote_fail(MOTE_E_NOMEM, "synth: out of memory");
    for (int i = 0; st == MOTE_OK && i < c.n_tensors; i++) {
        const synth_tensor *t = &c.tensors[i];
        args[i] = (fill_arg){&c, i};
        st = gguf_writer_add_tensor_fill(w, t->name, t->type, t->n_dims, t->ne, fill_tensor, &args[i]);
    }
    if (st == MOTE_OK) st = gguf_writer_write_file(w, p->out_path);

    free(args);
    ctx_free(&c, n_threads);
    gguf_writer_free(w);
    gguf_close(vf);
    return st;
}
