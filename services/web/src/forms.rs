//! Forms as data: `config/forms/<product>.toml` says which pages a
//! product's application has, what each asks and how, and which JSON
//! Pointer of the application each answer fills. Checked at start against
//! the product's application schema: every pointer exists, every required
//! field is asked somewhere, a page shown only on an earlier answer names an
//! earlier question.

use std::collections::BTreeMap;
use std::path::Path;

use casework_products::ProductCatalogue;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::WebError;

/// One product's form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// The product it applies for (`visit-visa`), also its URL.
    pub product: String,
    /// The service's name, on every page: `Apply for a visit visa`.
    pub title: String,
    /// The start page's paragraphs.
    pub start: Vec<String>,
    /// What happens after applying, on the confirmation page.
    pub next: Vec<String>,
    /// The pages, in order.
    pub pages: Vec<Page>,
    /// The product's application schema (set when loaded).
    #[serde(skip)]
    pub schema: Value,
}

/// One page: one question, or a few closely related ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Its URL segment.
    pub id: String,
    /// Its heading (a one-question page's label or legend).
    pub title: String,
    /// What it asks.
    pub questions: Vec<Question>,
    /// Shown only when an earlier answer is this.
    #[serde(default)]
    pub show_if: Option<ShowIf>,
}

/// When a page is shown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowIf {
    /// An earlier question's pointer.
    pub pointer: String,
    /// The answer that shows the page.
    pub equals: String,
}

/// One question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Where the answer goes in the application.
    pub pointer: String,
    /// How it is asked.
    pub component: Component,
    /// Its label (on a page of several questions), and its key on the
    /// check-your-answers page.
    pub label: String,
    /// Help under the label.
    #[serde(default)]
    pub hint: Option<String>,
    /// The choices of radios and selects.
    #[serde(default)]
    pub options: Vec<Choice>,
    /// Choices from a reference list instead: `countries`.
    #[serde(default)]
    pub options_from: Option<String>,
    /// The HTML `autocomplete` token.
    #[serde(default)]
    pub autocomplete: Option<String>,
    /// Extra classes for the input, e.g. a width.
    #[serde(default)]
    pub classes: Option<String>,
    /// Whether an empty answer is allowed.
    #[serde(default)]
    pub optional: bool,
    /// Store the answer in capitals (codes, passport numbers, postcodes),
    /// so `ab1 2cd` is not refused for its case.
    #[serde(default)]
    pub uppercase: bool,
    /// A date that must be before today (a date of birth, of issue).
    #[serde(default)]
    pub past: bool,
    /// A date that must be after today (a journey's start).
    #[serde(default)]
    pub future: bool,
    /// A date that must be after the answer to this earlier date question
    /// (expiry after issue, departure after arrival).
    #[serde(default)]
    pub after: Option<String>,
    /// What to say when it is wrong.
    pub errors: Errors,
    /// The schema of its field, compiled when the form is loaded.
    #[serde(skip)]
    pub field_schema: Option<FieldSchema>,
}

/// A field's schema, compiled once.
#[derive(Clone)]
pub struct FieldSchema(std::sync::Arc<jsonschema::Validator>);

impl std::fmt::Debug for FieldSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldSchema")
    }
}

/// The components a question can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    /// A text input.
    Text,
    /// An email input.
    Email,
    /// A telephone number input.
    Tel,
    /// Day, month and year.
    Date,
    /// One of a few choices.
    Radios,
    /// One of many choices.
    Select,
}

/// A choice of a radios or select question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// What is stored.
    pub value: String,
    /// What is shown.
    pub text: String,
}

/// Error messages, in plain English, as the GOV.UK pattern asks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Errors {
    /// When nothing was given.
    pub required: String,
    /// When what was given is not valid.
    pub invalid: String,
    /// When a date is real but on the wrong side of today or of another
    /// answer (`past`, `future`, `after`).
    #[serde(default)]
    pub order: Option<String>,
}

/// A reference list of choices (`config/forms/<name>.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoiceList {
    choices: Vec<Choice>,
}

/// Every form, its questions' choices filled in from the reference lists.
#[derive(Debug, Clone, Default)]
pub struct Forms {
    forms: BTreeMap<String, Form>,
}

