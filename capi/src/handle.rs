//! Opaque handles: each C-visible struct is tied to the Rust type behind it and to how it
//! is owned, so passing the wrong handle or freeing it the wrong way does not compile.
//!
//! * [`BoxHandle`]: one owner (`Box`), e.g. a config or an options builder.
//! * [`ArcHandle`]: shareable across threads (`Arc`), e.g. a signer or a client.
//!
//! Both kinds point at the Rust value itself, so [`as_ref`] reads either. The structs
//! are declared by hand (`pub struct mondoo_x { _private: [u8; 0] }`) where they are
//! used, because cbindgen does not expand macros.

use std::sync::Arc;

use crate::boundary::null_parameter;
use mondoo::Result;

/// A C handle type standing for `Self::Target`.
pub(crate) trait Handle: Sized {
    type Target;
}

/// A handle owned through a `Box`.
pub(crate) trait BoxHandle: Handle {
    fn into_raw(value: Self::Target) -> *mut Self {
        Box::into_raw(Box::new(value)).cast()
    }

    /// Take ownership back (NULL gives `None`).
    ///
    /// # Safety
    /// `ptr` is NULL or came from [`BoxHandle::into_raw`] of this type and was not freed.
    unsafe fn from_raw(ptr: *mut Self) -> Option<Box<Self::Target>> {
        (!ptr.is_null()).then(|| Box::from_raw(ptr.cast::<Self::Target>()))
    }
}

/// A handle owned through an `Arc`; its target must be shareable across threads.
pub(crate) trait ArcHandle: Handle
where
    Self::Target: Send + Sync,
{
    fn into_raw(value: Arc<Self::Target>) -> *mut Self {
        Arc::into_raw(value).cast_mut().cast()
    }

    /// Release the handle's reference (NULL gives `None`).
    ///
    /// # Safety
    /// `ptr` is NULL or came from [`ArcHandle::into_raw`] of this type and was not freed.
    unsafe fn from_raw(ptr: *mut Self) -> Option<Arc<Self::Target>> {
        (!ptr.is_null()).then(|| Arc::from_raw(ptr.cast_const().cast::<Self::Target>()))
    }
}

/// Borrow the value behind a handle; NULL fails naming `param`.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `H` that outlives `'a`.
pub(crate) unsafe fn as_ref<'a, H: Handle>(ptr: *const H, param: &'static str) -> Result<&'a H::Target> {
    ptr.cast::<H::Target>().as_ref().ok_or_else(|| null_parameter(param))
}

/// Borrow a single-owner handle mutably; NULL fails naming `param`.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `H`, not used by anyone else meanwhile.
pub(crate) unsafe fn as_mut<'a, H: BoxHandle>(ptr: *mut H, param: &'static str) -> Result<&'a mut H::Target> {
    ptr.cast::<H::Target>().as_mut().ok_or_else(|| null_parameter(param))
}
