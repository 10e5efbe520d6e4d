//! The Platform API (protocol section 7): GraphQL at `{api_endpoint}/query`, with the
//! service account's bearer (no `chash`, cached and shared) or an API token, over the
//! client's own HTTP stack (proxy, TLS, deadline, redirects, cancellation).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::{server_text, Code, Error, Result};

/// What the Platform API answered: `data` (possibly partial) and `errors`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct GraphQlResponse {
    /// The answer's `data`; `None` when it was absent or `null`.
    #[serde(default)]
    pub data: Option<Value>,
    /// The answer's `errors` (empty when there were none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<GraphQlError>,
}

/// One entry of a GraphQL answer's `errors`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct GraphQlError {
    /// What went wrong, in the server's words (print it with [`server_text`]).
    pub message: String,
    /// Where in `data` (field names and list indices).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<Value>,
    /// Where in the query.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<GraphQlLocation>,
    /// The server's extra fields (Mondoo's `code`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

/// A position in the query text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct GraphQlLocation {
    /// The line.
    pub line: u32,
    /// The column.
    pub column: u32,
}

impl GraphQlResponse {
    /// Whether the answer carries `errors`.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The first error's message, if any.
    pub fn first_error_message(&self) -> Option<&str> {
        self.errors.first().map(|e| e.message.as_str())
    }

    /// `data`, failing with `Code::GraphqlErrors` when the answer has `errors` (or no
    /// data at all).
    pub fn into_data(self) -> Result<Value> {
        match self.data {
            Some(data) if self.errors.is_empty() => Ok(data),
            _ => Err(self.into_error()),
        }
    }

    /// `data` even when `errors` came with it (partial data); fails only when there is no
    /// data at all (with the errors' message).
    pub fn into_partial_data(self) -> Result<Value> {
        match self.data {
            Some(data) => Ok(data),
            None => Err(self.into_error()),
        }
    }

    /// The answer as JSON again (`{"data": ..., "errors": [...]}`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|e| json!({ "error": e.to_string() }))
    }

    /// The answer as `Code::GraphqlErrors`, carrying it whole
    /// ([`Error::graphql_response`]).
    fn into_error(self) -> Error {
        let message = match self.first_error_message().map(server_text) {
            None => "the Platform API answered without data".to_string(),
            Some(first) => {
                let more = match self.errors.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                format!("the Platform API answered with errors: {first}{more}")
            }
        };
        Error::new(Code::GraphqlErrors, message).with_graphql_response(self)
    }
}

/// `User-Agent` of Platform API requests: the name Go's client (mondoo-go) sends, with
/// this library's version (protocol section 7).
pub(crate) const USER_AGENT: &str = concat!("mondoo-graphql-client/", env!("CARGO_PKG_VERSION"));

/// Parse a 200 answer of `/query`.
pub(crate) fn decode(body: &[u8]) -> Result<GraphQlResponse> {
    serde_json::from_slice(body).map_err(|e| {
        Error::new(Code::ResponseInvalid, format!("GraphQL: answer is not a GraphQL response: {e}"))
            .with_http_status(200)
    })
}

/// The request body: `{"query", "variables"}`.
pub(crate) fn request_body(query: &str, variables: Option<&Value>) -> Result<Vec<u8>> {
    if let Some(v) = variables {
        if !v.is_object() && !v.is_null() {
            return Err(Error::new(Code::InvalidArgument, "GraphQL variables must be a JSON object"));
        }
    }
    let body = match variables {
        Some(v) if !v.is_null() => json!({ "query": query, "variables": v }),
        _ => json!({ "query": query }),
    };
    serde_json::to_vec(&body).map_err(|e| Error::new(Code::InvalidArgument, format!("cannot encode GraphQL: {e}")))
}

/// The pages of a Relay connection (`first`/`after`, `pageInfo { endCursor hasNextPage }`)
/// as the pager walks them: each step asks for the page after the last `endCursor`.
pub(crate) struct Pager {
    query: String,
    variables: Map<String, Value>,
    path: Vec<String>,
    page_limit: usize,
    pages: usize,
    after: Option<String>,
    done: bool,
}

