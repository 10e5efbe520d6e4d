/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Each fallible libmondoo call Go makes, as one C call that also hands back the call's
 * error object (*error_out: NULL on success, else owned by the caller, freed with
 * mondoo_error_free). The error is taken on the thread that failed, inside the same cgo
 * call, so a goroutine moving between OS threads can never read another call's error:
 * no runtime.LockOSThread is needed. One line per function, its prototype as in
 * mondoo.h plus error_out; Go calls go_<name>.
 */
#ifndef MONDOO_GO_CALLS_H
#define MONDOO_GO_CALLS_H

#include "mondoo.h"

static inline mondoo_result mondoo_go_take_error(mondoo_result result, mondoo_error **error_out) {
    *error_out = result == MONDOO_RESULT_OK ? NULL : mondoo_error_last();
    return result;
}

/* go_NAME(PARAMS..., error_out): NAME(ARGS...) and its error. */
#define MONDOO_GO_CALL(name, params, args)                                                     \
    static inline mondoo_result go_##name params { return mondoo_go_take_error(name args, error_out); }

MONDOO_GO_CALL(mondoo_cancel_new, (mondoo_cancel **cancel_out, mondoo_error **error_out), (cancel_out))
MONDOO_GO_CALL(mondoo_cancel_cancel, (const mondoo_cancel *cancel, mondoo_error **error_out), (cancel))
MONDOO_GO_CALL(mondoo_client_options_new, (mondoo_client_options **options_out, mondoo_error **error_out), (options_out))
MONDOO_GO_CALL(mondoo_client_options_set_api_endpoint, (mondoo_client_options *options, const char *api_endpoint, mondoo_error **error_out), (options, api_endpoint))
MONDOO_GO_CALL(mondoo_client_options_set_api_proxy, (mondoo_client_options *options, const char *api_proxy, mondoo_error **error_out), (options, api_proxy))
MONDOO_GO_CALL(mondoo_client_options_set_api_token, (mondoo_client_options *options, const char *api_token, mondoo_error **error_out), (options, api_token))
MONDOO_GO_CALL(mondoo_client_options_set_ca_file, (mondoo_client_options *options, const char *ca_file, mondoo_error **error_out), (options, ca_file))
MONDOO_GO_CALL(mondoo_client_options_set_timeout_ms, (mondoo_client_options *options, uint64_t timeout_ms, mondoo_error **error_out), (options, timeout_ms))
MONDOO_GO_CALL(mondoo_client_options_set_connect_timeout_ms, (mondoo_client_options *options, uint64_t timeout_ms, mondoo_error **error_out), (options, timeout_ms))
MONDOO_GO_CALL(mondoo_client_options_set_retry_delays_ms, (mondoo_client_options *options, const uint64_t *delays_ms, size_t delays_len, mondoo_error **error_out), (options, delays_ms, delays_len))
MONDOO_GO_CALL(mondoo_client_options_set_retry_jitter_ms, (mondoo_client_options *options, uint64_t jitter_ms, mondoo_error **error_out), (options, jitter_ms))
MONDOO_GO_CALL(mondoo_client_options_set_correct_clock_skew, (mondoo_client_options *options, bool correct, mondoo_error **error_out), (options, correct))
MONDOO_GO_CALL(mondoo_client_options_set_require_tls, (mondoo_client_options *options, bool require_tls, mondoo_error **error_out), (options, require_tls))
MONDOO_GO_CALL(mondoo_client_new, (const mondoo_config *config, const mondoo_client_options *options, mondoo_client **client_out, mondoo_error **error_out), (config, options, client_out))
MONDOO_GO_CALL(mondoo_client_with_timeout, (const mondoo_client *client, uint64_t timeout_ms, mondoo_client **client_out, mondoo_error **error_out), (client, timeout_ms, client_out))
MONDOO_GO_CALL(mondoo_client_with_cancel, (const mondoo_client *client, const mondoo_cancel *cancel, mondoo_client **client_out, mondoo_error **error_out), (client, cancel, client_out))
MONDOO_GO_CALL(mondoo_client_register, (const mondoo_client *client, const char *token, const char *name, const char *annotations_json, char **registration_json_out, mondoo_error **error_out), (client, token, name, annotations_json, registration_json_out))
MONDOO_GO_CALL(mondoo_client_logout, (const mondoo_client *client, bool keep_service_account, bool force_offline, mondoo_error **error_out), (client, keep_service_account, force_offline))
MONDOO_GO_CALL(mondoo_client_checkin, (const mondoo_client *client, mondoo_error **error_out), (client))
MONDOO_GO_CALL(mondoo_client_call, (const mondoo_client *client, const char *service, const char *method, const uint8_t *request_json, size_t request_json_len, char **response_json_out, mondoo_error **error_out), (client, service, method, request_json, request_json_len, response_json_out))
MONDOO_GO_CALL(mondoo_client_sign, (const mondoo_client *client, const uint8_t *body, size_t body_len, char **bearer_out, mondoo_error **error_out), (client, body, body_len, bearer_out))
MONDOO_GO_CALL(mondoo_client_config_json, (const mondoo_client *client, char **json_out, mondoo_error **error_out), (client, json_out))
MONDOO_GO_CALL(mondoo_client_exchange, (const mondoo_client *client, char **report_json_out, mondoo_error **error_out), (client, report_json_out))
MONDOO_GO_CALL(mondoo_client_graphql, (const mondoo_client *client, const char *query, const char *variables_json, mondoo_graphql_response **response_out, mondoo_error **error_out), (client, query, variables_json, response_out))
MONDOO_GO_CALL(mondoo_graphql_response_json, (const mondoo_graphql_response *response, char **json_out, mondoo_error **error_out), (response, json_out))
MONDOO_GO_CALL(mondoo_graphql_pager_new, (const mondoo_client *client, const char *query, const char *variables_json, const char *path, size_t page_limit, mondoo_graphql_pager **pager_out, mondoo_error **error_out), (client, query, variables_json, path, page_limit, pager_out))
MONDOO_GO_CALL(mondoo_graphql_pager_next, (mondoo_graphql_pager *pager, char **page_json_out, mondoo_error **error_out), (pager, page_json_out))
MONDOO_GO_CALL(mondoo_config_load, (const char *path, mondoo_config **config_out, mondoo_error **error_out), (path, config_out))
MONDOO_GO_CALL(mondoo_config_load_for_registration, (const char *path, mondoo_config **config_out, mondoo_error **error_out), (path, config_out))
MONDOO_GO_CALL(mondoo_config_service_account_mrn, (const mondoo_config *config, char **value_out, mondoo_error **error_out), (config, value_out))
MONDOO_GO_CALL(mondoo_config_agent_mrn, (const mondoo_config *config, char **value_out, mondoo_error **error_out), (config, value_out))
MONDOO_GO_CALL(mondoo_config_api_endpoint, (const mondoo_config *config, char **value_out, mondoo_error **error_out), (config, value_out))
MONDOO_GO_CALL(mondoo_config_space_mrn, (const mondoo_config *config, char **value_out, mondoo_error **error_out), (config, value_out))
MONDOO_GO_CALL(mondoo_config_source, (const mondoo_config *config, char **value_out, mondoo_error **error_out), (config, value_out))
MONDOO_GO_CALL(mondoo_config_path, (const mondoo_config *config, char **value_out, mondoo_error **error_out), (config, value_out))
MONDOO_GO_CALL(mondoo_config_is_registered, (const mondoo_config *config, bool *registered_out, mondoo_error **error_out), (config, registered_out))
MONDOO_GO_CALL(mondoo_config_get, (const mondoo_config *config, const char *key, char **value_out, mondoo_error **error_out), (config, key, value_out))
MONDOO_GO_CALL(mondoo_config_to_json, (const mondoo_config *config, char **json_out, mondoo_error **error_out), (config, json_out))
MONDOO_GO_CALL(mondoo_client_status_report, (const mondoo_client *client, mondoo_status **status_out, mondoo_error **error_out), (client, status_out))
MONDOO_GO_CALL(mondoo_status_to_text, (const mondoo_status *status, char **text_out, mondoo_error **error_out), (status, text_out))
MONDOO_GO_CALL(mondoo_status_to_json, (const mondoo_status *status, char **json_out, mondoo_error **error_out), (status, json_out))
MONDOO_GO_CALL(mondoo_status_exit_code, (const mondoo_status *status, int32_t *exit_code_out, mondoo_error **error_out), (status, exit_code_out))
MONDOO_GO_CALL(mondoo_token_inspect, (const char *token, const char *endpoint_override, char **claims_json_out, mondoo_error **error_out), (token, endpoint_override, claims_json_out))

#endif
