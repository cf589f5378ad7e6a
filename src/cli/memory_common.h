/*
 * memory_common.h — what the verbs over the private memory share (`mote
 * memory`, `mote mcp`): where the memory is, opening it with its key, the
 * network sandbox they all run under, search filters given as text, and a
 * hit as JSON.
 */
#ifndef MOTE_CLI_MEMORY_COMMON_H
#define MOTE_CLI_MEMORY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "memory/memory.h"

struct cJSON;

/* The environment variable holding an encrypted memory's key (hex). */
#define CLI_MEMORY_KEY_ENV "MOTE_MEMORY_KEY"

/* Options every verb over the memory takes (some take more). */
typedef struct cli_memory_opts {
    const char *store;      /* --store */
    const char *embed;      /* --embed-model */
    const char *key_file;   /* --key-file */
    int encrypt;            /* --encrypt */
    int n_threads;          /* -t */
} cli_memory_opts;

/* Entries of a cli_opt table for --store, --key-file and -t (c: a cli_memory_opts). */
#define CLI_MEMORY_OPTS(c)                                                                                        \
    {0, "store", ARG_STRING, &(c).store, "DIR", "the memory's folder (default $MOTE_MEMORY, else "                \
                                                 "$XDG_DATA_HOME/mote/memory)", 0, 0, NULL},                      \
    {0, "key-file", ARG_STRING, &(c).key_file, "FILE", "the key of an encrypted memory (32 bytes or 64 hex "      \
                                                        "digits, mode 0600); else $" CLI_MEMORY_KEY_ENV " (hex)", \
     0, 0, NULL},                                                                                                 \
    {'t', "threads", ARG_INT, &(c).n_threads, "N", "worker threads (default: all CPUs)", 0, MOTE_N_THREADS_MAX, NULL}

/* The memory's folder: given (--store), else $MOTE_MEMORY, else
 * $XDG_DATA_HOME/mote/memory, else ~/.local/share/mote/memory. 0, or
 * EXIT_LIB after a message when there is none. */
int cli_memory_dir(const char *given, char *buf, size_t cap);
/* From now on no socket but AF_UNIX: the memory needs no network. A
 * kernel without seccomp gets a warning on stderr and goes on. */
void cli_memory_sandbox(void);
/* Open the memory of c (create: an add may make it; --encrypt makes its
 * key file), installing the network sandbox first -- after resolving
 * --embed-model, which may pull a model named from the catalogue. 0, or
 * EXIT_LIB after a message. */
int cli_memory_open(const cli_memory_opts *c, int create, memory **out);

#endif
