/*
 * testutil.h — helpers shared by the cmocka test programs.
 *
 * Tests that need the reference material in ../shared (models, goldens,
 * vocabularies, templates) call shared_path(); when it is absent (a user's
 * fresh clone) they skip with a message saying so. MOTE_SHARED overrides the
 * location.
 */
#ifndef MOTE_TESTUTIL_H
#define MOTE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Directory of the shared reference material, or NULL if absent. */
const char *shared_dir(void);
/* Where shared_dir() looks: $MOTE_SHARED, else ../shared. */
const char *shared_dir_wanted(void);
/* shared_dir()/rel in a static buffer (overwritten by the next call), or
 * NULL if the shared material is absent. */
const char *shared_path(const char *rel);
/* Skip the current test, saying which and why, when ../shared is absent
 * (every skip message starts "SKIP: " for grep). */
#define SKIP_WITHOUT_SHARED()                                                           \
    do {                                                                                \
        if (!shared_dir()) {                                                            \
            print_message("[  SKIP    ] SKIP: ../shared absent (looked in %s; set "     \
                          "MOTE_SHARED): %s skipped, it needs the reference files\n", \
                          shared_dir_wanted(), __func__);                               \
            skip();                                                                     \
        }                                                                               \
    } while (0)

/* ../shared/MANIFEST.tsv (file, bytes, sha256, origin, licence) lists every
 * reference file: tests take from it which files must be there, so that a
 * missing one fails instead of shrinking the test. */

/* Names of the files the manifest lists directly in folder dir (relative to
 * ../shared; not in its subfolders) that end in suffix, sorted, relative to
 * dir, as a malloc'd array of malloc'd strings (free each and the array).
 * Returns the count, or -1 (with *names NULL) if the manifest is unreadable. */
int shared_manifest_list(const char *dir, const char *suffix, char ***names);
/* The same inside a test, which fails if the manifest is unreadable. */
size_t shared_listed(const char *dir, const char *suffix, char ***names);
/* NULL if file rel (relative to ../shared) is present with the size the
 * manifest gives it; else what is wrong with it (static buffer). */
const char *shared_check_file(const char *rel);

/* The process's worker pool gets TEST_POOL_THREADS parts (MOTE_THREADS),
 * whatever the machine, so a test that asks for 2 or 3 threads gets them
 * and not the CPU count's cap. Call at the top of main, before any pool
 * or session exists. */
#define TEST_POOL_THREADS 4
void test_fix_pool_size(void);

/* Print why, the pool's state and the stacks of the main thread and the
 * threads the program started (other than the caller) to stderr, e.g.
 * before failing a test that waited too long (tests/watchdog.c). */
void watchdog_dump(const char *why);

/* The number after "key": in a JSON text (the first such key; flat
 * objects such as mote kld --json's); fails the test when it is absent. */
double test_json_number(const char *json, const char *key);

/* bench/build/llama-kld ($MOTE_LLAMA_KLD overrides): llama.cpp's logits on
 * mote kld's chunks, built by make llama-ref. Absent, the calling test
 * skips saying what it does not compare (what), or fails when
 * MOTE_REQUIRE_LLAMA_REF is set (as CI sets it). */
const char *test_llama_kld(const char *what);

/* Read a whole file into a malloc'd NUL-terminated buffer; NULL on error. */
char *read_file(const char *path, size_t *len);

/* The mote command the CLI tests run: $MOTE_BIN (set by make test), else
 * ../mote beside the test program (build/tests/test_x -> build/mote). */
void test_mote_bin(const char *argv0, char *buf, size_t cap);

/* 1 if files a and b hold the same bytes, 0 if not; the test fails when
 * either cannot be read. */
int test_same_bytes(const char *a, const char *b);

/* Deterministic pseudo-random numbers for tests. */
uint64_t test_rng_next(uint64_t *state);
float test_rng_uniform(uint64_t *state);  /* [0, 1) */
float test_rng_normal(uint64_t *state);   /* N(0, 1) */

/* A fresh temporary file $TMPDIR/STEM-XXXXXX (it exists, empty); give it
 * to test_remove_temp, which deletes it and frees the name. */
char *test_temp_file(const char *stem);
void test_remove_temp(char *path);

/* A fresh cache directory made XDG_CACHE_HOME (dir: room for
 * TEST_CACHE_DIR_CAP bytes) and this machine's tuning profile path in it
 * (path: path_cap bytes); test_tune_cache_remove deletes the directory
 * and unsets the variable. */
#define TEST_CACHE_DIR_CAP 64
void test_tune_cache(char *dir, char *path, size_t path_cap);
void test_tune_cache_remove(const char *dir);

/* The bit set of the non-negative ints before a -1: BITS(0, 3, 5). */
#define BITS(...) test_bits_of((const int[]){__VA_ARGS__, -1})
uint64_t test_bits_of(const int *v);

#endif
