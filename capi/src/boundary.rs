//! The panic boundary and argument checks every export goes through.
//!
//! Each `extern "C"` function runs its body inside [`guard`] (fallible functions) or
//! [`guard_value`] (frees and accessors), so a panic never unwinds into C: it becomes
//! `MONDOO_RESULT_PANIC` (or the accessor's neutral value) with a last error saying where.
//! The helpers below turn C arguments into Rust ones and fail with a code that names
//! the parameter, before any work is done.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::last_error;
use mondoo::{Code, Error, Result};

/// Run a fallible export: clear the thread's last error, run `body`, and turn its error
/// or panic into a result code with the last error set. `name` is the export's name,
/// used to prefix caller mistakes (NULL, bad UTF-8, bad argument) and panics.
pub(crate) fn guard(name: &'static str, body: impl FnOnce() -> Result<()>) -> Code {
    last_error::clear();
    // AssertUnwindSafe: after a panic nothing of the body's state is used again; the
    // handles it touched are only read (or are the caller's to free).
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => Code::Ok,
        Ok(Err(err)) => {
            let code = err.code();
            let err = match code {
                Code::NullParameter | Code::InvalidUtf8 | Code::InvalidArgument => err.context(name),
                _ => err,
            };
            last_error::set(err);
            code
        }
        Err(payload) => {
            last_error::set(panic_error(name, payload));
            Code::Panic
        }
    }
}

/// What an infallible export (a free function or an accessor) returns when its body
/// panicked.
pub(crate) trait PanicValue {
    fn panic_value() -> Self;
}

impl PanicValue for () {
    fn panic_value() {}
}
impl<T> PanicValue for *const T {
    fn panic_value() -> Self {
        std::ptr::null()
    }
}
impl<T> PanicValue for *mut T {
    fn panic_value() -> Self {
        std::ptr::null_mut()
    }
}
impl PanicValue for i32 {
    fn panic_value() -> Self {
        -1
    }
}
impl PanicValue for f64 {
    fn panic_value() -> Self {
        f64::NAN
    }
}
impl PanicValue for bool {
    fn panic_value() -> Self {
        false
    }
}
impl PanicValue for mondoo::ErrorClass {
    fn panic_value() -> Self {
        mondoo::ErrorClass::Internal
    }
}
impl PanicValue for Code {
    fn panic_value() -> Self {
        Code::Panic
    }
}

/// Run an export that cannot fail (frees, accessors). It leaves the last error alone,
/// except that a panic sets it.
pub(crate) fn guard_value<R: PanicValue>(name: &'static str, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            last_error::set(panic_error(name, payload));
            R::panic_value()
        }
    }
}

fn panic_error(name: &'static str, payload: Box<dyn std::any::Any + Send>) -> Error {
    let detail = if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_owned()
    };
    // A payload whose Drop panics again must not escape either.
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    Error::new(Code::Panic, format!("{name}: internal error (panic): {detail}"))
}

/// A required C string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, param: &'static str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(null_parameter(param));
    }
    let bytes = CStr::from_ptr(ptr);
    bytes.to_str().map_err(|e| {
        Error::new(
            Code::InvalidUtf8,
            format!("parameter `{param}` is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        )
    })
}

/// An optional C string argument: NULL means absent.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, param: &'static str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        str_arg(ptr, param).map(Some)
    }
}

/// A byte buffer given as pointer and length; the pointer may be NULL only when the
/// length is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes valid for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize, param: &'static str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::new(
            Code::NullParameter,
            format!("parameter `{param}` is NULL but its length is {len} (NULL is allowed only with length 0)"),
        ));
    }
    if len > isize::MAX as usize {
        return Err(Error::new(Code::InvalidArgument, format!("parameter `{param}`: length {len} is too large")));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

pub(crate) fn null_parameter(param: &'static str) -> Error {
    Error::new(Code::NullParameter, format!("parameter `{param}` is NULL"))
}

/// An out-parameter: checked for NULL up front, written once, on success only.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// # Safety
    /// `ptr` is NULL or valid for one write of `T` (its current content may be
    /// uninitialized: it is never read or dropped).
    pub(crate) unsafe fn new(ptr: *mut T, param: &'static str) -> Result<Out<T>> {
        NonNull::new(ptr).map(Out).ok_or_else(|| null_parameter(param))
    }

    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL and writable by the contract of `new`.
        unsafe { self.0.as_ptr().write(value) }
    }
}

impl Out<*mut c_char> {
    /// Write an owned copy of `value` (freed with `mondoo_string_free`).
    pub(crate) fn write_string(self, value: CString) {
        self.write(value.into_raw())
    }

