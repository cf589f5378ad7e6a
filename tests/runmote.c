/*
 * runmote.c — running the mote command from a test (runmote.h).
 */
#include "runmote.h"

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

/* An unlinked temporary file open for reading and writing. */
static int temp_fd(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/mote-test-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static char *slurp_fd(int fd)
{
    off_t n = lseek(fd, 0, SEEK_END);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    buf[n] = '\0';
    return buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

test_proc test_run_mote(const char *bin, const char *input, const char *const *args, int timeout_s)
{
    int in = temp_fd(), out = temp_fd(), err = temp_fd();
    if (input) {
        size_t len = strlen(input);
        assert_int_equal(write(in, input, len), (ssize_t)len);
        assert_int_equal(lseek(in, 0, SEEK_SET), 0);
    }
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin;
    for (; args[n - 1] && n < 63; n++) argv[n] = args[n - 1];
    argv[n] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) fail_msg("cannot run %s (set MOTE_BIN)", bin);
    /* A command that hangs is killed, so the test fails instead of CI hanging. */
    int ws;
    const double deadline = now_s() + timeout_s;
    pid_t w;
    while ((w = waitpid(pid, &ws, WNOHANG)) == 0) {
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &ws, 0), pid);
            fail_msg("%s %s ... still running after %d s: killed", bin, args[0], timeout_s);
        }
        nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
    }
    assert_int_equal(w, pid);

    test_proc p;
    p.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    p.out = slurp_fd(out);
    p.err = slurp_fd(err);
    close(in);
    close(out);
    close(err);
    return p;
}

void test_proc_free(test_proc *p)
{
    free(p->out);
    free(p->err);
}

void test_expect_status(const test_proc *p, int want)
{
    if (p->status != want)
        fail_msg("exit status %d, expected %d\nstdout: %s\nstderr: %s", p->status, want, p->out, p->err);
}

void test_expect_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("expected '%s' in:\n%s", needle, hay);
}
