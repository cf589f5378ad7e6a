/*
 * vocab_special.h — special token ids, BOS/EOS flags, end-of-generation
 * tokens and the special-token split order (llama.cpp's rules, including
 * its recognition of well-known token texts).
 */
#ifndef MOTE_ENGINE_VOCAB_SPECIAL_H
#define MOTE_ENGINE_VOCAB_SPECIAL_H

#include "engine/vocab.h"
#include "gguf/gguf.h"

/* Called by vocab_load once the tokens are read: reads the *_token_id and
 * add_*_token keys over the type's defaults, finds EOT/EOM/FIM/EOG tokens,
 * adjusts attributes the way llama.cpp does and builds v->special. */
mote_status vocab_read_specials(struct vocab *v, const gguf_file *f);

#endif
