/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C tests of the client ABI against the local test platform: a full login (register with
 * a token), status, check-in, signed calls from many threads, typed platform errors, and
 * logout; each checks what the caller gets and what the platform recorded.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "platform.h"

static char sentinel_storage;
static double monotonic_ms(void);
#define SENTINEL ((char *)&sentinel_storage)

static int contains(const char *haystack, const char *needle) {
    return haystack && needle && strstr(haystack, needle) != NULL;
}

/* A signed call with a NUL-terminated JSON text as its body (the body is a buffer and a
 * length: strlen gives the length). */
static mondoo_result call_json(const mondoo_client *client, const char *service, const char *method,
                               const char *json, char **response_out) {
    return mondoo_client_call(client, service, method, (const uint8_t *)json, strlen(json), response_out);
}

static struct platform platform = {0, -1, "", 0};
static char config_path[512];

static char *mint_token(const char *spec) {
    int status = 0;
    char *answer = platform_admin(&platform, "token", spec, &status);
    CHECK(status == 200 && answer, "mint token: HTTP %d %s", status, answer ? answer : "");
    char *token = json_string_field(answer, "token");
    free(answer);
    return token;
}

/* Options every client here uses: the platform's URL and a short retry schedule. */
static mondoo_client_options *test_options(void) {
    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_client_options_new(&opts));
    EXPECT_OK(mondoo_client_options_set_api_endpoint(opts, platform.url));
    uint64_t delays[] = {10, 10, 10};
    EXPECT_OK(mondoo_client_options_set_retry_delays_ms(opts, delays, 3));
    EXPECT_OK(mondoo_client_options_set_retry_jitter_ms(opts, 0));
    EXPECT_OK(mondoo_client_options_set_timeout_ms(opts, 20000));
    return opts;
}

static mondoo_client *client_for(const char *path) {
    mondoo_config *cfg = NULL;
    EXPECT_OK(mondoo_config_load_for_registration(path, &cfg));
    mondoo_client_options *opts = test_options();
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_client_new(cfg, opts, &client));
    mondoo_client_options_free(opts);
    mondoo_config_free(cfg);
    return client;
}

/* The exit code of a fresh status report (-5 when the report could not be made). */
static int32_t status_exit_code(mondoo_client *client) {
    mondoo_status *status = NULL;
    int32_t exit_code = -5;
    EXPECT_OK(mondoo_client_status_report(client, &status));
    EXPECT_OK(mondoo_status_exit_code(status, &exit_code));
    mondoo_status_free(status);
    return exit_code;
}

static void test_expired_token_makes_no_request(void) {
    char *token = mint_token("{\"ttl_seconds\": -3600}");
    if (!token) return;
    char *before = platform_admin(&platform, "requests", "", NULL);
    mondoo_client *client = client_for(config_path);
    char *out = SENTINEL;
    EXPECT_RESULT(mondoo_client_register(client, token, NULL, NULL, &out), MONDOO_RESULT_TOKEN_EXPIRED);
    CHECK(out == SENTINEL, "registration_json_out untouched");
    mondoo_error *err = mondoo_error_last();
    CHECK(err && !contains(mondoo_error_message(err), token), "the message holds no token");
    mondoo_error_free(err);
    char *after = platform_admin(&platform, "requests", "", NULL);
    CHECK(before && after && strcmp(before, after) == 0, "no request reached the platform");
    struct stat st;
    CHECK(stat(config_path, &st) != 0, "no config written");
    free(before);
    free(after);
    mondoo_client_free(client);
    free(token);
}

struct call_job {
    const mondoo_client *client;
    int index;
    int failures;
};

#define CALL_THREADS 8
#define CALLS_PER_THREAD 10

static void *call_worker(void *arg) {
    struct call_job *job = arg;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        char request[64], expect[64];
        snprintf(request, sizeof request, "{\"thread\":%d,\"i\":%d}", job->index, i);
        snprintf(expect, sizeof expect, "\"thread\":%d", job->index);
        char *response = NULL;
        if (call_json(job->client, "Echo", "Say", request, &response) != MONDOO_RESULT_OK ||
            !contains(response, expect) || !contains(response, "signed_by")) {
            job->failures++;
        }
        mondoo_string_free(response);
        char *bearer = NULL;
        if (mondoo_client_sign(job->client, (const uint8_t *)request, strlen(request), &bearer) !=
            MONDOO_RESULT_OK) {
            job->failures++;
        }
        mondoo_string_free(bearer);
    }
    return NULL;
}