impl Pager {
    pub(crate) fn new(query: &str, variables: Option<Value>, path: &str, page_limit: usize) -> Result<Pager> {
        let variables = match variables {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(Error::new(Code::InvalidArgument, "GraphQL variables must be a JSON object")),
        };
        let path: Vec<String> = path.split('.').map(str::trim).map(String::from).collect();
        if path.iter().any(String::is_empty) {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("connection path {path:?} must be field names separated by dots, e.g. \"space.assets\""),
            ));
        }
        if page_limit == 0 {
            return Err(Error::new(Code::InvalidArgument, "the page limit must be at least 1"));
        }
        Ok(Pager { query: query.to_string(), variables, path, page_limit, pages: 0, after: None, done: false })
    }

    /// The next page (the connection object at the path), `None` after the last one; an
    /// error ends the pages.
    pub(crate) async fn next_page(&mut self, client: &crate::Client) -> Option<Result<Value>> {
        if self.done {
            return None;
        }
        let result = self.fetch(client).await;
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }

    async fn fetch(&mut self, client: &crate::Client) -> Result<Value> {
        if self.pages == self.page_limit {
            return Err(Error::new(
                Code::InvalidArgument,
                format!(
                    "the connection {} has more than {} pages (the page limit); raise the limit or narrow the query",
                    self.path.join("."),
                    self.page_limit
                ),
            ));
        }
        let mut variables = self.variables.clone();
        variables.insert("after".into(), self.after.clone().map_or(Value::Null, Value::String));
        let data = client.graphql(&self.query, Some(Value::Object(variables))).await?.into_data()?;
        let mut connection = &data;
        for field in &self.path {
            connection = connection.get(field).filter(|v| !v.is_null()).ok_or_else(|| {
                Error::new(
                    Code::ResponseInvalid,
                    format!("GraphQL: the answer has no connection at {:?}", self.path.join(".")),
                )
            })?;
        }
        let info = connection.get("pageInfo").ok_or_else(|| {
            Error::new(
                Code::InvalidArgument,
                format!("the query must select pageInfo {{ endCursor hasNextPage }} of {}", self.path.join(".")),
            )
        })?;
        let has_next = info.get("hasNextPage").and_then(Value::as_bool).unwrap_or(false);
        let end_cursor = info.get("endCursor").and_then(Value::as_str).map(String::from);
        self.pages += 1;
        match (has_next, end_cursor) {
            (true, Some(cursor)) if Some(&cursor) != self.after.as_ref() => self.after = Some(cursor),
            (true, _) => {
                return Err(Error::new(
                    Code::ResponseInvalid,
                    "GraphQL: hasNextPage without a new endCursor (the pager would not advance)",
                ))
            }
            (false, _) => self.done = true,
        }
        Ok(connection.clone())
    }
}

impl crate::Client {
    /// One Platform API request (protocol section 7): `POST {api_endpoint}/query` with
    /// `{"query", "variables"}`. The answer's `errors` are data here (see
    /// [`GraphQlResponse::into_data`]); a non-200 answer is an error (401 is
    /// `Code::RpcUnauthenticated`, with the server's text cut and escaped).
    ///
    /// The endpoint is the caller's (`ClientOptions::api_endpoint`), else
    /// `MONDOO_API_ENDPOINT`, else the config's, with `/query` appended unless there. The
    /// credential, first match wins: a config from `MONDOO_CONFIG_BASE64` or
    /// `MONDOO_CONFIG_PATH`, `MONDOO_API_TOKEN`, [`crate::ClientOptions::with_api_token`],
    /// then the config. A service account's bearer is shared by every handle and signed
    /// afresh only 10 s before it expires.
    ///
    /// ```no_run
    /// # async fn run(client: mondoo::Client) -> mondoo::Result<()> {
    /// let viewer = client.graphql("{ viewer { mrn name } }", None).await?.into_data()?;
    /// println!("{}", viewer["viewer"]["mrn"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn graphql(&self, query: &str, variables: Option<Value>) -> Result<GraphQlResponse> {
        let body = request_body(query, variables.as_ref())?;
        decode(&self.graphql_post(&body).await?)
    }

    /// [`crate::Client::graphql`] with typed variables and data: fails on `errors`
    /// (`Code::GraphqlErrors`); data that is not a `Data` is `Code::ResponseInvalid`.
    pub async fn graphql_typed<Vars, Data>(&self, query: &str, variables: &Vars) -> Result<Data>
    where
        Vars: Serialize + Sync,
        Data: for<'de> Deserialize<'de>,
    {
        let variables = serde_json::to_value(variables)
            .map_err(|e| Error::new(Code::InvalidArgument, format!("cannot encode GraphQL variables: {e}")))?;
        let data = self.graphql(query, Some(variables)).await?.into_data()?;
        serde_json::from_value(data).map_err(|e| {
            Error::new(Code::ResponseInvalid, format!("GraphQL: data is not the expected shape: {e}"))
                .with_http_status(200)
        })
    }

    /// The pages of the Relay connection at `path` (dotted, e.g. `"space.assets"`) in
    /// the answers to `query`, which must take `$after: String` and select `pageInfo {
    /// endCursor hasNextPage }`. Each item is the connection object of one page; the
    /// stream ends after the page whose `hasNextPage` is false. More than `page_limit`
    /// pages is an error (`Code::InvalidArgument`), never a silent truncation; an error
    /// ends the stream.
    pub fn graphql_pages(
        &self,
        query: &str,
        variables: Option<Value>,
        path: &str,
        page_limit: usize,
    ) -> Result<impl futures_core::Stream<Item = Result<Value>> + Send + 'static> {
        let pager = Pager::new(query, variables, path, page_limit)?;
        let client = self.clone();
        Ok(futures_util::stream::unfold((pager, client), |(mut pager, client)| async move {
            let page = pager.next_page(&client).await?;
            Some((page, (pager, client)))
        }))
    }
}

