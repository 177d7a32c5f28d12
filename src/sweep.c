/* sweep.c: YAML sweep files -> validated plans (sweep.h).
 *
 * The only file that touches libyaml.  It loads the whole file as one libyaml
 * document (node marks give every error its line:column), fills a base setting from
 * the key table (setting.h, which also holds every default), reads the sweep's axes
 * and each kind's section by its option table (kind.h), and hands the result to the
 * planner (src/plan.c), which expands the tasks and checks each setting as a whole,
 * so that a sweep that would fail in task 900 fails before task 0 runs.  It does
 * not load data, build networks or run anything; docs/sweep-format.md is the user's
 * description of the format this file implements. */
#include "wedge/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "planner.h"
#include "wedge/buf.h"
#include "wedge/error.h"

#define MAX_FILE_BYTES (64u << 20)
#define AXIS_TEXT ((int)sizeof(((wg_axis *)0)->text[0]))

/* Keys of the top level that are not settings (parsed with the same code). */
static const wg_key name_key = {.name = "name", .type = WG_KEY_TEXT, .cap = 128};
static const wg_key output_key = {.name = "output", .type = WG_KEY_TEXT, .cap = 512};
static const wg_key master_key = {.name = "seed", .type = WG_KEY_INT, .lo = 0, .hi = WG_INT_EXACT};

/* ---- parse state ------------------------------------------------------------ */

typedef wg_mark mark;

typedef struct ctx ctx;
typedef int (*section_fn)(ctx *c, const char *sec, const yaml_node_t *value);

/* The top level: one entry per key, so a new section is an entry and a handler;
 * the kinds' top-level sections (connectors) follow these. */
typedef struct section {
    const char *name;
    int required;
    section_fn fn;
} section;

static int top_name(ctx *c, const char *sec, const yaml_node_t *v);
static int top_output(ctx *c, const char *sec, const yaml_node_t *v);
static int top_seed(ctx *c, const char *sec, const yaml_node_t *v);
static int sec_keys(ctx *c, const char *sec, const yaml_node_t *v);
static int sec_sweep(ctx *c, const char *sec, const yaml_node_t *v);
static int sec_probes(ctx *c, const char *sec, const yaml_node_t *v);

static const section sections[] = {
    {"name", 1, top_name},  {"output", 0, top_output}, {"seed", 0, top_seed},
    {"data", 0, sec_keys},  {"model", 0, sec_keys},    {"train", 0, sec_keys},
    {"sweep", 0, sec_sweep}, {"probes", 0, sec_probes},
};
#define NSECTIONS (sizeof sections / sizeof sections[0])
#define MAX_TOP (NSECTIONS + WG_TASK_KINDS)

struct ctx {
    wg_planner pl;
    const char *file;
    const char *text;
    size_t len;
    yaml_document_t *doc;
    mark sec_at[MAX_TOP];           /* where each top-level key's value is */
};

/* Record "FILE:LINE:COLUMN: message" and return code. */
__attribute__((format(printf, 4, 5)))
static int fail(const ctx *c, mark m, int code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wg_planner_fail_at(&c->pl, m, code, "%s", msg);
}

static mark mark_of(const yaml_node_t *n)
{
    return (mark){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

static yaml_node_t *node(const ctx *c, int id) { return yaml_document_get_node(c->doc, id); }

static const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static const char *node_desc(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "a scalar";
    }
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}


static void join(char *buf, size_t cap, const char *const *items, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", items[i]);
    }
}

/* "unknown key 'lrr' in train (did you mean 'lr'?)", else the valid keys. */
static int unknown_key(const ctx *c, const yaml_node_t *kn, const char *where,
                       const char *const *cands, size_t n)
{
    const char *key = sval(kn);
    const char *s = wg_suggest(key, cands, n);
    if (s)
        return fail(c, mark_of(kn), WG_EARG, "unknown key '%s' %s (did you mean '%s'?)", key,
                    where, s);
    char list[512];
    join(list, sizeof list, cands, n);
    return fail(c, mark_of(kn), WG_EARG, "unknown key '%s' %s (valid keys: %s)", key, where,
                list);
}

/* Mapping keys must be scalars and distinct; *key is the key of pair i. */
static int pair_key(const ctx *c, const yaml_node_t *map, const yaml_node_pair_t *pr,
                    const char *where, const yaml_node_t **key)
{
    const yaml_node_t *kn = node(c, pr->key);
    if (kn->type != YAML_SCALAR_NODE)
        return fail(c, mark_of(kn), WG_EARG, "keys %s must be names, not %s", where,
                    node_desc(kn));
    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pr; q++) {
        const yaml_node_t *prev = node(c, q->key);
        if (prev->type == YAML_SCALAR_NODE && strcmp(sval(prev), sval(kn)) == 0) {
            mark m = mark_of(prev);
            return fail(c, mark_of(kn), WG_EARG, "duplicate key '%s' %s (first at %d:%d)",
                        sval(kn), where, m.line, m.col);
        }
    }
    *key = kn;
    return 0;
}

/* ---- scalar values ---------------------------------------------------------------- */

/* A scalar node as a value of key k (errors at the node). */
static int node_value(const ctx *c, const wg_key *k, const yaml_node_t *n, double *num)
{
    char err[512];
    if (n->type != YAML_SCALAR_NODE) {
        wg_key_type_desc(k, err, sizeof err);
        return fail(c, mark_of(n), WG_EARG, "%s: expected %s, got %s", k->name, err,
                    node_desc(n));
    }
    if (strlen(sval(n)) != n->data.scalar.length)
        return fail(c, mark_of(n), WG_EARG, "%s: value contains a NUL character", k->name);
    if (k->type == WG_KEY_TEXT && is_null(n))
        return fail(c, mark_of(n), WG_EARG, "%s: missing value (expected a string)", k->name);
    int quoted = n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (wg_key_convert(k, sval(n), quoted, num, err, sizeof err))
        return fail(c, mark_of(n), WG_EARG, "%s", err);
    return 0;
}

/* ---- the top level ------------------------------------------------------------------- */

static int top_name(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    double unused;
    int rc = node_value(c, &name_key, v, &unused);
    if (rc)
        return rc;
    const char *s = sval(v);
    if (!*s)
        return fail(c, mark_of(v), WG_EARG, "name: must not be empty");
    size_t bad = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    if (s[bad])
        return fail(c, mark_of(v), WG_EARG,
                    "name '%s' has the character '%c' (allowed: letters, digits, '_', '.', '-')",
                    s, s[bad]);
    snprintf(c->pl.p->name, sizeof c->pl.p->name, "%s", s);
    return 0;
}

static int top_output(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    double unused;
    int rc = node_value(c, &output_key, v, &unused);
    if (rc)
        return rc;
    if (!*sval(v))
        return fail(c, mark_of(v), WG_EARG, "output: must not be empty");
    snprintf(c->pl.p->output, sizeof c->pl.p->output, "%s", sval(v));
    return 0;
}

