/*
 * cmd_ps.c — `mote ps`: ask a running `mote serve` which models it has
 * loaded (GET /v1/models) and show them, one line each, with the memory
 * budget they share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cli/cli.h"

#define PS_TIMEOUT_S 10L
#define PS_ANSWER_MAX (8u << 20) /* a model list is a few kB; a larger answer is not a mote server's */

typedef struct answer {
    char *text;
    size_t len;
} answer;

static size_t gather(char *p, size_t size, size_t n, void *user)
{
    answer *a = user;
    const size_t add = size * n;
    if (a->len + add > PS_ANSWER_MAX) return 0;
    char *t = realloc(a->text, a->len + add + 1);
    if (!t) return 0;
    memcpy(t + a->len, p, add);
    a->text = t;
    a->len += add;
    t[a->len] = '\0';
    return add;
}

/* GET url (with the API key, if any) into *a. 0, or an exit status. */
static int get(const char *url, const char *key, answer *a, long *status)
{
    CURL *c = curl_easy_init();
    if (!c) return cli_error("cannot start an HTTP client");
    char auth[512];
    struct curl_slist *h = NULL;
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(NULL, auth);
    }
    char err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, PS_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* a local server: no proxy between */
    const CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return cli_error("%s: %s (is `mote serve` running there?)", url, err[0] ? err : curl_easy_strerror(rc));
    return 0;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* The table of the models in a /v1/models answer; 0, or an exit status. */
static int show(const char *text, int all)
{
    cJSON *root = cJSON_Parse(text);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        cJSON_Delete(root);
        return cli_error("the server's /v1/models answer is not a model list");
    }
    printf("%-24s %-9s %10s %8s %7s %9s %6s %-8s %s\n", "MODEL", "STATE", "MiB", "STREAMS", "QUEUED", "IDLE", "PRIO",
           "PINNED", "ROLE");
    const cJSON *m;
    int shown = 0;
    cJSON_ArrayForEach(m, data)
    {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "status");
        if (!cJSON_IsObject(st)) continue; /* an alias */
        const char *state = str(st, "state", "?");
        if (!all && strcmp(state, "loaded") != 0) continue;
        char idle[32] = "-";
        if (strcmp(state, "loaded") == 0 && num(st, "requests") == 0)
            snprintf(idle, sizeof idle, "%.0fs", num(st, "idle_seconds"));
        printf("%-24s %-9s %10.1f %4.0f/%-3.0f %7.0f %9s %6.0f %-8s %s\n", str(m, "id", "?"), state,
               num(st, "bytes") / (1024.0 * 1024.0), num(st, "streams"), num(st, "max_streams"), num(st, "queued"),
               idle, num(st, "priority"), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "pinned")) ? "yes" : "no",
               str(st, "role", "-"));
        shown++;
    }
    if (!shown) printf("(no model is loaded%s)\n", all ? " or configured" : "; --all lists the others");
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(root, "memory");
    if (cJSON_IsObject(mem))
        printf("memory: %.1f of %.1f MiB in use; %.0f evictions\n", num(mem, "used") / (1024.0 * 1024.0),
               num(mem, "budget") / (1024.0 * 1024.0), num(mem, "evictions"));
    cJSON_Delete(root);
    return 0;
}

int cmd_ps(int argc, char **argv)
{
    const char *host = "127.0.0.1", *key = getenv("MOTE_API_KEY");
    int port = 8080, all = 0, json = 0;
    const cli_opt opts[] = {
        {0, "host", ARG_STRING, &host, "ADDR", "the server's address (default 127.0.0.1)", 0, 0, NULL},
        {0, "port", ARG_INT, &port, "N", "its port (default 8080)", 1, 65535, NULL},
        {0, "api-key", ARG_STRING, &key, "KEY", "the server's API key (default: $MOTE_API_KEY)", 0, 0, NULL},
        {'a', "all", ARG_FLAG, &all, NULL, "list the models that are not loaded too", 0, 0, NULL},
        {0, "json", ARG_FLAG, &json, NULL, "print the server's answer (JSON) as it is", 0, 0, NULL},
        {0},
    };
    const cli_spec spec = {
        .verb = "ps",
        .usage = "[--host ADDR] [--port N] [--all] [--json]",
        .about = "Show the models a running `mote serve` has loaded: bytes held in its memory budget,\n"
                 "streams generating (of the most it runs at once), requests queued, idle time,\n"
                 "priority, pinned, role; then the budget.",
        .opts = opts,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    char url[512];
    const int v6 = strchr(host, ':') != NULL;
    snprintf(url, sizeof url, "http://%s%s%s:%d/v1/models", v6 ? "[" : "", host, v6 ? "]" : "", port);
    answer a = {0};
    long status = 0;
    if ((rc = get(url, key, &a, &status)) != 0) return free(a.text), rc;
    if (status != 200) {
        rc = cli_error("%s: HTTP %ld%s%s", url, status, a.text ? ": " : "", a.text ? a.text : "");
    } else if (json) {
        printf("%s\n", a.text ? a.text : "");
    } else {
        rc = show(a.text ? a.text : "", all);
    }
    free(a.text);
    return rc;
}
