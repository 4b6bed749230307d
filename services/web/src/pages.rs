//! The public pages: a start page per product, one page per question (or
//! a few closely related ones), check your answers, the confirmation, and
//! the status check. Post/redirect/get throughout; every POST carries the
//! session's CSRF token; every page works without JavaScript.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use casework_contracts::views::Acknowledgement;
use casework_runtime::Problem;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assets::{self, Assets};
use crate::forms::{Answers, Component, Form, Page, Question};
use crate::session::{Session, Submitted};
use crate::{Web, WebError};

/// The Content-Security-Policy of every page: scripts from here, plus the
/// one inline script of the page template (`govuk-frontend-supported`), by
/// its SHA-256.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self' 'sha256-GUQ5ad8JK5KmEWmROf3LZd9ge94daqNvd8xy9YS1iDw='; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Largest form body accepted.
const FORM_LIMIT: usize = 64 * 1024;

/// The pages' routes, all public to the API gateway's policy table (it
/// reads [`openapi`]): the desk's pages check the signed-in user themselves,
/// and the APIs they call check the user's token.
const ROUTES: [(&str, &str); 32] = [
    ("GET", "/"),
    ("GET", "/apply/{product}"),
    ("GET", "/apply/{product}/check"),
    ("POST", "/apply/{product}/check"),
    ("GET", "/apply/{product}/confirmation"),
    ("GET", "/apply/{product}/{page}"),
    ("POST", "/apply/{product}/{page}"),
    ("GET", "/status"),
    ("POST", "/status"),
    ("GET", "/assets/{path:.*}"),
    ("GET", "/govuk-frontend.min.{kind}"),
    ("GET", "/app.mjs"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/sign-in/callback"),
    ("POST", "/sign-out"),
    ("GET", "/desk"),
    ("GET", "/desk/search"),
    ("GET", "/desk/alerts"),
    ("GET", "/desk/audit"),
    ("POST", "/desk/alerts/{id}/acknowledge"),
    ("GET", "/desk/reviews"),
    ("GET", "/desk/reviews/{id}"),
    ("POST", "/desk/reviews/{id}"),
    ("GET", "/desk/persons/{id}"),
    ("POST", "/desk/persons/{id}/split"),
    ("POST", "/desk/persons/{id}/merge"),
    ("GET", "/desk/cases/{reference}"),
    ("POST", "/desk/cases/{reference}/decision"),
    ("POST", "/desk/cases/{reference}/approval"),
    ("POST", "/desk/cases/{reference}/checks/{check}/retry"),
    ("POST", "/oauth/token"),
];

pub(crate) fn routes(
    cfg: &mut web::ServiceConfig,
    state: web::Data<Web>,
    files: web::Data<Assets>,
) {
    let form_config = web::FormConfig::default()
        .limit(FORM_LIMIT)
        .error_handler(|err, _| {
            tracing::info!(error = %err, "form body refused");
            Problem::bad_request(format!("the form could not be read: {err}")).into()
        });
    cfg.app_data(state)
        .app_data(files)
        .app_data(form_config)
        .route("/", web::get().to(index))
        .route("/apply/{product}", web::get().to(start))
        .route("/apply/{product}/check", web::get().to(check))
        .route("/apply/{product}/check", web::post().to(submit))
        .route("/apply/{product}/confirmation", web::get().to(confirmation))
        .route("/apply/{product}/{page}", web::get().to(question))
        .route("/apply/{product}/{page}", web::post().to(answer))
        .route("/status", web::get().to(status_form))
        .route("/status", web::post().to(crate::status::check))
        .route("/assets/{path:.*}", web::get().to(assets::under_assets))
        .route("/govuk-frontend.min.{kind}", web::get().to(assets::bundle))
        .route("/app.mjs", web::get().to(assets::app))
        .route("/sign-in", web::get().to(crate::signin::form))
        .route("/sign-in", web::post().to(crate::signin::submit))
        .route("/sign-in/callback", web::get().to(crate::signin::callback))
        .route("/sign-out", web::post().to(crate::signin::sign_out))
        .route("/desk", web::get().to(crate::desk::queue))
        .route("/desk/search", web::get().to(crate::desk::search))
        .route("/desk/alerts", web::get().to(crate::desk::alerts))
        .route("/desk/audit", web::get().to(crate::desk::audit))
        .route(
            "/desk/alerts/{id}/acknowledge",
            web::post().to(crate::desk::acknowledge),
        )
        .route("/desk/reviews", web::get().to(crate::people::reviews))
        .route("/desk/reviews/{id}", web::get().to(crate::people::review))
        .route("/desk/reviews/{id}", web::post().to(crate::people::settle))
        .route("/desk/persons/{id}", web::get().to(crate::people::person))
        .route(
            "/desk/persons/{id}/split",
            web::post().to(crate::people::split),
        )
        .route(
            "/desk/persons/{id}/merge",
            web::post().to(crate::people::merge),
        )
        .route("/desk/cases/{reference}", web::get().to(crate::desk::case))
        .route(
            "/desk/cases/{reference}/decision",
            web::post().to(crate::desk::decide),
        )
        .route(
            "/desk/cases/{reference}/approval",
            web::post().to(crate::desk::approve),
        )
        .route(
            "/desk/cases/{reference}/checks/{check}/retry",
            web::post().to(crate::desk::retry),
        )
        .service(
            web::resource("/oauth/token")
                .app_data(crate::clients::form_config())
                .route(web::post().to(crate::clients::token)),
        );
}

/// The pages as an OpenAPI document: only so the access policy (deny by
/// default) knows every route is public. CSRF guards their POSTs.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{InfoBuilder, OpenApiBuilder, Paths};
    let mut paths = Paths::new();
    for (method, path) in ROUTES {
        let method = if method == "GET" {
            HttpMethod::Get
        } else {
            HttpMethod::Post
        };
        let operation = OperationBuilder::new()
            .security(SecurityRequirement::default())
            .build();
        paths.add_path_operation(path, vec![method], operation);
    }
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("Web pages").version("1").build())
        .paths(paths)
        .build()
}

