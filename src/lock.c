/* lock.c: the output's lock file (lock.h).  Open-file-description locks where the
 * kernel has them (they belong to the open file, not the process, so closing another
 * descriptor of the same file does not drop them), classic fcntl locks otherwise. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wedge/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wedge/error.h"

#ifdef F_OFD_SETLK
#define SETLK F_OFD_SETLK
#define GETLK F_OFD_GETLK
#else
#define SETLK F_SETLK
#define GETLK F_GETLK
#endif

#define LINE_LEN 256

double wg_lock_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void wg_lock_path(const char *out, char *path, size_t size)
{
    snprintf(path, size, "%s.lock", out);
}

static int lock_byte(int fd, short type, off_t byte)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    return fcntl(fd, SETLK, &fl);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int read_info(int fd, wg_lock_info *info)
{
    char line[LINE_LEN + 1] = "";
    memset(info, 0, sizeof *info);
    ssize_t n = pread(fd, line, LINE_LEN, 0);
    if (n <= 0)
        return -1;
    line[n] = '\0';
    return sscanf(line, "host=%127s pid=%ld run=%ld start=%lf heartbeat=%lf state=%15s",
                  info->host, &info->pid, &info->run, &info->start, &info->heartbeat,
                  info->state) == 6 ? 0 : -1;
}

static void write_info(int fd, const wg_lock_info *info)
{
    char line[LINE_LEN];
    memset(line, ' ', sizeof line);
    int n = snprintf(line, sizeof line, "host=%s pid=%ld run=%ld start=%.3f heartbeat=%.3f "
                     "state=%s", info->host, info->pid, info->run, info->start, info->heartbeat,
                     info->state);
    if (n > 0 && n < LINE_LEN)
        line[n] = ' ';
    line[LINE_LEN - 1] = '\n';
    if (pwrite(fd, line, sizeof line, 0) < 0) { /* a full disk: the heartbeat is advisory */
    }
}

static void describe(const wg_lock_info *i, char *buf, size_t cap)
{
    char when[64] = "?";
    time_t t = (time_t)i->start;
    struct tm tm;
    if (i->start > 0 && localtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, cap, "%s (pid %ld) since %s; last heartbeat %.0fs ago", i->host, i->pid, when,
             wg_lock_clock() - i->heartbeat);
}

int wg_lock_take(wg_lock *l, const char *out, long run, double linger, double stale,
                 wg_lock_info *prev)
{
    memset(l, 0, sizeof *l);
    memset(prev, 0, sizeof *prev);
    l->fd = -1;
    wg_lock_path(out, l->path, sizeof l->path);
    char msg[400];
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = open(l->path, O_RDWR | O_CREAT, 0666);
        if (fd < 0)
            return WG_FAIL(WG_EIO, "%s: cannot open the lock file: %s", l->path, strerror(errno));
        if (lock_byte(fd, F_WRLCK, 0) != 0) {
            wg_lock_info h;
            int known = read_info(fd, &h) == 0;
            close(fd);
            if (known)
                describe(&h, msg, sizeof msg);
            return WG_FAIL(WG_EIO, "%s is being written by another run%s%s: wait for it, or "
                           "stop it first", out, known ? " on " : "", known ? msg : "");
        }
        /* the file may have been replaced between open and lock: lock the one at path */
        struct stat a, b;
        if (fstat(fd, &a) != 0 || stat(l->path, &b) != 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev) {
            close(fd);
            continue;
        }
        l->fd = fd;
        break;
    }
    if (l->fd < 0)
        return WG_FAIL(WG_EIO, "%s: the lock file keeps changing", l->path);
    char host[128] = "?";
    gethostname(host, sizeof host - 1);
    /* a fresh heartbeat of another host: its run may still be alive where our locks
     * do not reach; wait until it is stale */
    double t0 = wg_lock_clock();
    while (read_info(l->fd, prev) == 0 && strcmp(prev->state, "running") == 0 &&
           strcmp(prev->host, host) != 0 && wg_lock_clock() - prev->heartbeat < stale) {
        if (wg_lock_clock() - t0 > stale + 5) {
            describe(prev, msg, sizeof msg);
            wg_lock_release(l, NULL);
            return WG_FAIL(WG_EIO, "%s is being written by another run on %s", out, msg);
        }
        sleep_s(1.0);
    }
    if (read_info(l->fd, prev) != 0)
        memset(prev, 0, sizeof *prev);
    /* processes of an earlier run still finishing a write hold byte 1 */
    for (double waited = 0.0;; waited += 0.2) {
        if (lock_byte(l->fd, F_WRLCK, 1) == 0)
            break;
        if (waited >= linger) {
            wg_lock_release(l, NULL);
            return WG_FAIL(WG_EIO, "%s: processes of an earlier run are still writing it "
                           "after %.0fs; stop them (they hold %s) and try again", out, linger,
                           l->path);
        }
        sleep_s(0.2);
    }
    lock_byte(l->fd, F_UNLCK, 1);
    snprintf(l->info.host, sizeof l->info.host, "%s", host);
    l->info.pid = (long)getpid();
    l->info.run = run;
    l->info.start = l->info.heartbeat = wg_lock_clock();
    snprintf(l->info.state, sizeof l->info.state, "running");
    write_info(l->fd, &l->info);
    return 0;
}

int wg_lock_share(wg_lock *l, const char *out)
{
    if (l->fd < 0 || l->path[0] == '\0') {
        memset(l, 0, sizeof *l);
        wg_lock_path(out, l->path, sizeof l->path);
        l->fd = open(l->path, O_RDWR);
        if (l->fd < 0)
            return WG_FAIL(WG_EIO, "%s: cannot open the lock file: %s", l->path, strerror(errno));
    }
    if (lock_byte(l->fd, F_RDLCK, 1) != 0)
        return WG_FAIL(WG_EIO, "%s: cannot take the shared lock: %s", l->path, strerror(errno));
    return 0;
}

void wg_lock_beat(wg_lock *l, const char *state)
{
    if (!l || l->fd < 0 || l->info.pid == 0)
        return;
    l->info.heartbeat = wg_lock_clock();
    if (state)
        snprintf(l->info.state, sizeof l->info.state, "%s", state);
    write_info(l->fd, &l->info);
}

void wg_lock_release(wg_lock *l, const char *state)
{
    if (!l || l->fd < 0)
        return;
    if (state)
        wg_lock_beat(l, state);
    close(l->fd); /* drops every lock of this open file */
    l->fd = -1;
}

int wg_lock_query(const char *out, wg_lock_info *info, int *held)
{
    char path[1100];
    wg_lock_path(out, path, sizeof path);
    memset(info, 0, sizeof *info);
    *held = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return WG_FAIL(WG_EIO, "%s: %s", path, strerror(errno));
    read_info(fd, info);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (fcntl(fd, GETLK, &fl) == 0)
        *held = fl.l_type != F_UNLCK;
    close(fd);
    return 0;
}