static void test_login_status_calls_logout(void) {
    char *token = mint_token("{\"labels\": {\"from\": \"c-test\"}}");
    if (!token) return;
    mondoo_client *client = client_for(config_path);
    if (!client) return;

    /* Before login: unregistered, so no MRNs and no PingPong (hence no auth error). */
    mondoo_status *status = NULL;
    int32_t exit_code = status_exit_code(client);
    CHECK(exit_code == 1, "unregistered: exit code %d", exit_code);
    EXPECT_OK(mondoo_client_status_report(client, &status));
    bool unregistered_flag = true;
    EXPECT_OK(mondoo_status_is_registered(status, &unregistered_flag));
    char *no_agent = SENTINEL, *no_account = SENTINEL;
    EXPECT_OK(mondoo_status_agent_mrn(status, &no_agent));
    EXPECT_OK(mondoo_status_service_account_mrn(status, &no_account));
    mondoo_error *no_error = (mondoo_error *)SENTINEL;
    EXPECT_OK(mondoo_status_auth_error(status, &no_error));
    CHECK(!unregistered_flag && no_agent == NULL && no_account == NULL && no_error == NULL,
          "unregistered: registered %d, agent %p, service account %p, auth error %p", unregistered_flag,
          (void *)no_agent, (void *)no_account, (void *)no_error);
    mondoo_status_free(status);
    status = NULL;

    /* Login, read through the registration's accessors. */
    mondoo_registration *registration = NULL;
    EXPECT_OK(mondoo_client_register_report(client, token, "c-test-host", "{\"team\":\"c\"}", &registration));
    char *agent_mrn = NULL, *sa_mrn = NULL, *space_mrn = NULL, *endpoint = NULL, *written_to = NULL;
    bool already = true;
    EXPECT_OK(mondoo_registration_agent_mrn(registration, &agent_mrn));
    EXPECT_OK(mondoo_registration_service_account_mrn(registration, &sa_mrn));
    EXPECT_OK(mondoo_registration_space_mrn(registration, &space_mrn));
    EXPECT_OK(mondoo_registration_api_endpoint(registration, &endpoint));
    EXPECT_OK(mondoo_registration_config_path(registration, &written_to));
    EXPECT_OK(mondoo_registration_already_registered(registration, &already));
    CHECK(agent_mrn && strstr(agent_mrn, "/agents/") && sa_mrn && strstr(sa_mrn, "/serviceaccounts/"),
          "agent %s, service account %s", agent_mrn ? agent_mrn : "(null)", sa_mrn ? sa_mrn : "(null)");
    CHECK(space_mrn && strcmp(space_mrn, "//captain.api.mondoo.app/spaces/test-lunar-sunrise-123456") == 0,
          "space %s", space_mrn ? space_mrn : "(null)");
    CHECK(endpoint && strcmp(endpoint, platform.url) == 0, "endpoint %s", endpoint ? endpoint : "(null)");
    CHECK(written_to && strcmp(written_to, config_path) == 0, "config path %s", written_to ? written_to : "(null)");
    CHECK(!already, "a new registration");
    char *registration_json = NULL;
    EXPECT_OK(mondoo_registration_to_json(registration, &registration_json));
    char *json_agent = json_string_field(registration_json, "agent_mrn");
    CHECK(json_agent && agent_mrn && strcmp(json_agent, agent_mrn) == 0 &&
              contains(registration_json, "\"already_registered\":false"),
          "the JSON form agrees: %s", registration_json ? registration_json : "(null)");
    free(json_agent);
    mondoo_string_free(registration_json);
    mondoo_string_free(space_mrn);
    mondoo_string_free(endpoint);
    mondoo_string_free(written_to);
    mondoo_registration_free(registration);

    /* Registering again without a token keeps the agent: the JSON form says so. */
    char *again = NULL;
    EXPECT_OK(mondoo_client_register(client, NULL, NULL, NULL, &again));
    char *again_agent = json_string_field(again, "agent_mrn");
    CHECK(again_agent && agent_mrn && strcmp(again_agent, agent_mrn) == 0 &&
              contains(again, "\"already_registered\":true"),
          "register with the service account: %s", again ? again : "(null)");
    free(again_agent);
    mondoo_string_free(again);

    struct stat st;
    CHECK(stat(config_path, &st) == 0 && (st.st_mode & 0777) == 0600, "config written 0600 (mode %o)",
          (unsigned)(st.st_mode & 0777));

    /* The file on disk is a registered config. */
    mondoo_config *cfg = NULL;
    EXPECT_OK(mondoo_config_load(config_path, &cfg));
    bool registered = false;
    EXPECT_OK(mondoo_config_is_registered(cfg, &registered));
    CHECK(registered, "registered after login");
    char *s = NULL;
    EXPECT_OK(mondoo_config_agent_mrn(cfg, &s));
    CHECK(s && agent_mrn && strcmp(s, agent_mrn) == 0, "agent_mrn %s", s ? s : "(null)");
    mondoo_string_free(s);
    s = NULL;
    EXPECT_OK(mondoo_config_to_json(cfg, &s));
    CHECK(contains(s, "\"team\":\"c\"") && contains(s, "<redacted>") && !contains(s, "PRIVATE KEY"),
          "annotations kept, key redacted: %s", s ? s : "(null)");
    mondoo_string_free(s);
    mondoo_config_free(cfg);

    /* The platform knows the agent by its name. */
    char *agents = platform_admin(&platform, "agents", "", NULL);
    CHECK(contains(agents, agent_mrn) && contains(agents, "c-test-host"),
          "platform agents: %s", agents ? agents : "(null)");
    free(agents);

    /* Status: registered and authenticated. */
    EXPECT_OK(mondoo_client_status_report(client, &status));
    exit_code = -5;
    EXPECT_OK(mondoo_status_exit_code(status, &exit_code));
    CHECK(exit_code == 0, "registered: exit code %d", exit_code);
    char *text = NULL;
    EXPECT_OK(mondoo_status_to_text(status, &text));
    CHECK(contains(text, agent_mrn), "status text shows the agent: %s", text ? text : "(null)");
    CHECK(!contains(text, "PRIVATE KEY"), "no key in status text");
    mondoo_string_free(text);
    /* The same through the accessors, no JSON parsed. */
    bool is_registered = false, is_authenticated = false;
    EXPECT_OK(mondoo_status_is_registered(status, &is_registered));
    EXPECT_OK(mondoo_status_is_authenticated(status, &is_authenticated));
    CHECK(is_registered && is_authenticated, "registered %d, authenticated %d", is_registered, is_authenticated);
    char *field = NULL;
    EXPECT_OK(mondoo_status_agent_mrn(status, &field));
    CHECK(field && agent_mrn && strcmp(field, agent_mrn) == 0, "status agent %s", field ? field : "(null)");
    mondoo_string_free(field);
    field = NULL;
    EXPECT_OK(mondoo_status_service_account_mrn(status, &field));
    CHECK(field && sa_mrn && strcmp(field, sa_mrn) == 0, "status service account %s", field ? field : "(null)");
    mondoo_string_free(field);
    field = NULL;
    EXPECT_OK(mondoo_status_api_endpoint(status, &field));
    CHECK(field && strcmp(field, platform.url) == 0, "status endpoint %s", field ? field : "(null)");
    mondoo_string_free(field);
    mondoo_error *status_error = (mondoo_error *)SENTINEL;
    EXPECT_OK(mondoo_status_auth_error(status, &status_error));
    CHECK(status_error == NULL, "authenticated: no auth error");
    status_error = (mondoo_error *)SENTINEL;
    EXPECT_OK(mondoo_status_api_error(status, &status_error));
    CHECK(status_error == NULL, "the API answered: no API error");
    double round_trip = -1, skew = NAN;
    EXPECT_OK(mondoo_status_round_trip_ms(status, &round_trip));
    EXPECT_OK(mondoo_status_clock_skew_seconds(status, &skew));
    CHECK(round_trip >= 0 && round_trip < 20000, "round trip %f ms", round_trip);
    CHECK(!isnan(skew) && fabs(skew) < 5, "the local platform's clock is ours: skew %f s", skew);
    mondoo_status_free(status);

    /* The platform refuses the credentials: the auth error carries its codes. */
    int fault_http = 0;
    char *fault_ok = platform_admin(&platform, "fault",
                                    "{\"kind\":\"status\",\"http_status\":401,\"code\":16,\"message\":"
                                    "\"request permission unauthenticated\",\"only\":\"AgentManager/PingPong\"}",
                                    &fault_http);
    CHECK(fault_http == 200, "PingPong fault injected: %d %s", fault_http, fault_ok ? fault_ok : "");
    free(fault_ok);
    status = NULL;
    EXPECT_OK(mondoo_client_status_report(client, &status));
    is_authenticated = true;
    EXPECT_OK(mondoo_status_is_authenticated(status, &is_authenticated));
    CHECK(!is_authenticated, "refused: not authenticated");
    status_error = NULL;
    EXPECT_OK(mondoo_status_auth_error(status, &status_error));
    CHECK(status_error && mondoo_error_code(status_error) == MONDOO_RESULT_RPC_UNAUTHENTICATED &&
              mondoo_error_rpc_code(status_error) == 16 && mondoo_error_http_status(status_error) == 401 &&
              contains(mondoo_error_message(status_error), "request permission unauthenticated"),
          "auth error: %s %s", status_error ? mondoo_result_name(mondoo_error_code(status_error)) : "(none)",
          status_error ? mondoo_error_message(status_error) : "");
    mondoo_error_free(status_error);
    CHECK(mondoo_error_last() == NULL, "reading the report's error leaves the thread's last error alone");
    mondoo_status_free(status);
    char *json = NULL;
    EXPECT_OK(mondoo_client_status(client, &json));
    CHECK(contains(json, agent_mrn) && !contains(json, "PRIVATE KEY"), "status JSON: %s", json ? json : "");
    mondoo_string_free(json);

    /* Check-in and a signed generic call. */
    EXPECT_OK(mondoo_client_checkin(client));
    char *response = NULL;
    EXPECT_OK(call_json(client, "Echo", "Say", "{\"hello\":\"from C\"}", &response));
    CHECK(contains(response, "\"hello\":\"from C\"") && contains(response, sa_mrn), "echo: %s",
          response ? response : "(null)");
    mondoo_string_free(response);

    /* One client, many threads. */
    pthread_t threads[CALL_THREADS];
    struct call_job jobs[CALL_THREADS];
    for (int t = 0; t < CALL_THREADS; t++) {
        jobs[t] = (struct call_job){client, t, 0};
        CHECK(pthread_create(&threads[t], NULL, call_worker, &jobs[t]) == 0, "pthread_create");
    }
    for (int t = 0; t < CALL_THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(jobs[t].failures == 0, "thread %d: %d calls failed", t, jobs[t].failures);
    }

    /* A platform error carries its rpc code and HTTP status. */
    int http = 0;
    char *ok = platform_admin(&platform, "fault",
                              "{\"kind\":\"status\",\"http_status\":401,\"code\":16,\"message\":"
                              "\"request permission unauthenticated\",\"only\":\"AgentManager/HealthCheck\"}",
                              &http);
    CHECK(http == 200, "fault injected: %d %s", http, ok ? ok : "");
    free(ok);
    EXPECT_RESULT(mondoo_client_checkin(client), MONDOO_RESULT_RPC_UNAUTHENTICATED);
    mondoo_error *err = mondoo_error_last();
    CHECK(err != NULL, "error object");
    if (err) {
        CHECK(mondoo_error_code(err) == MONDOO_RESULT_RPC_UNAUTHENTICATED, "code");
        CHECK(mondoo_error_rpc_code(err) == 16, "rpc code %d", mondoo_error_rpc_code(err));
        CHECK(mondoo_error_http_status(err) == 401, "http status %d", mondoo_error_http_status(err));
        CHECK(contains(mondoo_error_message(err),
                       "rpc error: code = Unauthenticated desc = request permission unauthenticated"),
              "message: %s", mondoo_error_message(err));
        mondoo_error_free(err);
    }

    /* A per-operation deadline: a slow answer ends as a timeout on the derived handle. */
    ok = platform_admin(&platform, "fault", "{\"kind\":\"slow\",\"millis\":3000,\"only\":\"Echo/Say\"}", &http);
    CHECK(http == 200, "slow fault injected: %d %s", http, ok ? ok : "");
    free(ok);
    mondoo_client *scoped = (mondoo_client *)SENTINEL;
    EXPECT_RESULT(mondoo_client_with_timeout(client, 0, &scoped), MONDOO_RESULT_INVALID_ARGUMENT);
    CHECK(scoped == (mondoo_client *)SENTINEL, "client_out untouched on error");
    EXPECT_OK(mondoo_client_with_timeout(client, 200, &scoped));
    char *slow_answer = SENTINEL;
    EXPECT_RESULT(call_json(scoped, "Echo", "Say", "{}", &slow_answer), MONDOO_RESULT_TIMEOUT);
    CHECK(slow_answer == SENTINEL, "answer untouched on timeout");
    mondoo_client_free(scoped);

    /* The timeout bounds the whole call: headers at once, then a byte every 500 ms for 30 s
     * (a slow-drip answer) still ends as a timeout at the client's 1 s bound. */
    ok = platform_admin(&platform, "fault",
                        "{\"kind\":\"slow_drip\",\"bytes\":60,\"interval_millis\":500,\"only\":\"Echo/Say\"}", &http);
    CHECK(http == 200, "slow-drip fault injected: %d %s", http, ok ? ok : "");
    free(ok);
    EXPECT_OK(mondoo_client_with_timeout(client, 1000, &scoped));
    double drip_start = monotonic_ms();
    slow_answer = SENTINEL;
    EXPECT_RESULT(call_json(scoped, "Echo", "Say", "{}", &slow_answer), MONDOO_RESULT_TIMEOUT);
    double drip_ms = monotonic_ms() - drip_start;
    printf("slow-drip answer with a 1 s timeout: timed out after %.0f ms\n", drip_ms);
    CHECK(drip_ms < 10000, "the timeout bounds the whole call, not each read: %.0f ms", drip_ms);
    CHECK(slow_answer == SENTINEL, "answer untouched on timeout");
    mondoo_client_free(scoped);

    /* Logout: the agent is unregistered and the credentials leave the file. */
    EXPECT_OK(mondoo_client_logout(client, false, false));
    EXPECT_OK(mondoo_config_load(config_path, &cfg));
    registered = true;
    EXPECT_OK(mondoo_config_is_registered(cfg, &registered));
    CHECK(!registered, "not registered after logout");
    s = SENTINEL;
    EXPECT_OK(mondoo_config_agent_mrn(cfg, &s));
    CHECK(s == NULL, "agent_mrn removed");
    mondoo_config_free(cfg);
    char *requests = platform_admin(&platform, "requests", "", NULL);
    CHECK(contains(requests, "RegisterAgent") && contains(requests, "HealthCheck") &&
              contains(requests, "UnRegisterAgent") && contains(requests, "\"Say\""),
          "the platform recorded the calls");
    free(requests);

    exit_code = status_exit_code(client);
    CHECK(exit_code == 1, "after logout: exit code %d", exit_code);

    mondoo_string_free(agent_mrn);
    mondoo_string_free(sa_mrn);
    free(token);
    mondoo_client_free(client);
}

