/* reuse.c: task identities and the copy of finished rows of earlier outputs into a
 * new run (reuse.h).  The identity is built as text ("key=value" lines in a fixed
 * order, numbers to 17 digits so that equal text means equal values) and hashed; a
 * task's line list ends with its dependencies' identities, so identities are
 * computed in dependency order (memoised: a task's dependencies may come after it
 * in the plan). */
#include "wedge/reuse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/buf.h"
#include "wedge/error.h"
#include "wedge/kind.h"
#include "wedge/setting.h"

/* One number as text: 17 digits, NaN as "nan" whatever its sign or payload. */
static void put_num(wg_buf *t, const char *name, int i, double v)
{
    if (isnan(v))
        wg_buf_printf(t, "%s[%d]=nan\n", name, i);
    else
        wg_buf_printf(t, "%s[%d]=%.17g\n", name, i, v);
}

/* The identity text of task id, whose dependencies' identities are known. */
static void identity_text(const wg_plan *p, size_t id, char (*ids)[65], wg_buf *t)
{
    const wg_task *k = &p->tasks[id];
    const wg_kind *kd = wg_kind_get(k->kind);
    t->len = 0;
    wg_buf_printf(t, "kind=%s\nmaster=%llu\ntrain.seed=%llu\n", kd->name,
                  (unsigned long long)p->seed, (unsigned long long)k->set.train.seed);
    for (int j = 0; j < WG_NKEYS; j++) {
        const wg_key *key = &wg_keys[j];
        if (key->type == WG_KEY_INTLIST) {
            for (int i = 0; i < k->set.nsnapshots; i++)
                put_num(t, key->name, i, k->set.snapshots[i]);
        } else if (key->type == WG_KEY_TEXT || key->type == WG_KEY_NAME) {
            const char *s = wg_key_text(&k->set, key);
            wg_buf_printf(t, "%s=%s\n", key->name, s ? s : "");
        } else {
            put_num(t, key->name, 0, wg_key_value(&k->set, key));
        }
    }
    for (int o = 0; wg_plan_opts(p, k->kind) && o < kd->noptions; o++) {
        if (kd->options[o].plan_only) /* which tasks exist, not what one computes */
            continue;
        for (int i = 0;; i++) {
            double v = wg_plan_option(p, k->kind, kd->options[o].key, i);
            if (isnan(v) && i > 0)
                break;
            put_num(t, kd->options[o].key, i, v);
            if (isnan(v))
                break;
        }
    }
    for (int a = 0; a < WG_TASK_ARGS; a++)
        if (!(kd->label_args >> a & 1u))
            wg_buf_printf(t, "arg[%d]=%d\n", a, (int)k->arg[a]);
    wg_buf_printf(t, "probe_epoch=%d\nprobe_final=%d\n", k->probe_epoch, k->probe_final);
    for (size_t d = 0; d < k->ndeps; d++)
        wg_buf_printf(t, "dep=%s\n", ids[k->deps[d]]);
}

/* The plan's tasks in dependency order (a task after the tasks it reads; the plan is
 * acyclic) into order[plan->ntasks].  0 or WG_ENOMEM. */
static int dependency_order(const wg_plan *plan, size_t *order)
{
    const size_t N = plan->ntasks;
    size_t *stack = wg_alloc(N ? N : 1, sizeof *stack, "task order");
    uint8_t *state = calloc(N ? N : 1, 1); /* 0 new, 1 on the stack, 2 placed */
    if (!stack || !state) {
        free(stack), free(state);
        return WG_FAIL(WG_ENOMEM, "out of memory for the order of %zu tasks", N);
    }
    size_t n = 0;
    for (size_t r = 0; r < N; r++) {
        size_t top = 0;
        if (state[r])
            continue;
        stack[top++] = r;
        state[r] = 1;
        while (top) {
            const wg_task *t = &plan->tasks[stack[top - 1]];
            size_t d = 0;
            while (d < t->ndeps && state[t->deps[d]])
                d++;
            if (d < t->ndeps) { /* a dependency not yet placed: it goes first */
                stack[top++] = t->deps[d];
                state[t->deps[d]] = 1;
                continue;
            }
            state[t->id] = 2;
            order[n++] = t->id;
            top--;
        }
    }
    free(stack), free(state);
    return 0;
}

/* Every task's identity into id[], the tasks taken in dependency order.  0 or
 * WG_ENOMEM. */
static int identities(const wg_plan *plan, const size_t *order, char (*id)[65])
{
    wg_buf t = {0};
    for (size_t i = 0; i < plan->ntasks && !t.oom; i++) {
        identity_text(plan, order[i], id, &t);
        if (!t.oom)
            wg_sha256_hex(t.data, t.len, id[order[i]]);
    }
    int oom = t.oom;
    wg_buf_free(&t);
    return oom ? WG_FAIL(WG_ENOMEM, "out of memory for task identities") : 0;
}

