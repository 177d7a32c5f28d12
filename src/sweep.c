/* sweep.c: YAML sweep files -> validated plans of training tasks.
 *
 * The only file that touches libyaml.  It loads the whole file as one libyaml
 * document (node marks give every error its line:column), fills a base setting
 * from the key table below (which also holds every default), reads the sweep's
 * axes, expands their product into tasks and checks each task's setting as a
 * whole, so that a sweep that would fail in task 900 fails before task 0 runs.
 * It does not load data, build networks or run anything; docs/sweep-format.md is
 * the user's description of the format this file implements. */
#include "wedge/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "wedge/error.h"
#include "wedge/rng.h"

#define MAX_TASKS 1000000
#define MAX_FILE_BYTES (64u << 20)
/* The largest integer a double holds exactly: swept values are stored as doubles. */
#define INT_EXACT 9007199254740991.0
#define AXIS_TEXT ((int)sizeof(((wg_axis *)0)->text[0]))

/* Choice keys are stored into enum fields through an int. */
_Static_assert(sizeof(wg_data_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_arch) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_act) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_opt_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(wg_sched_kind) == sizeof(int), "enum size");

/* ---- the key table: every key of data/model/train, its type, range and default -- */

typedef enum { T_INT, T_FLOAT, T_NAME, T_TEXT, T_INTLIST } key_type;
typedef enum { ST_SIZE, ST_INT, ST_LONG, ST_FLOAT, ST_DOUBLE, ST_ENUM, ST_STR, ST_LIST } store;

typedef struct keydef {
    const char *name;                /* dotted: "train.lr"; "seed" is the replicate */
    key_type type;
    double lo, hi;                   /* numeric range; T_INT always closed */
    int lo_open, hi_open;
    int only13;                      /* value must be 1 or 3 */
    const char *(*choice)(int);      /* T_NAME: name of choice i (= its enum value) */
    int nchoices;
    const char *deflt;               /* as it would be written in YAML; NULL = empty */
    store st;
    size_t off, cap;                 /* field in wg_setting; ST_STR capacity */
} keydef;

static const char *data_choice(int i) { return wg_data_kind_name((wg_data_kind)i); }
static const char *arch_choice(int i) { return wg_arch_name((wg_arch)i); }
static const char *act_choice(int i) { return wg_act_name((wg_act)i); }
static const char *opt_choice(int i) { return wg_opt_name((wg_opt_kind)i); }
static const char *sched_choice(int i) { return wg_sched_name((wg_sched_kind)i); }

enum {
    K_DATA_NAME, K_DATA_PATH, K_TRAIN_SIZE, K_TEST_SIZE, K_SYNTH_TRAIN, K_SYNTH_TEST,
    K_SYNTH_SIZE, K_SYNTH_CHANNELS,
    K_ARCH, K_WIDTH, K_DEPTH, K_HIDDEN, K_ACTIVATION, K_DROPOUT, K_TOY_DIM, K_TOY_LONG,
    K_OPTIMIZER, K_LR, K_MOMENTUM, K_L2, K_BATCH, K_EPOCHS, K_SNAPSHOTS, K_SCHEDULE,
    K_CYCLE, K_MIN_RATIO,
    K_REPLICATE,
    NKEYS
};

#define AT(f) .off = offsetof(wg_setting, f)
#define NAME_KEY(k, fn, n, d, f) \
    {.name = k, .type = T_NAME, .choice = fn, .nchoices = n, .deflt = d, .st = ST_ENUM, AT(f)}
#define INT_KEY(k, l, h, d, s, f) \
    {.name = k, .type = T_INT, .lo = l, .hi = h, .deflt = d, .st = s, AT(f)}
#define FLOAT_KEY(k, l, lopen, h, hopen, d, s, f)                                        \
    {.name = k, .type = T_FLOAT, .lo = l, .lo_open = lopen, .hi = h, .hi_open = hopen, \
     .deflt = d, .st = s, AT(f)}

static const keydef keys[NKEYS] = {
    [K_DATA_NAME] = NAME_KEY("data.name", data_choice, 5, "fashion-mnist", data),
    [K_DATA_PATH] = {.name = "data.path", .type = T_TEXT, .deflt = "", .st = ST_STR,
                     AT(data_path), .cap = sizeof(((wg_setting *)0)->data_path)},
    [K_TRAIN_SIZE] = INT_KEY("data.train_size", 0, INT_EXACT, "0", ST_SIZE, train_size),
    [K_TEST_SIZE] = INT_KEY("data.test_size", 0, INT_EXACT, "0", ST_SIZE, test_size),
    [K_SYNTH_TRAIN] = INT_KEY("data.synthetic_train", 1, INT_EXACT, "2000", ST_SIZE, synth_train),
    [K_SYNTH_TEST] = INT_KEY("data.synthetic_test", 1, INT_EXACT, "500", ST_SIZE, synth_test),
    [K_SYNTH_SIZE] = INT_KEY("data.synthetic_size", 8, 64, "28", ST_INT, synth_size),
    [K_SYNTH_CHANNELS] = {.name = "data.synthetic_channels", .type = T_INT, .lo = 1, .hi = 3,
                          .only13 = 1, .deflt = "1", .st = ST_INT, AT(synth_channels)},
    /* toy is an arch of the library but not a network a sweep can train */
    [K_ARCH] = NAME_KEY("model.arch", arch_choice, 3, "simplecnn", net.arch),
    [K_WIDTH] = INT_KEY("model.width", 1, 64, "1", ST_INT, net.width),
    [K_DEPTH] = INT_KEY("model.depth", 0, 32, "2", ST_INT, net.depth),
    [K_HIDDEN] = INT_KEY("model.hidden", 1, 65536, "256", ST_INT, net.hidden),
    [K_ACTIVATION] = NAME_KEY("model.activation", act_choice, 2, "tanh", net.activation),
    [K_DROPOUT] = FLOAT_KEY("model.dropout", 0, 0, 1, 1, "0", ST_FLOAT, net.dropout),
    /* the toy wedge model (arch: toy): dimension D and long directions n */
    [K_TOY_DIM] = INT_KEY("model.dim", 2, 100000000, "1000", ST_INT, toy_dim),
    [K_TOY_LONG] = INT_KEY("model.long", 0, 100000000, "100", ST_INT, toy_long),
    [K_OPTIMIZER] = NAME_KEY("train.optimizer", opt_choice, 2, "adam", train.optimizer),
    [K_LR] = FLOAT_KEY("train.lr", 0, 1, INFINITY, 0, "1e-3", ST_DOUBLE, train.lr),
    [K_MOMENTUM] = FLOAT_KEY("train.momentum", 0, 0, 1, 1, "0.9", ST_DOUBLE, train.momentum),
    [K_L2] = FLOAT_KEY("train.l2", 0, 0, INFINITY, 0, "0", ST_DOUBLE, train.l2),
    [K_BATCH] = INT_KEY("train.batch_size", 1, INT_EXACT, "128", ST_SIZE, train.batch_size),
    [K_EPOCHS] = INT_KEY("train.epochs", 1, 100000, "10", ST_INT, train.epochs),
    [K_SNAPSHOTS] = {.name = "train.snapshots", .type = T_INTLIST, .lo = 1, .hi = 100000,
                     .st = ST_LIST, AT(snapshots)},
    [K_SCHEDULE] = NAME_KEY("train.schedule", sched_choice, 2, "constant", train.schedule),
    [K_CYCLE] = FLOAT_KEY("train.cycle_epochs", 0, 1, INFINITY, 0, "1", ST_DOUBLE,
                          train.cycle_epochs),
    [K_MIN_RATIO] = FLOAT_KEY("train.min_ratio", 0, 1, 1, 0, "0.01", ST_DOUBLE, train.min_ratio),
    [K_REPLICATE] = INT_KEY("seed", 0, INT_EXACT, "0", ST_LONG, replicate),
};

/* Keys of the top level that are not settings (parsed with the same code). */
static const keydef name_key = {.name = "name", .type = T_TEXT, .cap = 128};
static const keydef output_key = {.name = "output", .type = T_TEXT, .cap = 512};
static const keydef master_key = {.name = "seed", .type = T_INT, .lo = 0, .hi = INT_EXACT};

static const char *short_name(const char *dotted)
{
    const char *d = strrchr(dotted, '.');
    return d ? d + 1 : dotted;
}

/* Whether key kd belongs to section sec ("train.lr" to "train"). */
static int in_section(const keydef *kd, const char *sec)
{
    size_t n = strlen(sec);
    return strncmp(kd->name, sec, n) == 0 && kd->name[n] == '.';
}

/* ---- parse state ------------------------------------------------------------ */

typedef struct mark {
    int line, col; /* 1-based; line 0 = nowhere */
} mark;

typedef struct ctx ctx;
typedef int (*section_fn)(ctx *c, const char *sec, const yaml_node_t *value);

/* The top level: one entry per key, so a new section is an entry and a handler. */
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
static int sec_connectors(ctx *c, const char *sec, const yaml_node_t *v);

static const section sections[] = {
    {"name", 1, top_name},  {"output", 0, top_output}, {"seed", 0, top_seed},
    {"data", 0, sec_keys},  {"model", 0, sec_keys},    {"train", 0, sec_keys},
    {"sweep", 0, sec_sweep}, {"probes", 0, sec_probes}, {"connectors", 0, sec_connectors},
};
#define NSECTIONS (sizeof sections / sizeof sections[0])

