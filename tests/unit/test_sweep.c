/* test_sweep.c: unit tests of sweep.c, YAML sweep files -> plans, and sha256.c.
 *
 * Good files (tests/sweeps/good/) are checked value by value: task counts, product
 * order, every generator, zip pairing, defaults, snapshots, derived seeds, text
 * axes, costs and the text's hash.  Every file of the bad corpus (tests/sweeps/bad/)
 * starts with "# expect: LINE:COLUMN: substring" and must fail with a message that
 * starts with "<path>:LINE:COLUMN:" and contains the substring.  The corpus is found
 * under argv[1], else $top_srcdir (which `make check` exports), else ".". */
#include "wedge/error.h"
#include "wedge/net.h"
#include "wedge/sweep.h"
#include "wedge/train.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *srcdir = ".";

/* ---- helpers ------------------------------------------------------------------ */

static void path_of(char *out, size_t cap, const char *sub, const char *name)
{
    int n = snprintf(out, cap, "%s/tests/sweeps/%s/%s", srcdir, sub, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static void load_good(wg_plan *p, const char *name)
{
    char path[1024];
    path_of(path, sizeof path, "good", name);
    wg_err_clear();
    int rc = wg_sweep_load(p, path);
    if (rc)
        print_error("%s: %s\n", path, wg_err_msg());
    assert_int_equal(rc, 0);
}

static void parse_ok(wg_plan *p, const char *text)
{
    wg_err_clear();
    int rc = wg_sweep_parse(p, text, strlen(text), "mem.yaml");
    if (rc)
        print_error("%s\n", wg_err_msg());
    assert_int_equal(rc, 0);
}

/* text must fail with code and a message "mem.yaml:<at> ..." containing sub. */
static void parse_fails(const char *text, int code, const char *at, const char *sub)
{
    wg_plan p;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "mem.yaml:%s", at);
    wg_err_clear();
    int rc = wg_sweep_parse(&p, text, strlen(text), "mem.yaml");
    const char *msg = wg_err_msg();
    if (rc != code || strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, sub))
        print_error("want %d '%s...%s', got %d '%s'\n", code, prefix, sub, rc, msg);
    assert_int_equal(rc, code);
    assert_memory_equal(msg, prefix, strlen(prefix));
    assert_non_null(strstr(msg, sub));
    assert_int_equal(p.ntasks, 0);
    assert_null(p.tasks);
    assert_null(p.text);
    wg_plan_free(&p);
}

static int axis_named(const wg_plan *p, const char *name)
{
    for (size_t a = 0; a < p->naxes; a++)
        if (strcmp(p->axes[a].name, name) == 0)
            return (int)a;
    fail_msg("no axis '%s'", name);
    return -1;
}

static void assert_rel(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fabs(want)))
        fail_msg("got %.17g, want %.17g (relative tolerance %g)", got, want, tol);
}

/* ---- SHA-256 -------------------------------------------------------------------- */

