//! The two encodings the real server (ranger-rpc) speaks: protobuf and proto JSON.
//!
//! The messages are written by hand with `prost` derives and the field numbers of
//! protocol section 3.1 (`mondoo.mql.upstream.v1`, `mondoo.cnquery.health.v1`, and
//! `google.rpc.Status` for errors), so no protoc is needed. The services work on proto
//! JSON values; a protobuf request is decoded into its message and turned into the same
//! JSON, and a JSON answer is encoded into the call's response message.

use std::collections::BTreeMap;

use prost::Message;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

pub const CONTENT_TYPE_JSON: &str = "application/json";
pub const CONTENT_TYPE_PROTOBUF: &str = "application/protobuf";
/// The media types ranger-rpc reads as protobuf.
const PROTOBUF_TYPES: [&str; 3] = ["application/protobuf", "application/octet-stream", "application/grpc+proto"];

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => CONTENT_TYPE_JSON,
            Encoding::Protobuf => CONTENT_TYPE_PROTOBUF,
        }
    }
}

/// The media type of a `Content-Type`/`Accept` value: lower case, parameters dropped.
fn media_type(value: &str) -> String {
    value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// How a request body is read: no `Content-Type` is JSON (ranger's generated servers
/// decode anything but the protobuf types as JSON); an unknown media type is refused with
/// ranger's message.
pub fn request_encoding(content_type: Option<&str>) -> Result<Encoding, String> {
    let Some(raw) = content_type.filter(|v| !v.trim().is_empty()) else {
        return Ok(Encoding::Json);
    };
    let media = media_type(raw);
    if PROTOBUF_TYPES.contains(&media.as_str()) {
        Ok(Encoding::Protobuf)
    } else if media == CONTENT_TYPE_JSON {
        Ok(Encoding::Json)
    } else {
        Err(format!("unexpected content-type: {raw:?}"))
    }
}

/// How the answer is written: `Accept` decides, and without one the request's own
/// `Content-Type` (ranger's `determineResponseType`); anything but a protobuf type
/// (`*/*`, a list, none at all) gets JSON.
pub fn answer_encoding(content_type: Option<&str>, accept: Option<&str>) -> Encoding {
    let chosen = accept.filter(|v| !v.trim().is_empty()).or(content_type).unwrap_or("");
    if PROTOBUF_TYPES.contains(&media_type(chosen).as_str()) {
        Encoding::Protobuf
    } else {
        Encoding::Json
    }
}

// ---- mondoo.cnquery.health.v1 ----

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    pub service: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ServingStatus {
    Unknown = 0,
    Serving = 1,
    NotServing = 2,
    ServiceUnknown = 3,
}

impl ServingStatus {
    const NAMES: [(ServingStatus, &'static str); 4] = [
        (ServingStatus::Unknown, "UNKNOWN"),
        (ServingStatus::Serving, "SERVING"),
        (ServingStatus::NotServing, "NOT_SERVING"),
        (ServingStatus::ServiceUnknown, "SERVICE_UNKNOWN"),
    ];
}

/// Proto JSON writes an enum as its name.
mod serving_status_name {
    use super::ServingStatus;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &i32, s: S) -> Result<S::Ok, S::Error> {
        match ServingStatus::NAMES.iter().find(|(status, _)| *status as i32 == *value) {
            Some((_, name)) => s.serialize_str(name),
            None => s.serialize_i32(*value),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NameOrNumber {
            Name(String),
            Number(i32),
        }
        match NameOrNumber::deserialize(d)? {
            NameOrNumber::Number(n) => Ok(n),
            NameOrNumber::Name(name) => ServingStatus::NAMES
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(status, _)| *status as i32)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown ServingStatus {name:?}"))),
        }
    }
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheckResponse {
    #[prost(enumeration = "ServingStatus", tag = "1")]
    #[serde(with = "serving_status_name")]
    pub status: i32,
    /// RFC 3339
    #[prost(string, tag = "2")]
    pub time: String,
    /// camelCase in the proto itself, so in its JSON too
    #[prost(string, tag = "3")]
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    #[prost(string, tag = "4")]
    pub build: String,
}

// ---- mondoo.mql.upstream.v1 ----

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentInfo {
    #[prost(string, tag = "1")]
    pub mrn: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(string, tag = "3")]
    pub build: String,
    #[prost(string, tag = "4")]
    pub platform_name: String,
    #[prost(string, tag = "5")]
    pub platform_release: String,
    #[prost(string, tag = "6")]
    pub platform_arch: String,
    #[prost(string, tag = "7")]
    pub platform_ip: String,
    #[prost(string, tag = "8")]
    pub platform_hostname: String,
    #[prost(btree_map = "string, string", tag = "18")]
    pub labels: BTreeMap<String, String>,
    #[prost(string, tag = "20")]
    pub platform_id: String,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentRegistrationRequest {
    #[prost(string, tag = "1")]
    pub token: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, optional, tag = "3")]
    pub agent_info: Option<AgentInfo>,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceAccountCredentials {
    #[prost(string, tag = "1")]
    pub mrn: String,
    #[prost(string, tag = "2")]
    pub parent_mrn: String,
    #[prost(string, tag = "3")]
    pub private_key: String,
    #[prost(string, tag = "4")]
    pub certificate: String,
    #[prost(string, tag = "5")]
    pub api_endpoint: String,
    #[prost(string, tag = "6")]
    pub scope_mrn: String,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentRegistrationConfirmation {
    #[prost(string, tag = "1")]
    pub agent_mrn: String,
    #[prost(message, optional, tag = "2")]
    pub credential: Option<ServiceAccountCredentials>,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct Mrn {
    #[prost(string, tag = "1")]
    pub mrn: String,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct Confirmation {
    #[prost(string, tag = "1")]
    pub mrn: String,
}

// SecureTokenService (same package). Field numbers from mondoohq/mql
// providers-sdk/v1/upstream/upstream.proto (`service SecureTokenService`);
// `response_type` = 4 is the field newer Go clients add to ExchangeExternalTokenRequest
// (not in that proto revision: the next free number, an assumption to check).

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct Claims {
    #[prost(string, tag = "1")]
    pub subject: String,
    #[prost(string, tag = "2")]
    pub exp: String,
    #[prost(string, tag = "3")]
    pub iat: String,
    #[prost(string, tag = "4")]
    pub resource: String,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct SshSignature {
    #[prost(string, tag = "1")]
    pub alg: String,
    #[prost(string, tag = "2")]
    pub kid: String,
    #[prost(string, tag = "3")]
    pub sig: String,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeSshKeyRequest {
    #[prost(message, optional, tag = "1")]
    pub claims: Option<Claims>,
    #[prost(message, repeated, tag = "2")]
    pub signatures: Vec<SshSignature>,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeSshKeyResponse {
    #[prost(string, tag = "1")]
    pub mrn: String,
    #[prost(string, tag = "2")]
    pub parent_mrn: String,
    #[prost(string, tag = "3")]
    pub private_key: String,
    #[prost(string, tag = "4")]
    pub certificate: String,
    #[prost(string, tag = "5")]
    pub api_endpoint: String,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeExternalTokenRequest {
    #[prost(string, tag = "1")]
    pub issuer_uri: String,
    #[prost(string, tag = "2")]
    pub audience: String,
    #[prost(string, tag = "3")]
    pub jwt_token: String,
    #[prost(string, tag = "4")]
    pub response_type: String,
}

#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeExternalTokenResponse {
    #[prost(string, tag = "1")]
    pub base64_credential: String,
}

/// `Ping`, `Pong` and `AgentCheckinResponse`: no fields.
#[derive(Clone, PartialEq, Message, Serialize, Deserialize)]
pub struct Empty {}

// ---- google.rpc.Status: ranger's error body ----

#[derive(Clone, PartialEq, Message)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.protobuf.Any`
#[derive(Clone, PartialEq, Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// An error body in `encoding`: `{"code","message"}` (zero values omitted, as protojson
/// writes a Status) or a protobuf `google.rpc.Status`.
pub fn status_body(encoding: Encoding, code: u32, message: &str) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => {
            Status { code: code as i32, message: message.to_string(), details: Vec::new() }.encode_to_vec()
        }
        Encoding::Json => {
            let mut body = serde_json::Map::new();
            if code != 0 {
                body.insert("code".into(), code.into());
            }
            if !message.is_empty() {
                body.insert("message".into(), message.into());
            }
            serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
        }
    }
}

/// The platform's calls that have protobuf messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    HealthCheck,
    RegisterAgent,
    PingPong,
    AgentHealthCheck,
    UnRegisterAgent,
    ExchangeSsh,
    ExchangeExternalToken,
}

impl Call {
    pub fn of(service: &str, method: &str) -> Option<Call> {
        match (service, method) {
            ("Health", "Check") => Some(Call::HealthCheck),
            ("AgentManager", "RegisterAgent") => Some(Call::RegisterAgent),
            ("AgentManager", "PingPong") => Some(Call::PingPong),
            ("AgentManager", "HealthCheck") => Some(Call::AgentHealthCheck),
            ("AgentManager", "UnRegisterAgent") => Some(Call::UnRegisterAgent),
            ("SecureTokenService", "ExchangeSSH") => Some(Call::ExchangeSsh),
            ("SecureTokenService", "ExchangeExternalToken") => Some(Call::ExchangeExternalToken),
            _ => None,
        }
    }

    /// A protobuf request as the proto JSON object the services read.
    pub fn request_to_json(self, bytes: &[u8]) -> Result<Value, String> {
        match self {
            Call::HealthCheck => to_json::<HealthCheckRequest>(bytes),
            Call::RegisterAgent => to_json::<AgentRegistrationRequest>(bytes),
            Call::PingPong => to_json::<Empty>(bytes),
            Call::AgentHealthCheck => to_json::<AgentInfo>(bytes),
            Call::UnRegisterAgent => to_json::<Mrn>(bytes),
            Call::ExchangeSsh => to_json::<ExchangeSshKeyRequest>(bytes),
            Call::ExchangeExternalToken => to_json::<ExchangeExternalTokenRequest>(bytes),
        }
    }

    /// A proto JSON answer as the call's protobuf response message.
    pub fn response_from_json(self, value: &Value) -> Result<Vec<u8>, String> {
        match self {
            Call::HealthCheck => from_json::<HealthCheckResponse>(value),
            Call::RegisterAgent => from_json::<AgentRegistrationConfirmation>(value),
            Call::PingPong | Call::AgentHealthCheck => from_json::<Empty>(value),
            Call::UnRegisterAgent => from_json::<Confirmation>(value),
            Call::ExchangeSsh => from_json::<ExchangeSshKeyResponse>(value),
            Call::ExchangeExternalToken => from_json::<ExchangeExternalTokenResponse>(value),
        }
    }
}

fn to_json<M: Message + Default + Serialize>(bytes: &[u8]) -> Result<Value, String> {
    let message = M::decode(bytes).map_err(|e| e.to_string())?;
    serde_json::to_value(&message).map_err(|e| e.to_string())
}

fn from_json<M: Message + DeserializeOwned>(value: &Value) -> Result<Vec<u8>, String> {
    let message: M = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    Ok(message.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_like_ranger() {
        assert_eq!(request_encoding(None), Ok(Encoding::Json));
        assert_eq!(request_encoding(Some("")), Ok(Encoding::Json));
        assert_eq!(request_encoding(Some("Application/JSON; charset=utf-8")), Ok(Encoding::Json));
        for protobuf in ["application/protobuf", "APPLICATION/OCTET-STREAM", "application/grpc+proto;x=1"] {
            assert_eq!(request_encoding(Some(protobuf)), Ok(Encoding::Protobuf), "{protobuf}");
        }
        assert_eq!(request_encoding(Some("text/plain")), Err("unexpected content-type: \"text/plain\"".into()));
        assert_eq!(answer_encoding(Some("application/protobuf"), None), Encoding::Protobuf);
        assert_eq!(answer_encoding(Some("application/protobuf"), Some("application/json")), Encoding::Json);
        assert_eq!(answer_encoding(Some("application/json"), Some("application/octet-stream")), Encoding::Protobuf);
        assert_eq!(answer_encoding(None, None), Encoding::Json);
        assert_eq!(answer_encoding(Some("application/protobuf"), Some("*/*")), Encoding::Json);
    }
}
