//! The Platform API (protocol section 7): GraphQL at `POST {url}/query`, in the style of
//! Mondoo's schema (Relay connections, errors with `extensions.code`), over the assets the
//! platform holds per space. Callers authenticate with a service-account bearer (ES384
//! JWT without `chash`, verified by the same code as signed calls) or with an API token
//! the platform minted.
//!
//! The schema runs on `async-graphql`; the platform's server is threads, so each request
//! is executed to completion on its connection thread with `futures_executor::block_on`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_graphql::{
    ComplexObject, Context, EmptySubscription, ErrorExtensions, InputObject, Object, Schema, SimpleObject,
};
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use crate::http::{Request, Response};
use crate::server::{last_segment, lock, new_id};
use crate::AuthOutcome;

/// `service` and `method` of a recorded `/query` request.
pub const SERVICE: &str = "GraphQL";
pub const METHOD: &str = "query";

/// Largest page `assets(first:)` answers; more is a `BAD_USER_INPUT` error.
pub const MAX_PAGE_SIZE: i32 = 100;
/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// An asset the platform holds in a space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, SimpleObject)]
#[graphql(complex)]
pub struct Asset {
    pub mrn: String,
    #[graphql(skip)]
    pub space_mrn: String,
    pub name: String,
    pub platform: String,
    #[graphql(skip)]
    pub annotations: BTreeMap<String, String>,
}

#[ComplexObject]
impl Asset {
    /// Sorted by key.
    async fn annotations(&self) -> Vec<KeyValue> {
        self.annotations.iter().map(|(key, value)| KeyValue { key: key.clone(), value: value.clone() }).collect()
    }
}

#[derive(SimpleObject)]
struct KeyValue {
    key: String,
    value: String,
}

#[derive(InputObject)]
struct KeyValueInput {
    key: String,
    value: String,
}

#[derive(InputObject)]
struct UpdateAssetAnnotationsInput {
    mrn: String,
    /// the asset's annotations afterwards (all of them: keys not listed are removed)
    annotations: Vec<KeyValueInput>,
}

/// Who called: a service account or an API token.
#[derive(SimpleObject)]
struct Viewer {
    mrn: String,
    name: String,
}

#[derive(SimpleObject)]
struct Space {
    mrn: String,
    name: String,
}

#[derive(SimpleObject)]
struct AssetEdge {
    cursor: String,
    node: Asset,
}

#[derive(SimpleObject)]
struct PageInfo {
    start_cursor: Option<String>,
    end_cursor: Option<String>,
    has_next_page: bool,
    has_previous_page: bool,
}

#[derive(SimpleObject)]
struct AssetConnection {
    total_count: i32,
    edges: Vec<AssetEdge>,
    page_info: PageInfo,
}

/// Which kind of credential authenticated a `/query` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    ServiceAccount,
    ApiToken,
}

/// The credential of an accepted `/query` request, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credential {
    pub kind: CredentialKind,
    /// the service account's mrn, or the API token's
    pub subject: String,
    /// lowercase hex SHA-256 of the bearer: equal for a reused bearer, so tests can count
    /// distinct bearers (= signatures) without the bearer itself being kept
    pub bearer_sha256: String,
    /// `iat` of a service-account JWT
    pub issued_at: Option<i64>,
}

struct ApiToken {
    mrn: String,
    space_mrn: String,
    revoked: bool,
}

/// The Platform API's data: assets (in the order added) and minted API tokens.
#[derive(Default)]
pub(crate) struct Store {
    assets: Vec<Asset>,
    api_tokens: HashMap<String, ApiToken>,
}

/// The authenticated caller, handed to the resolvers.
struct Caller {
    mrn: String,
    space_mrn: String,
    /// every space the platform knows of (its accounts', API tokens' and assets')
    known_spaces: BTreeSet<String>,
}

/// What the endpoint needs from the platform's service accounts.
pub(crate) trait ServiceAccounts {
    /// Verify the request's bearer as a signed call is verified (section 4; a bearer
    /// without `chash` is not bound to the body, one with `chash` must match it).
    /// Ok = (account mrn, its space).
    fn verify_service_account(&self, request: &Request) -> Result<(String, String), String>;
    /// The spaces of all accounts.
    fn account_spaces(&self) -> BTreeSet<String>;
}

