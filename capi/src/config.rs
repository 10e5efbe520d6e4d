//! `mondoo_config`: a loaded configuration and its fields.

use std::ffi::c_char;
use std::path::{Path, PathBuf};

use crate::boundary::{c_string, guard, guard_value, json_string, opt_str_arg, path_string, str_arg, Out};
use crate::handle::{as_ref, BoxHandle, Handle};
use mondoo::{Code, Config, Error, LoadOptions};

/// A loaded configuration (a service account's credentials or an agent config).
///
/// Made by `mondoo_config_load`, freed by `mondoo_config_free`. Immutable once loaded:
/// any number of threads may read it at the same time.
pub struct mondoo_config {
    _private: [u8; 0],
}

impl Handle for mondoo_config {
    type Target = Config;
}
impl BoxHandle for mondoo_config {}

/// Load a configuration.
///
/// `path`: the file to read (YAML or JSON), or NULL for the default search, which is
/// the Go client's: `MONDOO_CONFIG_BASE64`, then `MONDOO_CONFIG_PATH`, then the home
/// file, then the system file. When nothing is found the result is an empty,
/// unregistered config (not an error). A `path` given explicitly must exist; an empty
/// `path` ("") is `MONDOO_RESULT_INVALID_ARGUMENT`, never the default search.
///
/// Ownership: `path` is borrowed for the call (the config keeps its own copy). On success
/// `*config_out` is a new config owned by the caller, freed with `mondoo_config_free`.
/// Errors: `MONDOO_RESULT_CONFIG_NOT_FOUND` / `_CONFIG_PARSE` / `_CONFIG_UNSUPPORTED_AUTH`
/// and the other configuration codes, with the file in `mondoo_error_path`;
/// `MONDOO_RESULT_INVALID_UTF8` for a path that is not UTF-8; `_NULL_PARAMETER` when
/// `config_out` is NULL. On error `*config_out` is not written and the thread's last
/// error is set.
/// Thread safety: safe to call from any thread (it reads the process environment).
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_load(path: *const c_char, config_out: *mut *mut mondoo_config) -> Code {
    guard("mondoo_config_load", || {
        let out = Out::new(config_out, "config_out")?;
        let path = opt_str_arg(path, "path")?;
        let config = Config::load(path.map(Path::new))?;
        out.write(mondoo_config::into_raw(config));
        Ok(())
    })
}

/// Load the config a registration starts from (`cnspec login`): like
/// `mondoo_config_load`, except that a missing file (`path`, or `$MONDOO_CONFIG_PATH`
/// when `path` is NULL) is not an error: the result is an empty config that
/// `mondoo_client_register` writes there (creating missing directories 0700). With
/// `MONDOO_CONFIG_BASE64` set and a `path` given, registration writes to `path`.
///
/// Ownership: `path` (or NULL) is borrowed for the call (the config keeps its own copy).
/// On success `*config_out` is a new config owned by the caller, freed with
/// `mondoo_config_free`.
/// Errors: as `mondoo_config_load` (`MONDOO_RESULT_INVALID_UTF8` for a `path` that is not
/// UTF-8, `_INVALID_ARGUMENT` for an empty one, `_NULL_PARAMETER` when `config_out` is
/// NULL, the configuration codes), without
/// `MONDOO_RESULT_CONFIG_NOT_FOUND` for the file registration will create. On error
/// `*config_out` is not written and the last error is set.
/// Thread safety: safe to call from any thread (it reads the process environment).
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_load_for_registration(
    path: *const c_char,
    config_out: *mut *mut mondoo_config,
) -> Code {
    guard("mondoo_config_load_for_registration", || {
        let out = Out::new(config_out, "config_out")?;
        let path = opt_str_arg(path, "path")?;
        let mut options = LoadOptions::new();
        options.path = path.map(PathBuf::from);
        let config = Config::for_registration(&options)?;
        out.write(mondoo_config::into_raw(config));
        Ok(())
    })
}

/// Free a config. NULL is a no-op; freeing twice is undefined behaviour.
///
/// Ownership: takes `config`; it must not be used after this call. Signers and clients
/// made from it keep their own copy, so they stay valid.
/// Errors: none: returns nothing and leaves the last error alone.
/// Thread safety: no other thread may use `config` during or after this call.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_free(config: *mut mondoo_config) {
    guard_value("mondoo_config_free", || drop(mondoo_config::from_raw(config)))
}

/// One optional text field of a config into `*out`; NULL (and OK) when absent.
unsafe fn optional_field(
    name: &'static str,
    config: *const mondoo_config,
    out: *mut *mut c_char,
    field: &'static str,
    read: impl FnOnce(&Config) -> Option<String>,
) -> Code {
    guard(name, || {
        let out = Out::new(out, "value_out")?;
        let config = as_ref(config, "config")?;
        let value =
            read(config).map(|v| c_string(v, field, Code::ConfigInvalid)).transpose().map_err(|e| config.locate(e))?;
        out.write_opt_string(value);
        Ok(())
    })
}

/// The service account's MRN (the config key `mrn`).
///
/// Ownership: `config` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL when the config has
/// no such field (absence is not an error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `value_out`;
/// `_CONFIG_INVALID` when the value holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_service_account_mrn(
    config: *const mondoo_config,
    value_out: *mut *mut c_char,
) -> Code {
    optional_field("mondoo_config_service_account_mrn", config, value_out, "mrn", Config::service_account_mrn)
}

