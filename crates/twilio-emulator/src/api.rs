//! Routing and the 20 operations of Accounts v1.
//!
//! Everything here is synchronous and runs under the account's lock: validate first, then
//! mutate, so a rejected request never changes state.

use hyper::{Method, StatusCode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;
use twilio_types::AuthToken;

use crate::error::ApiError;
use crate::faults::Faults;
use crate::form::{Params, encode};
use crate::random::hex32;
use crate::state::{Account, Consent, Contact, Credential, CredentialStore, Token};
use crate::validate::{COUNTRIES, country_index, is_e164, is_safelist_number, is_sid, parse_bool};

/// The largest number of `Items` one bulk request may carry (Twilio documents 25).
pub(crate) const MAX_BULK_ITEMS: usize = 25;
/// The largest number of `Permissions` one geo-permission update may carry.
pub(crate) const MAX_PERMISSIONS: usize = COUNTRIES.len();
/// `FriendlyName` limit, in characters.
const MAX_FRIENDLY_NAME: usize = 64;

/// A resource path the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource<'a> {
    Promote,
    Secondary,
    ConsentsBulk,
    ContactsBulk,
    AwsList,
    Aws(&'a str),
    PublicKeyList,
    PublicKey(&'a str),
    GeoPermissions,
    SafeList,
}

/// Maps a path to a resource. A path with a malformed SID matches nothing (404).
pub(crate) fn resolve(path: &str) -> Option<Resource<'_>> {
    Some(match path {
        "/v1/AuthTokens/Promote" => Resource::Promote,
        "/v1/AuthTokens/Secondary" => Resource::Secondary,
        "/v1/Consents/Bulk" => Resource::ConsentsBulk,
        "/v1/Contacts/Bulk" => Resource::ContactsBulk,
        "/v1/Credentials/AWS" => Resource::AwsList,
        "/v1/Credentials/PublicKeys" => Resource::PublicKeyList,
        "/v1/Messaging/GeoPermissions" => Resource::GeoPermissions,
        "/v1/SafeList/Numbers" => Resource::SafeList,
        _ => {
            if let Some(sid) = path.strip_prefix("/v1/Credentials/AWS/") {
                if is_sid(sid, "CR") {
                    return Some(Resource::Aws(sid));
                }
            } else if let Some(sid) = path.strip_prefix("/v1/Credentials/PublicKeys/")
                && is_sid(sid, "CR")
            {
                return Some(Resource::PublicKey(sid));
            }
            return None;
        }
    })
}

/// The kind of credential an operation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    Aws,
    PublicKey,
}

impl CredentialKind {
    fn collection_path(self) -> &'static str {
        match self {
            Self::Aws => "/v1/Credentials/AWS",
            Self::PublicKey => "/v1/Credentials/PublicKeys",
        }
    }

    fn secret_param(self) -> &'static str {
        match self {
            Self::Aws => "Credentials",
            Self::PublicKey => "PublicKey",
        }
    }

    fn store(self, account: &mut Account) -> &mut CredentialStore {
        match self {
            Self::Aws => &mut account.aws,
            Self::PublicKey => &mut account.public_keys,
        }
    }
}

