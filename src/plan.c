/* plan.c: a parsed sweep -> the plan's tasks.  The training tasks are the product of
 * the sweep's axes, each checked as a whole (setting.c) with the blame put on the
 * value a user should change; then every enabled kind plans its tasks through the
 * small wg_planner_* API of kind.h.  Nothing here reads YAML (src/sweep.c does) or
 * knows a kind's options. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "wedge/error.h"

int wg_planner_fail_at(const wg_planner *pl, wg_mark m, int code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m.line < 1)
        m = (wg_mark){1, 1};
    if (pl->override_line > 0 && m.line > pl->override_line && pl->text) {
        /* a value from the command line: quote the override, not a line of the file */
        const char *s = pl->text;
        for (int l = 1; l < m.line && s; l++)
            s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL;
        if (s && strncmp(s, "#   ", 4) == 0) {
            s += 4;
            int n = (int)(strchr(s, '\n') ? strchr(s, '\n') - s : (long)strlen(s));
            return WG_FAIL(code, "%s: override '%.*s': %s", pl->file, n, s, msg);
        }
    }
    return WG_FAIL(code, "%s:%d:%d: %s", pl->file, m.line, m.col, msg);
}

wg_plan *wg_planner_plan(wg_planner *pl) { return pl->p; }

static int option_index(int kind, const char *key)
{
    const wg_kind *k = wg_kind_get(kind);
    for (int i = 0; key && k && i < k->noptions; i++)
        if (strcmp(k->options[i].key, key) == 0)
            return i;
    return -1;
}

int wg_planner_fail(wg_planner *pl, int kind, const char *key, int code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int i = option_index(kind, key);
    wg_mark m = i >= 0 && pl->opt_at[kind][i].line > 0 ? pl->opt_at[kind][i] : pl->kind_at[kind];
    return wg_planner_fail_at(pl, m, code, "%s", msg);
}

int wg_planner_given(const wg_planner *pl, int kind, const char *key)
{
    int i = option_index(kind, key);
    return i >= 0 && pl->opt_at[kind][i].line > 0;
}

const char *wg_planner_given_scope(const wg_planner *pl, int kind, int scope)
{
    const wg_kind *k = wg_kind_get(kind);
    int best = -1;
    for (int i = 0; i < k->noptions; i++)
        if (k->options[i].scope == scope && pl->opt_at[kind][i].line > 0 &&
            (best < 0 || pl->opt_seq[kind][i] > pl->opt_seq[kind][best]))
            best = i;
    return best >= 0 ? k->options[best].key : NULL;
}

/* ---- options ------------------------------------------------------------------------------ */

void wg_option_store(const wg_option *o, void *opts, int i, double x)
{
    char *p = (char *)opts + o->off;
    switch (o->type) {
    case WG_OPT_INT:
    case WG_OPT_BOOL:
    case WG_OPT_ENUM:
    case WG_OPT_SET: { int v = (int)x; memcpy(p, &v, sizeof v); break; }
    case WG_OPT_SIZE: { size_t v = (size_t)x; memcpy(p, &v, sizeof v); break; }
    case WG_OPT_DOUBLE: memcpy(p, &x, sizeof x); break;
    case WG_OPT_INTS: { int v = (int)x; memcpy(p + (size_t)i * sizeof v, &v, sizeof v); break; }
    case WG_OPT_DOUBLES: memcpy(p + (size_t)i * sizeof x, &x, sizeof x); break;
    }
}

static int choice_of(const wg_option *o, const char *s)
{
    for (int i = 0; i < o->nchoices; i++)
        if (strcmp(o->choices[i], s) == 0)
            return i;
    return -1;
}

/* Parse a default ("32", "1.0, 0.5", "yes", "optima") into opts; -1 if it is not
 * a value of the option (a bug in the table). */