/* One factor of the Cartesian product: a crossed axis, or a zip group's axes. */
typedef struct dim {
    size_t n, first, count;
} dim;

struct ctx {
    wg_plan *p;
    const char *file;
    const char *text;
    size_t len;
    yaml_document_t *doc;
    mark root;
    mark sec_at[NSECTIONS];         /* where each top-level key's value is */
    mark given[NKEYS];              /* where each key was set in its section */
    int key_axis[NKEYS];            /* axis sweeping the key, or -1 */
    int axis_key[WG_MAX_AXES];
    mark *vat[WG_MAX_AXES];         /* where each axis value was written */
    size_t ndims;
    dim dims[WG_MAX_AXES];
    size_t product;                 /* tasks of the dims so far */
    int ngroups;
    mark tunnel_at, tunnel_epochs_at; /* probes.tunnel and its epochs */
    mark plane_at, plane_epochs_at;
    mark connect_at, hessian_at, subspace_at;
    mark subspace_net_at, subspace_toy_at; /* a network-only / toy-only option given */
    mark swa_at, swa_lr_at;
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
    if (m.line < 1)
        m = (mark){1, 1};
    return WG_FAIL(code, "%s:%d:%d: %s", c->file, m.line, m.col, msg);
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

static int is_bool(const char *s)
{
    static const char *const b[] = {"true", "false", "yes", "no", "on", "off", "y", "n"};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        size_t k = 0;
        while (s[k] && b[i][k] && (s[k] | 0x20) == b[i][k])
            k++;
        if (!s[k] && !b[i][k])
            return 1;
    }
    return 0;
}

/* ---- did you mean ------------------------------------------------------------- */

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return (size_t)-1;
    size_t d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

/* The candidate closest to s (distance <= 2, and less than s is long), or one that s
 * is a prefix of (or that is a prefix of s); NULL if none is close. */
static const char *suggest(const char *s, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = 3, len = strlen(s);
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(s, cands[i]);
        if (d < bestd && d < len) {
            best = cands[i];
            bestd = d;
        }
    }
    for (size_t i = 0; !best && len >= 2 && i < n; i++) {
        size_t cl = strlen(cands[i]);
        if (strncmp(cands[i], s, len) == 0 || (cl >= 2 && strncmp(s, cands[i], cl) == 0))
            best = cands[i];
    }
    return best;
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
    const char *s = suggest(key, cands, n);
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

static void type_desc(const keydef *kd, char *buf, size_t cap)
{
    switch (kd->type) {
    case T_INT: snprintf(buf, cap, "an integer"); break;
    case T_FLOAT: snprintf(buf, cap, "a number"); break;
    case T_TEXT: snprintf(buf, cap, "a string"); break;
    case T_INTLIST: snprintf(buf, cap, "a list of integers"); break;
    case T_NAME: {
        const char *names[8];
        for (int i = 0; i < kd->nchoices && i < 8; i++)
            names[i] = kd->choice(i);
        char list[128];
        join(list, sizeof list, names, (size_t)kd->nchoices);
        snprintf(buf, cap, "one of %s", list);
        break;
    }
    }
}

/* Plain decimal integer, fully consumed.  0 or -1 with a message in err. */
static int parse_int(const char *what, const char *s, int quoted, double *out, char *err,
                     size_t cap)
{
    if (quoted)
        return snprintf(err, cap, "%s: expected an integer, got the string \"%s\"", what, s), -1;
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
        !strcmp(s, "NULL"))
        return snprintf(err, cap, "%s: missing value (expected an integer)", what), -1;
    if (is_bool(s))
        return snprintf(err, cap, "%s: expected an integer, got the boolean '%s'", what, s), -1;
    if (strchr(s, 'x') || strchr(s, 'X'))
        return snprintf(err, cap, "%s: expected a decimal integer, got '%s'", what, s), -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        return snprintf(err, cap, "%s: expected an integer, got '%s'", what, s), -1;
    if (errno == ERANGE || v > (long long)INT_EXACT || v < -(long long)INT_EXACT)
        return snprintf(err, cap, "%s: integer '%s' is too large", what, s), -1;
    *out = (double)v;
    return 0;
}

/* Decimal number (YAML's .inf and .nan included), fully consumed. */
static int parse_float(const char *what, const char *s, int quoted, double *out, char *err,
                       size_t cap)
{
    if (quoted)
        return snprintf(err, cap, "%s: expected a number, got the string \"%s\"", what, s), -1;
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
        !strcmp(s, "NULL"))
        return snprintf(err, cap, "%s: missing value (expected a number)", what), -1;
    if (is_bool(s))
        return snprintf(err, cap, "%s: expected a number, got the boolean '%s'", what, s), -1;
    if (strchr(s, 'x') || strchr(s, 'X'))
        return snprintf(err, cap, "%s: expected a decimal number, got '%s'", what, s), -1;
    const char *t = s + (*s == '+' || *s == '-');
    int neg = *s == '-';
    if (!strcmp(t, ".inf") || !strcmp(t, ".Inf") || !strcmp(t, ".INF")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
        *out = NAN;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        return snprintf(err, cap, "%s: expected a number, got '%s'", what, s), -1;
    *out = v;
    return 0;
}

static void describe_range(const keydef *kd, char *buf, size_t cap)
{
    if (kd->only13)
        snprintf(buf, cap, "1 or 3");
    else if (kd->type == T_INT && kd->hi >= INT_EXACT)
        snprintf(buf, cap, ">= %.0f", kd->lo);
    else if (kd->type == T_INT)
        snprintf(buf, cap, "in [%.0f, %.0f]", kd->lo, kd->hi);
    else if (isinf(kd->hi))
        snprintf(buf, cap, "%s %g", kd->lo_open ? ">" : ">=", kd->lo);
    else
        snprintf(buf, cap, "in %c%g, %g%c", kd->lo_open ? '(' : '[', kd->lo, kd->hi,
                 kd->hi_open ? ')' : ']');
}

/* Range check of a numeric value of kd; repr is the value as written. */
static int check_range(const keydef *kd, double v, const char *repr, char *err, size_t cap)
{
    char r[64];
    describe_range(kd, r, sizeof r);
    if (!isfinite(v))
        return snprintf(err, cap, "%s = %s: must be a finite number %s", kd->name, repr, r), -1;
    /* a float field must satisfy the range after rounding too (0.99999999999 -> 1.0f) */
    double stored = kd->st == ST_FLOAT ? (double)(float)v : v;
    int ok = 1;
    for (int pass = 0; pass < 2; pass++) {
        double x = pass ? stored : v;
        ok = ok && (kd->lo_open ? x > kd->lo : x >= kd->lo) &&
             (kd->hi_open ? x < kd->hi : x <= kd->hi);
    }
    if (ok && kd->only13)
        ok = v == 1 || v == 3;
    if (ok)
        return 0;
    if (kd->type == T_INT && v > kd->hi && kd->hi >= INT_EXACT)
        return snprintf(err, cap, "%s = %s is too large (at most %.0f)", kd->name, repr, kd->hi),
               -1;
    return snprintf(err, cap, "%s = %s is out of range: must be %s", kd->name, repr, r), -1;
}

static int choice_index(const keydef *kd, const char *s)
{
    for (int i = 0; i < kd->nchoices; i++)
        if (strcmp(s, kd->choice(i)) == 0)
            return i;
    return -1;
}

/* Text s as a value of kd: a number (T_INT, T_FLOAT, range-checked), a choice's index
 * (T_NAME) or a string that fits (T_TEXT).  0, or -1 with a message in err. */
static int convert(const keydef *kd, const char *s, int quoted, double *num, char *err,
                   size_t cap)
{
    *num = 0;
    switch (kd->type) {
    case T_INT:
    case T_INTLIST:
        return parse_int(kd->name, s, quoted, num, err, cap) ||
               check_range(kd, *num, s, err, cap) ? -1 : 0;
    case T_FLOAT:
        return parse_float(kd->name, s, quoted, num, err, cap) ||
               check_range(kd, *num, s, err, cap) ? -1 : 0;
    case T_NAME: {
        int i = choice_index(kd, s);
        if (i >= 0) {
            *num = i;
            return 0;
        }
        const char *names[8];
        for (int k = 0; k < kd->nchoices && k < 8; k++)
            names[k] = kd->choice(k);
        char list[128];
        join(list, sizeof list, names, (size_t)kd->nchoices);
        const char *sug = *s ? suggest(s, names, (size_t)kd->nchoices) : NULL;
        if (!*s && !quoted)
            snprintf(err, cap, "%s: missing value (expected one of %s)", kd->name, list);
        else if (sug)
            snprintf(err, cap, "%s '%s' is not one of %s (did you mean '%s'?)", kd->name, s,
                     list, sug);
        else
            snprintf(err, cap, "%s '%s' is not one of %s", kd->name, s, list);
        return -1;
    }
    case T_TEXT:
        if (strlen(s) >= kd->cap)
            return snprintf(err, cap, "%s is too long (%zu bytes; at most %zu)", kd->name,
                            strlen(s), kd->cap - 1), -1;
        return 0;
    }
    return -1;
}

