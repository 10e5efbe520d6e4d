//! The C ABI misused from Rust (issue 7, point 4; the C tests under ASan/UBSan/Valgrind
//! are separate): NULL for each pointer argument, text that is not UTF-8, empty and
//! 100 MiB bodies, a zero-length buffer, one handle used from many threads. Each call
//! returns its result code (and sets the last error), or works; none crashes, and on
//! error the output is left untouched.

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
        pub fn mondoo_config_mrn(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_agent_mrn(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_api_endpoint(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
        pub fn mondoo_config_scope_mrn(c: *const mondoo_config, out: *mut *mut c_char) -> mondoo_result;
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
            req: *const c_char,
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
                "mondoo_config_mrn",
                raw::mondoo_config_mrn as unsafe extern "C" fn(*const mondoo_config, *mut *mut c_char) -> mondoo_result,
            ),
            ("mondoo_config_agent_mrn", raw::mondoo_config_agent_mrn),
            ("mondoo_config_api_endpoint", raw::mondoo_config_api_endpoint),
            ("mondoo_config_scope_mrn", raw::mondoo_config_scope_mrn),
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
            code(raw::mondoo_client_call(null(), svc.as_ptr(), svc.as_ptr(), req.as_ptr(), &mut s)),
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
        mondoo::signer::verify(&text, body, &cert, now).unwrap();
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
                        assert_eq!(code(raw::mondoo_config_mrn(shared.0, &mut mrn)), Code::Ok);
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