/* require_tls refuses an http:// endpoint that is not loopback before any request (an
 * unresolvable host would otherwise be a DNS error) and allows the loopback platform. */
static void test_require_tls(void) {
    mondoo_config *cfg = NULL;
    EXPECT_OK(mondoo_config_load(testdata("service-account/credentials.json"), &cfg));
    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_client_options_new(&opts));
    EXPECT_OK(mondoo_client_options_set_require_tls(opts, true));
    EXPECT_OK(mondoo_client_options_set_api_endpoint(opts, "http://api.mondoo.invalid:8080"));
    mondoo_client *remote = NULL;
    EXPECT_OK(mondoo_client_new(cfg, opts, &remote));
    char *response = SENTINEL;
    EXPECT_RESULT(call_json(remote, "Echo", "Say", "{}", &response), MONDOO_RESULT_INSECURE_ENDPOINT);
    CHECK(response == SENTINEL, "response_out untouched");
    mondoo_error *err = mondoo_error_last();
    CHECK(err && contains(mondoo_error_message(err), "http://api.mondoo.invalid:8080/Echo/Say"),
          "the refusal names the URL: %s", err ? mondoo_error_message(err) : "(none)");
    mondoo_error_free(err);
    mondoo_client_free(remote);

    /* the loopback platform (fixture service account: signed calls reach it) */
    EXPECT_OK(mondoo_client_options_set_api_endpoint(opts, platform.url));
    mondoo_client *loopback = NULL;
    EXPECT_OK(mondoo_client_new(cfg, opts, &loopback));
    response = NULL;
    EXPECT_OK(call_json(loopback, "Echo", "Say", "{\"x\":1}", &response));
    CHECK(contains(response, "signed_by"), "loopback call answered: %s", response ? response : "(null)");
    mondoo_string_free(response);
    mondoo_client_free(loopback);
    mondoo_client_options_free(opts);
    mondoo_config_free(cfg);
}

