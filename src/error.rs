//! One error type for the whole library.
//!
//! Every failure is an [`Error`]: a [`Code`] (stable, grouped, shared with the C ABI's
//! `mondoo_result`), a message that names what is wrong and where, and the structured
//! fields a caller may need (rpc code, HTTP status, config path, measured clock skew), so
//! no caller ever has to parse a message. Messages never contain key material or tokens:
//! constructors take descriptions, never secrets.

use std::fmt;
use std::path::{Path, PathBuf};

/// Result codes, grouped by area in blocks of a thousand. Values are stable and never
/// reused: a retired code stays reserved. `Code` is also the C ABI's `mondoo_result`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// Success (the C ABI's `MONDOO_OK`).
    Ok = 0,

    // 1000: caller and internal errors.
    /// A required pointer argument was null (C ABI).
    NullParameter = 1001,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 1002,
    /// A bug: the library panicked; the call was stopped at the boundary.
    Panic = 1003,
    /// An argument is out of range or malformed.
    InvalidArgument = 1004,
    /// Reading or writing a file failed.
    Io = 1005,

    // 2000: configuration.
    /// The config file that was asked for does not exist.
    ConfigNotFound = 2001,
    /// The config document does not parse (YAML or JSON).
    ConfigParse = 2002,
    /// The config parses but a value is wrong or missing.
    ConfigInvalid = 2003,
    /// The config's `auth` method is one libmondoo does not support.
    ConfigUnsupportedAuth = 2004,
    /// The config source is one libmondoo does not support (e.g. AWS SSM).
    ConfigUnsupportedSource = 2005,
    /// The config cannot be written where it has to be.
    ConfigNotWritable = 2006,
    /// The config document is larger than the limit.
    ConfigTooLarge = 2007,
    /// The config holds no credentials.
    NotRegistered = 2008,

    // 3000: registration tokens.
    /// The registration token is not a JWT.
    TokenMalformed = 3001,
    /// The registration token has expired.
    TokenExpired = 3002,
    /// The registration token is not valid yet.
    TokenNotYetValid = 3003,
    /// The registration token names no space.
    TokenNoSpace = 3004,
    /// Neither the token nor the caller names an API endpoint.
    TokenNoEndpoint = 3005,
    /// A claim of the registration token has the wrong type or value.
    TokenInvalidClaim = 3006,
    /// The registration token is larger than the limit.
    TokenTooLarge = 3007,

    // 4000: keys, certificates, signing, keyless exchanges.
    /// The private key does not parse.
    KeyInvalid = 4001,
    /// The private key is on a curve the platform does not accept.
    KeyWrongCurve = 4002,
    /// The private key is of a type the platform does not accept.
    KeyUnsupportedType = 4003,
    /// The private key is encrypted.
    KeyEncrypted = 4004,
    /// The certificate is not the private key's.
    KeyCertificateMismatch = 4005,
    /// The certificate does not parse.
    CertificateInvalid = 4006,
    /// Signing failed.
    SigningFailed = 4007,
    /// A bearer token does not verify.
    BearerInvalid = 4008,
    /// Keyless SSH: no ssh-agent (`SSH_AUTH_SOCK` unset, or nothing answers there).
    SshAgentUnavailable = 4009,
    /// Keyless SSH: the ssh-agent holds no keys.
    SshAgentNoKeys = 4010,
    /// Keyless SSH: no key the ssh-agent holds is authorized for the identity.
    SshKeyUnknown = 4011,
    /// Workload identity: the identity token has expired.
    IdentityTokenExpired = 4012,
    /// Workload identity: the identity token is for another audience.
    IdentityTokenAudience = 4013,
    /// Workload identity: no identity token could be found or fetched.
    IdentityTokenUnavailable = 4014,
    /// The SecureTokenService refused the exchange.
    ExchangeRefused = 4015,
    /// Keyless SSH: the platform refused the claims, and its clock differs from the local
    /// one by more than their time window allows (fix the local clock).
    ExchangeClockSkew = 4016,

    // 5000: network, TLS, proxy.
    /// The connection failed or broke.
    Network = 5001,
    /// The operation ran out of time.
    Timeout = 5002,
    /// The TLS handshake or certificate check failed.
    Tls = 5003,
    /// The proxy is malformed or refused the connection.
    Proxy = 5004,
    /// The host name does not resolve.
    Dns = 5005,
    /// The response is larger than the limit.
    ResponseTooLarge = 5006,
    /// The response is not what the protocol says.
    ResponseInvalid = 5007,
    /// The endpoint is `http://` and not loopback while TLS is required.
    InsecureEndpoint = 5008,
    /// the caller cancelled the operation (its cancel token); not the platform's RPC_CANCELED
    Canceled = 5009,

    // 6000 + gRPC code: an error answered by the platform.
    /// The platform answered gRPC `CANCELED`.
    RpcCanceled = 6001,
    /// The platform answered gRPC `UNKNOWN`.
    RpcUnknown = 6002,
    /// The platform answered gRPC `INVALID_ARGUMENT`.
    RpcInvalidArgument = 6003,
    /// The platform answered gRPC `DEADLINE_EXCEEDED`.
    RpcDeadlineExceeded = 6004,
    /// The platform answered gRPC `NOT_FOUND`.
    RpcNotFound = 6005,
    /// The platform answered gRPC `ALREADY_EXISTS`.
    RpcAlreadyExists = 6006,
    /// The platform answered gRPC `PERMISSION_DENIED`.
    RpcPermissionDenied = 6007,
    /// The platform answered gRPC `RESOURCE_EXHAUSTED`.
    RpcResourceExhausted = 6008,
    /// The platform answered gRPC `FAILED_PRECONDITION`.
    RpcFailedPrecondition = 6009,
    /// The platform answered gRPC `ABORTED`.
    RpcAborted = 6010,
    /// The platform answered gRPC `OUT_OF_RANGE`.
    RpcOutOfRange = 6011,
    /// The platform answered gRPC `UNIMPLEMENTED`.
    RpcUnimplemented = 6012,
    /// The platform answered gRPC `INTERNAL`.
    RpcInternal = 6013,
    /// The platform answered gRPC `UNAVAILABLE`.
    RpcUnavailable = 6014,
    /// The platform answered gRPC `DATA_LOSS`.
    RpcDataLoss = 6015,
    /// The platform answered gRPC `UNAUTHENTICATED`.
    RpcUnauthenticated = 6016,

    // 7000: the Platform API (GraphQL).
    /// The Platform API answered with `errors` (and the caller did not accept partial
    /// data).
    GraphqlErrors = 7001,
}