static int top_seed(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    double x;
    int rc = node_value(c, &master_key, v, &x);
    if (rc == 0)
        c->pl.p->seed = (uint64_t)x;
    return rc;
}

static int parse_snapshots(ctx *c, const wg_key *kd, const yaml_node_t *v)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a list of integers, got %s",
                    kd->name, node_desc(v));
    wg_setting *s = &c->pl.p->base;
    s->nsnapshots = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = node(c, *it);
        double x;
        int rc = node_value(c, kd, item, &x);
        if (rc)
            return rc;
        if (s->nsnapshots == WG_MAX_SNAPSHOTS)
            return fail(c, mark_of(item), WG_EARG, "%s: more than %d snapshot epochs", kd->name,
                        WG_MAX_SNAPSHOTS);
        s->snapshots[s->nsnapshots++] = (int)x;
    }
    return 0;
}

/* data, model, train: a mapping of keys of the table (null = all defaults). */
static int sec_keys(ctx *c, const char *sec, const yaml_node_t *v)
{
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a mapping of keys, got %s", sec,
                    node_desc(v));
    char where[64];
    snprintf(where, sizeof where, "in %s", sec);
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn;
        int rc = pair_key(c, v, pr, where, &kn);
        if (rc)
            return rc;
        int k = -1;
        for (int i = 0; i < WG_NKEYS && k < 0; i++)
            if (wg_key_in_section(&wg_keys[i], sec) &&
                strcmp(wg_key_short(&wg_keys[i]), sval(kn)) == 0)
                k = i;
        if (k < 0) {
            const char *cands[WG_NKEYS];
            size_t n = 0;
            for (int i = 0; i < WG_NKEYS; i++)
                if (wg_key_in_section(&wg_keys[i], sec))
                    cands[n++] = wg_key_short(&wg_keys[i]);
            return unknown_key(c, kn, where, cands, n);
        }
        const yaml_node_t *val = node(c, pr->value);
        if (wg_keys[k].type == WG_KEY_INTLIST) {
            rc = parse_snapshots(c, &wg_keys[k], val);
        } else {
            double x;
            rc = node_value(c, &wg_keys[k], val, &x);
            if (rc == 0)
                wg_key_apply(&c->pl.p->base, &wg_keys[k], x, sval(val));
        }
        if (rc)
            return rc;
        c->pl.given[k] = mark_of(val);
    }
    return 0;
}

/* A number of a probe option, with the same strict parsing as the setting keys. */
static int probe_number(ctx *c, const char *name, const yaml_node_t *v, int is_int, double lo,
                        int lo_open, double hi, double *out)
{
    wg_key kd = {.name = name, .type = is_int ? WG_KEY_INT : WG_KEY_FLOAT, .lo = lo,
                 .lo_open = lo_open, .hi = hi};
    return node_value(c, &kd, v, out);
}

static int probe_list(ctx *c, const char *name, const yaml_node_t *v, int is_int, double lo,
                      int lo_open, double hi, double *out, int max, int *n)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a list, got %s", name, node_desc(v));
    *n = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        if (*n == max)
            return fail(c, mark_of(node(c, *it)), WG_EARG, "%s: more than %d values", name, max);
        int rc = probe_number(c, name, node(c, *it), is_int, lo, lo_open, hi, &out[(*n)++]);
        if (rc)
            return rc;
    }
    if (*n == 0)
        return fail(c, mark_of(v), WG_EARG, "%s: empty list", name);
    return 0;
}



/* A kind's section: a mapping of its options (null: all defaults), each checked by
 * its table entry; then the kind's own cross-option checks. */
static int parse_opts(ctx *c, int kind, const yaml_node_t *v)
{
    const wg_kind *kd = wg_kind_get(kind);
    const char *where = kd->section;
    int rc = wg_planner_kind_defaults(&c->pl, kind);
    if (rc)
        return rc;
    c->pl.kind_at[kind] = mark_of(v);
    void *opts = c->pl.p->opts[kind];
    if (is_null(v))
        return kd->check ? kd->check(&c->pl, opts) : 0;
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a mapping, got %s", where,
                    node_desc(v));
    char in[80], full[96];
    snprintf(in, sizeof in, "in %s", where);
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn, *val = node(c, pr->value);
        rc = pair_key(c, v, pr, in, &kn);
        if (rc)
            return rc;
        int oi = -1;
        for (int i = 0; i < kd->noptions && oi < 0; i++)
            if (strcmp(kd->options[i].key, sval(kn)) == 0)
                oi = i;
        if (oi < 0) {
            const char *cands[WG_MAX_OPTIONS];
            int n = kd->noptions < WG_MAX_OPTIONS ? kd->noptions : WG_MAX_OPTIONS;
            for (int i = 0; i < n; i++)
                cands[i] = kd->options[i].key;
            return unknown_key(c, kn, in, cands, (size_t)n);
        }
        const wg_option *d = &kd->options[oi];
        snprintf(full, sizeof full, "%s.%s", where, d->key);
        c->pl.opt_at[kind][oi] = mark_of(val);
        c->pl.opt_seq[kind][oi] = ++c->pl.seq;
        double x;
        switch (d->type) {
        case WG_OPT_INT:
        case WG_OPT_SIZE:
        case WG_OPT_DOUBLE:
            rc = probe_number(c, full, val, d->type != WG_OPT_DOUBLE, d->lo, d->lo_open, d->hi,
                              &x);
            if (rc == 0)
                wg_option_store(d, opts, 0, x);
            break;
        case WG_OPT_BOOL:
        case WG_OPT_ENUM: {
            const char *t = val->type == YAML_SCALAR_NODE ? sval(val) : "";
            int k = -1;
            for (int i = 0; i < d->nchoices; i++)
                if (strcmp(t, d->choices[i]) == 0)
                    k = i;
            if (d->type == WG_OPT_BOOL) {
                if (strcmp(t, "true") == 0 || strcmp(t, "yes") == 0)
                    k = 1;
                else if (strcmp(t, "false") == 0 || strcmp(t, "no") == 0)
                    k = 0;
            }
            if (k < 0) {
                char list[160] = "true, false";
                if (d->type == WG_OPT_ENUM)
                    join(list, sizeof list, d->choices, (size_t)d->nchoices);
                rc = fail(c, mark_of(val), WG_EARG, "%s: '%s' is not one of %s", full, t, list);
            } else {
                wg_option_store(d, opts, 0, k);
            }
            break;
        }
        case WG_OPT_INTS:
        case WG_OPT_DOUBLES: {
            double list[WG_MAX_OPTIONS];
            int got = 0;
            rc = probe_list(c, full, val, d->type == WG_OPT_INTS, d->lo, d->lo_open, d->hi, list,
                            d->max < WG_MAX_OPTIONS ? d->max : WG_MAX_OPTIONS, &got);
            for (int i = 0; rc == 0 && i < got; i++)
                wg_option_store(d, opts, i, list[i]);
            if (rc == 0)
                memcpy((char *)opts + d->count_off, &got, sizeof got);
            break;
        }
        case WG_OPT_SET: {
            if (val->type != YAML_SEQUENCE_NODE)
                return fail(c, mark_of(val), WG_EARG, "%s: expected a list", full);
            int bits = 0;
            for (yaml_node_item_t *it = val->data.sequence.items.start;
                 rc == 0 && it < val->data.sequence.items.top; it++) {
                const yaml_node_t *item = node(c, *it);
                const char *t = item->type == YAML_SCALAR_NODE ? sval(item) : "";
                int k = -1;
                for (int i = 0; i < d->nchoices; i++)
                    if (strcmp(t, d->choices[i]) == 0)
                        k = i;
                if (k < 0) {
                    char list[160];
                    join(list, sizeof list, d->choices, (size_t)d->nchoices);
                    rc = fail(c, mark_of(item), WG_EARG, "%s: '%s' is not one of %s", full, t,
                              list);
                }
                bits |= k >= 0 ? 1 << k : 0;
            }
            if (rc == 0)
                wg_option_store(d, opts, 0, bits);
            break;
        }
        }
        if (rc)
            return rc;
    }
    return kd->check ? kd->check(&c->pl, opts) : 0;
}

