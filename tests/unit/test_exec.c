/* test_exec.c: unit tests of exec.c's data cache (no MPI).
 *
 * An MPI run lends each worker's wg_exec a copy of the data that the ranks of a node
 * share (wg_exec_share); these tests check that the cache answers a setting with the
 * lent copy exactly when its data key matches (data fields and plan seed), loads a
 * private copy otherwise, draws the same probe set from a lent copy as from a private
 * load (so results cannot depend on sharing), and never writes or frees lent memory. */
#include "wedge/error.h"
#include "wedge/exec.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

/* A small synthetic setting (300 + 100 images of 12x12) under plan seed `seed`. */
static void setup(wg_setting *s, wg_plan *plan, uint64_t seed)
{
    assert_int_equal(wg_setting_defaults(s), 0);
    s->data = WG_DATA_SYNTHETIC;
    s->synth_train = 300;
    s->synth_test = 100;
    s->synth_size = 12;
    s->synth_channels = 1;
    s->model = WG_MODEL_MLP;
    memset(plan, 0, sizeof *plan);
    plan->seed = seed;
}

static void test_exec_data_key(void **state)
{
    (void)state;
    wg_setting s;
    wg_plan plan;
    setup(&s, &plan, 3);
    wg_data_key a, b;
    assert_int_equal(wg_exec_data_key(&s, 3, &a), 1);
    assert_int_equal(wg_exec_data_key(&s, 3, &b), 1);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(wg_exec_data_key(&s, 4, &b), 1); /* the seed draws the data */
    assert_memory_not_equal(&a, &b, sizeof a);
    s.train_size = 200;
    assert_int_equal(wg_exec_data_key(&s, 3, &b), 1);
    assert_memory_not_equal(&a, &b, sizeof a);
    s.model = WG_MODEL_TOY;
    assert_int_equal(wg_exec_data_key(&s, 3, &b), 0);
    wg_data_key zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&b, &zero, sizeof b);
}

static void test_exec_lent_data(void **state)
{
    (void)state;
    wg_setting s;
    wg_plan plan;
    setup(&s, &plan, 3);
    wg_data_key key;
    wg_exec_data_key(&s, 3, &key);
    /* the lender's copy, and a checksum to see that nobody writes it */
    wg_data lent;
    assert_int_equal(wg_exec_data_load(&lent, &key), 0);
    size_t img = (size_t)lent.train.h * lent.train.w * lent.train.c;
    uint8_t *before = malloc(lent.train.n * img);
    assert_non_null(before);
    memcpy(before, lent.train.pixels, lent.train.n * img);

    wg_exec x;
    wg_exec_init(&x);
    assert_int_equal(wg_exec_share(&x, &key, &lent), 0);
    assert_int_not_equal(wg_exec_share(&x, &key, &lent), 0); /* once per key */
    wg_err_clear();
    const wg_data *d;
    assert_int_equal(wg_exec_data(&x, &plan, &s, &d), 0);
    assert_ptr_equal(d->train.pixels, lent.train.pixels);
    assert_ptr_equal(d->test.labels, lent.test.labels);
    assert_int_equal(x.have_data, 0); /* nothing loaded privately */

    /* the probe set drawn from the lent copy is the one a private load gives */
    const wg_dataset *probe;
    assert_int_equal(wg_exec_probe_set(&x, &plan, &s, 150, &probe), 0);
    assert_int_equal(probe->n, 150);
    assert_ptr_not_equal(probe->pixels, lent.train.pixels);
    wg_exec y;
    wg_exec_init(&y);
    const wg_dataset *ref;
    assert_int_equal(wg_exec_probe_set(&y, &plan, &s, 150, &ref), 0);
    assert_int_equal(y.have_data, 1);
    assert_int_equal(ref->n, probe->n);
    assert_memory_equal(ref->pixels, probe->pixels, probe->n * img);
    assert_memory_equal(ref->labels, probe->labels, probe->n);
    wg_exec_free(&y);

    /* another seed: a private copy, and the probe set follows the data */
    wg_plan other = plan;
    other.seed = 4;
    assert_int_equal(wg_exec_data(&x, &other, &s, &d), 0);
    assert_ptr_not_equal(d->train.pixels, lent.train.pixels);
    assert_int_equal(x.have_data, 1);
    assert_int_equal(wg_exec_probe_set(&x, &other, &s, 150, &probe), 0);
    assert_ptr_equal(x.probe_of, &x.data);
    /* and back: the lent copy again, the private one kept */
    assert_int_equal(wg_exec_data(&x, &plan, &s, &d), 0);
    assert_ptr_equal(d->train.pixels, lent.train.pixels);
    assert_int_equal(x.probe_size, 0);

    /* freeing the exec leaves the lent memory alone (a free of it would abort here
     * or in wg_data_free below) and unchanged */
    wg_exec_free(&x);
    assert_memory_equal(before, lent.train.pixels, lent.train.n * img);
    free(before);
    wg_data_free(&lent);
}

static void test_exec_share_limit(void **state)
{
    (void)state;
    wg_setting s;
    wg_plan plan;
    setup(&s, &plan, 3);
    wg_data d;
    memset(&d, 0, sizeof d);
    wg_exec x;
    wg_exec_init(&x);
    for (int i = 0; i < WG_EXEC_SHARED; i++) {
        wg_data_key key;
        wg_exec_data_key(&s, (uint64_t)i, &key);
        assert_int_equal(wg_exec_share(&x, &key, &d), 0);
    }
    wg_data_key key;
    wg_exec_data_key(&s, 100, &key);
    assert_int_equal(wg_exec_share(&x, &key, &d), WG_EARG);
    wg_err_clear();
    wg_exec_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_data_key),
        cmocka_unit_test(test_exec_lent_data),
        cmocka_unit_test(test_exec_share_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