/// One of the 20 operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation<'a> {
    Promote,
    CreateSecondary,
    DeleteSecondary,
    CreateBulkConsents,
    CreateBulkContacts,
    ListCredentials(CredentialKind),
    CreateCredential(CredentialKind),
    FetchCredential(CredentialKind, &'a str),
    UpdateCredential(CredentialKind, &'a str),
    DeleteCredential(CredentialKind, &'a str),
    FetchGeoPermissions,
    UpdateGeoPermissions,
    CreateSafelist,
    FetchSafelist,
    DeleteSafelist,
}

impl Operation<'_> {
    /// Whether the operation takes a form body (POST and PATCH).
    pub(crate) fn takes_body(self) -> bool {
        matches!(
            self,
            Self::Promote
                | Self::CreateSecondary
                | Self::CreateBulkConsents
                | Self::CreateBulkContacts
                | Self::CreateCredential(_)
                | Self::UpdateCredential(..)
                | Self::UpdateGeoPermissions
                | Self::CreateSafelist
        )
    }
}

/// Picks the operation for `method` on `resource`, or answers 405 with `Allow`.
pub(crate) fn operation<'a>(
    resource: Resource<'a>,
    method: &Method,
) -> Result<Operation<'a>, ApiError> {
    use CredentialKind::{Aws, PublicKey};
    let m = method;
    let op = match resource {
        Resource::Promote if m == Method::POST => Operation::Promote,
        Resource::Promote => return Err(ApiError::method_not_allowed("POST")),
        Resource::Secondary if m == Method::POST => Operation::CreateSecondary,
        Resource::Secondary if m == Method::DELETE => Operation::DeleteSecondary,
        Resource::Secondary => return Err(ApiError::method_not_allowed("POST, DELETE")),
        Resource::ConsentsBulk if m == Method::POST => Operation::CreateBulkConsents,
        Resource::ContactsBulk if m == Method::POST => Operation::CreateBulkContacts,
        Resource::ConsentsBulk | Resource::ContactsBulk => {
            return Err(ApiError::method_not_allowed("POST"));
        }
        Resource::AwsList if m == Method::GET => Operation::ListCredentials(Aws),
        Resource::AwsList if m == Method::POST => Operation::CreateCredential(Aws),
        Resource::PublicKeyList if m == Method::GET => Operation::ListCredentials(PublicKey),
        Resource::PublicKeyList if m == Method::POST => Operation::CreateCredential(PublicKey),
        Resource::AwsList | Resource::PublicKeyList => {
            return Err(ApiError::method_not_allowed("GET, POST"));
        }
        Resource::Aws(sid) if m == Method::GET => Operation::FetchCredential(Aws, sid),
        Resource::Aws(sid) if m == Method::POST => Operation::UpdateCredential(Aws, sid),
        Resource::Aws(sid) if m == Method::DELETE => Operation::DeleteCredential(Aws, sid),
        Resource::PublicKey(sid) if m == Method::GET => Operation::FetchCredential(PublicKey, sid),
        Resource::PublicKey(sid) if m == Method::POST => {
            Operation::UpdateCredential(PublicKey, sid)
        }
        Resource::PublicKey(sid) if m == Method::DELETE => {
            Operation::DeleteCredential(PublicKey, sid)
        }
        Resource::Aws(_) | Resource::PublicKey(_) => {
            return Err(ApiError::method_not_allowed("GET, POST, DELETE"));
        }
        Resource::GeoPermissions if m == Method::GET => Operation::FetchGeoPermissions,
        Resource::GeoPermissions if m == Method::PATCH => Operation::UpdateGeoPermissions,
        Resource::GeoPermissions => return Err(ApiError::method_not_allowed("GET, PATCH")),
        Resource::SafeList if m == Method::POST => Operation::CreateSafelist,
        Resource::SafeList if m == Method::GET => Operation::FetchSafelist,
        Resource::SafeList if m == Method::DELETE => Operation::DeleteSafelist,
        Resource::SafeList => return Err(ApiError::method_not_allowed("GET, POST, DELETE")),
    };
    Ok(op)
}

/// A successful answer: status and JSON body (none for 204).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Vec<u8>>,
}

impl Reply {
    fn json(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            body: Some(value.to_string().into_bytes()),
        }
    }

    fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
        }
    }
}

/// Per-request facts the operations need.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) path: &'a str,
    pub(crate) now: OffsetDateTime,
    pub(crate) instant: Instant,
    pub(crate) faults: &'a Faults,
}

impl Context<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// The current time, whole seconds (Twilio's timestamps carry no fractions).
pub(crate) fn now_utc() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn timestamp(t: OffsetDateTime) -> String {
    twilio_types::timestamp::format(&t)
}