/* A config write that fails after RegisterAgent: the error names the agent and hands over
 * its credentials through mondoo_error_orphaned_credentials_json. RegisterAgent answers
 * 4 s late; 1.5 s in (after the check before it) a file takes the config directory's
 * name. */
static void *replace_directory_by_a_file(void *arg) {
    const char *config_dir = arg;
    struct timespec pause = {1, 500 * 1000 * 1000};
    nanosleep(&pause, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && echo 'now a file' > '%s'", config_dir, config_dir);
    return (void *)(intptr_t)system(cmd);
}

static void test_orphaned_agent_credentials(const char *dir) {
    char config_dir[512], path[600];
    snprintf(config_dir, sizeof config_dir, "%s/orphan", dir);
    snprintf(path, sizeof path, "%s/mondoo.yml", config_dir);
    char *token = mint_token("{}");
    if (!token) return;
    int http = 0;
    char *ok = platform_admin(&platform, "fault",
                              "{\"kind\":\"slow\",\"millis\":4000,\"only\":\"AgentManager/RegisterAgent\"}", &http);
    CHECK(http == 200, "inject slow RegisterAgent: HTTP %d", http);
    free(ok);
    mondoo_client *client = client_for(path);
    pthread_t saboteur;
    pthread_create(&saboteur, NULL, replace_directory_by_a_file, config_dir);
    char *registration = SENTINEL;
    mondoo_result r = mondoo_client_register(client, token, NULL, NULL, &registration);
    void *sabotaged = NULL;
    pthread_join(saboteur, &sabotaged);
    CHECK(sabotaged == NULL, "replacing the directory failed");
    CHECK(r != MONDOO_RESULT_OK && registration == SENTINEL, "register failed: %s", mondoo_result_name(r));
    mondoo_error *err = mondoo_error_last();
    char *credentials = SENTINEL;
    EXPECT_OK(mondoo_error_orphaned_credentials_json(err, &credentials));
    CHECK(credentials != SENTINEL && credentials != NULL, "the error carries the credentials");
    if (credentials != SENTINEL && credentials != NULL) {
        /* the message names the agent whose MRN the credentials carry */
        const char *message = mondoo_error_message(err);
        const char *named = strstr(message, "agent //");
        char agent[256] = "";
        if (named) sscanf(named, "agent %255s was registered", agent);
        char expected[300];
        snprintf(expected, sizeof expected, "\"agent_mrn\": \"%s\"", agent);
        CHECK(named && agent[0] && contains(message, "was registered") && contains(credentials, expected),
              "message names the agent of the credentials: %s", message);
        CHECK(!contains(mondoo_error_message(err), "PRIVATE KEY"), "no key in the message");
        CHECK(contains(credentials, "PRIVATE KEY"), "the credentials hold the key");
        /* the credentials work as a config of their own */
        char saved[600];
        snprintf(saved, sizeof saved, "%s/saved.json", dir);
        FILE *f = fopen(saved, "w");
        if (f) {
            fputs(credentials, f);
            fclose(f);
        }
        mondoo_client *orphan = client_for(saved);
        EXPECT_OK(mondoo_client_checkin(orphan));
        mondoo_client_free(orphan);
        mondoo_string_free(credentials);
    }
    mondoo_error_free(err);
    /* an error without credentials gives NULL; NULL parameters are refused */
    EXPECT_RESULT(mondoo_client_checkin(NULL), MONDOO_RESULT_NULL_PARAMETER);
    err = mondoo_error_last();
    credentials = SENTINEL;
    EXPECT_OK(mondoo_error_orphaned_credentials_json(err, &credentials));
    CHECK(credentials == NULL, "no credentials on an ordinary error");
    EXPECT_RESULT(mondoo_error_orphaned_credentials_json(err, NULL), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_error_orphaned_credentials_json(NULL, &credentials), MONDOO_RESULT_NULL_PARAMETER);
    mondoo_error_free(err);
    mondoo_client_free(client);
    free(token);
}

/* ---- TLS with the platform's CA, and an explicit proxy ---- */

static const char *const SERVICE_ACCOUNT_MRN =
    "//agents.api.mondoo.app/spaces/test-lunar-sunrise-123456/serviceaccounts/"
    "2Xa7TestServiceAccount01";

/* A Platform API answer as JSON (free with mondoo_string_free); NULL on failure. */
static char *graphql_json(mondoo_client *client, const char *query) {
    mondoo_graphql_response *response = NULL;
    char *json = NULL;
    EXPECT_OK(mondoo_client_graphql(client, query, NULL, &response));
    if (response) EXPECT_OK(mondoo_graphql_response_json(response, &json));
    mondoo_graphql_response_free(response);
    return json;
}

/* A client for the fixture service account against url, trusting ca_file and going
 * through proxy when they are not NULL. Both strings are handed over as heap copies that
 * are freed before mondoo_client_new: the setters copy them (ASan and Valgrind would see
 * a later read). Returns mondoo_client_new's result. */
static mondoo_result new_service_account_client(const char *url, const char *ca_file, const char *proxy,
                                                mondoo_client **client_out) {
    mondoo_config *cfg = NULL;
    EXPECT_OK(mondoo_config_load(testdata("service-account/credentials.json"), &cfg));
    mondoo_client_options *opts = NULL;
    EXPECT_OK(mondoo_client_options_new(&opts));
    EXPECT_OK(mondoo_client_options_set_api_endpoint(opts, url));
    EXPECT_OK(mondoo_client_options_set_timeout_ms(opts, 20000));
    EXPECT_OK(mondoo_client_options_set_connect_timeout_ms(opts, 5000));
    if (ca_file) {
        char *copy = strdup(ca_file);
        EXPECT_OK(mondoo_client_options_set_ca_file(opts, copy));
        free(copy);
    }
    if (proxy) {
        char *copy = strdup(proxy);
        EXPECT_OK(mondoo_client_options_set_api_proxy(opts, copy));
        free(copy);
    }
    mondoo_result r = mondoo_client_new(cfg, opts, client_out);
    mondoo_client_options_free(opts);
    mondoo_config_free(cfg);
    return r;
}

/* The code and message of the calling thread's last error (taken); message freed with free. */
static mondoo_result take_last_error(char **message_out) {
    mondoo_error *err = mondoo_error_last();
    mondoo_result code = err ? mondoo_error_code(err) : MONDOO_RESULT_OK;
    *message_out = strdup(err && mondoo_error_message(err) ? mondoo_error_message(err) : "");
    mondoo_error_free(err);
    return code;
}

static void set_platform_clock_offset(long seconds) {
    char body[64];
    snprintf(body, sizeof body, "{\"offset_seconds\": %ld}", seconds);
    int http = 0;
    char *answer = platform_admin(&platform, "clock", body, &http);
    CHECK(http == 200, "clock offset %ld: HTTP %d %s", seconds, http, answer ? answer : "");
    free(answer);
}

/* The number after the first "key": in a JSON text, or NAN. */
static double json_number_field(const char *json, const char *key) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = json ? strstr(json, pattern) : NULL;
    return at ? strtod(at + strlen(pattern), NULL) : NAN;
}