/* The kind whose section is `name` ("probes.tunnel", "connectors"), or -1. */
static int kind_of_section(const char *name)
{
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        const char *s = wg_kind_get(k)->section;
        if (s && strcmp(s, name) == 0)
            return k;
    }
    return -1;
}

static int sec_probes(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(v), WG_EARG, "probes: expected a mapping of probes, got %s",
                    node_desc(v));
    const char *kinds[WG_TASK_KINDS];
    size_t nk = 0;
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        const char *s = wg_kind_get(k)->section;
        if (s && strncmp(s, "probes.", 7) == 0)
            kinds[nk++] = s + 7;
    }
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn;
        int rc = pair_key(c, v, pr, "in probes", &kn);
        if (rc)
            return rc;
        char full[64];
        snprintf(full, sizeof full, "probes.%s", sval(kn));
        int k = kind_of_section(full);
        rc = k >= 0 ? parse_opts(c, k, node(c, pr->value))
                    : unknown_key(c, kn, "in probes", kinds, nk);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the sweep ---------------------------------------------------------------------- */

/* The values of one axis while it is read. */
typedef struct vals {
    size_t n;
    double *num;
    char (*text)[AXIS_TEXT];
    mark *at;
} vals;

static int vals_alloc(vals *v, size_t n, int text)
{
    v->n = n;
    v->at = wg_calloc(n, sizeof *v->at, "sweep value marks");
    if (text)
        v->text = wg_calloc(n, sizeof *v->text, "sweep axis names");
    else
        v->num = wg_calloc(n, sizeof *v->num, "sweep axis values");
    return v->at && (v->text || v->num) ? 0 : WG_ENOMEM;
}

static void vals_free(vals *v)
{
    free(v->num);
    free(v->text);
    free(v->at);
    memset(v, 0, sizeof *v);
}

/* An explicit list: every item a scalar value of kd, validated at its own mark. */
static int list_values(ctx *c, const wg_key *kd, const yaml_node_t *list, vals *out)
{
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n == 0)
        return fail(c, mark_of(list), WG_EARG, "%s: empty list of values", kd->name);
    if (n > WG_MAX_VALUES)
        return fail(c, mark_of(list), WG_EARG, "%s: %zu values (at most %d per axis)",
                    kd->name, n, WG_MAX_VALUES);
    int text = kd->type == WG_KEY_NAME || kd->type == WG_KEY_TEXT;
    if (vals_alloc(out, n, text))
        return WG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = node(c, list->data.sequence.items.start[i]);
        double x;
        int rc = node_value(c, kd, item, &x);
        if (rc)
            return rc;
        out->at[i] = mark_of(item);
        if (!text) {
            out->num[i] = x;
        } else if (strlen(sval(item)) >= (size_t)AXIS_TEXT) {
            return fail(c, mark_of(item), WG_EARG,
                        "%s: swept values are names of at most %d characters, '%s' has %zu",
                        kd->name, AXIS_TEXT - 1, sval(item), strlen(sval(item)));
        } else {
            snprintf(out->text[i], sizeof out->text[i], "%s", sval(item));
        }
    }
    return 0;
}

/* The n items of a generator's list [a, b] or [a, b, c], parsed as numbers. */
static int gen_bounds(const ctx *c, const char *what, const yaml_node_t *v, size_t nmin,
                      size_t nmax, int ints, double *x, mark *at, size_t *n)
{
    const char *shape = nmax == 2 ? "[a, b]" : "[start, stop] or [start, stop, step]";
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a list %s, got %s", what, shape,
                    node_desc(v));
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (*n < nmin || *n > nmax)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a list %s, got %zu items", what,
                    shape, *n);
    for (size_t i = 0; i < *n; i++) {
        const yaml_node_t *it = node(c, v->data.sequence.items.start[i]);
        char err[512];
        at[i] = mark_of(it);
        if (it->type != YAML_SCALAR_NODE)
            return fail(c, at[i], WG_EARG, "%s: expected %s, got %s", what,
                        ints ? "an integer" : "a number", node_desc(it));
        int quoted = it->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        int rc = ints ? wg_parse_int(what, sval(it), quoted, &x[i], err, sizeof err)
                      : wg_parse_float(what, sval(it), quoted, &x[i], err, sizeof err);
        if (rc)
            return fail(c, at[i], WG_EARG, "%s", err);
        if (!isfinite(x[i]))
            return fail(c, at[i], WG_EARG, "%s: bounds must be finite, got %s", what, sval(it));
    }
    return 0;
}

