/*
 * cmd_chat.c — `mote chat`: an interactive conversation.
 *
 * Every turn renders the whole conversation (system, user and assistant
 * messages) with the model's chat template and tokenizes it. Only what is
 * new is evaluated: the session keeps the tokens of its KV cache, the
 * rendered tokens are compared with them (mote_seq_common_prefix), the
 * session is truncated to their common prefix, and the rest goes to
 * mote_generate. The reply is streamed to stdout and kept
 * as an assistant message for the next turn.
 *
 * Reasoning ("<think>...</think>" before the answer, see think.h) is shown
 * apart from the answer and never stored: the assistant message kept for
 * the next turn is the answer alone, as HF's and llama.cpp's chat do (the
 * reasoning templates strip it from earlier turns anyway).
 * --no-think (and /no_think) passes enable_thinking=false to a template
 * that reads that variable (Qwen3, SmolLM3, QwQ...), which is why the
 * conversation goes to the template as a JSON context
 * (mote_chat_tokenize_json).
 *
 * A model without a chat template (and no --chat-template) falls back to
 * plain continuation: the "conversation" is the text itself. Each user line
 * is appended (after a newline) and the model continues it; its reply
 * follows directly. With a base model this writes a text together.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/think.h"

/* ------------------------------------------------------------------------
 * Growable arrays
 * ---------------------------------------------------------------------- */

/* Room for `used + n` elements of size sz in p (capacity *cap): returns the
 * (possibly moved) array, or NULL with p untouched when out of memory. */
static void *grow(void *p, size_t *cap, size_t used, size_t n, size_t sz)
{
    if (p && used + n <= *cap) return p;
    size_t nc = *cap ? *cap : 16;
    while (nc < used + n) nc *= 2;
    void *np = realloc(p, nc * sz);
    if (np) *cap = nc;
    return np;
}

/* A byte string that grows. */
typedef struct text_buf {
    char *s;    /* NUL-terminated when not NULL */
    size_t len; /* bytes before the NUL */
    size_t cap; /* allocated bytes */
} text_buf;