/// Runs `op` against `account`.
pub(crate) fn execute(
    op: Operation<'_>,
    account: &mut Account,
    ctx: &Context<'_>,
    query: &Params,
    form: &Params,
) -> Result<Reply, ApiError> {
    match op {
        Operation::CreateSecondary => create_secondary(account, ctx, form),
        Operation::DeleteSecondary => delete_secondary(account, ctx, query),
        Operation::Promote => promote(account, ctx, form),
        Operation::ListCredentials(kind) => list_credentials(kind, account, ctx, query),
        Operation::CreateCredential(kind) => create_credential(kind, account, ctx, form),
        Operation::FetchCredential(kind, sid) => {
            let store = kind.store(account);
            let credential = store
                .get(sid)
                .ok_or_else(|| ApiError::not_found(ctx.path))?;
            Ok(Reply::json(
                StatusCode::OK,
                &credential_json(kind, credential, ctx),
            ))
        }
        Operation::UpdateCredential(kind, sid) => update_credential(kind, sid, account, ctx, form),
        Operation::DeleteCredential(kind, sid) => {
            kind.store(account)
                .remove(sid)
                .ok_or_else(|| ApiError::not_found(ctx.path))?;
            Ok(Reply::no_content())
        }
        Operation::CreateSafelist => create_safelist(account, form),
        Operation::FetchSafelist => {
            let number = safelist_param(query)?;
            let sid = account
                .safelist
                .get(number)
                .ok_or_else(|| ApiError::not_found(ctx.path))?;
            Ok(Reply::json(
                StatusCode::OK,
                &json!({ "sid": sid, "phone_number": number }),
            ))
        }
        Operation::DeleteSafelist => {
            let number = safelist_param(query)?;
            account
                .safelist
                .remove(number)
                .ok_or_else(|| ApiError::not_found(ctx.path))?;
            Ok(Reply::no_content())
        }
        Operation::CreateBulkConsents => bulk_consents(account, form),
        Operation::CreateBulkContacts => bulk_contacts(account, form),
        Operation::FetchGeoPermissions => fetch_geo(account, query),
        Operation::UpdateGeoPermissions => update_geo(account, form),
    }
}

fn suppress_email(params: &Params) -> Result<bool, ApiError> {
    match params.get("SuppressEmailNotification") {
        None => Ok(false),
        Some(v) => parse_bool(v)
            .ok_or_else(|| ApiError::invalid("SuppressEmailNotification", "must be true or false")),
    }
}

fn new_token() -> Result<AuthToken, ApiError> {
    let hex = hex32("").map_err(|_| ApiError::internal("Random number generator failed"))?;
    AuthToken::new(hex).map_err(|_| ApiError::internal("Generated token was rejected"))
}

fn create_secondary(
    account: &mut Account,
    ctx: &Context<'_>,
    form: &Params,
) -> Result<Reply, ApiError> {
    let suppress = suppress_email(form)?;
    let token = new_token()?;
    let usable_at = match ctx.faults.propagation_nanos() {
        0 => None,
        // A delay so long that it overflows the clock means "never".
        nanos => Some(
            ctx.instant
                .checked_add(std::time::Duration::from_nanos(nanos))
                .unwrap_or_else(|| far_future(ctx.instant)),
        ),
    };
    // The hot path of the benchmark: rendered by hand. Every value is JSON-safe as is
    // (a validated SID, RFC 3339 digits, hex, and a base URL made of an IP and a port).
    let now = timestamp(ctx.now);
    let mut body = Vec::with_capacity(256);
    for part in [
        "{\"account_sid\":\"",
        account.sid.as_str(),
        "\",\"date_created\":\"",
        &now,
        "\",\"date_updated\":\"",
        &now,
        "\",\"secondary_auth_token\":\"",
        token.expose_secret(),
        "\",\"url\":\"",
        ctx.base_url,
        "/v1/AuthTokens/Secondary\"}",
    ] {
        body.extend_from_slice(part.as_bytes());
    }
    // Creating again replaces the existing secondary token (see the crate docs).
    account.secondary = Some(Token {
        value: token,
        created: ctx.now,
        usable_at,
    });
    if !suppress {
        account.email_notifications += 1;
    }
    Ok(Reply {
        status: StatusCode::CREATED,
        body: Some(body),
    })
}

fn far_future(now: Instant) -> Instant {
    let year = std::time::Duration::from_secs(365 * 24 * 3600);
    let mut at = now;
    for _ in 0..100 {
        match at.checked_add(year) {
            Some(next) => at = next,
            None => break,
        }
    }
    at
}