static void test_sweep_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    wg_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    wg_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    wg_sha256_hex(m448, strlen(m448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    wg_sha256_hex(m896, strlen(m896), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    wg_sha256_hex(a, 1000000, hex);
    free(a);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* ---- good files ----------------------------------------------------------------- */

static void test_sweep_good_corpus_loads(void **state)
{
    (void)state;
    char dir[1024];
    path_of(dir, sizeof dir, "good", "");
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        wg_plan p;
        load_good(&p, e->d_name);
        assert_true(p.ntasks >= 1);
        wg_plan_free(&p);
        n++;
    }
    closedir(d);
    assert_true(n >= 5);
}

static void test_sweep_minimal_defaults(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "minimal.yaml");
    assert_string_equal(p.name, "minimal");
    assert_string_equal(p.output, "minimal.nc");
    assert_int_equal(p.seed, 0);
    assert_int_equal(p.naxes, 0);
    assert_int_equal(p.ntasks, 1);
    const wg_setting *s = &p.tasks[0].set;
    assert_int_equal(s->data, WG_DATA_FASHION_MNIST);
    assert_string_equal(s->data_path, "");
    assert_int_equal(s->train_size, 0);
    assert_int_equal(s->test_size, 0);
    assert_int_equal(s->synth_train, 2000);
    assert_int_equal(s->synth_test, 500);
    assert_int_equal(s->synth_size, 28);
    assert_int_equal(s->synth_channels, 1);
    /* the key table's defaults agree with the library's */
    wg_net_opts no;
    wg_net_opts_default(&no);
    assert_memory_equal(&s->net, &no, sizeof no);
    wg_train_opts to;
    wg_train_opts_default(&to);
    to.seed = wg_setting_seed(0, 0);
    assert_memory_equal(&s->train, &to, sizeof to);
    assert_int_equal(s->replicate, 0);
    assert_int_equal(s->nsnapshots, 1);
    assert_int_equal(s->snapshots[0], 10);
    assert_int_equal(p.max_epochs, 10);
    assert_int_equal(p.max_snapshots, 1);
    assert_true(p.tasks[0].cost > 0);
    assert_int_equal(p.tasks[0].ndeps, 0);
    assert_int_equal(p.tasks[0].kind, WG_TASK_TRAIN);
    assert_memory_equal(&p.base, s, sizeof *s);
    wg_plan_free(&p);
}

static void test_sweep_example_plan(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    assert_string_equal(p.name, "fig5-lr");
    assert_string_equal(p.output, "fig5-lr.nc");
    assert_int_equal(p.seed, 1);
    assert_int_equal(p.ntasks, 5 * 3 * 3 * 3);
    assert_int_equal(p.naxes, 5);
    const char *keys[] = {"train.lr", "model.dropout", "seed", "train.batch_size",
                          "train.epochs"};
    const char *names[] = {"lr", "dropout", "seed", "batch_size", "epochs"};
    const size_t ns[] = {5, 3, 3, 3, 3};
    const int groups[] = {-1, -1, -1, 0, 0};
    for (size_t a = 0; a < 5; a++) {
        assert_string_equal(p.axes[a].key, keys[a]);
        assert_string_equal(p.axes[a].name, names[a]);
        assert_int_equal(p.axes[a].n, ns[a]);
        assert_int_equal(p.axes[a].zip_group, groups[a]);
        assert_int_equal(p.axes[a].is_text, 0);
    }
    assert_int_equal(p.axes[0].line, 10);
    assert_int_equal(p.axes[0].column, 3);
    assert_string_equal(p.base.data_path, WG_FASHION_MNIST_PATH);
    assert_int_equal(p.base.train_size, 60000);
    assert_int_equal(p.base.test_size, 10000);
    assert_int_equal(p.max_epochs, 20);
    assert_int_equal(p.max_snapshots, 4);
    for (size_t i = 0; i < p.ntasks; i++) {
        assert_int_equal(p.tasks[i].id, i);
        assert_int_equal(p.tasks[i].set.net.arch, WG_ARCH_SIMPLECNN);
        assert_string_equal(p.tasks[i].set.data_path, WG_FASHION_MNIST_PATH);
    }
    const wg_setting *last = &p.tasks[p.ntasks - 1].set;
    assert_rel(last->train.lr, 1e-2, 1e-15);
    assert_rel(last->net.dropout, 0.5, 0);
    assert_int_equal(last->replicate, 2);
    assert_int_equal(last->train.batch_size, 512);
    assert_int_equal(last->train.epochs, 20);
    wg_plan_free(&p);
}

static void test_sweep_order_first_outermost(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    /* dims: lr 5, dropout 3, seed 3, zip 3; the id is the mixed-radix number */
    for (size_t i = 0; i < p.ntasks; i++) {
        const uint32_t *ix = p.tasks[i].axis_index;
        assert_int_equal(ix[3], ix[4]);
        size_t id = ((ix[0] * 3 + ix[1]) * 3 + ix[2]) * 3 + ix[3];
        assert_int_equal(id, i);
    }
    /* the last entry (zip) varies fastest, the first (lr) slowest */
    assert_int_equal(p.tasks[1].set.train.batch_size, 128);
    assert_rel(p.tasks[1].set.train.lr, 1e-4, 0);
    assert_rel(p.tasks[27].set.train.lr, wg_task_axis_value(&p, &p.tasks[27], 0), 0);
    assert_true(p.tasks[27].set.train.lr > p.tasks[26].set.train.lr);
    assert_int_equal(p.tasks[3].set.replicate, 1);
    assert_rel(p.tasks[9].set.net.dropout, 0.25, 0);
    wg_plan_free(&p);
}

static void test_sweep_log_values(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "generators.yaml");
    int a = axis_named(&p, "lr");
    assert_int_equal(p.axes[a].n, 3);
    assert_rel(p.axes[a].num[0], 1e-4, 1e-12);
    assert_rel(p.axes[a].num[1], 1e-3, 1e-12);
    assert_rel(p.axes[a].num[2], 1e-2, 1e-12);
    wg_plan_free(&p);

    load_good(&p, "fig5-lr.yaml");
    const double want[5] = {1e-4, 3.1622776601683795e-4, 1e-3, 3.1622776601683795e-3, 1e-2};
    for (int i = 0; i < 5; i++)
        assert_rel(p.axes[0].num[i], want[i], 1e-12);
    wg_plan_free(&p);

    parse_ok(&p, "name: one\nsweep: {train.lr: {log: [0.5, 0.001], num: 1}}\n");
    assert_int_equal(p.ntasks, 1);
    assert_rel(p.tasks[0].set.train.lr, 0.5, 0);
    wg_plan_free(&p);
    /* integer keys take log values that are integers up to rounding */
    parse_ok(&p, "name: b\nsweep: {train.batch_size: {log: [16, 256], num: 5}}\n");
    for (int i = 0; i < 5; i++)
        assert_int_equal(p.tasks[i].set.train.batch_size, 16u << i);
    wg_plan_free(&p);
}

static void test_sweep_linear_values(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "generators.yaml");
    int a = axis_named(&p, "dropout");
    assert_int_equal(p.axes[a].n, 3);
    assert_rel(p.axes[a].num[0], 0.0, 0);
    assert_rel(p.axes[a].num[1], 0.25, 1e-15);
    assert_rel(p.axes[a].num[2], 0.5, 0);
    wg_plan_free(&p);
    parse_ok(&p, "name: l\nsweep: {train.l2: {linear: [1.0e-4, 0], num: 1}, "
                 "model.width: {linear: [1, 7], num: 4}}\n");
    assert_int_equal(p.ntasks, 4);
    assert_rel(p.axes[0].num[0], 1e-4, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p.tasks[i].set.net.width, 1 + 2 * i);
    wg_plan_free(&p);
}

static void test_sweep_range_values(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "generators.yaml");
    int a = axis_named(&p, "epochs");
    assert_int_equal(p.axes[a].n, 3);
    assert_rel(p.axes[a].num[0], 2, 0);
    assert_rel(p.axes[a].num[1], 5, 0);
    assert_rel(p.axes[a].num[2], 8, 0);
    wg_plan_free(&p);
    load_good(&p, "fig5-lr.yaml");
    a = axis_named(&p, "seed");
    for (int i = 0; i < 3; i++)
        assert_rel(p.axes[a].num[i], i, 0);
    wg_plan_free(&p);
    parse_ok(&p, "name: r\nsweep: {seed: {range: [5, 0, -2]}}\n");
    assert_int_equal(p.ntasks, 3);
    assert_int_equal(p.tasks[0].set.replicate, 5);
    assert_int_equal(p.tasks[1].set.replicate, 3);
    assert_int_equal(p.tasks[2].set.replicate, 1);
    wg_plan_free(&p);
}

static void test_sweep_explicit_values(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    int a = axis_named(&p, "dropout");
    const double want[] = {0.0, 0.25, 0.5};
    for (int i = 0; i < 3; i++)
        assert_rel(p.axes[a].num[i], want[i], 0);
    assert_int_equal(p.axes[a].line, 11);
    wg_plan_free(&p);
    /* numbers as YAML writes them: exponents, leading dot, explicit sign */
    parse_ok(&p, "name: n\nsweep:\n  train.lr: [1e-3, .5, +2.0E+1, 3]\n");
    assert_rel(p.axes[0].num[0], 1e-3, 0);
    assert_rel(p.axes[0].num[1], 0.5, 0);
    assert_rel(p.axes[0].num[2], 20, 0);
    assert_rel(p.axes[0].num[3], 3, 0);
    wg_plan_free(&p);
}