/* {log: [a, b], num: n}, {linear: [a, b], num: n} or {range: [start, stop(, step)]}. */
static int gen_values(ctx *c, const wg_key *kd, const yaml_node_t *map, vals *out)
{
    static const char *const gkeys[] = {"log", "linear", "range", "num"};
    char where[96], what[96];
    snprintf(where, sizeof where, "in the generator of %s", kd->name);
    if (kd->type == WG_KEY_NAME || kd->type == WG_KEY_TEXT)
        return fail(c, mark_of(map), WG_EARG,
                    "%s takes names: list them (generators are for numbers)", kd->name);
    const yaml_node_t *gen = NULL, *genkey = NULL, *numv = NULL, *numkey = NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
         pr < map->data.mapping.pairs.top; pr++) {
        const yaml_node_t *kn;
        int rc = pair_key(c, map, pr, where, &kn);
        if (rc)
            return rc;
        const char *k = sval(kn);
        if (!strcmp(k, "num")) {
            numv = node(c, pr->value);
            numkey = kn;
        } else if (!strcmp(k, "log") || !strcmp(k, "linear") || !strcmp(k, "range")) {
            if (gen)
                return fail(c, mark_of(kn), WG_EARG,
                            "%s: a generator has one of log, linear or range, not both %s and %s",
                            kd->name, sval(genkey), k);
            gen = node(c, pr->value);
            genkey = kn;
        } else if (wg_suggest(k, gkeys, 4)) {
            return unknown_key(c, kn, where, gkeys, 4);
        } else {
            return fail(c, mark_of(kn), WG_EARG,
                        "%s: expected a list of values or a generator ({log: [a, b], num: n}, "
                        "{linear: [a, b], num: n}, {range: [start, stop, step]}), got a mapping "
                        "with key '%s'", kd->name, k);
        }
    }
    if (!gen)
        return fail(c, mark_of(map), WG_EARG,
                    "%s: a generator needs log, linear or range (or list the values)", kd->name);
    const char *g = sval(genkey);
    snprintf(what, sizeof what, "%s %s", kd->name, g);
    int is_range = !strcmp(g, "range");
    if (is_range && numv)
        return fail(c, mark_of(numkey), WG_EARG, "%s: num does not apply to range", kd->name);
    if (!is_range && !numv)
        return fail(c, mark_of(map), WG_EARG, "%s: %s needs num (the number of values)",
                    kd->name, g);

    double b[3];
    mark bat[3];
    size_t nb = 0, n;
    int rc = gen_bounds(c, what, gen, 2, is_range ? 3 : 2, is_range, b, bat, &nb);
    if (rc)
        return rc;
    if (is_range) {
        double step = nb == 3 ? b[2] : 1;
        if (step == 0)
            return fail(c, bat[2], WG_EARG, "%s: step must not be 0", what);
        double span = step > 0 ? b[1] - b[0] : b[0] - b[1];
        double cnt = span > 0 ? ceil(span / fabs(step)) : 0;
        if (cnt < 1)
            return fail(c, mark_of(gen), WG_EARG,
                        "%s: [%.0f, %.0f, %.0f] is empty (the stop value is excluded)", what,
                        b[0], b[1], step);
        if (cnt > WG_MAX_VALUES)
            return fail(c, mark_of(gen), WG_EARG, "%s: %.0f values (at most %d per axis)", what,
                        cnt, WG_MAX_VALUES);
        n = (size_t)cnt;
        if (vals_alloc(out, n, 0))
            return WG_ENOMEM;
        for (size_t i = 0; i < n; i++)
            out->num[i] = b[0] + (double)i * step;
    } else {
        double x;
        char err[512];
        static const wg_key num_key = {.name = "num", .type = WG_KEY_INT, .lo = 1,
                                       .hi = WG_MAX_VALUES};
        if (numv->type != YAML_SCALAR_NODE)
            return fail(c, mark_of(numv), WG_EARG, "%s num: expected an integer, got %s",
                        kd->name, node_desc(numv));
        if (wg_key_convert(&num_key, sval(numv), numv->data.scalar.style != YAML_PLAIN_SCALAR_STYLE,
                    &x, err, sizeof err))
            return fail(c, mark_of(numv), WG_EARG, "%s: %s", kd->name, err);
        n = (size_t)x;
        int lg = !strcmp(g, "log");
        for (int i = 0; i < 2; i++) {
            if (lg && !(b[i] > 0))
                return fail(c, bat[i], WG_EARG, "%s: bounds must be > 0, got %g", what, b[i]);
            char repr[32];
            snprintf(repr, sizeof repr, "%g", b[i]);
            if (wg_key_check_range(kd, b[i], repr, err, sizeof err))
                return fail(c, bat[i], WG_EARG, "%s", err);
        }
        if (vals_alloc(out, n, 0))
            return WG_ENOMEM;
        /* Powers of ten of exact exponents, so log [1e-4, 1e-2] gives 1e-3 to the ulp. */
        double la = lg ? log10(b[0]) : 0, lb = lg ? log10(b[1]) : 0;
        for (size_t i = 0; i < n; i++) {
            double t = n > 1 ? (double)i / (double)(n - 1) : 0;
            out->num[i] = lg ? pow(10.0, la + t * (lb - la)) : b[0] + t * (b[1] - b[0]);
        }
        out->num[0] = b[0];
        if (n > 1)
            out->num[n - 1] = b[1];
    }
    for (size_t i = 0; i < n; i++) {
        double v = out->num[i];
        out->at[i] = mark_of(map);
        if (kd->type == WG_KEY_INT) {
            double r = nearbyint(v);
            if (fabs(v - r) > 1e-9 * fmax(1.0, fabs(v)))
                return fail(c, mark_of(map), WG_EARG,
                            "%s: value %zu of the generator is %g, not an integer (list the "
                            "values instead)", kd->name, i + 1, v);
            out->num[i] = v = r;
        }
        char repr[32], err[512];
        snprintf(repr, sizeof repr, "%g", v);
        if (wg_key_check_range(kd, v, repr, err, sizeof err))
            return fail(c, mark_of(map), WG_EARG, "%s (value %zu of the generator)", err, i + 1);
    }
    return 0;
}

/* A crossed axis with the same value twice would give identical tasks. */
static int check_distinct(const ctx *c, const wg_key *kd, const vals *v)
{
    for (size_t j = 1; j < v->n; j++)
        for (size_t i = 0; i < j; i++) {
            int same = v->num ? v->num[i] == v->num[j] : !strcmp(v->text[i], v->text[j]);
            if (same)
                return fail(c, v->at[j], WG_EARG,
                            "%s: value %zu repeats value %zu (identical tasks)", kd->name,
                            j + 1, i + 1);
        }
    return 0;
}

/* Which key a sweep key names: "data.X", "model.X", "train.X" (scalar X) or "seed". */
static int sweep_key(const ctx *c, const yaml_node_t *kn, int *out)
{
    const char *key = sval(kn);
    for (int k = 0; k < WG_NKEYS; k++) {
        if (strcmp(wg_keys[k].name, key) != 0)
            continue;
        if (wg_keys[k].type == WG_KEY_INTLIST)
            return fail(c, mark_of(kn), WG_EARG,
                        "%s cannot be swept: it is a list (only single-valued keys are swept)",
                        key);
        *out = k;
        return 0;
    }
    for (size_t i = 0; i < NSECTIONS; i++)
        if (!strcmp(sections[i].name, key))
            return fail(c, mark_of(kn), WG_EARG,
                        "'%s' cannot be swept (sweep keys are data.X, model.X, train.X and seed)",
                        key);
    for (int k = 0; k < WG_NKEYS; k++)
        if (strchr(wg_keys[k].name, '.') && !strcmp(wg_key_short(&wg_keys[k]), key))
            return fail(c, mark_of(kn), WG_EARG,
                        "unknown key '%s' in sweep (did you mean '%s'?)", key, wg_keys[k].name);
    const char *cands[WG_NKEYS + 1];
    size_t n = 0;
    for (int k = 0; k < WG_NKEYS; k++)
        if (wg_keys[k].type != WG_KEY_INTLIST)
            cands[n++] = wg_keys[k].name;
    cands[n++] = "zip";
    const char *s = wg_suggest(key, cands, n);
    if (s)
        return fail(c, mark_of(kn), WG_EARG, "unknown key '%s' in sweep (did you mean '%s'?)",
                    key, s);
    return fail(c, mark_of(kn), WG_EARG,
                "unknown key '%s' in sweep (sweep keys are data.X, model.X, train.X, seed and "
                "zip)", key);
}