fn delete_secondary(
    account: &mut Account,
    ctx: &Context<'_>,
    query: &Params,
) -> Result<Reply, ApiError> {
    let suppress = suppress_email(query)?;
    if account.secondary.take().is_none() {
        return Err(ApiError::not_found(ctx.path));
    }
    if !suppress {
        account.email_notifications += 1;
    }
    Ok(Reply::no_content())
}

fn promote(account: &mut Account, ctx: &Context<'_>, form: &Params) -> Result<Reply, ApiError> {
    let suppress = suppress_email(form)?;
    let secondary = account
        .secondary
        .take()
        .ok_or_else(|| ApiError::not_found(ctx.path))?;
    let body = json!({
        "account_sid": account.sid.as_str(),
        "auth_token": secondary.value.expose_secret(),
        "date_created": timestamp(secondary.created),
        "date_updated": timestamp(ctx.now),
        "url": ctx.url("/v1/AuthTokens/Promote"),
    });
    account.primary = Token {
        value: secondary.value,
        created: secondary.created,
        usable_at: None,
    };
    if !suppress {
        account.email_notifications += 1;
    }
    Ok(Reply::json(StatusCode::OK, &body))
}

fn credential_json(kind: CredentialKind, c: &Credential, ctx: &Context<'_>) -> Value {
    json!({
        "account_sid": c.account_sid,
        "date_created": timestamp(c.created),
        "date_updated": timestamp(c.updated),
        "friendly_name": c.friendly_name,
        "sid": c.sid,
        "url": format!("{}{}/{}", ctx.base_url, kind.collection_path(), c.sid),
    })
}

fn friendly_name(form: &Params) -> Result<Option<String>, ApiError> {
    match form.get("FriendlyName") {
        None => Ok(None),
        Some(name) if name.chars().count() > MAX_FRIENDLY_NAME => Err(ApiError::invalid(
            "FriendlyName",
            "must be at most 64 characters long",
        )),
        Some(name) => Ok(Some(name.to_owned())),
    }
}

fn check_secret(kind: CredentialKind, value: &str) -> Result<(), ApiError> {
    let param = kind.secret_param();
    match kind {
        CredentialKind::Aws => {
            let valid = value.split_once(':').is_some_and(|(id, secret)| {
                !id.is_empty() && !secret.is_empty() && !id.contains(char::is_whitespace)
            });
            if !valid {
                return Err(ApiError::invalid(
                    param,
                    "must have the form <AWS_ACCESS_KEY_ID>:<AWS_SECRET_ACCESS_KEY>",
                ));
            }
        }
        CredentialKind::PublicKey => {
            let body = value.trim();
            if !(body.starts_with("-----BEGIN PUBLIC KEY-----")
                && body.ends_with("-----END PUBLIC KEY-----")
                && body.len() > "-----BEGIN PUBLIC KEY----------END PUBLIC KEY-----".len())
            {
                return Err(ApiError::invalid(
                    param,
                    "must be a PEM public key (-----BEGIN PUBLIC KEY-----...-----END PUBLIC KEY-----)",
                ));
            }
        }
    }
    Ok(())
}

fn create_credential(
    kind: CredentialKind,
    account: &mut Account,
    ctx: &Context<'_>,
    form: &Params,
) -> Result<Reply, ApiError> {
    let param = kind.secret_param();
    let secret = form.get(param).ok_or_else(|| ApiError::missing(param))?;
    check_secret(kind, secret)?;
    let name = friendly_name(form)?;
    let owner = match form.get("AccountSid") {
        None => account.sid.as_str().to_owned(),
        Some(sid) if is_sid(sid, "AC") => sid.to_owned(),
        Some(_) => {
            return Err(ApiError::invalid(
                "AccountSid",
                "must match ^AC[0-9a-fA-F]{32}$",
            ));
        }
    };
    let sid = hex32("CR").map_err(|_| ApiError::internal("Random number generator failed"))?;
    let credential = Credential {
        sid,
        account_sid: owner,
        friendly_name: name,
        created: ctx.now,
        updated: ctx.now,
    };
    let body = credential_json(kind, &credential, ctx);
    kind.store(account).insert(credential);
    Ok(Reply::json(StatusCode::CREATED, &body))
}