static void test_sweep_zip_pairing(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    for (size_t i = 0; i < p.ntasks; i++) {
        const wg_setting *s = &p.tasks[i].set;
        size_t b = s->train.batch_size;
        int e = s->train.epochs;
        assert_true((b == 32 && e == 5) || (b == 128 && e == 10) || (b == 512 && e == 20));
    }
    wg_plan_free(&p);
}

static void test_sweep_zip_groups_list(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "zip-groups.yaml");
    assert_int_equal(p.ntasks, 2 * 2 * 3);
    assert_int_equal(p.naxes, 5);
    assert_int_equal(p.axes[0].zip_group, 0);
    assert_int_equal(p.axes[1].zip_group, 0);
    assert_int_equal(p.axes[2].zip_group, 1);
    assert_int_equal(p.axes[3].zip_group, 1);
    assert_int_equal(p.axes[4].zip_group, -1);
    for (size_t i = 0; i < p.ntasks; i++) {
        const wg_setting *s = &p.tasks[i].set;
        assert_int_equal(s->net.arch == WG_ARCH_MLP, s->net.activation == WG_ACT_RELU);
        assert_int_equal(s->data == WG_DATA_SYNTHETIC, s->train.batch_size == 250);
        assert_int_equal((size_t)s->replicate, i % 3);
        assert_int_equal(p.tasks[i].axis_index[0], i / 6);
        assert_int_equal(p.tasks[i].axis_index[2], (i / 3) % 2);
    }
    wg_plan_free(&p);
}

/* The toy model's hyperplane probe: dim and long zipped as axes, d = D - n + offset
 * per (D, n), the optimiser and its steps, anchored at the optima. */
static void test_sweep_toy_hyperplane(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "toy-hyperplane.yaml");
    assert_int_equal(p.naxes, 3);
    assert_string_equal(p.axes[0].name, "dim");
    assert_string_equal(p.axes[1].name, "long");
    assert_int_equal(p.axes[0].zip_group, p.axes[1].zip_group);
    assert_int_equal(p.ntrain, 4);
    assert_int_equal(p.ntasks, 4 + 4 * 3);
    assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "optimizer", 0) == 1);
    assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "steps", 0) == 500);
    assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "offsets", 2) == 2);
    assert_true(isnan(wg_plan_option(&p, WG_TASK_SUBSPACE, "offsets", 3)));
    const int offs[3] = {-1, 0, 2};
    for (size_t i = p.ntrain; i < p.ntasks; i++) {
        const wg_task *t = &p.tasks[i];
        size_t k = (i - p.ntrain) % 3, src = (i - p.ntrain) / 3;
        assert_int_equal(t->kind, WG_TASK_SUBSPACE);
        assert_int_equal(t->ndeps, 1);
        assert_int_equal(t->deps[0], src);
        assert_int_equal(t->set.toy_dim, src < 2 ? 20 : 40);
        assert_int_equal(t->set.toy_long, src < 2 ? 5 : 25);
        assert_int_equal(t->arg[0], t->set.toy_dim - t->set.toy_long + offs[k]);
    }
    wg_plan_free(&p);
}

static void test_sweep_snapshots_resolved(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "zip-groups.yaml"); /* [4, 2, 2] with 4 epochs */
    assert_int_equal(p.tasks[0].set.nsnapshots, 2);
    assert_int_equal(p.tasks[0].set.snapshots[0], 2);
    assert_int_equal(p.tasks[0].set.snapshots[1], 4);
    wg_plan_free(&p);
    load_good(&p, "fig5-lr.yaml"); /* [1, 2, 5] with epochs 5, 10, 20 */
    for (size_t i = 0; i < p.ntasks; i++) {
        const wg_setting *s = &p.tasks[i].set;
        int want = s->train.epochs == 5 ? 3 : 4;
        assert_int_equal(s->nsnapshots, want);
        assert_int_equal(s->snapshots[0], 1);
        assert_int_equal(s->snapshots[2], 5);
        assert_int_equal(s->snapshots[s->nsnapshots - 1], s->train.epochs);
    }
    wg_plan_free(&p);
    parse_ok(&p, "name: s\ntrain: {epochs: 7, snapshots: [5, 1, 5, 3]}\n");
    const int want[] = {1, 3, 5, 7};
    assert_int_equal(p.tasks[0].set.nsnapshots, 4);
    assert_memory_equal(p.tasks[0].set.snapshots, want, sizeof want);
    wg_plan_free(&p);
    parse_ok(&p, "name: s\ntrain: {epochs: 3, snapshots: []}\n");
    assert_int_equal(p.tasks[0].set.nsnapshots, 1);
    assert_int_equal(p.tasks[0].set.snapshots[0], 3);
    wg_plan_free(&p);
}

static void test_sweep_seed_derivation(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    for (size_t i = 0; i < p.ntasks; i++) {
        const wg_setting *s = &p.tasks[i].set;
        assert_true(s->train.seed == wg_setting_seed(1, s->replicate));
        for (size_t j = 0; j < i; j++) {
            const wg_setting *r = &p.tasks[j].set;
            if (r->replicate == s->replicate)
                assert_true(r->train.seed == s->train.seed);
            else
                assert_true(r->train.seed != s->train.seed);
        }
    }
    wg_plan_free(&p);
    assert_true(wg_setting_seed(0, 0) != wg_setting_seed(1, 0));
    assert_true(wg_setting_seed(0, 1) != wg_setting_seed(0, 0));
    assert_true(wg_setting_seed(5, 3) == wg_setting_seed(5, 3));
    /* an unswept replicate is 0 */
    load_good(&p, "generators.yaml");
    for (size_t i = 0; i < p.ntasks; i++) {
        assert_int_equal(p.tasks[i].set.replicate, 0);
        assert_true(p.tasks[i].set.train.seed == wg_setting_seed(0, 0));
    }
    wg_plan_free(&p);
}