/// The applicant's address for `X-Forwarded-For` when the front end calls a
/// public API for them: Register limits public requests per address, and
/// every applicant would otherwise be this one process.
pub(crate) fn forwarded_for(req: &HttpRequest) -> String {
    casework_runtime::http::client_address(req)
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// A page, or the page that says what went wrong.
pub(crate) type PageResult = Result<HttpResponse, PageError>;

/// Why a page could not be shown: each is a page of its own.
#[derive(Debug)]
pub(crate) enum PageError {
    /// No such product or page.
    NotFound,
    /// The session ended, or the form's token is not the session's.
    Expired,
    /// Our fault, or a service's.
    Unavailable(WebError),
    /// Staff only: sign in, then come back to this path.
    SignIn(String),
    /// The signed-in user's roles may not see it.
    Forbidden,
    /// The identity provider's answer could not be accepted.
    SignInFailed,
}

impl From<WebError> for PageError {
    fn from(err: WebError) -> Self {
        Self::Unavailable(err)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound => f.write_str("page not found"),
            Self::Expired => f.write_str("session expired or CSRF token wrong"),
            Self::Unavailable(err) => write!(f, "{err}"),
            Self::SignIn(next) => write!(f, "sign in first, then {next}"),
            Self::Forbidden => f.write_str("the user's roles may not see this page"),
            Self::SignInFailed => f.write_str("sign-in at the identity provider failed"),
        }
    }
}

