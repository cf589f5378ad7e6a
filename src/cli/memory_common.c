/*
 * memory_common.c — what the verbs over the memory share (see memory_common.h).
 */
#include "cli/memory_common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "memory/sandbox.h"
#include "memory/vault.h"

/* The store's folder: --store, $MOTE_MEMORY, $XDG_DATA_HOME/mote/memory. */
int cli_memory_dir(const char *given, char *buf, size_t cap)
{
    const char *env = getenv("MOTE_MEMORY"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (given && *given) snprintf(buf, cap, "%s", given);
    else if (env && *env) snprintf(buf, cap, "%s", env);
    else if (xdg && *xdg) snprintf(buf, cap, "%s/mote/memory", xdg);
    else if (home && *home) snprintf(buf, cap, "%s/.local/share/mote/memory", home);
    else return cli_error("no memory folder: give --store DIR or set MOTE_MEMORY");
    return 0;
}

/* The network is not needed here: no socket but AF_UNIX from now on. */
void cli_memory_sandbox(void)
{
    if (mem_sandbox_no_network() != MOTE_OK)
        fprintf(stderr, "mote: warning: running without the network sandbox: %s\n", mote_last_error());
}

/* Open the memory with the common options; create: an add may make it. */
int cli_memory_open(const cli_memory_opts *c, int create, memory **out)
{
    char dir[PATH_MAX];
    if (cli_memory_dir(c->store, dir, sizeof dir) != 0) return EXIT_LIB;
    memory_opts o = memory_default_opts();
    o.dir = dir;
    o.create = create;
    o.n_threads = c->n_threads;
    char model[PATH_MAX];
    if (c->embed) { /* (a store name not pulled yet is pulled now, asked for by name) */
        if (cli_model_path(c->embed, model, sizeof model) != 0) return EXIT_LIB;
        o.embed_model = model;
    }
    cli_memory_sandbox(); /* from here on, no network */
    uint8_t key[MEM_VAULT_KEY_BYTES];
    int have_key = 0;
    struct stat sb;
    if (c->key_file) {
        mote_status st = stat(c->key_file, &sb) != 0 && c->encrypt ? mem_vault_key_create(c->key_file, key)
                                                                     : mem_vault_key_from_file(c->key_file, key);
        if (st != MOTE_OK) return cli_lib_error();
        if (stat(c->key_file, &sb) == 0 && c->encrypt && sb.st_size == 65)
            fprintf(stderr, "mote: the memory's key is in %s: keep it apart from the memory (lost key, lost memory)\n",
                    c->key_file);
        have_key = 1;
    } else if (getenv(CLI_MEMORY_KEY_ENV)) {
        if (mem_vault_key_from_env(CLI_MEMORY_KEY_ENV, key) != MOTE_OK) return cli_lib_error();
        have_key = 1;
    } else if (c->encrypt) {
        return cli_error("--encrypt needs a key: --key-file FILE (made if missing) or $" CLI_MEMORY_KEY_ENV);
    }
    o.key = have_key ? key : NULL;
    const mote_status st = memory_open(&o, out);
    sodium_memzero(key, sizeof key);
    if (st != MOTE_OK) return cli_lib_error();
    return 0;
}
