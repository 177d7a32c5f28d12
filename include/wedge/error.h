/* error.h: status codes and the per-process error record.
 *
 * Every fallible wedge function returns an int: 0 on success, a negative WG_E*
 * code on failure.  The first failure's detail (where, and a sentence a user can
 * act on) is kept in a thread-local record until wg_err_clear(); later failures
 * that are only consequences of the first do not overwrite it.  Only main()
 * decides to stop a run. */
#ifndef WEDGE_ERROR_H
#define WEDGE_ERROR_H

#include <stddef.h>

enum {
    WG_OK = 0,
    WG_ENOMEM = -1,    /* allocation failed or a size overflowed */
    WG_EIO = -2,       /* a file could not be opened, read or written */
    WG_EFORMAT = -3,   /* a file's content is not what its format says */
    WG_EARG = -4,      /* an invalid argument or option value */
    WG_EDIVERGED = -5, /* a loss or parameter became NaN or infinite */
    WG_ENETCDF = -6,
    WG_EMPI = -7,
    WG_EYAML = -8,
    WG_EINTR = -9,     /* stopped by a signal */
    WG_ESKIP = -10     /* a task's input does not exist (nothing to compute) */
};

/* Record an error (if none is recorded yet) and return code, so that callers can
 * write `return wg_err_set(WG_EARG, __FILE__, __LINE__, "...")`.  The message is
 * printf-formatted and truncated to fit the record. */
int wg_err_set(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The recorded message ("" if none), its code (0 if none), and its origin. */
const char *wg_err_msg(void);
int wg_err_code(void);
const char *wg_err_where(void);

/* Forget the recorded error. */
void wg_err_clear(void);

/* Short name of a status code ("out of memory", "I/O error", ...). */
const char *wg_err_name(int code);

#define WG_FAIL(code, ...) wg_err_set((code), __FILE__, __LINE__, __VA_ARGS__)

/* Overflow-checked n*size for allocations; returns 0 and sets *out, or WG_ENOMEM. */
int wg_mul_size(size_t n, size_t size, size_t *out);

/* calloc/malloc-alike that record WG_ENOMEM with what was being allocated. */
void *wg_alloc(size_t n, size_t size, const char *what);
void *wg_calloc(size_t n, size_t size, const char *what);

#endif