impl Forms {
    /// Reads every `dir/*.toml` form (and `dir/lists/*.toml` reference
    /// lists), checking each against its product's application schema.
    pub fn load(dir: &Path, products: &ProductCatalogue) -> Result<Self, WebError> {
        let invalid = |path: &Path, why: String| WebError::Form {
            path: path.display().to_string(),
            why,
        };
        let mut lists: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
        lists.insert(COUNTRIES.into(), countries());
        let lists_dir = dir.join("lists");
        if lists_dir.is_dir() {
            for path in toml_files(&lists_dir)? {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| invalid(&path, e.to_string()))?;
                let list: ChoiceList =
                    toml::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?;
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("")
                    .to_owned();
                lists.insert(name, list.choices);
            }
        }
        let mut forms = BTreeMap::new();
        for path in toml_files(dir)? {
            let text = std::fs::read_to_string(&path).map_err(|e| invalid(&path, e.to_string()))?;
            let mut form: Form =
                toml::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?;
            let product = products.get(&form.product).ok_or_else(|| {
                invalid(&path, format!("product `{}` is not defined", form.product))
            })?;
            for question in form.pages.iter_mut().flat_map(|p| p.questions.iter_mut()) {
                if let Some(name) = &question.options_from {
                    let list = lists.get(name).ok_or_else(|| {
                        invalid(
                            &path,
                            format!("{}: no list `{name}` in lists/", question.pointer),
                        )
                    })?;
                    question.options = list.clone();
                }
            }
            let schema = &product.application_schema_document;
            check(&form, schema).map_err(|why| invalid(&path, why))?;
            for question in form.pages.iter_mut().flat_map(|p| p.questions.iter_mut()) {
                question
                    .compile(schema)
                    .map_err(|why| invalid(&path, why))?;
            }
            form.schema = schema.clone();
            forms.insert(form.product.clone(), form);
        }
        for product in products.products() {
            if !forms.contains_key(product.id.as_str()) {
                tracing::warn!(product = %product.id, "no form in {}: applied for through the API only", dir.display());
            }
        }
        Ok(Self { forms })
    }

    /// The form of a product.
    pub fn get(&self, product: &str) -> Option<&Form> {
        self.forms.get(product)
    }

    /// Every form, by product.
    pub fn all(&self) -> impl Iterator<Item = &Form> {
        self.forms.values()
    }
}

/// The built-in list of countries: the states and other issuers of ICAO
/// 9303 (Identify checks codes against the same list), by name.
const COUNTRIES: &str = "countries";

fn countries() -> Vec<Choice> {
    let mut choices: Vec<Choice> = casework_mrz::state_codes()
        .iter()
        .map(|(code, name)| Choice {
            value: (*code).to_owned(),
            text: (*name).to_owned(),
        })
        .collect();
    choices.sort_by(|a, b| a.text.cmp(&b.text));
    choices
}

fn toml_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, WebError> {
    let read = std::fs::read_dir(dir).map_err(|e| WebError::Form {
        path: dir.display().to_string(),
        why: e.to_string(),
    })?;
    let mut files: Vec<_> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The schema of the value at `pointer` of documents valid against `schema`.
pub fn schema_at<'a>(schema: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut node = schema;
    for part in pointer.split('/').skip(1) {
        node = node.get("properties")?.get(part)?;
    }
    Some(node)
}

/// Every required leaf of `schema` (pointers), descending into required objects.
fn required_leaves(schema: &Value, at: &str, out: &mut Vec<String>) {
    let Some(required) = schema.get("required").and_then(Value::as_array) else {
        return;
    };
    for name in required.iter().filter_map(Value::as_str) {
        let pointer = format!("{at}/{name}");
        match schema.get("properties").and_then(|p| p.get(name)) {
            Some(child) if child.get("type") == Some(&Value::from("object")) => {
                required_leaves(child, &pointer, out)
            }
            _ => out.push(pointer),
        }
    }
}

