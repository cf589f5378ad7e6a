/*
 * dot_i8_scalar.c — the reference int8 row scan (dot_i8.h), and the
 * choice of a table's kernel.
 */
#include "kernels/dot_i8.h"

void i8_dot_rows_scalar(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out)
{
    for (size_t r = 0; r < n_rows; r++) {
        const int8_t *w = rows + r * dim;
        int32_t s = 0;
        for (size_t i = 0; i < dim; i++) s += (int32_t)q[i] * (int32_t)w[i];
        out[r] = s;
    }
}

i8_rows_fn i8_rows_kernel(const kernel_ops *ops)
{
    return ops && ops->i8_rows ? ops->i8_rows : i8_dot_rows_scalar;
}

void i8_dot_rows(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out)
{
    i8_rows_kernel(kernels_get())(q, rows, n_rows, dim, out);
}