/* A scalar node as a value of kd (errors at the node). */
static int node_value(const ctx *c, const keydef *kd, const yaml_node_t *n, double *num)
{
    char err[512];
    if (n->type != YAML_SCALAR_NODE) {
        type_desc(kd, err, sizeof err);
        return fail(c, mark_of(n), WG_EARG, "%s: expected %s, got %s", kd->name, err,
                    node_desc(n));
    }
    if (strlen(sval(n)) != n->data.scalar.length)
        return fail(c, mark_of(n), WG_EARG, "%s: value contains a NUL character", kd->name);
    if (kd->type == T_TEXT && is_null(n))
        return fail(c, mark_of(n), WG_EARG, "%s: missing value (expected a string)", kd->name);
    int quoted = n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (convert(kd, sval(n), quoted, num, err, sizeof err))
        return fail(c, mark_of(n), WG_EARG, "%s", err);
    return 0;
}

/* Store a converted value into a setting. */
static void apply(wg_setting *s, const keydef *kd, double num, const char *text)
{
    char *p = (char *)s + kd->off;
    switch (kd->st) {
    case ST_SIZE: { size_t v = (size_t)num; memcpy(p, &v, sizeof v); break; }
    case ST_INT:
    case ST_ENUM: { int v = (int)num; memcpy(p, &v, sizeof v); break; }
    case ST_LONG: { long v = (long)num; memcpy(p, &v, sizeof v); break; }
    case ST_FLOAT: { float v = (float)num; memcpy(p, &v, sizeof v); break; }
    case ST_DOUBLE: memcpy(p, &num, sizeof num); break;
    case ST_STR: snprintf(p, kd->cap, "%s", text); break;
    case ST_LIST: break;
    }
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
    snprintf(c->p->name, sizeof c->p->name, "%s", s);
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
    snprintf(c->p->output, sizeof c->p->output, "%s", sval(v));
    return 0;
}

static int top_seed(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    double x;
    int rc = node_value(c, &master_key, v, &x);
    if (rc == 0)
        c->p->seed = (uint64_t)x;
    return rc;
}

static int parse_snapshots(ctx *c, const keydef *kd, const yaml_node_t *v)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a list of integers, got %s",
                    kd->name, node_desc(v));
    wg_setting *s = &c->p->base;
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
        for (int i = 0; i < NKEYS && k < 0; i++)
            if (in_section(&keys[i], sec) && strcmp(short_name(keys[i].name), sval(kn)) == 0)
                k = i;
        if (k < 0) {
            const char *cands[NKEYS];
            size_t n = 0;
            for (int i = 0; i < NKEYS; i++)
                if (in_section(&keys[i], sec))
                    cands[n++] = short_name(keys[i].name);
            return unknown_key(c, kn, where, cands, n);
        }
        const yaml_node_t *val = node(c, pr->value);
        if (keys[k].type == T_INTLIST) {
            rc = parse_snapshots(c, &keys[k], val);
        } else {
            double x;
            rc = node_value(c, &keys[k], val, &x);
            if (rc == 0)
                apply(&c->p->base, &keys[k], x, sval(val));
        }
        if (rc)
            return rc;
        c->given[k] = mark_of(val);
    }
    return 0;
}

/* ---- probes ------------------------------------------------------------------------ */

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

const char *wg_task_kind_name(wg_task_kind k)
{
    static const char *names[WG_TASK_KINDS] = {"train", "tunnel", "plane", "connect",
                                               "hessian", "subspace", "swa"};
    return (unsigned)k < WG_TASK_KINDS ? names[k] : "?";
}

