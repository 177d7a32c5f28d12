/* lock.h: one run at a time per output (OUT.nc.lock).
 *
 * Rank 0 of a run holds an exclusive lock on byte 0 of the lock file for the whole
 * run and keeps a line in it: host, pid, run number, start time, a heartbeat (updated
 * every few seconds) and the state (running, finished, interrupted).  Every rank of
 * the run holds a shared lock on byte 1, so a new run, once it has byte 0, also waits
 * for processes of an earlier run that are still finishing a write (after mpirun was
 * killed, its ranks may outlive it by seconds) before touching the output.  The locks
 * are open-file-description locks (fcntl), which the kernel releases when a process
 * dies, so a killed run's lock is taken over at once; where a file system does not
 * enforce them across hosts, the heartbeat decides: a line written by another host
 * that beat less than `stale` seconds ago is waited for, then taken over. */
#ifndef WEDGE_LOCK_H
#define WEDGE_LOCK_H

#include <stddef.h>

typedef struct wg_lock_info {
    char host[128];
    long pid;
    long run;
    double start, heartbeat;    /* seconds since the epoch */
    char state[16];             /* "running", "finished", "interrupted" */
} wg_lock_info;

typedef struct wg_lock {
    int fd;
    char path[1100];
    wg_lock_info info;          /* ours */
} wg_lock;

/* Path of the lock file of an output: "<out>.lock". */
void wg_lock_path(const char *out, char *path, size_t size);

/* Rank 0: take the output for run number `run`.  Waits up to `linger` seconds for
 * processes of an earlier run that still hold byte 1, and up to `stale` seconds for
 * another host's fresh heartbeat.  0, or WG_EIO with a message naming the holder
 * ("... is being written by HOST (pid N) since T; last heartbeat Ts ago").
 * *prev receives the line an earlier run left (zeroed if none). */
int wg_lock_take(wg_lock *l, const char *out, long run, double linger, double stale,
                 wg_lock_info *prev);
/* Every rank: the shared lock on byte 1 (rank 0 after wg_lock_take).  0 or WG_EIO. */
int wg_lock_share(wg_lock *l, const char *out);
/* Rank 0: refresh the heartbeat (and set the state if not NULL). */
void wg_lock_beat(wg_lock *l, const char *state);
/* Release (rank 0 writes its final state first); safe on an unused lock. */
void wg_lock_release(wg_lock *l, const char *state);

/* For `wedge status`: the line in the lock file and whether a live process holds
 * byte 0.  0, or WG_EIO when there is no lock file. */
int wg_lock_query(const char *out, wg_lock_info *info, int *held);

/* Seconds since the epoch. */
double wg_lock_clock(void);

#endif
