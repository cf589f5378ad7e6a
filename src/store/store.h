/*
 * store.h — the model store: GGUF files pulled from a hub (libcurl) into
 * one folder, by name.
 *
 * The folder is $MOTE_MODELS, else $XDG_DATA_HOME/mote/models, else
 * ~/.local/share/mote/models (made 0700). A model NAME is NAME.gguf there,
 * with NAME.json beside it (where it came from, its size and SHA-256).
 * A download grows in NAME.gguf.part (with NAME.gguf.part.json saying
 * from where); it becomes NAME.gguf only once its size and SHA-256 are
 * checked, by rename, so a model's name never shows a half file.
 * `mote pull --optimize` rewrites NAME.gguf into mote's kernel layouts the
 * same way: through NAME.gguf.optimizing, renamed over it when whole
 * (optimized.c); NAME.json keeps the download's source and SHA-256 and
 * says when.
 *
 * What can be pulled (store_resolve):
 * - a short name from the built-in catalogue ("smollm2-135m"): a hub
 *   repository and file;
 * - hf:ORG/REPO/FILE.gguf, fetched as $MOTE_HUB/ORG/REPO/resolve/main/FILE
 *   (MOTE_HUB defaults to https://huggingface.co; a mirror with the same
 *   layout works);
 * - an http:// or https:// URL of a .gguf file.
 * The hub answers a file's URL with its size (X-Linked-Size) and, for a
 * large file, its SHA-256 (X-Linked-Etag); the store checks both, or a
 * hash the caller pins.
 *
 * Nothing here prints; each call returns 0 or -1 with a message in err.
 */
#ifndef MOTE_STORE_STORE_H
#define MOTE_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX 128
#define STORE_URL_MAX 2048

typedef struct store_ref {
    char name[STORE_NAME_MAX]; /* its name in the store */
    char url[STORE_URL_MAX];   /* where it is fetched from */
} store_ref;

/* The store's folder (made if absent). */
int store_dir(char *out, size_t cap, char *err, size_t errcap);

/* Does spec name something to pull (a catalogue name, hf:..., a URL)? */
int store_is_pullable(const char *spec);
/* spec -> name and URL. hub: NULL for $MOTE_HUB or the default. */
int store_resolve(const char *spec, const char *hub, store_ref *ref, char *err, size_t errcap);

/* The path of model NAME in the store, and whether it is there (1/0). */
int store_find(const char *name, char *path, size_t cap, char *err, size_t errcap);

/* Progress: bytes done of total (0 when unknown); nonzero cancels. */
typedef int (*store_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct store_pull_opts {
    const char *sha256;          /* pin: 64 hex digits, or NULL */
    store_progress_fn progress;  /* may be NULL */
    void *user;
    int force;                   /* fetch again even when present */
} store_pull_opts;

/* What a pull did. */
typedef struct store_pulled {
    int already;                 /* it was in the store: nothing fetched */
    int resumed;                 /* a partial download went on (Range) */
    uint64_t resumed_from;       /* bytes it had */
    uint64_t bytes;              /* the file's size */
    char sha256[65];             /* its SHA-256 (hex) */
    int sha256_checked;          /* against the hub's or the pinned one */
} store_pulled;

/* Download ref into the store. On failure a partial file stays for the
 * next pull to resume, unless what came was wrong (size or hash): then
 * nothing is left. */
int store_pull(const store_ref *ref, const store_pull_opts *opts, store_pulled *out, char *path, size_t cap,
               char *err, size_t errcap);

typedef struct store_entry {
    char name[STORE_NAME_MAX];
    uint64_t bytes;
    int64_t mtime;               /* seconds since the epoch */
    char source[STORE_URL_MAX];  /* from NAME.json, or "" */
    char sha256[65];             /* from NAME.json, or "" */
    int partial;                 /* a .part without its model: an interrupted pull */
    int optimized;               /* the file holds mote layout types (1), not (0), unreadable (-1) */
    int64_t optimized_at;        /* when mote pull --optimize rewrote it (NAME.json), or 0 */
    int optimized_tensors;       /* how many tensors that rewrite converted */
} store_entry;

/* The models in the store, sorted by name (*out malloc'd). */
int store_list(store_entry **out, int *n, char *err, size_t errcap);
/* One model's entry; -1 when it is not there. */
int store_show(const char *name, store_entry *e, char *err, size_t errcap);
/* Remove a model (its file, metadata and any partial download). */
int store_rm(const char *name, char *err, size_t errcap);

/* The catalogue: short name, hub repository, file, what it is. */
typedef struct store_catalogue_entry {
    const char *name, *repo, *file, *about;
} store_catalogue_entry;
const store_catalogue_entry *store_catalogue(int *n);

/* Read the string members "source" and "sha256" of the JSON metadata file
 * path into the buffers given (either may be NULL); left "" when absent or
 * unreadable. */
void store_read_meta(const char *path, char *source, size_t source_cap, char *sha256, size_t sha_cap);

/* NAME.json's parsed text (NULL when absent or malformed; cJSON_Delete it),
 * and path written as JSON through a temporary file and rename (0600). */
struct cJSON *store_read_json(const char *path);
int store_write_json(const char *path, struct cJSON *j, char *err, size_t errcap);

/* ------------------------------------------------------------------------
 * A stored model rewritten in place (optimized.c). The caller writes the
 * new file to the path store_optimize_path gives (NAME.gguf.optimizing, in
 * the store's folder, so the rename is atomic), then store_commit_optimized
 * renames it over NAME.gguf (0600) and records under "optimized" in
 * NAME.json when and how many tensors; source and sha256 stay the
 * download's. Until the rename NAME.gguf is the plain model, untouched.
 * ---------------------------------------------------------------------- */

/* The rewrite's path for model name; what an interrupted earlier rewrite
 * left (NAME.gguf.optimizing*) is removed first. */
int store_optimize_path(const char *name, char *path, size_t cap, char *err, size_t errcap);
int store_commit_optimized(const char *name, const char *tmp, int n_tensors, char *err, size_t errcap);
/* Does the GGUF file at path hold tensors of mote's layout types
 * (tensor/layout.h)? 1, 0, or -1 when it cannot be read as GGUF. */
int store_file_optimized(const char *path);
/* The "optimized" record of metadata file json_path (0, 0 when none). */
void store_read_optimized(const char *json_path, int64_t *at, int *n_tensors);
/* Remove dir/NAME.gguf.optimizing and its writer's temporaries; how many. */
int store_remove_rewrites(const char *dir, const char *name);

/* Write a message into err (cap bytes); returns -1 for `return store_fail(...)`. */
int store_fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