impl actix_web::ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Expired | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::SignIn(_) => StatusCode::SEE_OTHER,
            Self::SignInFailed => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (heading, paragraphs, link) = match self {
            Self::SignIn(next) => {
                let mut to = reqwest::Url::parse("http://here/sign-in").expect("a URL");
                to.query_pairs_mut().append_pair("next", next);
                let to = format!("/sign-in?{}", to.query().unwrap_or_default());
                return see_other(&to, None, false);
            }
            Self::Forbidden => (
                "You do not have permission to see this page",
                vec![
                    "Your account’s role does not allow it. If you need to, ask your manager for access.",
                ],
                json!({"href": "/sign-in", "text": "Sign in as someone else"}),
            ),
            Self::SignInFailed => (
                "Sorry, you could not be signed in",
                vec![
                    "The sign-in service did not confirm who you are. Try again, and if it happens again, contact the service desk.",
                ],
                json!({"href": "/sign-in", "text": "Try signing in again"}),
            ),
            Self::NotFound => (
                "Page not found",
                vec!["If you typed the web address, check it is correct."],
                json!({"href": "/", "text": "Go to the start"}),
            ),
            Self::Expired => (
                "Sorry, you’ll have to start again",
                vec![
                    "You have not done anything for a while, or the page you sent was out of date, so we have not saved what you sent.",
                ],
                json!({"href": "/", "text": "Start again"}),
            ),
            Self::Unavailable(err) => {
                tracing::error!(error = %err, "page failed");
                (
                    "Sorry, there is a problem with the service",
                    vec!["Try again later."],
                    json!({"href": "/", "text": "Go to the start"}),
                )
            }
        };
        let body = message_page(heading, &paragraphs, link);
        html(self.status_code(), body, None, false)
    }
}

/// The bare message page (no session: it must render even when the
/// database is gone).
fn message_page(heading: &str, paragraphs: &[&str], link: Value) -> String {
    static RENDERER: std::sync::OnceLock<Option<crate::render::Renderer>> =
        std::sync::OnceLock::new();
    RENDERER
        .get_or_init(|| crate::render::Renderer::new().ok())
        .as_ref()
        .and_then(|r| {
            r.page(
                "message.html",
                minijinja::Value::from_serialize(json!({
                    "service_name": "Apply online",
                    "service_url": "/",
                    "heading": heading,
                    "paragraphs": paragraphs,
                    "link": link,
                })),
            )
            .ok()
        })
        .unwrap_or_else(|| format!("<!DOCTYPE html><title>{heading}</title><h1>{heading}</h1>"))
}

/// An HTML response with the security headers every page has; the session
/// cookie when the session is new.
fn html(status: StatusCode, body: String, session: Option<&Session>, secure: bool) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        // Pages can hold answers: never kept by a shared cache or the back button's.
        .insert_header((CACHE_CONTROL, "no-store"));
    if secure {
        // Behind TLS: browsers keep to HTTPS for a year.
        response.insert_header(("Strict-Transport-Security", "max-age=31536000"));
    }
    if let Some(cookie) = session.and_then(|s| s.cookie(secure)) {
        response.cookie(cookie);
    }
    response.body(body)
}

/// 303 See Other: where a POST sends the browser next.
pub(crate) fn see_other(to: &str, session: Option<&Session>, secure: bool) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, to.to_owned()));
    if secure {
        // Behind TLS: browsers keep to HTTPS for a year.
        response.insert_header(("Strict-Transport-Security", "max-age=31536000"));
    }
    if let Some(cookie) = session.and_then(|s| s.cookie(secure)) {
        response.cookie(cookie);
    }
    response.finish()
}

impl Web {
    /// Renders `template` for `session` with the layout's context added.
    pub(crate) fn page(
        &self,
        status: StatusCode,
        template: &str,
        service: (&str, &str),
        session: Option<&Session>,
        mut context: Value,
    ) -> PageResult {
        if let Value::Object(map) = &mut context {
            map.insert("service_name".into(), service.0.into());
            map.insert("service_url".into(), service.1.into());
            if let Some(session) = session {
                map.insert("csrf".into(), session.csrf.clone().into());
            }
        }
        let body = self
            .render
            .page(template, minijinja::Value::from_serialize(&context))?;
        Ok(html(status, body, session, self.sessions.secure))
    }

