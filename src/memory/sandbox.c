/*
 * sandbox.c — a seccomp filter (libseccomp) that forbids network sockets.
 *
 * The rules, for the native ABI (x86_64, aarch64), everything else allowed:
 *   socket, socketpair   EPERM unless the domain is AF_UNIX (= AF_LOCAL)
 *   socketcall          EPERM, where the ABI has it (it hides the domain
 *                       in memory the filter cannot read)
 *   io_uring_setup      EPERM: io_uring opens and connects sockets
 *                       without the socket system call
 * A system call made through another ABI (i386's int 0x80 or x32 on
 * x86_64, arm32 compat on aarch64) would not meet these rules, so it kills
 * the process. libseccomp resolves the names per architecture, so no
 * number here is tied to one. NO_NEW_PRIVS is set (an unprivileged
 * process may only install a filter with it), and TSYNC puts the filter on
 * every thread already running (GLib starts some).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "base/status.h"
#include "memory/sandbox.h"

static int deny_unless_unix(scmp_filter_ctx ctx, const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr < 0) return 0; /* not on this ABI: nothing to filter */
    const struct scmp_arg_cmp not_unix = {.arg = 0, .op = SCMP_CMP_NE, .datum_a = AF_UNIX, .datum_b = 0};
    return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, &not_unix);
}

static int deny(scmp_filter_ctx ctx, const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr < 0) return 0;
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
}

mote_status mem_sandbox_no_network(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return mote_fail(MOTE_E_NOMEM, "memory: sandbox: seccomp_init failed");
    const char *step = "setting its attributes";
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL); /* kernel < 4.14 */
    if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0) step = "adding its rules";
    if (rc == 0) rc = deny_unless_unix(ctx, "socket");
    if (rc == 0) rc = deny_unless_unix(ctx, "socketpair");
    if (rc == 0) rc = deny(ctx, "socketcall");
    if (rc == 0) rc = deny(ctx, "io_uring_setup");
    if (rc == 0) step = "loading it", rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc == 0) return MOTE_OK;
    return mote_fail(rc == -ENOSYS || rc == -EINVAL || rc == -EACCES || rc == -ECANCELED || rc == -EOPNOTSUPP
                         ? MOTE_E_UNSUPPORTED : MOTE_E_IO,
                     "memory: sandbox: seccomp filter, %s: %s", step, strerror(-rc));
}