static int option_default(const wg_option *o, void *opts)
{
    if (!o->deflt) {
        if (o->type == WG_OPT_ENUM) /* an enum without a default: -1, "not given" */
            wg_option_store(o, opts, 0, -1);
        return 0;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", o->deflt);
    int n = 0, bits = 0;
    for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", "), n++) {
        double x;
        if (o->type == WG_OPT_ENUM || o->type == WG_OPT_SET) {
            int c = choice_of(o, tok);
            if (c < 0)
                return -1;
            bits |= 1 << c;
            x = c;
        } else if (o->type == WG_OPT_BOOL) {
            x = strcmp(tok, "yes") == 0 || strcmp(tok, "true") == 0;
        } else {
            char *end;
            x = strtod(tok, &end);
            if (*end)
                return -1;
        }
        if ((o->type == WG_OPT_INTS || o->type == WG_OPT_DOUBLES) && n >= o->max)
            return -1;
        wg_option_store(o, opts, n, o->type == WG_OPT_SET ? bits : x);
    }
    if (o->type == WG_OPT_INTS || o->type == WG_OPT_DOUBLES)
        memcpy((char *)opts + o->count_off, &n, sizeof n);
    return 0;
}

int wg_planner_kind_defaults(wg_planner *pl, int kind)
{
    const wg_kind *k = wg_kind_get(kind);
    wg_plan *p = pl->p;
    if (!p->opts[kind] && !(p->opts[kind] = wg_calloc(1, k->opts_size ? k->opts_size : 1,
                                                       "sweep options")))
        return WG_ENOMEM;
    for (int i = 0; i < k->noptions; i++)
        if (option_default(&k->options[i], p->opts[kind]))
            return WG_FAIL(WG_EARG, "internal: bad default '%s' of %s.%s", k->options[i].deflt,
                           k->section, k->options[i].key);
    p->enabled[kind] = 1;
    return 0;
}

const void *wg_plan_opts(const wg_plan *plan, int kind)
{
    return kind > 0 && kind < WG_TASK_KINDS && plan->enabled[kind] ? plan->opts[kind] : NULL;
}

double wg_plan_option(const wg_plan *plan, int kind, const char *key, int i)
{
    const void *opts = wg_plan_opts(plan, kind);
    int j = option_index(kind, key);
    if (!opts || j < 0)
        return NAN;
    const wg_option *o = &wg_kind_get(kind)->options[j];
    const char *p = (const char *)opts + o->off;
    int n = 1, v;
    if (o->type == WG_OPT_INTS || o->type == WG_OPT_DOUBLES)
        memcpy(&n, (const char *)opts + o->count_off, sizeof n);
    if (i < 0 || i >= n)
        return NAN;
    switch (o->type) {
    case WG_OPT_SIZE: { size_t z; memcpy(&z, p, sizeof z); return (double)z; }
    case WG_OPT_DOUBLE: { double d; memcpy(&d, p, sizeof d); return d; }
    case WG_OPT_DOUBLES: { double d; memcpy(&d, p + (size_t)i * sizeof d, sizeof d); return d; }
    case WG_OPT_INTS: memcpy(&v, p + (size_t)i * sizeof v, sizeof v); return v;
    default: memcpy(&v, p, sizeof v); return v;
    }
}

/* ---- tasks ------------------------------------------------------------------------------ */

static int reserve(wg_planner *pl, size_t n)
{
    wg_plan *p = pl->p;
    if (n <= pl->cap)
        return 0;
    size_t cap = pl->cap ? pl->cap : 64;
    while (cap < n)
        cap *= 2;
    wg_task *grown = realloc(p->tasks, cap * sizeof *grown);
    if (!grown)
        return WG_FAIL(WG_ENOMEM, "out of memory expanding the plan (%zu tasks)", n);
    p->tasks = grown;
    pl->cap = cap;
    return 0;
}

wg_task *wg_planner_add(wg_planner *pl, int kind, size_t first_dep)
{
    wg_plan *p = pl->p;
    if (p->ntasks >= WG_MAX_TASKS) {
        wg_planner_fail(pl, kind, NULL, WG_EARG, "%s: more than 10^6 tasks in all",
                        wg_kind_get(kind)->section);
        return NULL;
    }
    if (reserve(pl, p->ntasks + 1))
        return NULL;
    wg_task *t = &p->tasks[p->ntasks];
    const wg_task *s = &p->tasks[first_dep];
    memset(t, 0, sizeof *t);
    t->id = p->ntasks++;
    t->kind = (wg_task_kind)kind;
    t->set = s->set;
    memcpy(t->axis_index, s->axis_index, sizeof t->axis_index);
    return t;
}

