/*
 * fuzz.h — what every target in fuzz/ defines and may use.
 *
 * A target is one file fuzz/fuzz_NAME.c defining LLVMFuzzerTestOneInput
 * (and, if it loads reference files first, LLVMFuzzerInitialize). It is
 * built two ways: by `make fuzz` with clang's libFuzzer, and by every
 * `make test` with fuzz/replay.c as its main, which runs the seed corpus
 * (fuzz/corpus/NAME) and the regression inputs (tests/fuzz/NAME) through
 * it, in the plain and the sanitizer build alike.
 *
 * A target asserts its parser's contract with fuzz_check: a broken
 * promise aborts, which both drivers report with the input that did it.
 */
#ifndef MOTE_FUZZ_H
#define MOTE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with a message when cond is false: the drivers report the input. */
#define fuzz_check(cond, what)                                                      \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, what); \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* The reference files' folder: $MOTE_SHARED, else ../shared; NULL when
 * neither is a folder (targets that need it then test nothing and say so). */
const char *fuzz_shared_dir(void);

/* Where targets add what they read, so that the reads are not optimised
 * away. */
extern volatile uint64_t fuzz_sink;

/* Set by a target's LLVMFuzzerInitialize when it cannot run here (the
 * reference files it needs are absent): the replay driver then says SKIP. */
extern const char *fuzz_skip_reason;

#endif
