/*
 * cmd_tokenize.c — `mote tokenize`: show the token ids of a text.
 *
 * Only the vocabulary is loaded, so this works on vocab-only GGUF files and
 * is quick on large models.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cmd_tokenize(int argc, char **argv)
{
    int no_special = 0, parse_special = 0, pieces = 0;
    const char *file = NULL;
    const cli_opt opts[] = {
        {'f', "file", ARG_STRING, &file, "FILE", "tokenize the text of FILE (- = stdin) instead of TEXT", 0, 0,
         NULL},
        {0, "no-special", ARG_FLAG, &no_special, NULL,
         "do not add BOS/EOS as the vocabulary asks", 0, 0, NULL},
        {0, "parse-special", ARG_FLAG, &parse_special, NULL,
         "recognise special tokens (<|im_start|>) in TEXT", 0, 0,
         NULL},
        {0, "pieces", ARG_FLAG, &pieces, NULL, "print one token per line: id, tab, its text",
         0, 0, NULL},
        {0},
    };
    const char *pos[2] = {NULL, NULL};
    const cli_spec spec = {
        .verb = "tokenize",
        .usage = "MODEL (TEXT | -f FILE) [options]",
        .about = "Print the token ids of TEXT, space-separated, on one line. Only the\n"
                 "tokenizer is loaded: MODEL may be a vocab-only GGUF file.",
        .notes = "With --pieces, piece texts escape backslash, newline, tab, control bytes\n"
                 "and bytes that are not valid UTF-8 (\\xNN).",
        .opts = opts,
        .min_pos = 1,
        .max_pos = 2,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if (!pos[1] == !file) return args_usage_error(&spec, "give the text either as TEXT or with -f FILE");

    char *file_text = NULL;
    size_t text_len = pos[1] ? strlen(pos[1]) : 0;
    if (file) {
        cli_file_kind kind;
        if (cli_text_kind("text file", &kind) != 0 || cli_read_file(file, &kind, &file_text, &text_len) != 0)
            return EXIT_LIB;
    }
    mote_model *model = NULL;
    if (cli_open_model(pos[0], 1, &model) != 0) {
        free(file_text);
        return EXIT_LIB;
    }
    mote_token *toks = NULL;
    size_t n = 0;
    rc = cli_tokenize(model, file ? file_text : pos[1], text_len, !no_special, parse_special, &toks, &n);
    if (rc == 0 && pieces) {
        size_t cap = 64;
        char *buf = malloc(cap);
        if (!buf) rc = cli_error("out of memory");
        for (size_t i = 0; rc == 0 && i < n; i++) rc = cli_print_piece(stdout, model, toks[i], &buf, &cap);
        free(buf);
    } else if (rc == 0) {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)toks[i]);
        putchar('\n');
    }
    free(toks);
    free(file_text);
    mote_model_close(model);
    return rc;
}
