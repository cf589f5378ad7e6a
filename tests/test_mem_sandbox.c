/*
 * test_mem_sandbox.c — the no-network seccomp filter (src/memory/sandbox.c).
 *
 * The filter cannot be taken off again, so every check runs in a forked
 * child that installs it and reports through its exit status: 0 passed,
 * SKIP_EXIT the kernel refuses seccomp (qemu-user, old kernels), any
 * other value the number of the check that failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memory/sandbox.h"
#include "testutil.h"

#define SKIP_EXIT 77

/* Run check in a child under the filter; its wait status. */
static int in_sandbox(int (*check)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mote_status st = mem_sandbox_no_network();
        if (st == MOTE_E_UNSUPPORTED) _exit(SKIP_EXIT);
        if (st != MOTE_OK) _exit(100);
        _exit(check());
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_pass(int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_EXIT) {
        print_message("[  SKIP    ] SKIP: the kernel refuses seccomp filters here\n");
        skip();
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child: %s %d", WIFEXITED(status) ? "failed check" : "killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static int denied(int fd)
{
    return fd < 0 && (errno == EPERM || errno == EACCES);
}

static int check_no_network(void)
{
    if (!denied(socket(AF_INET, SOCK_STREAM, 0))) return 1;
    if (!denied(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0))) return 2;
    if (!denied(socket(AF_INET6, SOCK_STREAM, 0))) return 3;
    if (!denied(socket(AF_NETLINK, SOCK_RAW, 0))) return 4;
    if (!denied(socket(AF_PACKET, SOCK_RAW, 0))) return 5;
    int sv[2];
    if (socketpair(AF_INET, SOCK_STREAM, 0, sv) == 0 || (errno != EPERM && errno != EACCES)) return 6;
#ifdef SYS_io_uring_setup
    if (syscall(SYS_io_uring_setup, 4, NULL) != -1 || errno != EPERM) return 7;
#endif
    return 0;
}

/* No socket, so no connect to loopback or out: what a program tries. */
static int check_connect_impossible(void)
{
    const char *addrs[] = {"127.0.0.1", "8.8.8.8"};
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
        inet_pton(AF_INET, addrs[i], &sa.sin_addr);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0) return 10 + i;
        /* connect on a bad descriptor: nothing goes out either */
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return 20 + i;
    }
    return 0;
}

static int check_unix_and_files_work(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return 1;
    close(fd);
    if ((fd = socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) return 2;
    close(fd);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 3;
    char buf[8] = {0};
    if (write(sv[0], "ping", 4) != 4 || read(sv[1], buf, sizeof buf) != 4 || memcmp(buf, "ping", 4)) return 4;
    close(sv[0]);
    close(sv[1]);
    /* Files: the store and the ingest still read and write. */
    char *path = test_temp_file("mote-sandbox");
    if (!path) return 5;
    FILE *f = fopen(path, "w");
    if (!f || fputs("still writable\n", f) < 0 || fclose(f) != 0) return 6;
    size_t len = 0;
    char *back = read_file(path, &len);
    if (!back || strcmp(back, "still writable\n") != 0) return 7;
    free(back);
    test_remove_temp(path);
    return 0;
}

/* A thread started before the filter gets it too (TSYNC): it waits for
 * the filter, then tries. */
static int go_pipe[2];

static void *thread_tries_socket(void *arg)
{
    int *result = arg;
    char c;
    if (read(go_pipe[0], &c, 1) != 1) return NULL;
    *result = denied(socket(AF_INET, SOCK_STREAM, 0)) ? 0 : 1;
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(pipe(go_pipe), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int result = -1;
        pthread_t t;
        if (pthread_create(&t, NULL, thread_tries_socket, &result) != 0) _exit(1);
        mote_status st = mem_sandbox_no_network();
        if (write(go_pipe[1], "g", 1) != 1) _exit(2);
        pthread_join(t, NULL);
        _exit(st == MOTE_E_UNSUPPORTED ? SKIP_EXIT : st != MOTE_OK ? 100 : result == 0 ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(go_pipe[0]);
    close(go_pipe[1]);
    expect_pass(status);
}

static void test_no_network(void **state)
{
    (void)state;
    expect_pass(in_sandbox(check_no_network));
}

static void test_connect_impossible(void **state)
{
    (void)state;
    expect_pass(in_sandbox(check_connect_impossible));
}

static void test_unix_and_files(void **state)
{
    (void)state;
    expect_pass(in_sandbox(check_unix_and_files_work));
}

/* The parent, without the filter, still has the network. */
static void test_parent_unaffected(void **state)
{
    (void)state;
    expect_pass(in_sandbox(check_no_network));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    close(fd);
}

#if defined(__x86_64__)
/* The x32 ABI on x86_64 would dodge rules written for the native one:
 * the filter kills the process instead. */
static int check_x32(void)
{
    long x32_socket = 0x40000000L | 41; /* __X32_SYSCALL_BIT + socket */
    syscall(x32_socket, AF_INET, SOCK_STREAM, 0);
    return 1; /* not reached */
}

static void test_other_abi_killed(void **state)
{
    (void)state;
    int status = in_sandbox(check_x32);
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_EXIT) skip();
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}
#endif

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_network),
        cmocka_unit_test(test_connect_impossible),
        cmocka_unit_test(test_unix_and_files),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_parent_unaffected),
#if defined(__x86_64__)
        cmocka_unit_test(test_other_abi_killed),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
