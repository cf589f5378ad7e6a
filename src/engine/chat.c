/*
 * chat.c — mote_chat_apply: messages -> the model's chat template.
 *
 * The context given to the template is what HF's apply_chat_template
 * passes: messages, add_generation_prompt, bos_token and eos_token (the
 * text of the vocabulary's BOS/EOS tokens).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/model.h"

#define TOKEN_TEXT_CAP 256

static const char *token_text(const mote_model *m, mote_token t, char *buf)
{
    size_t n = 0;
    if (t < 0 || mote_token_to_piece(m, t, 1, buf, TOKEN_TEXT_CAP - 1, &n) != MOTE_OK) n = 0;
    buf[n] = '\0';
    return buf;
}

mote_status mote_chat_apply(const mote_model *m, const char *tmpl, const mote_chat_message *msgs, size_t n,
                            int add_generation_prompt, char **out)
{
    if (!m || !out || (n > 0 && !msgs)) return mote_fail(MOTE_E_INVALID, "mote_chat_apply: NULL argument");
    *out = NULL;
    if (!tmpl) tmpl = m->chat_template;
    if (!tmpl)
        return mote_fail(MOTE_E_UNSUPPORTED, "%s: the model has no chat template (tokenizer.chat_template)",
                         m->gguf->path);

    cJSON *ctx = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(ctx, "messages");
    char bos[TOKEN_TEXT_CAP], eos[TOKEN_TEXT_CAP];
    int ok = ctx && arr;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *msg = cJSON_CreateObject();
        ok = msg && cJSON_AddItemToArray(arr, msg) &&
             cJSON_AddStringToObject(msg, "role", msgs[i].role ? msgs[i].role : "") &&
             cJSON_AddStringToObject(msg, "content", msgs[i].content ? msgs[i].content : "");
    }
    ok = ok && cJSON_AddBoolToObject(ctx, "add_generation_prompt", add_generation_prompt != 0) &&
         cJSON_AddStringToObject(ctx, "bos_token", token_text(m, mote_token_bos(m), bos)) &&
         cJSON_AddStringToObject(ctx, "eos_token", token_text(m, mote_token_eos(m), eos));
    char *json = ok ? cJSON_PrintUnformatted(ctx) : NULL;
    cJSON_Delete(ctx);
    if (!json) return mote_fail(MOTE_E_NOMEM, "chat: out of memory building the template context");
    mote_status st = mote_template_render(tmpl, json, out);
    cJSON_free(json);
    return st;
}