/* Read one axis: key kn, values v; zip group or -1. */
static int add_axis(ctx *c, const yaml_node_t *kn, const yaml_node_t *v, int group)
{
    wg_plan *p = c->pl.p;
    int k = 0, rc = sweep_key(c, kn, &k);
    if (rc)
        return rc;
    const wg_key *kd = &wg_keys[k];
    if (c->pl.key_axis[k] >= 0) {
        const wg_axis *first = &p->axes[c->pl.key_axis[k]];
        return fail(c, mark_of(kn), WG_EARG, "%s is swept twice (first at %d:%d)", kd->name,
                    first->line, first->column);
    }
    /* the axis is named as its output coordinate is */
    const char *nm = kd->var ? kd->var : wg_key_short(kd);
    for (size_t a = 0; a < p->naxes; a++)
        if (!strcmp(p->axes[a].name, nm))
            return fail(c, mark_of(kn), WG_EARG,
                        "%s and %s would both be called '%s' in the output", p->axes[a].key,
                        kd->name, nm);
    if (p->naxes == WG_MAX_AXES)
        return fail(c, mark_of(kn), WG_EARG, "more than %d swept keys", WG_MAX_AXES);

    vals vs = {0};
    if (v->type == YAML_SEQUENCE_NODE)
        rc = list_values(c, kd, v, &vs);
    else if (v->type == YAML_MAPPING_NODE)
        rc = gen_values(c, kd, v, &vs);
    else
        rc = fail(c, mark_of(v), WG_EARG,
                  "%s: expected a list of values or a generator ({log: [a, b], num: n}, "
                  "{linear: [a, b], num: n}, {range: [start, stop, step]}), got %s",
                  kd->name, is_null(v) ? "nothing" : "a single value");
    if (rc == 0 && group < 0)
        rc = check_distinct(c, kd, &vs);
    if (rc) {
        vals_free(&vs);
        return rc;
    }
    size_t a = p->naxes++;
    wg_axis *ax = &p->axes[a];
    snprintf(ax->key, sizeof ax->key, "%s", kd->name);
    snprintf(ax->name, sizeof ax->name, "%s", nm);
    ax->is_text = vs.text != NULL;
    ax->zip_group = group;
    ax->n = vs.n;
    ax->num = vs.num;
    ax->text = vs.text;
    ax->line = mark_of(kn).line;
    ax->column = mark_of(kn).col;
    c->pl.vat[a] = vs.at;
    c->pl.axis_key[a] = k;
    c->pl.key_axis[k] = (int)a;
    return 0;
}

/* Append a factor of the product, failing if the plan grows past MAX_TASKS. */
static int add_dim(ctx *c, size_t first, size_t count, mark at)
{
    size_t n = c->pl.p->axes[first].n;
    if (c->pl.product * n > WG_MAX_TASKS)
        return fail(c, at, WG_EARG, "the sweep expands to more than %d tasks (%zu x %zu here)",
                    WG_MAX_TASKS, c->pl.product, n);
    c->pl.product *= n;
    c->pl.factors[c->pl.nfactors++] = (wg_factor){n, first, count};
    return 0;
}

static int zip_group(ctx *c, const yaml_node_t *g)
{
    if (g->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(g), WG_EARG,
                    "zip: expected a mapping of key: list (or a list of such mappings), got %s",
                    is_null(g) ? "nothing" : node_desc(g));
    if (g->data.mapping.pairs.top == g->data.mapping.pairs.start)
        return fail(c, mark_of(g), WG_EARG, "zip: empty group");
    int gid = c->pl.ngroups++;
    size_t first = c->pl.p->naxes;
    for (yaml_node_pair_t *pr = g->data.mapping.pairs.start; pr < g->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn;
        int rc = pair_key(c, g, pr, "in zip", &kn);
        if (rc)
            return rc;
        if (!strcmp(sval(kn), "zip"))
            return fail(c, mark_of(kn), WG_EARG, "zip groups cannot be nested");
        const yaml_node_t *v = node(c, pr->value);
        if (v->type == YAML_SCALAR_NODE)
            return fail(c, mark_of(v), WG_EARG, "%s in zip: expected a list of values, got %s",
                        sval(kn), is_null(v) ? "nothing" : "a single value");
        rc = add_axis(c, kn, v, gid);
        if (rc)
            return rc;
        const wg_axis *a0 = &c->pl.p->axes[first], *an = &c->pl.p->axes[c->pl.p->naxes - 1];
        if (an->n != a0->n)
            return fail(c, mark_of(kn), WG_EARG,
                        "zip lists have unequal lengths: %s has %zu values, %s has %zu",
                        a0->key, a0->n, an->key, an->n);
    }
    return add_dim(c, first, c->pl.p->naxes - first, mark_of(g));
}

static int sec_sweep(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(v), WG_EARG, "sweep: expected a mapping of key: values, got %s",
                    node_desc(v));
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn, *val = node(c, pr->value);
        int rc = pair_key(c, v, pr, "in sweep", &kn);
        if (rc)
            return rc;
        if (!strcmp(sval(kn), "zip")) {
            if (val->type == YAML_SEQUENCE_NODE) {
                if (val->data.sequence.items.top == val->data.sequence.items.start)
                    return fail(c, mark_of(val), WG_EARG, "zip: empty list of groups");
                for (yaml_node_item_t *it = val->data.sequence.items.start;
                     it < val->data.sequence.items.top && rc == 0; it++)
                    rc = zip_group(c, node(c, *it));
            } else {
                rc = zip_group(c, val);
            }
        } else {
            rc = add_axis(c, kn, val, -1);
            if (rc == 0)
                rc = add_dim(c, c->pl.p->naxes - 1, 1, mark_of(kn));
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------------ */

/* Line and column (1-based, in characters) of byte offset off. */
static mark offset_mark(const char *text, size_t len, size_t off)
{
    mark m = {1, 1};
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n')
            m = (mark){m.line + 1, 1};
        else if (((unsigned char)text[i] & 0xC0) != 0x80)
            m.col++;
    }
    return m;
}

/* The byte at (1-based) line:col, or 0. */
static int char_at(const char *text, size_t len, mark m)
{
    size_t i = 0;
    for (int line = 1; line < m.line && i < len; i++)
        if (text[i] == '\n')
            line++;
    for (int col = 1; col < m.col && i < len && text[i] != '\n'; col++) {
        i++;
        while (i < len && ((unsigned char)text[i] & 0xC0) == 0x80)
            i++;
    }
    return i < len ? (unsigned char)text[i] : 0;
}

