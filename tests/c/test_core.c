/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C tests of libmondoo's core ABI: version, argument checks (NULL, invalid UTF-8), config,
 * tokens, signing (binary bodies, empty bodies, many threads), the error object, and the
 * rule that out-parameters are untouched on failure. No network is used: the client
 * calls here point at a closed port.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "check.h"

/* An address no libmondoo call would ever write: out-params preset to it must keep it
 * when a call fails. */
static char sentinel_storage;
#define SENTINEL ((char *)&sentinel_storage)

static const char *const SERVICE_ACCOUNT_MRN =
    "//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/serviceaccounts/"
    "2Xa7TestServiceAccount01";
static const char *const SPACE_MRN = "//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456";

/* SHA-256 (hex) of the 18-byte body "mondoo\0signed\0body" and of the empty body. */
static const char BINARY_BODY[] = "mondoo\0signed\0body";
static const size_t BINARY_BODY_LEN = sizeof BINARY_BODY - 1;
static const char *const BINARY_BODY_CHASH =
    "e1caf74f455a0f67de4d1b7a2814c8702453e0fa46c540c8743d696263b4615c";
static const char *const EMPTY_BODY_CHASH =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static int contains(const char *haystack, const char *needle) {
    return haystack && needle && strstr(haystack, needle) != NULL;
}

/* A NULL argument gives NULL_PARAMETER and a last error naming the parameter. */
#define EXPECT_NULL_PARAM(call, param)                                                     \
    do {                                                                                   \
        EXPECT_RESULT(call, MONDOO_RESULT_NULL_PARAMETER);                                 \
        char *m_ = last_message();                                                         \
        CHECK(contains(m_, "`" param "`"), "message should name `%s`: %s", param, m_);    \
        free(m_);                                                                          \
    } while (0)

/* For a call shaped fn(handle, out): a NULL handle and a NULL out-param are each refused
 * and named. */
#define EXPECT_NULL_HANDLE_AND_OUT(fn, handle, handle_param, out, out_param)              \
    do {                                                                                   \
        EXPECT_NULL_PARAM(fn(NULL, out), handle_param);                                    \
        EXPECT_NULL_PARAM(fn(handle, NULL), out_param);                                    \
    } while (0)