/// A `/query` request as answered.
pub(crate) struct Served {
    pub(crate) response: Response,
    pub(crate) auth: AuthOutcome,
    pub(crate) subject: Option<String>,
    pub(crate) credential: Option<Credential>,
}

type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema and its data.
pub(crate) struct Endpoint {
    schema: ApiSchema,
    store: Arc<Mutex<Store>>,
}

/// The schema in SDL (printed in platform/README.md).
pub fn schema_sdl() -> String {
    build_schema(Arc::default()).sdl()
}

fn build_schema(store: Arc<Mutex<Store>>) -> ApiSchema {
    Schema::build(Query, Mutation, EmptySubscription).data(store).limit_depth(16).finish()
}

fn coded_error(code: &'static str, message: String) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

fn store<'a>(ctx: &'a Context<'_>) -> &'a Mutex<Store> {
    ctx.data_unchecked::<Arc<Mutex<Store>>>()
}

/// Ok when the caller may read and change `space_mrn`.
fn check_space(ctx: &Context<'_>, space_mrn: &str) -> async_graphql::Result<()> {
    let caller = ctx.data_unchecked::<Caller>();
    if !caller.known_spaces.contains(space_mrn) {
        return Err(coded_error("NOT_FOUND", format!("space {space_mrn} not found")));
    }
    if caller.space_mrn != space_mrn {
        return Err(coded_error("PERMISSION_DENIED", format!("{} has no access to space {space_mrn}", caller.mrn)));
    }
    Ok(())
}

/// A nullable field's value, or null with its error listed: async-graphql leaves a field
/// that fails out of `data`, where the GraphQL spec (and Mondoo's server) has it null.
fn or_null<T>(ctx: &Context<'_>, result: async_graphql::Result<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            ctx.add_error(ctx.set_error_path(e.into_server_error(ctx.item.pos)));
            None
        }
    }
}

