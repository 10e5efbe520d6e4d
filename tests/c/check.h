/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal test harness for the C tests: CHECK records a failure and goes on, so one
 * run reports every broken expectation; EXPECT_RESULT also prints the last error.
 */
#ifndef MONDOO_TEST_CHECK_H
#define MONDOO_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondoo.h"

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        check_count++;                                                                     \
        if (!(cond)) {                                                                     \
            check_failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* Check a call's result; on a mismatch print both names and the thread's last error
 * (without taking it, so the test can still inspect it). */
#define EXPECT_RESULT(call, expected)                                                      \
    do {                                                                                   \
        mondoo_result got_ = (call);                                                       \
        check_count++;                                                                     \
        if (got_ != (mondoo_result)(expected)) {                                           \
            char *msg_ = NULL;                                                             \
            check_failures++;                                                              \
            mondoo_last_error_message(&msg_);                                              \
            fprintf(stderr, "%s:%d: %s\n    returned %s, expected %s\n    last error: %s\n", \
                    __FILE__, __LINE__, #call, mondoo_result_name(got_),                   \
                    mondoo_result_name(expected), msg_ ? msg_ : "(none)");                 \
            mondoo_string_free(msg_);                                                      \
        }                                                                                  \
    } while (0)

#define EXPECT_OK(call) EXPECT_RESULT(call, MONDOO_RESULT_OK)

/* A copy of the calling thread's last error message ("" when there is none), taken
 * without clearing it; free it with free(). */
static inline char *last_message(void) {
    char *msg = NULL;
    mondoo_last_error_message(&msg);
    char *copy = strdup(msg ? msg : "");
    mondoo_string_free(msg);
    return copy;
}

/* Path of a fixture: $MONDOO_TESTDATA/rel (the Makefile sets it to the repository's
 * testdata/), else ../../testdata/rel (the tests run from tests/c). */
static inline const char *testdata(const char *rel) {
    static char buf[8][4096];
    static int slot = 0;
    const char *dir = getenv("MONDOO_TESTDATA");
    char *out = buf[slot];
    slot = (slot + 1) % 8;
    snprintf(out, sizeof buf[0], "%s/%s", dir && *dir ? dir : "../../testdata", rel);
    return out;
}

/* Read a whole file into a NUL-terminated buffer (freed with free), or NULL. */
static inline char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(data, cap * 2);
            if (!bigger) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!data) return NULL;
    data[len] = '\0';
    if (len_out) *len_out = len;
    return data;
}

static inline int check_summary(const char *name) {
    if (check_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, check_failures, check_count);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, check_count);
    return 0;
}

#endif