static int text_append(text_buf *b, const char *s, size_t n)
{
    char *ns = grow(b->s, &b->cap, b->len, n + 1, 1);
    if (!ns) return -1;
    b->s = ns;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------
 * Conversation state
 * ---------------------------------------------------------------------- */

typedef struct chat {
    const mote_model *model;
    mote_session *session;
    mote_sampler *sampler;
    const char *tmpl;       /* --chat-template text, or NULL for the model's */
    int templated;          /* 0: plain continuation (no template) */
    mote_chat_message *msgs; /* the conversation; contents are malloc'd */
    size_t n_msgs, cap_msgs;
    size_t n_keep;          /* messages kept by /reset (the system prompt) */
    size_t full_tokens;     /* tokens of a conversation that did not fit */
    int n_predict;          /* tokens per reply; -1 = until EOG/context end */
    int timings;            /* --timings: report each reply's timings */
    int verbose_prompt;     /* --verbose-prompt: show each turn's tokens */
    int think_switch;       /* the template reads enable_thinking */
    int think_tags;         /* the template writes "<think>" (may open the block itself) */
    int thinking;           /* enable_thinking given to it: 0, 1, or -1 (not set: its default) */
    int grey;               /* reasoning shown grey (stdout a colour terminal), else prefixed */
    int n_replies;          /* replies so far, and their stats summed: */
    mote_generate_stats last, total; /* the last reply's, and all of them */
} chat;

/* Append a message; its content is copied as valid UTF-8 (templates need
 * it; a reply cut inside a character or a Latin-1 line is not). */
static int chat_push(chat *c, const char *role, const char *content, size_t len)
{
    mote_chat_message *msgs = grow(c->msgs, &c->cap_msgs, c->n_msgs, 1, sizeof *msgs);
    size_t copy_len;
    char *copy = msgs ? cli_utf8_sanitize(content, len, &copy_len) : NULL;
    if (msgs) c->msgs = msgs;
    if (!copy) return cli_error("out of memory");
    c->msgs[c->n_msgs].role = role;
    c->msgs[c->n_msgs].content = copy;
    c->n_msgs++;
    return 0;
}

static void chat_pop_to(chat *c, size_t n)
{
    while (c->n_msgs > n) free((char *)c->msgs[--c->n_msgs].content);
}

/* Drop the oldest exchange after the system prompt: its user message and
 * what follows up to the next user message. 0 if the last user message is
 * all there is to drop (nothing is dropped then). */
static int chat_drop_oldest(chat *c)
{
    size_t end = c->n_keep + 1;
    while (end < c->n_msgs && strcmp(c->msgs[end].role, "user") != 0) end++;
    if (end >= c->n_msgs) return 0;
    for (size_t i = c->n_keep; i < end; i++) free((char *)c->msgs[i].content);
    memmove(c->msgs + c->n_keep, c->msgs + end, (c->n_msgs - end) * sizeof *c->msgs);
    c->n_msgs -= end - c->n_keep;
    return 1;
}

/* Plain continuation: the messages joined, a newline before each one that
 * is not a reply (a reply continues the line before it). */
static int render_plain(const chat *c, char **out)
{
    text_buf b = {0};
    for (size_t i = 0; i < c->n_msgs; i++) {
        int is_reply = strcmp(c->msgs[i].role, "assistant") == 0;
        if ((i > 0 && !is_reply && text_append(&b, "\n", 1) != 0) ||
            text_append(&b, c->msgs[i].content, strlen(c->msgs[i].content)) != 0) {
            free(b.s);
            return cli_error("out of memory");
        }
    }
    if (!b.s && text_append(&b, "", 0) != 0) return cli_error("out of memory");
    *out = b.s;
    return 0;
}

/* The template's context: {"messages": [...]} and enable_thinking when
 * set; malloc'd JSON text (cJSON_free), or NULL after a message. */
static char *chat_context(const chat *c)
{
    cJSON *ctx = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(ctx, "messages");
    int ok = ctx && arr && (c->thinking < 0 || cJSON_AddBoolToObject(ctx, "enable_thinking", c->thinking));
    for (size_t i = 0; ok && i < c->n_msgs; i++) {
        cJSON *msg = cJSON_CreateObject();
        ok = msg && cJSON_AddItemToArray(arr, msg) && cJSON_AddStringToObject(msg, "role", c->msgs[i].role) &&
             cJSON_AddStringToObject(msg, "content", c->msgs[i].content);
    }
    char *json = ok ? cJSON_PrintUnformatted(ctx) : NULL;
    cJSON_Delete(ctx);
    if (!json) cli_error("out of memory building the conversation");
    return json;
}

/* The templated conversation (context ctx), tokenized with special tokens
 * parsed only in the template's text (mote_chat_tokenize_json). 0 or
 * EXIT_LIB. */
static int chat_tokens_templated(const chat *c, const char *ctx, mote_token **toks, size_t *n)
{
    size_t cap = 0, count = 0;
    mote_status st = mote_chat_tokenize_json(c->model, c->tmpl, ctx, 1, NULL, 0, &count);
    if (st != MOTE_OK && st != MOTE_E_RANGE) return cli_lib_error();
    cap = count > 0 ? count : 1;
    mote_token *buf = malloc(cap * sizeof *buf);
    if (!buf) return cli_error("out of memory tokenizing the conversation");
    if (mote_chat_tokenize_json(c->model, c->tmpl, ctx, 1, buf, cap, &count) != MOTE_OK) {
        free(buf);
        return cli_lib_error();
    }
    *toks = buf;
    *n = count;
    return 0;
}

/* Does the generation prompt leave a reasoning block open (QwQ's and
 * DeepSeek-R1's "<think>\n" after the assistant header)? The template
 * rendered with and without it tells (think_prompt_opens); a template
 * that fails without it opens none. Asked only of templates that write
 * "<think>" (two more renderings a turn). */
static int chat_prompt_opens_think(const chat *c, const char *ctx)
{
    char *with = NULL, *without = NULL;
    int open = mote_chat_apply_json(c->model, c->tmpl, ctx, 1, &with) == MOTE_OK &&
               mote_chat_apply_json(c->model, c->tmpl, ctx, 0, &without) == MOTE_OK &&
               think_prompt_opens(with, without);
    mote_free(with);
    mote_free(without);
    return open;
}

/* The conversation as the model sees it, tokenized, and where its reply
 * starts (enum think_start). 0 or EXIT_LIB. */
static int chat_tokens(const chat *c, mote_token **toks, size_t *n, enum think_start *start)
{
    *start = THINK_OFF;
    if (c->templated) {
        char *ctx = chat_context(c);
        if (!ctx) return EXIT_LIB;
        int rc = chat_tokens_templated(c, ctx, toks, n);
        if (rc == 0) *start = c->think_tags && chat_prompt_opens_think(c, ctx) ? THINK_INSIDE : THINK_DETECT;
        cJSON_free(ctx);
        return rc;
    }
    char *text = NULL;
    if (render_plain(c, &text) != 0) return EXIT_LIB;
    /* Plain text: what the user typed is text, never a special token. */
    int rc = cli_tokenize(c->model, text, strlen(text), 1, 0, toks, n);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------------
 * One turn
 * ---------------------------------------------------------------------- */

/* How reasoning is shown: on a colour terminal grey under a header;
 * elsewhere (a pipe, a file, NO_COLOR) each of its lines starts with
 * THINK_PREFIX, so that it can be told from the answer (grep -v). */
#define SGR_GREY "\033[90m"
#define SGR_RESET "\033[0m"
#define THINK_HEADER "Thinking:"
#define THINK_PREFIX "thinking:"

/* What the streaming callback collects. */
typedef struct reply {
    const mote_model *model;
    think_split split; /* reasoning told from answer */
    int grey;          /* reasoning shown grey (else prefixed) */
    int part;          /* on screen: -1 nothing yet, 0 answer, 1 reasoning */
    int line_start;    /* the last byte shown ended a line */
    text_buf text;     /* the answer's text (no reasoning, no end-of-generation tokens) */
    int oom;           /* an allocation failed */
} reply;

static void show_reasoning(reply *r, const char *s, size_t n)
{
    if (r->part != 1) {
        if (r->grey) fputs(SGR_GREY THINK_HEADER "\n", stdout);
        r->part = 1;
        r->line_start = 1;
    }
    while (n > 0) {
        const char *nl = memchr(s, '\n', n);
        const size_t len = nl ? (size_t)(nl - s) + 1 : n;
        if (!r->grey && r->line_start) fputs(len > 1 || !nl ? THINK_PREFIX " " : THINK_PREFIX, stdout);
        fwrite(s, 1, len, stdout);
        r->line_start = nl != NULL;
        s += len;
        n -= len;
    }
}

/* The reasoning on screen is over: its last line ended, the colour reset
 * and, on a terminal, a blank line before the answer (if one follows). */
static void end_reasoning(reply *r, int answer_follows)
{
    if (r->grey) fputs(SGR_RESET, stdout);
    if (!r->line_start) putchar('\n');
    if (r->grey && answer_follows) putchar('\n');
    r->line_start = 1;
}

static void on_part(void *user, int reasoning, const char *s, size_t n)
{
    reply *r = user;
    if (reasoning) {
        show_reasoning(r, s, n);
        return;
    }
    if (r->part == 1) end_reasoning(r, 1);
    r->part = 0;
    fwrite(s, 1, n, stdout);
    if (text_append(&r->text, s, n) != 0) r->oom = 1;
}

static int on_token(void *user, mote_token t, const char *piece, size_t len)
{
    reply *r = user;
    if (cli_interrupted()) return 1; /* Ctrl-C: the reply ends here */
    if (mote_token_is_eog(r->model, t)) return 0;
    think_split_feed(&r->split, piece, len);
    fflush(stdout);
    return r->oom;
}

/* Count a reply's stats; with --timings, report them. */
static void chat_count(chat *c, const mote_generate_stats *st)
{
    c->last = *st;
    c->n_replies++;
    c->total.n_prompt += st->n_prompt;
    c->total.n_generated += st->n_generated;
    c->total.prompt_seconds += st->prompt_seconds;
    c->total.gen_seconds += st->gen_seconds;
    if (c->timings) cli_report_generation(st);
}

/* /stats: the last reply's timings, the conversation's totals, and how
 * full the context is. */
static void chat_stats(const chat *c)
{
    if (c->n_replies == 0) {
        fprintf(stderr, "(no replies yet)\n");
    } else {
        fprintf(stderr, "last reply:\n");
        cli_report_generation(&c->last);
        fprintf(stderr, "all %d repl%s:\n", c->n_replies, c->n_replies == 1 ? "y" : "ies");
        mote_generate_stats t = c->total;
        t.stopped_by_eog = 0;
        cli_report_generation(&t);
    }
    fprintf(stderr, "context:    %5d of %d tokens used\n", mote_session_pos(c->session),
            mote_session_n_ctx(c->session));
}

/* chat_turn's result when the conversation no longer fits the context (the
 * caller drops the user message); not an exit status. */
#define TURN_CANCELLED 257 /* Ctrl-C during the prompt: the message is dropped */
#define TURN_CONTEXT_FULL 256

/* --verbose-prompt: the conversation's tokens on stderr, one per line (id,
 * tab, text), after a line saying how many the cache already held. */
static int chat_show_tokens(const chat *c, const mote_token *toks, size_t n, size_t cached)
{
    fprintf(stderr, "prompt: %zu tokens, %zu of them cached\n", n, cached);
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = cli_print_piece(stderr, c->model, toks[i], &buf, &cap);
    free(buf);
    return rc;
}

/* Answer the last user message: 0, EXIT_LIB or TURN_CONTEXT_FULL. */
static int chat_turn(chat *c)
{
    mote_token *toks = NULL;
    size_t n = 0;
    enum think_start start;
    if (chat_tokens(c, &toks, &n, &start) != 0) return EXIT_LIB;
    int n_ctx = mote_session_n_ctx(c->session);
    if (n == 0 || n >= (size_t)n_ctx) {
        free(toks);
        if (n == 0) return cli_error("the conversation rendered to no tokens");
        c->full_tokens = n;
        return TURN_CONTEXT_FULL;
    }

    /* Keep the cached prefix; at least one token must be evaluated so
     * there are logits to sample from. */
    size_t keep = (size_t)mote_seq_common_prefix(c->session, 0, toks, (int)n);
    if (keep == n) keep = n - 1;
    /* one token back may be a cut a sliding-window layer cannot take: start over */
    if (mote_session_truncate(c->session, (int)keep) != MOTE_OK) keep = 0;
    if (keep == 0 && mote_session_truncate(c->session, 0) != MOTE_OK) {
        free(toks);
        return cli_lib_error();
    }

    if (c->verbose_prompt && chat_show_tokens(c, toks, n, keep) != 0) {
        free(toks);
        return EXIT_LIB;
    }

    int room = n_ctx - (int)n;
    int n_predict = c->n_predict < 0 || c->n_predict > room ? room : c->n_predict;
    reply r = {.model = c->model, .grey = c->grey, .part = -1};
    think_split_init(&r.split, start, on_part, &r);
    mote_generate_stats st = {0};
    mote_sampler_reset(c->sampler);
    mote_status gs = mote_generate(c->session, c->sampler, toks + keep, (int)(n - keep),
                                   n_predict, on_token, &r, &st);
    think_split_finish(&r.split);
    if (r.part == 1) end_reasoning(&r, 0); /* cut inside the reasoning: no answer */
    else putchar('\n');
    fflush(stdout);

    int rc = 0;
    /* Ctrl-C cancels the evaluation under way: in the prompt, the message
     * is dropped; during the reply, what was generated is kept (the
     * cancelled evaluation left the session as it was). */
    if (gs == MOTE_E_CANCELLED && cli_interrupted() && st.n_generated == 0) rc = TURN_CANCELLED;
    else if (gs != MOTE_OK && !(gs == MOTE_E_CANCELLED && cli_interrupted())) rc = cli_lib_error();
    else if (r.oom) rc = cli_error("out of memory");
    else if (chat_push(c, "assistant", r.text.s ? r.text.s : "", r.text.len) != 0) rc = EXIT_LIB;
    if (rc == 0) chat_count(c, &st);

    /* After a failure the cache's state is not worth keeping (a cancelled
     * prompt left the session as it was). */
    if (rc != 0 && rc != TURN_CANCELLED && mote_session_truncate(c->session, 0) != MOTE_OK) rc = cli_lib_error();
    if (rc == 0 && cli_interrupted()) fprintf(stderr, "(stopped)\n");
    /* The reply was cut by the context, not by -n or an end token. */
    if (rc == 0 && !st.stopped_by_eog && n_predict == room && st.n_generated >= room)
        fprintf(stderr, "(the reply was cut by the full context; the next message drops the oldest exchanges, or "
                        "use a larger -c)\n");

    free(r.text.s);
    free(toks);
    return rc;
}

/* ------------------------------------------------------------------------
 * The loop
 * ---------------------------------------------------------------------- */

/* Why what (--no-think, /think) does nothing: the template has no switch. */
static void say_no_switch(const chat *c, const char *what)
{
    fprintf(stderr, "mote: %s is ignored: %s\n", what,
            c->templated ? "the chat template has no enable_thinking switch" : "there is no chat template");
}

/* /think and /no_think: enable_thinking for the next turns, where the
 * template reads it. */
static void chat_set_thinking(chat *c, int on)
{
    if (!c->think_switch) {
        say_no_switch(c, on ? "/think" : "/no_think");
        return;
    }
    c->thinking = on;
    fprintf(stderr, "(thinking %s: enable_thinking=%s from the next message on)\n", on ? "on" : "off",
            on ? "true" : "false");
}

static void chat_reset(chat *c)
{
    chat_pop_to(c, c->n_keep);
    mote_session_truncate(c->session, 0);
    mote_sampler_reset(c->sampler);
}

static int chat_loop(chat *c)
{
    int tty = isatty(STDIN_FILENO);
    if (tty)
        fprintf(stderr, "/exit or Ctrl-D ends the chat, /reset starts over, /stats shows timings%s; Ctrl-C stops a "
                        "reply\n", c->think_switch ? ", /think and /no_think switch reasoning" : "");
    char *line = NULL;
    size_t line_cap = 0;
    cli_file_kind line_kind;
    int rc = cli_text_kind("chat message", &line_kind);
    if (rc != 0) return rc;
    for (;;) {
        /* Cleared before the prompt shows: a Ctrl-C pressed once it is on
         * screen ends the chat, even if the read has not begun yet. */
        cli_clear_interrupt();
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        size_t len;
        int got = cli_read_line(&line_kind, &line, &line_cap, &len);
        if (got != 1) { /* end of input, Ctrl-C at the prompt, or an error */
            if (got == 2) fputc('\n', stderr);
            rc = got == -1 ? EXIT_LIB : 0;
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (strcmp(line, "/exit") == 0) break;
        if (strcmp(line, "/reset") == 0) {
            chat_reset(c);
            fprintf(stderr, "(conversation cleared)\n");
            continue;
        }
        if (strcmp(line, "/stats") == 0) {
            chat_stats(c);
            continue;
        }
        if (strcmp(line, "/think") == 0 || strcmp(line, "/no_think") == 0) {
            chat_set_thinking(c, line[1] == 't');
            continue;
        }
        if (len == 0) continue;
        /* "/word" is a command, never a message; "//text" sends "/text". */
        if (line[0] == '/' && line[1] != '/') {
            fprintf(stderr, "mote: unknown command '%s' (commands: /exit, /reset, /stats, /think, /no_think; start "
                            "a message with // to send it with one /)\n", line);
            continue;
        }
        const char *text = line[0] == '/' ? line + 1 : line;
        len -= (size_t)(text - line);
        size_t before = c->n_msgs;
        if (chat_push(c, "user", text, len) != 0) {
            rc = EXIT_LIB;
            break;
        }
        rc = chat_turn(c);
        /* Too long for the context: the oldest exchanges go (the system
         * prompt stays), as long as there are any besides this message. */
        int dropped = 0;
        while (rc == TURN_CONTEXT_FULL && chat_drop_oldest(c)) {
            before = c->n_msgs - 1;
            dropped++;
            rc = chat_turn(c);
        }
        if (dropped && rc != TURN_CONTEXT_FULL)
            fprintf(stderr, "(context full: dropped the %d oldest exchange%s; the system prompt is kept)\n", dropped,
                    dropped == 1 ? "" : "s");
        if (rc == TURN_CONTEXT_FULL)
            fprintf(stderr, "mote: context full: this message makes the conversation %zu tokens and the context "
                            "holds %d; nothing older is left to drop (use a larger -c)\n",
                    c->full_tokens, mote_session_n_ctx(c->session));
        if (rc == TURN_CONTEXT_FULL || rc == TURN_CANCELLED) {
            if (rc == TURN_CANCELLED) fprintf(stderr, "(cancelled)\n");
            chat_pop_to(c, before);
            rc = 0;
        } else if (rc != 0) {
            break;
        }
    }
    free(line);
    return rc;
}

int cmd_chat(int argc, char **argv)
{
    const char *system = NULL, *template_file = NULL;
    int n_predict = -1, n_threads = 0, n_ctx = 0, timings = 0, verbose_prompt = 0, no_think = 0;
    const char *kv_name = "f16";
    int kv_type = MOTE_KV_F16;
    sample_args sa;
    sample_args_init(&sa);
    const cli_opt opts[] = {
        {0, "system", ARG_STRING, &system, "TEXT", "system prompt", 0, 0, NULL},
        {'n', "n-predict", ARG_INT, &n_predict, "N",
         "most tokens per reply (default -1: no limit)", -1, 1e9,
         NULL},
        SAMPLE_OPTS(&sa),
        {'t', "threads", ARG_INT, &n_threads, "N", "worker threads (default: all CPUs; more are capped)", 0, MOTE_N_THREADS_MAX,
         NULL},
        {'c', "ctx", ARG_INT, &n_ctx, "N", "context length (default: the model's)", 0, MOTE_N_CTX_MAX,
         NULL},
        {0, "kv-type", ARG_STRING, &kv_name, "TYPE", KV_TYPE_HELP, 0, 0, NULL},
        {0, "chat-template", ARG_STRING, &template_file, "FILE",
         "use this Jinja chat template, not the model's", 0, 0, NULL},
        {0, "timings", ARG_FLAG, &timings, NULL, "after each reply, print its timings on stderr (/stats shows "
         "them on request)", 0, 0, NULL},
        {0, "no-think", ARG_FLAG, &no_think, NULL, "ask the template for no reasoning (enable_thinking=false)", 0,
         0, NULL},
        {0, "verbose-prompt", ARG_FLAG, &verbose_prompt, NULL, "before each reply, print the conversation's "
         "tokens on stderr (id, tab, text)", 0, 0, NULL},
        {0},
    };
    char notes[2048], defaults[256];
    sample_defaults_text(defaults, sizeof defaults);
    snprintf(notes, sizeof notes,
             "Commands: /exit (or end of input) ends the chat, /reset clears it, /stats\n"
             "shows the last reply's timings, all replies' and how full the context is,\n"
             "/think and /no_think set enable_thinking for the next messages (as --no-think);\n"
             "any other line starting with / is refused (// sends a message starting\n"
             "with one /).\n"
             "Reasoning (<think>...</think> at the start of a reply, or after a <think> the\n"
             "template's generation prompt opens) is shown apart from the answer: on a colour\n"
             "terminal in grey under a \"" THINK_HEADER "\" header, otherwise (a pipe, a file,\n"
             "NO_COLOR set) with every line of it starting \"" THINK_PREFIX " \". Only the answer\n"
             "is kept in the conversation. --no-think passes enable_thinking=false to a\n"
             "template that reads it (Qwen3, SmolLM3, QwQ: no reasoning, or an empty block);\n"
             "with any other template it is ignored, and said so.\n"
             "Ctrl-C stops a reply (or cancels a long prompt); at the prompt it ends the chat.\n"
             "A conversation too long for the context drops its oldest exchanges (the\n"
             "system prompt stays) and says so.\n"
             "A model without a chat template falls back to plain continuation: each\n"
             "line is appended to the text so far and the model continues it (--system\n"
             "is ignored then: without a template there is no system role).\n%s",
             defaults);
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "chat",
        .usage = "MODEL [--system TEXT] [sampling options] [-n N]",
        .about = "Chat with a model. Each line read from stdin is a user message; the reply is\n"
                 "streamed to stdout. The conversation is rendered with the model's chat\n"
                 "template and only its new part is evaluated (the KV cache is kept).",
        .notes = notes,
        .opts = opts,
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(n_threads);

    if ((rc = cli_kv_type(&spec, kv_name, &kv_type)) != 0) return rc;
    chat c = {.n_predict = n_predict, .timings = timings, .verbose_prompt = verbose_prompt};
    mote_model *model = NULL;
    char *tmpl = NULL;
    size_t tmpl_len;
    rc = EXIT_LIB;
    static const cli_file_kind template_kind = {
        .what = "chat template", .limit = CLI_TEMPLATE_LIMIT, .regular = 1};
    if (template_file && cli_read_file(template_file, &template_kind, &tmpl, &tmpl_len) != 0)
        goto done;
    if (cli_open_model(pos[0], 0, &model) != 0) goto done;
    c.model = model;
    c.tmpl = tmpl;

    mote_model_info info;
    if (mote_model_get_info(model, &info) != MOTE_OK) {
        cli_lib_error();
        goto done;
    }
    c.templated = tmpl != NULL || info.has_chat_template;
    if (!c.templated)
        fprintf(stderr, "mote: %s has no chat template; falling back to plain continuation "
                        "(each line is appended to the text and the model continues it)\n",
                pos[0]);
    if (!c.templated && system) {
        fprintf(stderr, "mote: --system is ignored: without a chat template there is no system role\n");
        system = NULL;
    }
    /* A template that reads enable_thinking mentions it. */
    const char *tt = tmpl ? tmpl : info.chat_template;
    c.think_switch = c.templated && tt && strstr(tt, "enable_thinking") != NULL;
    c.think_tags = c.templated && tt && strstr(tt, "<think>") != NULL;
    c.thinking = -1;
    if (no_think && c.think_switch) c.thinking = 0;
    else if (no_think) say_no_switch(&c, "--no-think");
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    c.grey = isatty(STDOUT_FILENO) && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);

    cli_progress prog;
    mote_session_params sp = cli_session_params(&prog, "prompt", n_ctx, n_threads, kv_type);
    cli_catch_every_interrupt();
    mote_sampler_params smp = sample_args_params(&sa);
    if (mote_session_create(model, &sp, &c.session) != MOTE_OK ||
        mote_sampler_create(&smp, mote_vocab_size(model), &c.sampler) != MOTE_OK) {
        cli_lib_error();
        goto done;
    }
    cli_check_ctx(model, n_ctx);
    if (system && chat_push(&c, "system", system, strlen(system)) != 0) goto done;
    c.n_keep = c.n_msgs;
    rc = chat_loop(&c);

done:
    chat_pop_to(&c, 0);
    free(c.msgs);
    if (c.sampler) mote_sampler_free(c.sampler);
    if (c.session) mote_session_free(c.session);
    if (model) mote_model_close(model);
    free(tmpl);
    return rc;
}