/* call succeeds and writes the string expected to out (preset to SENTINEL), then freed. */
#define EXPECT_STRING(call, out, expected)                                                 \
    do {                                                                                   \
        out = SENTINEL;                                                                    \
        EXPECT_OK(call);                                                                   \
        CHECK(out && strcmp(out, expected) == 0, "%s gave %s", #call, out ? out : "(null)"); \
        mondoo_string_free(out);                                                           \
    } while (0)

static mondoo_config *load_config(const char *rel) {
    mondoo_config *cfg = NULL;
    EXPECT_OK(mondoo_config_load(testdata(rel), &cfg));
    return cfg;
}

/* ---- base64url and bearer claims, to check what was signed ---- */

static int b64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Decode the claims segment of a JWT into a NUL-terminated string (free with free). */
static char *jwt_claims(const char *jwt) {
    const char *start = strchr(jwt, '.');
    if (!start) return NULL;
    start++;
    const char *end = strchr(start, '.');
    if (!end) return NULL;
    size_t n = (size_t)(end - start);
    char *out = malloc(n + 1);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(start[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

static int bearer_has_chash(const char *bearer, const char *chash) {
    char *claims = jwt_claims(bearer);
    char expected[128];
    snprintf(expected, sizeof expected, "\"chash\":\"%s\"", chash);
    int ok = contains(claims, expected);
    if (!ok) fprintf(stderr, "    claims: %s\n", claims ? claims : "(undecodable)");
    free(claims);
    return ok;
}

/* ---- tests ---- */

static void test_version(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", MONDOO_VERSION_MAJOR, MONDOO_VERSION_MINOR,
             MONDOO_VERSION_PATCH);
    CHECK(strcmp(mondoo_version(), MONDOO_VERSION_STRING) == 0, "mondoo_version() = %s, header %s",
          mondoo_version(), MONDOO_VERSION_STRING);
    CHECK(strcmp(expected, MONDOO_VERSION_STRING) == 0, "macros %s vs string %s", expected,
          MONDOO_VERSION_STRING);
    CHECK(strcmp(mondoo_result_name(MONDOO_RESULT_TOKEN_EXPIRED), "MONDOO_RESULT_TOKEN_EXPIRED") == 0,
          "%s", mondoo_result_name(MONDOO_RESULT_TOKEN_EXPIRED));
    CHECK(strcmp(mondoo_result_name(77), "MONDOO_RESULT_UNKNOWN") == 0, "%s", mondoo_result_name(77));
    /* The class of a code comes from the library's one table. */
    CHECK(mondoo_result_class(MONDOO_RESULT_OK) == MONDOO_ERROR_CLASS_OK, "class of OK");
    CHECK(mondoo_result_class(MONDOO_RESULT_CONFIG_PARSE) == MONDOO_ERROR_CLASS_CONFIG, "class of CONFIG_PARSE");
    CHECK(mondoo_result_class(MONDOO_RESULT_NOT_REGISTERED) == MONDOO_ERROR_CLASS_NOT_REGISTERED,
          "class of NOT_REGISTERED");
    CHECK(mondoo_result_class(MONDOO_RESULT_TOKEN_EXPIRED) == MONDOO_ERROR_CLASS_TOKEN, "class of TOKEN_EXPIRED");
    CHECK(mondoo_result_class(MONDOO_RESULT_KEY_ENCRYPTED) == MONDOO_ERROR_CLASS_KEY, "class of KEY_ENCRYPTED");
    CHECK(mondoo_result_class(MONDOO_RESULT_CANCELED) == MONDOO_ERROR_CLASS_NETWORK, "class of CANCELED");
    CHECK(mondoo_result_class(MONDOO_RESULT_RPC_UNAUTHENTICATED) == MONDOO_ERROR_CLASS_RPC, "class of RPC_*");
    CHECK(mondoo_result_class(MONDOO_RESULT_PANIC) == MONDOO_ERROR_CLASS_INTERNAL, "class of PANIC");
    CHECK(mondoo_result_class(77) == MONDOO_ERROR_CLASS_INTERNAL, "a value that is no code");
}

static void test_config_fields(void) {
    mondoo_config *cfg = load_config("service-account/credentials.json");
    if (!cfg) return;
    char *s = SENTINEL;

    EXPECT_STRING(mondoo_config_service_account_mrn(cfg, &s), s, SERVICE_ACCOUNT_MRN);

    EXPECT_STRING(mondoo_config_space_mrn(cfg, &s), s, SPACE_MRN);

    s = SENTINEL;
    EXPECT_OK(mondoo_config_agent_mrn(cfg, &s));
    CHECK(s == NULL, "absent agent_mrn gives NULL, got %p", (void *)s);

    s = SENTINEL;
    EXPECT_OK(mondoo_config_api_endpoint(cfg, &s));
    CHECK(s && strncmp(s, "https://", 8) == 0, "api_endpoint = %s", s ? s : "(null)");
    mondoo_string_free(s);

    EXPECT_STRING(mondoo_config_source(cfg, &s), s, "--config");

    s = SENTINEL;
    EXPECT_OK(mondoo_config_path(cfg, &s));
    CHECK(contains(s, "service-account/credentials.json"), "path = %s", s ? s : "(null)");
    mondoo_string_free(s);

    EXPECT_STRING(mondoo_config_get(cfg, "SPACE_MRN", &s), s, SPACE_MRN);

    s = SENTINEL;
    EXPECT_OK(mondoo_config_get(cfg, "no_such_key", &s));
    CHECK(s == NULL, "absent key gives NULL");

    s = SENTINEL;
    EXPECT_RESULT(mondoo_config_get(cfg, "Private_Key", &s), MONDOO_RESULT_INVALID_ARGUMENT);
    CHECK(s == SENTINEL, "out untouched when private_key is refused");

    bool registered = false;
    EXPECT_OK(mondoo_config_is_registered(cfg, &registered));
    CHECK(registered, "credentials.json is registered");

    s = SENTINEL;
    EXPECT_OK(mondoo_config_to_json(cfg, &s));
    CHECK(contains(s, "<redacted>"), "JSON redacts the key: %s", s ? s : "(null)");
    CHECK(!contains(s, "PRIVATE KEY"), "JSON holds no key");
    CHECK(contains(s, SERVICE_ACCOUNT_MRN), "JSON holds the mrn");
    mondoo_string_free(s);

    mondoo_config_free(cfg);
}

static void test_config_errors_and_error_object(void) {
    mondoo_config *cfg = (mondoo_config *)SENTINEL;
    const char *missing = testdata("service-account/no-such-file.json");
    EXPECT_RESULT(mondoo_config_load(missing, &cfg), MONDOO_RESULT_CONFIG_NOT_FOUND);
    CHECK(cfg == (mondoo_config *)SENTINEL, "config_out untouched on failure");

    mondoo_error *err = mondoo_error_last();
    CHECK(err != NULL, "a failed call leaves a last error");
    if (err) {
        CHECK(mondoo_error_code(err) == MONDOO_RESULT_CONFIG_NOT_FOUND, "code %u",
              (unsigned)mondoo_error_code(err));
        const char *msg = mondoo_error_message(err);
        CHECK(contains(msg, "no-such-file.json"), "message names the file: %s", msg ? msg : "(null)");
        const char *path = mondoo_error_path(err);
        CHECK(path && strcmp(path, missing) == 0, "error path = %s", path ? path : "(null)");
        CHECK(mondoo_error_rpc_code(err) == -1, "no rpc code");
        CHECK(mondoo_error_http_status(err) == -1, "no http status");
        CHECK(isnan(mondoo_error_clock_skew_seconds(err)), "no clock skew");
        mondoo_error_free(err);
    }
    CHECK(mondoo_error_last() == NULL, "taking the last error clears it");

    /* A success clears an older error. */
    EXPECT_RESULT(mondoo_config_load(missing, &cfg), MONDOO_RESULT_CONFIG_NOT_FOUND);
    cfg = load_config("service-account/credentials.json");
    CHECK(mondoo_error_last() == NULL, "a successful call clears the last error");
    mondoo_config_free(cfg);

    /* A file that is not a config. */
    cfg = (mondoo_config *)SENTINEL;
    EXPECT_RESULT(mondoo_config_load(testdata("tokens/not-a-jwt.txt"), &cfg),
                  MONDOO_RESULT_CONFIG_PARSE);
    CHECK(cfg == (mondoo_config *)SENTINEL, "config_out untouched on a parse error");
    err = mondoo_error_last();
    CHECK(err && mondoo_error_path(err) && contains(mondoo_error_path(err), "not-a-jwt.txt"),
          "parse error names the file");
    mondoo_error_free(err);
}

static void test_wrong_curve(void) {
    mondoo_config *cfg = NULL;
    mondoo_result r = mondoo_config_load(testdata("service-account/credentials-p256.json"), &cfg);
    mondoo_signer *signer = (mondoo_signer *)SENTINEL;
    if (r == MONDOO_RESULT_OK) {
        r = mondoo_signer_from_config(cfg, &signer);
    }
    CHECK(r == MONDOO_RESULT_KEY_WRONG_CURVE, "P-256 credentials give %s", mondoo_result_name(r));
    CHECK(signer == (mondoo_signer *)SENTINEL, "signer_out untouched");
    mondoo_error *err = mondoo_error_last();
    const char *msg = err ? mondoo_error_message(err) : NULL;
    CHECK(msg && strlen(msg) > 10, "a clear message: %s", msg ? msg : "(null)");
    CHECK(contains(msg, "P-256") || contains(msg, "P-384") || contains(msg, "curve"),
          "message says which curve: %s", msg ? msg : "(null)");
    CHECK(!contains(msg, "PRIVATE KEY") && !contains(msg, "MIG"), "no key material in: %s",
          msg ? msg : "(null)");
    mondoo_error_free(err);
    mondoo_config_free(cfg);
}

static void test_tokens(void) {
    struct {
        const char *file;
        mondoo_result expected;
    } cases[] = {
        {"tokens/registration-valid.jwt", MONDOO_RESULT_OK},
        {"tokens/registration-expired.jwt", MONDOO_RESULT_TOKEN_EXPIRED},
        {"tokens/registration-nospace.jwt", MONDOO_RESULT_TOKEN_NO_SPACE},
        {"tokens/not-a-jwt.txt", MONDOO_RESULT_TOKEN_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *token = read_file(testdata(cases[i].file), NULL);
        CHECK(token != NULL, "read %s", cases[i].file);
        if (!token) continue;
        char *claims = SENTINEL;
        EXPECT_RESULT(mondoo_token_inspect(token, NULL, &claims), cases[i].expected);
        if (cases[i].expected == MONDOO_RESULT_OK) {
            CHECK(contains(claims, "\"space\""), "claims: %s", claims);
            CHECK(!contains(claims, token), "claims do not hold the token");
            mondoo_string_free(claims);
        } else {
            CHECK(claims == SENTINEL, "%s: claims_out untouched", cases[i].file);
            mondoo_error *err = mondoo_error_last();
            const char *msg = err ? mondoo_error_message(err) : "";
            /* The token's signature segment is secret-ish: it must not be echoed. */
            const char *sig = strrchr(token, '.');
            CHECK(!(sig && strlen(sig) > 20 && contains(msg, sig + 1)), "%s: message holds the token",
                  cases[i].file);
            if (cases[i].expected == MONDOO_RESULT_TOKEN_EXPIRED) {
                CHECK(contains(msg, "2024"), "expiry time in message: %s", msg);
            }
            mondoo_error_free(err);
        }
        free(token);
    }
}

/* issue 14, F11: an empty path is a mistake, not the default search (NULL is that). */
static void test_empty_config_path(void) {
    mondoo_config *cfg = (mondoo_config *)SENTINEL;
    EXPECT_RESULT(mondoo_config_load("", &cfg), MONDOO_RESULT_INVALID_ARGUMENT);
    CHECK(cfg == (mondoo_config *)SENTINEL, "config_out untouched");
    char *m = last_message();
    CHECK(contains(m, "config path is empty"), "says why: %s", m);
    free(m);
    EXPECT_RESULT(mondoo_config_load_for_registration("", &cfg), MONDOO_RESULT_INVALID_ARGUMENT);
    CHECK(cfg == (mondoo_config *)SENTINEL, "config_out untouched");
    mondoo_error_free(mondoo_error_last());
}

/* The token info handle reads the claims one by one, the same values as the JSON form;
 * an endpoint given to the inspection wins over the token's. */
static void test_token_info(void) {
    char *token = read_file(testdata("tokens/registration-valid.jwt"), NULL);
    CHECK(token != NULL, "read the valid token");
    if (!token) return;
    mondoo_token_info *info = NULL;
    EXPECT_OK(mondoo_token_inspect_report(token, NULL, &info));
    if (!info) {
        free(token);
        return;
    }
    char *s = NULL;
    EXPECT_STRING(mondoo_token_info_space_mrn(info, &s), s, SPACE_MRN);
    EXPECT_STRING(mondoo_token_info_api_endpoint(info, &s), s, "https://us.api.mondoo.com");
    EXPECT_STRING(mondoo_token_info_description(info, &s), s, "fixture token");
    EXPECT_STRING(mondoo_token_info_labels_json(info, &s), s, "{\"env\":\"test\"}");
    int64_t expires_at = 0;
    EXPECT_OK(mondoo_token_info_expires_at(info, &expires_at));
    CHECK(expires_at == 4102444800LL, "expires at 2100-01-01: %lld", (long long)expires_at);
    char *json = NULL;
    EXPECT_OK(mondoo_token_info_to_json(info, &json));
    CHECK(contains(json, "\"expires_at\":\"2100-01-01T00:00:00Z\"") && !contains(json, token),
          "the JSON form, without the token: %s", json ? json : "(null)");
    mondoo_string_free(json);
    mondoo_token_info_free(info);

    info = NULL;
    EXPECT_OK(mondoo_token_inspect_report(token, "https://eu.api.mondoo.com", &info));
    EXPECT_STRING(mondoo_token_info_api_endpoint(info, &s), s, "https://eu.api.mondoo.com");
    mondoo_token_info_free(info);

    /* A token that cannot be used: the code of mondoo_token_inspect, info_out untouched. */
    char *expired = read_file(testdata("tokens/registration-expired.jwt"), NULL);
    info = (mondoo_token_info *)SENTINEL;
    EXPECT_RESULT(mondoo_token_inspect_report(expired ? expired : "", NULL, &info), MONDOO_RESULT_TOKEN_EXPIRED);
    CHECK(info == (mondoo_token_info *)SENTINEL, "info_out untouched");
    free(expired);
    free(token);
}

static void test_invalid_utf8(void) {
    const char bad[] = {'c', 'f', 'g', (char)0xff, (char)0xfe, '.', 'j', 's', 'o', 'n', 0};
    mondoo_config *cfg = (mondoo_config *)SENTINEL;
    EXPECT_RESULT(mondoo_config_load(bad, &cfg), MONDOO_RESULT_INVALID_UTF8);
    CHECK(cfg == (mondoo_config *)SENTINEL, "untouched");
    char *m = last_message();
    CHECK(contains(m, "`path`") && contains(m, "mondoo_config_load"), "names function and parameter: %s", m);
    free(m);

    /* The registration loader checks its path the same way, before touching the disk. */
    cfg = (mondoo_config *)SENTINEL;
    EXPECT_RESULT(mondoo_config_load_for_registration(bad, &cfg), MONDOO_RESULT_INVALID_UTF8);
    CHECK(cfg == (mondoo_config *)SENTINEL, "config_out untouched");
    m = last_message();
    CHECK(contains(m, "`path`") && contains(m, "mondoo_config_load_for_registration"),
          "names function and parameter: %s", m);
    free(m);
    mondoo_error *err = mondoo_error_last();
    CHECK(err && mondoo_error_code(err) == MONDOO_RESULT_INVALID_UTF8, "error object code %s",
          err ? mondoo_result_name(mondoo_error_code(err)) : "(no error)");
    mondoo_error_free(err);

    char *out = SENTINEL;
    EXPECT_RESULT(mondoo_token_inspect(bad, NULL, &out), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_RESULT(mondoo_token_inspect("a.b.c", bad, &out), MONDOO_RESULT_INVALID_UTF8);
    m = last_message();
    CHECK(contains(m, "`endpoint_override`"), "%s", m);
    free(m);
    CHECK(out == SENTINEL, "untouched");

    cfg = load_config("service-account/credentials.json");
    EXPECT_RESULT(mondoo_config_get(cfg, bad, &out), MONDOO_RESULT_INVALID_UTF8);
    CHECK(out == SENTINEL, "untouched");

    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_client_options_new(&opts));
    EXPECT_RESULT(mondoo_client_options_set_api_endpoint(opts, bad), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_RESULT(mondoo_client_options_set_api_proxy(opts, bad), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_RESULT(mondoo_client_options_set_ca_file(opts, bad), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_OK(mondoo_client_options_set_api_endpoint(opts, "http://127.0.0.1:1"));
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_client_new(cfg, opts, &client));
    EXPECT_RESULT(mondoo_client_call(client, bad, "M", (const uint8_t *)"{}", 2, &out), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_RESULT(mondoo_client_call(client, "S", bad, (const uint8_t *)"{}", 2, &out), MONDOO_RESULT_INVALID_UTF8);
    /* The request is bytes: bytes that are not UTF-8 are not JSON. */
    EXPECT_RESULT(mondoo_client_call(client, "S", "M", (const uint8_t *)bad, strlen(bad), &out),
                  MONDOO_RESULT_INVALID_ARGUMENT);
    m = last_message();
    CHECK(contains(m, "`request_json`") && contains(m, "not JSON"), "names the request: %s", m);
    free(m);
    EXPECT_RESULT(mondoo_client_call(client, "S", "M", (const uint8_t *)"{not json", 9, &out),
                  MONDOO_RESULT_INVALID_ARGUMENT);
    /* Binary-safe: a NUL inside the length is a byte of the body, not its end ("{}" alone
     * would be valid JSON), so this is not JSON. */
    EXPECT_RESULT(mondoo_client_call(client, "S", "M", (const uint8_t *)"{}\0{}", 5, &out),
                  MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_RESULT(mondoo_client_register(client, bad, NULL, NULL, &out), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_RESULT(mondoo_client_register(client, NULL, bad, NULL, &out), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_RESULT(mondoo_client_register(client, NULL, NULL, bad, &out), MONDOO_RESULT_INVALID_UTF8);
    EXPECT_RESULT(mondoo_client_register(client, NULL, NULL, "[1,2]", &out),
                  MONDOO_RESULT_INVALID_ARGUMENT);
    CHECK(out == SENTINEL, "untouched");
    mondoo_client_free(client);
    mondoo_client_options_free(opts);
    mondoo_config_free(cfg);
}

static void test_signing(void) {
    mondoo_config *cfg = load_config("service-account/credentials.json");
    mondoo_signer *signer = NULL;
    EXPECT_OK(mondoo_signer_from_config(cfg, &signer));
    mondoo_config_free(cfg); /* the signer keeps its own copy */
    if (!signer) return;

    char *bearer = SENTINEL;
    EXPECT_OK(mondoo_signer_sign(signer, (const uint8_t *)BINARY_BODY, BINARY_BODY_LEN, &bearer));
    CHECK(bearer != SENTINEL && bearer_has_chash(bearer, BINARY_BODY_CHASH),
          "the whole binary body (with NULs) is signed");
    if (bearer != SENTINEL) mondoo_string_free(bearer);

    bearer = SENTINEL;
    EXPECT_OK(mondoo_signer_sign(signer, NULL, 0, &bearer));
    CHECK(bearer != SENTINEL && bearer_has_chash(bearer, EMPTY_BODY_CHASH), "empty body (NULL, 0)");
    if (bearer != SENTINEL) mondoo_string_free(bearer);

    bearer = SENTINEL;
    EXPECT_OK(mondoo_signer_sign(signer, (const uint8_t *)"", 0, &bearer));
    CHECK(bearer != SENTINEL && bearer_has_chash(bearer, EMPTY_BODY_CHASH), "empty body (\"\", 0)");
    if (bearer != SENTINEL) mondoo_string_free(bearer);

    bearer = SENTINEL;
    EXPECT_NULL_PARAM(mondoo_signer_sign(signer, NULL, 5, &bearer), "body");
    CHECK(bearer == SENTINEL, "untouched");

    /* A large body (100 MiB by default; MONDOO_TEST_BIG_BODY_MB shrinks it under valgrind). */
    const char *mb_env = getenv("MONDOO_TEST_BIG_BODY_MB");
    size_t mb = mb_env ? (size_t)strtoul(mb_env, NULL, 10) : 100;
    size_t big_len = mb * 1024 * 1024;
    uint8_t *big = big_len ? malloc(big_len) : NULL;
    if (big) {
        memset(big, 0x5a, big_len);
        bearer = SENTINEL;
        EXPECT_OK(mondoo_signer_sign(signer, big, big_len, &bearer));
        CHECK(bearer != SENTINEL && strlen(bearer) > 100, "big body signed");
        if (bearer != SENTINEL) mondoo_string_free(bearer);
        free(big);
    }
    mondoo_signer_free(signer);
}

/* ---- many threads on one signer ---- */

#define THREADS 8
#define SIGNS_PER_THREAD 40

struct sign_job {
    const mondoo_signer *signer;
    int index;
    int failures;
    int isolated;
};

static void *sign_worker(void *arg) {
    struct sign_job *job = arg;
    char body[64];
    for (int i = 0; i < SIGNS_PER_THREAD; i++) {
        int len = snprintf(body, sizeof body, "thread %d body %d", job->index, i);
        char *bearer = NULL;
        if (mondoo_signer_sign(job->signer, (const uint8_t *)body, (size_t)len, &bearer) != MONDOO_RESULT_OK ||
            bearer == NULL || strlen(bearer) < 100) {
            job->failures++;
        }
        mondoo_string_free(bearer);
    }
    /* Errors are per thread: a failure here is not visible on other threads, and the
     * successes above left this thread without a last error. */
    job->isolated = mondoo_error_last() == NULL;
    char *out = NULL;
    if (job->index == 0) {
        mondoo_token_inspect("not a token", NULL, &out);
        mondoo_error *e = mondoo_error_last();
        job->isolated = job->isolated && e && mondoo_error_code(e) == MONDOO_RESULT_TOKEN_MALFORMED;
        mondoo_error_free(e);
    }
    return NULL;
}

static void test_threads(void) {
    mondoo_config *cfg = load_config("service-account/credentials.json");
    mondoo_signer *signer = NULL;
    EXPECT_OK(mondoo_signer_from_config(cfg, &signer));
    mondoo_config_free(cfg);
    if (!signer) return;
    pthread_t threads[THREADS];
    struct sign_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (struct sign_job){signer, t, 0, 0};
        CHECK(pthread_create(&threads[t], NULL, sign_worker, &jobs[t]) == 0, "pthread_create");
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(jobs[t].failures == 0, "thread %d: %d signatures failed", t, jobs[t].failures);
        CHECK(jobs[t].isolated, "thread %d: last error not per thread", t);
    }
    mondoo_signer_free(signer);
}

/* ---- NULL for every pointer argument ---- */

static void test_null_parameters(void) {
    mondoo_config *cfg = load_config("service-account/credentials.json");
    mondoo_signer *signer = NULL;
    EXPECT_OK(mondoo_signer_from_config(cfg, &signer));
    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_client_options_new(&opts));
    /* A closed port and short timeouts: nothing here reaches a platform. */
    EXPECT_OK(mondoo_client_options_set_api_endpoint(opts, "http://127.0.0.1:1"));
    EXPECT_OK(mondoo_client_options_set_timeout_ms(opts, 2000));
    EXPECT_OK(mondoo_client_options_set_connect_timeout_ms(opts, 1000));
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_client_new(cfg, opts, &client));
    mondoo_status *status = NULL;
    EXPECT_OK(mondoo_client_status_report(client, &status));
    char *valid_token = read_file(testdata("tokens/registration-valid.jwt"), NULL);
    mondoo_token_info *info = NULL;
    EXPECT_OK(mondoo_token_inspect_report(valid_token ? valid_token : "", NULL, &info));
    free(valid_token);
    if (!cfg || !signer || !opts || !client || !status || !info) {
        CHECK(0, "setup failed; skipping the NULL-parameter matrix");
        goto done;
    }

    char *s = SENTINEL;
    bool b = true;
    int32_t i32 = 77;
    mondoo_config *cfg_out = (mondoo_config *)SENTINEL;
    mondoo_signer *signer_out = (mondoo_signer *)SENTINEL;
    mondoo_client *client_out = (mondoo_client *)SENTINEL;
    mondoo_client_options *opts_out = (mondoo_client_options *)SENTINEL;
    mondoo_status *status_out = (mondoo_status *)SENTINEL;
    mondoo_error *error_out = (mondoo_error *)SENTINEL;
    mondoo_registration *registration_out = (mondoo_registration *)SENTINEL;
    mondoo_token_info *info_out = (mondoo_token_info *)SENTINEL;
    int64_t i64 = 78;
    double dbl = 79.0;
    const uint8_t body[] = {1, 2, 3};
    uint64_t delays[] = {1, 2};

    EXPECT_NULL_PARAM(mondoo_config_load(NULL, NULL), "config_out");
    EXPECT_NULL_PARAM(mondoo_config_load_for_registration(NULL, NULL), "config_out");
    EXPECT_NULL_PARAM(mondoo_config_load_for_registration(testdata("service-account/credentials.json"), NULL),
                      "config_out");
    EXPECT_NULL_PARAM(mondoo_config_load_for_registration("/nonexistent/mondoo/new.yml", NULL), "config_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_service_account_mrn, cfg, "config", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_agent_mrn, cfg, "config", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_api_endpoint, cfg, "config", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_space_mrn, cfg, "config", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_source, cfg, "config", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_path, cfg, "config", &s, "value_out");
    EXPECT_NULL_PARAM(mondoo_config_get(NULL, "mrn", &s), "config");
    EXPECT_NULL_PARAM(mondoo_config_get(cfg, NULL, &s), "key");
    EXPECT_NULL_PARAM(mondoo_config_get(cfg, "mrn", NULL), "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_is_registered, cfg, "config", &b, "registered_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_config_to_json, cfg, "config", &s, "json_out");

    EXPECT_NULL_PARAM(mondoo_token_inspect(NULL, NULL, &s), "token");
    EXPECT_NULL_PARAM(mondoo_token_inspect("a.b.c", NULL, NULL), "claims_json_out");
    EXPECT_NULL_PARAM(mondoo_token_inspect_report(NULL, NULL, &info_out), "token");
    EXPECT_NULL_PARAM(mondoo_token_inspect_report("a.b.c", NULL, NULL), "info_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_token_info_space_mrn, info, "info", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_token_info_api_endpoint, info, "info", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_token_info_description, info, "info", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_token_info_labels_json, info, "info", &s, "json_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_token_info_to_json, info, "info", &s, "json_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_token_info_expires_at, info, "info", &i64, "unix_seconds_out");

    EXPECT_NULL_HANDLE_AND_OUT(mondoo_signer_from_config, cfg, "config", &signer_out, "signer_out");
    EXPECT_NULL_PARAM(mondoo_signer_sign(NULL, body, sizeof body, &s), "signer");
    EXPECT_NULL_PARAM(mondoo_signer_sign(signer, NULL, sizeof body, &s), "body");
    EXPECT_NULL_PARAM(mondoo_signer_sign(signer, body, sizeof body, NULL), "bearer_out");

    EXPECT_NULL_PARAM(mondoo_last_error_message(NULL), "message_out");

    EXPECT_NULL_PARAM(mondoo_client_options_new(NULL), "options_out");
    EXPECT_NULL_PARAM(mondoo_client_options_set_api_endpoint(NULL, "x"), "options");
    EXPECT_NULL_PARAM(mondoo_client_options_set_api_proxy(NULL, "x"), "options");
    EXPECT_NULL_PARAM(mondoo_client_options_set_ca_file(NULL, "x"), "options");
    EXPECT_NULL_PARAM(mondoo_client_options_set_timeout_ms(NULL, 1), "options");
    EXPECT_NULL_PARAM(mondoo_client_options_set_connect_timeout_ms(NULL, 1), "options");
    EXPECT_NULL_PARAM(mondoo_client_options_set_retry_delays_ms(NULL, delays, 2), "options");
    EXPECT_NULL_PARAM(mondoo_client_options_set_retry_delays_ms(opts, NULL, 2), "delays_ms");
    EXPECT_NULL_PARAM(mondoo_client_options_set_retry_jitter_ms(NULL, 1), "options");
    EXPECT_NULL_PARAM(mondoo_client_options_set_correct_clock_skew(NULL, true), "options");

    EXPECT_NULL_PARAM(mondoo_client_new(cfg, opts, NULL), "client_out");
    EXPECT_NULL_PARAM(mondoo_client_with_timeout(NULL, 1000, &client_out), "client");
    EXPECT_NULL_PARAM(mondoo_client_with_timeout(client, 1000, NULL), "client_out");
    EXPECT_RESULT(mondoo_client_with_timeout(NULL, 1000, NULL), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_NULL_PARAM(mondoo_client_register(NULL, NULL, NULL, NULL, &s), "client");
    EXPECT_NULL_PARAM(mondoo_client_register(client, NULL, NULL, NULL, NULL), "registration_json_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_client_status, client, "client", &s, "status_json_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_client_status_report, client, "client", &status_out, "status_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_to_text, status, "status", &s, "text_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_to_json, status, "status", &s, "json_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_exit_code, status, "status", &i32, "exit_code_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_is_registered, status, "status", &b, "registered_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_is_authenticated, status, "status", &b, "authenticated_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_auth_error, status, "status", &error_out, "error_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_api_error, status, "status", &error_out, "error_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_clock_skew_seconds, status, "status", &dbl, "seconds_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_round_trip_ms, status, "status", &dbl, "ms_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_api_endpoint, status, "status", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_agent_mrn, status, "status", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_service_account_mrn, status, "status", &s, "value_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_status_space_mrn, status, "status", &s, "value_out");
    EXPECT_NULL_PARAM(mondoo_client_register_report(NULL, NULL, NULL, NULL, &registration_out), "client");
    EXPECT_NULL_PARAM(mondoo_client_register_report(client, NULL, NULL, NULL, NULL), "registration_out");
    /* A registration needs a platform (test_client.c has one): here only NULL handles. */
    EXPECT_NULL_PARAM(mondoo_registration_agent_mrn(NULL, &s), "registration");
    EXPECT_NULL_PARAM(mondoo_registration_service_account_mrn(NULL, &s), "registration");
    EXPECT_NULL_PARAM(mondoo_registration_space_mrn(NULL, &s), "registration");
    EXPECT_NULL_PARAM(mondoo_registration_api_endpoint(NULL, &s), "registration");
    EXPECT_NULL_PARAM(mondoo_registration_config_path(NULL, &s), "registration");
    EXPECT_NULL_PARAM(mondoo_registration_to_json(NULL, &s), "registration");
    EXPECT_NULL_PARAM(mondoo_registration_already_registered(NULL, &b), "registration");
    EXPECT_NULL_PARAM(mondoo_client_logout(NULL, false, false), "client");
    EXPECT_NULL_PARAM(mondoo_client_checkin(NULL), "client");
    const uint8_t *empty_request = (const uint8_t *)"{}";
    EXPECT_NULL_PARAM(mondoo_client_call(NULL, "S", "M", empty_request, 2, &s), "client");
    EXPECT_NULL_PARAM(mondoo_client_call(client, NULL, "M", empty_request, 2, &s), "service");
    EXPECT_NULL_PARAM(mondoo_client_call(client, "S", NULL, empty_request, 2, &s), "method");
    EXPECT_NULL_PARAM(mondoo_client_call(client, "S", "M", NULL, 2, &s), "request_json");
    EXPECT_NULL_PARAM(mondoo_client_call(client, "S", "M", empty_request, 2, NULL), "response_json_out");
    EXPECT_NULL_PARAM(mondoo_client_sign(NULL, body, sizeof body, &s), "client");
    EXPECT_NULL_PARAM(mondoo_client_sign(client, NULL, sizeof body, &s), "body");
    EXPECT_NULL_PARAM(mondoo_client_sign(client, body, sizeof body, NULL), "bearer_out");
    EXPECT_NULL_HANDLE_AND_OUT(mondoo_client_config_json, client, "client", &s, "json_out");

    CHECK(s == SENTINEL && b && i32 == 77 && i64 == 78 && dbl == 79.0, "no out-param written by a failing call");
    CHECK(cfg_out == (mondoo_config *)SENTINEL && signer_out == (mondoo_signer *)SENTINEL &&
              client_out == (mondoo_client *)SENTINEL && opts_out == (mondoo_client_options *)SENTINEL &&
              status_out == (mondoo_status *)SENTINEL && error_out == (mondoo_error *)SENTINEL &&
              registration_out == (mondoo_registration *)SENTINEL && info_out == (mondoo_token_info *)SENTINEL,
          "no handle out-param written by a failing call");

    /* Error-object accessors and frees take NULL without crashing. */
    CHECK(mondoo_error_code(NULL) == MONDOO_RESULT_NULL_PARAMETER, "error_code(NULL)");
    CHECK(mondoo_error_message(NULL) == NULL, "error_message(NULL)");
    CHECK(mondoo_error_rpc_code(NULL) == -1, "error_rpc_code(NULL)");
    CHECK(mondoo_error_http_status(NULL) == -1, "error_http_status(NULL)");
    CHECK(mondoo_error_path(NULL) == NULL, "error_path(NULL)");
    CHECK(isnan(mondoo_error_clock_skew_seconds(NULL)), "error_clock_skew_seconds(NULL)");
    mondoo_error_free(NULL);
    mondoo_string_free(NULL);
    mondoo_config_free(NULL);
    mondoo_signer_free(NULL);
    mondoo_client_free(NULL);
    mondoo_client_options_free(NULL);
    mondoo_status_free(NULL);
    mondoo_registration_free(NULL);
    mondoo_token_info_free(NULL);

done:
    mondoo_token_info_free(info);
    mondoo_status_free(status);
    mondoo_client_free(client);
    mondoo_client_options_free(opts);
    mondoo_signer_free(signer);
    mondoo_config_free(cfg);
}

/* Option setters: invalid values are refused and leave the options as they were. */
static void test_options(void) {
    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_client_options_new(&opts));
    EXPECT_RESULT(mondoo_client_options_set_timeout_ms(opts, 0), MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_RESULT(mondoo_client_options_set_connect_timeout_ms(opts, 0), MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_OK(mondoo_client_options_set_retry_delays_ms(opts, NULL, 0));
    uint64_t delays[] = {10, 20, 30};
    EXPECT_OK(mondoo_client_options_set_retry_delays_ms(opts, delays, 3));
    EXPECT_OK(mondoo_client_options_set_retry_jitter_ms(opts, 0));
    EXPECT_OK(mondoo_client_options_set_correct_clock_skew(opts, true));
    EXPECT_OK(mondoo_client_options_set_api_proxy(opts, NULL));
    EXPECT_OK(mondoo_client_options_set_ca_file(opts, NULL));
    mondoo_client_options_free(opts);
}

/* An offline client: construction, signing and the redacted config need no platform. */
static void test_offline_client(void) {
    mondoo_config *cfg = load_config("service-account/credentials.json");
    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_client_options_new(&opts));
    EXPECT_OK(mondoo_client_options_set_api_endpoint(opts, "http://127.0.0.1:1"));
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_client_new(cfg, opts, &client));
    mondoo_client_options_free(opts);
    mondoo_config_free(cfg);
    if (!client) return;

    char *bearer = NULL;
    EXPECT_OK(mondoo_client_sign(client, (const uint8_t *)BINARY_BODY, BINARY_BODY_LEN, &bearer));
    CHECK(bearer && bearer_has_chash(bearer, BINARY_BODY_CHASH), "client signs the whole body");
    mondoo_string_free(bearer);

    char *json = NULL;
    EXPECT_OK(mondoo_client_config_json(client, &json));
    CHECK(contains(json, "<redacted>") && !contains(json, "PRIVATE KEY"), "redacted: %s", json);
    mondoo_string_free(json);

    /* The platform cannot be reached: status still answers, as `cnspec status` does. */
    mondoo_status *status = NULL;
    EXPECT_OK(mondoo_client_status_report(client, &status));
    int32_t exit_code = -5;
    EXPECT_OK(mondoo_status_exit_code(status, &exit_code));
    CHECK(exit_code == 1, "unreachable platform: exit code %d", exit_code);
    char *text = NULL;
    EXPECT_OK(mondoo_status_to_text(status, &text));
    CHECK(text && strlen(text) > 0, "status text");
    CHECK(!contains(text, "PRIVATE KEY"), "no key in status text");
    mondoo_string_free(text);

    /* Its fields: registered (a service account), not authenticated, and why. */
    bool registered = false, authenticated = true;
    EXPECT_OK(mondoo_status_is_registered(status, &registered));
    EXPECT_OK(mondoo_status_is_authenticated(status, &authenticated));
    CHECK(registered && !authenticated, "registered %d, authenticated %d", registered, authenticated);
    mondoo_error *api_error = NULL, *auth_error = NULL;
    EXPECT_OK(mondoo_status_api_error(status, &api_error));
    EXPECT_OK(mondoo_status_auth_error(status, &auth_error));
    CHECK(api_error && mondoo_error_code(api_error) / 1000 == 5 && contains(mondoo_error_message(api_error), "127.0.0.1:1"),
          "the API error is a network error naming the endpoint: %s %s",
          api_error ? mondoo_result_name(mondoo_error_code(api_error)) : "(none)",
          api_error ? mondoo_error_message(api_error) : "");
    CHECK(api_error && mondoo_error_rpc_code(api_error) == -1, "no rpc code for a network error");
    CHECK(auth_error && mondoo_error_code(auth_error) / 1000 == 5, "the PingPong failed on the network too: %s",
          auth_error ? mondoo_result_name(mondoo_error_code(auth_error)) : "(none)");
    mondoo_error_free(api_error);
    mondoo_error_free(auth_error);
    double skew = 0, round_trip = 0;
    EXPECT_OK(mondoo_status_clock_skew_seconds(status, &skew));
    EXPECT_OK(mondoo_status_round_trip_ms(status, &round_trip));
    CHECK(isnan(skew) && isnan(round_trip), "nothing measured: skew %f, round trip %f", skew, round_trip);
    char *s = NULL;
    EXPECT_STRING(mondoo_status_api_endpoint(status, &s), s, "http://127.0.0.1:1");
    EXPECT_STRING(mondoo_status_service_account_mrn(status, &s), s, SERVICE_ACCOUNT_MRN);
    EXPECT_STRING(mondoo_status_space_mrn(status, &s), s, SPACE_MRN);
    s = SENTINEL;
    EXPECT_OK(mondoo_status_agent_mrn(status, &s));
    CHECK(s == NULL, "a service account without agent has no agent MRN (not \"no managed client\"): %s",
          s && s != SENTINEL ? s : "(sentinel)");
    mondoo_status_free(status);

    char *out = SENTINEL;
    mondoo_result r = mondoo_client_call(client, "mondoo.Test", "Nothing", NULL, 0, &out);
    CHECK(r != MONDOO_RESULT_OK && r != MONDOO_RESULT_PANIC, "a call to a closed port fails: %s",
          mondoo_result_name(r));
    CHECK(out == SENTINEL, "response_json_out untouched");
    mondoo_client_free(client);
}

int main(void) {
    test_version();
    test_config_fields();
    test_config_errors_and_error_object();
    test_wrong_curve();
    test_tokens();
    test_token_info();
    test_invalid_utf8();
    test_empty_config_path();
    test_signing();
    test_threads();
    test_options();
    test_null_parameters();
    test_offline_client();
    return check_summary("test_core");
}
