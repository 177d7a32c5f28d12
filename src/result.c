/* result.c: task records and their journal on disk.
 * The journal exists because an HDF5 file that is open for writing is not
 * crash-safe: records written here survive kill -9, the NetCDF rows may not.
 * A record is a small binary file in this machine's byte order (the journal is
 * scratch space of one run on one cluster, not an exchange format). */
#include "wedge/result.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wedge/error.h"

static const char MAGIC[8] = "WGREC03";

int wg_result_init(wg_result *r, int epochs, int nsnap, size_t D)
{
    memset(r, 0, sizeof *r);
    size_t e = epochs > 0 ? (size_t)epochs : 1, n = nsnap > 0 ? (size_t)nsnap : 1, total;
    if (wg_mul_size(n, D, &total))
        return WG_FAIL(WG_ENOMEM, "result size overflows (%zu snapshots x %zu)", n, D);
    r->train_loss = wg_calloc(5 * e, sizeof(double), "epoch statistics");
    r->snap_epoch = wg_calloc(n, sizeof(int), "snapshot epochs");
    r->params = wg_calloc(total ? total : 1, sizeof(float), "snapshot parameters");
    if (!r->train_loss || !r->snap_epoch || !r->params) {
        wg_result_free(r);
        return WG_ENOMEM;
    }
    r->train_acc = r->train_loss + e;
    r->test_loss = r->train_loss + 2 * e;
    r->test_acc = r->train_loss + 3 * e;
    r->param_norm = r->train_loss + 4 * e;
    r->nparams = D;
    return 0;
}

int wg_result_extra(wg_result *r, size_t n)
{
    free(r->extra);
    r->nextra = 0;
    r->extra = wg_calloc(n ? n : 1, sizeof *r->extra, "probe results");
    if (!r->extra)
        return WG_ENOMEM;
    r->nextra = n;
    return 0;
}

void wg_result_free(wg_result *r)
{
    if (!r)
        return;
    free(r->extra);
    free(r->train_loss);
    free(r->snap_epoch);
    free(r->params);
    memset(r, 0, sizeof *r);
}

void wg_journal_dir(const char *out, char *dir, size_t size)
{
    snprintf(dir, size, "%s.journal", out);
}

int wg_journal_create(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return WG_FAIL(WG_EIO, "%s: cannot create the journal directory: %s", dir,
                       strerror(errno));
    return 0;
}

/* The fixed part of a record. */
typedef struct rec_head {
    char magic[8];
    uint64_t task;
    int32_t status, rank, nepochs, nsnap, kind, pad;
    uint64_t nparams, nextra;
    double wall_time;
    char message[WG_MSG_LEN];
} rec_head;

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int wg_journal_write(const char *dir, const wg_result *r)
{
    char path[1024], tmp[1040];
    snprintf(path, sizeof path, "%s/task-%06llu.rec", dir, (unsigned long long)r->task);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    rec_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, sizeof h.magic);
    h.task = r->task;
    h.status = r->status;
    h.kind = r->kind;
    h.rank = r->rank;
    h.nepochs = r->nepochs;
    h.nsnap = r->nsnap;
    h.nparams = r->nparams;
    h.nextra = r->nextra;
    h.wall_time = r->wall_time;
    memcpy(h.message, r->message, WG_MSG_LEN);
    h.message[WG_MSG_LEN - 1] = '\0';
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return WG_FAIL(WG_EIO, "%s: cannot write task record: %s", tmp, strerror(errno));
    const size_t ne = (size_t)r->nepochs, ns = (size_t)r->nsnap;
    int bad = write_all(fd, &h, sizeof h) || write_all(fd, r->train_loss, ne * 8) ||
              write_all(fd, r->train_acc, ne * 8) || write_all(fd, r->test_loss, ne * 8) ||
              write_all(fd, r->test_acc, ne * 8) || write_all(fd, r->param_norm, ne * 8) ||
              write_all(fd, r->snap_epoch, ns * sizeof(int)) ||
              write_all(fd, r->params, ns * r->nparams * sizeof(float)) ||
              write_all(fd, r->extra, r->nextra * sizeof(double)) || fsync(fd) != 0;
    int err = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            err = errno;
        unlink(tmp);
        return WG_FAIL(WG_EIO, "%s: cannot write task record: %s", path, strerror(err));
    }
    return 0;
}

static int read_all(FILE *f, void *buf, size_t n) { return fread(buf, 1, n, f) == n ? 0 : -1; }

int wg_journal_read(const char *dir, uint64_t task, wg_result *r)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/task-%06llu.rec", dir, (unsigned long long)task);
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f)
        return WG_FAIL(WG_EIO, "%s: %s", path, strerror(errno));
    rec_head h;
    int rc = 0;
    if (read_all(f, &h, sizeof h) || memcmp(h.magic, MAGIC, sizeof MAGIC) != 0 ||
        h.task != task || h.nepochs < 0 || h.nsnap < 0 || h.nepochs > 1000000 ||
        h.nsnap > 1000000 || h.nextra > ((uint64_t)1 << 32))
        rc = WG_FAIL(WG_EFORMAT, "%s: damaged task record", path);
    if (rc == 0)
        rc = wg_result_init(r, h.nepochs, h.nsnap, (size_t)h.nparams);
    if (rc == 0 && h.nextra)
        rc = wg_result_extra(r, (size_t)h.nextra);
    if (rc == 0) {
        r->task = h.task;
        r->status = h.status;
        r->kind = h.kind;
        r->rank = h.rank;
        r->nepochs = h.nepochs;
        r->nsnap = h.nsnap;
        r->wall_time = h.wall_time;
        memcpy(r->message, h.message, WG_MSG_LEN);
        r->message[WG_MSG_LEN - 1] = '\0';
        const size_t ne = (size_t)h.nepochs, ns = (size_t)h.nsnap;
        if (read_all(f, r->train_loss, ne * 8) || read_all(f, r->train_acc, ne * 8) ||
            read_all(f, r->test_loss, ne * 8) || read_all(f, r->test_acc, ne * 8) ||
            read_all(f, r->param_norm, ne * 8) ||
            read_all(f, r->snap_epoch, ns * sizeof(int)) ||
            read_all(f, r->params, ns * r->nparams * sizeof(float)) ||
            read_all(f, r->extra, r->nextra * sizeof(double)) || fgetc(f) != EOF) {
            wg_result_free(r);
            rc = WG_FAIL(WG_EFORMAT, "%s: damaged task record (wrong length)", path);
        }
    }
    fclose(f);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int wg_journal_list(const char *dir, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : WG_FAIL(WG_EIO, "%s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        unsigned long long id;
        char tail[8];
        if (sscanf(e->d_name, "task-%llu.%7s", &id, tail) != 2 || strcmp(tail, "rec") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            uint64_t *p = realloc(*ids, cap * sizeof *p);
            if (!p) {
                rc = WG_FAIL(WG_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            *ids = p;
        }
        (*ids)[(*n)++] = id;
    }
    closedir(d);
    if (rc == 0 && *n)
        qsort(*ids, *n, sizeof **ids, cmp_u64);
    return rc;
}

int wg_journal_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : WG_FAIL(WG_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    char path[1300];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    if (rmdir(dir) != 0)
        return WG_FAIL(WG_EIO, "%s: cannot remove: %s", dir, strerror(errno));
    return 0;
}
