/* result.c: task records and their checksummed byte encoding.  A record's bytes end
 * with a CRC-32C over everything before it, so a torn or flipped record is refused by
 * the reader instead of reaching the output. */
#include "wedge/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"

static const char MAGIC[8] = "WGREC04";
static const uint32_t TRAILER = 0x444e4557u; /* "WEND" */

size_t wg_type_size(wg_type t)
{
    switch (t) {
    case WG_T_BYTE:
    case WG_T_CHAR: return 1;
    case WG_T_INT:
    case WG_T_FLOAT: return 4;
    case WG_T_DOUBLE: return 8;
    }
    return 0;
}

int wg_result_init(wg_result *r, int nslots)
{
    memset(r, 0, sizeof *r);
    if (nslots < 0)
        return WG_FAIL(WG_EARG, "record with %d slots", nslots);
    r->slots = wg_calloc(nslots > 0 ? (size_t)nslots : 1, sizeof *r->slots, "task record");
    if (!r->slots)
        return WG_ENOMEM;
    r->nslots = nslots;
    return 0;
}

void wg_result_free(wg_result *r)
{
    if (!r)
        return;
    for (int i = 0; r->slots && i < r->nslots; i++)
        free(r->slots[i].data);
    free(r->slots);
    memset(r, 0, sizeof *r);
}

void *wg_result_slot(wg_result *r, int i, wg_type type, int ndims, const size_t *start,
                     const size_t *count)
{
    if (i < 0 || i >= r->nslots || ndims < 0 || ndims > WG_MAX_VAR_DIMS ||
        wg_type_size(type) == 0) {
        WG_FAIL(WG_EARG, "record slot %d of %d (%d dimensions) does not exist", i, r->nslots,
                ndims);
        return NULL;
    }
    wg_slot *s = &r->slots[i];
    size_t n = 1;
    for (int d = 0; d < ndims; d++)
        if (wg_mul_size(n, count[d], &n)) {
            WG_FAIL(WG_ENOMEM, "record slot %d: size overflows", i);
            return NULL;
        }
    void *data = wg_calloc(n ? n : 1, wg_type_size(type), "task record");
    if (!data)
        return NULL;
    free(s->data);
    memset(s, 0, sizeof *s);
    s->set = 1;
    s->type = type;
    s->ndims = ndims;
    for (int d = 0; d < ndims; d++) {
        s->start[d] = start ? start[d] : 0;
        s->count[d] = count[d];
    }
    s->n = n;
    s->data = data;
    return data;
}

/* Element i of an array of type t as a double, and back. */
static double get_as_double(const void *a, wg_type t, size_t i)
{
    switch (t) {
    case WG_T_BYTE: return ((const signed char *)a)[i];
    case WG_T_CHAR: return ((const char *)a)[i];
    case WG_T_INT: return ((const int *)a)[i];
    case WG_T_FLOAT: return ((const float *)a)[i];
    case WG_T_DOUBLE: return ((const double *)a)[i];
    }
    return 0;
}

static void put_from_double(void *a, wg_type t, size_t i, double v)
{
    switch (t) {
    case WG_T_BYTE: ((signed char *)a)[i] = (signed char)v; break;
    case WG_T_CHAR: ((char *)a)[i] = (char)v; break;
    case WG_T_INT: ((int *)a)[i] = (int)v; break;
    case WG_T_FLOAT: ((float *)a)[i] = (float)v; break;
    case WG_T_DOUBLE: ((double *)a)[i] = v; break;
    }
}

int wg_result_set(wg_result *r, int i, wg_type type, int ndims, const size_t *start,
                  const size_t *count, const void *src, wg_type src_type)
{
    void *dst = wg_result_slot(r, i, type, ndims, start, count);
    if (!dst)
        return wg_err_code() ? wg_err_code() : WG_ENOMEM;
    size_t n = r->slots[i].n;
    if (type == src_type)
        memcpy(dst, src, n * wg_type_size(type));
    else
        for (size_t k = 0; k < n; k++)
            put_from_double(dst, type, k, get_as_double(src, src_type, k));
    return 0;
}

const wg_slot *wg_result_get(const wg_result *r, int i)
{
    if (!r || i < 0 || i >= r->nslots || !r->slots[i].set)
        return NULL;
    return &r->slots[i];
}

int wg_result_put_double(wg_result *r, int i, double v)
{
    double *p = wg_result_slot(r, i, WG_T_DOUBLE, 0, NULL, NULL);
    if (!p)
        return WG_ENOMEM;
    *p = v;
    return 0;
}

int wg_result_put_int(wg_result *r, int i, int v)
{
    int *p = wg_result_slot(r, i, WG_T_INT, 0, NULL, NULL);
    if (!p)
        return WG_ENOMEM;
    *p = v;
    return 0;
}

int wg_result_put_byte(wg_result *r, int i, int v)
{
    signed char *p = wg_result_slot(r, i, WG_T_BYTE, 0, NULL, NULL);
    if (!p)
        return WG_ENOMEM;
    *p = (signed char)v;
    return 0;
}

/* ---- encoding ------------------------------------------------------------------------ */

