/*
 * optimized.c — a stored model rewritten in place into mote's kernel
 * layouts (mote pull --optimize): the rewrite's temporary path, its
 * commit (rename over NAME.gguf, then the record in NAME.json), and
 * reading back whether a file is in layouts and what the record says.
 *
 * The rewrite itself (mote_optimize) is the caller's: the store only
 * names the files and keeps NAME.gguf whole. The file is the truth about
 * its layout (store_file_optimized reads its tensor types); NAME.json says when
 * mote pull rewrote it and keeps the download's source and SHA-256, which
 * no longer hash the file.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gguf/gguf.h"
#include "store/store.h"
#include "tensor/layout.h"

#define REWRITE_SUFFIX ".gguf.optimizing" /* + the gguf writer's ".tmp-XXXXXX" while it writes */

int store_remove_rewrites(const char *dir, const char *name)
{
    char prefix[STORE_NAME_MAX + sizeof REWRITE_SUFFIX];
    const int plen = snprintf(prefix, sizeof prefix, "%s%s", name, REWRITE_SUFFIX);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (strncmp(de->d_name, prefix, (size_t)plen) != 0) continue;
        const char *rest = de->d_name + plen;
        if (*rest && strncmp(rest, ".tmp-", 5) != 0) continue; /* NAME.gguf.optimizing[.tmp-XXXXXX] only */
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (unlink(path) == 0) removed++;
    }
    closedir(d);
    return removed;
}

int store_optimize_path(const char *name, char *path, size_t cap, char *err, size_t errcap)
{
    char model[4400], dir[4096];
    const int found = store_find(name, model, sizeof model, err, errcap);
    if (found < 0) return -1;
    if (!found) return store_fail(err, errcap, "no model '%s' in the store (mote list shows them)", name);
    if (store_dir(dir, sizeof dir, err, errcap) != 0) return -1;
    store_remove_rewrites(dir, name);
    if (snprintf(path, cap, "%s/%s%s", dir, name, REWRITE_SUFFIX) >= (int)cap)
        return store_fail(err, errcap, "path too long");
    return 0;
}

int store_commit_optimized(const char *name, const char *tmp, int n_tensors, char *err, size_t errcap)
{
    char model[4400], meta[4400];
    const int found = store_find(name, model, sizeof model, err, errcap);
    if (found < 0) return -1;
    if (!found) return store_fail(err, errcap, "no model '%s' in the store (mote list shows them)", name);
    /* private like a download (the gguf writer, which fsyncs it, makes
     * model files 0644) */
    if (chmod(tmp, 0600) != 0 || rename(tmp, model) != 0)
        return store_fail(err, errcap, "replacing %s with %s: %s", model, tmp, strerror(errno));
    /* The file is committed: a failure below leaves the record short of
     * the rewrite, never the other way round (mote show reads the layout
     * from the file). */
    snprintf(meta, sizeof meta, "%.*s.json", (int)(strlen(model) - 5), model);
    cJSON *j = store_read_json(meta);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = cJSON_CreateObject(); /* a model put in the store by hand: no source to keep */
    }
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddNumberToObject(rec, "at", (double)time(NULL));
    cJSON_AddNumberToObject(rec, "tensors", n_tensors);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "optimized");
    const int ok = j && rec && cJSON_AddItemToObject(j, "optimized", rec);
    if (!ok) cJSON_Delete(rec);
    const int rc = ok ? store_write_json(meta, j, err, errcap) : store_fail(err, errcap, "out of memory");
    cJSON_Delete(j);
    return rc;
}

int store_file_optimized(const char *path)
{
    gguf_file *f = NULL;
    if (gguf_open(path, &f) != MOTE_OK) return -1;
    int layouts = 0; /* a tensor of a layout type (a mote.type.<id> key alone may be FP8's) */
    for (uint64_t i = 0; i < f->n_tensors && !layouts; i++) layouts = layout_is(f->tensors[i].type);
    gguf_close(f);
    return layouts;
}

void store_read_optimized(const char *json_path, int64_t *at, int *n_tensors)
{
    *at = 0;
    *n_tensors = 0;
    cJSON *j = store_read_json(json_path);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(j, "optimized");
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(rec, "at");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(rec, "tensors");
    if (cJSON_IsNumber(when)) *at = (int64_t)when->valuedouble;
    if (cJSON_IsNumber(n)) *n_tensors = n->valueint;
    cJSON_Delete(j);
}
