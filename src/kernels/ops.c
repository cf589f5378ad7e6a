/* ops.c — scalar transformer operations (see ops.h). */
#include "kernels/ops.h"

#include <math.h>

void op_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    double sum = 0.0; /* ggml accumulates the squares in double */
    for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

void op_rope_cache(float *cs, int pos, int n_rot, float base, float freq_scale, const float *ff)
{
    /* θ advances by repeated float multiplication, as ggml's rope cache does. */
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++) {
        float t = freq_scale * (ff ? theta / ff[i] : theta);
        cs[2 * i] = cosf(t);
        cs[2 * i + 1] = sinf(t);
        theta *= theta_scale;
    }
}

void op_rope(float *x, const float *cs, int n_rot, int neox)
{
    const int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        const float c = cs[2 * i], s = cs[2 * i + 1];
        const int i0 = neox ? i : 2 * i;
        const int i1 = neox ? i + half : 2 * i + 1;
        const float x0 = x[i0], x1 = x[i1];
        x[i0] = x0 * c - x1 * s;
        x[i1] = x0 * s + x1 * c;
    }
}

void op_softmax(float *s, int n, float scale)
{
    float max = -INFINITY;
    for (int i = 0; i < n; i++) {
        s[i] *= scale;
        if (s[i] > max) max = s[i];
    }
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        s[i] = expf(s[i] - max);
        sum += (double)s[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) s[i] *= inv;
}

void op_swiglu(float *g, const float *u, int n)
{
    for (int i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void op_add(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] += x[i];
}