static int yaml_error(const ctx *c, const yaml_parser_t *ps)
{
    if (ps->error == YAML_MEMORY_ERROR)
        return fail(c, (mark){1, 1}, WG_ENOMEM, "out of memory parsing YAML");
    const char *problem = ps->problem ? ps->problem : "unknown problem";
    mark m = {(int)ps->problem_mark.line + 1, (int)ps->problem_mark.column + 1};
    char extra[160] = "";
    if (ps->error == YAML_READER_ERROR) {
        m = offset_mark(c->text, c->len, ps->problem_offset);
        if (ps->problem_value != -1)
            snprintf(extra, sizeof extra, " (byte 0x%02x)", (unsigned)ps->problem_value & 0xffu);
    } else if (ps->context) {
        snprintf(extra, sizeof extra, " (%s at %d:%d)", ps->context,
                 (int)ps->context_mark.line + 1, (int)ps->context_mark.column + 1);
    }
    const char *hint = char_at(c->text, c->len, m) == '\t'
                           ? "; tabs cannot indent YAML, use spaces" : "";
    return fail(c, m, WG_EYAML, "YAML syntax error: %s%s%s", problem, extra, hint);
}

/* The names of the top level: the sections, then the kinds' own (connectors). */
static size_t top_names(const char **names)
{
    size_t n = 0;
    for (size_t i = 0; i < NSECTIONS; i++)
        names[n++] = sections[i].name;
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        const char *s = wg_kind_get(k)->section;
        if (s && !strchr(s, '.'))
            names[n++] = s;
    }
    return n;
}

static int parse_root(ctx *c, const yaml_node_t *root)
{
    wg_plan *p = c->pl.p;
    const char *names[MAX_TOP];
    size_t ntop = top_names(names);
    if (root->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(root), WG_EARG,
                    "a sweep file is a mapping (name: ..., data: ..., ...), not %s",
                    node_desc(root));
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
         pr < root->data.mapping.pairs.top; pr++) {
        const yaml_node_t *kn;
        int rc = pair_key(c, root, pr, "at the top level", &kn);
        if (rc)
            return rc;
        size_t i = 0;
        while (i < ntop && strcmp(names[i], sval(kn)) != 0)
            i++;
        if (i == ntop)
            return unknown_key(c, kn, "at the top level", names, ntop);
        const yaml_node_t *v = node(c, pr->value);
        c->sec_at[i] = mark_of(v);
        if (i < NSECTIONS)
            rc = sections[i].fn(c, sections[i].name, v);
        else
            rc = parse_opts(c, kind_of_section(names[i]), v);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < NSECTIONS; i++)
        if (sections[i].required && c->sec_at[i].line == 0)
            return fail(c, c->pl.root, WG_EARG, "missing required key '%s'", sections[i].name);
    if (!p->output[0])
        snprintf(p->output, sizeof p->output, "%s.nc", p->name);
    return 0;
}

/* A sweep nests a few levels (top, probes, a kind, a list); libyaml's loader takes
 * time quadratic in the depth, so deeper documents are refused by a pass over the
 * events that stops at the first level too deep. */
#define MAX_DEPTH 32

static int check_depth(ctx *c)
{
    yaml_parser_t ps;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&ps))
        return WG_FAIL(WG_ENOMEM, "%s: out of memory starting the YAML parser", c->file);
    yaml_parser_set_input_string(&ps, (const unsigned char *)c->text, c->len);
    int depth = 0, rc = 0;
    for (;;) {
        if (!yaml_parser_parse(&ps, &ev)) {
            rc = 0; /* a syntax error: the loader reports it with its line */
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH)
                rc = fail(c, (mark){(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1},
                          WG_EARG, "nested more than %d levels deep (a sweep needs a few)",
                          MAX_DEPTH);
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (rc || t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&ps);
    return rc;
}

/* ---- command-line overrides ----------------------------------------------------- */

/* Overrides ride at the end of the plan's text, as comments, so that the text
 * stored in an output (sweep_text) reproduces the run by itself and its hash tells
 * a run with overrides from one without:
 *   # wedge: command-line overrides (applied to the lines above)
 *   #   train.epochs=2
 * The reader applies every such line to the document before reading it. */
#define OV_MARK "# wedge: command-line overrides (applied to the lines above)"
#define OV_LEAD "#   "
#define MAX_OVERRIDES 64

/* Line number (1-based) of the marker at the start of a line, or 0. */
static int trailer_line(const char *text, size_t len)
{
    int line = 1;
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || text[i - 1] == '\n') && len - i >= sizeof OV_MARK - 1 &&
            memcmp(text + i, OV_MARK, sizeof OV_MARK - 1) == 0)
            return line;
        line += text[i] == '\n';
    }
    return 0;
}

/* A copy of node id of src inside dst, every mark at (line, col0 + its column). */
static int graft(yaml_document_t *dst, yaml_document_t *src, int id, int line, int col0)
{
    yaml_node_t *n = yaml_document_get_node(src, id);
    yaml_mark_t at = {0, (size_t)line - 1, (size_t)col0 - 1 + n->start_mark.column};
    int out = 0;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        out = yaml_document_add_scalar(dst, NULL, n->data.scalar.value,
                                       (int)n->data.scalar.length, n->data.scalar.style);
        break;
    case YAML_SEQUENCE_NODE:
        out = yaml_document_add_sequence(dst, NULL, n->data.sequence.style);
        for (int k = 0; out && k < n->data.sequence.items.top - n->data.sequence.items.start;
             k++) {
            int item = graft(dst, src, n->data.sequence.items.start[k], line, col0);
            if (!item || !yaml_document_append_sequence_item(dst, out, item))
                return 0;
            n = yaml_document_get_node(src, id);
        }
        break;
    case YAML_MAPPING_NODE:
        out = yaml_document_add_mapping(dst, NULL, n->data.mapping.style);
        for (int k = 0; out && k < n->data.mapping.pairs.top - n->data.mapping.pairs.start;
             k++) {
            yaml_node_pair_t pr = n->data.mapping.pairs.start[k];
            int key = graft(dst, src, pr.key, line, col0);
            int val = key ? graft(dst, src, pr.value, line, col0) : 0;
            if (!val || !yaml_document_append_mapping_pair(dst, out, key, val))
                return 0;
            n = yaml_document_get_node(src, id);
        }
        break;
    default:
        return 0;
    }
    if (out) {
        yaml_node_t *m = yaml_document_get_node(dst, out);
        m->start_mark = m->end_mark = at;
    }
    return out;
}

/* A plain scalar node holding s, marked at (line, col). */
static int add_key(yaml_document_t *d, const char *s, size_t len, int line, int col)
{
    int id = yaml_document_add_scalar(d, NULL, (yaml_char_t *)(uintptr_t)s, (int)len,
                                      YAML_PLAIN_SCALAR_STYLE);
    if (id) {
        yaml_node_t *n = yaml_document_get_node(d, id);
        n->start_mark = n->end_mark = (yaml_mark_t){0, (size_t)line - 1, (size_t)col - 1};
    }
    return id;
}

