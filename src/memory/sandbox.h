/*
 * sandbox.h — no network for the processes that read the private memory.
 *
 * mem_sandbox_no_network() installs a seccomp filter on the whole process
 * (every thread, and every child it forks or execs, for good) under which
 * creating any socket but an AF_UNIX one fails with EPERM: no TCP, UDP,
 * raw, packet or netlink socket, so nothing the indexing or asking
 * process runs (parsers, GLib, a library's telemetry) can open a
 * connection out. The HTTP server is another process and does not call it.
 *
 * seccomp cannot read the address a connect() or sendto() points to, so
 * the filter does not try to tell loopback from the Internet: it forbids
 * the sockets that could reach either, and keeps AF_UNIX, which stays on
 * this machine. What it does not stop: sockets opened before it was
 * installed, a socket another process hands over on an AF_UNIX socket
 * (SCM_RIGHTS), a local service reached over AF_UNIX that talks to the
 * network for us (a D-Bus daemon, a proxy).
 *
 * Call it early, before a library can open anything: at the start of the
 * command that indexes or answers from the memory. GLib (under GMime and
 * poppler) may try D-Bus or GVfs; those run over AF_UNIX or fail with
 * EPERM, which GLib takes as "no such service".
 */
#ifndef MOTE_MEMORY_SANDBOX_H
#define MOTE_MEMORY_SANDBOX_H

#include "mote.h"

/* Install the filter. MOTE_E_UNSUPPORTED if the kernel (or qemu-user)
 * lacks seccomp filters or thread sync: then nothing is installed, and
 * the caller decides whether to go on without the sandbox. It cannot be
 * undone. */
mote_status mem_sandbox_no_network(void);

#endif
