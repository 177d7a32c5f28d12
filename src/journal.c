/* journal.c: the journal of task records (journal.h): O(ranks) append-only
 * segments of framed, checksummed records.  A frame is [magic "WSEG", u32 0, u64
 * length] then the record's bytes (result.c's encoding, which carries its own CRC);
 * a scan walks each segment frame by frame and stops at the first frame whose length
 * cannot be trusted (a write cut short by a kill), reporting what it could not read. */
#include "wedge/journal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wedge/error.h"
#include "wedge/sweep.h"

static const char FRAME_MAGIC[4] = {'W', 'S', 'E', 'G'};
#define FRAME_HEAD 16
#define MAX_RECORD ((uint64_t)1 << 40)

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

/* Write path atomically (temporary name, fsync, rename). */
static int write_file(const char *path, const void *data, size_t len)
{
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return WG_FAIL(WG_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    int bad = write_all(fd, data, len) || fsync(fd) != 0;
    int err = errno;
    if (close(fd) != 0 && !bad)
        bad = 1, err = errno;
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            err = errno;
        unlink(tmp);
        return WG_FAIL(WG_EIO, "%s: cannot write: %s", path, strerror(err));
    }
    return 0;
}

int wg_journal_write_sweep(const char *dir, const char *text, size_t len, const char *sha256,
                           size_t ntasks)
{
    char path[1200], line[128];
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    int rc = write_file(path, text, len);
    snprintf(path, sizeof path, "%s/sweep.sha256", dir);
    int n = snprintf(line, sizeof line, "%s %zu\n", sha256, ntasks);
    return rc ? rc : write_file(path, line, (size_t)n);
}

char *wg_journal_sweep_text(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/sweep.yaml", dir);
    FILE *t = fopen(path, "r");
    if (!t)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    while (text) {
        len += fread(text + len, 1, cap - 1 - len, t);
        if (len < cap - 1)
            break;
        char *more = realloc(text, cap *= 2);
        if (!more)
            free(text);
        text = more;
    }
    if (text && ferror(t)) {
        free(text);
        text = NULL;
    }
    fclose(t);
    if (text)
        text[len] = '\0';
    return text;
}

int wg_journal_check_sweep(const char *dir, const char *text, const char *sha256,
                           const char *file)
{
    char path[1200], hash[65] = "";
    snprintf(path, sizeof path, "%s/sweep.sha256", dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%64s", hash) != 1) {
        if (f)
            fclose(f);
        return WG_FAIL(WG_EFORMAT, "%s: missing or damaged (the journal cannot be matched to "
                       "its sweep)", path);
    }
    fclose(f);
    if (strcmp(hash, sha256) == 0)
        return 0;
    char what[256] = "its text differs";
    char *old = wg_journal_sweep_text(dir);
    if (old)
        wg_text_first_change(old, text, what, sizeof what);
    free(old);
    return WG_FAIL(WG_EARG,
                   "%s was written by a different sweep than %s (%s); refusing to resume. "
                   "Restore the sweep file, or start over with --force",
                   dir, file, what);
}

size_t wg_journal_ntasks(const char *dir)
{
    char path[1200], hash[65];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/sweep.sha256", dir);
    FILE *f = fopen(path, "r");
    if (f && fscanf(f, "%64s %zu", hash, &n) != 2)
        n = 0;
    if (f)
        fclose(f);
    return n;
}

/* ---- segments --------------------------------------------------------------------------- */

void wg_segment_name(long run, int rank, char *name, size_t size)
{
    snprintf(name, size, "seg-%06ld-%05d.wal", run, rank);
}

int wg_segment_open(wg_segment *s, const char *dir, const char *name)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->path, sizeof s->path, "%s/%s", dir, name);
    s->fd = open(s->path, O_WRONLY | O_CREAT, 0666);
    if (s->fd < 0)
        return WG_FAIL(WG_EIO, "%s: cannot open the journal segment: %s", s->path,
                       strerror(errno));
    off_t end = lseek(s->fd, 0, SEEK_END);
    s->size = end > 0 ? (uint64_t)end : 0;
    return 0;
}