static void test_sweep_text_axes(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "zip-groups.yaml");
    /* an axis is named as its output coordinate: data.name -> dataset */
    int arch = axis_named(&p, "arch"), data = axis_named(&p, "dataset");
    assert_int_equal(p.axes[arch].is_text, 1);
    assert_null(p.axes[arch].num);
    assert_string_equal(p.axes[arch].text[0], "simplecnn");
    assert_string_equal(p.axes[arch].text[1], "mlp");
    assert_string_equal(p.axes[data].key, "data.name");
    assert_string_equal(p.axes[data].text[1], "synthetic");
    const wg_task *t = &p.tasks[p.ntasks - 1];
    assert_rel(wg_task_axis_value(&p, t, (size_t)arch), 1, 0);
    assert_rel(wg_task_axis_value(&p, t, (size_t)data), 1, 0);
    assert_int_equal(t->set.data, WG_DATA_SYNTHETIC);
    assert_int_equal(t->set.net.arch, WG_ARCH_MLP);
    assert_rel(wg_task_axis_value(&p, t, 4), 2, 0);
    assert_true(isnan(wg_task_axis_value(&p, t, 5)));
    wg_plan_free(&p);

    load_good(&p, "generators.yaml");
    int opt = axis_named(&p, "optimizer");
    assert_int_equal(p.tasks[0].set.train.optimizer, WG_OPT_ADAM);
    assert_int_equal(p.tasks[1].set.train.optimizer, WG_OPT_SGD);
    assert_string_equal(p.axes[opt].text[1], "sgd");
    wg_plan_free(&p);

    parse_ok(&p, "name: paths\ndata: {name: mnist}\n"
                 "sweep:\n  data.path: [/d/mnist-a, /d/mnist-b]\n  train.schedule: [constant, cyclic]\n");
    assert_int_equal(p.ntasks, 4);
    assert_string_equal(p.tasks[0].set.data_path, "/d/mnist-a");
    assert_string_equal(p.tasks[3].set.data_path, "/d/mnist-b");
    assert_int_equal(p.tasks[3].set.train.schedule, WG_SCHED_CYCLIC);
    wg_plan_free(&p);
}

static void test_sweep_costs(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    for (size_t i = 0; i < p.ntasks; i++)
        assert_true(p.tasks[i].cost > 0);
    /* same lr, dropout, seed: 5, 10, 20 epochs (with growing batch) cost more */
    assert_true(p.tasks[1].cost > p.tasks[0].cost);
    assert_true(p.tasks[2].cost > p.tasks[1].cost);
    assert_rel(p.tasks[0].cost, 3.0 * 5 * 60000 * 3.0e6, 1e-12);
    wg_plan_free(&p);
    load_good(&p, "generators.yaml");
    /* MLP 16x16x3 -> 32 -> 10, depth 1, 600 images */
    double flops = 2.0 * (768.0 * 32 + 32.0 * 10);
    for (size_t i = 0; i < p.ntasks; i++) {
        const wg_setting *s = &p.tasks[i].set;
        assert_rel(p.tasks[i].cost, 3.0 * s->train.epochs * 600 * flops, 1e-12);
    }
    wg_plan_free(&p);
    parse_ok(&p, "name: c\nmodel: {arch: mlp, depth: 0}\n");
    assert_rel(p.tasks[0].cost, 3.0 * 10 * 60000 * 2.0 * 784 * 10, 1e-12);
    wg_plan_free(&p);
}

static void test_sweep_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *data;
        int h, c, classes;
    } cases[] = {
        {"{name: fashion-mnist}", 28, 1, 10},
        {"{name: mnist, path: /m}", 28, 1, 10},
        {"{name: cifar10, path: /c}", 32, 3, 10},
        {"{name: cifar100, path: /c}", 32, 3, 100},
        {"{name: synthetic, synthetic_size: 12, synthetic_channels: 3}", 12, 3, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "name: shape\ndata: %s\n", cases[i].data);
        wg_plan p;
        parse_ok(&p, text);
        const wg_net_opts *o = &p.tasks[0].set.net;
        assert_int_equal(o->in_h, cases[i].h);
        assert_int_equal(o->in_w, cases[i].h);
        assert_int_equal(o->in_c, cases[i].c);
        assert_int_equal(o->classes, cases[i].classes);
        wg_plan_free(&p);
    }
}

static void test_sweep_sha256_of_text(void **state)
{
    (void)state;
    char path[1024];
    path_of(path, sizeof path, "good", "fig5-lr.yaml");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof buf);
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    assert_int_equal(p.text_len, n);
    assert_memory_equal(p.text, buf, n);
    assert_int_equal(p.text[n], '\0');
    char hex[65];
    wg_sha256_hex(buf, n, hex);
    assert_string_equal(p.sha256, hex);
    assert_string_equal(p.file, path);
    wg_plan_free(&p);
}

/* plan->meaning: comments, layout, flow or block style and the kind of quotes
 * leave it alone (and --resume then accepts the text); a value, a key added with
 * its default value (the text says more), the order of the sweep axes, an
 * override do not. */