int wg_planner_added(wg_planner *pl, size_t id)
{
    wg_task t = pl->p->tasks[id]; /* a copy: attaching grows (moves) the task array */
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        const wg_kind *kd = wg_kind_get(k);
        if (kd->attach && pl->p->enabled[k]) {
            int rc = kd->attach(pl, pl->p->opts[k], &t);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Whether training tasks a and b differ only in their replicate. */
static int same_but_seed(const wg_planner *pl, const wg_task *a, const wg_task *b)
{
    for (size_t x = 0; x < pl->p->naxes; x++)
        if (pl->axis_key[x] != WG_K_REPLICATE && a->axis_index[x] != b->axis_index[x])
            return 0;
    return 1;
}

int wg_planner_groups(wg_planner *pl, size_t **ids, size_t **count, size_t *ngroups,
                      size_t *stride)
{
    const wg_plan *p = pl->p;
    size_t n = p->ntrain ? p->ntrain : 1;
    *ids = wg_alloc(n, n * sizeof **ids, "seed groups");
    *count = wg_calloc(n, sizeof **count, "seed groups");
    *ngroups = 0;
    *stride = n;
    if (!*ids || !*count) {
        free(*ids);
        free(*count);
        return WG_ENOMEM;
    }
    for (size_t i = 0; i < p->ntrain; i++) {
        size_t g = 0;
        while (g < *ngroups && !same_but_seed(pl, &p->tasks[(*ids)[g * n]], &p->tasks[i]))
            g++;
        if (g == *ngroups)
            (*ngroups)++;
        (*ids)[g * n + (*count)[g]++] = i;
    }
    return 0;
}

/* ---- training tasks ------------------------------------------------------------------------ */

/* Where the value of key k for task t was written (line 0: nowhere). */
static wg_mark value_mark(const wg_planner *pl, const wg_task *t, int k)
{
    int a = pl->key_axis[k];
    if (a >= 0)
        return pl->vat[a][t->axis_index[a]];
    return pl->given[k];
}

static wg_mark section_mark(const wg_planner *pl, const char *name)
{
    wg_mark m = {0, 0};
    if (!name)
        return m;
    m = !strcmp(name, "data") ? pl->data_at : !strcmp(name, "model") ? pl->model_at
                                                                      : pl->train_at;
    return m.line > 0 ? m : pl->root;
}

/* The value a user should change: the first blamed key the sweep varies, else the
 * first the file sets, else the section. */
static wg_mark culprit(const wg_planner *pl, const wg_task *t, const wg_setting_fault *f)
{
    for (int i = 0; i < f->nswept; i++)
        if (pl->key_axis[f->swept[i]] >= 0)
            return value_mark(pl, t, f->swept[i]);
    for (int i = 0; i < f->ngiven; i++)
        if (pl->given[f->given[i]].line > 0)
            return pl->given[f->given[i]];
    return section_mark(pl, f->section);
}

/* Add the epochs kinds probe to a setting's snapshots (probes read stored parameters). */
static int keep_epochs(wg_planner *pl, wg_setting *s, const char *task)
{
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        const wg_kind *kd = wg_kind_get(k);
        if (!kd->snapshot_epochs || !pl->p->enabled[k])
            continue;
        int ep[WG_MAX_SNAPSHOTS * 4];
        int n = kd->snapshot_epochs(pl->p->opts[k], ep);
        for (int i = 0; i < n; i++) {
            if (ep[i] > s->train.epochs)
                return wg_planner_fail(pl, k, "epochs", WG_EARG,
                                       "%s.epochs: epoch %d is beyond train.epochs = %d%s",
                                       kd->section, ep[i], s->train.epochs, task);
            int have = 0;
            for (int j = 0; j < s->nsnapshots; j++)
                have |= s->snapshots[j] == ep[i];
            if (!have && s->nsnapshots < WG_MAX_SNAPSHOTS)
                s->snapshots[s->nsnapshots++] = ep[i];
        }
    }
    return 0;
}

/* Fill the derived fields of training task t and check its setting as a whole. */
static int finish_task(wg_planner *pl, wg_task *t)
{
    wg_setting *s = &t->set;
    char task[48] = "";
    if (pl->p->naxes > 0)
        snprintf(task, sizeof task, " (task %zu)", t->id);
    size_t ntrain, ntest;
    wg_setting_derive(s, pl->p->seed, &ntrain, &ntest);
    wg_setting_fault f;
    if (wg_setting_check(s, &f))
        return wg_planner_fail_at(pl, culprit(pl, t, &f), WG_EARG, "%s%s", f.msg, task);
    int rc = keep_epochs(pl, s, task);
    if (rc)
        return rc;
    if (wg_setting_resolve_snapshots(s))
        return wg_planner_fail_at(pl, pl->given[WG_K_SNAPSHOTS], WG_EARG,
                                  "train.snapshots: more than %d epochs with the final one%s",
                                  WG_MAX_SNAPSHOTS, task);
    size_t eff = s->train_size ? s->train_size : ntrain;
    /* a training step costs ~3 forward passes */
    t->cost = 3.0 * s->train.epochs * (double)eff * wg_setting_flops(s);
    return 0;
}

int wg_planner_expand(wg_planner *pl)
{
    wg_plan *p = pl->p;
    size_t n = pl->product;
    int rc = reserve(pl, n);
    if (rc)
        return rc;
    memset(p->tasks, 0, n * sizeof *p->tasks);
    for (size_t id = 0; id < n; id++) {
        wg_task *t = &p->tasks[id];
        t->id = id;
        t->kind = WG_TASK_TRAIN;
        t->set = p->base;
        size_t r = id;
        for (size_t d = pl->nfactors; d-- > 0;) {
            const wg_factor *fa = &pl->factors[d];
            size_t i = r % fa->n;
            r /= fa->n;
            for (size_t a = fa->first; a < fa->first + fa->count; a++)
                t->axis_index[a] = (uint32_t)i;
        }
        for (size_t a = 0; a < p->naxes; a++) {
            const wg_key *k = &wg_keys[pl->axis_key[a]];
            const wg_axis *ax = &p->axes[a];
            size_t i = t->axis_index[a];
            if (ax->is_text)
                wg_key_apply(&t->set, k, k->type == WG_KEY_NAME ? wg_key_choice(k, ax->text[i]) : 0,
                             ax->text[i]);
            else
                wg_key_apply(&t->set, k, ax->num[i], "");
        }
        p->ntasks = id + 1;
        rc = finish_task(pl, t);
        if (rc)
            return rc;
        if (t->set.train.epochs > p->max_epochs)
            p->max_epochs = t->set.train.epochs;
        if (t->set.nsnapshots > p->max_snapshots)
            p->max_snapshots = t->set.nsnapshots;
    }
    p->ntrain = n;
    /* the kinds, in plan order */
    int done[WG_TASK_KINDS] = {0};
    for (;;) {
        int next = -1;
        for (int k = 0; k < WG_TASK_KINDS; k++) {
            const wg_kind *kd = wg_kind_get(k);
            if (!done[k] && kd->plan && p->enabled[k] &&
                (next < 0 || kd->plan_order < wg_kind_get(next)->plan_order))
                next = k;
        }
        if (next < 0)
            break;
        done[next] = 1;
        rc = wg_kind_get(next)->plan(pl, p->opts[next]);
        if (rc)
            return rc;
    }
    return 0;
}

void wg_plan_free(wg_plan *plan)
{
    if (!plan)
        return;
    free(plan->text);
    free(plan->tasks);
    for (size_t a = 0; a < WG_MAX_AXES; a++) {
        free(plan->axes[a].num);
        free(plan->axes[a].text);
    }
    for (int k = 0; k < WG_TASK_KINDS; k++)
        free(plan->opts[k]);
    memset(plan, 0, sizeof *plan);
}

double wg_task_axis_value(const wg_plan *plan, const wg_task *t, size_t a)
{
    if (a >= plan->naxes)
        return NAN;
    const wg_axis *ax = &plan->axes[a];
    uint32_t i = t->axis_index[a];
    return ax->is_text || !ax->num ? (double)i : ax->num[i];
}

/* First line where two texts differ, for a useful refusal message. */
void wg_text_first_change(const char *a, const char *b, char *out, size_t size)
{
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++, b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    snprintf(out, size, "line %d was \"%.*s\", now \"%.*s\"", line, na > 80 ? 80 : na, la,
             nb > 80 ? 80 : nb, lb);
}