/* A number of a probe option, with the same strict parsing as the setting keys. */
static int probe_number(ctx *c, const char *name, const yaml_node_t *v, int is_int, double lo,
                        int lo_open, double hi, double *out)
{
    keydef kd = {.name = name, .type = is_int ? T_INT : T_FLOAT, .lo = lo, .lo_open = lo_open,
                 .hi = hi};
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



/* A table-driven option mapping (connectors, probes.hessian): each entry names an
 * option, its type and range, and where the value goes. */
typedef struct opt_def {
    const char *name;
    char type;        /* 'i' int, 'z' size_t, 'f' double, 'b' bool, 'e' enum, 'L' int list,
                         'F' list of doubles, 'S' list of names (bit set of choices) */
    double lo, hi;
    int lo_open;
    void *dst;
    int *count;       /* 'L': number of values */
    int max;          /* 'L': capacity */
    const char *const *choices;
    int nchoices;
    mark *at;         /* if set: where the value was written (for later errors) */
} opt_def;

static int parse_opts(ctx *c, const char *where, const yaml_node_t *v, const opt_def *defs,
                      int n)
{
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(v), WG_EARG, "%s: expected a mapping, got %s", where,
                    node_desc(v));
    char in[80], full[96];
    snprintf(in, sizeof in, "in %s", where);
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn, *val = node(c, pr->value);
        int rc = pair_key(c, v, pr, in, &kn);
        if (rc)
            return rc;
        const opt_def *d = NULL;
        for (int i = 0; i < n && !d; i++)
            if (strcmp(defs[i].name, sval(kn)) == 0)
                d = &defs[i];
        if (!d) {
            const char *cands[16];
            for (int i = 0; i < n && i < 16; i++)
                cands[i] = defs[i].name;
            return unknown_key(c, kn, in, cands, (size_t)(n < 16 ? n : 16));
        }
        snprintf(full, sizeof full, "%s.%s", where, d->name);
        if (d->at)
            *d->at = mark_of(val);
        double x;
        switch (d->type) {
        case 'i':
        case 'z':
        case 'f':
            rc = probe_number(c, full, val, d->type != 'f', d->lo, d->lo_open, d->hi, &x);
            if (rc == 0 && d->type == 'i')
                *(int *)d->dst = (int)x;
            else if (rc == 0 && d->type == 'z')
                *(size_t *)d->dst = (size_t)x;
            else if (rc == 0)
                *(double *)d->dst = x;
            break;
        case 'b':
        case 'e': {
            const char *t = val->type == YAML_SCALAR_NODE ? sval(val) : "";
            int k = -1;
            for (int i = 0; i < d->nchoices; i++)
                if (strcmp(t, d->choices[i]) == 0)
                    k = i;
            if (d->type == 'b') {
                if (strcmp(t, "true") == 0 || strcmp(t, "yes") == 0)
                    k = 1;
                else if (strcmp(t, "false") == 0 || strcmp(t, "no") == 0)
                    k = 0;
            }
            if (k < 0) {
                char list[160] = "true, false";
                if (d->type == 'e')
                    join(list, sizeof list, d->choices, (size_t)d->nchoices);
                rc = fail(c, mark_of(val), WG_EARG, "%s: '%s' is not one of %s", full, t, list);
            } else {
                *(int *)d->dst = k;
            }
            break;
        }
        case 'L':
        case 'F': {
            double list[WG_MAX_DIMS];
            int got = 0;
            rc = probe_list(c, full, val, d->type == 'L', d->lo, d->lo_open, d->hi, list,
                            d->max < WG_MAX_DIMS ? d->max : WG_MAX_DIMS, &got);
            for (int i = 0; rc == 0 && i < got; i++) {
                if (d->type == 'L')
                    ((int *)d->dst)[i] = (int)list[i];
                else
                    ((double *)d->dst)[i] = list[i];
            }
            if (rc == 0)
                *d->count = got;
            break;
        }
        case 'S': {
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
                *(int *)d->dst = bits;
            break;
        }
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int probe_tunnel(ctx *c, const yaml_node_t *v)
{
    wg_tunnel_plan *t = &c->p->tunnel;
    t->enabled = 1;
    t->directions = 32;
    t->nlevels = 2;
    t->levels[0] = 1.0;
    t->levels[1] = 0.5;
    t->chance = 1;
    t->probe_size = 10000;
    t->split = 1;
    t->a_max = 1000.0;
    c->tunnel_at = mark_of(v);
    const opt_def defs[] = {
        {"epochs", 'L', 1, 100000, 0, t->epochs, &t->nepochs, WG_MAX_PROBE_EPOCHS, NULL, 0,
         &c->tunnel_epochs_at},
        {"directions", 'i', 1, 4096, 0, &t->directions, NULL, 0, NULL, 0, NULL},
        {"levels", 'F', 0, 1e6, 1, t->levels, &t->nlevels, WG_MAX_LEVELS - 1, NULL, 0, NULL},
        {"chance", 'b', 0, 0, 0, &t->chance, NULL, 0, NULL, 0, NULL},
        {"probe_size", 'z', 1, 1e8, 0, &t->probe_size, NULL, 0, NULL, 0, NULL},
        {"split", 'i', 1, 4096, 0, &t->split, NULL, 0, NULL, 0, NULL},
        {"a_max", 'f', 1, 1e9, 1, &t->a_max, NULL, 0, NULL, 0, NULL},
    };
    int rc = parse_opts(c, "probes.tunnel", v, defs, (int)(sizeof defs / sizeof *defs));
    if (rc == 0 && t->split > t->directions)
        rc = fail(c, mark_of(v), WG_EARG, "probes.tunnel: split = %d is more than the %d directions",
                  t->split, t->directions);
    return rc;
}

static int probe_plane(ctx *c, const yaml_node_t *v)
{
    wg_plane_plan *t = &c->p->plane;
    t->enabled = 1;
    t->grid = 21;
    t->margin = 0.5;
    t->probe_size = 10000;
    t->split = 1;
    c->plane_at = mark_of(v);
    const opt_def defs[] = {
        {"epochs", 'L', 1, 100000, 0, t->epochs, &t->nepochs, WG_MAX_PROBE_EPOCHS, NULL, 0,
         &c->plane_epochs_at},
        {"grid", 'i', 2, 1001, 0, &t->grid, NULL, 0, NULL, 0, NULL},
        {"margin", 'f', 0, 100, 0, &t->margin, NULL, 0, NULL, 0, NULL},
        {"probe_size", 'z', 1, 1e8, 0, &t->probe_size, NULL, 0, NULL, 0, NULL},
        {"split", 'i', 1, 1001, 0, &t->split, NULL, 0, NULL, 0, NULL},
    };
    int rc = parse_opts(c, "probes.plane", v, defs, (int)(sizeof defs / sizeof *defs));
    if (rc == 0 && t->split > t->grid)
        rc = fail(c, mark_of(v), WG_EARG, "probes.plane: split = %d is more than the %d grid rows",
                  t->split, t->grid);
    return rc;
}

static int sec_connectors(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    wg_connect_plan *t = &c->p->connect;
    t->enabled = 1;
    t->nm = 1;
    t->m[0] = 1;
    t->points = 9;
    t->objective = 0;
    t->steps = 200;
    t->rounds = 2;
    t->lr = 1e-3;
    t->probe_size = 10000;
    t->eval_points = 10;
    c->connect_at = mark_of(v);
    static const char *const objectives[] = {"point", "path"};
    const opt_def defs[] = {
        {"m", 'L', 1, WG_MAX_M, 0, t->m, &t->nm, WG_MAX_M, NULL, 0, NULL},
        {"points", 'i', 1, 100, 0, &t->points, NULL, 0, NULL, 0, NULL},
        {"objective", 'e', 0, 0, 0, &t->objective, NULL, 0, objectives, 2, NULL},
        {"steps", 'i', 0, 1e7, 0, &t->steps, NULL, 0, NULL, 0, NULL},
        {"rounds", 'i', 1, 1000, 0, &t->rounds, NULL, 0, NULL, 0, NULL},
        {"lr", 'f', 0, 1e6, 1, &t->lr, NULL, 0, NULL, 0, NULL},
        {"probe_size", 'z', 1, 1e8, 0, &t->probe_size, NULL, 0, NULL, 0, NULL},
        {"eval_points", 'i', 2, 1000, 0, &t->eval_points, NULL, 0, NULL, 0, NULL},
    };
    return parse_opts(c, "connectors", v, defs, (int)(sizeof defs / sizeof *defs));
}

static int probe_hessian(ctx *c, const yaml_node_t *v)
{
    wg_hessian_plan *t = &c->p->hessian;
    t->enabled = 1;
    t->threshold = 1.0;
    t->budget = 600;
    t->probe_size = 10000;
    int at = 1;
    c->hessian_at = mark_of(v);
    static const char *const places[] = {"optima", "connectors"};
    const opt_def defs[] = {
        {"at", 'S', 0, 0, 0, &at, NULL, 0, places, 2, NULL},
        {"threshold", 'f', 0, 1e12, 1, &t->threshold, NULL, 0, NULL, 0, NULL},
        {"budget", 'i', 1, 100000, 0, &t->budget, NULL, 0, NULL, 0, NULL},
        {"probe_size", 'z', 1, 1e8, 0, &t->probe_size, NULL, 0, NULL, 0, NULL},
    };
    int rc = parse_opts(c, "probes.hessian", v, defs, (int)(sizeof defs / sizeof *defs));
    t->at_optima = at & 1;
    t->at_connectors = (at >> 1) & 1;
    return rc;
}

static int probe_subspace(ctx *c, const yaml_node_t *v)
{
    wg_subspace_plan *t = &c->p->subspace;
    t->enabled = 1;
    t->ndims = 0;
    t->lr = 0.1;
    t->lr_ref_d = 100;
    t->nnz = 32;
    t->toy_optimizer = 0;
    t->toy_steps = 0;
    t->noffsets = 0;
    c->subspace_at = mark_of(v);
    static const char *const anchors[] = {"init", "optimum"};
    static const char *const optimizers[] = {"active-set", "polyak"}; /* wg_hyper_method */
    mark *net = &c->subspace_net_at, *toy = &c->subspace_toy_at;
    const opt_def defs[] = {
        {"dims", 'L', 1, 1e7, 0, t->dims, &t->ndims, WG_MAX_DIMS, NULL, 0, NULL},
        {"at", 'e', 0, 0, 0, &t->at_optimum, NULL, 0, anchors, 2, NULL},
        {"epochs", 'i', 1, 100000, 0, &t->epochs, NULL, 0, NULL, 0, net},
        {"lr", 'f', 0, 1e6, 1, &t->lr, NULL, 0, NULL, 0, net},
        {"lr_ref_d", 'i', 0, 1e7, 0, &t->lr_ref_d, NULL, 0, NULL, 0, net},
        {"nnz", 'i', 1, 100000, 0, &t->nnz, NULL, 0, NULL, 0, net},
        {"optimizer", 'e', 0, 0, 0, &t->toy_optimizer, NULL, 0, optimizers, 2, toy},
        {"steps", 'i', 1, 10000000, 0, &t->toy_steps, NULL, 0, NULL, 0, toy},
        {"offsets", 'L', -1e7, 1e7, 0, t->offsets, &t->noffsets, WG_MAX_DIMS, NULL, 0, toy},
    };
    int rc = parse_opts(c, "probes.subspace", v, defs, (int)(sizeof defs / sizeof *defs));
    if (rc == 0 && t->ndims == 0 && t->noffsets == 0)
        rc = fail(c, mark_of(v), WG_EARG,
                  "probes.subspace: `dims` (the list of d) is required (or, for the toy "
                  "model, `offsets`: d = D - n + offset)");
    if (rc == 0 && t->ndims > 0 && t->noffsets > 0)
        rc = fail(c, mark_of(v), WG_EARG,
                  "probes.subspace: give either `dims` or `offsets`, not both");
    return rc;
}

/* probes.swa (docs/sweep-format.md): lr_max values must differ (identical tasks
 * otherwise); the optimizer defaults to the training's (-1). */
static int probe_swa(ctx *c, const yaml_node_t *v)
{
    wg_swa_plan *t = &c->p->swa;
    t->enabled = 1;
    t->nlr = 0;
    t->cycles = 8;
    t->cycle_epochs = 1;
    t->min_ratio = 0.01;
    t->optimizer = -1;
    t->probe_size = 10000;
    c->swa_at = mark_of(v);
    static const char *const opts[] = {"adam", "sgd"}; /* = wg_opt_kind */
    const opt_def defs[] = {
        {"lr_max", 'F', 0, INFINITY, 1, t->lr_max, &t->nlr, WG_MAX_DIMS, NULL, 0, &c->swa_lr_at},
        {"cycles", 'i', 1, 64, 0, &t->cycles, NULL, 0, NULL, 0, NULL},
        {"cycle_epochs", 'i', 1, 100000, 0, &t->cycle_epochs, NULL, 0, NULL, 0, NULL},
        {"min_ratio", 'f', 0, 1, 1, &t->min_ratio, NULL, 0, NULL, 0, NULL},
        {"optimizer", 'e', 0, 0, 0, &t->optimizer, NULL, 0, opts, 2, NULL},
        {"probe_size", 'z', 1, 1e8, 0, &t->probe_size, NULL, 0, NULL, 0, NULL},
    };
    int rc = parse_opts(c, "probes.swa", v, defs, (int)(sizeof defs / sizeof *defs));
    if (rc == 0 && t->nlr == 0)
        rc = fail(c, mark_of(v), WG_EARG,
                  "probes.swa: `lr_max` (the list of cycle learning rates) is required");
    for (int j = 1; rc == 0 && j < t->nlr; j++)
        for (int i = 0; rc == 0 && i < j; i++)
            if (t->lr_max[i] == t->lr_max[j])
                rc = fail(c, c->swa_lr_at, WG_EARG,
                          "probes.swa.lr_max: value %d repeats value %d (%g): identical tasks",
                          j + 1, i + 1, t->lr_max[j]);
    return rc;
}

static int sec_probes(ctx *c, const char *sec, const yaml_node_t *v)
{
    (void)sec;
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, mark_of(v), WG_EARG, "probes: expected a mapping of probes, got %s",
                    node_desc(v));
    static const char *const kinds[] = {"tunnel", "plane", "hessian", "subspace", "swa"};
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *kn;
        int rc = pair_key(c, v, pr, "in probes", &kn);
        if (rc)
            return rc;
        if (strcmp(sval(kn), "tunnel") == 0)
            rc = probe_tunnel(c, node(c, pr->value));
        else if (strcmp(sval(kn), "plane") == 0)
            rc = probe_plane(c, node(c, pr->value));
        else if (strcmp(sval(kn), "hessian") == 0)
            rc = probe_hessian(c, node(c, pr->value));
        else if (strcmp(sval(kn), "subspace") == 0)
            rc = probe_subspace(c, node(c, pr->value));
        else if (strcmp(sval(kn), "swa") == 0)
            rc = probe_swa(c, node(c, pr->value));
        else
            rc = unknown_key(c, kn, "in probes", kinds, 5);
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
static int list_values(ctx *c, const keydef *kd, const yaml_node_t *list, vals *out)
{
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n == 0)
        return fail(c, mark_of(list), WG_EARG, "%s: empty list of values", kd->name);
    if (n > WG_MAX_VALUES)
        return fail(c, mark_of(list), WG_EARG, "%s: %zu values (at most %d per axis)",
                    kd->name, n, WG_MAX_VALUES);
    int text = kd->type == T_NAME || kd->type == T_TEXT;
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
        int rc = ints ? parse_int(what, sval(it), quoted, &x[i], err, sizeof err)
                      : parse_float(what, sval(it), quoted, &x[i], err, sizeof err);
        if (rc)
            return fail(c, at[i], WG_EARG, "%s", err);
        if (!isfinite(x[i]))
            return fail(c, at[i], WG_EARG, "%s: bounds must be finite, got %s", what, sval(it));
    }
    return 0;
}