fn update_credential(
    kind: CredentialKind,
    sid: &str,
    account: &mut Account,
    ctx: &Context<'_>,
    form: &Params,
) -> Result<Reply, ApiError> {
    let name = friendly_name(form)?;
    let credential = kind
        .store(account)
        .get_mut(sid)
        .ok_or_else(|| ApiError::not_found(ctx.path))?;
    if let Some(name) = name {
        credential.friendly_name = Some(name);
        credential.updated = ctx.now;
    }
    let body = credential_json(kind, credential, ctx);
    Ok(Reply::json(StatusCode::OK, &body))
}

/// Decoded `PageToken`: `PA<n>` = after sequence n, `PB<n>` = before sequence n.
enum PageToken {
    After(u64),
    Before(u64),
}

fn parse_page_token(token: &str) -> Option<PageToken> {
    let digits_ok =
        |d: &str| !d.is_empty() && d.len() <= 20 && d.bytes().all(|b| b.is_ascii_digit());
    if let Some(d) = token.strip_prefix("PA").filter(|d| digits_ok(d)) {
        return d.parse().ok().map(PageToken::After);
    }
    if let Some(d) = token.strip_prefix("PB").filter(|d| digits_ok(d)) {
        return d.parse().ok().map(PageToken::Before);
    }
    None
}

/// The largest `PageSize` Twilio accepts; larger ones answer error 20007.
const MAX_PAGE_SIZE: u64 = 1000;

fn list_credentials(
    kind: CredentialKind,
    account: &mut Account,
    ctx: &Context<'_>,
    query: &Params,
) -> Result<Reply, ApiError> {
    let page_size = match query.get("PageSize") {
        None => 50,
        Some(v) => match v.parse::<u64>() {
            Ok(n @ 1..=MAX_PAGE_SIZE) => n,
            Ok(n) if n > MAX_PAGE_SIZE => {
                return Err(ApiError::page_size_too_large(MAX_PAGE_SIZE));
            }
            // Digits beyond u64 are still a number, just a very large one.
            Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(ApiError::page_size_too_large(MAX_PAGE_SIZE));
            }
            _ => {
                return Err(ApiError::invalid(
                    "PageSize",
                    "must be an integer from 1 to 1000",
                ));
            }
        },
    };
    let page = match query.get("Page") {
        None => 0,
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| ApiError::invalid("Page", "must be an integer >= 0"))?,
    };
    let token = match query.get("PageToken") {
        None => None,
        Some(t) => Some(
            parse_page_token(t)
                .ok_or_else(|| ApiError::invalid("PageToken", "not a token from this API"))?,
        ),
    };
    let store = kind.store(account);
    // page_size <= 1000, so the conversion cannot truncate.
    let n = usize::try_from(page_size).unwrap_or(1000);
    let items = match token {
        None => store.page_after(None, n),
        Some(PageToken::After(seq)) => store.page_after(Some(seq), n),
        Some(PageToken::Before(seq)) => store.page_before(seq, n),
    };
    let path = kind.collection_path();
    let base = format!("{}{}", ctx.base_url, path);
    let next = items
        .last()
        .filter(|(seq, _)| store.any_after(*seq))
        .map(|(seq, _)| {
            format!(
                "{base}?PageSize={page_size}&Page={}&PageToken=PA{seq}",
                page.saturating_add(1)
            )
        });
    let previous = items
        .first()
        .filter(|(seq, _)| store.any_before(*seq))
        .map(|(seq, _)| {
            format!(
                "{base}?PageSize={page_size}&Page={}&PageToken=PB{seq}",
                page.saturating_sub(1)
            )
        });
    let mut url = format!("{base}?PageSize={page_size}&Page={page}");
    if let Some(t) = query.get("PageToken") {
        url.push_str("&PageToken=");
        url.push_str(&encode(t));
    }
    let credentials: Vec<Value> = items
        .iter()
        .map(|(_, c)| credential_json(kind, c, ctx))
        .collect();
    let body = json!({
        "credentials": credentials,
        "meta": {
            "first_page_url": format!("{base}?PageSize={page_size}&Page=0"),
            "key": "credentials",
            "next_page_url": next,
            "page": page,
            "page_size": page_size,
            "previous_page_url": previous,
            "url": url,
        },
    });
    Ok(Reply::json(StatusCode::OK, &body))
}

