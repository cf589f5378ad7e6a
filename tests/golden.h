/*
 * golden.h — reading ../shared/golden: llama.cpp's outputs for the models in
 * ../shared/models (see ../shared/README.md for the formats).
 */
#ifndef MOTE_TEST_GOLDEN_H
#define MOTE_TEST_GOLDEN_H

#include <stdint.h>

#define GOLDEN_MAX_CASES 8
#define GOLDEN_MAX_IDS 256
#define GOLDEN_STEPS 65
#define GOLDEN_TOPK 10

typedef struct golden_case {
    char name[16];                   /* "p1" */
    int n_prompt;
    int32_t prompt[GOLDEN_MAX_IDS];  /* prompt ids (with BOS) */
    int n_greedy;
    int32_t greedy[GOLDEN_MAX_IDS];  /* 64 greedy ids */
    int n_steps;                     /* steps with top-k rows */
    int32_t top_id[GOLDEN_STEPS][GOLDEN_TOPK];
    float top_logit[GOLDEN_STEPS][GOLDEN_TOPK];
    int first_near_tie;              /* first step listed in NEAR_TIES.tsv, or -1 */
} golden_case;

typedef struct golden_model {
    char name[128];                  /* "stories260K" (file stem) */
    int n_cases;
    golden_case cases[GOLDEN_MAX_CASES];
} golden_model;

/* Load <shared>/golden/<name>.{cases,topk}.tsv and NEAR_TIES.tsv; 0 on
 * success, else -1 after printing which file is missing or empty. */
int golden_load(const char *name, golden_model *g);

/* The models the golden suite covers, from ../shared/MANIFEST.tsv: every
 * models/<stem>.gguf (directly in models/: the llama and qwen2 models) whose
 * golden/<stem>.cases.tsv the manifest lists too, then "archs/<stem>" for
 * models/archs/ with golden/archs/, then "archs/alt-ctx256/<stem>" for the
 * goldens of models/archs/<stem>.gguf at n_ctx 256. Writes the names
 * (sorted within each folder) and returns their count, or -1 if the
 * manifest is unreadable or lists more than cap. */
int golden_manifest_models(char names[][128], int cap);

/* Parse space-separated ints; returns the count. */
int golden_parse_ids(const char *s, int32_t *out, int cap);

#endif
