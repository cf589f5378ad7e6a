/*
 * model.h — struct mote_model: an opened GGUF file, its vocabulary and,
 * unless vocab-only, the architecture's hyper-parameters and weights (which
 * point into the file's memory map).
 */
#ifndef MOTE_ENGINE_MODEL_H
#define MOTE_ENGINE_MODEL_H

#include "gguf/gguf.h"
#include "mote.h"

struct vocab; /* engine/vocab.h */
struct model_arch; /* model/arch.h: hyper-parameters and weights */

struct mote_model {
    gguf_file *gguf;          /* the file; owns the map */
    struct vocab *vocab;      /* tokenizer built from tokenizer.ggml.* */
    struct model_arch *arch;  /* NULL when vocab-only */
    char *arch_name;          /* general.architecture */
    char *name;               /* general.name or "" */
    char *chat_template;      /* tokenizer.chat_template or NULL */
    char *warnings;           /* the vocabulary's and the architecture's, one line each, or NULL */
};

/* mote_model_open on an opened GGUF file (gguf_open, or gguf_open_buffer
 * for a model in memory: the fuzzer's), which the model takes over, also
 * when it fails. params may be NULL (the defaults). */
mote_status model_open_gguf(gguf_file *g, const mote_model_params *params, mote_model **out);

#endif
