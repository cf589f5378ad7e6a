/*
 * store.c — the store's folder, names, catalogue, and its list/show/rm
 * (the download itself is pull.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "store/store.h"

#define DEFAULT_HUB "https://huggingface.co"

int store_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* The short names. Repositories and files as the hub publishes them; the
 * hub gives each file's size and SHA-256 when it is fetched. */
static const store_catalogue_entry catalogue[] = {
    {"smollm2-135m", "bartowski/SmolLM2-135M-Instruct-GGUF", "SmolLM2-135M-Instruct-Q8_0.gguf",
     "SmolLM2 135M Instruct, Q8_0: the smallest useful chat model"},
    {"smollm2-360m", "bartowski/SmolLM2-360M-Instruct-GGUF", "SmolLM2-360M-Instruct-Q8_0.gguf",
     "SmolLM2 360M Instruct, Q8_0"},
    {"qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q8_0.gguf",
     "Qwen2.5 0.5B Instruct, Q8_0: multilingual"},
    {"llama3.2-1b", "bartowski/Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
     "Llama 3.2 1B Instruct, Q4_K_M"},
    {"tinyllama-1.1b", "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF", "tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf",
     "TinyLlama 1.1B Chat v1.0, Q4_K_M"},
    /* embedding models (mote embed, mote memory --embed-model) */
    {"bge-small-en", "CompendiumLabs/bge-small-en-v1.5-gguf", "bge-small-en-v1.5-q8_0.gguf",
     "BGE small en v1.5, Q8_0: a 384-dimension English embedding model (bert)"},
    {"nomic-embed-text", "nomic-ai/nomic-embed-text-v1.5-GGUF", "nomic-embed-text-v1.5.Q8_0.gguf",
     "nomic-embed-text v1.5, Q8_0: a 768-dimension embedding model, 2048-token context (nomic-bert)"},
};

const store_catalogue_entry *store_catalogue(int *n)
{
    *n = (int)(sizeof catalogue / sizeof *catalogue);
    return catalogue;
}

