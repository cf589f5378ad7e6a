/*
 * tune_profile.h — the per-machine tuning profile `mote tune` writes and
 * every model open reads (once per process): matmul's choices per weight
 * type and shape class (kernels/tuning.h), kept as JSON under the user's
 * cache directory, one file per key (CPU model, core count, mote version,
 * kernel table).
 *
 *   {"format": "mote-tune", "version": 1,
 *    "cpu": "...", "cores": 2, "mote": "0.1.0", "isa": "avx512",
 *    "threads": 2, "machine": {...},            (what tune measured; not read)
 *    "kernels": [{"type": "Q8_0", "mk": 3, "n": 0, "tile_m": 16, "tile_n": 32,
 *                 "grab_min": 1, "quarters_min": 64, "pf_ahead": 4096, "threads": 0}, ...],
 *    "speculation": [{"model": "<tune_model_id, hex>", "threads": 2,
 *                     "cost": [1, 1.04, ...]}, ...]}     (optional)
 *
 * Readers take "version" 1 and skip members they do not know, so later
 * sections (stored layouts, speculation) can be added beside "kernels";
 * a format that changes what "kernels" means bumps the version.
 */
#ifndef MOTE_ENGINE_TUNE_PROFILE_H
#define MOTE_ENGINE_TUNE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "kernels/tuning.h"
#include "mote_tools.h"

#define TUNE_PROFILE_FORMAT "mote-tune"
#define TUNE_PROFILE_VERSION 1
#define TUNE_PROFILE_MAX_BYTES (1 << 20) /* a larger file is not a profile */

/* What a profile is for: it applies only where all of these match. */
typedef struct tune_key {
    char cpu[128];    /* cpu_model_name */
    int cores;        /* online CPUs */
    char version[32]; /* mote's version */
    char isa[32];     /* the kernel table chosen (kernels_get()->isa) */
} tune_key;

/* One class's choice. */
typedef struct tune_entry {
    uint32_t wtype;   /* weight type */
    int mk_class;     /* tuning_mk_class */
    int n_class;      /* tuning_n_class */
    kernel_tuning t;  /* the choice */
} tune_entry;

/* Speculation's pass costs on one model (mote_spec_profile). */
typedef struct tune_spec {
    uint64_t model;                /* tune_model_id */
    int threads;                   /* threads measured with */
    float cost[MOTE_SPEC_COST_N];  /* pass of n tokens / pass of 1 */
} tune_spec;

/* What a model is for its pass costs: a hash of its tensors' names,
 * types and shapes (another file of the same model shares it). */
uint64_t tune_model_id(const gguf_file *g);

/* This process's key. */
void tune_key_this(tune_key *k);
/* The profile's path for key k: $XDG_CACHE_HOME/mote (or ~/.cache/mote)
 * /tune-<hash of the key>.json. MOTE_E_UNSUPPORTED when neither variable
 * names a directory, MOTE_E_RANGE when cap is too small. */
mote_status tune_profile_path(const tune_key *k, char *buf, size_t cap);
/* Write a profile (directories made 0700, the file 0600, through a
 * temporary file renamed over path). machine may be NULL. */
mote_status tune_profile_write(const char *path, const tune_key *k, int threads, const mote_machine *machine,
                               const tune_entry *e, int n);
/* The same with speculation's section (sp may be NULL when n_sp is 0). */
mote_status tune_profile_write_all(const char *path, const tune_key *k, int threads, const mote_machine *machine,
                                   const tune_entry *e, int n, const tune_spec *sp, int n_sp);
/* Read a profile for key k: *out (malloc'd, free it) and *n entries.
 * MOTE_E_IO if it cannot be read (errno ENOENT: absent), MOTE_E_FORMAT if
 * it is not a valid profile (corrupt, truncated, a value out of bounds),
 * MOTE_E_UNSUPPORTED if it is another version's or another key's. */
mote_status tune_profile_read(const char *path, const tune_key *k, tune_entry **out, int *n);
/* The same for a profile's text (NUL-terminated; path names it in
 * messages); k NULL takes a profile of any key (the fuzz target). */
mote_status tune_profile_parse(const char *text, const char *path, const tune_key *k, tune_entry **out, int *n);
/* tune_profile_read/parse with speculation's section too: *sp (malloc'd,
 * NULL when none; a profile without the section has none). */
mote_status tune_profile_read_all(const char *path, const tune_key *k, tune_entry **out, int *n, tune_spec **sp,
                                  int *n_sp);
mote_status tune_profile_parse_all(const char *text, const char *path, const tune_key *k, tune_entry **out, int *n,
                                   tune_spec **sp, int *n_sp);
/* What mote_tune_load does, every time it is called: MOTE_TUNE (value
 * off_env: "off" or "0" disables) and the profile at path (NULL: this
 * machine's) set the process-wide choices (tuning_set; reset first). */
mote_status tune_profile_apply(const char *off_env, const char *path, mote_tune_state *st);

#endif