    /// A POST's session, if it is live and the form carries its CSRF token.
    pub(crate) async fn posted_session(
        &self,
        req: &HttpRequest,
        fields: &[(String, String)],
    ) -> Result<Session, PageError> {
        let token = field(fields, "csrf_token");
        match self.sessions.find(req).await? {
            Some(session) if token.is_some_and(|t| session.csrf_matches(t)) => Ok(session),
            found => {
                tracing::info!(
                    path = %req.path(),
                    session = found.is_some(),
                    token = token.is_some(),
                    "POST refused: no live session or wrong CSRF token"
                );
                Err(PageError::Expired)
            }
        }
    }

    fn form(&self, product: &str) -> Result<&Form, PageError> {
        self.forms.get(product).ok_or(PageError::NotFound)
    }
}

/// A form's errors are `(field id, message)` pairs, the id the one the
/// error summary links to (a date's is its day field, `…-day`).
///
/// The inline message of field `id`, as a component's `errorMessage`.
pub(crate) fn error_of<S: AsRef<str>>(errors: &[(&str, S)], id: &str) -> Value {
    errors.iter().find(|(field, _)| *field == id).map_or(
        Value::Null,
        |(_, message)| json!({"text": message.as_ref()}),
    )
}

/// The error summary's list: each message, linking to its field.
pub(crate) fn error_summary<S: AsRef<str>>(errors: &[(&str, S)]) -> Vec<Value> {
    errors
        .iter()
        .map(|(id, message)| json!({"text": message.as_ref(), "href": format!("#{id}")}))
        .collect()
}

/// 422 for a page showing a refused form, 200 otherwise.
pub(crate) fn form_status<S>(errors: &[(&str, S)]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The value of form field `name`.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) const HOME: (&str, &str) = ("Apply online", "/");

async fn index(state: web::Data<Web>) -> PageResult {
    let forms: Vec<Value> = state
        .forms
        .all()
        .map(|f| json!({"product": f.product, "title": f.title}))
        .collect();
    state.page(
        StatusCode::OK,
        "index.html",
        HOME,
        None,
        json!({"forms": forms}),
    )
}

async fn start(product: web::Path<String>, state: web::Data<Web>) -> PageResult {
    let form = state.form(&product)?;
    let first = form.pages.first().map(|p| p.id.as_str()).unwrap_or("check");
    state.page(
        StatusCode::OK,
        "start.html",
        (&form.title, &format!("/apply/{}", form.product)),
        None,
        json!({
            "form": {"title": form.title, "start": form.start},
            "first_page": format!("/apply/{}/{first}", form.product),
        }),
    )
}

/// `?return=check`: the page was reached by a *change* link.
#[derive(Debug, Deserialize)]
struct Return {
    #[serde(rename = "return")]
    to: Option<String>,
}

async fn question(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    returning: web::Query<Return>,
    state: web::Data<Web>,
) -> PageResult {
    let (product, page_id) = path.into_inner();
    let form = state.form(&product)?;
    let page = form.page(&page_id).ok_or(PageError::NotFound)?;
    let session = state.sessions.find_or_begin(&req).await?;
    let answers = session
        .data
        .answers
        .get(&product)
        .cloned()
        .unwrap_or_default();
    if !form.shown(&answers).any(|p| p.id == page.id) {
        // Not asked, given the answers so far.
        return Ok(see_other(
            &format!("/apply/{product}/check"),
            Some(&session),
            state.sessions.secure,
        ));
    }
    let to_check = returning.to.as_deref() == Some("check");
    render_question(
        &state,
        form,
        page,
        &answers,
        &[],
        &session,
        to_check,
        StatusCode::OK,
    )
}