/* A name is letters, digits, '.', '_', '-', not starting with '.'. */
static int name_ok(const char *name)
{
    const size_t n = strlen(name);
    if (n == 0 || n >= STORE_NAME_MAX || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        const char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int store_dir(char *out, size_t cap, char *err, size_t errcap)
{
    const char *env = getenv("MOTE_MODELS"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (env && *env) n = snprintf(out, cap, "%s", env);
    else if (xdg && *xdg) n = snprintf(out, cap, "%s/mote/models", xdg);
    else if (home && *home) n = snprintf(out, cap, "%s/.local/share/mote/models", home);
    else return store_fail(err, errcap, "no model store: set MOTE_MODELS (or HOME)");
    if (n < 0 || (size_t)n >= cap) return store_fail(err, errcap, "the model store's path is too long");
    /* make each missing folder on the way (0700: the store is private) */
    char path[4096];
    snprintf(path, sizeof path, "%s", out);
    for (char *p = path + 1;; p++) {
        const int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST)
                return store_fail(err, errcap, "cannot make the model store %s: %s", path, strerror(errno));
            if (end) break;
            *p = '/';
        }
    }
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        return store_fail(err, errcap, "the model store %s is not a folder", out);
    return 0;
}

int store_is_pullable(const char *spec)
{
    if (strncmp(spec, "hf:", 3) == 0 || strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0) return 1;
    for (size_t i = 0; i < sizeof catalogue / sizeof *catalogue; i++)
        if (strcmp(spec, catalogue[i].name) == 0) return 1;
    return 0;
}

/* "dir/File-Q8_0.gguf?x" -> "File-Q8_0", characters a name may not have
 * becoming '-'. */
static int name_from_file(const char *file, char *name, char *err, size_t errcap)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strcspn(base, "?#");
    if (n > 5 && strncmp(base + n - 5, ".gguf", 5) == 0) n -= 5;
    if (n == 0 || n >= STORE_NAME_MAX) return store_fail(err, errcap, "cannot name a model after '%.200s'", file);
    for (size_t i = 0; i < n; i++) {
        const char c = base[i];
        name[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                          c == '-'
                      ? c
                      : '-';
    }
    name[n] = '\0';
    if (name[0] == '.') name[0] = '_';
    return 0;
}

static const char *hub_url(const char *hub)
{
    if (hub && *hub) return hub;
    const char *env = getenv("MOTE_HUB");
    return env && *env ? env : DEFAULT_HUB;
}

int store_resolve(const char *spec, const char *hub, store_ref *ref, char *err, size_t errcap)
{
    memset(ref, 0, sizeof *ref);
    const char *h = hub_url(hub);
    const size_t hl = strlen(h) - (strlen(h) && h[strlen(h) - 1] == '/');
    for (size_t i = 0; i < sizeof catalogue / sizeof *catalogue; i++)
        if (strcmp(spec, catalogue[i].name) == 0) {
            snprintf(ref->name, sizeof ref->name, "%s", catalogue[i].name);
            if (snprintf(ref->url, sizeof ref->url, "%.*s/%s/resolve/main/%s", (int)hl, h, catalogue[i].repo,
                         catalogue[i].file) >= (int)sizeof ref->url)
                return store_fail(err, errcap, "the hub URL is too long");
            return 0;
        }
    if (strncmp(spec, "hf:", 3) == 0) { /* hf:ORG/REPO/FILE.gguf (FILE may be in folders) */
        const char *p = spec + 3, *s1 = strchr(p, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (!s1 || !s2 || s1 == p || s2 == s1 + 1 || !s2[1] || strstr(p, "..") || strchr(p, '?') || strchr(p, '#') ||
            strchr(p, ' '))
            return store_fail(err, errcap, "'%.200s': write hf:ORG/REPO/FILE.gguf", spec);
        const size_t n = strlen(p);
        if (n < 6 || strcmp(p + n - 5, ".gguf") != 0) return store_fail(err, errcap, "'%.200s' is not a .gguf file", spec);
        if (snprintf(ref->url, sizeof ref->url, "%.*s/%.*s/resolve/main/%s", (int)hl, h, (int)(s2 - p), p, s2 + 1) >=
            (int)sizeof ref->url)
            return store_fail(err, errcap, "the URL is too long");
        return name_from_file(s2 + 1, ref->name, err, errcap);
    }
    if (strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0) {
        if (strlen(spec) >= sizeof ref->url) return store_fail(err, errcap, "the URL is too long");
        if (strchr(spec, ' ') || strchr(spec, '\n')) return store_fail(err, errcap, "a URL may not hold spaces");
        snprintf(ref->url, sizeof ref->url, "%s", spec);
        return name_from_file(spec, ref->name, err, errcap);
    }
    return store_fail(err, errcap,
                "'%.200s' is neither a file, a model in the store, a catalogue name (mote pull --help lists them), "
                "hf:ORG/REPO/FILE.gguf nor a URL",
                spec);
}

int store_find(const char *name, char *path, size_t cap, char *err, size_t errcap)
{
    if (!name_ok(name)) return store_fail(err, errcap, "'%.200s' is not a model name", name);
    char dir[4096];
    if (store_dir(dir, sizeof dir, err, errcap) != 0) return -1;
    if (snprintf(path, cap, "%s/%s.gguf", dir, name) >= (int)cap) return store_fail(err, errcap, "path too long");
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Fill e from NAME.gguf and NAME.json in dir. */
static void entry_of(const char *dir, const char *name, store_entry *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
    if (stat(path, &st) == 0) {
        e->bytes = (uint64_t)st.st_size;
        e->mtime = (int64_t)st.st_mtime;
    } else {
        e->partial = 1;
        snprintf(path, sizeof path, "%s/%s.gguf.part", dir, name);
        if (stat(path, &st) == 0) e->bytes = (uint64_t)st.st_size, e->mtime = (int64_t)st.st_mtime;
    }
    if (!e->partial) {
        e->optimized = store_file_optimized(path);
        snprintf(path, sizeof path, "%s/%s.json", dir, name);
        store_read_optimized(path, &e->optimized_at, &e->optimized_tensors);
    }
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, e->partial ? "gguf.part.json" : "json");
    store_read_meta(path, e->source, sizeof e->source, e->sha256, sizeof e->sha256);
}

cJSON *store_read_json(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[8192];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

int store_write_json(const char *path, cJSON *j, char *err, size_t errcap)
{
    char *text = cJSON_Print(j);
    if (!text) return store_fail(err, errcap, "out of memory");
    char tmp[4500];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const size_t n = strlen(text);
    int ok = fd >= 0 && write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        const int e = errno;
        unlink(tmp);
        return store_fail(err, errcap, "writing %s: %s", path, strerror(e));
    }
    return 0;
}

void store_read_meta(const char *path, char *source, size_t source_cap, char *sha256, size_t sha_cap)
{
    if (source) source[0] = '\0';
    if (sha256) sha256[0] = '\0';
    cJSON *j = store_read_json(path);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "source");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(j, "sha256");
    if (source && cJSON_IsString(src)) snprintf(source, source_cap, "%s", src->valuestring);
    if (sha256 && cJSON_IsString(sha)) snprintf(sha256, sha_cap, "%s", sha->valuestring);
    cJSON_Delete(j);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const store_entry *)a)->name, ((const store_entry *)b)->name);
}