fn create_safelist(account: &mut Account, form: &Params) -> Result<Reply, ApiError> {
    let number = safelist_param(form)?;
    let sid = match account.safelist.get(number) {
        Some(sid) => sid.clone(),
        None => {
            let sid =
                hex32("GN").map_err(|_| ApiError::internal("Random number generator failed"))?;
            account.safelist.insert(number.to_owned(), sid.clone());
            sid
        }
    };
    Ok(Reply::json(
        StatusCode::CREATED,
        &json!({ "sid": sid, "phone_number": number }),
    ))
}

fn safelist_param(params: &Params) -> Result<&str, ApiError> {
    let number = params
        .get("PhoneNumber")
        .ok_or_else(|| ApiError::missing("PhoneNumber"))?;
    if !is_safelist_number(number) {
        return Err(ApiError::invalid(
            "PhoneNumber",
            "must be an E.164 phone number or a 1k prefix (+ and 4 to 15 digits)",
        ));
    }
    Ok(number)
}

/// Parses the repeated JSON-object form values of `param` (`Items`, `Permissions`).
fn json_objects(
    form: &Params,
    param: &str,
    max: usize,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut objects = Vec::new();
    for (i, raw) in form.get_all(param).enumerate() {
        if i >= max {
            return Err(ApiError::invalid(
                param,
                &format!("at most {max} items per request"),
            ));
        }
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => objects.push(map),
            _ => {
                return Err(ApiError::invalid(
                    param,
                    &format!("item {i} is not a JSON-encoded object"),
                ));
            }
        }
    }
    if objects.is_empty() {
        return Err(ApiError::missing(param));
    }
    Ok(objects)
}

fn str_field<'a>(item: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    item.get(key).and_then(Value::as_str)
}