static void test_sweep_meaning(void **state)
{
    (void)state;
    static const char *const same[] = {
        "name: \"m\"\nseed: 3\ntrain: {epochs: 2, lr: 1.0e-3}\nsweep:\n  train.lr: [1.0e-3, 2.0e-3]\n"
        "  seed: [0, 1]\n",
        "# a comment\nname: \"m\"   # the title\n\nseed: 3\ntrain:\n  epochs: 2\n  lr: 1.0e-3\n"
        "sweep:\n    train.lr:\n      - 1.0e-3\n      - 2.0e-3\n    seed: [0,1]\n",
        "name: 'm'\nseed: 3\ntrain: {epochs: 2, lr: 1.0e-3}\nsweep:\n  train.lr: [1.0e-3, 2.0e-3]\n"
        "  seed: [0, 1]\n",
    };
    static const char *const other[] = {
        "name: \"m\"\nseed: 3\ntrain: {epochs: 3, lr: 1.0e-3}\nsweep:\n  train.lr: [1.0e-3, 2.0e-3]\n"
        "  seed: [0, 1]\n",
        "name: \"m\"\nseed: 3\ntrain: {epochs: 2, lr: 1.0e-3, optimizer: 'adam'}\nsweep:\n"
        "  train.lr: [1.0e-3, 2.0e-3]\n  seed: [0, 1]\n",
        "name: \"m\"\nseed: 3\ntrain: {epochs: 2, lr: 1.0e-3}\nsweep:\n  seed: [0, 1]\n"
        "  train.lr: [1.0e-3, 2.0e-3]\n",
        "name: \"m\"\nseed: 3\ntrain: {epochs: 2, lr: 1.0e-3}\nsweep:\n  train.lr: [1.0e-3, 2.0e-3]\n"
        "  seed: [0, 1]\n# wedge: command-line overrides (applied to the lines above)\n"
        "#   train.epochs=3\n",
    };
    wg_plan a, b;
    parse_ok(&a, same[0]);
    assert_int_equal(strlen(a.meaning), 64);
    for (size_t i = 1; i < sizeof same / sizeof *same; i++) {
        parse_ok(&b, same[i]);
        assert_string_not_equal(a.sha256, b.sha256);
        assert_string_equal(a.meaning, b.meaning);
        wg_plan_free(&b);
    }
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        parse_ok(&b, other[i]);
        assert_string_not_equal(a.meaning, b.meaning);
        wg_plan_free(&b);
    }
    /* an override means what the same value written in place means */
    parse_ok(&b, other[3]);
    wg_plan c;
    parse_ok(&c, other[0]);
    assert_string_equal(b.meaning, c.meaning);
    wg_plan_free(&b), wg_plan_free(&c), wg_plan_free(&a);
}

static void test_sweep_plan_print(void **state)
{
    (void)state;
    wg_plan p;
    load_good(&p, "fig5-lr.yaml");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    wg_plan_print(&p, f);
    fclose(f);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += out[i] == '\n';
    assert_int_equal(lines, p.ntasks + 1);
    assert_true(strncmp(out, "     0  train  lr=0.0001 ", 25) == 0);
    assert_non_null(strstr(out, "dropout=0 "));
    assert_non_null(strstr(out, "seed=0 "));
    assert_non_null(strstr(out, "batch_size=32 "));
    assert_non_null(strstr(out, "deps: -\n"));
    assert_non_null(strstr(out, "\n   134  train  lr=0.01 "));
    assert_non_null(strstr(out, "\n135 tasks: 135 train; 5 axes "
                                "(lr x dropout x seed x (batch_size, epochs))\n"));
    free(out);
    wg_plan_free(&p);

    load_good(&p, "minimal.yaml");
    f = open_memstream(&out, &len);
    wg_plan_print(&p, f);
    fclose(f);
    assert_string_equal(out, "     0  train  deps: -\n1 task: 1 train; 0 axes\n");
    free(out);
    wg_plan_free(&p);
}

/* ---- failures ------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_sweep_bad_corpus(void **state)
{
    (void)state;
    char dir[1024];
    path_of(dir, sizeof dir, "bad", "");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (set top_srcdir or pass the source directory)", dir);
    char *names[512];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 512;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024], first[512] = "";
        path_of(path, sizeof path, "bad", names[i]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        if (!fgets(first, sizeof first, f))
            first[0] = '\0';
        fclose(f);
        first[strcspn(first, "\n")] = '\0';
        int line, col, used = 0;
        if (sscanf(first, "# expect: %d:%d: %n", &line, &col, &used) != 2 || used == 0) {
            print_error("%s: first line must be '# expect: LINE:COLUMN: text'\n", path);
            failures++;
            continue;
        }
        const char *sub = first + used;
        char prefix[1100];
        snprintf(prefix, sizeof prefix, "%s:%d:%d:", path, line, col);
        wg_plan p;
        wg_err_clear();
        int rc = wg_sweep_load(&p, path);
        const char *msg = wg_err_msg();
        if (rc == 0 || strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, sub) ||
            p.ntasks != 0 || p.tasks || p.text) {
            print_error("%s: want '%s ... %s', got %d '%s'\n", names[i], prefix, sub, rc, msg);
            failures++;
        }
        wg_plan_free(&p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    assert_int_equal(failures, 0);
    assert_true(n >= 30);
}

static void test_sweep_syntax_errors_are_eyaml(void **state)
{
    (void)state;
    parse_fails("name: x\ntrain: {lr: 1\n", WG_EYAML, "3:1:", "YAML syntax error");
    parse_fails("name: x\n  bad: 1\n", WG_EYAML, "2:6:", "YAML syntax error");
    parse_fails("name: *nowhere\n", WG_EYAML, "1:7:", "undefined alias");
    parse_fails("name: x\ntrain: {lr: 0}\n", WG_EARG, "2:13:", "train.lr = 0 is out of range");
}

static void test_sweep_did_you_mean(void **state)
{
    (void)state;
    parse_fails("name: x\ntrian: {}\n", WG_EARG, "2:1:", "(did you mean 'train'?)");
    parse_fails("name: x\ntrain: {epoch: 3}\n", WG_EARG, "2:9:",
                "unknown key 'epoch' in train (did you mean 'epochs'?)");
    parse_fails("name: x\ntrain: {momentun: 0.5}\n", WG_EARG, "2:9:", "did you mean 'momentum'?");
    parse_fails("name: x\ndata: {trian_size: 5}\n", WG_EARG, "2:8:", "did you mean 'train_size'?");
    parse_fails("name: x\nmodel: {actvation: relu}\n", WG_EARG, "2:9:",
                "did you mean 'activation'?");
    parse_fails("name: x\nsweep: {model.dropuot: [0.1]}\n", WG_EARG, "2:9:",
                "did you mean 'model.dropout'?");
    parse_fails("name: x\nsweep: {zpi: {train.lr: [0.1]}}\n", WG_EARG, "2:9:",
                "did you mean 'zip'?");
    parse_fails("name: x\ntrain: {schedule: cycle}\n", WG_EARG, "2:19:",
                "did you mean 'cyclic'?");
    /* nothing close: list the valid keys instead */
    parse_fails("name: x\nmodel: {colour: red}\n", WG_EARG, "2:9:",
                "unknown key 'colour' in model (valid keys: arch, width, depth, hidden, "
                "activation, dropout, dropout_where, dim, long)");
}

