/* session.h — what the engine layer knows of a session beyond mote.h. */
#ifndef MOTE_ENGINE_SESSION_H
#define MOTE_ENGINE_SESSION_H

#include "mote.h"

/* The model a session runs. */
const mote_model *session_model(const mote_session *s);
/* Most tokens of one forward pass (n_batch after the defaults). */
int session_n_batch(const mote_session *s);
/* Most logit rows one evaluation may keep (n_outputs_max; 0: no cap). */
int session_n_outputs_max(const mote_session *s);
/* 1 if sequence seq is computed alone (mote_seq_set_alone), else 0. */
int session_seq_alone(const mote_session *s, int seq);
/* Watch the session's forward passes (model/arch.h, fwd_observer), or
 * stop with NULL. The observer must outlive its use. */
struct fwd_observer;
void session_set_observer(mote_session *s, const struct fwd_observer *o);

#endif