    /// Write an owned copy of `value`, or NULL when absent.
    pub(crate) fn write_opt_string(self, value: Option<CString>) {
        self.write(value.map_or(std::ptr::null_mut(), CString::into_raw))
    }
}

/// A Rust string as a C string. A value holding a NUL byte cannot be one; it fails with
/// `code` and a message naming `what` instead of being cut short.
pub(crate) fn c_string(value: impl Into<Vec<u8>>, what: &str, code: Code) -> Result<CString> {
    CString::new(value).map_err(|e| {
        Error::new(
            code,
            format!("{what} contains a NUL byte at offset {} and cannot be returned as a C string", e.nul_position()),
        )
    })
}

/// A JSON value as a C string (serde_json escapes NUL, so this cannot fail on content).
pub(crate) fn json_string(value: &serde_json::Value) -> Result<CString> {
    let text = serde_json::to_string(value)
        .map_err(|e| Error::new(Code::InvalidArgument, format!("value cannot be serialized as JSON: {e}")))?;
    c_string(text, "JSON text", Code::InvalidArgument)
}

/// A path as a C string: the exact bytes on Unix, where paths need not be UTF-8.
pub(crate) fn path_string(path: &std::path::Path, what: &str) -> Result<CString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        c_string(path.as_os_str().as_bytes(), what, Code::InvalidArgument)
    }
    #[cfg(not(unix))]
    {
        let s = path
            .to_str()
            .ok_or_else(|| Error::new(Code::InvalidUtf8, format!("{what} is not valid UTF-8")).with_path(path))?;
        c_string(s, what, Code::InvalidArgument)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take_last() -> Option<Error> {
        let e = crate::last_error::mondoo_error_last();
        if e.is_null() {
            return None;
        }
        let code = unsafe { crate::last_error::mondoo_error_code(e) };
        let msg = unsafe { CStr::from_ptr(crate::last_error::mondoo_error_message(e)) }.to_string_lossy().into_owned();
        unsafe { crate::last_error::mondoo_error_free(e) };
        Some(Error::new(code, msg))
    }

    #[test]
    fn a_panic_becomes_the_panic_code_with_a_message() {
        let code = guard("mondoo_test_export", || panic!("boom {}", 42));
        assert_eq!(code, Code::Panic);
        let e = take_last().expect("last error set");
        assert_eq!(e.code(), Code::Panic);
        assert!(e.message().contains("mondoo_test_export") && e.message().contains("boom 42"), "{e:?}");

        let p: *const u8 = guard_value("mondoo_test_accessor", || panic!("static"));
        assert!(p.is_null());
        assert!(take_last().unwrap().message().contains("mondoo_test_accessor"));
    }

    #[test]
    fn caller_mistakes_name_the_export_and_success_clears_the_last_error() {
        let code = guard("mondoo_test_export", || {
            unsafe { str_arg(std::ptr::null(), "token") }?;
            Ok(())
        });
        assert_eq!(code, Code::NullParameter);
        assert_eq!(take_last().unwrap().message(), "mondoo_test_export: parameter `token` is NULL");

        // A library error keeps its message as it is.
        assert_eq!(guard("x", || Err(Error::new(Code::TokenExpired, "expired"))), Code::TokenExpired);
        assert_eq!(guard("y", || Ok(())), Code::Ok);
        assert!(take_last().is_none(), "a success clears the previous error");
    }

    #[test]
    fn bytes_allow_null_only_when_empty() {
        assert_eq!(unsafe { bytes_arg(std::ptr::null(), 0, "body") }.unwrap(), &[] as &[u8]);
        let e = unsafe { bytes_arg(std::ptr::null(), 3, "body") }.unwrap_err();
        assert_eq!(e.code(), Code::NullParameter);
        let data = [0u8, 1, 0];
        assert_eq!(unsafe { bytes_arg(data.as_ptr(), 3, "body") }.unwrap(), &data);
    }

    #[test]
    fn invalid_utf8_names_the_parameter_and_offset() {
        let bad = b"ab\xffc\0";
        let e = unsafe { str_arg(bad.as_ptr().cast(), "path") }.unwrap_err();
        assert_eq!(e.code(), Code::InvalidUtf8);
        assert!(e.message().contains("`path`") && e.message().contains("offset 2"), "{e:?}");
    }

    #[test]
    fn strings_with_nul_are_refused_not_cut() {
        assert_eq!(c_string("a\0b", "value", Code::ConfigInvalid).unwrap_err().code(), Code::ConfigInvalid);
        assert_eq!(c_string("ab", "value", Code::ConfigInvalid).unwrap().as_bytes(), b"ab");
    }
}
