//! The C ABI's Platform API calls against the local platform: one query with its answer
//! handle (data, errors), and the page iterator to its last page.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

use mondoo::Code;
use mondoo_capi as _;
use mondoo_platform::{Platform, PlatformOptions};

#[allow(non_camel_case_types)]
type opaque = std::ffi::c_void;

extern "C" {
    fn mondoo_config_load(path: *const c_char, out: *mut *mut opaque) -> u32;
    fn mondoo_config_free(config: *mut opaque);
    fn mondoo_client_new(config: *const opaque, options: *const opaque, out: *mut *mut opaque) -> u32;
    fn mondoo_client_free(client: *mut opaque);
    fn mondoo_string_free(s: *mut c_char);
    fn mondoo_client_graphql(client: *const opaque, q: *const c_char, v: *const c_char, out: *mut *mut opaque) -> u32;
    fn mondoo_graphql_response_json(r: *const opaque, out: *mut *mut c_char) -> u32;
    fn mondoo_graphql_response_has_errors(r: *const opaque) -> bool;
    fn mondoo_graphql_response_first_error_message(r: *const opaque, out: *mut *mut c_char) -> u32;
    fn mondoo_graphql_response_free(r: *mut opaque);
    fn mondoo_graphql_pager_new(
        client: *const opaque,
        q: *const c_char,
        v: *const c_char,
        path: *const c_char,
        page_limit: usize,
        out: *mut *mut opaque,
    ) -> u32;
    fn mondoo_graphql_pager_next(pager: *mut opaque, out: *mut *mut c_char) -> u32;
    fn mondoo_graphql_pager_free(pager: *mut opaque);
}

const SPACE: &str = "//captain.api.mondoo.app/spaces/graphql-capi";

unsafe fn take(s: *mut c_char) -> String {
    let text = CStr::from_ptr(s).to_str().unwrap().to_string();
    mondoo_string_free(s);
    text
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[test]
fn a_query_and_the_pages_through_the_c_abi() {
    let platform = Platform::start(PlatformOptions::default()).unwrap();
    platform.add_assets(SPACE, 5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mondoo.json");
    std::fs::write(&path, platform.create_service_account(SPACE).unwrap().to_string()).unwrap();
    unsafe {
        let (mut config, mut client) = (null_mut(), null_mut());
        assert_eq!(mondoo_config_load(c(path.to_str().unwrap()).as_ptr(), &mut config), 0);
        assert_eq!(mondoo_client_new(config, null(), &mut client), 0);

        let mut response = null_mut();
        let vars = c(&format!(r#"{{"s": "{SPACE}"}}"#));
        let query = c("query($s: String!) { space(mrn: $s) { mrn } }");
        assert_eq!(mondoo_client_graphql(client, query.as_ptr(), vars.as_ptr(), &mut response), 0);
        assert!(!mondoo_graphql_response_has_errors(response));
        let mut json = null_mut();
        assert_eq!(mondoo_graphql_response_json(response, &mut json), 0);
        let json: serde_json::Value = serde_json::from_str(&take(json)).unwrap();
        assert_eq!(json["data"]["space"]["mrn"], SPACE);
        let mut message = null_mut();
        assert_eq!(mondoo_graphql_response_first_error_message(response, &mut message), 0);
        assert!(message.is_null());
        mondoo_graphql_response_free(response);

        // an errors answer is a success with errors to read
        let mut response = null_mut();
        let other = c(r#"{"s": "//captain.api.mondoo.app/spaces/not-mine"}"#);
        assert_eq!(mondoo_client_graphql(client, query.as_ptr(), other.as_ptr(), &mut response), 0);
        assert!(mondoo_graphql_response_has_errors(response));
        let mut message = null_mut();
        assert_eq!(mondoo_graphql_response_first_error_message(response, &mut message), 0);
        assert!(!take(message).is_empty());
        mondoo_graphql_response_free(response);

        // variables that are not JSON: refused, the output untouched
        let mut untouched = 1usize as *mut opaque;
        let bad = c("{not json");
        let code = mondoo_client_graphql(client, query.as_ptr(), bad.as_ptr(), &mut untouched);
        assert_eq!(code, Code::InvalidArgument.value());
        assert_eq!(untouched as usize, 1);

        let pages_query = c("query($space: String!, $after: String) {
            assets(spaceMrn: $space, first: 2, after: $after) { edges { node { name } } pageInfo { endCursor hasNextPage } } }");
        let space_vars = c(&format!(r#"{{"space": "{SPACE}"}}"#));
        let mut pager = null_mut();
        let assets = c("assets");
        assert_eq!(
            mondoo_graphql_pager_new(
                client,
                pages_query.as_ptr(),
                space_vars.as_ptr(),
                assets.as_ptr(),
                10,
                &mut pager
            ),
            0
        );
        let mut names = Vec::new();
        loop {
            let mut page = null_mut();
            assert_eq!(mondoo_graphql_pager_next(pager, &mut page), 0);
            if page.is_null() {
                break;
            }
            let page: serde_json::Value = serde_json::from_str(&take(page)).unwrap();
            for edge in page["edges"].as_array().unwrap() {
                names.push(edge["node"]["name"].as_str().unwrap().to_string());
            }
        }
        assert_eq!(names.len(), 5);
        mondoo_graphql_pager_free(pager);

        // a page limit below the page count: an error after the limit
        let mut pager = null_mut();
        assert_eq!(
            mondoo_graphql_pager_new(client, pages_query.as_ptr(), space_vars.as_ptr(), assets.as_ptr(), 2, &mut pager),
            0
        );
        let mut page = null_mut();
        for _ in 0..2 {
            assert_eq!(mondoo_graphql_pager_next(pager, &mut page), 0);
            take(page);
        }
        assert_eq!(mondoo_graphql_pager_next(pager, &mut page), Code::InvalidArgument.value());
        mondoo_graphql_pager_free(pager);

        mondoo_client_free(client);
        mondoo_config_free(config);
    }
}
