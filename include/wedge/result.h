/* result.h: the record a task produces, and its byte encoding (journal.h keeps
 * records on disk).
 *
 * A record is a header (task, kind, status, rank, wall time, message) and one slot
 * per output variable of its kind (kind.h's variable table, same order): a slot
 * holds the part of the task's row of that variable the task computed, as a block
 * `count` at `start` in the variable's dimensions after `task`, typed as the variable
 * is.  The store writes a slot with one nc_put_vara; nothing here knows which
 * variable a slot is. */
#ifndef WEDGE_RESULT_H
#define WEDGE_RESULT_H

#include <stddef.h>
#include <stdint.h>

/* Task status values, as stored in the `status` variable (CF flag_values). */
enum {
    WG_STATUS_PENDING = 0,
    WG_STATUS_DONE = 1,
    WG_STATUS_FAILED = 2,
    WG_STATUS_DIVERGED = 3,
    WG_STATUS_SKIPPED = 4  /* a probe of a point its training never reached (it stopped
                              early by its stop rule): final, not an error */
};

#define WG_MSG_LEN 256
#define WG_MAX_VAR_DIMS 3 /* dimensions of a variable after `task` */

/* Element types of output variables and record slots. */
typedef enum { WG_T_BYTE = 0, WG_T_INT, WG_T_FLOAT, WG_T_DOUBLE, WG_T_CHAR } wg_type;

/* Bytes of one element of t. */
size_t wg_type_size(wg_type t);

/* One variable's part of a task's row. */
typedef struct wg_slot {
    int set;                          /* the task wrote it */
    wg_type type;
    int ndims;                        /* dimensions after `task` */
    size_t start[WG_MAX_VAR_DIMS], count[WG_MAX_VAR_DIMS];
    size_t n;                         /* prod(count): elements in data */
    void *data;                       /* n elements of type (owned) */
} wg_slot;

typedef struct wg_result {
    uint64_t task;
    int kind;                   /* wg_task_kind: which variable table the slots follow */
    int status;
    int rank;
    double wall_time;           /* seconds */
    char message[WG_MSG_LEN];   /* "" when done */
    int nslots;
    wg_slot *slots;             /* nslots (owned) */
} wg_result;

/* A zeroed record with nslots unset slots.  wg_result_free is safe on a zeroed
 * record and after a failure here. */
int wg_result_init(wg_result *r, int nslots);
void wg_result_free(wg_result *r);

/* Allocate slot i (replacing what it held) as a zeroed block of count[0..ndims) at
 * start[0..ndims) (NULL start: all zeros; ndims 0: one value); returns its data, or
 * NULL with WG_ENOMEM/WG_EARG recorded. */
void *wg_result_slot(wg_result *r, int i, wg_type type, int ndims, const size_t *start,
                     const size_t *count);
/* Slot i as above, filled from src (n elements of src_type, converted to type as C
 * converts; doubles to integers truncate).  0 or WG_ENOMEM/WG_EARG. */
int wg_result_set(wg_result *r, int i, wg_type type, int ndims, const size_t *start,
                  const size_t *count, const void *src, wg_type src_type);
/* Slot i if the task set it, else NULL. */
const wg_slot *wg_result_get(const wg_result *r, int i);
/* Shorthands for a one-value slot (a variable with no dimension after `task`). */
int wg_result_put_double(wg_result *r, int i, double v);
int wg_result_put_int(wg_result *r, int i, int v);
int wg_result_put_byte(wg_result *r, int i, int v);

/* The record as bytes (a checksummed, self-delimiting encoding in this machine's
 * byte order: the journal is scratch space of one run on one cluster).  *buf is
 * allocated (caller frees).  0 or WG_ENOMEM. */
int wg_result_encode(const wg_result *r, unsigned char **buf, size_t *len);
/* Decode len bytes into r (allocated): 0, or WG_EFORMAT with `what` naming the
 * source in the message when the bytes are damaged (wrong length, bad checksum,
 * impossible sizes). */
int wg_result_decode(const unsigned char *buf, size_t len, wg_result *r, const char *what);

#endif
