/*
 * runmote.h — running the mote command from a test: its exit status,
 * stdout and stderr, stdin from a string, killed (and the test failed)
 * when it runs past a limit.
 */
#ifndef MOTE_TESTS_RUNMOTE_H
#define MOTE_TESTS_RUNMOTE_H

typedef struct test_proc {
    int status; /* exit status, or 128 + signal */
    char *out;  /* stdout, NUL-terminated */
    char *err;  /* stderr, NUL-terminated */
} test_proc;

/* Run bin with args (NULL-terminated; args[0] is the first argument, not
 * the program) and stdin from input (may be NULL); kill it and fail the
 * test after timeout_s seconds. */
test_proc test_run_mote(const char *bin, const char *input, const char *const *args, int timeout_s);
void test_proc_free(test_proc *p);
/* Fail with the command's output when its status is not want. */
void test_expect_status(const test_proc *p, int want);
/* Fail unless needle is in hay (printing hay). */
void test_expect_contains(const char *hay, const char *needle);

#endif
