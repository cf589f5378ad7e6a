/*
 * synthmodel.h — small models made by the tests themselves, so that a forward
 * pass runs end to end without ../shared.
 *
 * A SentencePiece-style ("llama") vocabulary is written with gguf_write:
 * <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, every letter and a
 * few punctuation marks, and the words of a short story as chains of
 * prefixes ("▁t", "▁ti", "▁tim", "▁time") so that SentencePiece merges
 * reach whole words. mote_synth then writes random weights around it; the
 * vocabulary's token count becomes the model's, so the embedding stays
 * small.
 */
#ifndef MOTE_TEST_SYNTHMODEL_H
#define MOTE_TEST_SYNTHMODEL_H

#include "mote.h"
#include "mote_tools.h"

/* Vocabulary ids fixed by the layout above. */
#define SYNTHMODEL_UNK 0
#define SYNTHMODEL_BOS 1
#define SYNTHMODEL_EOS 2
#define SYNTHMODEL_BYTE0 3 /* <0x00>; byte b is SYNTHMODEL_BYTE0 + b */

/* A new empty folder under $TMPDIR (or /tmp), malloc'd; fails the test on error. */
char *synthmodel_tempdir(void);
/* Remove the files in dir (made by synthmodel_tempdir), then dir; frees dir. */
void synthmodel_tempdir_remove(char *dir);

/* Write the vocabulary to path; returns its token count. Fails the test on error. */
int synthmodel_write_vocab(const char *path);
/* The id the vocabulary gives text, or -1. */
int synthmodel_token_id(const char *text);

/* Write dir/<like>-<type>.gguf with mote_synth from dir/vocab.gguf (written
 * first if absent): n_layer blocks, a fixed seed. Returns the path
 * (malloc'd); fails the test on error. */
char *synthmodel_make(const char *dir, const char *like, const char *type, int n_layer);

#endif