/* {log: [a, b], num: n}, {linear: [a, b], num: n} or {range: [start, stop(, step)]}. */
static int gen_values(ctx *c, const keydef *kd, const yaml_node_t *map, vals *out)
{
    static const char *const gkeys[] = {"log", "linear", "range", "num"};
    char where[96], what[96];
    snprintf(where, sizeof where, "in the generator of %s", kd->name);
    if (kd->type == T_NAME || kd->type == T_TEXT)
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
        } else if (suggest(k, gkeys, 4)) {
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
        static const keydef num_key = {.name = "num", .type = T_INT, .lo = 1,
                                       .hi = WG_MAX_VALUES};
        if (numv->type != YAML_SCALAR_NODE)
            return fail(c, mark_of(numv), WG_EARG, "%s num: expected an integer, got %s",
                        kd->name, node_desc(numv));
        if (convert(&num_key, sval(numv), numv->data.scalar.style != YAML_PLAIN_SCALAR_STYLE,
                    &x, err, sizeof err))
            return fail(c, mark_of(numv), WG_EARG, "%s: %s", kd->name, err);
        n = (size_t)x;
        int lg = !strcmp(g, "log");
        for (int i = 0; i < 2; i++) {
            if (lg && !(b[i] > 0))
                return fail(c, bat[i], WG_EARG, "%s: bounds must be > 0, got %g", what, b[i]);
            char repr[32];
            snprintf(repr, sizeof repr, "%g", b[i]);
            if (check_range(kd, b[i], repr, err, sizeof err))
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
        if (kd->type == T_INT) {
            double r = nearbyint(v);
            if (fabs(v - r) > 1e-9 * fmax(1.0, fabs(v)))
                return fail(c, mark_of(map), WG_EARG,
                            "%s: value %zu of the generator is %g, not an integer (list the "
                            "values instead)", kd->name, i + 1, v);
            out->num[i] = v = r;
        }
        char repr[32], err[512];
        snprintf(repr, sizeof repr, "%g", v);
        if (check_range(kd, v, repr, err, sizeof err))
            return fail(c, mark_of(map), WG_EARG, "%s (value %zu of the generator)", err, i + 1);
    }
    return 0;
}

/* A crossed axis with the same value twice would give identical tasks. */
static int check_distinct(const ctx *c, const keydef *kd, const vals *v)
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
    for (int k = 0; k < NKEYS; k++) {
        if (strcmp(keys[k].name, key) != 0)
            continue;
        if (keys[k].type == T_INTLIST)
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
    for (int k = 0; k < NKEYS; k++)
        if (strchr(keys[k].name, '.') && !strcmp(short_name(keys[k].name), key))
            return fail(c, mark_of(kn), WG_EARG,
                        "unknown key '%s' in sweep (did you mean '%s'?)", key, keys[k].name);
    const char *cands[NKEYS + 1];
    size_t n = 0;
    for (int k = 0; k < NKEYS; k++)
        if (keys[k].type != T_INTLIST)
            cands[n++] = keys[k].name;
    cands[n++] = "zip";
    const char *s = suggest(key, cands, n);
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
    wg_plan *p = c->p;
    int k = 0, rc = sweep_key(c, kn, &k);
    if (rc)
        return rc;
    const keydef *kd = &keys[k];
    if (c->key_axis[k] >= 0) {
        const wg_axis *first = &p->axes[c->key_axis[k]];
        return fail(c, mark_of(kn), WG_EARG, "%s is swept twice (first at %d:%d)", kd->name,
                    first->line, first->column);
    }
    const char *nm = short_name(kd->name);
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
    c->vat[a] = vs.at;
    c->axis_key[a] = k;
    c->key_axis[k] = (int)a;
    return 0;
}

/* Append a factor of the product, failing if the plan grows past MAX_TASKS. */
static int add_dim(ctx *c, size_t first, size_t count, mark at)
{
    size_t n = c->p->axes[first].n;
    if (c->product * n > MAX_TASKS)
        return fail(c, at, WG_EARG, "the sweep expands to more than %d tasks (%zu x %zu here)",
                    MAX_TASKS, c->product, n);
    c->product *= n;
    c->dims[c->ndims++] = (dim){n, first, count};
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
    int gid = c->ngroups++;
    size_t first = c->p->naxes;
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
        const wg_axis *a0 = &c->p->axes[first], *an = &c->p->axes[c->p->naxes - 1];
        if (an->n != a0->n)
            return fail(c, mark_of(kn), WG_EARG,
                        "zip lists have unequal lengths: %s has %zu values, %s has %zu",
                        a0->key, a0->n, an->key, an->n);
    }
    return add_dim(c, first, c->p->naxes - first, mark_of(g));
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
                rc = add_dim(c, c->p->naxes - 1, 1, mark_of(kn));
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- tasks ---------------------------------------------------------------------------- */

/* Full split sizes and input shape of a setting's dataset. */
static void data_shape(wg_setting *s, size_t *ntrain, size_t *ntest)
{
    wg_net_opts *o = &s->net;
    o->classes = 10;
    switch (s->data) {
    case WG_DATA_CIFAR10:
    case WG_DATA_CIFAR100:
        o->in_h = o->in_w = 32;
        o->in_c = 3;
        o->classes = s->data == WG_DATA_CIFAR100 ? 100 : 10;
        *ntrain = 50000;
        *ntest = 10000;
        break;
    case WG_DATA_SYNTHETIC:
        o->in_h = o->in_w = s->synth_size;
        o->in_c = s->synth_channels;
        *ntrain = s->synth_train;
        *ntest = s->synth_test;
        break;
    default: /* MNIST, Fashion-MNIST */
        o->in_h = o->in_w = 28;
        o->in_c = 1;
        *ntrain = 60000;
        *ntest = 10000;
        break;
    }
}

/* Sorted unique snapshots with the final epoch appended; -1 if more than fit. */
static int resolve_snapshots(wg_setting *s)
{
    int v[WG_MAX_SNAPSHOTS + 1], n = 0;
    for (int i = 0; i < s->nsnapshots; i++) {
        int x = s->snapshots[i], j = n;
        while (j > 0 && v[j - 1] > x)
            j--;
        if (j > 0 && v[j - 1] == x)
            continue;
        memmove(v + j + 1, v + j, (size_t)(n - j) * sizeof *v);
        v[j] = x;
        n++;
    }
    if (n == 0 || v[n - 1] != s->train.epochs)
        v[n++] = s->train.epochs;
    if (n > WG_MAX_SNAPSHOTS)
        return -1;
    memcpy(s->snapshots, v, (size_t)n * sizeof *v);
    s->nsnapshots = n;
    return 0;
}

size_t wg_setting_nparams(const wg_setting *s)
{
    if (s->net.arch == WG_ARCH_TOY)
        return s->toy_dim > 0 ? (size_t)s->toy_dim : 0;
    wg_net net;
    if (wg_net_init(&net, &s->net, 1) != 0) {
        wg_err_clear();
        return 0;
    }
    size_t D = net.nparams;
    wg_net_free(&net);
    return D;
}

static double flops_per_image(const wg_net_opts *o)
{
    if (o->arch == WG_ARCH_TOY)
        return 1.0;
    if (o->arch == WG_ARCH_SIMPLECNN)
        return 3.0e6 * o->width * o->width * (o->in_h * o->in_w / 784.0);
    double in = (double)o->in_h * o->in_w * o->in_c, h = o->hidden, k = o->classes;
    if (o->depth == 0)
        return 2 * in * k;
    return 2 * (in * h + (o->depth - 1) * h * h + h * k);
}

/* Where the value of key k for task t was written (line 0: the default). */
static mark value_mark(const ctx *c, const wg_task *t, int k)
{
    int a = c->key_axis[k];
    if (a >= 0)
        return c->vat[a][t->axis_index[a]];
    return c->given[k];
}

/* The mark of the first of keys[0..n) that the sweep varies, else of the first that
 * the file sets, else fallback: the value a user should change. */
static mark culprit(const ctx *c, const wg_task *t, const int *ks, int n, mark fallback)
{
    for (int i = 0; i < n; i++)
        if (c->key_axis[ks[i]] >= 0)
            return value_mark(c, t, ks[i]);
    for (int i = 0; i < n; i++)
        if (c->given[ks[i]].line > 0)
            return c->given[ks[i]];
    return fallback;
}

static mark section_mark(const ctx *c, const char *name)
{
    for (size_t i = 0; i < NSECTIONS; i++)
        if (!strcmp(sections[i].name, name) && c->sec_at[i].line > 0)
            return c->sec_at[i];
    return c->root;
}

