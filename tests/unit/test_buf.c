/* test_buf.c: unit tests of buf.c, the growing byte buffer of task identities and
 * of a sweep's canonical form: appends keep every byte in order and the text
 * NUL-terminated across growth, printf-style appends equal snprintf's text, and
 * free leaves an empty buffer that can be used again. */
#include "wedge/buf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

static void test_buf_put_grows_in_order(void **state)
{
    (void)state;
    wg_buf b = {0};
    char want[20000];
    for (size_t i = 0; i < sizeof want; i++)
        want[i] = (char)('a' + i % 26);
    /* pieces of 1..97 bytes, across several doublings of the capacity */
    size_t at = 0;
    for (size_t n = 1; at < sizeof want; n = n % 97 + 1) {
        size_t k = n < sizeof want - at ? n : sizeof want - at;
        wg_buf_put(&b, want + at, k);
        at += k;
        assert_int_equal(b.len, at);
        assert_int_equal(b.data[b.len], '\0');
    }
    assert_false(b.oom);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.data, want, sizeof want);
    wg_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_buf_printf_equals_snprintf(void **state)
{
    (void)state;
    wg_buf b = {0};
    char want[8192] = "";
    size_t len = 0;
    for (int i = 0; i < 300; i++) { /* ~9 kB: the first 4 kB capacity grows */
        wg_buf_printf(&b, "x[%d]=%.17g\n", i, 1.0 / (i + 1));
        len += (size_t)snprintf(want + len, sizeof want - len, "x[%d]=%.17g\n", i, 1.0 / (i + 1));
        if (len >= 4000)
            break;
    }
    assert_int_equal(b.len, len);
    assert_string_equal(b.data, want);
    /* a long piece at once, then reuse after free */
    char big[6000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wg_buf_printf(&b, "%s", big);
    assert_int_equal(b.len, len + sizeof big - 1);
    assert_string_equal(b.data + len, big);
    wg_buf_free(&b);
    wg_buf_printf(&b, "%s=%d", "k", 7);
    assert_string_equal(b.data, "k=7");
    assert_int_equal(b.len, 3);
    wg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_put_grows_in_order),
        cmocka_unit_test(test_buf_printf_equals_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
