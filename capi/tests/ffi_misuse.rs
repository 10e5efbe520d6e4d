//! The C ABI misused from Rust (issue 7, point 4; the C tests under ASan/UBSan/Valgrind
//! are separate): NULL for each pointer argument, text that is not UTF-8, empty and
//! 100 MiB bodies, a zero-length buffer, one handle used from many threads. Each call
//! returns its result code (and sets the last error), or works; none crashes, and on
//! error the output is left untouched.

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use mondoo::Code;
// The exports below are declared by hand, as C sees them; this links the library behind them.
use mondoo_capi as _;

// The exports, declared as a C caller sees them (the Rust modules behind them are
// private). Results are declared as u32 and converted, so a bad value would be caught
// rather than be undefined behaviour.
#[allow(non_camel_case_types)]
type mondoo_config = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_signer = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_client = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_error = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_status = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_registration = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_token_info = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_cancel = std::ffi::c_void;
#[allow(non_camel_case_types)]
type mondoo_result = u32;

mod raw {
    use super::*;
    extern "C" {
        pub fn mondoo_error_last() -> *mut mondoo_error;
        pub fn mondoo_error_code(e: *const mondoo_error) -> mondoo_result;
        pub fn mondoo_error_message(e: *const mondoo_error) -> *const c_char;
        pub fn mondoo_error_path(e: *const mondoo_error) -> *const c_char;
        pub fn mondoo_error_free(e: *mut mondoo_error);
        pub fn mondoo_last_error_message(out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_string_free(s: *mut c_char);
        pub fn mondoo_config_load(path: *const c_char, out: *mut *mut mondoo_config) -> mondoo_result;
        pub fn mondoo_config_load_for_registration(path: *const c_char, out: *mut *mut mondoo_config) -> mondoo_result;
        pub fn mondoo_config_free(c: *mut mondoo_config);
        pub fn mondoo_config_service_account_mrn(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_agent_mrn(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_api_endpoint(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_space_mrn(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_source(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_path(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_to_json(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_get(c: *const mondoo_config, key: *const c_char, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_is_registered(c: *const mondoo_config, out: *mut bool) -> mondoo_result;
        pub fn mondoo_token_inspect(t: *const c_char, endpoint: *const c_char, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_signer_from_config(c: *const mondoo_config, out: *mut *mut mondoo_signer) -> mondoo_result;
        pub fn mondoo_signer_sign(
            s: *const mondoo_signer,
            body: *const u8,
            len: usize,
            out: *mut *mut c_char,
        ) -> mondoo_result;
        pub fn mondoo_signer_free(s: *mut mondoo_signer);
        pub fn mondoo_client_new(
            c: *const mondoo_config,
            o: *const std::ffi::c_void,
            out: *mut *mut mondoo_client,
        ) -> mondoo_result;
        pub fn mondoo_client_call(
            c: *const mondoo_client,
            svc: *const c_char,
            m: *const c_char,
            req: *const u8,
            req_len: usize,
            out: *mut *mut c_char,
        ) -> mondoo_result;
        pub fn mondoo_client_sign(
            c: *const mondoo_client,
            body: *const u8,
            len: usize,
            out: *mut *mut c_char,
        ) -> mondoo_result;
        pub fn mondoo_client_checkin(c: *const mondoo_client) -> mondoo_result;
        pub fn mondoo_client_free(c: *mut mondoo_client);
        pub fn mondoo_client_options_free(o: *mut std::ffi::c_void);
        pub fn mondoo_status_free(s: *mut std::ffi::c_void);

        pub fn mondoo_client_options_new(out: *mut *mut std::ffi::c_void) -> mondoo_result;
        pub fn mondoo_client_options_set_api_endpoint(o: *mut std::ffi::c_void, url: *const c_char) -> mondoo_result;
        pub fn mondoo_client_register_report(
            c: *const mondoo_client,
            token: *const c_char,
            name: *const c_char,
            annotations: *const c_char,
            out: *mut *mut mondoo_registration,
        ) -> mondoo_result;
        pub fn mondoo_registration_agent_mrn(r: *const mondoo_registration, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_registration_service_account_mrn(
            r: *const mondoo_registration,
            out: *mut *mut c_char,
        ) -> mondoo_result;
        pub fn mondoo_registration_space_mrn(r: *const mondoo_registration, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_registration_api_endpoint(r: *const mondoo_registration, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_registration_config_path(r: *const mondoo_registration, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_registration_to_json(r: *const mondoo_registration, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_registration_already_registered(r: *const mondoo_registration, out: *mut bool) -> mondoo_result;
        pub fn mondoo_registration_free(r: *mut mondoo_registration);
        pub fn mondoo_client_status_report(c: *const mondoo_client, out: *mut *mut mondoo_status) -> mondoo_result;
        pub fn mondoo_status_is_registered(s: *const mondoo_status, out: *mut bool) -> mondoo_result;
        pub fn mondoo_status_is_authenticated(s: *const mondoo_status, out: *mut bool) -> mondoo_result;
        pub fn mondoo_status_auth_error(s: *const mondoo_status, out: *mut *mut mondoo_error) -> mondoo_result;
        pub fn mondoo_status_api_error(s: *const mondoo_status, out: *mut *mut mondoo_error) -> mondoo_result;
        pub fn mondoo_status_clock_skew_seconds(s: *const mondoo_status, out: *mut f64) -> mondoo_result;
        pub fn mondoo_status_round_trip_ms(s: *const mondoo_status, out: *mut f64) -> mondoo_result;
        pub fn mondoo_status_api_endpoint(s: *const mondoo_status, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_status_agent_mrn(s: *const mondoo_status, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_status_service_account_mrn(s: *const mondoo_status, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_status_space_mrn(s: *const mondoo_status, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_token_inspect_report(
            t: *const c_char,
            endpoint: *const c_char,
            out: *mut *mut mondoo_token_info,
        ) -> mondoo_result;
        pub fn mondoo_token_info_space_mrn(i: *const mondoo_token_info, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_token_info_api_endpoint(i: *const mondoo_token_info, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_token_info_description(i: *const mondoo_token_info, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_token_info_labels_json(i: *const mondoo_token_info, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_token_info_to_json(i: *const mondoo_token_info, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_token_info_expires_at(i: *const mondoo_token_info, out: *mut i64) -> mondoo_result;
        pub fn mondoo_token_info_free(i: *mut mondoo_token_info);
        pub fn mondoo_cancel_new(out: *mut *mut mondoo_cancel) -> mondoo_result;
        pub fn mondoo_cancel_cancel(c: *const mondoo_cancel) -> mondoo_result;
        pub fn mondoo_cancel_is_cancelled(c: *const mondoo_cancel) -> bool;
        pub fn mondoo_cancel_free(c: *mut mondoo_cancel);
        pub fn mondoo_client_with_cancel(
            c: *const mondoo_client,
            cancel: *const mondoo_cancel,
            out: *mut *mut mondoo_client,
        ) -> mondoo_result;
        pub fn mondoo_result_class(result: u32) -> u32;
    }
}

/// A result value as a Code (panics on a value that is no code).
fn code(r: mondoo_result) -> Code {
    Code::from_value(r).unwrap_or_else(|| panic!("{r} is not a result code"))
}

use raw::{
    mondoo_client_free, mondoo_client_options_free, mondoo_config_free, mondoo_error_free, mondoo_error_last,
    mondoo_error_message, mondoo_error_path, mondoo_signer_free, mondoo_status_free, mondoo_string_free,
};

/// A file of the repository's fixtures (`testdata/`).
fn testdata(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata")).join(rel)
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// The calling thread's last error: its code and message (taken, so it is cleared).
fn last_error() -> (Code, String) {
    // SAFETY: no arguments; returns an owned handle or NULL.
    let e = unsafe { mondoo_error_last() };
    assert!(!e.is_null(), "a failing call must set the last error");
    // SAFETY: e is a live error handle until mondoo_error_free.
    unsafe {
        let code = code(raw::mondoo_error_code(e));
        let message = CStr::from_ptr(mondoo_error_message(e)).to_string_lossy().into_owned();
        mondoo_error_free(e);
        (code, message)
    }
}

/// `result` is `code`, the last error agrees and names `param`.
fn expect_error(result: Code, code: Code, param: &str) {
    assert_eq!(result, code);
    let (last, message) = last_error();
    assert_eq!(last, code, "{message}");
    assert!(message.contains(param), "the message names `{param}`: {message}");
}

/// The fixture service account's config, as a handle.
fn fixture_config() -> *mut mondoo_config {
    let path = cstr(testdata("service-account/credentials.json").to_str().unwrap());
    let mut config = null_mut();
    // SAFETY: valid C string and out pointer.
    let r = unsafe { code(raw::mondoo_config_load(path.as_ptr(), &mut config)) };
    assert_eq!(r, Code::Ok);
    config
}

fn fixture_signer(config: *const mondoo_config) -> *mut mondoo_signer {
    let mut signer = null_mut();
    // SAFETY: a live config and a valid out pointer.
    assert_eq!(unsafe { code(raw::mondoo_signer_from_config(config, &mut signer)) }, Code::Ok);
    signer
}

/// A sentinel an untouched output still holds.
fn sentinel<T>() -> *mut T {
    std::ptr::NonNull::dangling().as_ptr()
}

#[test]
fn null_for_every_pointer_argument() {
    let config = fixture_config();
    let signer = fixture_signer(config);
    let path = cstr(testdata("service-account/credentials.json").to_str().unwrap());
    let key = cstr("mrn");
    // SAFETY: every pointer is either valid or NULL, which the API must refuse.
    unsafe {
        let mut out_config: *mut mondoo_config = sentinel();
        expect_error(code(raw::mondoo_config_load(path.as_ptr(), null_mut())), Code::NullParameter, "config_out");
        expect_error(
            code(raw::mondoo_config_load_for_registration(path.as_ptr(), null_mut())),
            Code::NullParameter,
            "config_out",
        );
        assert_eq!(out_config, sentinel());

        let mut s: *mut c_char = sentinel();
        for (name, f) in [
            (
                "mondoo_config_service_account_mrn",
                raw::mondoo_config_service_account_mrn
                    as unsafe extern "C" fn(*const mondoo_config, *mut *mut c_char) -> mondoo_result,
            ),
            ("mondoo_config_agent_mrn", raw::mondoo_config_agent_mrn),
            ("mondoo_config_api_endpoint", raw::mondoo_config_api_endpoint),
            ("mondoo_config_space_mrn", raw::mondoo_config_space_mrn),
            ("mondoo_config_source", raw::mondoo_config_source),
            ("mondoo_config_path", raw::mondoo_config_path),
            ("mondoo_config_to_json", raw::mondoo_config_to_json),
        ] {
            expect_error(code(f(null(), &mut s)), Code::NullParameter, "config");
            assert_eq!(s, sentinel(), "{name} wrote its output on error");
            assert_eq!(code(f(config, null_mut())), Code::NullParameter, "{name}");
            let _ = last_error();
        }
        expect_error(code(raw::mondoo_config_get(null(), key.as_ptr(), &mut s)), Code::NullParameter, "config");
        expect_error(code(raw::mondoo_config_get(config, null(), &mut s)), Code::NullParameter, "key");
        expect_error(code(raw::mondoo_config_get(config, key.as_ptr(), null_mut())), Code::NullParameter, "");
        let mut b = true;
        expect_error(code(raw::mondoo_config_is_registered(null(), &mut b)), Code::NullParameter, "config");
        expect_error(code(raw::mondoo_config_is_registered(config, null_mut())), Code::NullParameter, "");

        expect_error(code(raw::mondoo_token_inspect(null(), null(), &mut s)), Code::NullParameter, "token");
        let token = cstr("a.b.c");
        expect_error(code(raw::mondoo_token_inspect(token.as_ptr(), null(), null_mut())), Code::NullParameter, "");

        let mut sg: *mut mondoo_signer = sentinel();
        expect_error(code(raw::mondoo_signer_from_config(null(), &mut sg)), Code::NullParameter, "config");
        assert_eq!(sg, sentinel());
        expect_error(code(raw::mondoo_signer_from_config(config, null_mut())), Code::NullParameter, "");
        let body = b"{}";
        expect_error(
            code(raw::mondoo_signer_sign(null(), body.as_ptr(), body.len(), &mut s)),
            Code::NullParameter,
            "signer",
        );
        expect_error(code(raw::mondoo_signer_sign(signer, null(), 5, &mut s)), Code::NullParameter, "body");
        expect_error(
            code(raw::mondoo_signer_sign(signer, body.as_ptr(), body.len(), null_mut())),
            Code::NullParameter,
            "",
        );
        assert_eq!(s, sentinel());

        // (a NULL config or options is documented as "the defaults", not an error)
        expect_error(code(raw::mondoo_client_new(config, null(), null_mut())), Code::NullParameter, "client_out");
        let svc = cstr("Echo");
        let req = cstr("{}");
        expect_error(
            code(raw::mondoo_client_call(null(), svc.as_ptr(), svc.as_ptr(), req.as_ptr().cast(), 2, &mut s)),
            Code::NullParameter,
            "client",
        );
        expect_error(
            code(raw::mondoo_client_sign(null(), body.as_ptr(), body.len(), &mut s)),
            Code::NullParameter,
            "client",
        );
        expect_error(code(raw::mondoo_client_checkin(null())), Code::NullParameter, "client");
        expect_error(code(raw::mondoo_last_error_message(null_mut())), Code::NullParameter, "");

        // NULL handles to the error accessors and every free are harmless
        assert_eq!(code(raw::mondoo_error_code(null())), Code::NullParameter);
        let _ = mondoo_error_message(null());
        let _ = mondoo_error_path(null());
        mondoo_error_free(null_mut());
        mondoo_config_free(null_mut());
        mondoo_signer_free(null_mut());
        mondoo_client_free(null_mut());
        mondoo_client_options_free(null_mut());
        mondoo_status_free(null_mut());
        mondoo_string_free(null_mut());
        mondoo_signer_free(signer);
        mondoo_config_free(config);
        let _ = out_config;
        out_config = null_mut();
        let _ = out_config;
    }
}

#[test]
fn invalid_utf8_is_a_result_code() {
    let bad = CString::new(vec![b'a', 0xff, 0xfe, b'b']).unwrap();
    let config = fixture_config();
    // SAFETY: valid C strings (not UTF-8) and valid out pointers.
    unsafe {
        let mut c = null_mut();
        expect_error(code(raw::mondoo_config_load(bad.as_ptr(), &mut c)), Code::InvalidUtf8, "path");
        let mut s: *mut c_char = sentinel();
        expect_error(code(raw::mondoo_token_inspect(bad.as_ptr(), null(), &mut s)), Code::InvalidUtf8, "token");
        expect_error(code(raw::mondoo_config_get(config, bad.as_ptr(), &mut s)), Code::InvalidUtf8, "key");
        assert_eq!(s, sentinel());
        mondoo_config_free(config);
    }
}

#[test]
fn empty_zero_length_and_100_mib_bodies() {
    let config = fixture_config();
    let signer = fixture_signer(config);
    let cert = std::fs::read_to_string(testdata("service-account/credentials.json")).unwrap();
    let cert: serde_json::Value = serde_json::from_str(&cert).unwrap();
    let cert = cert["certificate"].as_str().unwrap().to_string();
    let verify = |bearer: *mut c_char, body: &[u8]| {
        // SAFETY: bearer is an owned string returned by the library.
        let text = unsafe { CStr::from_ptr(bearer) }.to_str().unwrap().to_string();
        unsafe { mondoo_string_free(bearer) };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        mondoo::__private::signer::verify(&text, body, &cert, now).unwrap();
    };
    // SAFETY: valid handles and buffers of the stated length.
    unsafe {
        // NULL with length 0 is the empty body
        let mut bearer = null_mut();
        assert_eq!(code(raw::mondoo_signer_sign(signer, null(), 0, &mut bearer)), Code::Ok);
        verify(bearer, b"");
        // a zero-length slice of a real buffer
        let buf = [1u8; 4];
        assert_eq!(code(raw::mondoo_signer_sign(signer, buf.as_ptr(), 0, &mut bearer)), Code::Ok);
        verify(bearer, b"");
        // bodies with NUL bytes are bytes, not strings
        let nul = b"a\0b";
        assert_eq!(code(raw::mondoo_signer_sign(signer, nul.as_ptr(), nul.len(), &mut bearer)), Code::Ok);
        verify(bearer, nul);
        // 100 MiB
        let big = vec![b'x'; 100 * 1024 * 1024];
        assert_eq!(code(raw::mondoo_signer_sign(signer, big.as_ptr(), big.len(), &mut bearer)), Code::Ok);
        verify(bearer, &big);

        // an empty token and an empty config path are refusals with codes, not crashes
        let empty = cstr("");
        let mut s = null_mut();
        expect_error(code(raw::mondoo_token_inspect(empty.as_ptr(), null(), &mut s)), Code::TokenMalformed, "empty");
        // a 100 MiB token
        let huge = CString::new(vec![b'a'; 100 * 1024 * 1024]).unwrap();
        expect_error(code(raw::mondoo_token_inspect(huge.as_ptr(), null(), &mut s)), Code::TokenTooLarge, "limit");
        mondoo_signer_free(signer);
        mondoo_config_free(config);
    }
}

#[test]
fn one_signer_and_one_config_from_many_threads() {
    struct Shared(*mut mondoo_config, *mut mondoo_signer);
    // SAFETY: the API documents both handles as usable from many threads at once.
    unsafe impl Send for Shared {}
    unsafe impl Sync for Shared {}
    let config = fixture_config();
    let shared = std::sync::Arc::new(Shared(config, fixture_signer(config)));
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let shared = std::sync::Arc::clone(&shared);
            std::thread::spawn(move || {
                for i in 0..200 {
                    let body = format!("{{\"t\":{t},\"i\":{i}}}");
                    let mut bearer = null_mut();
                    let mut mrn = null_mut();
                    // SAFETY: live handles; owned outputs freed below.
                    unsafe {
                        assert_eq!(
                            code(raw::mondoo_signer_sign(shared.1, body.as_ptr(), body.len(), &mut bearer)),
                            Code::Ok
                        );
                        mondoo_string_free(bearer);
                        assert_eq!(code(raw::mondoo_config_service_account_mrn(shared.0, &mut mrn)), Code::Ok);
                        mondoo_string_free(mrn);
                        // errors on one thread do not leak into another's last error
                        let mut s = null_mut();
                        assert_eq!(code(raw::mondoo_config_get(shared.0, null(), &mut s)), Code::NullParameter);
                        let (code, _) = last_error();
                        assert_eq!(code, Code::NullParameter);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread may panic");
    }
    // SAFETY: all threads are joined; each handle is freed once.
    unsafe {
        mondoo_signer_free(shared.1);
        mondoo_config_free(shared.0);
    }
}

#[test]
fn an_empty_config_path_is_invalid_not_the_default_search() {
    // issue 14, F11: "" used to mean NULL (the default search), loading some other file
    let empty = cstr("");
    // SAFETY: a valid (empty) C string and valid out pointers.
    unsafe {
        for load in [raw::mondoo_config_load, raw::mondoo_config_load_for_registration] {
            let mut c: *mut mondoo_config = sentinel();
            let result = code(load(empty.as_ptr(), &mut c));
            assert_eq!(result, Code::InvalidArgument);
            assert_eq!(c, sentinel(), "config_out untouched on error");
            let (last, message) = last_error();
            assert_eq!(last, Code::InvalidArgument);
            assert!(message.contains("config path is empty"), "{message}");
        }
    }
}

/// An owned C string from libmondoo as a Rust string (NULL is None), freed.
fn take_string(s: *mut c_char) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: a non-NULL string returned by libmondoo, freed once here.
    unsafe {
        let text = CStr::from_ptr(s).to_str().unwrap().to_owned();
        mondoo_string_free(s);
        Some(text)
    }
}

/// A client of the fixture service account at `endpoint`, through the C API.
fn service_account_client(endpoint: &str) -> *mut mondoo_client {
    let config = fixture_config();
    let url = cstr(endpoint);
    // SAFETY: live handles and valid out pointers; each freed once.
    unsafe {
        let mut options = null_mut();
        assert_eq!(code(raw::mondoo_client_options_new(&mut options)), Code::Ok);
        assert_eq!(code(raw::mondoo_client_options_set_api_endpoint(options, url.as_ptr())), Code::Ok);
        let mut client = null_mut();
        assert_eq!(code(raw::mondoo_client_new(config, options, &mut client)), Code::Ok);
        mondoo_client_options_free(options);
        mondoo_config_free(config);
        client
    }
}

/// The request body of `mondoo_client_call` is a buffer and a length, like a signed body:
/// bytes past the length are not read, a NUL inside it is not an end, NULL with length 0
/// is the empty request `{}`, NULL with a length is refused.
#[test]
fn a_call_body_is_a_buffer_with_a_length() {
    let platform = mondoo_platform::Platform::start(mondoo_platform::PlatformOptions::with_fixtures()).unwrap();
    let client = service_account_client(platform.url());
    let (svc, method) = (cstr("Echo"), cstr("Say"));
    let call = |body: *const u8, len: usize, out: &mut *mut c_char| {
        // SAFETY: a live client, C strings, and a body of at least `len` bytes (or NULL).
        unsafe { code(raw::mondoo_client_call(client, svc.as_ptr(), method.as_ptr(), body, len, out)) }
    };
    // only the first 13 bytes are the request; what follows is not read
    let buffer = b"{\"part\":true}{\"never\":\"read\"}";
    let mut out = null_mut();
    assert_eq!(call(buffer.as_ptr(), 13, &mut out), Code::Ok);
    let answer = take_string(out).unwrap();
    assert!(answer.contains("\"part\":true") && !answer.contains("never"), "{answer}");

    // a NUL byte inside the length is part of the body (and makes it not JSON), not its end
    let with_nul = b"{}\0{\"after\":1}";
    let mut out: *mut c_char = sentinel();
    expect_error(call(with_nul.as_ptr(), with_nul.len(), &mut out), Code::InvalidArgument, "request_json");
    assert_eq!(out, sentinel());

    // NULL with length 0: the empty request
    let mut out = null_mut();
    assert_eq!(call(null(), 0, &mut out), Code::Ok);
    let answer = take_string(out).unwrap();
    assert!(answer.contains("signed_by"), "{answer}");

    // NULL with a length: refused, output untouched
    let mut out: *mut c_char = sentinel();
    expect_error(call(null(), 5, &mut out), Code::NullParameter, "request_json");
    assert_eq!(out, sentinel());
    // SAFETY: freed once.
    unsafe { mondoo_client_free(client) };
}

/// The `_report` handles (registration, status, token info): their accessors read the
/// fields a C caller needs; NULL for the handle or the output is refused and leaves the
/// output untouched; their frees take NULL.
#[test]
fn the_report_handles_read_their_fields_and_refuse_null() {
    let platform = mondoo_platform::Platform::start(mondoo_platform::PlatformOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("mondoo.yml");
    let token = platform.mint_token(&mondoo_platform::TokenSpec::default()).unwrap();
    let (path, url, token) = (cstr(config_path.to_str().unwrap()), cstr(platform.url()), cstr(&token));
    // SAFETY: every pointer is valid or NULL; every handle is freed once.
    unsafe {
        let mut config = null_mut();
        assert_eq!(code(raw::mondoo_config_load_for_registration(path.as_ptr(), &mut config)), Code::Ok);
        let mut options = null_mut();
        assert_eq!(code(raw::mondoo_client_options_new(&mut options)), Code::Ok);
        assert_eq!(code(raw::mondoo_client_options_set_api_endpoint(options, url.as_ptr())), Code::Ok);
        let mut client = null_mut();
        assert_eq!(code(raw::mondoo_client_new(config, options, &mut client)), Code::Ok);
        mondoo_client_options_free(options);
        mondoo_config_free(config);

        let mut registration: *mut mondoo_registration = sentinel();
        expect_error(
            code(raw::mondoo_client_register_report(null(), token.as_ptr(), null(), null(), &mut registration)),
            Code::NullParameter,
            "client",
        );
        expect_error(
            code(raw::mondoo_client_register_report(client, token.as_ptr(), null(), null(), null_mut())),
            Code::NullParameter,
            "registration_out",
        );
        assert_eq!(registration, sentinel());
        assert_eq!(
            code(raw::mondoo_client_register_report(client, token.as_ptr(), null(), null(), &mut registration)),
            Code::Ok
        );

        // Registration: each text accessor, its value, and NULL for either pointer.
        type RegText = unsafe extern "C" fn(*const mondoo_registration, *mut *mut c_char) -> mondoo_result;
        let reg_texts: [(&str, RegText); 6] = [
            ("agent_mrn", raw::mondoo_registration_agent_mrn),
            ("service_account_mrn", raw::mondoo_registration_service_account_mrn),
            ("space_mrn", raw::mondoo_registration_space_mrn),
            ("api_endpoint", raw::mondoo_registration_api_endpoint),
            ("config_path", raw::mondoo_registration_config_path),
            ("to_json", raw::mondoo_registration_to_json),
        ];
        let mut fields = BTreeMap::new();
        for (name, f) in reg_texts {
            let mut s: *mut c_char = sentinel();
            expect_error(code(f(null(), &mut s)), Code::NullParameter, "registration");
            expect_error(code(f(registration, null_mut())), Code::NullParameter, "_out");
            assert_eq!(s, sentinel(), "{name} wrote its output on error");
            assert_eq!(code(f(registration, &mut s)), Code::Ok, "{name}");
            fields.insert(name, take_string(s));
        }
        let written = std::fs::read_to_string(&config_path).unwrap();
        let agent_mrn = fields["agent_mrn"].clone().unwrap();
        assert!(written.contains(&agent_mrn), "the agent MRN is the one written: {written}");
        let sa_mrn = fields["service_account_mrn"].clone().unwrap();
        assert!(written.contains(&sa_mrn), "{written}");
        assert_eq!(fields["space_mrn"].as_deref(), Some(mondoo_platform::FIXTURE_SPACE));
        assert_eq!(fields["api_endpoint"].as_deref(), Some(platform.url()));
        assert_eq!(fields["config_path"].as_deref(), config_path.to_str());
        let json: serde_json::Value = serde_json::from_str(fields["to_json"].as_deref().unwrap()).unwrap();
        assert_eq!(json["agent_mrn"], agent_mrn.as_str());
        let mut already = true;
        expect_error(
            code(raw::mondoo_registration_already_registered(null(), &mut already)),
            Code::NullParameter,
            "registration",
        );
        expect_error(
            code(raw::mondoo_registration_already_registered(registration, null_mut())),
            Code::NullParameter,
            "already_out",
        );
        assert!(already, "untouched on error");
        assert_eq!(code(raw::mondoo_registration_already_registered(registration, &mut already)), Code::Ok);
        assert!(!already, "a fresh registration");
        raw::mondoo_registration_free(registration);
        raw::mondoo_registration_free(null_mut());

        // Status of the registered client.
        let mut status: *mut mondoo_status = null_mut();
        assert_eq!(code(raw::mondoo_client_status_report(client, &mut status)), Code::Ok);
        type StatusFlag = unsafe extern "C" fn(*const mondoo_status, *mut bool) -> mondoo_result;
        for (name, f) in [
            ("registered", raw::mondoo_status_is_registered as StatusFlag),
            ("authenticated", raw::mondoo_status_is_authenticated),
        ] {
            let mut b = false;
            expect_error(code(f(null(), &mut b)), Code::NullParameter, "status");
            expect_error(code(f(status, null_mut())), Code::NullParameter, "_out");
            assert!(!b, "{name}: untouched on error");
            assert_eq!(code(f(status, &mut b)), Code::Ok);
            assert!(b, "{name}");
        }
        type StatusError = unsafe extern "C" fn(*const mondoo_status, *mut *mut mondoo_error) -> mondoo_result;
        for (name, f) in
            [("auth_error", raw::mondoo_status_auth_error as StatusError), ("api_error", raw::mondoo_status_api_error)]
        {
            let mut e: *mut mondoo_error = sentinel();
            expect_error(code(f(null(), &mut e)), Code::NullParameter, "status");
            expect_error(code(f(status, null_mut())), Code::NullParameter, "error_out");
            assert_eq!(e, sentinel(), "{name}: untouched on error");
            assert_eq!(code(f(status, &mut e)), Code::Ok);
            assert!(e.is_null(), "{name}: no error when authenticated");
        }
        type StatusNumber = unsafe extern "C" fn(*const mondoo_status, *mut f64) -> mondoo_result;
        for (name, f) in [
            ("clock_skew_seconds", raw::mondoo_status_clock_skew_seconds as StatusNumber),
            ("round_trip_ms", raw::mondoo_status_round_trip_ms),
        ] {
            let mut x = -12345.0;
            expect_error(code(f(null(), &mut x)), Code::NullParameter, "status");
            expect_error(code(f(status, null_mut())), Code::NullParameter, "_out");
            assert_eq!(x, -12345.0, "{name}: untouched on error");
            assert_eq!(code(f(status, &mut x)), Code::Ok);
            assert!(x.is_finite(), "{name} measured against the local platform: {x}");
        }
        type StatusText = unsafe extern "C" fn(*const mondoo_status, *mut *mut c_char) -> mondoo_result;
        for (f, expected) in [
            (raw::mondoo_status_api_endpoint as StatusText, platform.url()),
            (raw::mondoo_status_agent_mrn, agent_mrn.as_str()),
            (raw::mondoo_status_service_account_mrn, sa_mrn.as_str()),
            (raw::mondoo_status_space_mrn, mondoo_platform::FIXTURE_SPACE),
        ] {
            let mut s: *mut c_char = sentinel();
            expect_error(code(f(null(), &mut s)), Code::NullParameter, "status");
            expect_error(code(f(status, null_mut())), Code::NullParameter, "value_out");
            assert_eq!(s, sentinel());
            assert_eq!(code(f(status, &mut s)), Code::Ok);
            assert_eq!(take_string(s).as_deref(), Some(expected));
        }
        mondoo_status_free(status);

        // Token info.
        let token_text = std::fs::read_to_string(testdata("tokens/registration-valid.jwt")).unwrap();
        let fixture_token = cstr(token_text.trim());
        let mut info: *mut mondoo_token_info = sentinel();
        expect_error(code(raw::mondoo_token_inspect_report(null(), null(), &mut info)), Code::NullParameter, "token");
        expect_error(
            code(raw::mondoo_token_inspect_report(fixture_token.as_ptr(), null(), null_mut())),
            Code::NullParameter,
            "info_out",
        );
        assert_eq!(info, sentinel());
        assert_eq!(code(raw::mondoo_token_inspect_report(fixture_token.as_ptr(), null(), &mut info)), Code::Ok);
        type InfoText = unsafe extern "C" fn(*const mondoo_token_info, *mut *mut c_char) -> mondoo_result;
        let mut claims = BTreeMap::new();
        for (name, f) in [
            ("space", raw::mondoo_token_info_space_mrn as InfoText),
            ("api_endpoint", raw::mondoo_token_info_api_endpoint),
            ("description", raw::mondoo_token_info_description),
            ("labels_json", raw::mondoo_token_info_labels_json),
            ("to_json", raw::mondoo_token_info_to_json),
        ] {
            let mut s: *mut c_char = sentinel();
            expect_error(code(f(null(), &mut s)), Code::NullParameter, "info");
            expect_error(code(f(info, null_mut())), Code::NullParameter, "_out");
            assert_eq!(s, sentinel(), "{name}: untouched on error");
            assert_eq!(code(f(info, &mut s)), Code::Ok, "{name}");
            claims.insert(name, take_string(s));
        }
        // The same values as the JSON form, which the Rust API makes.
        let inspected = mondoo::RegistrationToken::inspect(token_text.trim(), None).unwrap();
        assert_eq!(claims["space"].as_deref(), inspected.claims().space_mrn.as_deref());
        assert_eq!(claims["api_endpoint"].as_deref(), Some(inspected.api_endpoint()));
        assert_eq!(claims["description"].as_deref(), inspected.claims().desc.as_deref());
        let labels: BTreeMap<String, String> = serde_json::from_str(claims["labels_json"].as_deref().unwrap()).unwrap();
        assert!(!labels.is_empty(), "the fixture token has labels");
        assert_eq!(labels, inspected.claims().labels);
        let json: serde_json::Value = serde_json::from_str(claims["to_json"].as_deref().unwrap()).unwrap();
        assert_eq!(json, inspected.to_json());
        assert!(!claims["to_json"].as_deref().unwrap().contains(token_text.trim()), "no token in the info");
        let mut exp = 7i64;
        expect_error(code(raw::mondoo_token_info_expires_at(null(), &mut exp)), Code::NullParameter, "info");
        expect_error(code(raw::mondoo_token_info_expires_at(info, null_mut())), Code::NullParameter, "_out");
        assert_eq!(exp, 7, "untouched on error");
        assert_eq!(code(raw::mondoo_token_info_expires_at(info, &mut exp)), Code::Ok);
        assert_eq!(Some(exp), inspected.claims().exp);
        raw::mondoo_token_info_free(info);
        raw::mondoo_token_info_free(null_mut());

        mondoo_client_free(client);
    }
}

/// A cancel handle crossing to another thread (documented as safe from any thread).
#[derive(Clone, Copy)]
struct SendCancel(*mut mondoo_cancel);
// SAFETY: mondoo_cancel_cancel is documented as safe from any thread.
unsafe impl Send for SendCancel {}

/// A cancel handle cancelled from other threads while a call waits on a slow answer:
/// the call ends with CANCELED well before the answer, later calls through the handle
/// send nothing, and the client without it works on. Cancelling from many threads at
/// once is fine.
#[test]
fn a_cancel_from_other_threads_ends_a_call_in_flight() {
    use mondoo_platform::{Fault, FaultSpec};
    let platform = mondoo_platform::Platform::start(mondoo_platform::PlatformOptions::with_fixtures()).unwrap();
    let client = service_account_client(platform.url());
    platform.inject(FaultSpec::new(Fault::Slow { millis: 3000 }).only("Echo/Say"));
    let (svc, method) = (cstr("Echo"), cstr("Say"));
    // SAFETY: live handles, valid out pointers, C strings; each handle freed once, the
    // cancel handle only after every thread using it was joined.
    unsafe {
        let mut cancel = null_mut();
        assert_eq!(code(raw::mondoo_cancel_new(&mut cancel)), Code::Ok);
        let mut derived = null_mut();
        assert_eq!(code(raw::mondoo_client_with_cancel(client, cancel, &mut derived)), Code::Ok);
        let shared = SendCancel(cancel);
        let cancellers: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    let shared = shared;
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    let at = std::time::Instant::now();
                    assert_eq!(code(raw::mondoo_cancel_cancel(shared.0)), Code::Ok);
                    at
                })
            })
            .collect();
        let mut out = sentinel::<c_char>();
        let result = code(raw::mondoo_client_call(derived, svc.as_ptr(), method.as_ptr(), null(), 0, &mut out));
        let returned = std::time::Instant::now();
        let first_cancel = cancellers.into_iter().map(|t| t.join().unwrap()).min().unwrap();
        let after = returned.saturating_duration_since(first_cancel);
        println!("call returned {after:?} after the cancel");
        assert_eq!(result, Code::Canceled);
        assert_eq!(out, sentinel::<c_char>(), "output untouched");
        assert!(after < std::time::Duration::from_secs(1), "returned {after:?} after the cancel");
        assert_eq!(last_error().0, Code::Canceled);
        assert!(raw::mondoo_cancel_is_cancelled(cancel));

        let sent = platform.requests().len();
        assert_eq!(code(raw::mondoo_client_checkin(derived)), Code::Canceled);
        assert_eq!(platform.requests().len(), sent, "a call on a cancelled handle sends nothing");
        raw::mondoo_cancel_free(cancel);
        assert_eq!(code(raw::mondoo_client_checkin(derived)), Code::Canceled, "the handle keeps the cancel");
        mondoo_client_free(derived);

        let mut answer = null_mut();
        assert_eq!(
            code(raw::mondoo_client_call(client, svc.as_ptr(), method.as_ptr(), null(), 0, &mut answer)),
            Code::Ok
        );
        assert!(take_string(answer).is_some());
        mondoo_client_free(client);
    }
}

#[test]
fn cancel_handles_refuse_null() {
    // SAFETY: NULL and valid out pointers only.
    unsafe {
        expect_error(code(raw::mondoo_cancel_new(null_mut())), Code::NullParameter, "cancel_out");
        expect_error(code(raw::mondoo_cancel_cancel(null())), Code::NullParameter, "cancel");
        assert!(!raw::mondoo_cancel_is_cancelled(null()));
        raw::mondoo_cancel_free(null_mut());
        let mut cancel = null_mut();
        assert_eq!(code(raw::mondoo_cancel_new(&mut cancel)), Code::Ok);
        let mut out = sentinel::<mondoo_client>();
        expect_error(code(raw::mondoo_client_with_cancel(null(), cancel, &mut out)), Code::NullParameter, "client");
        assert_eq!(out, sentinel::<mondoo_client>());
        raw::mondoo_cancel_free(cancel);
    }
}

/// The class of every code is the core's (one table for all bindings).
#[test]
fn result_class_is_the_cores() {
    for code in Code::ALL {
        // SAFETY: a plain value call.
        let class = unsafe { raw::mondoo_result_class(code.value()) };
        assert_eq!(class, code.class() as u32, "{code:?}");
    }
    // SAFETY: as above.
    assert_eq!(unsafe { raw::mondoo_result_class(77) }, mondoo::ErrorClass::Internal as u32);
}
