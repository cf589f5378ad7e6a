/*
 * cli.h — what the verbs of the `mote` command share.
 *
 * The command is a thin layer over the public API (mote.h) and includes no
 * internal header. Every verb is a function taking the arguments after
 * `mote` (argv[0] is the verb) and returning the exit status:
 * 0 success, EXIT_LIB (1) when a library call or I/O failed (after printing
 * "mote: <message>" on stderr), EXIT_USAGE (2) for a bad command line.
 */
#ifndef MOTE_CLI_CLI_H
#define MOTE_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/args.h"
#include "mote.h"

/* Version of the command: the Makefile passes its VERSION (also in mote.pc). */
#ifndef MOTE_VERSION
#define MOTE_VERSION "0.1.0"
#endif

/* ------------------------------------------------------------------------
 * Verbs (one file each: cmd_<verb>.c)
 * ---------------------------------------------------------------------- */

int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_memory(int argc, char **argv);
int cmd_mcp(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_kld(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_share(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_imatrix(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_rm(int argc, char **argv);

/* The file of MODEL as a verb was given it: a path as it is; else a model
 * of the store by name; else a catalogue name, hf:... or URL, pulled into
 * the store first (progress on stderr). 0 or an exit status. */
int cli_model_path(const char *spec, char *path, size_t cap);

/* ------------------------------------------------------------------------
 * Shared helpers (common.c)
 * ---------------------------------------------------------------------- */

/* Print "mote: <mote_last_error()>" on stderr; returns EXIT_LIB. */
int cli_lib_error(void);
/* Print "mote: <formatted message>" on stderr; returns EXIT_LIB. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The CPUs this process may run on (its affinity mask: taskset, cgroup
 * cpusets), else the online ones; at least 1. */
int cli_cpu_count(void);
/* -t N above the CPUs this process may run on: a warning on stderr (the
 * process's pool caps every run at its size anyway). */
void cli_check_threads(int n_threads);
/* -c N above the context the model was trained with: a warning on stderr
 * (positions past it are ones the model never saw). */
void cli_check_ctx(const mote_model *model, int n_ctx);
/* The prompt and generation lines of a mote_generate_stats (counts, time,
 * tokens/s) on stderr. */
void cli_report_generation(const mote_generate_stats *st);

/* Monotonic clock in seconds. */
double cli_now(void);

/* Ctrl-C: after cli_catch_interrupt(), the first SIGINT only sets a flag
 * that cli_interrupted() returns (1), so long work can be cancelled
 * through a progress callback and cleaned up (no half-written file); a
 * second SIGINT kills the process as usual. */
void cli_catch_interrupt(void);
int cli_interrupted(void);
/* For interactive verbs: every SIGINT sets the flag (none kills), and a
 * read waiting for input returns (cli_read_line: 2); clear it with
 * cli_clear_interrupt once handled. */
void cli_catch_every_interrupt(void);
void cli_clear_interrupt(void);
/* A mote_progress_fn that cancels once Ctrl-C was pressed. */
int cli_stop_on_interrupt(void *user, uint64_t done, uint64_t total);

/* Progress of long evaluations on a terminal: a mote_progress_fn (user: a
 * cli_progress) that shows "\r<label>: 42%" on stderr once a call has run
 * for a second (calls that end sooner print nothing; MOTE_PROGRESS_AFTER
 * sets the seconds, 0 shows every call), ends the line when the call is
 * done, and cancels after Ctrl-C. Nothing is printed when stderr is not a
 * terminal. */
typedef struct cli_progress {
    const char *label;
    int tty;        /* stderr is a terminal */
    double t0;      /* when the current call began (its first layer) */
    int shown;      /* percentage on screen, -1: nothing */
    double after;   /* seconds a call runs before it shows progress */
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
int cli_progress_fn(void *user, uint64_t done, uint64_t total);
/* A verb's session parameters: context, threads and cache type, with a
 * progress line called label on a terminal (prog, initialised here) that
 * Ctrl-C cancels. */
mote_session_params cli_session_params(cli_progress *prog, const char *label, int n_ctx, int n_threads,
                                       int kv_type);
/* Exit status after Ctrl-C (128 + SIGINT, as a shell reports it). */
#define EXIT_INTERRUPTED 130

/* Open a model (a path or a store name, see cli_model_path; vocab_only:
 * tokenizer and metadata only); what the loader
 * ignored (mote_model_info.warnings) goes to stderr as "mote: warning:"
 * lines. 0 or EXIT_LIB. */
int cli_open_model(const char *path, int vocab_only, mote_model **out);
/* This machine's tuning profile (mote_tune_load), with a warning on stderr
 * (once) when it is broken and ignored; st may be NULL. */
void cli_tune_load(mote_tune_state *st);
/* One line about it: "profile PATH (N classes)", "off (MOTE_TUNE=off)",
 * "none (run mote tune)". */
void cli_tune_describe(const mote_tune_state *st, char *buf, size_t cap);

/* Print "id<TAB>piece\n" on f for one token (the piece escaped, control
 * tokens rendered); *buf (capacity *cap) is grown as needed. 0 or EXIT_LIB. */
int cli_print_piece(FILE *f, const mote_model *model, mote_token t, char **buf, size_t *cap);
/* Tokenize text[0..len) into a malloc'd array (free with free()). 0 or
 * EXIT_LIB. */
int cli_tokenize(const mote_model *model, const char *text, size_t len,
                 int add_special, int parse_special, mote_token **toks, size_t *n);

/* What a file read into memory may be, for cli_read_file. */
typedef struct cli_file_kind {
    const char *what; /* "prompt file", "chat template": for messages */
    size_t limit;     /* most bytes accepted */
    int regular;      /* 1: a regular file only (no stdin, pipe, device) */
    const char *raise; /* how to raise the limit (for the message), or NULL */
} cli_file_kind;

/* Default limit of text read from files, stdin or a chat line (prompts,
 * perplexity text); the environment variable raises or lowers it. */
#define CLI_TEXT_LIMIT (64u << 20)
#define CLI_TEXT_LIMIT_ENV "MOTE_MAX_FILE"
/* A chat template is a few KiB; this is far past any real one. */
#define CLI_TEMPLATE_LIMIT (1u << 20)

/* The text limit: $MOTE_MAX_FILE (bytes, or with a K, M or G suffix) or
 * CLI_TEXT_LIMIT. 0, or EXIT_LIB after a message for a malformed value. */
int cli_text_limit(size_t *out);
/* A text kind ("prompt file", "text file") with the text limit. 0 or EXIT_LIB. */
int cli_text_kind(const char *what, cli_file_kind *out);

/* Read a whole file ("-" = stdin unless kind->regular) into a malloc'd
 * NUL-terminated buffer, refusing more than kind->limit bytes, a directory,
 * and with kind->regular anything but a regular file (checked before
 * anything can block: a FIFO without a writer fails at once). 0 or EXIT_LIB
 * after a message naming path and the limit. */
int cli_read_file(const char *path, const cli_file_kind *kind, char **buf, size_t *len);

/* Read one line of stdin (its newline kept) into *line (grown, malloc'd,
 * NUL-terminated; *cap its size), at most kind->limit bytes. 1 with *len
 * set, 0 at end of input, 2 when a Ctrl-C came during the wait or before
 * it since cli_clear_interrupt (see cli_catch_every_interrupt), -1 after a
 * message (the line is too long or reading failed). It buffers stdin
 * itself: nothing else may read stdin through stdio. */
int cli_read_line(const cli_file_kind *kind, char **line, size_t *cap, size_t *len);

/* Write s[0..n) on one line: backslash escapes for '\\', newline, tab, CR,
 * other control bytes and bytes that are not valid UTF-8 (\xNN), so text
 * from a model file cannot drive the terminal. Returns the bytes written. */
size_t cli_print_escaped(FILE *f, const char *s, size_t n);
/* The same escapes of the string s (NULL: empty) into buf (NUL-terminated,
 * cut before an escape that would not fit in cap). */
void cli_escape(const char *s, char *buf, size_t cap);

/* Copy of s[0..n) with every byte that is not part of valid UTF-8 replaced
 * by U+FFFD, malloc'd and NUL-terminated (*out_len without the NUL); NULL
 * when out of memory. Chat templates need valid text, and generated pieces
 * (byte tokens) or input lines need not be. */
char *cli_utf8_sanitize(const char *s, size_t n, size_t *out_len);

/* The mote_kv_type named "f32", "f16" or "q8_0" (the --kv-type option):
 * 0, or for another name the usage error of spec's verb (its status). */
int cli_kv_type(const cli_spec *spec, const char *name, int *out);
#define KV_TYPE_HELP "KV cache type: f16 (default), f32 (exact, slower) or q8_0"

/* The model's file type as llama.cpp names it ("Q4_K_M") from
 * general.file_type; without that key, the type of most weight bytes
 * (2-D tensors), *from_tensors then 1. NULL for a file without weights.
 * The name is written to buf. */
const char *cli_file_type(const mote_model *m, char *buf, size_t cap, int *from_tensors);

/* Human-readable sizes: "292.8K", "1.2B"; "1.1 MiB". */
void cli_human_count(int64_t n, char *buf, size_t cap);
void cli_human_bytes(uint64_t n, char *buf, size_t cap);

/* Entries for a cli_opt table of the verbs that score a text in chunks
 * (perplexity, kld; mote_ppl_params): -c, --chunks, -t, into ints. */
#define CHUNK_OPTS(n_ctx, max_chunks, n_threads)                                                         \
    {'c', "ctx", ARG_INT, (n_ctx), "N", "chunk length in tokens (default 512, as llama.cpp's)", 4,           \
     MOTE_N_CTX_MAX, NULL},                                                                              \
    {0, "chunks", ARG_INT, (max_chunks), "K", "score at most the first K chunks", 1, 1e9, NULL},            \
    {'t', "threads", ARG_INT, (n_threads), "N", "worker threads (default: all CPUs; more are capped)", 0, \
     MOTE_N_THREADS_MAX, NULL}

/* ------------------------------------------------------------------------
 * Sampling options shared by `run` and `chat`
 * ---------------------------------------------------------------------- */

typedef struct sample_args {
    mote_sampler_params p; /* starts at the library defaults */
    int seen_temp;         /* --temp given */
    int seen_penalty;      /* --repeat-penalty given */
    int seen_last_n;       /* --repeat-last-n given */
    int seen_seed;         /* --seed given */
} sample_args;

/* Entries for a cli_opt table (sa: sample_args *). */
#define SAMPLE_OPTS(sa)                                                        \
    {0, "temp", ARG_FLOAT, &(sa)->p.temp, "T",                                 \
     "temperature; 0 = greedy (exact argmax)", 0, 1e6, &(sa)->seen_temp},      \
    {0, "top-k", ARG_INT, &(sa)->p.top_k, "K",                                 \
     "sample from the K most likely tokens; 0 = off", 0, 1e9, NULL},           \
    {0, "top-p", ARG_FLOAT, &(sa)->p.top_p, "P",                               \
     "nucleus: smallest set with probability >= P; 1 = off", 0, 1, NULL},      \
    {0, "min-p", ARG_FLOAT, &(sa)->p.min_p, "P",                               \
     "drop tokens under P x the top probability; 0 = off", 0, 1, NULL}, \
    {0, "repeat-penalty", ARG_FLOAT, &(sa)->p.repeat_penalty, "R",             \
     "penalise recently seen tokens; 1 = off", 1e-3, 1e6, &(sa)->seen_penalty},   \
    {0, "repeat-last-n", ARG_INT, &(sa)->p.penalty_last_n, "N",                \
     "how many recent tokens the penalty sees", 0, MOTE_PENALTY_LAST_N_MAX, &(sa)->seen_last_n},   \
    {0, "seed", ARG_U64, &(sa)->p.seed, "S",                                   \
     "random seed (default: a fresh one each run)", 0, 0,           \
     &(sa)->seen_seed}

/* "defaults: --temp 0.8 --top-k 40 ..." (the library's), for the help. */
void sample_defaults_text(char *buf, size_t cap);

/* Library defaults, nothing seen. */
void sample_args_init(sample_args *sa);
/* Final parameters: with temp <= 0 the filters and (unless asked for) the
 * penalties are switched off, so greedy is the exact argmax; an unseen seed
 * is drawn fresh. */
mote_sampler_params sample_args_params(const sample_args *sa);

/* ------------------------------------------------------------------------
 * Speculative decoding options of `run` (cli/spec.c)
 * ---------------------------------------------------------------------- */

typedef struct spec_args {
    const char *lookup;    /* --lookup N or auto; NULL: auto for greedy runs where the profile says it pays */
    int ngram_min, ngram_max; /* --lookup-min, --lookup-max (0: the library's) */
    const char *draft;     /* --draft MODEL, or NULL */
    int draft_max, draft_min;
    float draft_p_min;
} spec_args;

#define SPEC_OPTS(sp)                                                                                       \
    {0, "lookup", ARG_STRING, &(sp)->lookup, "N|auto",                                                      \
     "speculate: draft up to N tokens that followed the text's last tokens earlier in it; auto: as many as " \
     "pay by `mote tune`'s pass costs and the acceptance so far (see the notes)", 0, 0, NULL},                \
    {0, "lookup-max", ARG_INT, &(sp)->ngram_max, "G", "--lookup matches the last G tokens first (default 4)", 1, \
     64, NULL},                                                                                             \
    {0, "lookup-min", ARG_INT, &(sp)->ngram_min, "G", "... down to the last G (default 3)", 1, 64, NULL},     \
    {0, "draft", ARG_STRING, &(sp)->draft, "MODEL",                                                         \
     "speculate: a small model with the same vocabulary drafts tokens greedily", 0, 0, NULL},               \
    {0, "draft-max", ARG_INT, &(sp)->draft_max, "K", "tokens the draft model drafts per pass (default 8)", 1, \
     MOTE_DRAFT_MAX, NULL},                                                                                 \
    {0, "draft-min", ARG_INT, &(sp)->draft_min, "K", "verify no draft shorter than K tokens (default 0)", 0,  \
     MOTE_DRAFT_MAX, NULL},                                                                                 \
    {0, "draft-p-min", ARG_FLOAT, &(sp)->draft_p_min, "P",                                                  \
     "the draft model stops where its top token is less likely than P (default 0)", 0, 1, NULL}

/* Open --draft's model and a session for it fit for `target` (its n_ctx,
 * the same threads and KV type), and fill *spec (lookup and draft
 * settings). Without --draft, *dm and *ds stay NULL. 0, or an exit code
 * after saying what failed. */
int cli_spec_open(const spec_args *sa, const mote_session *target, int n_threads, int kv_type, mote_model **dm,
                  mote_session **ds, mote_speculative *spec);
/* --lookup's value into *spec for a run on model: a number, "auto", or
 * (NULL) auto where greedy and this machine's profile says lookup pays on
 * model (MOTE_TUNE=off: never). 0, or a usage error's exit code after
 * saying what is wrong. */
int cli_spec_lookup(const spec_args *sa, const mote_model *model, int greedy, mote_speculative *spec);
/* --lookup's value (NULL: not given) into *n, or *is_auto; 0, or
 * EXIT_USAGE after saying what is wrong. */
int cli_lookup_arg(const char *arg, int *n, int *is_auto);
/* 1 if spec speculates at all. */
int cli_spec_on(const mote_speculative *spec);
/* "speculation: ..." on stderr: drafted, accepted, acceptance. */
void cli_report_speculation(const mote_generate_stats *st, const mote_speculative *spec);

#endif