fn valid_correlation_id(item: &Map<String, Value>) -> bool {
    str_field(item, "correlation_id")
        .is_some_and(|c| c.len() == 32 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn item_result(item: &Map<String, Value>, code: u32, errors: Vec<&'static str>) -> Value {
    let code = if errors.is_empty() { 0 } else { code };
    json!({
        "correlation_id": item.get("correlation_id").filter(|v| v.is_string()),
        "error_code": code,
        "error_messages": errors,
    })
}

/// The shape both bulk operations share: parse `Items`, check each item's `contact_id` and
/// `correlation_id`, let `check_and_store` check the rest of the item (pushing error
/// messages) and store it when everything is valid, and answer one result per item with
/// `error_code` 0, or `error_code` when the item had errors.
fn bulk(
    form: &Params,
    error_code: u32,
    mut check_and_store: impl FnMut(&Map<String, Value>, Option<&str>, &mut Vec<&'static str>),
) -> Result<Reply, ApiError> {
    let items = json_objects(form, "Items", MAX_BULK_ITEMS)?;
    let mut results = Vec::with_capacity(items.len());
    for item in &items {
        let mut errors = Vec::new();
        let contact = str_field(item, "contact_id").filter(|c| is_e164(c));
        if contact.is_none() {
            errors.push("INVALID_CONTACT_ID");
        }
        if !valid_correlation_id(item) {
            errors.push("INVALID_CORRELATION_ID");
        }
        check_and_store(item, contact, &mut errors);
        results.push(item_result(item, error_code, errors));
    }
    Ok(Reply::json(
        StatusCode::CREATED,
        &json!({ "items": results }),
    ))
}

/// An optional string field: absent or `null` is `Ok(None)`; a string that `valid` accepts is
/// `Ok(Some(normalised))`; anything else is `Err(())`.
fn optional_str(
    item: &Map<String, Value>,
    key: &str,
    valid: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ()> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => valid(s).map(Some).ok_or(()),
        Some(_) => Err(()),
    }
}

fn bulk_consents(account: &mut Account, form: &Params) -> Result<Reply, ApiError> {
    bulk(form, 30646, |item, contact, errors| {
        let sender = str_field(item, "sender_id").filter(|s| {
            is_sid(s, "MG")
                || is_e164(s)
                || ((3..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        });
        if sender.is_none() {
            errors.push("INVALID_SENDER_ID");
        }
        let status = str_field(item, "status").filter(|s| matches!(*s, "opt-in" | "opt-out"));
        if status.is_none() {
            errors.push("INVALID_STATUS");
        }
        let source = str_field(item, "source").filter(|s| {
            matches!(
                *s,
                "website" | "offline" | "opt-in-message" | "opt-out-message" | "others"
            )
        });
        if source.is_none() {
            errors.push("INVALID_SOURCE");
        }
        let date = optional_str(item, "date_of_consent", |s| {
            OffsetDateTime::parse(s, &Rfc3339)
                .ok()
                .map(|_| s.to_owned())
        });
        if date.is_err() {
            errors.push("INVALID_DATE_OF_CONSENT");
        }
        if let (true, Some(contact), Some(sender), Some(status), Some(source), Ok(date)) =
            (errors.is_empty(), contact, sender, status, source, date)
        {
            account.consents.insert(
                (contact.to_owned(), sender.to_owned()),
                Consent {
                    status: status.to_owned(),
                    source: source.to_owned(),
                    date_of_consent: date,
                },
            );
        }
    })
}

fn bulk_contacts(account: &mut Account, form: &Params) -> Result<Reply, ApiError> {
    bulk(form, 30647, |item, contact, errors| {
        let country = optional_str(item, "country_iso_code", |s| {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
                .then(|| s.to_ascii_uppercase())
        });
        if country.is_err() {
            errors.push("INVALID_COUNTRY_ISO_CODE");
        }
        let zip = optional_str(item, "zip_code", |s| {
            ((1..=16).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-'))
            .then(|| s.to_owned())
        });
        if zip.is_err() {
            errors.push("INVALID_ZIP_CODE");
        }
        if let (true, Some(contact), Ok(country_iso_code), Ok(zip_code)) =
            (errors.is_empty(), contact, country, zip)
        {
            account.contacts.insert(
                contact.to_owned(),
                Contact {
                    country_iso_code,
                    zip_code,
                },
            );
        }
    })
}

fn fetch_geo(account: &mut Account, query: &Params) -> Result<Reply, ApiError> {
    let indices: Vec<usize> = match query.get("CountryCode") {
        None => (0..COUNTRIES.len()).collect(),
        Some(list) => {
            let mut indices = Vec::new();
            for code in list.split(',').map(str::trim) {
                let i = country_index(code).ok_or_else(|| {
                    ApiError::invalid(
                        "CountryCode",
                        "must be a comma-separated list of known ISO country codes",
                    )
                })?;
                if !indices.contains(&i) {
                    indices.push(i);
                }
            }
            indices
        }
    };
    let permissions: Vec<Value> = indices
        .into_iter()
        .map(|i| {
            let c = &COUNTRIES[i];
            json!({
                "country_code": c.code,
                "type": "country",
                "enabled": account.geo[i],
                "prefix": c.prefix,
                "message": if c.high_risk { "High Risk Country" } else { "" },
            })
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        &json!({ "permissions": permissions }),
    ))
}

fn update_geo(account: &mut Account, form: &Params) -> Result<Reply, ApiError> {
    let items = json_objects(form, "Permissions", MAX_PERMISSIONS)?;
    let mut changes = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let index = str_field(item, "country_code")
            .and_then(country_index)
            .ok_or_else(|| {
                ApiError::invalid(
                    "Permissions",
                    &format!("item {n} has no known country_code"),
                )
            })?;
        if str_field(item, "type") != Some("country") {
            return Err(ApiError::invalid(
                "Permissions",
                &format!("item {n}: type must be \"country\""),
            ));
        }
        let enabled = item
            .get("enabled")
            .and_then(Value::as_bool)
            .ok_or_else(|| {
                ApiError::invalid(
                    "Permissions",
                    &format!("item {n}: enabled must be a boolean"),
                )
            })?;
        changes.push((index, enabled));
    }
    let results: Vec<Value> = changes
        .into_iter()
        .map(|(i, enabled)| {
            let c = &COUNTRIES[i];
            if c.high_risk {
                json!({
                    "country_code": c.code,
                    "type": "country",
                    "enabled": account.geo[i],
                    "error_code": 30649,
                    "error_messages": ["High risk country permission cannot be updated"],
                })
            } else {
                account.geo[i] = enabled;
                json!({
                    "country_code": c.code,
                    "type": "country",
                    "enabled": enabled,
                    "error_code": 0,
                    "error_messages": [],
                })
            }
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        &json!({ "permissions": results }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        assert_eq!(resolve("/v1/AuthTokens/Promote"), Some(Resource::Promote));
        let sid = "CR0123456789abcdef0123456789abcdef";
        assert_eq!(
            resolve(&format!("/v1/Credentials/AWS/{sid}")),
            Some(Resource::Aws(sid))
        );
        assert_eq!(
            resolve(&format!("/v1/Credentials/PublicKeys/{sid}")),
            Some(Resource::PublicKey(sid))
        );
        assert_eq!(resolve("/v1/Credentials/AWS/CRnothex"), None);
        assert_eq!(resolve("/v1/Credentials/AWS/"), None);
        assert_eq!(resolve("/v1/Credentials"), None);
        assert_eq!(resolve("/v1/AuthTokens/Promote/"), None);
        assert_eq!(resolve(""), None);
    }

    #[test]
    fn methods_map_to_operations() {
        assert_eq!(
            operation(Resource::Promote, &Method::POST).unwrap(),
            Operation::Promote
        );
        let err = operation(Resource::Promote, &Method::GET).unwrap_err();
        assert_eq!(err.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(err.headers, [("allow", "POST".to_owned())]);
        assert_eq!(
            operation(Resource::GeoPermissions, &Method::PATCH).unwrap(),
            Operation::UpdateGeoPermissions
        );
        assert!(operation(Resource::SafeList, &Method::PUT).is_err());
        assert!(Operation::UpdateGeoPermissions.takes_body());
        assert!(!Operation::DeleteSecondary.takes_body());
    }

    proptest::proptest! {
        #[test]
        fn page_tokens_round_trip(n in proptest::num::u64::ANY) {
            let after = parse_page_token(&format!("PA{n}"));
            let before = parse_page_token(&format!("PB{n}"));
            proptest::prop_assert!(matches!(after, Some(PageToken::After(m)) if m == n));
            proptest::prop_assert!(matches!(before, Some(PageToken::Before(m)) if m == n));
        }

        #[test]
        fn arbitrary_page_tokens_never_panic(token in ".{0,40}") {
            let _ = parse_page_token(&token);
        }

        #[test]
        fn credential_paths_resolve_exactly_when_the_sid_is_valid(
            path in "/v1/Credentials/(AWS|PublicKeys)/(CR|GN|cr)?[0-9a-fA-F]{30,34}",
        ) {
            let suffix = path.rsplit('/').next().unwrap_or_default();
            let resolved = resolve(&path);
            proptest::prop_assert_eq!(resolved.is_some(), is_sid(suffix, "CR"), "{}", path);
            if let Some(Resource::Aws(sid) | Resource::PublicKey(sid)) = resolved {
                proptest::prop_assert_eq!(sid, suffix);
            }
        }
    }

    #[test]
    fn page_tokens() {
        assert!(matches!(
            parse_page_token("PA12"),
            Some(PageToken::After(12))
        ));
        assert!(matches!(
            parse_page_token("PB0"),
            Some(PageToken::Before(0))
        ));
        assert!(parse_page_token("PA").is_none());
        assert!(parse_page_token("PA-1").is_none());
        assert!(parse_page_token("PA99999999999999999999").is_none());
        assert!(parse_page_token("XY1").is_none());
    }
}
