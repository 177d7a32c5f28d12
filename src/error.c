/* error.c: the per-process error record behind WG_FAIL, and checked allocation.
 * Keeps only the first error until cleared, because later failures are usually
 * consequences of it and the first one is what a user must fix. */
#include "wedge/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local struct {
    int code;
    char where[96];
    char msg[1024];
} rec;

int wg_err_set(int code, const char *file, int line, const char *fmt, ...)
{
    if (rec.code != 0)
        return code;
    rec.code = code;
    const char *base = strrchr(file, '/');
    snprintf(rec.where, sizeof rec.where, "%s:%d", base ? base + 1 : file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec.msg, sizeof rec.msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *wg_err_msg(void) { return rec.msg; }
int wg_err_code(void) { return rec.code; }
const char *wg_err_where(void) { return rec.where; }

void wg_err_clear(void)
{
    rec.code = 0;
    rec.where[0] = '\0';
    rec.msg[0] = '\0';
}

const char *wg_err_name(int code)
{
    switch (code) {
    case WG_OK: return "ok";
    case WG_ENOMEM: return "out of memory";
    case WG_EIO: return "I/O error";
    case WG_EFORMAT: return "bad file format";
    case WG_EARG: return "invalid argument";
    case WG_EDIVERGED: return "diverged";
    case WG_ENETCDF: return "NetCDF error";
    case WG_EMPI: return "MPI error";
    case WG_EYAML: return "YAML error";
    case WG_EINTR: return "interrupted";
    case WG_ESKIP: return "skipped: its input does not exist";
    default: return "unknown error";
    }
}

int wg_mul_size(size_t n, size_t size, size_t *out)
{
    if (size != 0 && n > SIZE_MAX / size)
        return WG_ENOMEM;
    *out = n * size;
    return 0;
}

static void *alloc(size_t n, size_t size, const char *what, int zero)
{
    size_t bytes;
    if (wg_mul_size(n, size, &bytes) != 0) {
        WG_FAIL(WG_ENOMEM, "size overflow allocating %s (%zu x %zu bytes)", what, n, size);
        return NULL;
    }
    if (bytes == 0)
        bytes = 1;
    void *p = zero ? calloc(1, bytes) : malloc(bytes);
    if (!p)
        WG_FAIL(WG_ENOMEM, "out of memory allocating %s (%zu bytes)", what, bytes);
    return p;
}

void *wg_alloc(size_t n, size_t size, const char *what) { return alloc(n, size, what, 0); }
void *wg_calloc(size_t n, size_t size, const char *what) { return alloc(n, size, what, 1); }