fn check(form: &Form, schema: &Value) -> Result<(), String> {
    let mut asked = Vec::new();
    let mut asked_dates: Vec<String> = Vec::new();
    for page in &form.pages {
        if let Some(show_if) = &page.show_if
            && !asked.contains(&show_if.pointer)
        {
            return Err(format!(
                "page `{}`: show_if names `{}`, which no earlier page asks",
                page.id, show_if.pointer
            ));
        }
        if page.questions.is_empty() {
            return Err(format!("page `{}` asks nothing", page.id));
        }
        for question in &page.questions {
            if schema_at(schema, &question.pointer).is_none() {
                return Err(format!(
                    "page `{}`: `{}` is not a field of the application schema",
                    page.id, question.pointer
                ));
            }
            let dated = question.past || question.future || question.after.is_some();
            if dated && (question.component != Component::Date || question.errors.order.is_none()) {
                return Err(format!(
                    "page `{}`: `{}`: past, future and after are for dates, with an `order` error message",
                    page.id, question.pointer
                ));
            }
            if let Some(earlier) = &question.after
                && !asked_dates.contains(earlier)
            {
                return Err(format!(
                    "page `{}`: `{}` must be after `{earlier}`, which is not an earlier date question",
                    page.id, question.pointer
                ));
            }
            if question.component == Component::Date {
                asked_dates.push(question.pointer.clone());
            }
            let choices = matches!(question.component, Component::Radios | Component::Select);
            if choices && question.options.is_empty() {
                return Err(format!(
                    "page `{}`: `{}` has no options",
                    page.id, question.pointer
                ));
            }
            asked.push(question.pointer.clone());
        }
    }
    let mut required = Vec::new();
    required_leaves(schema, "", &mut required);
    if let Some(missing) = required.iter().find(|r| !asked.contains(r)) {
        return Err(format!(
            "the application schema requires `{missing}`, which no page asks"
        ));
    }
    let mut ids: Vec<&str> = form.pages.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1])
        || ids.iter().any(|id| ["check", "confirmation"].contains(id))
    {
        return Err("page ids are unique, and not `check` or `confirmation`".into());
    }
    Ok(())
}

/// What a person typed, by question pointer: one string, or for a date its
/// `day`, `month` and `year`.
pub type Answers = Map<String, Value>;

impl Form {
    /// The pages shown, given the answers so far. A condition counts only
    /// on an answer to a page that is itself shown, so a stale answer on a
    /// page no longer asked shows nothing.
    pub fn shown<'a>(&'a self, answers: &'a Answers) -> impl Iterator<Item = &'a Page> {
        let mut asked: Vec<&str> = Vec::new();
        self.pages.iter().filter(move |p| {
            let shown = p.show_if.as_ref().is_none_or(|show_if| {
                asked.contains(&show_if.pointer.as_str())
                    && answers.get(&show_if.pointer).and_then(Value::as_str)
                        == Some(show_if.equals.as_str())
            });
            if shown {
                asked.extend(p.questions.iter().map(|q| q.pointer.as_str()));
            }
            shown
        })
    }

    /// The question that asks `pointer`, on whichever page.
    pub fn question(&self, pointer: &str) -> Option<&Question> {
        self.pages
            .iter()
            .flat_map(|p| &p.questions)
            .find(|q| q.pointer == pointer)
    }

    /// A page by id.
    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages.iter().find(|p| p.id == id)
    }

    /// The application built from the answers of the pages shown.
    /// Fields the form does not ask but the schema gives a `default` (a
    /// passport renewal's nationality is always GBR) are filled in, in the
    /// objects the answers made, as the API would read them.
    pub fn application(&self, answers: &Answers) -> Value {
        let mut document = Value::Object(Map::new());
        for question in self.shown(answers).flat_map(|p| &p.questions) {
            if let Some(value) = answers
                .get(&question.pointer)
                .and_then(|a| question.value_of(a))
            {
                set(&mut document, &question.pointer, value);
            }
        }
        fill_defaults(&mut document, &self.schema);
        document
    }
}