impl Code {
    /// Every code, in value order (for tests and for bindings that map each to a class).
    pub const ALL: &'static [Code] = &[
        Code::Ok,
        Code::NullParameter,
        Code::InvalidUtf8,
        Code::Panic,
        Code::InvalidArgument,
        Code::Io,
        Code::ConfigNotFound,
        Code::ConfigParse,
        Code::ConfigInvalid,
        Code::ConfigUnsupportedAuth,
        Code::ConfigUnsupportedSource,
        Code::ConfigNotWritable,
        Code::ConfigTooLarge,
        Code::NotRegistered,
        Code::TokenMalformed,
        Code::TokenExpired,
        Code::TokenNotYetValid,
        Code::TokenNoSpace,
        Code::TokenNoEndpoint,
        Code::TokenInvalidClaim,
        Code::TokenTooLarge,
        Code::KeyInvalid,
        Code::KeyWrongCurve,
        Code::KeyUnsupportedType,
        Code::KeyEncrypted,
        Code::KeyCertificateMismatch,
        Code::CertificateInvalid,
        Code::SigningFailed,
        Code::BearerInvalid,
        Code::SshAgentUnavailable,
        Code::SshAgentNoKeys,
        Code::SshKeyUnknown,
        Code::IdentityTokenExpired,
        Code::IdentityTokenAudience,
        Code::IdentityTokenUnavailable,
        Code::ExchangeRefused,
        Code::ExchangeClockSkew,
        Code::Network,
        Code::Timeout,
        Code::Tls,
        Code::Proxy,
        Code::Dns,
        Code::ResponseTooLarge,
        Code::ResponseInvalid,
        Code::InsecureEndpoint,
        Code::Canceled,
        Code::RpcCanceled,
        Code::RpcUnknown,
        Code::RpcInvalidArgument,
        Code::RpcDeadlineExceeded,
        Code::RpcNotFound,
        Code::RpcAlreadyExists,
        Code::RpcPermissionDenied,
        Code::RpcResourceExhausted,
        Code::RpcFailedPrecondition,
        Code::RpcAborted,
        Code::RpcOutOfRange,
        Code::RpcUnimplemented,
        Code::RpcInternal,
        Code::RpcUnavailable,
        Code::RpcDataLoss,
        Code::RpcUnauthenticated,
        Code::GraphqlErrors,
    ];

    /// The stable number (the C ABI's `mondoo_result`).
    pub fn value(self) -> u32 {
        self as u32
    }

    /// The code with this number; `None` for an unknown one.
    pub fn from_value(value: u32) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.value() == value)
    }

    /// The code's name in the C ABI's `mondoo_result` enum (`MONDOO_RESULT_TOKEN_EXPIRED`),
    /// the one table every binding reads. Spelled out so the names match the header's enum
    /// exactly; a test checks each against the header.
    pub fn c_name(self) -> &'static std::ffi::CStr {
        match self {
            Code::Ok => c"MONDOO_RESULT_OK",
            Code::NullParameter => c"MONDOO_RESULT_NULL_PARAMETER",
            Code::InvalidUtf8 => c"MONDOO_RESULT_INVALID_UTF8",
            Code::Panic => c"MONDOO_RESULT_PANIC",
            Code::InvalidArgument => c"MONDOO_RESULT_INVALID_ARGUMENT",
            Code::Io => c"MONDOO_RESULT_IO",
            Code::ConfigNotFound => c"MONDOO_RESULT_CONFIG_NOT_FOUND",
            Code::ConfigParse => c"MONDOO_RESULT_CONFIG_PARSE",
            Code::ConfigInvalid => c"MONDOO_RESULT_CONFIG_INVALID",
            Code::ConfigUnsupportedAuth => c"MONDOO_RESULT_CONFIG_UNSUPPORTED_AUTH",
            Code::ConfigUnsupportedSource => c"MONDOO_RESULT_CONFIG_UNSUPPORTED_SOURCE",
            Code::ConfigNotWritable => c"MONDOO_RESULT_CONFIG_NOT_WRITABLE",
            Code::ConfigTooLarge => c"MONDOO_RESULT_CONFIG_TOO_LARGE",
            Code::NotRegistered => c"MONDOO_RESULT_NOT_REGISTERED",
            Code::TokenMalformed => c"MONDOO_RESULT_TOKEN_MALFORMED",
            Code::TokenExpired => c"MONDOO_RESULT_TOKEN_EXPIRED",
            Code::TokenNotYetValid => c"MONDOO_RESULT_TOKEN_NOT_YET_VALID",
            Code::TokenNoSpace => c"MONDOO_RESULT_TOKEN_NO_SPACE",
            Code::TokenNoEndpoint => c"MONDOO_RESULT_TOKEN_NO_ENDPOINT",
            Code::TokenInvalidClaim => c"MONDOO_RESULT_TOKEN_INVALID_CLAIM",
            Code::TokenTooLarge => c"MONDOO_RESULT_TOKEN_TOO_LARGE",
            Code::KeyInvalid => c"MONDOO_RESULT_KEY_INVALID",
            Code::KeyWrongCurve => c"MONDOO_RESULT_KEY_WRONG_CURVE",
            Code::KeyUnsupportedType => c"MONDOO_RESULT_KEY_UNSUPPORTED_TYPE",
            Code::KeyEncrypted => c"MONDOO_RESULT_KEY_ENCRYPTED",
            Code::KeyCertificateMismatch => c"MONDOO_RESULT_KEY_CERTIFICATE_MISMATCH",
            Code::CertificateInvalid => c"MONDOO_RESULT_CERTIFICATE_INVALID",
            Code::SigningFailed => c"MONDOO_RESULT_SIGNING_FAILED",
            Code::BearerInvalid => c"MONDOO_RESULT_BEARER_INVALID",
            Code::SshAgentUnavailable => c"MONDOO_RESULT_SSH_AGENT_UNAVAILABLE",
            Code::SshAgentNoKeys => c"MONDOO_RESULT_SSH_AGENT_NO_KEYS",
            Code::SshKeyUnknown => c"MONDOO_RESULT_SSH_KEY_UNKNOWN",
            Code::IdentityTokenExpired => c"MONDOO_RESULT_IDENTITY_TOKEN_EXPIRED",
            Code::IdentityTokenAudience => c"MONDOO_RESULT_IDENTITY_TOKEN_AUDIENCE",
            Code::IdentityTokenUnavailable => c"MONDOO_RESULT_IDENTITY_TOKEN_UNAVAILABLE",
            Code::ExchangeRefused => c"MONDOO_RESULT_EXCHANGE_REFUSED",
            Code::ExchangeClockSkew => c"MONDOO_RESULT_EXCHANGE_CLOCK_SKEW",
            Code::Network => c"MONDOO_RESULT_NETWORK",
            Code::Timeout => c"MONDOO_RESULT_TIMEOUT",
            Code::Tls => c"MONDOO_RESULT_TLS",
            Code::Proxy => c"MONDOO_RESULT_PROXY",
            Code::Dns => c"MONDOO_RESULT_DNS",
            Code::ResponseTooLarge => c"MONDOO_RESULT_RESPONSE_TOO_LARGE",
            Code::ResponseInvalid => c"MONDOO_RESULT_RESPONSE_INVALID",
            Code::InsecureEndpoint => c"MONDOO_RESULT_INSECURE_ENDPOINT",
            Code::Canceled => c"MONDOO_RESULT_CANCELED",
            Code::RpcCanceled => c"MONDOO_RESULT_RPC_CANCELED",
            Code::RpcUnknown => c"MONDOO_RESULT_RPC_UNKNOWN",
            Code::RpcInvalidArgument => c"MONDOO_RESULT_RPC_INVALID_ARGUMENT",
            Code::RpcDeadlineExceeded => c"MONDOO_RESULT_RPC_DEADLINE_EXCEEDED",
            Code::RpcNotFound => c"MONDOO_RESULT_RPC_NOT_FOUND",
            Code::RpcAlreadyExists => c"MONDOO_RESULT_RPC_ALREADY_EXISTS",
            Code::RpcPermissionDenied => c"MONDOO_RESULT_RPC_PERMISSION_DENIED",
            Code::RpcResourceExhausted => c"MONDOO_RESULT_RPC_RESOURCE_EXHAUSTED",
            Code::RpcFailedPrecondition => c"MONDOO_RESULT_RPC_FAILED_PRECONDITION",
            Code::RpcAborted => c"MONDOO_RESULT_RPC_ABORTED",
            Code::RpcOutOfRange => c"MONDOO_RESULT_RPC_OUT_OF_RANGE",
            Code::RpcUnimplemented => c"MONDOO_RESULT_RPC_UNIMPLEMENTED",
            Code::RpcInternal => c"MONDOO_RESULT_RPC_INTERNAL",
            Code::RpcUnavailable => c"MONDOO_RESULT_RPC_UNAVAILABLE",
            Code::RpcDataLoss => c"MONDOO_RESULT_RPC_DATA_LOSS",
            Code::RpcUnauthenticated => c"MONDOO_RESULT_RPC_UNAUTHENTICATED",
            Code::GraphqlErrors => c"MONDOO_RESULT_GRAPHQL_ERRORS",
        }
    }

    /// [`Code::c_name`] as a `&str`.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("MONDOO_RESULT_UNKNOWN")
    }

    /// The area a code belongs to (its block of a thousand).
    pub fn class(self) -> ErrorClass {
        match self.value() / 1000 {
            0 => ErrorClass::Ok,
            1 => ErrorClass::Internal,
            2 if self == Code::NotRegistered => ErrorClass::NotRegistered,
            2 => ErrorClass::Config,
            3 => ErrorClass::Token,
            4 => ErrorClass::Key,
            5 => ErrorClass::Network,
            _ => ErrorClass::Rpc,
        }
    }

    /// The platform's error code for a gRPC status code (1..=16), else `RpcUnknown`.
    pub fn from_rpc(rpc_code: i32) -> Code {
        if (1..=16).contains(&rpc_code) {
            Code::from_value(6000 + rpc_code as u32).unwrap_or(Code::RpcUnknown)
        } else {
            Code::RpcUnknown
        }
    }

    /// The gRPC code of an `Rpc*` code.
    pub fn rpc_code(self) -> Option<i32> {
        (6001..=6016).contains(&self.value()).then(|| (self.value() - 6000) as i32)
    }

    /// gRPC's name of an rpc code, as Go prints it (`Unauthenticated`, `Aborted`, ...).
    pub fn rpc_name(rpc_code: i32) -> &'static str {
        match rpc_code {
            0 => "OK",
            1 => "Canceled",
            2 => "Unknown",
            3 => "InvalidArgument",
            4 => "DeadlineExceeded",
            5 => "NotFound",
            6 => "AlreadyExists",
            7 => "PermissionDenied",
            8 => "ResourceExhausted",
            9 => "FailedPrecondition",
            10 => "Aborted",
            11 => "OutOfRange",
            12 => "Unimplemented",
            13 => "Internal",
            14 => "Unavailable",
            15 => "DataLoss",
            16 => "Unauthenticated",
            _ => "Unknown",
        }
    }
}