/* CRC-32C (Castagnoli), reflected, table-driven. */
static uint32_t crc32c(const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    static int ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* The fixed part of a record. */
typedef struct rec_head {
    char magic[8];
    uint64_t len;               /* bytes of the whole record, trailer included */
    uint64_t task;
    int32_t kind, status, rank, nslots;
    double wall_time;
    char message[WG_MSG_LEN];
} rec_head;

typedef struct slot_head {
    int32_t index, type, ndims, pad;
    uint64_t start[WG_MAX_VAR_DIMS], count[WG_MAX_VAR_DIMS];
} slot_head;

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

int wg_result_encode(const wg_result *r, unsigned char **buf, size_t *len)
{
    size_t total = sizeof(rec_head) + 8;
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].set)
            total += sizeof(slot_head) + pad8(r->slots[i].n * wg_type_size(r->slots[i].type));
    unsigned char *b = wg_calloc(total, 1, "task record bytes");
    if (!b)
        return WG_ENOMEM;
    rec_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, sizeof h.magic);
    h.len = total;
    h.task = r->task;
    h.kind = r->kind;
    h.status = r->status;
    h.rank = r->rank;
    h.nslots = r->nslots;
    h.wall_time = r->wall_time;
    memcpy(h.message, r->message, WG_MSG_LEN);
    h.message[WG_MSG_LEN - 1] = '\0';
    memcpy(b, &h, sizeof h);
    size_t o = sizeof h;
    for (int i = 0; i < r->nslots; i++) {
        const wg_slot *s = &r->slots[i];
        if (!s->set)
            continue;
        slot_head sh;
        memset(&sh, 0, sizeof sh);
        sh.index = i;
        sh.type = (int32_t)s->type;
        sh.ndims = s->ndims;
        for (int d = 0; d < s->ndims; d++) {
            sh.start[d] = s->start[d];
            sh.count[d] = s->count[d];
        }
        memcpy(b + o, &sh, sizeof sh);
        o += sizeof sh;
        size_t nb = s->n * wg_type_size(s->type);
        if (nb)
            memcpy(b + o, s->data, nb);
        o += pad8(nb);
    }
    uint32_t crc = crc32c(b, o);
    memcpy(b + o, &crc, 4);
    memcpy(b + o + 4, &TRAILER, 4);
    *buf = b;
    *len = total;
    return 0;
}

int wg_result_decode(const unsigned char *buf, size_t len, wg_result *r, const char *what)
{
    memset(r, 0, sizeof *r);
    rec_head h;
    uint32_t crc, tail;
    if (len < sizeof h + 8)
        return WG_FAIL(WG_EFORMAT, "%s: damaged task record (%zu bytes, too short)", what, len);
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, MAGIC, sizeof MAGIC) != 0)
        return WG_FAIL(WG_EFORMAT, "%s: not a task record of this wedge version", what);
    if (h.len != len)
        return WG_FAIL(WG_EFORMAT, "%s: damaged task record (wrong length: %zu bytes, header "
                       "says %llu)", what, len, (unsigned long long)h.len);
    memcpy(&crc, buf + len - 8, 4);
    memcpy(&tail, buf + len - 4, 4);
    if (tail != TRAILER || crc != crc32c(buf, len - 8))
        return WG_FAIL(WG_EFORMAT, "%s: damaged task record (checksum mismatch)", what);
    if (h.nslots < 0 || h.nslots > 4096)
        return WG_FAIL(WG_EFORMAT, "%s: damaged task record (%d slots)", what, h.nslots);
    int rc = wg_result_init(r, h.nslots);
    if (rc)
        return rc;
    r->task = h.task;
    r->kind = h.kind;
    r->status = h.status;
    r->rank = h.rank;
    r->wall_time = h.wall_time;
    memcpy(r->message, h.message, WG_MSG_LEN);
    r->message[WG_MSG_LEN - 1] = '\0';
    size_t o = sizeof h, end = len - 8;
    while (rc == 0 && o < end) {
        slot_head sh;
        if (end - o < sizeof sh) {
            rc = WG_FAIL(WG_EFORMAT, "%s: damaged task record (truncated slot)", what);
            break;
        }
        memcpy(&sh, buf + o, sizeof sh);
        o += sizeof sh;
        size_t count[WG_MAX_VAR_DIMS], start[WG_MAX_VAR_DIMS];
        if (sh.index < 0 || sh.index >= h.nslots || sh.ndims < 0 ||
            sh.ndims > WG_MAX_VAR_DIMS || wg_type_size((wg_type)sh.type) == 0 ||
            r->slots[sh.index].set) {
            rc = WG_FAIL(WG_EFORMAT, "%s: damaged task record (bad slot header)", what);
            break;
        }
        for (int d = 0; d < sh.ndims; d++) {
            start[d] = (size_t)sh.start[d];
            count[d] = (size_t)sh.count[d];
        }
        size_t n = 1;
        for (int d = 0; d < sh.ndims; d++)
            if (wg_mul_size(n, count[d], &n))
                n = SIZE_MAX;
        size_t es = wg_type_size((wg_type)sh.type);
        if (n > (end - o) / es) {
            rc = WG_FAIL(WG_EFORMAT, "%s: damaged task record (slot larger than the record)",
                         what);
            break;
        }
        void *data = wg_result_slot(r, sh.index, (wg_type)sh.type, sh.ndims, start, count);
        if (!data) {
            rc = WG_ENOMEM;
            break;
        }
        memcpy(data, buf + o, n * es);
        o += pad8(n * es);
    }
    if (rc == 0 && o != end)
        rc = WG_FAIL(WG_EFORMAT, "%s: damaged task record (wrong length)", what);
    if (rc)
        wg_result_free(r);
    return rc;
}