/* Fill the derived fields of task t and check its setting as a whole. */
/* Add a probe's epochs to a setting's snapshots (a probe reads stored parameters). */
static int keep_epochs(const ctx *c, wg_setting *s, const int *epochs, int n, mark at,
                       const char *probe, const char *task)
{
    for (int i = 0; i < n; i++) {
        if (epochs[i] > s->train.epochs)
            return fail(c, at, WG_EARG, "probes.%s.epochs: epoch %d is beyond train.epochs = %d%s",
                        probe, epochs[i], s->train.epochs, task);
        int have = 0;
        for (int j = 0; j < s->nsnapshots; j++)
            have |= s->snapshots[j] == epochs[i];
        if (!have && s->nsnapshots < WG_MAX_SNAPSHOTS)
            s->snapshots[s->nsnapshots++] = epochs[i];
    }
    return 0;
}

static int finish_task(ctx *c, wg_task *t)
{
    wg_setting *s = &t->set;
    const char *kind = wg_data_kind_name(s->data);
    char task[48] = "";
    if (c->p->naxes > 0)
        snprintf(task, sizeof task, " (task %zu)", t->id);
    size_t ntrain, ntest;
    data_shape(s, &ntrain, &ntest);
    mark dnode = section_mark(c, "data"), tnode = section_mark(c, "train");
    size_t eff = s->train_size ? s->train_size : ntrain;

    if (s->net.arch == WG_ARCH_TOY) {
        /* the toy model has no data: only its own shape matters */
        if (s->toy_long >= s->toy_dim)
            return fail(c, culprit(c, t, (const int[]){K_TOY_LONG, K_TOY_DIM}, 2,
                                   section_mark(c, "model")),
                        WG_EARG, "model.long = %d must be less than model.dim = %d%s",
                        s->toy_long, s->toy_dim, task);
        goto checked_data;
    }
    if (!s->data_path[0] && s->data != WG_DATA_FASHION_MNIST && s->data != WG_DATA_SYNTHETIC) {
        mark m = dnode;
        if (c->key_axis[K_DATA_NAME] >= 0 || c->key_axis[K_DATA_PATH] >= 0)
            m = culprit(c, t, (const int[]){K_DATA_NAME, K_DATA_PATH}, 2, dnode);
        return fail(c, m, WG_EARG,
                    "data.name %s needs data.path (only fashion-mnist has a default)%s", kind,
                    task);
    }
    if (s->train_size > ntrain)
        return fail(c, culprit(c, t, (const int[]){K_TRAIN_SIZE, K_DATA_NAME, K_SYNTH_TRAIN},
                               3, dnode),
                    WG_EARG, "data.train_size = %zu exceeds the %zu training images of %s%s",
                    s->train_size, ntrain, kind, task);
    if (s->test_size > ntest)
        return fail(c, culprit(c, t, (const int[]){K_TEST_SIZE, K_DATA_NAME, K_SYNTH_TEST}, 3,
                               dnode),
                    WG_EARG, "data.test_size = %zu exceeds the %zu test images of %s%s",
                    s->test_size, ntest, kind, task);
    if (s->train.batch_size > eff)
        return fail(c, culprit(c, t, (const int[]){K_BATCH, K_TRAIN_SIZE, K_DATA_NAME,
                                                   K_SYNTH_TRAIN}, 4, tnode),
                    WG_EARG,
                    "train.batch_size = %zu is larger than the training set (%zu images of %s)%s",
                    s->train.batch_size, eff, kind, task);
checked_data:
    for (int i = 0; i < s->nsnapshots; i++)
        if (s->snapshots[i] > s->train.epochs) {
            mark m = c->key_axis[K_EPOCHS] >= 0 ? value_mark(c, t, K_EPOCHS)
                                                : c->given[K_SNAPSHOTS];
            return fail(c, m, WG_EARG,
                        "train.snapshots: epoch %d is beyond train.epochs = %d%s",
                        s->snapshots[i], s->train.epochs, task);
        }
    if (s->net.arch == WG_ARCH_SIMPLECNN && (s->net.in_h < 8 || s->net.in_w < 8))
        return fail(c, culprit(c, t, (const int[]){K_SYNTH_SIZE, K_ARCH}, 2, dnode), WG_EARG,
                    "simplecnn needs images of at least 8x8, got %dx%d%s", s->net.in_h,
                    s->net.in_w, task);
    /* the epochs the probes read must be kept */
    const wg_tunnel_plan *tp = &c->p->tunnel;
    const wg_plane_plan *pp = &c->p->plane;
    int rc = 0;
    if (tp->enabled)
        rc = keep_epochs(c, s, tp->epochs, tp->nepochs, c->tunnel_epochs_at, "tunnel", task);
    if (rc == 0 && pp->enabled)
        rc = keep_epochs(c, s, pp->epochs, pp->nepochs, c->plane_epochs_at, "plane", task);
    if (rc)
        return rc;
    if (resolve_snapshots(s))
        return fail(c, c->given[K_SNAPSHOTS], WG_EARG,
                    "train.snapshots: more than %d epochs with the final one%s",
                    WG_MAX_SNAPSHOTS, task);
    s->train.seed = wg_setting_seed(c->p->seed, s->replicate);
    t->cost = 3.0 * s->train.epochs * (double)eff * flops_per_image(&s->net);
    return 0;
}

/* Probe tasks after the training tasks: per trained task, per probed epoch, `split`
 * tasks that share its directions.  They copy the training task's setting and axis
 * indices, so every coordinate of the output applies to them too. */
static int add_probes(ctx *c)
{
    wg_plan *p = c->p;
    const wg_tunnel_plan *tp = &p->tunnel;
    if (!tp->enabled)
        return 0;
    size_t per = (size_t)(tp->nepochs ? tp->nepochs : 1) * (size_t)tp->split;
    if (p->ntrain > 1000000 / per)
        return fail(c, c->tunnel_at, WG_EARG, "probes.tunnel: more than 10^6 tasks in all");
    size_t total = p->ntrain + p->ntrain * per;
    wg_task *grown = realloc(p->tasks, total * sizeof *grown);
    if (!grown)
        return WG_FAIL(WG_ENOMEM, "out of memory expanding probes");
    p->tasks = grown;
    size_t id = p->ntrain;
    for (size_t src = 0; src < p->ntrain; src++)
        for (int e = 0; e < (tp->nepochs ? tp->nepochs : 1); e++)
            for (int k = 0; k < tp->split; k++, id++) {
                const wg_task *s = &p->tasks[src];
                wg_task *t = &p->tasks[id];
                memset(t, 0, sizeof *t);
                t->id = id;
                t->kind = WG_TASK_TUNNEL;
                t->set = s->set;
                memcpy(t->axis_index, s->axis_index, sizeof t->axis_index);
                t->ndeps = 1;
                t->deps[0] = src;
                t->probe_epoch = tp->nepochs ? tp->epochs[e] : s->set.train.epochs;
                t->dir_first = (int)((long)tp->directions * k / tp->split);
                t->dir_count = (int)((long)tp->directions * (k + 1) / tp->split) - t->dir_first;
                /* ~30 evaluations per direction, forward passes over the probe set */
                t->cost = 30.0 * t->dir_count * (double)tp->probe_size *
                          flops_per_image(&t->set.net);
            }
    p->ntasks = total;
    return 0;
}

/* Whether training tasks a and b differ only in their replicate. */
static int same_but_seed(const ctx *c, const wg_task *a, const wg_task *b)
{
    for (size_t x = 0; x < c->p->naxes; x++)
        if (c->axis_key[x] != K_REPLICATE && a->axis_index[x] != b->axis_index[x])
            return 0;
    return 1;
}

/* Training tasks grouped by everything but the replicate: group g has members
 * ids[g * ntrain .. + count[g]) in plan order. */
static int replicate_groups(const ctx *c, size_t **ids, size_t **count, size_t *ngroups)
{
    const wg_plan *p = c->p;
    size_t n = p->ntrain ? p->ntrain : 1;
    *ids = wg_alloc(n, n * sizeof **ids, "seed groups");
    *count = wg_calloc(n, sizeof **count, "seed groups");
    *ngroups = 0;
    if (!*ids || !*count) {
        free(*ids);
        free(*count);
        return WG_ENOMEM;
    }
    for (size_t i = 0; i < p->ntrain; i++) {
        size_t g = 0;
        while (g < *ngroups && !same_but_seed(c, &p->tasks[(*ids)[g * n]], &p->tasks[i]))
            g++;
        if (g == *ngroups)
            (*ngroups)++;
        (*ids)[g * n + (*count)[g]++] = i;
    }
    return 0;
}

/* Room for `add` more tasks. */
static int grow_tasks(wg_plan *p, size_t add)
{
    wg_task *grown = realloc(p->tasks, (p->ntasks + add) * sizeof *grown);
    if (!grown)
        return WG_FAIL(WG_ENOMEM, "out of memory expanding the plan");
    p->tasks = grown;
    return 0;
}

/* A probe-like task reading training (or connector) tasks: the setting and
 * coordinates of the first. */
static wg_task *new_task(wg_plan *p, wg_task_kind kind, size_t first_dep)
{
    wg_task *t = &p->tasks[p->ntasks];
    const wg_task *s = &p->tasks[first_dep];
    memset(t, 0, sizeof *t);
    t->id = p->ntasks++;
    t->kind = kind;
    t->set = s->set;
    memcpy(t->axis_index, s->axis_index, sizeof t->axis_index);
    return t;
}

/* Plane tasks: for every group of training tasks that differ only in the replicate,
 * the plane through its first three members, per epoch, in `split` row blocks. */