static void test_sweep_numbers_strict(void **state)
{
    (void)state;
    parse_fails("name: x\ntrain: {epochs: 1_000}\n", WG_EARG, "2:17:", "expected an integer");
    parse_fails("name: x\ntrain: {epochs: 1e3}\n", WG_EARG, "2:17:", "expected an integer");
    parse_fails("name: x\ntrain: {epochs: 99999999999999999999}\n", WG_EARG, "2:17:",
                "too large");
    parse_fails("name: x\ntrain: {batch_size: 9007199254740992}\n", WG_EARG, "2:21:",
                "too large");
    parse_fails("name: x\ntrain: {lr: 0x1p-3}\n", WG_EARG, "2:13:", "decimal");
    parse_fails("name: x\ntrain: {lr: 1e999}\n", WG_EARG, "2:13:", "must be a finite number");
    parse_fails("name: x\ntrain: {lr: 0.1.2}\n", WG_EARG, "2:13:", "expected a number");
    parse_fails("name: x\ntrain: {lr: }\n", WG_EARG, "2:13:", "missing value");
    parse_fails("name: x\ntrain: {lr: ~}\n", WG_EARG, "2:13:", "missing value");
    parse_fails("name: x\ntrain: {epochs: yes}\n", WG_EARG, "2:17:", "boolean");
    parse_fails("name: x\nmodel: {dropout: 0.99999999999}\n", WG_EARG, "2:18:", "[0, 1)");
    parse_fails("name: x\ntrain: {min_ratio: 0}\n", WG_EARG, "2:20:", "(0, 1]");
    parse_fails("name: x\ntrain: {cycle_epochs: -.inf}\n", WG_EARG, "2:23:", "finite");
    parse_fails("name: x\nseed: 1.5\n", WG_EARG, "2:7:", "expected an integer");
    parse_fails("name: x\ntrain: {l2: -1.0e-5}\n", WG_EARG, "2:13:", "must be >= 0");
    parse_fails("name: x\ndata: {path: [a]}\n", WG_EARG, "2:14:", "expected a string, got a list");
    parse_fails("name: \"a\\0b\"\n", WG_EARG, "1:7:", "NUL");
    wg_plan p;
    parse_ok(&p, "name: x\ntrain: {epochs: +12, lr: 5E-1, l2: 0}\nseed: 0012\n");
    assert_int_equal(p.tasks[0].set.train.epochs, 12);
    assert_rel(p.tasks[0].set.train.lr, 0.5, 0);
    assert_int_equal(p.seed, 12);
    wg_plan_free(&p);
}

static void test_sweep_task_checks_locate_the_cause(void **state)
{
    (void)state;
    /* both swept: the batch value is reported */
    parse_fails("name: x\nsweep:\n  data.train_size: [500, 200]\n  train.batch_size: [100, 300]\n",
                WG_EARG, "4:27:", "train.batch_size = 300 is larger than the training set "
                                  "(200 images of fashion-mnist) (task 3)");
    /* train_size swept on synthetic data that has fewer images */
    parse_fails("name: x\ndata: {name: synthetic, synthetic_train: 100}\ntrain: {batch_size: 10}\n"
                "sweep: {data.train_size: [50, 150]}\n",
                WG_EARG, "4:31:", "exceeds the 100 training images of synthetic (task 1)");
    /* default batch 128 against an explicit train_size: at the train_size */
    parse_fails("name: x\ndata: {train_size: 100}\n", WG_EARG, "2:20:",
                "train.batch_size = 128 is larger");
    /* a swept dataset the train_size does not fit */
    parse_fails("name: x\ndata: {path: /d, train_size: 55000}\nsweep: {data.name: [mnist, cifar10]}\n",
                WG_EARG, "3:28:", "exceeds the 50000 training images of cifar10 (task 1)");
    /* a missing path when the sweep names the kind */
    parse_fails("name: x\nsweep:\n  zip: {data.name: [mnist], model.width: [2]}\n", WG_EARG,
                "3:21:", "data.name mnist needs data.path");
}

static void test_sweep_limits(void **state)
{
    (void)state;
    parse_fails("name: x\nsweep: {train.lr: {linear: [0.1, 1], num: 4097}}\n", WG_EARG, "2:43:",
                "num = 4097 is out of range: must be in [1, 4096]");
    parse_fails("name: x\nsweep: {seed: {range: [0, 5000]}}\n", WG_EARG, "2:23:",
                "5000 values (at most 4096 per axis)");
    parse_fails("name: x\nsweep:\n  seed: {range: [0, 1000]}\n  zip:\n"
                "    model.width: {range: [1, 11]}\n    train.lr: {log: [1.0e-4, 1], num: 10}\n"
                "  train.l2: {linear: [0, 1], num: 101}\n",
                WG_EARG, "7:3:", "more than 1000000 tasks (10000 x 101 here)");
    parse_fails("name: x\ntrain: {snapshots: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,"
                "21,22,23,24,25,26,27,28,29,30,31,32], epochs: 40}\n",
                WG_EARG, "2:20:", "more than 32 epochs with the final one");
    parse_fails("name: x\nsweep: {data.path: [/a/very/long/path/to/the/dataset/x]}\n", WG_EARG,
                "2:21:", "at most 31 characters");
    parse_fails("name: x\nsweep: {zip: []}\n", WG_EARG, "2:14:", "empty list of groups");
    parse_fails("name: x\nsweep: {zip: {}}\n", WG_EARG, "2:14:", "empty group");
    parse_fails("name: x\nsweep: {zip: {zip: {seed: [1]}}}\n", WG_EARG, "2:15:", "nested");
    parse_fails("name: x\nsweep: {train.lr: {log: [1, 2], linear: [1, 2], num: 2}}\n", WG_EARG,
                "2:33:", "not both log and linear");
    parse_fails("name: x\nsweep: {train.lr: {num: 2}}\n", WG_EARG, "2:19:",
                "needs log, linear or range");
    parse_fails("name: x\nsweep: {train.lr: {log: [1, 2, 3], num: 2}}\n", WG_EARG, "2:25:",
                "expected a list [a, b], got 3 items");
    /* a maximal zip of 4096 values expands */
    char *text = malloc(65536);
    assert_non_null(text);
    int n = snprintf(text, 65536, "name: big\ndata: {name: synthetic, synthetic_train: 5000}\n"
                                  "sweep:\n  train.batch_size: [");
    for (int i = 1; i <= WG_MAX_VALUES; i++)
        n += snprintf(text + n, (size_t)(65536 - n), "%d%s", i, i < WG_MAX_VALUES ? ", " : "]\n");
    wg_plan p;
    parse_ok(&p, text);
    free(text);
    assert_int_equal(p.ntasks, WG_MAX_VALUES);
    assert_int_equal(p.tasks[WG_MAX_VALUES - 1].set.train.batch_size, WG_MAX_VALUES);
    wg_plan_free(&p);
}