int store_list(store_entry **out, int *n, char *err, size_t errcap)
{
    *out = NULL;
    *n = 0;
    char dir[4096];
    if (store_dir(dir, sizeof dir, err, errcap) != 0) return -1;
    DIR *d = opendir(dir);
    if (!d) return store_fail(err, errcap, "%s: %s", dir, strerror(errno));
    int cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        const int part = len > 10 && strcmp(de->d_name + len - 10, ".gguf.part") == 0;
        if (!part && !(len > 5 && strcmp(de->d_name + len - 5, ".gguf") == 0)) continue;
        len -= part ? 10 : 5;
        char name[STORE_NAME_MAX];
        if (len >= sizeof name) continue;
        memcpy(name, de->d_name, len);
        name[len] = '\0';
        if (!name_ok(name)) continue;
        if (part) { /* listed only when the model itself is absent */
            char path[4400];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
            if (stat(path, &st) == 0) continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            store_entry *p = realloc(*out, (size_t)cap * sizeof *p);
            if (!p) {
                closedir(d);
                free(*out);
                *out = NULL;
                return store_fail(err, errcap, "out of memory");
            }
            *out = p;
        }
        entry_of(dir, name, &(*out)[(*n)++]);
    }
    closedir(d);
    if (*n > 1) qsort(*out, (size_t)*n, sizeof **out, by_name);
    return 0;
}

int store_show(const char *name, store_entry *e, char *err, size_t errcap)
{
    char path[4400], dir[4096];
    const int found = store_find(name, path, sizeof path, err, errcap);
    if (found < 0) return -1;
    if (!found) return store_fail(err, errcap, "no model '%s' in the store (mote list shows them)", name);
    if (store_dir(dir, sizeof dir, err, errcap) != 0) return -1;
    entry_of(dir, name, e);
    return 0;
}

int store_rm(const char *name, char *err, size_t errcap)
{
    if (!name_ok(name)) return store_fail(err, errcap, "'%.200s' is not a model name", name);
    char dir[4096], path[4400];
    if (store_dir(dir, sizeof dir, err, errcap) != 0) return -1;
    static const char *const ext[] = {"gguf", "json", "gguf.part", "gguf.part.json"};
    int removed = 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[i]);
        if (unlink(path) == 0) removed++;
        else if (errno != ENOENT) return store_fail(err, errcap, "removing %s: %s", path, strerror(errno));
    }
    removed += store_remove_rewrites(dir, name);
    if (!removed) return store_fail(err, errcap, "no model '%s' in the store (mote list shows them)", name);
    return 0;
}
