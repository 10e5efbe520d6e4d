/*
 * C tests of the client ABI against the local test platform: a full login (register with
 * a token), status, check-in, signed calls from many threads, typed platform errors, and
 * logout; each checks what the caller gets and what the platform recorded.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "check.h"
#include "platform.h"

static char sentinel_storage;
#define SENTINEL ((char *)&sentinel_storage)

static int contains(const char *haystack, const char *needle) {
    return haystack && needle && strstr(haystack, needle) != NULL;
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
        if (mondoo_client_call(job->client, "Echo", "Say", request, &response) != MONDOO_RESULT_OK ||
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

    /* Before login: unregistered. */
    mondoo_status *status = NULL;
    int32_t exit_code = -5;
    EXPECT_OK(mondoo_client_status_report(client, &status));
    EXPECT_OK(mondoo_status_exit_code(status, &exit_code));
    CHECK(exit_code == 1, "unregistered: exit code %d", exit_code);
    mondoo_status_free(status);

    /* Login. */
    char *registration = NULL;
    EXPECT_OK(mondoo_client_register(client, token, "c-test-host", "{\"team\":\"c\"}", &registration));
    char *agent_mrn = json_string_field(registration, "agent_mrn");
    char *sa_mrn = json_string_field(registration, "service_account_mrn");
    CHECK(agent_mrn && sa_mrn, "registration: %s", registration ? registration : "(null)");
    mondoo_string_free(registration);

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
    mondoo_status_free(status);
    char *json = NULL;
    EXPECT_OK(mondoo_client_status(client, &json));
    CHECK(contains(json, agent_mrn) && !contains(json, "PRIVATE KEY"), "status JSON: %s", json ? json : "");
    mondoo_string_free(json);

    /* Check-in and a signed generic call. */
    EXPECT_OK(mondoo_client_checkin(client));
    char *response = NULL;
    EXPECT_OK(mondoo_client_call(client, "Echo", "Say", "{\"hello\":\"from C\"}", &response));
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
    EXPECT_RESULT(mondoo_client_call(scoped, "Echo", "Say", "{}", &slow_answer), MONDOO_RESULT_TIMEOUT);
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

    EXPECT_OK(mondoo_client_status_report(client, &status));
    exit_code = -5;
    EXPECT_OK(mondoo_status_exit_code(status, &exit_code));
    CHECK(exit_code == 1, "after logout: exit code %d", exit_code);
    mondoo_status_free(status);

    free(agent_mrn);
    free(sa_mrn);
    free(token);
    mondoo_client_free(client);
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
    if (platform_start(&platform) != 0) {
        fprintf(stderr, "test_client: cannot start the local platform (make builds it)\n");
        return 1;
    }

    test_expired_token_makes_no_request();
    test_login_status_calls_logout();

    platform_stop(&platform);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("test_client");
}