static int add_planes(ctx *c)
{
    wg_plan *p = c->p;
    const wg_plane_plan *pp = &p->plane;
    if (!pp->enabled)
        return 0;
    size_t *ids, *count, ngroups, n = p->ntrain ? p->ntrain : 1;
    int rc = replicate_groups(c, &ids, &count, &ngroups);
    if (rc)
        return rc;
    size_t ne = (size_t)(pp->nepochs ? pp->nepochs : 1), add = 0;
    for (size_t g = 0; g < ngroups; g++)
        if (count[g] >= 3)
            add += ne * (size_t)pp->split;
    if (add == 0)
        rc = fail(c, c->plane_at, WG_EARG,
                  "probes.plane needs three trainings that differ only in seed: sweep "
                  "`seed` over at least 3 values");
    if (rc == 0)
        rc = grow_tasks(p, add);
    for (size_t g = 0; rc == 0 && g < ngroups; g++) {
        if (count[g] < 3)
            continue;
        const size_t *m = ids + g * n;
        for (size_t e = 0; rc == 0 && e < ne; e++)
            for (int k = 0; k < pp->split; k++) {
                wg_task *t = new_task(p, WG_TASK_PLANE, m[0]);
                t->ndeps = 3;
                for (int j = 0; j < 3; j++)
                    t->deps[j] = m[j];
                int ep = pp->nepochs ? pp->epochs[e] : t->set.train.epochs;
                for (int j = 0; j < 3; j++) /* the three must share the probed epoch */
                    if (p->tasks[m[j]].set.train.epochs < ep)
                        rc = fail(c, c->plane_at, WG_EARG,
                                  "probes.plane: epoch %d is beyond the epochs of task %zu", ep,
                                  m[j]);
                t->probe_epoch = ep;
                t->dir_first = (int)((long)pp->grid * k / pp->split);
                t->dir_count = (int)((long)pp->grid * (k + 1) / pp->split) - t->dir_first;
                t->cost = (double)t->dir_count * pp->grid * (double)pp->probe_size *
                          flops_per_image(&t->set.net);
            }
    }
    free(ids);
    free(count);
    return rc;
}

/* Connector tasks (one per group and order m, joining the group's first m+1
 * optima) and Hessian tasks (at optima, at 1-connector points, at m-connector
 * centres). */
static int add_connectors(ctx *c)
{
    wg_plan *p = c->p;
    const wg_connect_plan *cp = &p->connect;
    const wg_hessian_plan *hp = &p->hessian;
    int rc = 0;
    if (hp->enabled && hp->at_optima) {
        rc = grow_tasks(p, p->ntrain);
        for (size_t i = 0; rc == 0 && i < p->ntrain; i++) {
            wg_task *t = new_task(p, WG_TASK_HESSIAN, i);
            t->ndeps = 1;
            t->deps[0] = i;
            t->probe_epoch = t->set.train.epochs;
            t->dir_first = WG_AT_OPTIMUM;
            t->cost = 2.0 * hp->budget * 3.0 * (double)hp->probe_size * flops_per_image(&t->set.net);
        }
    }
    if (rc || !cp->enabled) {
        if (rc == 0 && hp->enabled && hp->at_connectors)
            rc = fail(c, c->hessian_at, WG_EARG,
                      "probes.hessian.at: connectors needs a `connectors:` section");
        return rc;
    }
    size_t *ids, *count, ngroups, n = p->ntrain ? p->ntrain : 1;
    rc = replicate_groups(c, &ids, &count, &ngroups);
    if (rc)
        return rc;
    for (size_t g = 0; rc == 0 && g < ngroups; g++)
        for (int k = 0; rc == 0 && k < cp->nm; k++) {
            int m = cp->m[k];
            if (count[g] < (size_t)m + 1) {
                rc = fail(c, c->connect_at, WG_EARG,
                          "connectors: m = %d joins %d optima, but only %zu trainings differ "
                          "only in seed: sweep `seed` over at least %d values", m, m + 1,
                          count[g], m + 1);
                break;
            }
            int npts = m == 1 ? cp->points : 1;
            rc = grow_tasks(p, 1 + (hp->enabled && hp->at_connectors ? (size_t)npts : 0));
            if (rc)
                break;
            const size_t *mem = ids + g * n;
            wg_task *t = new_task(p, WG_TASK_CONNECT, mem[0]);
            t->ndeps = (size_t)m + 1;
            for (int j = 0; j <= m; j++)
                t->deps[j] = mem[j];
            t->probe_epoch = t->set.train.epochs;
            t->dir_first = m;
            int rounds = cp->objective == 1 && m == 1 ? cp->rounds : 1;
            double per = 3.0 * (double)cp->probe_size * flops_per_image(&t->set.net);
            t->cost = (double)npts * cp->steps * rounds * per;
            size_t conn = t->id;
            for (int q = 0; hp->enabled && hp->at_connectors && q < npts; q++) {
                wg_task *h = new_task(p, WG_TASK_HESSIAN, mem[0]);
                h->ndeps = 1;
                h->deps[0] = conn;
                h->probe_epoch = h->set.train.epochs;
                h->dir_first = WG_AT_CONNECTOR;
                h->dir_count = q;
                h->cost = 2.0 * hp->budget * 3.0 * (double)hp->probe_size *
                          flops_per_image(&h->set.net);
            }
        }
    free(ids);
    free(count);
    return rc;
}

/* Subspace tasks: per training task and d; anchored at the optimum they depend on
 * the training, at the initialisation on nothing. */
static int add_subspaces(ctx *c)
{
    wg_plan *p = c->p;
    const wg_subspace_plan *sp = &p->subspace;
    if (!sp->enabled)
        return 0;
    const int nd = sp->ndims ? sp->ndims : sp->noffsets;
    int rc = grow_tasks(p, p->ntrain * (size_t)nd);
    for (size_t i = 0; rc == 0 && i < p->ntrain; i++) {
        size_t D = wg_setting_nparams(&p->tasks[i].set);
        const int toy = p->tasks[i].set.net.arch == WG_ARCH_TOY;
        if (toy && c->subspace_net_at.line > 0)
            return fail(c, c->subspace_net_at, WG_EARG,
                        "probes.subspace: epochs, lr and nnz are for networks; the toy model "
                        "(model.arch toy, task %zu) takes optimizer, steps and offsets", i);
        if (!toy && c->subspace_toy_at.line > 0)
            return fail(c, c->subspace_toy_at, WG_EARG,
                        "probes.subspace: optimizer, steps and offsets are for the toy model; a "
                        "network (task %zu) takes dims, epochs, lr and nnz", i);
        for (int k = 0; rc == 0 && k < nd; k++) {
            long dk = sp->ndims ? sp->dims[k]
                                : (long)D - p->tasks[i].set.toy_long + sp->offsets[k];
            if (sp->noffsets && (dk < 1 || (size_t)dk > D)) {
                rc = fail(c, c->subspace_at, WG_EARG,
                          "probes.subspace.offsets: offset %d gives d = D - n + offset = "
                          "%zu - %d + %d = %ld, outside 1..%zu (task %zu)", sp->offsets[k], D,
                          p->tasks[i].set.toy_long, sp->offsets[k], dk, D, i);
                break;
            }
            if ((size_t)dk > D) {
                rc = fail(c, c->subspace_at, WG_EARG,
                          "probes.subspace.dims: d = %ld is larger than the %s's %zu "
                          "parameters (task %zu)", dk, toy ? "toy model" : "network", D, i);
                break;
            }
            wg_task *t = new_task(p, WG_TASK_SUBSPACE, i);
            /* deps[0] names the training even at the initialisation (ndeps 0, no
             * wait): the output's source_task joins the row to its training */
            t->deps[0] = i;
            if (sp->at_optimum)
                t->ndeps = 1;
            t->probe_epoch = t->set.train.epochs;
            t->dir_first = (int)dk;
            if (toy) { /* a few QR solves (or Polyak steps) of O(D d) each */
                double steps = sp->toy_steps ? sp->toy_steps
                                             : (sp->toy_optimizer ? 20000.0 : 10.0);
                double dd = (double)dk;
                t->cost = sp->toy_optimizer ? steps * (double)D * dd
                                            : steps * (double)D * dd * dd;
                continue;
            }
            if (sp->epochs)
                t->set.train.epochs = sp->epochs;
            size_t eff = t->set.train_size ? t->set.train_size : 60000;
            t->cost = 3.0 * t->set.train.epochs * (double)eff * flops_per_image(&t->set.net);
        }
    }
    return rc;
}

/* Swa tasks: per training task and lr_max, reading its final parameters. */
static int add_swas(ctx *c)
{
    wg_plan *p = c->p;
    const wg_swa_plan *sp = &p->swa;
    if (!sp->enabled)
        return 0;
    int rc = grow_tasks(p, p->ntrain * (size_t)sp->nlr);
    for (size_t i = 0; rc == 0 && i < p->ntrain; i++) {
        if (p->tasks[i].set.net.arch == WG_ARCH_TOY) {
            rc = fail(c, c->swa_at, WG_EARG,
                      "probes.swa needs a network trained on data; the toy model has no "
                      "predictions to average (task %zu)", i);
            break;
        }
        for (int k = 0; k < sp->nlr; k++) {
            wg_task *t = new_task(p, WG_TASK_SWA, i);
            t->ndeps = 1;
            t->deps[0] = i;
            t->probe_epoch = t->set.train.epochs;
            t->dir_first = k;
            size_t eff = t->set.train_size ? t->set.train_size : 60000;
            size_t neval = (sp->probe_size < eff ? sp->probe_size : eff) +
                           (t->set.test_size ? t->set.test_size : 10000);
            double epochs = (double)sp->cycles * sp->cycle_epochs;
            /* training steps cost ~3 forward passes; M + 2 networks are evaluated */
            t->cost = (3.0 * epochs * (double)eff + (sp->cycles + 2.0) * (double)neval) *
                      flops_per_image(&t->set.net);
        }
    }
    return rc;
}

