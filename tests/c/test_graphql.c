/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Platform API (GraphQL) and the keyless exchange through the installed C ABI,
 * against the local platform: a query with variables, an errors answer read through the
 * accessors, the pager to its last page and past its limit, a 401 after revocation,
 * NULL and invalid arguments, and mondoo_client_exchange with a workload-identity
 * document (the platform's local OIDC issuer) reporting the account without its key.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mondoo.h"
#include "platform.h"

#define SPACE "//captain.api.mondoo.app/spaces/c-graphql"

static struct platform platform = {0, -1, "", 0};
static char dir[] = "/tmp/mondoo-c-graphql-XXXXXX";

static int count_of(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = haystack; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* The admin answer for what/json; fails the test on a non-200. Free with free. */
static char *admin(const char *what, const char *json) {
    int status = 0;
    char *answer = platform_admin(&platform, what, json, &status);
    CHECK(answer && status == 200, "admin %s: HTTP %d: %s", what, status, answer ? answer : "(none)");
    return answer;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A client over a fresh service account of SPACE, written as a credentials file; the
 * account's MRN into mrn_out (free with free). */
static mondoo_client *account_client(char **mrn_out) {
    char *account = admin("service-account", "{\"space_mrn\": \"" SPACE "\"}");
    char path[600];
    snprintf(path, sizeof path, "%s/credentials.json", dir);
    write_file(path, account ? account : "");
    if (mrn_out) *mrn_out = json_string_field(account, "mrn");
    free(account);
    mondoo_config *config = NULL;
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_config_load(path, &config));
    EXPECT_OK(mondoo_client_new(config, NULL, &client));
    mondoo_config_free(config);
    return client;
}

static const char *const VIEWER_AND_SPACE = "query($s: String!) { viewer { mrn } space(mrn: $s) { mrn } }";
static const char *const ASSETS_PAGE =
    "query($space: String!, $after: String) { assets(spaceMrn: $space, first: 2, after: $after) {"
    " edges { node { name } } pageInfo { endCursor hasNextPage } } }";

static void test_query_and_errors_answer(mondoo_client *client, const char *mrn) {
    mondoo_graphql_response *response = NULL;
    EXPECT_OK(mondoo_client_graphql(client, VIEWER_AND_SPACE, "{\"s\": \"" SPACE "\"}", &response));
    CHECK(!mondoo_graphql_response_has_errors(response), "a good answer has no errors");
    char *json = NULL;
    EXPECT_OK(mondoo_graphql_response_json(response, &json));
    CHECK(json && strstr(json, "\"mrn\":\"" SPACE "\"") && strstr(json, mrn) && !strstr(json, "\"errors\""),
          "answer %s", json ? json : "(null)");
    mondoo_string_free(json);
    char *message = (char *)&platform; /* must become NULL */
    EXPECT_OK(mondoo_graphql_response_first_error_message(response, &message));
    CHECK(message == NULL, "no first error on a good answer");
    mondoo_graphql_response_free(response);

    /* another space: a success carrying errors, with partial data */
    response = NULL;
    EXPECT_OK(mondoo_client_graphql(client, VIEWER_AND_SPACE,
                                    "{\"s\": \"//captain.api.mondoo.app/spaces/not-mine\"}", &response));
    CHECK(mondoo_graphql_response_has_errors(response), "errors answer without errors");
    message = NULL;
    EXPECT_OK(mondoo_graphql_response_first_error_message(response, &message));
    CHECK(message && *message, "no first error message");
    mondoo_string_free(message);
    json = NULL;
    EXPECT_OK(mondoo_graphql_response_json(response, &json));
    CHECK(json && strstr(json, "\"errors\"") && strstr(json, "\"space\":null") && strstr(json, mrn),
          "errors answer with partial data: %s", json ? json : "(null)");
    mondoo_string_free(json);
    mondoo_graphql_response_free(response);

    /* a query without variables */
    response = NULL;
    EXPECT_OK(mondoo_client_graphql(client, "{ viewer { mrn } }", NULL, &response));
    CHECK(!mondoo_graphql_response_has_errors(response), "viewer without variables");
    mondoo_graphql_response_free(response);
}

static void test_pager(mondoo_client *client) {
    /* 7 assets, 2 a page: 4 pages, the last one ends the walk */
    mondoo_graphql_pager *pager = NULL;
    EXPECT_OK(mondoo_graphql_pager_new(client, ASSETS_PAGE, "{\"space\": \"" SPACE "\"}", "assets", 10, &pager));
    int pages = 0, names = 0;
    bool last_said_no_next = false;
    for (;;) {
        char *page = (char *)&platform; /* must be written: a page or NULL */
        EXPECT_OK(mondoo_graphql_pager_next(pager, &page));
        if (page == (char *)&platform || page == NULL) break;
        pages++;
        names += count_of(page, "\"name\":\"asset-");
        last_said_no_next = strstr(page, "\"hasNextPage\":false") != NULL;
        mondoo_string_free(page);
        if (pages > 10) break;
    }
    CHECK(pages == 4, "%d pages, want 4", pages);
    CHECK(names == 7, "%d assets over the pages, want 7", names);
    CHECK(last_said_no_next, "the last page did not say hasNextPage false");
    /* done stays done */
    char *page = (char *)&platform;
    EXPECT_OK(mondoo_graphql_pager_next(pager, &page));
    CHECK(page == NULL, "a page after the last");
    mondoo_graphql_pager_free(pager);

    /* a limit below the page count: an error after the limit, then done */
    pager = NULL;
    EXPECT_OK(mondoo_graphql_pager_new(client, ASSETS_PAGE, "{\"space\": \"" SPACE "\"}", "assets", 2, &pager));
    for (int i = 0; i < 2; i++) {
        page = NULL;
        EXPECT_OK(mondoo_graphql_pager_next(pager, &page));
        CHECK(page != NULL, "page %d within the limit", i + 1);
        mondoo_string_free(page);
    }
    page = (char *)&platform;
    EXPECT_RESULT(mondoo_graphql_pager_next(pager, &page), MONDOO_RESULT_INVALID_ARGUMENT);
    CHECK(page == (char *)&platform, "page_json_out written on error");
    page = (char *)&platform;
    EXPECT_OK(mondoo_graphql_pager_next(pager, &page));
    CHECK(page == NULL, "the walk goes on after the limit error");
    mondoo_graphql_pager_free(pager);

    /* an errors answer ends the walk with MONDOO_RESULT_GRAPHQL_ERRORS */
    pager = NULL;
    EXPECT_OK(mondoo_graphql_pager_new(client, ASSETS_PAGE, "{\"space\": \"//captain.api.mondoo.app/spaces/not-mine\"}",
                                       "assets", 10, &pager));
    page = NULL;
    EXPECT_RESULT(mondoo_graphql_pager_next(pager, &page), MONDOO_RESULT_GRAPHQL_ERRORS);
    /* the error object carries the whole answer: every entry and the partial data */
    mondoo_error *error = mondoo_error_last();
    CHECK(error != NULL, "no error object after GRAPHQL_ERRORS");
    const char *answer = mondoo_error_graphql_response_json(error);
    CHECK(answer != NULL && strstr(answer, "\"errors\"") && strstr(answer, "\"path\":[\"assets\"]"),
          "the pager's error carries the answer: %s", answer ? answer : "(null)");
    mondoo_error_free(error);
    CHECK(mondoo_error_graphql_response_json(NULL) == NULL, "NULL error has no answer");
    mondoo_graphql_pager_free(pager);
}

static void test_invalid_arguments(mondoo_client *client) {
    mondoo_graphql_response *response = (mondoo_graphql_response *)&platform;
    mondoo_graphql_response *const untouched = response;
    EXPECT_RESULT(mondoo_client_graphql(NULL, "{ viewer { mrn } }", NULL, &response), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_client_graphql(client, NULL, NULL, &response), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_client_graphql(client, "{ viewer { mrn } }", NULL, NULL), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_client_graphql(client, "{ viewer { mrn } }", "{not json", &response),
                  MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_RESULT(mondoo_client_graphql(client, "{ viewer { mrn } }", "[1]", &response), MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_RESULT(mondoo_client_graphql(client, "{ viewer \xff }", NULL, &response), MONDOO_RESULT_INVALID_UTF8);
    CHECK(response == untouched, "response_out written on error");

    CHECK(!mondoo_graphql_response_has_errors(NULL), "NULL answer reads as no errors");
    char *text = (char *)&platform;
    EXPECT_RESULT(mondoo_graphql_response_json(NULL, &text), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_graphql_response_first_error_message(NULL, &text), MONDOO_RESULT_NULL_PARAMETER);
    CHECK(text == (char *)&platform, "output written on error");
    mondoo_graphql_response_free(NULL);

    mondoo_graphql_pager *pager = (mondoo_graphql_pager *)&platform;
    EXPECT_RESULT(mondoo_graphql_pager_new(client, ASSETS_PAGE, NULL, "assets", 0, &pager), MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_RESULT(mondoo_graphql_pager_new(client, ASSETS_PAGE, NULL, "assets..edges", 5, &pager),
                  MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_RESULT(mondoo_graphql_pager_new(client, ASSETS_PAGE, "[]", "assets", 5, &pager), MONDOO_RESULT_INVALID_ARGUMENT);
    EXPECT_RESULT(mondoo_graphql_pager_new(NULL, ASSETS_PAGE, NULL, "assets", 5, &pager), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_graphql_pager_new(client, ASSETS_PAGE, NULL, NULL, 5, &pager), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_graphql_pager_new(client, ASSETS_PAGE, NULL, "assets", 5, NULL), MONDOO_RESULT_NULL_PARAMETER);
    CHECK(pager == (mondoo_graphql_pager *)&platform, "pager_out written on error");
    EXPECT_RESULT(mondoo_graphql_pager_next(NULL, &text), MONDOO_RESULT_NULL_PARAMETER);
    mondoo_graphql_pager_free(NULL);
}

/* The viewer's MRN as the platform saw the caller (free with free); NULL on failure. */
static char *viewer_mrn(mondoo_client *client) {
    mondoo_graphql_response *response = NULL;
    EXPECT_OK(mondoo_client_graphql(client, "{ viewer { mrn } }", NULL, &response));
    char *json = NULL;
    if (response) EXPECT_OK(mondoo_graphql_response_json(response, &json));
    char *mrn = json_string_field(json, "mrn");
    mondoo_string_free(json);
    mondoo_graphql_response_free(response);
    return mrn;
}

/* mondoo_client_options_set_api_token: the token authenticates the Platform API instead
 * of the config's service account; NULL drops it again; bad arguments are refused. */
static void test_api_token_option(void) {
    char *minted = admin("api-token", "{\"space_mrn\": \"" SPACE "\"}");
    char *token = json_string_field(minted, "token");
    char *token_mrn = json_string_field(minted, "mrn");
    free(minted);
    char *account_mrn = NULL;
    mondoo_client_free(account_client(&account_mrn)); /* writes the account's credentials */
    char path[600];
    snprintf(path, sizeof path, "%s/credentials.json", dir);
    mondoo_config *config = NULL;
    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_config_load(path, &config));
    EXPECT_OK(mondoo_client_options_new(&opts));

    EXPECT_OK(mondoo_client_options_set_api_token(opts, token));
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_client_new(config, opts, &client));
    char *seen = client ? viewer_mrn(client) : NULL;
    CHECK(seen && token_mrn && strcmp(seen, token_mrn) == 0, "the API token is the viewer: %s, want %s",
          seen ? seen : "(null)", token_mrn ? token_mrn : "(null)");
    free(seen);
    mondoo_client_free(client);

    EXPECT_OK(mondoo_client_options_set_api_token(opts, NULL));
    client = NULL;
    EXPECT_OK(mondoo_client_new(config, opts, &client));
    seen = client ? viewer_mrn(client) : NULL;
    CHECK(seen && account_mrn && strcmp(seen, account_mrn) == 0, "without the token the account is the viewer: %s",
          seen ? seen : "(null)");
    free(seen);
    mondoo_client_free(client);

    EXPECT_RESULT(mondoo_client_options_set_api_token(NULL, token), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_client_options_set_api_token(opts, "tok\xff"), MONDOO_RESULT_INVALID_UTF8);
    mondoo_client_options_free(opts);
    mondoo_config_free(config);
    free(token);
    free(token_mrn);
    free(account_mrn);
}

static void test_revoked_account_gets_401(void) {
    char *mrn = NULL;
    mondoo_client *client = account_client(&mrn);
    mondoo_graphql_response *response = NULL;
    EXPECT_OK(mondoo_client_graphql(client, "{ viewer { mrn } }", NULL, &response));
    mondoo_graphql_response_free(response);
    char body[512];
    snprintf(body, sizeof body, "{\"mrn\": \"%s\"}", mrn ? mrn : "");
    free(admin("revoke", body));
    response = NULL;
    EXPECT_RESULT(mondoo_client_graphql(client, "{ viewer { mrn } }", NULL, &response), MONDOO_RESULT_RPC_UNAUTHENTICATED);
    mondoo_error *error = mondoo_error_last();
    CHECK(error && mondoo_error_http_status(error) == 401, "HTTP status %d, want 401",
          error ? mondoo_error_http_status(error) : -1);
    mondoo_error_free(error);
    mondoo_client_free(client);
    free(mrn);
}

/* A workload-identity document (type: external_account, a jwtToken from the platform's
 * local OIDC issuer): mondoo_client_exchange reports the exchanged account and never its
 * key nor the identity token; the existing calls then work with it. */
static void test_exchange_with_workload_identity(void) {
    const char *audience = "c-audience", *subject = "repo:mondoohq/c:ref:refs/heads/main";
    char body[1024];
    snprintf(body, sizeof body, "{\"audience\": \"%s\", \"subject\": \"%s\", \"scope_mrn\": \"%s\"}", audience, subject,
             SPACE);
    char *bound = admin("authorize-workload", body);
    char *issuer = json_string_field(bound, "issuer");
    free(bound);
    snprintf(body, sizeof body, "{\"audience\": \"%s\", \"subject\": \"%s\", \"ttl_seconds\": 300}", audience, subject);
    char *minted = admin("oidc-token", body);
    char *jwt = json_string_field(minted, "token");
    free(minted);
    CHECK(issuer && jwt, "authorize-workload / oidc-token answered no issuer or token");
    if (!issuer || !jwt) {
        free(issuer);
        free(jwt);
        return;
    }
    size_t doc_len = strlen(jwt) + strlen(issuer) + 512;
    char *doc = malloc(doc_len);
    snprintf(doc, doc_len,
             "{\"type\": \"external_account\", \"audience\": \"%s\", \"issuerUri\": \"%s\", \"universeDomain\": \"%s\", "
             "\"jwtToken\": \"%s\"}",
             audience, issuer, platform.url, jwt);
    char path[600];
    snprintf(path, sizeof path, "%s/wif.json", dir);
    write_file(path, doc);
    free(doc);

    mondoo_config *config = NULL;
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_config_load(path, &config));
    EXPECT_OK(mondoo_client_new(config, NULL, &client));
    mondoo_config_free(config);
    char *report = NULL;
    EXPECT_OK(mondoo_client_exchange(client, &report));
    CHECK(report && strstr(report, "\"method\":\"workload_identity\"") &&
              strstr(report, "\"service_account_mrn\":\"//") && strstr(report, "\"expires_at\":\""),
          "report %s", report ? report : "(null)");
    CHECK(report && !strstr(report, "PRIVATE KEY") && !strstr(report, "private_key") && !strstr(report, jwt),
          "the report carries a secret");
    mondoo_string_free(report);
    /* the existing calls work with the exchanged account */
    char *answer = NULL;
    EXPECT_OK(mondoo_client_call(client, "AgentManager", "PingPong", (const uint8_t *)"{}", 2, &answer));
    mondoo_string_free(answer);
    EXPECT_RESULT(mondoo_client_exchange(client, NULL), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_client_exchange(NULL, &report), MONDOO_RESULT_NULL_PARAMETER);
    mondoo_client_free(client);

    /* a config with a key of its own has nothing to exchange */
    client = account_client(NULL);
    report = (char *)&platform;
    EXPECT_RESULT(mondoo_client_exchange(client, &report), MONDOO_RESULT_NOT_REGISTERED);
    CHECK(report == (char *)&platform, "report_json_out written on error");
    mondoo_client_free(client);
    free(issuer);
    free(jwt);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The tests' credentials must be the ones they write: the environment's would win. */
    unsetenv("MONDOO_API_TOKEN");
    unsetenv("MONDOO_CONFIG_PATH");
    unsetenv("MONDOO_CONFIG_BASE64");
    unsetenv("MONDOO_API_ENDPOINT");
    unsetenv("MONDOO_API_PROXY");
    if (platform_start(&platform) != 0) {
        fprintf(stderr, "test_graphql: cannot start the local platform (make builds it)\n");
        return 1;
    }
    free(admin("assets", "{\"space_mrn\": \"" SPACE "\", \"count\": 7}"));
    char *mrn = NULL;
    mondoo_client *client = account_client(&mrn);
    test_query_and_errors_answer(client, mrn ? mrn : "(no mrn)");
    test_pager(client);
    test_invalid_arguments(client);
    mondoo_client_free(client);
    free(mrn);
    test_api_token_option();
    test_revoked_account_gets_401();
    test_exchange_with_workload_identity();
    platform_stop(&platform);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_graphql");
}
