/* setting.h: what one training task needs, and the one table of its settings.
 *
 * A wg_setting holds every scalar a sweep can set or sweep (data, model, train and
 * the replicate seed), without pointers, so it can be copied and sent.  The key
 * table (wg_keys) is the only list of those settings: for each its YAML key, type,
 * range, default and one-line documentation, the `wedge train` option that sets it,
 * and the output coordinate that records it.  The sweep parser, the NetCDF store,
 * `wedge train`, its --help and `wedge schema` all read this table.  Nothing here
 * touches libyaml, MPI or NetCDF. */
#ifndef WEDGE_SETTING_H
#define WEDGE_SETTING_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/data.h"
#include "wedge/net.h"
#include "wedge/train.h"

#define WG_MAX_SNAPSHOTS 32
/* The largest integer a double holds exactly: settings travel as doubles. */
#define WG_INT_EXACT 9007199254740991.0

/* What model.arch names: a network architecture, or the toy wedge model. */
typedef enum { WG_MODEL_SIMPLECNN = 0, WG_MODEL_MLP, WG_MODEL_TOY } wg_model;
#define WG_MODELS 3
const char *wg_model_name(int m);

typedef struct wg_setting {
    wg_data_kind data;
    char data_path[512];        /* "" = the kind's default */
    size_t train_size, test_size;      /* 0 = whole split */
    size_t synth_train, synth_test;    /* synthetic only (defaults 2000/500) */
    int synth_size, synth_channels;    /* synthetic only (defaults 28, 1) */
    int model;                  /* wg_model */
    wg_net_opts net;            /* networks: arch, in_h/in_w/in_c/classes derived */
    wg_train_opts train;        /* train.seed is DERIVED: wg_setting_seed() */
    long replicate;             /* the sweep's `seed` key */
    int toy_dim, toy_long;      /* the toy wedge model: D and n */
    int nsnapshots;             /* epochs whose parameters are kept, ascending, */
    int snapshots[WG_MAX_SNAPSHOTS]; /* always ending with the final epoch */
} wg_setting;

/* ---- the key table ------------------------------------------------------------------ */

typedef enum { WG_KEY_INT, WG_KEY_FLOAT, WG_KEY_NAME, WG_KEY_TEXT, WG_KEY_INTLIST } wg_key_type;
typedef enum {
    WG_ST_SIZE, WG_ST_INT, WG_ST_LONG, WG_ST_FLOAT, WG_ST_DOUBLE, WG_ST_ENUM, WG_ST_STR,
    WG_ST_LIST
} wg_key_store;

typedef struct wg_key {
    const char *name;                /* dotted: "train.lr"; "seed" is the replicate */
    wg_key_type type;
    double lo, hi;                   /* numeric range; integers always closed */
    int lo_open, hi_open;
    int only13;                      /* value must be 1 or 3 */
    const char *(*choice)(int);      /* names: name of choice i (= its enum value) */
    int nchoices;
    const char *deflt;               /* as it would be written in YAML; NULL = empty */
    wg_key_store st;
    size_t off, cap;                 /* field in wg_setting; WG_ST_STR capacity */
    const char *doc;                 /* one line */
    const char *option;              /* `wedge train --option`, NULL: not an option */
    const char *var;                 /* output coordinate variable, NULL: none */
    const char *long_name, *units;   /* of the coordinate */
    int toy_only;                    /* coordinate NaN for networks */
} wg_key;

enum {
    WG_K_DATA_NAME, WG_K_DATA_PATH, WG_K_TRAIN_SIZE, WG_K_TEST_SIZE, WG_K_SYNTH_TRAIN,
    WG_K_SYNTH_TEST, WG_K_SYNTH_SIZE, WG_K_SYNTH_CHANNELS,
    WG_K_ARCH, WG_K_WIDTH, WG_K_DEPTH, WG_K_HIDDEN, WG_K_ACTIVATION, WG_K_DROPOUT,
    WG_K_DROPOUT_WHERE, WG_K_TOY_DIM, WG_K_TOY_LONG,
    WG_K_OPTIMIZER, WG_K_LR, WG_K_MOMENTUM, WG_K_L2, WG_K_BATCH, WG_K_EPOCHS, WG_K_SNAPSHOTS,
    WG_K_SCHEDULE, WG_K_CYCLE, WG_K_MIN_RATIO, WG_K_STEPS, WG_K_PROBE, WG_K_UNTIL_LOSS,
    WG_K_UNTIL_PLATEAU,
    WG_K_REPLICATE,
    WG_NKEYS
};