/// Areas of failure; each binding maps one exception class or sentinel to each. The
/// values are stable: the C ABI hands them out (`mondoo_result_class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Success.
    Ok = 0,
    /// A caller mistake or a bug (`Code` 1000s).
    Internal = 1,
    /// The configuration (2000s).
    Config = 2,
    /// No credentials (`Code::NotRegistered`).
    NotRegistered = 3,
    /// The registration token (3000s).
    Token = 4,
    /// Keys, certificates, signing and keyless exchanges (4000s).
    Key = 5,
    /// The network, TLS or proxy (5000s).
    Network = 6,
    /// An error the platform answered (6000s; the Platform API's `errors`, 7000s).
    Rpc = 7,
}

/// The lower-level error behind an [`Error`] (reqwest's, an I/O error), shared so the
/// error stays cheap to clone.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A libmondoo error: what failed, where, and why.
///
/// ```
/// let e = mondoo::Error::new(mondoo::Code::NotRegistered, "no credentials");
/// assert_eq!(e.code().value(), 2008);
/// assert_eq!(e.class(), mondoo::ErrorClass::NotRegistered);
/// assert!(std::error::Error::source(&e).is_none());
/// ```
#[derive(Clone)]
pub struct Error {
    code: Code,
    message: String,
    rpc_code: Option<i32>,
    http_status: Option<u16>,
    path: Option<PathBuf>,
    clock_skew_seconds: Option<f64>,
    /// see [`Error::orphaned_credentials`]; shared, never printed, wiped when the last
    /// copy is dropped
    orphaned_credentials: Option<std::sync::Arc<zeroize::Zeroizing<String>>>,
    /// see [`Error::with_source`]; its text is already part of the message
    source: Option<Cause>,
    /// see [`Error::graphql_response`]
    graphql_response: Option<std::sync::Arc<crate::GraphQlResponse>>,
}