impl Question {
    /// The application's value of an answer (`None` if empty or unusable).
    pub fn value_of(&self, answer: &Value) -> Option<Value> {
        match self.component {
            Component::Date => date_of(answer).map(|d| Value::String(d.to_string())),
            _ => answer
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    Value::String(if self.uppercase {
                        s.to_uppercase()
                    } else {
                        s.to_owned()
                    })
                }),
        }
    }

    /// The answer as the check-your-answers page shows it.
    pub fn display(&self, answer: &Value) -> String {
        match self.component {
            Component::Date => date_of(answer)
                .map(|d| d.format("%-d %B %Y").to_string())
                .unwrap_or_default(),
            Component::Radios | Component::Select => {
                let value = answer.as_str().unwrap_or_default();
                self.options
                    .iter()
                    .find(|c| c.value == value)
                    .map_or_else(|| value.to_owned(), |c| c.text.clone())
            }
            // What will be sent: trimmed, in capitals where the question says so.
            _ => self
                .value_of(answer)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        }
    }

    /// Compiles the schema of its field in the application's `schema`.
    pub fn compile(&mut self, schema: &Value) -> Result<(), String> {
        let field = schema_at(schema, &self.pointer).ok_or_else(|| {
            format!(
                "`{}` is not a field of the application schema",
                self.pointer
            )
        })?;
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(field)
            .map_err(|e| format!("the schema of `{}` cannot be compiled: {e}", self.pointer))?;
        self.field_schema = Some(FieldSchema(std::sync::Arc::new(validator)));
        Ok(())
    }

    /// Whether the answer to it in `answers` is acceptable, against the
    /// question (and, for a date, today and the dates it must follow) and
    /// the schema of its field: `None`, or the message to show.
    pub fn error(&self, answers: &Answers, today: NaiveDate) -> Option<&str> {
        let answer = answers.get(&self.pointer);
        let empty = match (self.component, answer) {
            (_, None) => true,
            (Component::Date, Some(parts)) => ["day", "month", "year"].iter().all(|k| {
                parts
                    .get(k)
                    .and_then(Value::as_str)
                    .is_none_or(|s| s.trim().is_empty())
            }),
            (_, Some(value)) => value.as_str().is_none_or(|s| s.trim().is_empty()),
        };
        if empty {
            return (!self.optional).then_some(self.errors.required.as_str());
        }
        let answer = answer?;
        let Some(value) = self.value_of(answer) else {
            return Some(&self.errors.invalid);
        };
        if matches!(self.component, Component::Radios | Component::Select)
            && !self
                .options
                .iter()
                .any(|c| Some(c.value.as_str()) == value.as_str())
        {
            return Some(&self.errors.invalid);
        }
        let valid = self
            .field_schema
            .as_ref()
            .is_none_or(|field| field.0.is_valid(&value));
        if !valid {
            return Some(&self.errors.invalid);
        }
        if let Some(date) = (self.component == Component::Date)
            .then(|| date_of(answer))
            .flatten()
        {
            let earlier = self
                .after
                .as_ref()
                .and_then(|p| answers.get(p))
                .and_then(date_of);
            let out_of_order = (self.past && date >= today)
                || (self.future && date <= today)
                || earlier.is_some_and(|e| date <= e);
            if out_of_order {
                return self.errors.order.as_deref();
            }
        }
        None
    }
}

/// The date a day/month/year answer names, if it is a real one.
pub(crate) fn date_of(parts: &Value) -> Option<NaiveDate> {
    let number = |key: &str| parts.get(key)?.as_str()?.trim().parse::<u32>().ok();
    let year = i32::try_from(number("year")?).ok().filter(|y| *y >= 1000)?;
    NaiveDate::from_ymd_opt(year, number("month")?, number("day")?)
}

/// Fills in the schema's `default` of every property `document` lacks,
/// descending into the objects it has.
fn fill_defaults(document: &mut Value, schema: &Value) {
    let (Value::Object(map), Some(properties)) = (
        document,
        schema.get("properties").and_then(Value::as_object),
    ) else {
        return;
    };
    for (name, property) in properties {
        match map.get_mut(name) {
            Some(child) => fill_defaults(child, property),
            None => {
                if let Some(default) = property.get("default") {
                    map.insert(name.clone(), default.clone());
                }
            }
        }
    }
}