/* The platform's clock 72 h ahead: every signed call gets a real 401. Once a status
 * report has measured the skew, the error of each later call carries it, with the
 * status report's sign (platform minus local: positive here). Before, it carries none. */
static void test_a_401_after_a_measured_skew_carries_the_skew(void) {
    const double ahead = 72.0 * 3600.0;
    set_platform_clock_offset((long)ahead);
    mondoo_client *client = NULL;
    EXPECT_OK(new_service_account_client(platform.url, NULL, NULL, &client));
    if (!client) return;

    char *out = SENTINEL;
    EXPECT_RESULT(call_json(client, "Echo", "Say", "{}", &out), MONDOO_RESULT_RPC_UNAUTHENTICATED);
    mondoo_error *err = mondoo_error_last();
    CHECK(err && isnan(mondoo_error_clock_skew_seconds(err)), "no skew measured yet: %f",
          err ? mondoo_error_clock_skew_seconds(err) : 0.0);
    mondoo_error_free(err);

    char *json = NULL;
    EXPECT_OK(mondoo_client_status(client, &json));
    double reported = json_number_field(json, "clock_skew_seconds");
    CHECK(reported > ahead - 5 && reported < ahead + 5, "status clock_skew_seconds %f: %s", reported,
          json ? json : "(null)");
    CHECK(contains(json, "\"authenticated\":false"), "the skewed platform refused the PingPong");
    mondoo_string_free(json);

    EXPECT_RESULT(call_json(client, "Echo", "Say", "{}", &out), MONDOO_RESULT_RPC_UNAUTHENTICATED);
    CHECK(out == SENTINEL, "response_json_out untouched");
    err = mondoo_error_last();
    CHECK(err != NULL, "error object");
    if (err) {
        double skew = mondoo_error_clock_skew_seconds(err);
        CHECK(skew - reported < 1e-6 && reported - skew < 1e-6, "the 401 carries the measured skew %f (status said %f)", skew, reported);
        CHECK(mondoo_error_http_status(err) == 401 && mondoo_error_rpc_code(err) == 16, "a real 401: HTTP %d, rpc %d",
              mondoo_error_http_status(err), mondoo_error_rpc_code(err));
        mondoo_error_free(err);
    }
    mondoo_client_free(client);
    set_platform_clock_offset(0);
}