int wg_segment_append(wg_segment *s, const wg_result *r, wg_jloc *loc)
{
    unsigned char *buf;
    size_t len;
    int rc = wg_result_encode(r, &buf, &len);
    if (rc)
        return rc;
    unsigned char head[FRAME_HEAD] = {0};
    uint64_t l = len;
    memcpy(head, FRAME_MAGIC, 4);
    memcpy(head + 8, &l, 8);
    int bad = lseek(s->fd, (off_t)s->size, SEEK_SET) < 0 || write_all(s->fd, head, sizeof head) ||
              write_all(s->fd, buf, len) || fsync(s->fd) != 0;
    int err = errno;
    free(buf);
    if (bad) {
        /* keep the segment parseable: cut back to the last complete record */
        if (ftruncate(s->fd, (off_t)s->size) == 0)
            (void)fsync(s->fd);
        return WG_FAIL(WG_EIO, "%s: cannot write the record of task %llu: %s", s->path,
                       (unsigned long long)r->task, strerror(err));
    }
    snprintf(loc->seg, sizeof loc->seg, "%s", s->name);
    loc->off = s->size + FRAME_HEAD;
    loc->len = len;
    s->size += FRAME_HEAD + len;
    return 0;
}

void wg_segment_close(wg_segment *s)
{
    if (s && s->fd >= 0)
        close(s->fd);
    if (s)
        s->fd = -1;
}

static int read_at(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return WG_FAIL(WG_EIO, "%s: %s", path, strerror(errno));
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int err = errno;
    close(fd);
    if (got < len)
        return WG_FAIL(WG_EFORMAT, "%s: record at byte %llu is cut short (%zu of %zu bytes)%s%s",
                       path, (unsigned long long)off, got, len, got ? "" : ": ",
                       got ? "" : strerror(err));
    return 0;
}

int wg_journal_read(const char *dir, const wg_jloc *loc, wg_result *r)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, loc->seg);
    memset(r, 0, sizeof *r);
    if (loc->len == 0 || loc->len > MAX_RECORD)
        return WG_FAIL(WG_EFORMAT, "%s: no record at byte %llu", path,
                       (unsigned long long)loc->off);
    unsigned char *buf = wg_alloc((size_t)loc->len, 1, "task record");
    if (!buf)
        return WG_ENOMEM;
    int rc = read_at(path, loc->off, buf, (size_t)loc->len);
    char what[1300];
    snprintf(what, sizeof what, "%s (byte %llu)", path, (unsigned long long)loc->off);
    if (rc == 0)
        rc = wg_result_decode(buf, (size_t)loc->len, r, what);
    free(buf);
    return rc;
}

/* ---- scanning ---------------------------------------------------------------------------- */

static int is_segment(const char *name, long *run)
{
    int rank;
    char tail[8];
    return sscanf(name, "seg-%ld-%d.%7s", run, &rank, tail) == 3 && strcmp(tail, "wal") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct scan {
    wg_jentry *e;
    size_t n, cap;
    wg_jdamage *d;
    size_t nd, capd;
} scan;

static int push_damage(scan *sc, long long task, const char *seg, uint64_t off, uint64_t len,
                       const char *what)
{
    if (sc->nd == sc->capd) {
        size_t cap = sc->capd ? 2 * sc->capd : 16;
        wg_jdamage *p = realloc(sc->d, cap * sizeof *p);
        if (!p)
            return WG_FAIL(WG_ENOMEM, "out of memory scanning the journal");
        sc->d = p, sc->capd = cap;
    }
    wg_jdamage *d = &sc->d[sc->nd++];
    memset(d, 0, sizeof *d);
    d->task = task;
    snprintf(d->loc.seg, sizeof d->loc.seg, "%s", seg);
    d->loc.off = off;
    d->loc.len = len;
    snprintf(d->what, sizeof d->what, "%s", what);
    return 0;
}

static int push_entry(scan *sc, const wg_result *r, const char *seg, uint64_t off, uint64_t len)
{
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 256;
        wg_jentry *p = realloc(sc->e, cap * sizeof *p);
        if (!p)
            return WG_FAIL(WG_ENOMEM, "out of memory scanning the journal");
        sc->e = p, sc->cap = cap;
    }
    wg_jentry *e = &sc->e[sc->n++];
    e->task = r->task;
    e->kind = r->kind;
    e->status = r->status;
    e->rank = r->rank;
    e->wall_time = r->wall_time;
    memcpy(e->message, r->message, WG_MSG_LEN);
    snprintf(e->loc.seg, sizeof e->loc.seg, "%s", seg);
    e->loc.off = off;
    e->loc.len = len;
    return 0;
}