/// Sets `value` at `pointer` of `document`, making objects on the way.
fn set(document: &mut Value, pointer: &str, value: Value) {
    let mut node = document;
    let parts: Vec<&str> = pointer.split('/').skip(1).collect();
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(map) = node else { return };
        if i + 1 == parts.len() {
            map.insert((*part).to_owned(), value);
            return;
        }
        node = map
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn question(component: Component, pointer: &str) -> Question {
        Question {
            pointer: pointer.into(),
            component,
            label: "L".into(),
            hint: None,
            options: vec![Choice {
                value: "tourism".into(),
                text: "Tourism".into(),
            }],
            options_from: None,
            autocomplete: None,
            classes: None,
            optional: false,
            uppercase: false,
            past: false,
            future: false,
            after: None,
            errors: Errors {
                required: "Enter it".into(),
                invalid: "Not valid".into(),
                order: Some("Wrong order".into()),
            },
            field_schema: None,
        }
    }

    #[test]
    fn answers_are_checked_against_the_question_and_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {
                "email": {"type": "string", "format": "email"},
                "born": {"type": "string", "format": "date"},
                "why": {"enum": ["tourism"]}
            }}
        }});
        let compiled = |component, pointer| {
            let mut q = question(component, pointer);
            q.compile(&schema).expect("compiles");
            q
        };
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date");
        let error_of = |q: &Question, answer: Option<Value>| {
            let mut answers = Answers::new();
            if let Some(answer) = answer {
                answers.insert(q.pointer.clone(), answer);
            }
            q.error(&answers, today).map(str::to_owned)
        };
        let email = compiled(Component::Email, "/a/email");
        assert_eq!(error_of(&email, None).as_deref(), Some("Enter it"));
        assert_eq!(
            error_of(&email, Some(json!("  "))).as_deref(),
            Some("Enter it")
        );
        assert_eq!(
            error_of(&email, Some(json!("nope"))).as_deref(),
            Some("Not valid")
        );
        assert_eq!(error_of(&email, Some(json!("a@example.org"))), None);
        let mut born = compiled(Component::Date, "/a/born");
        let date = |d: &str, m: &str, y: &str| Some(json!({"day": d, "month": m, "year": y}));
        assert_eq!(
            error_of(&born, date("31", "2", "1990")).as_deref(),
            Some("Not valid")
        );
        assert_eq!(
            error_of(&born, date("", "", "")).as_deref(),
            Some("Enter it")
        );
        assert_eq!(error_of(&born, date("1", "2", "1990")), None);
        born.past = true;
        assert_eq!(
            error_of(&born, date("6", "12", "2026")).as_deref(),
            Some("Wrong order")
        );
        assert_eq!(error_of(&born, date("5", "12", "2026")), None);
        let why = compiled(Component::Radios, "/a/why");
        assert_eq!(
            error_of(&why, Some(json!("smuggling"))).as_deref(),
            Some("Not valid")
        );
        assert_eq!(why.display(&json!("tourism")), "Tourism");
    }

    #[test]
    fn a_date_after_another_answer_is_checked_against_it() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date");
        let mut leave = question(Component::Date, "/leave");
        leave.after = Some("/arrive".into());
        let mut answers = Answers::new();
        answers.insert(
            "/leave".into(),
            json!({"day": "10", "month": "1", "year": "2027"}),
        );
        // The earlier answer not given (or not a date): nothing to compare.
        assert_eq!(leave.error(&answers, today), None);
        answers.insert(
            "/arrive".into(),
            json!({"day": "10", "month": "1", "year": "2027"}),
        );
        assert_eq!(leave.error(&answers, today), Some("Wrong order"));
        answers.insert(
            "/arrive".into(),
            json!({"day": "9", "month": "1", "year": "2027"}),
        );
        assert_eq!(leave.error(&answers, today), None);
    }

    #[test]
    fn an_application_is_built_from_the_pages_shown() {
        // A default of the schema fills a field no page asks, in an object the answers made.
        let schema = json!({"properties": {
            "applicant": {"properties": {"nationality": {"const": "GBR", "default": "GBR"}}},
            "contact": {"properties": {"email": {"default": "nobody@example.org"}}},
        }});
        let form = Form {
            schema,
            product: "p".into(),
            title: "t".into(),
            start: vec![],
            next: vec![],
            pages: vec![
                Page {
                    id: "why".into(),
                    title: "Why?".into(),
                    questions: vec![question(Component::Radios, "/travel/purpose")],
                    show_if: None,
                },
                Page {
                    id: "born".into(),
                    title: "Born?".into(),
                    questions: vec![question(Component::Date, "/applicant/date_of_birth")],
                    show_if: Some(ShowIf {
                        pointer: "/travel/purpose".into(),
                        equals: "business".into(),
                    }),
                },
            ],
        };
        let mut answers = Answers::new();
        answers.insert("/travel/purpose".into(), json!("tourism"));
        answers.insert(
            "/applicant/date_of_birth".into(),
            json!({"day": "3", "month": "7", "year": "1990"}),
        );
        assert_eq!(form.shown(&answers).count(), 1);
        assert_eq!(
            form.application(&answers),
            json!({"travel": {"purpose": "tourism"}})
        );
        answers.insert("/travel/purpose".into(), json!("business"));
        assert_eq!(
            form.application(&answers),
            json!({"travel": {"purpose": "business"},
                   "applicant": {"date_of_birth": "1990-07-03", "nationality": "GBR"}})
        );
    }

    #[test]
    fn a_stale_answer_on_a_page_no_longer_shown_shows_nothing() {
        let page = |id: &str, pointer: &str, show_if: Option<(&str, &str)>| Page {
            id: id.into(),
            title: id.into(),
            questions: vec![question(Component::Radios, pointer)],
            show_if: show_if.map(|(pointer, equals)| ShowIf {
                pointer: pointer.into(),
                equals: equals.into(),
            }),
        };
        let form = Form {
            schema: Value::Null,
            product: "p".into(),
            title: "t".into(),
            start: vec![],
            next: vec![],
            pages: vec![
                page("why", "/why", None),
                page("sponsored", "/sponsored", Some(("/why", "business"))),
                page("sponsor", "/sponsor", Some(("/sponsored", "tourism"))),
            ],
        };
        let mut answers = Answers::new();
        answers.insert("/why".into(), json!("business"));
        answers.insert("/sponsored".into(), json!("tourism"));
        answers.insert("/sponsor".into(), json!("tourism"));
        let ids = |a: &Answers| form.shown(a).map(|p| p.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&answers), ["why", "sponsored", "sponsor"]);
        // The first answer changes: the second page goes, and the third with it.
        answers.insert("/why".into(), json!("tourism"));
        assert_eq!(ids(&answers), ["why"]);
        assert_eq!(form.application(&answers), json!({"why": "tourism"}));
    }

    #[test]
    fn the_shipped_forms_ask_every_required_field_of_their_products() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let products = ProductCatalogue::load(&root.join("config/products")).expect("products");
        let forms = Forms::load(&root.join("config/forms"), &products).expect("forms");
        for product in products.products() {
            assert!(
                forms.get(&product.id).is_some(),
                "no form for {}",
                product.id
            );
        }
    }

    #[test]
    fn a_form_that_misses_a_required_field_or_names_a_wrong_one_is_refused() {
        let schema = json!({"type": "object", "required": ["a"], "properties": {
            "a": {"type": "object", "required": ["b", "c"], "properties": {
                "b": {"type": "string"}, "c": {"type": "string"}
            }}
        }});
        let page = |pointer: &str| Page {
            id: pointer.replace('/', ""),
            title: "T".into(),
            questions: vec![question(Component::Text, pointer)],
            show_if: None,
        };
        let form = |pages| Form {
            schema: Value::Null,
            product: "p".into(),
            title: "t".into(),
            start: vec![],
            next: vec![],
            pages,
        };
        let missing = check(&form(vec![page("/a/b")]), &schema).unwrap_err();
        assert!(missing.contains("`/a/c`"), "{missing}");
        let wrong = check(
            &form(vec![page("/a/b"), page("/a/c"), page("/a/d")]),
            &schema,
        )
        .unwrap_err();
        assert!(wrong.contains("`/a/d` is not a field"), "{wrong}");
        assert!(check(&form(vec![page("/a/b"), page("/a/c")]), &schema).is_ok());
    }
}
