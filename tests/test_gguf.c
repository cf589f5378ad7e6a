/* test_gguf.c — the GGUF reader (basic checks; the full suite follows). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf/gguf.h"
#include "testutil.h"

static void open_dir_all(const char *rel)
{
    const char *dir = shared_path(rel);
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dirbuf, e->d_name);
        gguf_file *f = NULL;
        mote_status st = gguf_open(path, &f);
        if (st != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
        assert_non_null(f);
        assert_true(f->n_kv > 0);
        gguf_close(f);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
}

static void test_shared_models_open(void **state)
{
    SKIP_WITHOUT_SHARED();
    open_dir_all("models");
    open_dir_all("vocab");
}

static void test_stories260k(void **state)
{
    SKIP_WITHOUT_SHARED();
    gguf_file *f = NULL;
    assert_int_equal(gguf_open(shared_path("models/stories260K.gguf"), &f), MOTE_OK);
    gguf_str arch;
    assert_int_equal(gguf_get_str(f, "general.architecture", &arch), MOTE_OK);
    assert_int_equal(arch.len, 5);
    assert_memory_equal(arch.ptr, "llama", 5);
    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    assert_non_null(t);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 64);
    assert_int_equal(t->ne[1], 512);
    assert_int_equal(t->type, GGML_TYPE_F32);
    assert_int_equal(t->nbytes, 64 * 512 * 4);
    const gguf_kv *tokens;
    assert_int_equal(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens), MOTE_OK);
    assert_int_equal(tokens->arr_n, 512);
    gguf_close(f);
}

/* Every prefix of the metadata region, and a sample through the data, fails cleanly. */
static void test_truncated_stories(void **state)
{
    SKIP_WITHOUT_SHARED();
    size_t size;
    char *buf = read_file(shared_path("models/stories260K.gguf"), &size);
    assert_non_null(buf);
    gguf_file *f = NULL;
    assert_int_equal(gguf_open_buffer(buf, size, "s.gguf", &f), MOTE_OK);
    uint64_t meta = f->data_offset;
    gguf_close(f);
    for (size_t n = 0; n < size; n += n < meta ? 1 : 4093) {
        f = (gguf_file *)1;
        assert_int_not_equal(gguf_open_buffer(buf, n, "s.gguf", &f), MOTE_OK);
        assert_null(f);
        assert_true(strlen(mote_last_error()) > 0);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_models_open),
        cmocka_unit_test(test_stories260k),
        cmocka_unit_test(test_truncated_stories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
