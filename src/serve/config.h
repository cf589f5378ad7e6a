/*
 * config.h — what `mote serve` serves: a model list from the command line
 * or a --config file (JSON), with sizes ("6GiB") and durations ("5m").
 *
 * A config file is untrusted input like a request body: serve_config_parse
 * gives a serve_file_config or an error naming the key at fault, never
 * anything between (fuzz/fuzz_serve_config.c holds it to that). Unknown
 * keys are errors, so a misspelt "pinned" is never silently ignored.
 *
 *   {"memory_budget": "6GiB",
 *    "models": [{"id": "chat", "file": "qwen3-0.6b.gguf", "aliases": ["assistant"],
 *                "role": "chat", "keep_alive": "5m", "priority": 1, "pinned": false,
 *                "n_ctx": 4096, "max_streams": 4, "kv_type": "f16",
 *                "sampling": {"temperature": 0.7}}]}
 */
#ifndef MOTE_SERVE_CONFIG_H
#define MOTE_SERVE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mote.h"

#define SERVE_CONFIG_MODELS_MAX 256  /* models in one file */
#define SERVE_CONFIG_ALIASES_MAX 64  /* aliases of one model */
#define SERVE_ID_MAX 128             /* bytes of an id, alias or role */
#define SERVE_KEEP_ALIVE_DEFAULT -2.0 /* keep_alive not given: the server's */
#define SERVE_KEEP_ALIVE_FOREVER -1.0 /* never unloaded for idleness */

/* The sampling fields a model's config or a request gave (bits of a mask). */
enum serve_sampling_field {
    SERVE_SAMPLE_TEMPERATURE = 1u << 0,
    SERVE_SAMPLE_TOP_K = 1u << 1,
    SERVE_SAMPLE_TOP_P = 1u << 2,
    SERVE_SAMPLE_MIN_P = 1u << 3,
    SERVE_SAMPLE_REPEAT_PENALTY = 1u << 4,
    SERVE_SAMPLE_PRESENCE_PENALTY = 1u << 5,
    SERVE_SAMPLE_FREQUENCY_PENALTY = 1u << 6,
    SERVE_SAMPLE_SEED = 1u << 7,
};

/* One served model. Strings are malloc'd and owned by the config. */
typedef struct serve_model_config {
    char *id;            /* what requests name; unique among ids and aliases */
    char *file;          /* a GGUF path, or a store name (resolved by the caller) */
    char **aliases;      /* other names for it */
    int n_aliases;
    char *role;          /* NULL: none; a request may name "role:ROLE" */
    double keep_alive_s; /* idle seconds before unloading; SERVE_KEEP_ALIVE_DEFAULT or _FOREVER; 0: at once */
    int priority;        /* eviction goes lowest priority first (then least recently used) */
    int pinned;          /* never evicted nor unloaded for idleness */
    int n_ctx;           /* positions per stream; 0: the server's */
    int max_streams;     /* streams generating at once; 0: the server's */
    int kv_type;         /* enum mote_kv_type; -1: the server's */
    mote_sampler_params sampling; /* defaults for its requests: the fields in sampling_set */
    unsigned sampling_set;        /* enum serve_sampling_field bits */
} serve_model_config;

typedef struct serve_file_config {
    uint64_t memory_budget; /* bytes; 0: not given */
    serve_model_config *models;
    int n_models;
} serve_file_config;

/* Parse a config file's text (len bytes). 0: *out filled (free it with
 * serve_config_free); -1: err holds what and where ("models[2].keep_alive:
 * ...") and *out is zeroed. */
int serve_config_parse(const char *json, size_t len, serve_file_config *out, char *err, size_t errcap);
void serve_config_free(serve_file_config *c);
/* Frees the strings of one model's config and zeroes it. */
void serve_model_config_free(serve_model_config *m);

/* "6442450944", "6GiB", "512MiB", "1.5GB", "800kB" -> bytes (KiB/MiB/GiB/TiB
 * are powers of 1024, kB/MB/GB/TB of 1000; B or nothing: bytes). 0: ok;
 * -1: not a size, or past 2^63.
 * Strict: digits, optionally '.' and digits, then a unit spelt exactly as
 * above (KB means kB, 1000; no bare K/M/G/T, no lower-case "gib", no spaces, no
 * sign); a fraction is rounded to the nearest byte and needs a unit. */
int serve_parse_bytes(const char *s, uint64_t *out);
/* "300", "30s", "5m", "1h", "1h30m", "250ms" -> seconds; "-1" or "never"
 * -> SERVE_KEEP_ALIVE_FOREVER. 0: ok; -1: not a duration.
 * Parts are a number (a fraction allowed: "1.5h") and a unit, d, h, m, s
 * or ms, each unit at most once and largest first ("1h30m", not "30m1h");
 * a bare number is seconds. At most ten years; no spaces, no sign but
 * the whole "-1". */
int serve_parse_duration(const char *s, double *out);

#endif