/* The task id in a damaged record's header, if its header is whole, else -1. */
static long long header_task(const unsigned char *buf, size_t len)
{
    if (len < 24 || memcmp(buf, "WGREC04", 8) != 0)
        return -1;
    uint64_t t;
    memcpy(&t, buf + 16, 8);
    return (long long)t;
}

static int scan_segment(scan *sc, const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return WG_FAIL(WG_EIO, "%s: %s", path, strerror(errno));
    uint64_t off = 0;
    int rc = 0;
    for (;;) {
        unsigned char head[FRAME_HEAD];
        size_t got = fread(head, 1, sizeof head, f);
        if (got == 0)
            break;
        uint64_t len;
        memcpy(&len, head + 8, 8);
        if (got < sizeof head || memcmp(head, FRAME_MAGIC, 4) != 0 || len > MAX_RECORD) {
            rc = push_damage(sc, -1, name, off, 0,
                             got < sizeof head ? "a record cut short (the run was killed while "
                                                 "writing it)"
                                               : "an unreadable record frame: the rest of the "
                                                 "segment is skipped");
            break;
        }
        unsigned char *buf = malloc(len ? (size_t)len : 1);
        if (!buf) {
            rc = WG_FAIL(WG_ENOMEM, "out of memory scanning %s", path);
            break;
        }
        size_t n = fread(buf, 1, (size_t)len, f);
        wg_result r;
        char what[1300];
        snprintf(what, sizeof what, "%s (byte %llu)", path,
                 (unsigned long long)(off + FRAME_HEAD));
        if (n < len) {
            rc = push_damage(sc, header_task(buf, n), name, off + FRAME_HEAD, len,
                             "a record cut short (the run was killed while writing it)");
            free(buf);
            break;
        }
        if (wg_result_decode(buf, (size_t)len, &r, what) == 0) {
            rc = push_entry(sc, &r, name, off + FRAME_HEAD, len);
            wg_result_free(&r);
        } else {
            char msg[160];
            snprintf(msg, sizeof msg, "%s", wg_err_msg());
            wg_err_clear();
            const char *why = strstr(msg, "damaged task record");
            rc = push_damage(sc, header_task(buf, n), name, off + FRAME_HEAD, len,
                             why ? why : msg);
        }
        free(buf);
        if (rc)
            break;
        off += FRAME_HEAD + len;
    }
    fclose(f);
    return rc;
}

int wg_journal_scan(const char *dir, wg_jentry **entries, size_t *n, wg_jdamage **damage,
                    size_t *ndamage, long *last_run)
{
    *entries = NULL, *damage = NULL, *n = *ndamage = 0;
    if (last_run)
        *last_run = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : WG_FAIL(WG_EIO, "%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t nn = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        long run;
        if (!is_segment(e->d_name, &run))
            continue;
        if (last_run && run > *last_run)
            *last_run = run;
        if (nn == cap) {
            cap = cap ? 2 * cap : 16;
            char **p = realloc(names, cap * sizeof *p);
            if (!p) {
                rc = WG_FAIL(WG_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            names = p;
        }
        if (!(names[nn] = strdup(e->d_name)))
            rc = WG_FAIL(WG_ENOMEM, "out of memory listing %s", dir);
        else
            nn++;
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof *names, cmp_names);
    scan sc = {0};
    for (size_t i = 0; rc == 0 && i < nn; i++)
        rc = scan_segment(&sc, dir, names[i]);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    if (rc) {
        free(sc.e);
        free(sc.d);
        return rc;
    }
    *entries = sc.e, *n = sc.n, *damage = sc.d, *ndamage = sc.nd;
    return 0;
}

/* ---- completion ------------------------------------------------------------------------- */

int wg_journal_mark_complete(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/complete", dir);
    int rc = write_file(path, "complete\n", 9);
    int fd = open(dir, O_RDONLY); /* the rename itself must reach the disk */
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return rc;
}

int wg_journal_is_complete(const char *dir)
{
    char path[1200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/complete", dir);
    return stat(path, &sb) == 0;
}

int wg_journal_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : WG_FAIL(WG_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    char path[1300];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "complete") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    const char *f = getenv("WEDGE_FAULT"); /* the fault tests: a kill mid-removal */
    if (f && strcmp(f, "mid-remove") == 0)
        raise(SIGKILL);
    snprintf(path, sizeof path, "%s/complete", dir);
    unlink(path);
    if (rmdir(dir) != 0)
        return WG_FAIL(WG_EIO, "%s: cannot remove: %s", dir, strerror(errno));
    return 0;
}