async fn answer(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    returning: web::Query<Return>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let (product, page_id) = path.into_inner();
    let form = state.form(&product)?;
    let page = form.page(&page_id).ok_or(PageError::NotFound)?;
    let mut session = state.posted_session(&req, &body).await?;
    let shown = session
        .data
        .answers
        .get(&product)
        .is_none_or(|answers| form.shown(answers).any(|p| p.id == page.id));
    if !shown {
        // Not asked, given the answers so far: nothing of it is kept.
        return Ok(see_other(
            &format!("/apply/{product}/check"),
            None,
            state.sessions.secure,
        ));
    }
    let answers = session.data.answers.entry(product.clone()).or_default();
    for question in &page.questions {
        let name = field_name(&question.pointer);
        let given = match question.component {
            Component::Date => Some(json!({
                "day": field(&body, &format!("{name}-day")).unwrap_or_default(),
                "month": field(&body, &format!("{name}-month")).unwrap_or_default(),
                "year": field(&body, &format!("{name}-year")).unwrap_or_default(),
            })),
            _ => field(&body, &name).map(|v| Value::String(v.to_owned())),
        };
        // What was typed is kept even when wrong, to show it again.
        match given {
            Some(value) => answers.insert(question.pointer.clone(), value),
            None => answers.remove(&question.pointer),
        };
    }
    let answers = answers.clone();
    // The answers changed: a check-your-answers page shown before is stale.
    session.data.submission_keys.remove(&product);
    state.sessions.save(&session).await?;
    let errors: Vec<(&Question, &str)> = page
        .questions
        .iter()
        .filter_map(|q| q.error(&answers, state.clock.today()).map(|e| (q, e)))
        .collect();
    let to_check = returning.to.as_deref() == Some("check");
    if !errors.is_empty() {
        tracing::info!(%product, page = %page.id, errors = errors.len(), "answers refused");
        return render_question(
            &state,
            form,
            page,
            &answers,
            &errors,
            &session,
            to_check,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let next = if to_check {
        None
    } else {
        form.shown(&answers)
            .skip_while(|p| p.id != page.id)
            .nth(1)
            .map(|p| p.id.clone())
    };
    let to = format!("/apply/{product}/{}", next.as_deref().unwrap_or("check"));
    Ok(see_other(&to, None, state.sessions.secure))
}

/// A page's address, or for none the form's start page.
fn url_of(form: &Form, page: Option<&Page>) -> String {
    page.map_or_else(
        || format!("/apply/{}", form.product),
        |p| format!("/apply/{}/{}", form.product, p.id),
    )
}

/// A question's form field name: its pointer, `/` as `-`.
pub(crate) fn field_name(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', "-")
}

#[allow(clippy::too_many_arguments)]
fn render_question(
    state: &Web,
    form: &Form,
    page: &Page,
    answers: &Answers,
    errors: &[(&Question, &str)],
    session: &Session,
    to_check: bool,
    status: StatusCode,
) -> PageResult {
    let several = page.questions.len() > 1;
    let error_of = |q: &Question| {
        errors
            .iter()
            .find(|(e, _)| e.pointer == q.pointer)
            .map(|(_, m)| *m)
    };
    let fields: Vec<Value> = page
        .questions
        .iter()
        .map(|q| {
            question_field(
                q,
                &page.title,
                several,
                answers.get(&q.pointer),
                error_of(q),
            )
        })
        .collect();
    let error_list: Vec<Value> = errors
        .iter()
        .map(|(q, message)| {
            // A date's first field; a radio group's first radio has its name as id.
            let anchor = match q.component {
                Component::Date => format!("#{}-day", field_name(&q.pointer)),
                _ => format!("#{}", field_name(&q.pointer)),
            };
            json!({"text": message, "href": anchor})
        })
        .collect();
    let back = if to_check {
        format!("/apply/{}/check", form.product)
    } else {
        url_of(
            form,
            form.shown(answers).take_while(|p| p.id != page.id).last(),
        )
    };
    state.page(
        status,
        "question.html",
        (&form.title, &format!("/apply/{}", form.product)),
        Some(session),
        json!({
            "page": {"title": page.title},
            "several": several,
            "fields": fields,
            "errors": error_list,
            "back": back,
        }),
    )
}

/// A date input's three fields with what was typed, and their
/// `autocomplete` tokens (`bday` → `bday-day`, `bday-month`, `bday-year`).
pub(crate) fn date_items(answer: Option<&Value>, autocomplete: Option<&str>) -> Value {
    let part = |name: &str, width: &str| {
        json!({
            "name": name,
            "value": answer.and_then(|a| a.get(name)).cloned().unwrap_or(Value::Null),
            "classes": width,
            "autocomplete": autocomplete.map(|a| format!("{a}-{name}")),
        })
    };
    json!([
        part("day", "govuk-input--width-2"),
        part("month", "govuk-input--width-2"),
        part("year", "govuk-input--width-4"),
    ])
}

/// The component and its Design System parameters for one question.
fn question_field(
    q: &Question,
    page_title: &str,
    several: bool,
    answer: Option<&Value>,
    error: Option<&str>,
) -> Value {
    let name = field_name(&q.pointer);
    // A page of one question: its label or legend is the page's heading.
    let (text, heading, classes) = if several {
        (q.label.as_str(), false, "govuk-label--s")
    } else {
        (page_title, true, "govuk-label--l")
    };
    let hint = q.hint.as_ref().map(|h| json!({"text": h}));
    // A date's or radios' legend, sized as a page heading or a field's.
    let legend = json!({"text": text, "isPageHeading": heading,
        "classes": if heading { "govuk-fieldset__legend--l" } else { "govuk-fieldset__legend--s" }});
    let error = error.map(|e| json!({"text": e}));
    let text_value = answer.and_then(Value::as_str).unwrap_or_default();
    match q.component {
        Component::Text | Component::Email | Component::Tel => json!({
            "component": "input",
            "params": {
                "id": name, "name": name,
                "type": match q.component { Component::Email => "email", Component::Tel => "tel", _ => "text" },
                "label": {"text": text, "isPageHeading": heading, "classes": classes},
                "hint": hint, "errorMessage": error, "value": text_value,
                "autocomplete": q.autocomplete, "classes": q.classes,
                "spellcheck": if q.uppercase || matches!(q.component, Component::Email) { Value::Bool(false) } else { Value::Null },
            }
        }),
        Component::Date => json!({
            "component": "date",
            "params": {
                "id": name, "namePrefix": name,
                "fieldset": {"legend": legend},
                "hint": hint, "errorMessage": error,
                "items": date_items(answer, q.autocomplete.as_deref()),
            }
        }),
        Component::Radios => json!({
            "component": "radios",
            "params": {
                "name": name, "idPrefix": name,
                "fieldset": {"legend": legend},
                "hint": hint, "errorMessage": error, "value": text_value,
                "items": q.options.iter().map(|c| json!({"value": c.value, "text": c.text})).collect::<Vec<_>>(),
            }
        }),
        Component::Select => {
            let mut items = vec![json!({"value": "", "text": "Choose"})];
            items.extend(
                q.options
                    .iter()
                    .map(|c| json!({"value": c.value, "text": c.text})),
            );
            json!({
                "component": "select",
                "params": {
                    "id": name, "name": name,
                    "label": {"text": text, "isPageHeading": heading, "classes": classes},
                    "hint": hint, "errorMessage": error, "value": text_value,
                    "items": items,
                }
            })
        }
    }
}

/// The first page shown whose answers are missing or wrong, if any.
fn first_unanswered<'a>(
    form: &'a Form,
    answers: &'a Answers,
    today: chrono::NaiveDate,
) -> Option<&'a Page> {
    form.shown(answers).find(|p| {
        p.questions
            .iter()
            .any(|q| q.error(answers, today).is_some())
    })
}