fn encode_cursor(index: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("asset:{index}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("asset:")?.parse().ok()
}

struct Query;

#[Object]
impl Query {
    /// The caller: the service account, or the API token.
    async fn viewer(&self, ctx: &Context<'_>) -> Viewer {
        let caller = ctx.data_unchecked::<Caller>();
        Viewer { mrn: caller.mrn.clone(), name: last_segment(&caller.mrn).to_string() }
    }

    /// A space: null with a NOT_FOUND error when unknown, PERMISSION_DENIED when the
    /// credential belongs to another space.
    async fn space(&self, ctx: &Context<'_>, mrn: String) -> Option<Space> {
        or_null(ctx, check_space(ctx, &mrn).map(|()| Space { name: last_segment(&mrn).to_string(), mrn }))
    }

    /// The space's assets in the order they were added, `first` (default 20, at most 100)
    /// after the opaque cursor `after`.
    async fn assets(
        &self,
        ctx: &Context<'_>,
        space_mrn: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AssetConnection> {
        check_space(ctx, &space_mrn)?;
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(0..=MAX_PAGE_SIZE).contains(&first) {
            return Err(coded_error("BAD_USER_INPUT", format!("first must be between 0 and {MAX_PAGE_SIZE}")));
        }
        let start = match after.as_deref() {
            None => 0,
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| coded_error("BAD_USER_INPUT", format!("after: {cursor:?} is not a cursor")))?
                .saturating_add(1),
        };
        let store = lock(store(ctx));
        let assets: Vec<&Asset> = store.assets.iter().filter(|a| a.space_mrn == space_mrn).collect();
        let end = start.saturating_add(first as usize).min(assets.len());
        let edges: Vec<AssetEdge> =
            (start.min(end)..end).map(|i| AssetEdge { cursor: encode_cursor(i), node: assets[i].clone() }).collect();
        Ok(AssetConnection {
            total_count: i32::try_from(assets.len()).unwrap_or(i32::MAX),
            page_info: PageInfo {
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
                has_next_page: end < assets.len(),
                has_previous_page: start > 0,
            },
            edges,
        })
    }
}

struct Mutation;

#[Object]
impl Mutation {
    /// Replace an asset's annotations; returns the asset.
    async fn update_asset_annotations(
        &self,
        ctx: &Context<'_>,
        input: UpdateAssetAnnotationsInput,
    ) -> async_graphql::Result<Asset> {
        let space = lock(store(ctx)).assets.iter().find(|a| a.mrn == input.mrn).map(|a| a.space_mrn.clone());
        let Some(space) = space else {
            return Err(coded_error("NOT_FOUND", format!("asset {} not found", input.mrn)));
        };
        check_space(ctx, &space)?;
        let mut store = lock(store(ctx));
        let asset = store
            .assets
            .iter_mut()
            .find(|a| a.mrn == input.mrn)
            .ok_or_else(|| coded_error("NOT_FOUND", format!("asset {} not found", input.mrn)))?;
        asset.annotations = input.annotations.into_iter().map(|kv| (kv.key, kv.value)).collect();
        Ok(asset.clone())
    }
}

const PLATFORMS: [&str; 4] = ["ubuntu", "windows", "macos", "debian"];

impl Endpoint {
    pub(crate) fn new() -> Endpoint {
        let store = Arc::new(Mutex::new(Store::default()));
        Endpoint { schema: build_schema(store.clone()), store }
    }

    /// Forget every asset and API token.
    pub(crate) fn reset(&self) {
        *lock(&self.store) = Store::default();
    }

    /// Add `count` assets to `space_mrn` (named `asset-0001`, ... in the space, platforms
    /// in turn); returns the new ones.
    pub(crate) fn add_assets(&self, space_mrn: &str, count: usize) -> Vec<Asset> {
        let mut store = lock(&self.store);
        let already = store.assets.iter().filter(|a| a.space_mrn == space_mrn).count();
        let added: Vec<Asset> = (already..already + count)
            .map(|i| Asset {
                mrn: format!("//assets.api.mondoo.app/spaces/{}/assets/{}", last_segment(space_mrn), new_id()),
                space_mrn: space_mrn.to_string(),
                name: format!("asset-{:04}", i + 1),
                platform: PLATFORMS[i % PLATFORMS.len()].to_string(),
                annotations: BTreeMap::new(),
            })
            .collect();
        store.assets.extend(added.iter().cloned());
        added
    }

    /// The space's assets in the order added.
    pub(crate) fn assets(&self, space_mrn: &str) -> Vec<Asset> {
        lock(&self.store).assets.iter().filter(|a| a.space_mrn == space_mrn).cloned().collect()
    }

    /// A new API token for `space_mrn`: an opaque random string (no dots: never a JWT).
    pub(crate) fn mint_api_token(&self, space_mrn: &str) -> (String, String) {
        let token = format!("mondoo-api-{}{}", new_id(), new_id());
        let mrn = format!("//captain.api.mondoo.app/spaces/{}/apitokens/{}", last_segment(space_mrn), new_id());
        let entry = ApiToken { mrn: mrn.clone(), space_mrn: space_mrn.to_string(), revoked: false };
        lock(&self.store).api_tokens.insert(token.clone(), entry);
        (token, mrn)
    }

    /// Revoke an API token given as the token itself or its mrn; whether it existed.
    pub(crate) fn revoke_api_token(&self, token_or_mrn: &str) -> bool {
        let mut store = lock(&self.store);
        match store.api_tokens.iter_mut().find(|(t, a)| t.as_str() == token_or_mrn || a.mrn == token_or_mrn) {
            Some((_, api_token)) => {
                api_token.revoked = true;
                true
            }
            None => false,
        }
    }

    /// The caller and its recorded credential, or why the request is refused.
    fn authenticate(&self, request: &Request, accounts: &dyn ServiceAccounts) -> Result<(Caller, Credential), String> {
        let value = request.header("authorization").ok_or("no Authorization header")?;
        let bearer = value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty());
        let bearer = bearer.ok_or("Authorization is not `Bearer <token>`")?;
        let bearer_sha256 = mondoo::__private::signer::chash(bearer.as_bytes());
        let api_token =
            lock(&self.store).api_tokens.get(bearer).map(|t| (t.mrn.clone(), t.space_mrn.clone(), t.revoked));
        let (kind, mrn, space_mrn, issued_at) = match api_token {
            Some((mrn, _, true)) => return Err(format!("API token {mrn} is revoked")),
            Some((mrn, space, false)) => (CredentialKind::ApiToken, mrn, space, None),
            None => {
                let (mrn, space) = accounts.verify_service_account(request)?;
                (CredentialKind::ServiceAccount, mrn, space, jwt_iat(bearer))
            }
        };
        let mut known_spaces = accounts.account_spaces();
        {
            let store = lock(&self.store);
            known_spaces.extend(store.api_tokens.values().map(|t| t.space_mrn.clone()));
            known_spaces.extend(store.assets.iter().map(|a| a.space_mrn.clone()));
        }
        let credential = Credential { kind, subject: mrn.clone(), bearer_sha256, issued_at };
        Ok((Caller { mrn, space_mrn, known_spaces }, credential))
    }

    /// Answer `POST /query`: 401 (code 16) unless authenticated, 400 for a body that is not
    /// a GraphQL request, else 200 with async-graphql's `{"data", "errors"}`.
    pub(crate) fn serve(&self, request: &Request, accounts: &dyn ServiceAccounts) -> Served {
        let status = |code: u32, message: &str| {
            Response::json(crate::fault::http_status_for(code), &json!({"code": code, "message": message}))
        };
        if request.method != "POST" {
            let response = Response::json(405, &json!({"code": 12, "message": "/query: only POST is supported"}));
            return Served { response, auth: AuthOutcome::NotChecked, subject: None, credential: None };
        }
        let (caller, credential) = match self.authenticate(request, accounts) {
            Ok(c) => c,
            Err(reason) => {
                return Served {
                    response: status(16, crate::UNAUTHENTICATED),
                    auth: AuthOutcome::Rejected(reason),
                    subject: None,
                    credential: None,
                }
            }
        };
        let subject = Some(caller.mrn.clone());
        let response = match serde_json::from_slice::<async_graphql::Request>(&request.body) {
            Err(e) => status(3, &format!("malformed GraphQL request: {e}")),
            Ok(query) => {
                let answer = futures_executor::block_on(self.schema.execute(query.data(caller)));
                match serde_json::to_value(&answer) {
                    Ok(body) => Response::json(200, &body),
                    Err(e) => status(13, &format!("encoding the GraphQL answer: {e}")),
                }
            }
        };
        Served { response, auth: AuthOutcome::Accepted, subject, credential: Some(credential) }
    }

    /// The admin routes of the Platform API: `assets` (`{"space_mrn", "count"}`: add
    /// `count` assets, answer the space's), `api-token` (`{"space_mrn"}`: mint one,
    /// answer `{"token", "mrn"}`) and `revoke-api-token` (`{"token"}` or `{"mrn"}`).
    /// None: not one of them.
    pub(crate) fn admin(&self, what: &str, body: &Value) -> Option<Result<Value, (u16, String)>> {
        let space = || body.get("space_mrn").and_then(Value::as_str).unwrap_or(crate::FIXTURE_SPACE);
        Some(match what {
            "assets" => {
                let count = body.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
                self.add_assets(space(), count);
                serde_json::to_value(self.assets(space())).map_err(|e| (500, e.to_string()))
            }
            "api-token" => {
                let (token, mrn) = self.mint_api_token(space());
                Ok(json!({"token": token, "mrn": mrn}))
            }
            "revoke-api-token" => {
                let which = ["token", "mrn"].iter().find_map(|k| body.get(k).and_then(Value::as_str)).unwrap_or("");
                if self.revoke_api_token(which) {
                    Ok(json!({}))
                } else {
                    Err((404, "no such API token".to_string()))
                }
            }
            _ => return None,
        })
    }
}

/// `iat` of a (verified) JWT.
fn jwt_iat(token: &str) -> Option<i64> {
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.get("iat")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for i in [0, 1, 99, 123_456] {
            assert_eq!(decode_cursor(&encode_cursor(i)), Some(i));
        }
        for bad in ["", "!!", "YXNzZXQ6eA", "b3RoZXI6MQ"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
