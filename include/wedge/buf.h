/* buf.h: a growing byte buffer, for texts built piece by piece (task identities,
 * a sweep's canonical form).  Running out of memory is sticky: later appends do
 * nothing, and `oom` tells the caller once, at the end. */
#ifndef WEDGE_BUF_H
#define WEDGE_BUF_H

#include <stddef.h>

typedef struct wg_buf {
    char *data;                 /* NUL-terminated after the first append */
    size_t len, cap;
    int oom;
} wg_buf;

/* Append n bytes. */
void wg_buf_put(wg_buf *b, const void *p, size_t n);
/* Append printf-formatted text. */
__attribute__((format(printf, 2, 3)))
void wg_buf_printf(wg_buf *b, const char *fmt, ...);
void wg_buf_free(wg_buf *b);

#endif