/// Equal when everything a caller can read as data is equal; the cause is not compared
/// (an error rebuilt from a report has none, and causes are not comparable).
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.rpc_code == other.rpc_code
            && self.http_status == other.http_status
            && self.path == other.path
            && self.clock_skew_seconds == other.clock_skew_seconds
            && self.orphaned_credentials == other.orphaned_credentials
            && self.graphql_response == other.graphql_response
    }
}

impl Error {
    /// An error with a code and a message (which must not contain secrets).
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            rpc_code: code.rpc_code(),
            http_status: None,
            path: None,
            clock_skew_seconds: None,
            orphaned_credentials: None,
            source: None,
            graphql_response: None,
        }
    }

    /// The underlying cause, returned by [`std::error::Error::source`]. The message keeps
    /// saying what the cause said; this only lets a caller walk the chain.
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(std::sync::Arc::new(cause));
        self
    }

    /// An error answered by the platform: `rpc_code` from the status body (or mapped from
    /// the HTTP status when the body was not a status), with the HTTP status kept.
    pub fn rpc(rpc_code: i32, http_status: Option<u16>, message: impl Into<String>) -> Error {
        let mut e = Error::new(Code::from_rpc(rpc_code), message);
        e.rpc_code = Some(rpc_code);
        e.http_status = http_status;
        e
    }

    /// The file the error is about: the config (for every configuration error and
    /// `NotRegistered`, unless the config came from `MONDOO_CONFIG_BASE64`), a key or CA file.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// The error with the HTTP status of the failed response.
    pub fn with_http_status(mut self, status: u16) -> Error {
        self.http_status = Some(status);
        self
    }

    /// The clock skew measured against the platform before this error, in seconds:
    /// platform time minus local time, so positive when the platform's clock is ahead of
    /// the local one (the local clock is behind). The same sign as the status report's
    /// `clock_skew_seconds`.
    pub fn with_clock_skew(mut self, seconds: f64) -> Error {
        self.clock_skew_seconds = Some(seconds);
        self
    }

    /// The credentials of an agent that was registered when the config could not be
    /// written afterwards: a JSON document (`agent_mrn`, `mrn`, `space_mrn`,
    /// `private_key` or `token`, `certificate`, `api_endpoint`) that is itself a usable
    /// config, so the caller can keep the agent or unregister it (`logout` with it).
    pub fn with_orphaned_credentials(mut self, document: zeroize::Zeroizing<String>) -> Error {
        self.orphaned_credentials = Some(std::sync::Arc::new(document));
        self
    }

    /// See [`Error::with_orphaned_credentials`]: a copy, wiped when dropped. It holds the
    /// private key: store it like the config (mode 0600), never log it.
    pub fn orphaned_credentials(&self) -> Option<zeroize::Zeroizing<String>> {
        self.orphaned_credentials.as_ref().map(|d| zeroize::Zeroizing::new(d.as_str().to_string()))
    }

    /// The Platform API answer this error is about (`Code::GraphqlErrors`): its `errors`
    /// and partial `data`, so a caller of a pager or of
    /// [`GraphQlResponse::into_data`](crate::GraphQlResponse::into_data) still gets the
    /// whole answer.
    pub fn with_graphql_response(mut self, response: crate::GraphQlResponse) -> Error {
        self.graphql_response = Some(std::sync::Arc::new(response));
        self
    }

    /// See [`Error::with_graphql_response`].
    pub fn graphql_response(&self) -> Option<&crate::GraphQlResponse> {
        self.graphql_response.as_deref()
    }

    /// Prefix the message with context, keeping everything else.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// What failed.
    pub fn code(&self) -> Code {
        self.code
    }
    /// The area of the failure.
    pub fn class(&self) -> ErrorClass {
        self.code.class()
    }
    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The gRPC status code the platform answered with, if any.
    pub fn rpc_code(&self) -> Option<i32> {
        self.rpc_code
    }
    /// The HTTP status of the failed response, if any.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }
    /// See [`Error::with_path`].
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// Set on the errors of calls authenticated as the service account once a
    /// `Health/Check` (status, `Client::health`, skew correction) measured the skew:
    /// platform time minus local time, seconds (see [`Error::with_clock_skew`]).
    pub fn clock_skew_seconds(&self) -> Option<f64> {
        self.clock_skew_seconds
    }

    /// Go's rendering of a platform error: `rpc error: code = Unauthenticated desc = ...`.
    pub fn go_rpc_string(&self) -> Option<String> {
        self.rpc_code.map(|c| format!("rpc error: code = {} desc = {}", Code::rpc_name(c), self.message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.go_rpc_string() {
            Some(s) => f.write_str(&s),
            None => f.write_str(&self.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("code", &self.code).field("message", &self.message);
        if let Some(c) = self.rpc_code {
            d.field("rpc_code", &c);
        }
        if let Some(s) = self.http_status {
            d.field("http_status", &s);
        }
        if let Some(p) = &self.path {
            d.field("path", p);
        }
        if let Some(s) = self.clock_skew_seconds {
            d.field("clock_skew_seconds", &s);
        }
        if self.orphaned_credentials.is_some() {
            d.field("orphaned_credentials", &"<redacted>");
        }
        if let Some(r) = &self.graphql_response {
            d.field("graphql_errors", &r.errors.len());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// How much of one server-supplied text a message keeps, in bytes once escaped.
pub const SERVER_TEXT_LIMIT: usize = 2048;

/// A text the server chose (a status body's `message`, an error body, a Health/Check
/// field), made safe to print: every control character (C0, DEL, C1, which includes the
/// ESC of terminal escape sequences) written as `\u{..}`, and the result cut to
/// [`SERVER_TEXT_LIMIT`] bytes on a character boundary, with a note saying how long the
/// text was. A server can then neither drive the terminal nor flood it.
pub fn server_text(text: &str) -> String {
    server_text_of_prefix(text, text.len())
}

/// [`server_text`] of `prefix`, the start of a text of `whole_len` bytes (a caller that
/// cut a large body before decoding it): the note gives the whole length.
pub(crate) fn server_text_of_prefix(prefix: &str, whole_len: usize) -> String {
    let mut out = String::with_capacity(prefix.len().min(SERVER_TEXT_LIMIT));
    let mut cut = prefix.len() < whole_len;
    for c in prefix.chars() {
        let piece = if c.is_control() { format!("\\u{{{:x}}}", c as u32) } else { c.to_string() };
        if out.len() + piece.len() > SERVER_TEXT_LIMIT {
            cut = true;
            break;
        }
        out.push_str(&piece);
    }
    if cut {
        out.push_str(&format!(" …(cut: {whole_len} bytes in all)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_grouped() {
        let values: Vec<u32> = Code::ALL.iter().map(|c| c.value()).collect();
        let mut sorted = values.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(values, sorted, "Code::ALL must list each code once, in value order");
        for c in Code::ALL {
            assert_eq!(Code::from_value(c.value()), Some(*c));
        }
        assert_eq!(Code::RpcUnauthenticated.rpc_code(), Some(16));
        assert_eq!(Code::from_rpc(10), Code::RpcAborted);
        assert_eq!(Code::from_rpc(99), Code::RpcUnknown);
        assert_eq!(Code::NotRegistered.class(), ErrorClass::NotRegistered);
        assert_eq!(Code::ConfigParse.class(), ErrorClass::Config);
    }

    #[test]
    fn server_text_escapes_control_characters_and_is_cut_at_2_kib() {
        assert_eq!(server_text("a\u{1b}[2Jb\u{7f}\u{9b}c\n"), "a\\u{1b}[2Jb\\u{7f}\\u{9b}c\\u{a}");
        assert_eq!(server_text("plain é"), "plain é");
        let long = server_text(&"é".repeat(3000));
        let (kept, note) = long.split_once(" …(cut: ").unwrap();
        assert!(kept.len() <= SERVER_TEXT_LIMIT && kept.chars().all(|c| c == 'é'), "{kept}");
        assert_eq!(note, "6000 bytes in all)");
        // an escape is never split by the cut
        let escapes = server_text(&"\u{1b}".repeat(1000));
        let kept = escapes.split_once(" …").unwrap().0;
        assert!(kept.len() <= SERVER_TEXT_LIMIT && kept.ends_with("\\u{1b}"), "{kept}");
    }

    #[test]
    fn rpc_error_displays_like_go() {
        let e = Error::rpc(16, Some(401), "request permission unauthenticated");
        assert_eq!(e.to_string(), "rpc error: code = Unauthenticated desc = request permission unauthenticated");
        assert_eq!(e.code(), Code::RpcUnauthenticated);
        assert_eq!(e.http_status(), Some(401));
    }
}