static void test_sweep_missing_file_is_eio(void **state)
{
    (void)state;
    wg_plan p;
    wg_err_clear();
    assert_int_equal(wg_sweep_load(&p, "/nonexistent/dir/sweep.yaml"), WG_EIO);
    assert_non_null(strstr(wg_err_msg(), "/nonexistent/dir/sweep.yaml"));
    assert_null(p.tasks);
    wg_plan_free(&p);
}

static void test_sweep_free_is_safe(void **state)
{
    (void)state;
    wg_plan p;
    memset(&p, 0, sizeof p);
    wg_plan_free(&p);
    wg_plan_free(&p);
    wg_plan_free(NULL);
    /* a failure after axes and tasks were allocated leaves nothing behind */
    wg_err_clear();
    const char *t = "name: x\ntrain: {snapshots: [8]}\nsweep: {train.lr: [0.1], train.epochs: [10, 5]}\n";
    assert_int_equal(wg_sweep_parse(&p, t, strlen(t), "m.yaml"), WG_EARG);
    assert_int_equal(p.naxes, 0);
    assert_null(p.axes[0].num);
    wg_plan_free(&p);
    /* a plan that is loaded over is zeroed first */
    parse_ok(&p, "name: x\n");
    wg_plan_free(&p);
}

static void test_sweep_parse_names_the_buffer(void **state)
{
    (void)state;
    wg_plan p;
    const char *t = "name: x\nseed: [1]\n";
    wg_err_clear();
    assert_int_equal(wg_sweep_parse(&p, t, strlen(t), "inline"), WG_EARG);
    assert_string_equal(wg_err_msg(), "inline:2:7: seed: expected an integer, got a list");
    wg_plan_free(&p);
    /* the text need not be NUL-terminated */
    char buf[16];
    memcpy(buf, "name: abc\nXXXXXX", 16);
    wg_err_clear();
    assert_int_equal(wg_sweep_parse(&p, buf, 10, "inline"), 0);
    assert_string_equal(p.name, "abc");
    assert_int_equal(p.text_len, 10);
    assert_string_equal(p.text, "name: abc\n");
    wg_plan_free(&p);
}

/* Subspace tasks name their training in deps[0] (the output's source_task); at the
 * initialisation they do not wait for it (ndeps 0), at the optimum they do. */
static void test_sweep_subspace_sources(void **state)
{
    (void)state;
    static const int dims[3] = {2, 5, 9};
    for (int at = 0; at < 2; at++) {
        char t[512];
        snprintf(t, sizeof t,
                 "name: x\ndata: {name: synthetic}\nmodel: {arch: mlp, hidden: 8}\n"
                 "sweep:\n  model.hidden: [8, 16]\n  seed: [0, 1]\n"
                 "probes:\n  subspace: {dims: [2, 5, 9], at: %s}\n", at ? "optimum" : "init");
        wg_plan p;
        wg_err_clear();
        assert_int_equal(wg_sweep_parse(&p, t, strlen(t), "inline"), 0);
        assert_int_equal(p.ntrain, 4);
        assert_int_equal(p.ntasks, 4 + 4 * 3);
        for (size_t i = p.ntrain; i < p.ntasks; i++) {
            const wg_task *k = &p.tasks[i];
            size_t src = (i - p.ntrain) / 3;
            assert_int_equal(k->kind, WG_TASK_SUBSPACE);
            assert_int_equal(k->deps[0], src);
            assert_int_equal(k->ndeps, (size_t)at);
            assert_int_equal(k->arg[0], dims[(i - p.ntrain) % 3]);
            assert_int_equal(k->set.net.hidden, p.tasks[src].set.net.hidden);
            assert_true(k->set.train.seed == p.tasks[src].set.train.seed);
        }
        /* the optimiser's defaults: 0.1 at d = 100, scaled by 1/sqrt(d) */
        assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "lr", 0) == 0.1);
        assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "lr_ref_d", 0) == 100);
        assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "nnz", 0) == 32);
        wg_plan_free(&p);
    }
    const char *t = "name: x\ndata: {name: synthetic}\nmodel: {arch: mlp, hidden: 8}\n"
                    "probes:\n  subspace: {dims: [4], lr: 0.03, lr_ref_d: 0}\n";
    wg_plan p;
    assert_int_equal(wg_sweep_parse(&p, t, strlen(t), "inline"), 0);
    assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "lr", 0) == 0.03);
    assert_true(wg_plan_option(&p, WG_TASK_SUBSPACE, "lr_ref_d", 0) == 0);
    wg_plan_free(&p);
}

/* ---- command-line overrides ------------------------------------------------------ */

/* A sweep file in a temporary directory; its path into path. */
static void write_sweep(char *path, size_t cap, const char *text)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, cap, "%s/wedge-ov-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char OV_SWEEP[] =
    "name: ov\n"
    "data: {name: synthetic, synthetic_train: 100, synthetic_test: 50, synthetic_size: 8}\n"
    "model: {arch: mlp, depth: 1, hidden: 4}\n"
    "train: {epochs: 1, batch_size: 10}\n"
    "sweep:\n"
    "  seed: [0, 1]\n";