/* The value of key (len bytes) in mapping node map, or 0; *pair its index. */
static int map_find(yaml_document_t *d, int map, const char *key, size_t len, int *pair)
{
    yaml_node_t *m = yaml_document_get_node(d, map);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k->type == YAML_SCALAR_NODE && k->data.scalar.length == len &&
            memcmp(k->data.scalar.value, key, len) == 0) {
            *pair = (int)(p - m->data.mapping.pairs.start);
            return p->value;
        }
    }
    return 0;
}

/* Apply one override line ("key=value", at line `line` of the text) to the document.
 * Keys are dotted as in the file (train.lr, probes.tunnel.directions); under
 * `sweep`, the rest of the key is one axis name (sweep.train.lr). */
static int apply_override(ctx *c, yaml_document_t *d, const char *ov, size_t len, int line)
{
    const int col0 = (int)sizeof OV_LEAD; /* column of the key, 1-based */
    const char *eq = memchr(ov, '=', len);
    mark at = {line, col0};
    if (!eq || eq == ov)
        return fail(c, at, WG_EARG, "'%.*s' is not key=value", (int)len, ov);
    size_t klen = (size_t)(eq - ov);
    for (size_t i = 0; i < klen; i++)
        if (ov[i] == '.' && (i == 0 || i + 1 == klen || ov[i + 1] == '.'))
            return fail(c, at, WG_EARG, "'%.*s': an empty part in the key", (int)klen, ov);
    /* the value, as YAML */
    yaml_parser_t ps;
    yaml_document_t v;
    if (!yaml_parser_initialize(&ps))
        return WG_FAIL(WG_ENOMEM, "out of memory starting the YAML parser");
    const char *val = eq + 1;
    size_t vlen = len - klen - 1;
    yaml_parser_set_input_string(&ps, (const unsigned char *)val, vlen);
    int ok = yaml_parser_load(&ps, &v);
    if (!ok) {
        int rc = fail(c, (mark){line, col0 + (int)klen + 1 + (int)ps.problem_mark.column},
                      WG_EYAML, "the value is not YAML: %s", ps.problem ? ps.problem : "?");
        yaml_parser_delete(&ps);
        return rc;
    }
    yaml_parser_delete(&ps);
    int vroot = yaml_document_get_root_node(&v) ? 1 : 0;
    int rc = 0, map = 1, vid = 0;
    if (vroot)
        vid = graft(d, &v, 1, line, col0 + (int)klen + 1);
    else /* key= : null */
        vid = add_key(d, "", 0, line, col0 + (int)klen + 1);
    yaml_document_delete(&v);
    if (!vid)
        return WG_FAIL(WG_ENOMEM, "out of memory applying an override");
    if (yaml_document_get_node(d, map)->type != YAML_MAPPING_NODE)
        return fail(c, at, WG_EARG, "the sweep's top level is not a mapping");
    /* walk (making mappings where missing), then set the last part */
    const char *part = ov;
    int in_sweep = 0;
    for (;;) {
        const char *dot = in_sweep ? NULL : memchr(part, '.', (size_t)(eq - part));
        size_t plen = dot ? (size_t)(dot - part) : (size_t)(eq - part);
        int col = col0 + (int)(part - ov), pair = -1;
        int sub = map_find(d, map, part, plen, &pair);
        if (!dot) {
            if (sub)
                yaml_document_get_node(d, map)->data.mapping.pairs.start[pair].value = vid;
            else {
                int key = add_key(d, part, plen, line, col);
                if (!key || !yaml_document_append_mapping_pair(d, map, key, vid))
                    rc = WG_FAIL(WG_ENOMEM, "out of memory applying an override");
            }
            break;
        }
        in_sweep = map == 1 && plen == 5 && memcmp(part, "sweep", 5) == 0;
        yaml_node_t *sn = sub ? yaml_document_get_node(d, sub) : NULL;
        if (sn && sn->type != YAML_MAPPING_NODE && !is_null(sn))
            return fail(c, at, WG_EARG, "'%.*s': %.*s is %s in the sweep, not a mapping",
                        (int)klen, ov, (int)(dot - ov), ov, node_desc(sn));
        if (!sn || sn->type != YAML_MAPPING_NODE) { /* absent or empty: a new mapping */
            int m = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
            if (m)
                yaml_document_get_node(d, m)->start_mark = (yaml_mark_t){0, (size_t)line - 1,
                                                                          (size_t)col - 1};
            if (!m)
                return WG_FAIL(WG_ENOMEM, "out of memory applying an override");
            if (sn)
                yaml_document_get_node(d, map)->data.mapping.pairs.start[pair].value = m;
            else {
                int key = add_key(d, part, plen, line, col);
                if (!key || !yaml_document_append_mapping_pair(d, map, key, m))
                    return WG_FAIL(WG_ENOMEM, "out of memory applying an override");
            }
            sub = m;
        }
        map = sub;
        part = dot + 1;
    }
    return rc;
}

/* Apply the trailer's overrides (if any) to the loaded document. */
static int apply_overrides(ctx *c, yaml_document_t *d)
{
    int line = c->pl.override_line;
    if (!line)
        return 0;
    const char *s = c->text;
    for (int l = 1; l <= line; l++) /* to the line after the marker */
        s = strchr(s, '\n') ? strchr(s, '\n') + 1 : s + strlen(s);
    for (line++; *s; line++) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n >= sizeof OV_LEAD - 1 && memcmp(s, OV_LEAD, sizeof OV_LEAD - 1) == 0) {
            int rc = apply_override(c, d, s + sizeof OV_LEAD - 1, n - (sizeof OV_LEAD - 1), line);
            if (rc)
                return rc;
        }
        s = e ? e + 1 : s + n;
    }
    return 0;
}

/* ---- the document's meaning ---------------------------------------------------------- */

/* The loaded document (overrides applied) in a form that leaves out what does not
 * change a sweep: comments, blank lines, indentation, flow or block style and the
 * kind of quotes.  Kept: every value, tags, whether a scalar is plain ("1" and 1 may
 * read differently) and the order of keys (the sweep axes' order numbers the
 * tasks).  Two texts with one meaning hash alike (plan->meaning), so a run can be
 * resumed with a sweep file whose comments were edited since. */
static void canon_node(wg_buf *k, yaml_document_t *d, int id, int depth)
{
    const yaml_node_t *n = yaml_document_get_node(d, id);
    if (!n || depth > 2 * MAX_DEPTH) {
        wg_buf_put(k, "~", 1);
        return;
    }
    char head[64];
    const char *tag = n->tag ? (const char *)n->tag : "";
    switch (n->type) {
    case YAML_SCALAR_NODE:
        snprintf(head, sizeof head, "%c%zu:%zu:",
                 n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? 'p' : 'q', strlen(tag),
                 n->data.scalar.length);
        wg_buf_put(k, head, strlen(head));
        wg_buf_put(k, tag, strlen(tag));
        wg_buf_put(k, n->data.scalar.value, n->data.scalar.length);
        break;
    case YAML_SEQUENCE_NODE:
        wg_buf_put(k, "[", 1);
        for (const yaml_node_item_t *i = n->data.sequence.items.start;
             i < n->data.sequence.items.top; i++)
            canon_node(k, d, *i, depth + 1);
        wg_buf_put(k, "]", 1);
        break;
    case YAML_MAPPING_NODE:
        wg_buf_put(k, "{", 1);
        for (const yaml_node_pair_t *q = n->data.mapping.pairs.start;
             q < n->data.mapping.pairs.top; q++) {
            canon_node(k, d, q->key, depth + 1);
            canon_node(k, d, q->value, depth + 1);
        }
        wg_buf_put(k, "}", 1);
        break;
    default:
        wg_buf_put(k, "?", 1);
    }
}