static int expand(ctx *c)
{
    wg_plan *p = c->p;
    size_t n = c->product;
    p->tasks = wg_calloc(n, sizeof *p->tasks, "sweep tasks");
    if (!p->tasks)
        return WG_ENOMEM;
    for (size_t id = 0; id < n; id++) {
        wg_task *t = &p->tasks[id];
        t->id = id;
        t->kind = WG_TASK_TRAIN;
        t->set = p->base;
        size_t r = id;
        for (size_t d = c->ndims; d-- > 0;) {
            const dim *dm = &c->dims[d];
            size_t i = r % dm->n;
            r /= dm->n;
            for (size_t a = dm->first; a < dm->first + dm->count; a++)
                t->axis_index[a] = (uint32_t)i;
        }
        for (size_t a = 0; a < p->naxes; a++) {
            const keydef *kd = &keys[c->axis_key[a]];
            const wg_axis *ax = &p->axes[a];
            size_t i = t->axis_index[a];
            if (ax->is_text)
                apply(&t->set, kd, kd->type == T_NAME ? choice_index(kd, ax->text[i]) : 0,
                      ax->text[i]);
            else
                apply(&t->set, kd, ax->num[i], "");
        }
        p->ntasks = id + 1;
        int rc = finish_task(c, t);
        if (rc)
            return rc;
        if (t->set.train.epochs > p->max_epochs)
            p->max_epochs = t->set.train.epochs;
        if (t->set.nsnapshots > p->max_snapshots)
            p->max_snapshots = t->set.nsnapshots;
    }
    p->ntrain = n;
    int rc = add_probes(c);
    if (rc == 0)
        rc = add_planes(c);
    if (rc == 0)
        rc = add_connectors(c);
    if (rc == 0)
        rc = add_subspaces(c);
    if (rc == 0)
        rc = add_swas(c);
    return rc;
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

static int parse_root(ctx *c, const yaml_node_t *root)
{
    wg_plan *p = c->p;
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
        while (i < NSECTIONS && strcmp(sections[i].name, sval(kn)) != 0)
            i++;
        if (i == NSECTIONS) {
            const char *cands[NSECTIONS];
            for (size_t j = 0; j < NSECTIONS; j++)
                cands[j] = sections[j].name;
            return unknown_key(c, kn, "at the top level", cands, NSECTIONS);
        }
        const yaml_node_t *v = node(c, pr->value);
        c->sec_at[i] = mark_of(v);
        rc = sections[i].fn(c, sections[i].name, v);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < NSECTIONS; i++)
        if (sections[i].required && c->sec_at[i].line == 0)
            return fail(c, c->root, WG_EARG, "missing required key '%s'", sections[i].name);
    if (!p->output[0])
        snprintf(p->output, sizeof p->output, "%s.nc", p->name);
    return 0;
}

static int set_defaults(wg_setting *s)
{
    memset(s, 0, sizeof *s);
    for (int k = 0; k < NKEYS; k++) {
        const keydef *kd = &keys[k];
        double x;
        char err[256];
        if (!kd->deflt)
            continue;
        if (convert(kd, kd->deflt, 0, &x, err, sizeof err))
            return WG_FAIL(WG_EARG, "internal: bad default of %s: %s", kd->name, err);
        apply(s, kd, x, kd->deflt);
    }
    return 0;
}

/* Parse c->text into c->p (whose text is already set). */
static int parse(ctx *c)
{
    wg_plan *p = c->p;
    for (int k = 0; k < NKEYS; k++)
        c->key_axis[k] = -1;
    c->product = 1;
    c->root = (mark){1, 1};
    int rc = set_defaults(&p->base);
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
    if (rc == 0) {
        c->root = mark_of(root);
        rc = parse_root(c, root);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
    c->doc = NULL;
    if (rc)
        return rc;

    rc = expand(c);
    if (rc)
        return rc;
    /* The base is not a task: it gets the derived fields, unchecked. */
    size_t ntrain, ntest;
    data_shape(&p->base, &ntrain, &ntest);
    p->base.train.seed = wg_setting_seed(p->seed, p->base.replicate);
    wg_setting tmp = p->base;
    if (resolve_snapshots(&tmp) == 0)
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
    ctx c = {.p = plan, .file = file, .text = text, .len = len};
    int rc = parse(&c);
    for (size_t a = 0; a < WG_MAX_AXES; a++)
        free(c.vat[a]);
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
    memset(plan, 0, sizeof *plan);
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
    return parse_owned(plan, buf, len, path);
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
    memset(plan, 0, sizeof *plan);
}

uint64_t wg_setting_seed(uint64_t master, long replicate)
{
    return wg_rng_stream(WG_RNG_INIT, master, (uint64_t)replicate, 0x5EED);
}

double wg_task_axis_value(const wg_plan *plan, const wg_task *t, size_t a)
{
    if (a >= plan->naxes)
        return NAN;
    const wg_axis *ax = &plan->axes[a];
    uint32_t i = t->axis_index[a];
    return ax->is_text || !ax->num ? (double)i : ax->num[i];
}

/* ---- printing ----------------------------------------------------------------------- */

static int axis_item(const wg_axis *ax, size_t i, char *buf, size_t cap)
{
    if (ax->is_text)
        return snprintf(buf, cap, "%s=%s", ax->name, ax->text[i]);
    return snprintf(buf, cap, "%s=%g", ax->name, ax->num[i]);
}

void wg_plan_print(const wg_plan *plan, FILE *f)
{
    /* Pad every key=value to its axis's widest, so that columns line up. */
    int width[WG_MAX_AXES] = {0};
    char item[128];
    for (size_t a = 0; a < plan->naxes; a++)
        for (size_t i = 0; i < plan->axes[a].n; i++) {
            int w = axis_item(&plan->axes[a], i, item, sizeof item);
            if (w > width[a])
                width[a] = w;
        }
    for (size_t id = 0; id < plan->ntasks; id++) {
        const wg_task *t = &plan->tasks[id];
        fprintf(f, "%6zu  %-*s", t->id, plan->naxes ? 6 : 0, wg_task_kind_name(t->kind));
        for (size_t a = 0; a < plan->naxes; a++) {
            axis_item(&plan->axes[a], t->axis_index[a], item, sizeof item);
            fprintf(f, " %-*s", width[a], item);
        }
        if (t->kind == WG_TASK_TUNNEL)
            fprintf(f, "  epoch=%d directions=%d..%d", t->probe_epoch, t->dir_first,
                    t->dir_first + t->dir_count - 1);
        else if (t->kind == WG_TASK_PLANE)
            fprintf(f, "  epoch=%d rows=%d..%d", t->probe_epoch, t->dir_first,
                    t->dir_first + t->dir_count - 1);
        else if (t->kind == WG_TASK_CONNECT)
            fprintf(f, "  m=%d", t->dir_first);
        else if (t->kind == WG_TASK_SUBSPACE)
            fprintf(f, "  d=%d", t->dir_first);
        else if (t->kind == WG_TASK_SWA)
            fprintf(f, "  lr_max=%g", plan->swa.lr_max[t->dir_first]);
        else if (t->kind == WG_TASK_HESSIAN)
            fprintf(f, t->dir_first == WG_AT_OPTIMUM ? "  at optimum" : "  at point %d",
                    t->dir_count);
        fprintf(f, "  deps:");
        if (t->ndeps == 0)
            fprintf(f, " -");
        for (size_t d = 0; d < t->ndeps; d++)
            fprintf(f, " %zu", t->deps[d]);
        fputc('\n', f);
    }
    fprintf(f, "%zu task%s: %zu train", plan->ntasks, plan->ntasks == 1 ? "" : "s",
            plan->ntrain);
    size_t nk[WG_TASK_KINDS] = {0};
    for (size_t id = 0; id < plan->ntasks; id++)
        nk[plan->tasks[id].kind]++;
    for (int k = 1; k < WG_TASK_KINDS; k++)
        if (nk[k])
            fprintf(f, ", %zu %s", nk[k], wg_task_kind_name((wg_task_kind)k));
    fprintf(f, "; %zu ax%s", plan->naxes, plan->naxes == 1 ? "is" : "es");
    for (size_t a = 0; a < plan->naxes;) {
        size_t b = a + 1;
        int g = plan->axes[a].zip_group;
        while (g >= 0 && b < plan->naxes && plan->axes[b].zip_group == g)
            b++;
        fprintf(f, "%s", a == 0 ? " (" : " x ");
        if (b - a > 1)
            fputc('(', f);
        for (size_t k = a; k < b; k++)
            fprintf(f, "%s%s", k > a ? ", " : "", plan->axes[k].name);
        if (b - a > 1)
            fputc(')', f);
        a = b;
    }
    fprintf(f, "%s\n", plan->naxes ? ")" : "");
}
