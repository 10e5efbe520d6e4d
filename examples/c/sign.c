/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sign a request body with a service account, as the platform expects it.
 *
 *   sign CONFIG [BODY]     sign BODY (a string), or standard input when BODY is absent
 *
 * Prints the bearer alone on standard output (send it as `Authorization: Bearer ...`).
 * Build: make -C tests/c example (links target/debug/libmondoo.a).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondoo.h"

/* Print the last error of this thread and give the exit status for it. */
static int fail(const char *what) {
    mondoo_error *err = mondoo_error_last();
    fprintf(stderr, "sign: %s: %s (%s)\n", what, err ? mondoo_error_message(err) : "unknown error",
            mondoo_result_name(err ? mondoo_error_code(err) : MONDOO_RESULT_OK));
    mondoo_error_free(err);
    return 1;
}

/* Read all of standard input; the body may hold any bytes, NUL included. */
static uint8_t *read_stdin(size_t *len_out) {
    size_t cap = 65536, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
        }
    }
    *len_out = len;
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s CONFIG [BODY]   (BODY defaults to standard input)\n", argv[0]);
        return 2;
    }

    mondoo_config *config = NULL;
    if (mondoo_config_load(argv[1], &config) != MONDOO_RESULT_OK) return fail("loading the config");

    mondoo_signer *signer = NULL;
    mondoo_result result = mondoo_signer_from_config(config, &signer);
    mondoo_config_free(config); /* the signer keeps what it needs */
    if (result != MONDOO_RESULT_OK) return fail("reading the service account");

    size_t len = 0;
    uint8_t *stdin_body = NULL;
    const uint8_t *body;
    if (argc == 3) {
        body = (const uint8_t *)argv[2];
        len = strlen(argv[2]);
    } else {
        stdin_body = read_stdin(&len);
        if (!stdin_body) {
            mondoo_signer_free(signer);
            fprintf(stderr, "sign: cannot read standard input\n");
            return 1;
        }
        body = stdin_body;
    }

    char *bearer = NULL;
    result = mondoo_signer_sign(signer, body, len, &bearer);
    free(stdin_body);
    mondoo_signer_free(signer);
    if (result != MONDOO_RESULT_OK) return fail("signing");

    printf("%s\n", bearer);
    mondoo_string_free(bearer);
    return 0;
}