async fn check(req: HttpRequest, product: web::Path<String>, state: web::Data<Web>) -> PageResult {
    let form = state.form(&product)?;
    let mut session = state.sessions.find_or_begin(&req).await?;
    let answers = session
        .data
        .answers
        .get(form.product.as_str())
        .cloned()
        .unwrap_or_default();
    if let Some(page) = first_unanswered(form, &answers, state.clock.today()) {
        return Ok(see_other(
            &format!("/apply/{product}/{}", page.id),
            Some(&session),
            state.sessions.secure,
        ));
    }
    // Made now, sent with the page: a double click sends the same key twice.
    let submission = match session.data.submission_keys.get(&form.product) {
        Some(key) => key.clone(),
        None => {
            let key = uuid::Uuid::new_v4().to_string();
            session
                .data
                .submission_keys
                .insert(form.product.clone(), key.clone());
            state.sessions.save(&session).await?;
            key
        }
    };
    render_check(
        &state,
        form,
        &answers,
        &session,
        &submission,
        &[],
        StatusCode::OK,
    )
}

fn render_check(
    state: &Web,
    form: &Form,
    answers: &Answers,
    session: &Session,
    submission: &str,
    errors: &[Value],
    status: StatusCode,
) -> PageResult {
    let rows: Vec<Value> = form
        .shown(answers)
        .flat_map(|page| page.questions.iter().map(move |q| (page, q)))
        .map(|(page, q)| {
            let shown = answers
                .get(&q.pointer)
                .map(|a| q.display(a))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Not given".into());
            json!({
                "key": {"text": q.label},
                "value": {"text": shown},
                "actions": {"items": [{
                    "href": format!("/apply/{}/{}?return=check", form.product, page.id),
                    "text": "Change",
                    "visuallyHiddenText": q.label.to_lowercase(),
                }]},
            })
        })
        .collect();
    let back = url_of(form, form.shown(answers).last());
    state.page(
        status,
        "check.html",
        (&form.title, &format!("/apply/{}", form.product)),
        Some(session),
        json!({"rows": rows, "submission": submission, "errors": errors, "back": back}),
    )
}