/// The blocking pager: [`crate::blocking::Client::graphql_pages`].
pub struct GraphQlPages {
    pager: Pager,
    client: crate::blocking::Client,
}

impl std::fmt::Debug for GraphQlPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphQlPages").field("path", &self.pager.path).field("pages", &self.pager.pages).finish()
    }
}

impl Iterator for GraphQlPages {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Result<Value>> {
        let GraphQlPages { pager, client } = self;
        let async_client = client.as_async().clone();
        match client.run("graphql", async move { Ok(pager.next_page(&async_client).await) }) {
            Ok(page) => page,
            Err(e) => {
                self.pager.done = true;
                Some(Err(e))
            }
        }
    }
}

impl crate::blocking::Client {
    /// See [`crate::Client::graphql`].
    pub fn graphql(&self, query: &str, variables: Option<Value>) -> Result<GraphQlResponse> {
        self.run("graphql", self.as_async().graphql(query, variables))
    }

    /// See [`crate::Client::graphql_typed`].
    pub fn graphql_typed<Vars, Data>(&self, query: &str, variables: &Vars) -> Result<Data>
    where
        Vars: Serialize + Sync,
        Data: for<'de> Deserialize<'de>,
    {
        self.run("graphql", self.as_async().graphql_typed(query, variables))
    }

    /// [`crate::Client::graphql_pages`] as an iterator.
    pub fn graphql_pages(
        &self,
        query: &str,
        variables: Option<Value>,
        path: &str,
        page_limit: usize,
    ) -> Result<GraphQlPages> {
        Ok(GraphQlPages { pager: Pager::new(query, variables, path, page_limit)?, client: self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_fail_into_data_but_not_into_partial_data() {
        let answer: GraphQlResponse = serde_json::from_value(json!({
            "data": {"viewer": null, "space": {"mrn": "//s"}},
            "errors": [{"message": "no\u{1b}[31m", "path": ["viewer"], "locations": [{"line": 1, "column": 3}],
                        "extensions": {"code": "NOT_FOUND"}}, {"message": "second"}]
        }))
        .unwrap();
        assert!(answer.has_errors());
        assert_eq!(answer.errors[0].locations[0], GraphQlLocation { line: 1, column: 3 });
        assert_eq!(answer.errors[0].extensions.as_ref().unwrap()["code"], "NOT_FOUND");
        let e = answer.clone().into_data().unwrap_err();
        assert_eq!(e.code(), Code::GraphqlErrors);
        assert!(!e.message().chars().any(char::is_control), "{}", e.message());
        assert!(e.message().contains("(and 1 more)"), "{}", e.message());
        assert_eq!(answer.into_partial_data().unwrap()["space"]["mrn"], "//s");
    }

    #[test]
    fn pager_arguments_are_checked() {
        assert!(Pager::new("q", None, "space..assets", 3).is_err());
        assert!(Pager::new("q", Some(json!([1])), "assets", 3).is_err());
        assert!(Pager::new("q", None, "assets", 0).is_err());
        assert_eq!(Pager::new("q", None, " space.assets ", 3).unwrap().path, ["space", "assets"]);
    }
}
