/*
 * llama_quantize_ref.c — the reference for test_quantize_llama: quantize a
 * model with llama.cpp's own llama_model_quantize (bench/llama's libllama,
 * installed from npm by bench/llama-setup), with the options mote quantize
 * takes, so the test can compare the two files byte for byte.
 *
 *   llama_quantize_ref IN OUT FTYPE [--pure] [--output-type T]
 *                      [--token-embedding-type T] [-t N] [--imatrix FILE]
 *                      [--kv-str KEY VALUE] [--kv-int KEY N]...
 *
 * FTYPE is a llama_ftype number, T a ggml_type number. The imatrix FILE is
 * this program's own simple format (the test writes it): entries of a
 * NUL-terminated tensor name, a little-endian u64 count n and n floats.
 * --kv-str/--kv-int are key overrides, as llama-quantize passes the
 * quantize.imatrix.* keys it writes with an importance matrix.
 * Built by the Makefile only when bench/llama exists; not part of mote.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"

#define MAX_ENTRIES 4096
#define MAX_KV 16

static void quiet_log(enum ggml_log_level level, const char *text, void *user)
{
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/* The entries of an imatrix file, terminated by a NULL name; NULL on error. */
static struct llama_model_imatrix_data *read_imatrix(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    struct llama_model_imatrix_data *e = calloc(MAX_ENTRIES + 1, sizeof *e);
    int n = 0, ok = e != NULL;
    for (int c; ok && n < MAX_ENTRIES && (c = fgetc(fp)) != EOF; n++) {
        char name[256];
        size_t len = 0;
        for (; c != EOF && c != 0 && len + 1 < sizeof name; c = fgetc(fp)) name[len++] = (char)c;
        name[len] = 0;
        uint64_t count;
        float *data = NULL;
        ok = c == 0 && fread(&count, sizeof count, 1, fp) == 1 && count < (1u << 28) &&
             (data = malloc(count * sizeof *data + 1)) && fread(data, sizeof *data, count, fp) == count;
        e[n] = (struct llama_model_imatrix_data){strdup(name), data, (size_t)count};
    }
    fclose(fp);
    return ok ? e : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s IN OUT FTYPE [--pure] [--output-type T] [--token-embedding-type T] "
                        "[-t N] [--imatrix FILE]\n", argv[0]);
        return 2;
    }
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = (enum llama_ftype)atoi(argv[3]);
    p.allow_requantize = true;
    p.nthread = 1;
    static struct llama_model_kv_override kv[MAX_KV + 1];
    int n_kv = 0;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--pure") == 0) {
            p.pure = true;
        } else if (v && strcmp(a, "--output-type") == 0) {
            p.output_tensor_type = (enum ggml_type)atoi(v), i++;
        } else if (v && strcmp(a, "--token-embedding-type") == 0) {
            p.token_embedding_type = (enum ggml_type)atoi(v), i++;
        } else if (v && strcmp(a, "-t") == 0) {
            p.nthread = atoi(v), i++;
        } else if (v && i + 2 < argc && n_kv < MAX_KV &&
                   (strcmp(a, "--kv-str") == 0 || strcmp(a, "--kv-int") == 0)) {
            struct llama_model_kv_override *o = &kv[n_kv++];
            snprintf(o->key, sizeof o->key, "%s", v);
            if (a[5] == 's') {
                o->tag = LLAMA_KV_OVERRIDE_TYPE_STR;
                strncpy(o->val_str, argv[i + 2], 127); /* as llama-quantize copies it */
                o->val_str[127] = '\0';
            } else {
                o->tag = LLAMA_KV_OVERRIDE_TYPE_INT;
                o->val_i64 = atoll(argv[i + 2]);
            }
            p.kv_overrides = kv;
            i += 2;
        } else if (v && strcmp(a, "--imatrix") == 0) {
            if (!(p.imatrix = read_imatrix(v))) {
                fprintf(stderr, "%s: cannot read %s\n", argv[0], v);
                return 1;
            }
            i++;
        } else {
            fprintf(stderr, "%s: bad argument '%s'\n", argv[0], a);
            return 2;
        }
    }
    if (!getenv("LLAMA_REF_VERBOSE")) llama_log_set(quiet_log, NULL);
    ggml_backend_load_all_from_path(LLAMA_LIBDIR);
    llama_backend_init();
    uint32_t rc = llama_model_quantize(argv[1], argv[2], &p);
    llama_backend_free();
    return rc == 0 ? 0 : 1;
}