int wg_task_identities(const wg_plan *plan, char (*id)[65])
{
    const size_t N = plan->ntasks;
    size_t *order = wg_alloc(N ? N : 1, sizeof *order, "task identities");
    int rc = order ? dependency_order(plan, order) : WG_ENOMEM;
    if (rc == 0)
        rc = identities(plan, order, id);
    free(order);
    return rc;
}

int wg_reuse_target_init(wg_reuse_target *tg, const wg_plan *plan)
{
    const size_t N = plan->ntasks ? plan->ntasks : 1;
    *tg = (wg_reuse_target){.plan = plan};
    tg->id = wg_alloc(N, sizeof *tg->id, "task identities");
    tg->order = wg_alloc(N, sizeof *tg->order, "task order");
    tg->digest = calloc(N, sizeof *tg->digest);
    int rc = 0;
    if (!tg->id || !tg->order || !tg->digest)
        rc = WG_FAIL(WG_ENOMEM, "out of memory for %zu task identities", N);
    if (rc == 0)
        rc = dependency_order(plan, tg->order);
    if (rc == 0)
        rc = identities(plan, tg->order, tg->id);
    if (rc)
        wg_reuse_target_free(tg);
    return rc;
}

void wg_reuse_target_free(wg_reuse_target *tg)
{
    free(tg->id), free(tg->order), free(tg->digest);
    tg->id = NULL, tg->order = NULL, tg->digest = NULL;
}

/* The digest of what a row computed: its status and every slot it set, bytes and
 * all (not its wall time, rank or message, which differ between equal computations).
 * 0 or WG_ENOMEM. */
static int result_digest(const wg_result *r, char out[65])
{
    wg_buf b = {0};
    wg_buf_printf(&b, "status=%d\nslots=%d\n", r->status, r->nslots);
    for (int i = 0; i < r->nslots; i++) {
        const wg_slot *sl = &r->slots[i];
        wg_buf_printf(&b, "slot %d set=%d\n", i, sl->set);
        if (!sl->set)
            continue;
        wg_buf_printf(&b, "type=%d ndims=%d n=%zu\n", (int)sl->type, sl->ndims, sl->n);
        for (int d = 0; d < sl->ndims; d++)
            wg_buf_printf(&b, "start=%zu count=%zu\n", sl->start[d], sl->count[d]);
        wg_buf_put(&b, sl->data, sl->n * wg_type_size(sl->type));
    }
    int oom = b.oom;
    if (!oom)
        wg_sha256_hex(b.data, b.len, out);
    wg_buf_free(&b);
    return oom ? WG_FAIL(WG_ENOMEM, "out of memory for a row's digest") : 0;
}

/* The digest of row `task` (of kind) of store s into out.  0 or an error. */
static int row_digest(wg_store *s, size_t task, int kind, char out[65])
{
    wg_result r;
    memset(&r, 0, sizeof r);
    int rc = wg_store_read_result(s, task, kind, &r);
    if (rc == 0)
        rc = result_digest(&r, out);
    wg_result_free(&r);
    return rc;
}

/* Index of a sorted identity table entry equal to key, or -1. */
typedef struct idx {
    const char *id;
    size_t task;
} idx;

static int by_id(const void *a, const void *b)
{
    return strcmp(((const idx *)a)->id, ((const idx *)b)->id);
}

static int is_final(int s)
{
    return s == WG_STATUS_DONE || s == WG_STATUS_DIVERGED || s == WG_STATUS_SKIPPED;
}

/* Whether task t's old row (in old, whose tasks are tab[0..nt) by identity) was
 * computed from the rows the new output holds for t's dependencies: each of them
 * final there, and its row in old equal (result_digest) to the one taken,
 * tg->digest[d].
 * odig[] memoises the old rows' digests ("" not yet).  *dep: the first dependency
 * that differs.  1 yes, 0 no, or an error (< 0). */
static int same_inputs(const wg_reuse_target *tg, size_t t, const uint8_t *status,
                       wg_store *old, const idx *tab, size_t nt, char (*odig)[65], size_t *dep)
{
    const wg_plan *plan = tg->plan;
    const wg_task *k = &plan->tasks[t];
    for (size_t i = 0; i < k->ndeps; i++) {
        size_t d = k->deps[i];
        *dep = d;
        if (!is_final(status[d]) || !tg->digest[d][0])
            return 0; /* it runs again: t's old row was computed from another one */
        idx key = {tg->id[d], 0};
        const idx *hit = bsearch(&key, tab, nt, sizeof *tab, by_id);
        if (!hit)
            return 0;
        if (!odig[hit->task][0]) {
            int rc = row_digest(old, hit->task, plan->tasks[d].kind, odig[hit->task]);
            if (rc)
                return rc;
        }
        if (strcmp(odig[hit->task], tg->digest[d]) != 0)
            return 0;
    }
    return 1;
}