/* MONDOO_RESULT_NOT_REGISTERED names the config in mondoo_error_path, not only in its
 * message. */
static void test_not_registered_names_the_config_file(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/unregistered.yml", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("name: nobody\n", f) >= 0 && fclose(f) == 0, "write %s", path);
    mondoo_config *cfg = NULL;
    EXPECT_OK(mondoo_config_load(path, &cfg));
    mondoo_client_options *opts = test_options();
    mondoo_client *client = NULL;
    EXPECT_OK(mondoo_client_new(cfg, opts, &client));
    mondoo_client_options_free(opts);
    mondoo_config_free(cfg);
    if (!client) return;
    char *out = SENTINEL;
    EXPECT_RESULT(call_json(client, "Echo", "Say", "{}", &out), MONDOO_RESULT_NOT_REGISTERED);
    mondoo_error *err = mondoo_error_last();
    const char *named = err ? mondoo_error_path(err) : NULL;
    CHECK(named && strcmp(named, path) == 0, "error path %s, expected %s", named ? named : "(null)", path);
    CHECK(err && isnan(mondoo_error_clock_skew_seconds(err)), "no skew on a call never made");
    mondoo_error_free(err);
    mondoo_client_free(client);
}

/* `mondoo-platform --tls --ca-out FILE`: with the CA given through
 * mondoo_client_options_set_ca_file, status and a signed call work over HTTPS; without
 * it the certificate is refused (MONDOO_RESULT_TLS); a CA file that cannot be used fails
 * at mondoo_client_new. */