async fn submit(
    req: HttpRequest,
    product: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let form = state.form(&product)?;
    let mut session = state.posted_session(&req, &body).await?;
    let key = field(&body, "submission").unwrap_or_default().to_owned();
    let confirmation = format!("/apply/{product}/confirmation");
    if session
        .data
        .submitted
        .get(&form.product)
        .is_some_and(|s| s.key == key)
    {
        // A second click, after the first was sent.
        return Ok(see_other(&confirmation, None, state.sessions.secure));
    }
    if session.data.submission_keys.get(&form.product) != Some(&key) {
        // A stale page: the answers changed since it was shown.
        return Ok(see_other(
            &format!("/apply/{product}/check"),
            None,
            state.sessions.secure,
        ));
    }
    let answers = session
        .data
        .answers
        .get(form.product.as_str())
        .cloned()
        .unwrap_or_default();
    let application = form.application(&answers);
    let url = state.api.url(
        &req,
        &format!("/api/register/v1/applications/{}", form.product),
    );
    let response = state
        .api
        .client
        .post(&url)
        .header("Idempotency-Key", &key)
        .header("X-Forwarded-For", forwarded_for(&req))
        .json(&application)
        .send()
        .await
        .map_err(|e| WebError::Api(format!("POST {url}: {e}")))?;
    let status = response.status();
    if status.is_success() {
        let acknowledgement: Acknowledgement = response
            .json()
            .await
            .map_err(|e| WebError::Api(format!("POST {url}: the acknowledgement: {e}")))?;
        tracing::info!(reference = %acknowledgement.reference, %product, "application sent from the web");
        session.data.submitted.insert(
            form.product.clone(),
            Submitted {
                key,
                reference: acknowledgement.reference,
            },
        );
        session.data.answers.remove(&form.product);
        session.data.submission_keys.remove(&form.product);
        state.sessions.save(&session).await?;
        return Ok(see_other(&confirmation, None, state.sessions.secure));
    }
    if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
        // The pages accepted every answer, but the application as a whole
        // was refused (a rule across fields): say which, on this page.
        let problem: Value = response.json().await.unwrap_or_default();
        let errors = refused_fields(form, &answers, &problem);
        tracing::info!(%product, errors = errors.len(), "application refused by Register");
        return render_check(
            &state,
            form,
            &answers,
            &session,
            &key,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if status == reqwest::StatusCode::CONFLICT {
        // Register has seen this key with another application (the form
        // changed between showing the check page and sending it): a new key
        // and the check page again, never the same refusal on every retry.
        tracing::warn!(%product, "submission key refused by Register as used; a new one is made");
        session.data.submission_keys.remove(&form.product);
        state.sessions.save(&session).await?;
        return Ok(see_other(
            &format!("/apply/{product}/check"),
            None,
            state.sessions.secure,
        ));
    }
    // Register's answer is not logged: it may repeat what was typed.
    Err(WebError::Api(format!("POST {url}: {status}")).into())
}

/// Register's field errors, as error summary items linking to the page
/// that asks each field.
fn refused_fields(form: &Form, answers: &Answers, problem: &Value) -> Vec<Value> {
    let errors = problem
        .get("errors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut items: Vec<Value> = errors
        .iter()
        .map(|e| {
            let pointer = e.get("pointer").and_then(Value::as_str).unwrap_or_default();
            let asks = |q: &&Question| {
                pointer == q.pointer || pointer.starts_with(&format!("{}/", q.pointer))
            };
            let page = form
                .shown(answers)
                .find(|p| p.questions.iter().any(|q| asks(&q)));
            match page {
                Some(page) => {
                    let q = page.questions.iter().find(asks);
                    json!({
                        "text": q.map_or(page.title.as_str(), |q| q.errors.invalid.as_str()),
                        "href": format!("/apply/{}/{}?return=check", form.product, page.id),
                    })
                }
                None => json!({"text": "Something in your application could not be accepted. Check your answers."}),
            }
        })
        .collect();
    if items.is_empty() {
        items.push(json!({"text": "Your application could not be accepted. Check your answers."}));
    }
    items.dedup();
    items
}

async fn confirmation(
    req: HttpRequest,
    product: web::Path<String>,
    state: web::Data<Web>,
) -> PageResult {
    let form = state.form(&product)?;
    let session = state.sessions.find(&req).await?;
    let Some((session, submitted)) = session.and_then(|s| {
        let submitted = s.data.submitted.get(&form.product).cloned()?;
        Some((s, submitted))
    }) else {
        return Ok(see_other(
            &format!("/apply/{product}"),
            None,
            state.sessions.secure,
        ));
    };
    state.page(
        StatusCode::OK,
        "confirmation.html",
        (&form.title, &format!("/apply/{}", form.product)),
        Some(&session),
        json!({"reference": submitted.reference, "form": {"next": form.next}}),
    )
}

async fn status_form(req: HttpRequest, state: web::Data<Web>) -> PageResult {
    let session = state.sessions.find_or_begin(&req).await?;
    crate::status::render_form(&state, &session, &[], "", &Value::Null, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_redirects_carry_hsts_only_behind_tls() {
        const HSTS: &str = "strict-transport-security";
        let page = html(StatusCode::OK, String::new(), None, true);
        assert_eq!(page.headers().get(HSTS).unwrap(), "max-age=31536000");
        assert!(page.headers().get("content-security-policy").is_some());
        assert!(see_other("/", None, true).headers().get(HSTS).is_some());
        // Plain HTTP (the laptop default): a browser would pin nothing useful.
        assert!(
            html(StatusCode::OK, String::new(), None, false)
                .headers()
                .get(HSTS)
                .is_none()
        );
        assert!(see_other("/", None, false).headers().get(HSTS).is_none());
    }
}