static int meaning_hash(ctx *c, yaml_document_t *d)
{
    wg_buf k = {0};
    canon_node(&k, d, 1, 0);
    int oom = k.oom;
    if (!oom)
        wg_sha256_hex(k.data ? k.data : "", k.len, c->pl.p->meaning);
    wg_buf_free(&k);
    return oom ? WG_FAIL(WG_ENOMEM, "%s: out of memory reading the sweep", c->file) : 0;
}

/* Parse c->text into c->pl.p (whose text is already set). */
static int parse(ctx *c)
{
    wg_plan *p = c->pl.p;
    for (int k = 0; k < WG_NKEYS; k++)
        c->pl.key_axis[k] = -1;
    c->pl.product = 1;
    c->pl.root = (mark){1, 1};
    int rc = wg_setting_defaults(&p->base);
    if (rc)
        return rc;

    rc = check_depth(c);
    if (rc)
        return rc;
    yaml_parser_t ps;
    yaml_document_t doc, extra;
    if (!yaml_parser_initialize(&ps))
        return WG_FAIL(WG_ENOMEM, "%s: out of memory starting the YAML parser", c->file);
    yaml_parser_set_input_string(&ps, (const unsigned char *)c->text, c->len);
    if (!yaml_parser_load(&ps, &doc)) {
        rc = yaml_error(c, &ps);
        yaml_parser_delete(&ps);
        return rc;
    }
    c->doc = &doc;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && (rc = apply_overrides(c, &doc)) != 0) {
        yaml_document_delete(&doc);
        yaml_parser_delete(&ps);
        return rc;
    }
    root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = fail(c, (mark){1, 1}, WG_EARG, "empty sweep file (at least 'name:' is needed)");
    } else if (!yaml_parser_load(&ps, &extra)) {
        rc = yaml_error(c, &ps);
    } else {
        const yaml_node_t *r2 = yaml_document_get_root_node(&extra);
        if (r2)
            rc = fail(c, mark_of(r2), WG_EARG, "a sweep file holds one YAML document");
        yaml_document_delete(&extra);
    }
    if (rc == 0)
        rc = meaning_hash(c, &doc);
    if (rc == 0) {
        c->pl.root = mark_of(root);
        rc = parse_root(c, root);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
    c->doc = NULL;
    if (rc)
        return rc;

    c->pl.data_at = c->sec_at[3];
    c->pl.model_at = c->sec_at[4];
    c->pl.train_at = c->sec_at[5];
    rc = wg_planner_expand(&c->pl);
    if (rc)
        return rc;
    /* The base is not a task: it gets the derived fields, unchecked. */
    size_t ntrain, ntest;
    wg_setting_derive(&p->base, p->seed, &ntrain, &ntest);
    wg_setting tmp = p->base;
    if (wg_setting_resolve_snapshots(&tmp) == 0)
        p->base = tmp;
    return 0;
}

static int parse_owned(wg_plan *plan, char *text, size_t len, const char *file)
{
    plan->text = text;
    plan->text_len = len;
    text[len] = '\0';
    snprintf(plan->file, sizeof plan->file, "%s", file);
    wg_sha256_hex(text, len, plan->sha256);
    ctx c = {.pl = {.p = plan, .file = file, .text = text,
                    .override_line = trailer_line(text, len)},
             .file = file, .text = text, .len = len};
    int rc = parse(&c);
    for (size_t a = 0; a < WG_MAX_AXES; a++)
        free(c.pl.vat[a]);
    if (rc)
        wg_plan_free(plan);
    return rc;
}

int wg_sweep_parse(wg_plan *plan, const char *text, size_t len, const char *file)
{
    memset(plan, 0, sizeof *plan);
    if (!file)
        file = "(sweep)";
    char *copy = wg_alloc(len + 1, 1, "sweep text");
    if (!copy)
        return WG_ENOMEM;
    if (len)
        memcpy(copy, text, len);
    return parse_owned(plan, copy, len, file);
}

int wg_sweep_load(wg_plan *plan, const char *path)
{
    return wg_sweep_load_overrides(plan, path, NULL, 0);
}

int wg_sweep_load_overrides(wg_plan *plan, const char *path, char *const *ov, int nov)
{
    memset(plan, 0, sizeof *plan);
    if (nov > MAX_OVERRIDES)
        return WG_FAIL(WG_EARG, "%d overrides; at most %d", nov, MAX_OVERRIDES);
    for (int i = 0; i < nov; i++)
        if (!strchr(ov[i], '=') || ov[i][0] == '=' || strchr(ov[i], '\n'))
            return WG_FAIL(WG_EARG, "override '%s': expected key=value on one line (a dotted "
                                    "key as in the sweep, e.g. train.epochs=2)", ov[i]);
    FILE *f = fopen(path, "rb");
    if (!f)
        return WG_FAIL(WG_EIO, "%s: cannot open sweep file: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (ferror(f)) {
            rc = WG_FAIL(WG_EIO, "%s: cannot read sweep file: %s", path, strerror(errno));
            break;
        }
        if (feof(f))
            break;
        if (cap >= MAX_FILE_BYTES) {
            rc = WG_FAIL(WG_EIO, "%s: sweep file larger than %u bytes", path, MAX_FILE_BYTES);
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (!buf)
        return WG_FAIL(WG_ENOMEM, "%s: out of memory reading sweep file", path);
    if (rc) {
        free(buf);
        return rc;
    }
    if (nov > 0) { /* the overrides after the text (after its own, if it has some) */
        size_t more = sizeof OV_MARK + 2;
        for (int i = 0; i < nov; i++)
            more += sizeof OV_LEAD + strlen(ov[i]);
        char *nb = realloc(buf, len + more + 1);
        if (!nb) {
            free(buf);
            return WG_FAIL(WG_ENOMEM, "%s: out of memory reading sweep file", path);
        }
        buf = nb;
        if (len && buf[len - 1] != '\n')
            buf[len++] = '\n';
        buf[len] = '\0';
        if (!trailer_line(buf, len))
            len += (size_t)sprintf(buf + len, "%s\n", OV_MARK);
        for (int i = 0; i < nov; i++)
            len += (size_t)sprintf(buf + len, "%s%s\n", OV_LEAD, ov[i]);
    }
    return parse_owned(plan, buf, len, path);
}