static void test_tls_with_the_platform_ca(const char *dir) {
    char ca[600];
    snprintf(ca, sizeof ca, "%s/platform-ca.pem", dir);
    struct platform tls = {0, -1, "", 0};
    const char *args[] = {"--tls", "--ca-out", ca, NULL};
    if (platform_start_args(&tls, args) != 0) {
        CHECK(0, "cannot start the platform with --tls");
        platform_stop(&tls);
        return;
    }
    CHECK(strncmp(tls.url, "https://127.0.0.1:", 18) == 0, "TLS platform URL %s", tls.url);
    char *pem = read_file(ca, NULL);
    CHECK(contains(pem, "-----BEGIN CERTIFICATE-----"), "--ca-out wrote the CA: %s", pem ? pem : "(no file)");
    free(pem);

    /* With the CA. */
    mondoo_client *client = NULL;
    EXPECT_OK(new_service_account_client(tls.url, ca, NULL, &client));
    if (client) {
        char *json = NULL;
        EXPECT_OK(mondoo_client_status(client, &json));
        CHECK(contains(json, "\"authenticated\":true") && contains(json, tls.url),
              "status over TLS: authenticated at %s: %s", tls.url, json ? json : "(null)");
        mondoo_string_free(json);
        int32_t exit_code = status_exit_code(client);
        CHECK(exit_code == 0, "status over TLS: exit code %d", exit_code);

        /* A signed call: the platform verifies the bearer and names its subject. */
        char *response = NULL;
        EXPECT_OK(call_json(client, "Echo", "Say", "{\"over\":\"tls\"}", &response));
        CHECK(contains(response, "\"over\":\"tls\"") && contains(response, "\"signed_by\"") &&
                  contains(response, SERVICE_ACCOUNT_MRN),
              "signed echo over TLS: %s", response ? response : "(null)");
        mondoo_string_free(response);

        /* The Platform API goes over the same TLS connection settings. */
        char *answer = graphql_json(client, "{ viewer { mrn } }");
        CHECK(contains(answer, SERVICE_ACCOUNT_MRN), "GraphQL over TLS: %s", answer ? answer : "(null)");
        mondoo_string_free(answer);
        mondoo_client_free(client);
    }

    /* Without it: the platform's certificate is not trusted. */
    client = NULL;
    EXPECT_OK(new_service_account_client(tls.url, NULL, NULL, &client));
    if (client) {
        char *out = SENTINEL;
        EXPECT_RESULT(call_json(client, "Echo", "Say", "{}", &out), MONDOO_RESULT_TLS);
        CHECK(out == SENTINEL, "response_json_out untouched");
        char *message = NULL;
        mondoo_result code = take_last_error(&message);
        CHECK(code == MONDOO_RESULT_TLS && contains(message, "certificate"),
              "the last error is about the certificate: %s %s", mondoo_result_name(code), message);
        free(message);

        /* Status still answers (as `cnspec status` does), with the failure inside. */
        char *json = NULL;
        EXPECT_OK(mondoo_client_status(client, &json));
        char tls_code[32];
        snprintf(tls_code, sizeof tls_code, "\"code\":%d", (int)MONDOO_RESULT_TLS);
        CHECK(contains(json, "\"authenticated\":false") && contains(json, tls_code) &&
                  contains(json, "certificate"),
              "status without the CA reports the TLS failure: %s", json ? json : "(null)");
        mondoo_string_free(json);
        int32_t exit_code = status_exit_code(client);
        CHECK(exit_code == 1, "status without the CA: exit code %d", exit_code);
        mondoo_client_free(client);
    }

    /* A CA file that does not exist, and one holding no certificate: refused by
     * mondoo_client_new, which names the file; nothing is written to client_out. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-ca.pem", dir);
    const char *unusable[] = {missing, testdata("tokens/not-a-jwt.txt")};
    for (size_t i = 0; i < sizeof unusable / sizeof unusable[0]; i++) {
        client = (mondoo_client *)SENTINEL;
        EXPECT_RESULT(new_service_account_client(tls.url, unusable[i], NULL, &client), MONDOO_RESULT_TLS);
        CHECK(client == (mondoo_client *)SENTINEL, "%s: client_out untouched", unusable[i]);
        mondoo_error *err = mondoo_error_last();
        const char *path = err ? mondoo_error_path(err) : NULL;
        CHECK(path && strcmp(path, unusable[i]) == 0, "error path %s, expected %s", path ? path : "(null)",
              unusable[i]);
        mondoo_error_free(err);
    }

    platform_stop(&tls);
}

/* How many requests the platform recorded (entries of GET /_admin/requests), and
 * whether any of them carries the header `Connection: close` that the platform's proxy
 * puts on every request it forwards (a client talking to the platform directly keeps
 * its connection alive and sends no such header). */
static int recorded_requests(const struct platform *p, int *forwarded_out) {
    char *requests = platform_admin(p, "requests", "", NULL);
    CHECK(requests != NULL, "GET /_admin/requests");
    int count = 0;
    for (const char *at = requests; at && (at = strstr(at, "\"http_method\"")) != NULL; at++) count++;
    for (char *c = requests; c && *c; c++) *c = (char)tolower((unsigned char)*c);
    *forwarded_out = contains(requests, "[\"connection\",\"close\"]");
    free(requests);
    return count;
}

static void reset_platform(const struct platform *p) {
    int http = 0;
    char *answer = platform_admin(p, "reset", "{}", &http);
    CHECK(http == 200, "reset: HTTP %d %s", http, answer ? answer : "");
    free(answer);
}

/* `mondoo-platform --proxy`: a client given the proxy with
 * mondoo_client_options_set_api_proxy sends its calls through it (the platform sees
 * them arrive forwarded by the proxy); without it they arrive directly; with a proxy
 * that is not there, nothing arrives. */
static void test_api_proxy(void) {
    struct platform px = {0, -1, "", 0};
    const char *args[] = {"--proxy", NULL};
    if (platform_start_args(&px, args) != 0) {
        CHECK(0, "cannot start the platform with --proxy");
        platform_stop(&px);
        return;
    }
    int http = 0;
    char *info = platform_admin(&px, "info", "{}", &http);
    char *proxy_url = json_string_field(info, "proxy_url");
    CHECK(http == 200 && proxy_url && strncmp(proxy_url, "http://127.0.0.1:", 17) == 0 &&
              strcmp(proxy_url, px.url) != 0,
          "/_admin/info names the proxy: %s", info ? info : "(null)");
    free(info);
    if (!proxy_url) {
        platform_stop(&px);
        return;
    }

    /* Through the proxy. */
    reset_platform(&px);
    mondoo_client *client = NULL;
    EXPECT_OK(new_service_account_client(px.url, NULL, proxy_url, &client));
    char *response = NULL;
    EXPECT_OK(call_json(client, "Echo", "Say", "{\"via\":\"proxy\"}", &response));
    CHECK(contains(response, "\"via\":\"proxy\"") && contains(response, SERVICE_ACCOUNT_MRN), "echo: %s",
          response ? response : "(null)");
    mondoo_string_free(response);
    int forwarded = 0;
    int count = recorded_requests(&px, &forwarded);
    CHECK(count == 1 && forwarded, "the call reached the platform through the proxy (%d requests, forwarded %d)",
          count, forwarded);
    char *json = NULL;
    EXPECT_OK(mondoo_client_status(client, &json));
    CHECK(contains(json, proxy_url) && contains(json, "--api-proxy") && contains(json, "\"authenticated\":true"),
          "status names the proxy and its source: %s", json ? json : "(null)");
    mondoo_string_free(json);
    /* The Platform API goes through the proxy too. */
    reset_platform(&px);
    char *answer = graphql_json(client, "{ viewer { mrn } }");
    CHECK(contains(answer, SERVICE_ACCOUNT_MRN), "GraphQL through the proxy: %s", answer ? answer : "(null)");
    mondoo_string_free(answer);
    count = recorded_requests(&px, &forwarded);
    CHECK(count == 1 && forwarded, "the GraphQL call reached the platform through the proxy (%d requests, forwarded %d)",
          count, forwarded);
    mondoo_client_free(client);

    /* Directly, for contrast. */
    reset_platform(&px);
    client = NULL;
    EXPECT_OK(new_service_account_client(px.url, NULL, NULL, &client));
    response = NULL;
    EXPECT_OK(call_json(client, "Echo", "Say", "{\"via\":\"direct\"}", &response));
    mondoo_string_free(response);
    count = recorded_requests(&px, &forwarded);
    CHECK(count == 1 && !forwarded, "without the proxy the call arrives directly (%d requests, forwarded %d)",
          count, forwarded);
    mondoo_client_free(client);

    /* A proxy that is not listening: the call fails and reaches nothing. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
              getsockname(fd, (struct sockaddr *)&addr, &len) == 0,
          "reserve a port");
    close(fd); /* bound, never listened: connections to it are refused */
    char dead_proxy[64];
    snprintf(dead_proxy, sizeof dead_proxy, "http://127.0.0.1:%d", ntohs(addr.sin_port));
    reset_platform(&px);
    client = NULL;
    EXPECT_OK(new_service_account_client(px.url, NULL, dead_proxy, &client));
    char *out = SENTINEL;
    mondoo_result r = call_json(client, "Echo", "Say", "{}", &out);
    /* a refused connection to the proxy is the proxy's failure, and the message names it */
    CHECK(r == MONDOO_RESULT_PROXY, "call through a dead proxy: %s", mondoo_result_name(r));
    char *why = last_message();
    CHECK(strstr(why, dead_proxy) != NULL, "the error names the proxy: %s", why);
    free(why);
    CHECK(out == SENTINEL, "response_json_out untouched");
    count = recorded_requests(&px, &forwarded);
    CHECK(count == 0, "nothing reached the platform (%d requests)", count);
    mondoo_client_free(client);

    free(proxy_url);
    platform_stop(&px);
}

static double monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

struct cancel_job {
    const mondoo_cancel *cancel;
    unsigned delay_ms;
    double cancelled_at_ms;
};

/* Cancels from another thread once the call is under way. */
static void *cancel_later(void *arg) {
    struct cancel_job *job = arg;
    struct timespec pause = {job->delay_ms / 1000, (long)(job->delay_ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    job->cancelled_at_ms = monotonic_ms();
    mondoo_cancel_cancel(job->cancel);
    return NULL;
}

static int same_file(const char *path, const char *expected) {
    char *now = read_file(path, NULL);
    int same = now && strcmp(now, expected) == 0;
    free(now);
    return same;
}

static void test_cancel(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/cancel.yml", dir);
    char original[800];
    snprintf(original, sizeof original, "api_endpoint: %s\nkept_key: kept value\n", platform.url);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "write %s", path);
    if (!f) return;
    fputs(original, f);
    fclose(f);
    char *token = mint_token("{}");
    if (!token) return;
    mondoo_client *client = client_for(path);

    /* NULL parameters are refused; a NULL handle is never cancelled. */
    EXPECT_RESULT(mondoo_cancel_new(NULL), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_cancel_cancel(NULL), MONDOO_RESULT_NULL_PARAMETER);
    CHECK(!mondoo_cancel_is_cancelled(NULL), "NULL is not cancelled");
    mondoo_cancel_free(NULL);
    mondoo_cancel *cancel = NULL;
    EXPECT_OK(mondoo_cancel_new(&cancel));
    CHECK(!mondoo_cancel_is_cancelled(cancel), "a new handle is not cancelled");
    mondoo_client *derived = (mondoo_client *)SENTINEL;
    EXPECT_RESULT(mondoo_client_with_cancel(NULL, cancel, &derived), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_client_with_cancel(client, NULL, &derived), MONDOO_RESULT_NULL_PARAMETER);
    EXPECT_RESULT(mondoo_client_with_cancel(client, cancel, NULL), MONDOO_RESULT_NULL_PARAMETER);
    CHECK(derived == (mondoo_client *)SENTINEL, "client_out untouched on error");

    /* Cancelled before the call: CANCELED, and nothing reaches the platform. */
    EXPECT_OK(mondoo_client_with_cancel(client, cancel, &derived));
    EXPECT_OK(mondoo_cancel_cancel(cancel));
    EXPECT_OK(mondoo_cancel_cancel(cancel)); /* twice is fine */
    CHECK(mondoo_cancel_is_cancelled(cancel), "cancelled");
    char *before = platform_admin(&platform, "requests", "", NULL);
    char *out = SENTINEL;
    EXPECT_RESULT(mondoo_client_register(derived, token, NULL, NULL, &out), MONDOO_RESULT_CANCELED);
    CHECK(out == SENTINEL, "registration_json_out untouched");
    mondoo_error *err = mondoo_error_last();
    CHECK(err && mondoo_error_code(err) == MONDOO_RESULT_CANCELED, "the error object says CANCELED");
    mondoo_error_free(err);
    EXPECT_RESULT(mondoo_client_checkin(derived), MONDOO_RESULT_CANCELED);
    char *after = platform_admin(&platform, "requests", "", NULL);
    CHECK(before && after && strcmp(before, after) == 0, "no request reached the platform");
    free(before);
    free(after);
    CHECK(same_file(path, original), "config unchanged");
    /* the derived handle keeps the cancellation after the cancel handle is gone */
    mondoo_cancel_free(cancel);
    EXPECT_RESULT(mondoo_client_checkin(derived), MONDOO_RESULT_CANCELED);
    mondoo_client_free(derived);

    /* Cancelled from another thread while RegisterAgent is slow: CANCELED promptly, and
     * the config is never written, not even after the platform's answer was due. */
    const unsigned slow_ms = 2000;
    char fault[200];
    snprintf(fault, sizeof fault, "{\"kind\":\"slow\",\"millis\":%u,\"only\":\"AgentManager/RegisterAgent\"}",
             slow_ms);
    int http = 0;
    char *ok = platform_admin(&platform, "fault", fault, &http);
    CHECK(http == 200, "inject slow RegisterAgent: HTTP %d", http);
    free(ok);
    EXPECT_OK(mondoo_cancel_new(&cancel));
    EXPECT_OK(mondoo_client_with_cancel(client, cancel, &derived));
    struct cancel_job job = {cancel, 300, 0};
    pthread_t canceller;
    CHECK(pthread_create(&canceller, NULL, cancel_later, &job) == 0, "pthread_create");
    double started = monotonic_ms();
    out = SENTINEL;
    EXPECT_RESULT(mondoo_client_register(derived, token, NULL, NULL, &out), MONDOO_RESULT_CANCELED);
    double returned = monotonic_ms();
    pthread_join(canceller, NULL);
    double after_cancel = returned - job.cancelled_at_ms;
    printf("test_client: register cancelled during a %u ms RegisterAgent returned %.1f ms after the cancel "
           "(%.1f ms after the call started)\n",
           slow_ms, after_cancel, returned - started);
    CHECK(after_cancel < 1000.0, "returned %.1f ms after the cancel (bound 1000 ms)", after_cancel);
    CHECK(out == SENTINEL, "registration_json_out untouched");
    CHECK(same_file(path, original), "config unchanged right after the cancel");
    struct timespec past_the_fault = {slow_ms / 1000 + 1, 0};
    nanosleep(&past_the_fault, NULL);
    CHECK(same_file(path, original), "config still unchanged after the platform's answer was due");
    mondoo_client_free(derived);
    mondoo_cancel_free(cancel);

    /* the client without the cancel still works */
    EXPECT_OK(mondoo_client_register(client, token, NULL, NULL, &out));
    mondoo_string_free(out);
    CHECK(!same_file(path, original), "an uncancelled register writes the config");
    mondoo_client_free(client);
    free(token);
}

int main(void) {
    /* Registration writes HOME-independent: everything goes to a temporary directory. */
    char dir[] = "/tmp/mondoo-c-test-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(config_path, sizeof config_path, "%s/sub/mondoo.yml", dir);
    signal(SIGPIPE, SIG_IGN);
    /* The proxy a client uses must be the one its options name: MONDOO_API_PROXY would win. */
    unsetenv("MONDOO_API_PROXY");
    if (platform_start(&platform) != 0) {
        fprintf(stderr, "test_client: cannot start the local platform (make builds it)\n");
        return 1;
    }

    test_expired_token_makes_no_request();
    test_login_status_calls_logout();
    test_a_401_after_a_measured_skew_carries_the_skew();
    test_not_registered_names_the_config_file(dir);
    test_require_tls();
    test_orphaned_agent_credentials(dir);
    test_cancel(dir);

    platform_stop(&platform);

    test_tls_with_the_platform_ca(dir);
    test_api_proxy();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_client");
}