int wg_reuse_rows(const wg_reuse_target *tg, const char *old_path, wg_store *dst,
                  const char *journal, wg_segment *seg, const char *segname, uint8_t *status,
                  wg_jloc *loc, wg_reuse_stats *st)
{
    const wg_plan *plan = tg->plan;
    memset(st, 0, sizeof *st);
    wg_store old;
    int rc = wg_store_attach(&old, old_path, 0, MPI_COMM_SELF);
    if (rc)
        return rc;
    char *otext = wg_store_sweep_text(&old);
    wg_plan op;
    memset(&op, 0, sizeof op);
    if (!otext)
        rc = WG_FAIL(WG_EFORMAT, "--reuse %s: the output has no sweep_text", old_path);
    else if ((rc = wg_sweep_parse(&op, otext, strlen(otext), old_path)) != 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", wg_err_msg());
        wg_err_clear();
        rc = WG_FAIL(WG_EFORMAT, "--reuse %s: its sweep no longer plans with this wedge: %s",
                     old_path, why);
    }
    else if (op.ntasks != old.ntasks)
        rc = WG_FAIL(WG_EFORMAT, "--reuse %s: it has %zu tasks, its sweep plans %zu here "
                     "(another wedge version?)", old_path, old.ntasks, op.ntasks);
    free(otext);
    const size_t N = plan->ntasks, M = op.ntasks;
    char(*oid)[65] = NULL, (*odig)[65] = NULL;
    uint8_t *ost = NULL;
    idx *tab = NULL;
    if (rc == 0) {
        oid = wg_alloc(M ? M : 1, sizeof *oid, "task identities");
        odig = calloc(M ? M : 1, sizeof *odig);
        ost = wg_alloc(M ? M : 1, 1, "old statuses");
        tab = wg_alloc(M ? M : 1, sizeof *tab, "task identities");
        rc = oid && odig && ost && tab ? 0 : WG_ENOMEM;
    }
    if (rc == 0)
        rc = wg_task_identities(&op, oid);
    if (rc == 0)
        rc = wg_store_read_status(&old, ost);
    size_t nt = 0;
    for (size_t i = 0; rc == 0 && i < M; i++)
        if (is_final(ost[i]))
            tab[nt++] = (idx){oid[i], i};
    st->old_tasks = M;
    st->finished = nt;
    if (rc == 0)
        qsort(tab, nt, sizeof *tab, by_id);
    /* in dependency order, so that a task's inputs are decided before it is */
    for (size_t o = 0; rc == 0 && o < N; o++) {
        size_t t = tg->order[o], dep = 0;
        if (is_final(status[t]))
            continue;
        idx key = {tg->id[t], 0};
        const idx *hit = nt ? bsearch(&key, tab, nt, sizeof *tab, by_id) : NULL;
        if (!hit)
            continue;
        int same = same_inputs(tg, t, status, &old, tab, nt, odig, &dep);
        if (same < 0) {
            rc = same;
            break;
        }
        if (!same) {
            if (st->other_inputs++ == 0)
                st->first_task = t, st->first_dep = dep;
            continue;
        }
        wg_result r;
        rc = wg_store_read_result(&old, hit->task, plan->tasks[t].kind, &r);
        if (rc) {
            char why[512];
            snprintf(why, sizeof why, "%s", wg_err_msg());
            wg_err_clear();
            rc = WG_FAIL(rc, "--reuse %s: task %zu: %s", old_path, hit->task, why);
            break;
        }
        rc = result_digest(&r, tg->digest[t]);
        memcpy(odig[hit->task], tg->digest[t], sizeof *odig); /* its dependents compare it */
        r.task = t;
        if (rc == 0 && dst) { /* else only deciding */
            if (seg->fd < 0)
                rc = wg_segment_open(seg, journal, segname);
            if (rc == 0)
                rc = wg_segment_append(seg, &r, &loc[t]);
            if (rc == 0)
                rc = wg_store_write(dst, &r);
        }
        if (rc == 0) {
            status[t] = (uint8_t)r.status;
            st->reused++;
        }
        wg_result_free(&r);
    }
    free(oid), free(odig), free(ost), free(tab);
    wg_plan_free(&op);
    wg_store_close(&old);
    return rc;
}

void wg_reuse_report(FILE *f, const wg_plan *plan, const char *old_path,
                     const wg_reuse_stats *st, const uint8_t *status, int quiet)
{
    if (!quiet)
        fprintf(f, "[wedge] reuse: %zu of this sweep's %zu tasks taken from %s (%zu of its %zu "
                   "tasks finished)\n", st->reused, plan->ntasks, old_path, st->finished,
                st->old_tasks);
    if (st->other_inputs)
        fprintf(f, "[wedge] reuse: %zu finished task%s of %s not taken (task %zu first): "
                   "computed there from a row that differs from the one this output holds "
                   "(task %zu%s); %s again\n", st->other_inputs,
                st->other_inputs == 1 ? "" : "s", old_path, st->first_task, st->first_dep,
                status[st->first_dep] == WG_STATUS_PENDING ? ", to be run" : "",
                st->other_inputs == 1 ? "it runs" : "they run");
}