static void test_sweep_overrides_apply(void **state)
{
    (void)state;
    char path[256];
    write_sweep(path, sizeof path, OV_SWEEP);
    char *ov[] = {"train.epochs=3", "sweep.seed=[0, 1, 2]", "model.hidden=7",
                  "sweep.train.lr=[0.1, 0.01]", "probes.tunnel.directions=4"};
    wg_plan p, plain;
    assert_int_equal(wg_sweep_load_overrides(&p, path, ov, 5), 0);
    assert_int_equal(wg_sweep_load(&plain, path), 0);
    /* 3 seeds x 2 rates, each trained 3 epochs with 7 hidden units, and a tunnel probe */
    assert_int_equal(p.ntrain, 6);
    assert_int_equal(p.ntasks, 12);
    for (size_t i = 0; i < p.ntrain; i++) {
        assert_int_equal(p.tasks[i].set.train.epochs, 3);
        assert_int_equal(p.tasks[i].set.net.hidden, 7);
    }
    assert_true(wg_plan_option(&p, WG_TASK_TUNNEL, "directions", 0) == 4);
    assert_true(axis_named(&p, "lr") >= 0 && p.tasks[0].set.train.lr == 0.1 &&
                p.tasks[1].set.train.lr == 0.01);
    /* the text is the file's and then the overrides, as comments; the hash differs */
    assert_memory_equal(p.text, plain.text, plain.text_len);
    assert_non_null(strstr(p.text + plain.text_len, "#   train.epochs=3\n"));
    assert_non_null(strstr(p.text + plain.text_len, "#   sweep.seed=[0, 1, 2]\n"));
    assert_string_not_equal(p.sha256, plain.sha256);
    /* that text alone is the same sweep: parsed again it gives the same plan and hash */
    wg_plan again;
    assert_int_equal(wg_sweep_parse(&again, p.text, p.text_len, "stored"), 0);
    assert_int_equal(again.ntasks, p.ntasks);
    assert_string_equal(again.sha256, p.sha256);
    for (size_t i = 0; i < p.ntasks; i++)
        assert_int_equal(again.tasks[i].set.train.epochs, p.tasks[i].set.train.epochs);
    wg_plan_free(&again);
    wg_plan_free(&plain);
    wg_plan_free(&p);
    unlink(path);
}

static void test_sweep_overrides_errors(void **state)
{
    (void)state;
    char path[256];
    write_sweep(path, sizeof path, OV_SWEEP);
    static const struct {
        const char *ov, *want;
        int code;
    } cases[] = {
        {"train.lrr=3", "override 'train.lrr=3': unknown key 'lrr' in train (did you mean 'lr'?)",
         WG_EARG},
        {"train.lr=abc", "override 'train.lr=abc': train.lr: expected a number", WG_EARG},
        {"train.lr=[1", "override 'train.lr=[1': the value is not YAML", WG_EYAML},
        {"name.x=3", "'name.x': name is a scalar in the sweep, not a mapping", WG_EARG},
        {"train..lr=1", "an empty part in the key", WG_EARG},
        {"train.lr", "expected key=value", WG_EARG},
        {"train.batch_size=1000", "override 'train.batch_size=1000': train.batch_size = 1000 "
                                  "is larger than the training set", WG_EARG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *ov[] = {(char *)cases[i].ov};
        wg_plan p;
        wg_err_clear();
        int rc = wg_sweep_load_overrides(&p, path, ov, 1);
        if (rc != cases[i].code || !strstr(wg_err_msg(), cases[i].want))
            fail_msg("override '%s': got %d '%s', want %d '...%s...'", cases[i].ov, rc,
                     wg_err_msg(), cases[i].code, cases[i].want);
        assert_null(p.tasks);
        wg_plan_free(&p);
    }
    unlink(path);
}

int main(int argc, char **argv)
{
    const char *env = getenv("top_srcdir");
    if (argc > 1)
        srcdir = argv[1];
    else if (env && *env)
        srcdir = env;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_sha256_vectors),
        cmocka_unit_test(test_sweep_good_corpus_loads),
        cmocka_unit_test(test_sweep_minimal_defaults),
        cmocka_unit_test(test_sweep_example_plan),
        cmocka_unit_test(test_sweep_order_first_outermost),
        cmocka_unit_test(test_sweep_log_values),
        cmocka_unit_test(test_sweep_linear_values),
        cmocka_unit_test(test_sweep_range_values),
        cmocka_unit_test(test_sweep_explicit_values),
        cmocka_unit_test(test_sweep_zip_pairing),
        cmocka_unit_test(test_sweep_zip_groups_list),
        cmocka_unit_test(test_sweep_toy_hyperplane),
        cmocka_unit_test(test_sweep_snapshots_resolved),
        cmocka_unit_test(test_sweep_seed_derivation),
        cmocka_unit_test(test_sweep_text_axes),
        cmocka_unit_test(test_sweep_costs),
        cmocka_unit_test(test_sweep_shapes),
        cmocka_unit_test(test_sweep_sha256_of_text),
        cmocka_unit_test(test_sweep_meaning),
        cmocka_unit_test(test_sweep_plan_print),
        cmocka_unit_test(test_sweep_bad_corpus),
        cmocka_unit_test(test_sweep_syntax_errors_are_eyaml),
        cmocka_unit_test(test_sweep_did_you_mean),
        cmocka_unit_test(test_sweep_numbers_strict),
        cmocka_unit_test(test_sweep_task_checks_locate_the_cause),
        cmocka_unit_test(test_sweep_limits),
        cmocka_unit_test(test_sweep_missing_file_is_eio),
        cmocka_unit_test(test_sweep_free_is_safe),
        cmocka_unit_test(test_sweep_parse_names_the_buffer),
        cmocka_unit_test(test_sweep_subspace_sources),
        cmocka_unit_test(test_sweep_overrides_apply),
        cmocka_unit_test(test_sweep_overrides_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