extern const wg_key wg_keys[WG_NKEYS];

/* The key named `dotted`, or -1. */
int wg_key_find(const char *dotted);
/* "lr" of "train.lr". */
const char *wg_key_short(const wg_key *k);
/* Whether key k belongs to section sec ("train.lr" to "train"). */
int wg_key_in_section(const wg_key *k, const char *sec);

/* Text s (quoted: it was a quoted string) as a value of k: a number (integers and
 * floats, range-checked), a choice's index (names) or a string that fits (text).  0,
 * or -1 with a message naming the key in err. */
int wg_key_convert(const wg_key *k, const char *s, int quoted, double *num, char *err,
                   size_t cap);
/* The same range check alone (repr: the value as written). */
int wg_key_check_range(const wg_key *k, double v, const char *repr, char *err, size_t cap);
/* "an integer", "one of adam, sgd", ... */
void wg_key_type_desc(const wg_key *k, char *buf, size_t cap);
/* "in [1, 64]", ">= 0", ... */
void wg_key_range_desc(const wg_key *k, char *buf, size_t cap);
/* Index of choice s of a names key, or -1. */
int wg_key_choice(const wg_key *k, const char *s);
/* Store a converted value (num; text for text keys) into setting s. */
void wg_key_apply(wg_setting *s, const wg_key *k, double num, const char *text);
/* The value of key k in s as its output coordinate: a number (NaN where it does not
 * apply), or for names keys their name (into text, cap bytes). */
double wg_key_value(const wg_setting *s, const wg_key *k);
const char *wg_key_text(const wg_setting *s, const wg_key *k);

/* Strict number parsing shared by every reader of settings (decimal only, fully
 * consumed; YAML's .inf/.nan for floats).  0, or -1 with a message in err. */
int wg_parse_int(const char *what, const char *s, int quoted, double *out, char *err,
                 size_t cap);
int wg_parse_float(const char *what, const char *s, int quoted, double *out, char *err,
                   size_t cap);

/* The candidate closest to s (edit distance <= 2, and less than s is long), or one
 * that s is a prefix of (or that is a prefix of s); NULL if none is close: the "did
 * you mean" of every error about a name. */
const char *wg_suggest(const char *s, const char *const *cands, size_t n);

/* ---- whole settings ----------------------------------------------------------------------- */

/* Every key's default.  0, or WG_EARG if the table is inconsistent. */
int wg_setting_defaults(wg_setting *s);

/* Fill the derived fields: the network's input shape and classes from the data kind,
 * its architecture from model.arch, the training seed from (master, replicate); the
 * full split sizes into *ntrain, *ntest. */
void wg_setting_derive(wg_setting *s, uint64_t master, size_t *ntrain, size_t *ntest);

/* What is wrong with a derived setting as a whole (data, sizes, shapes, snapshots).
 * 0 if nothing; else -1 with the message in err and the keys a user should change:
 * first those of swept[] the sweep varies, then those of given[] the file sets, else
 * the section `section` (or, section NULL, nowhere). */
typedef struct wg_setting_fault {
    char msg[512];
    int swept[4], nswept;
    int given[4], ngiven;
    const char *section;
} wg_setting_fault;
int wg_setting_check(const wg_setting *s, wg_setting_fault *f);

/* Sorted unique snapshots with the final epoch appended; -1 if more than fit. */
int wg_setting_resolve_snapshots(wg_setting *s);

/* Whether the setting's model is the toy wedge model (no data, no network). */
static inline int wg_setting_is_toy(const wg_setting *s) { return s->model == WG_MODEL_TOY; }

/* D of a setting: the network's parameter count, or the toy model's dimension
 * (0 if the setting is invalid). */
size_t wg_setting_nparams(const wg_setting *s);

/* Forward floating point operations per image (1 for the toy model): the cost
 * models' unit. */
double wg_setting_flops(const wg_setting *s);

/* The 64-bit seed of a task's streams: a hash of the master seed and the replicate,
 * so the same replicate of two settings starts from the same initialisation. */
uint64_t wg_setting_seed(uint64_t master, long replicate);

#endif