/// The agent's MRN (`agent_mrn`); set once the machine is registered as an agent.
///
/// Ownership: `config` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL when the config has
/// no agent MRN (absence is not an error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `value_out`;
/// `_CONFIG_INVALID` when the value holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_agent_mrn(config: *const mondoo_config, value_out: *mut *mut c_char) -> Code {
    optional_field("mondoo_config_agent_mrn", config, value_out, "agent_mrn", Config::agent_mrn)
}

/// The API endpoint, normalized (`https://` added when the config has no scheme);
/// `https://us.api.mondoo.com` when the config names none.
///
/// Ownership: `config` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`); never NULL on
/// success.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `value_out`;
/// `_CONFIG_INVALID` when the value holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_api_endpoint(config: *const mondoo_config, value_out: *mut *mut c_char) -> Code {
    optional_field("mondoo_config_api_endpoint", config, value_out, "api_endpoint", |c| Some(c.api_endpoint()))
}

/// The space (or organization) of the account: the config key `scope_mrn`, else
/// `space_mrn`, else `parent_mrn`.
///
/// Ownership: `config` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL when the config names
/// no scope (absence is not an error).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `value_out`;
/// `_CONFIG_INVALID` when the value holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_space_mrn(config: *const mondoo_config, value_out: *mut *mut c_char) -> Code {
    optional_field("mondoo_config_space_mrn", config, value_out, "scope_mrn", Config::space_mrn)
}

/// Where the config came from, as status prints it: `$MONDOO_CONFIG_BASE64`,
/// `--config` (an explicit path), `$MONDOO_CONFIG_PATH`, `default` (home or system
/// file) or `none` (nothing found).
///
/// Ownership: `config` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`); never NULL on
/// success.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `value_out`;
/// `_CONFIG_INVALID` when the value holds a NUL byte. On error `*value_out` is not
/// written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_source(config: *const mondoo_config, value_out: *mut *mut c_char) -> Code {
    optional_field("mondoo_config_source", config, value_out, "source", |c| Some(c.source().as_str().to_owned()))
}

/// The file the config was read from (or that registration would write). On Unix the
/// bytes are the path's exact bytes.
///
/// Ownership: `config` is borrowed for the call. On success `*value_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`), or NULL when there is no file
/// (`MONDOO_CONFIG_BASE64`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `value_out` (on
/// Windows also `_INVALID_UTF8` for a path that is not Unicode). On error `*value_out`
/// is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_path(config: *const mondoo_config, value_out: *mut *mut c_char) -> Code {
    guard("mondoo_config_path", || {
        let out = Out::new(value_out, "value_out")?;
        let config = as_ref(config, "config")?;
        let path = config.path().map(|p| path_string(p, "config path")).transpose()?;
        out.write_opt_string(path);
        Ok(())
    })
}

/// Any field by key (case-insensitive; environment overrides applied; scalars as
/// text). `private_key` and `token` are refused: secrets never leave libmondoo.
///
/// Ownership: `config` and `key` are borrowed for the call (`key` is not kept). On
/// success `*value_out` is a new string owned by the caller (free it with
/// `mondoo_string_free`), or NULL when the key is absent.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config`, `key` or `value_out`;
/// `_INVALID_UTF8` for a `key` that is not UTF-8; `_INVALID_ARGUMENT` for the secrets
/// `private_key` and `token`; `_CONFIG_INVALID` when the value holds a NUL byte. On
/// error `*value_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_get(
    config: *const mondoo_config,
    key: *const c_char,
    value_out: *mut *mut c_char,
) -> Code {
    guard("mondoo_config_get", || {
        let out = Out::new(value_out, "value_out")?;
        let config = as_ref(config, "config")?;
        let key = str_arg(key, "key")?;
        if key.trim().eq_ignore_ascii_case("private_key") {
            return Err(Error::new(
                Code::InvalidArgument,
                "the private key cannot be read through libmondoo (sign with a mondoo_signer instead)",
            ));
        }
        if key.trim().eq_ignore_ascii_case("token") {
            return Err(Error::new(
                Code::InvalidArgument,
                "the service account's static token cannot be read through libmondoo (the client sends it)",
            ));
        }
        let value = config
            .get(key)
            .map(|v| c_string(v, "config value", Code::ConfigInvalid))
            .transpose()
            .map_err(|e| config.locate(e))?;
        out.write_opt_string(value);
        Ok(())
    })
}

/// Whether the config holds a service account: a non-empty `mrn` with a non-empty
/// `private_key` or a static `token`.
///
/// Ownership: `config` is borrowed for the call; on success `*registered_out` (a `bool`
/// of the caller's) is written; nothing is allocated.
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `registered_out`
/// (`*registered_out` is then not written and the last error is set).
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_is_registered(config: *const mondoo_config, registered_out: *mut bool) -> Code {
    guard("mondoo_config_is_registered", || {
        let out = Out::new(registered_out, "registered_out")?;
        out.write(as_ref(config, "config")?.is_registered());
        Ok(())
    })
}

/// The whole config as a JSON object, with `private_key` and `token` replaced by
/// `"<redacted>"`.
///
/// Ownership: `config` is borrowed for the call. On success `*json_out` is a new string
/// owned by the caller (free it with `mondoo_string_free`).
/// Errors: `MONDOO_RESULT_NULL_PARAMETER` for a NULL `config` or `json_out`. On error
/// `*json_out` is not written and the last error is set.
/// Thread safety: safe to call concurrently on the same config.
#[no_mangle]
pub unsafe extern "C" fn mondoo_config_to_json(config: *const mondoo_config, json_out: *mut *mut c_char) -> Code {
    guard("mondoo_config_to_json", || {
        let out = Out::new(json_out, "json_out")?;
        let json = json_string(&as_ref(config, "config")?.redacted_json())?;
        out.write_string(json);
        Ok(())
    })
}
