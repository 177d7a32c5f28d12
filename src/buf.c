/* buf.c: a growing byte buffer (buf.h). */
#include "wedge/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and a NUL; 0, or 1 (oom set) when there is none. */
static int reserve(wg_buf *b, size_t n)
{
    if (b->oom)
        return 1;
    if (b->data && b->len + n < b->cap)
        return 0;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap <= b->len + n)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return 1;
    }
    b->data = d, b->cap = cap;
    return 0;
}

void wg_buf_put(wg_buf *b, const void *p, size_t n)
{
    if (reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wg_buf_printf(wg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void wg_buf_free(wg_buf *b)
{
    free(b->data);
    *b = (wg_buf){0};
}
