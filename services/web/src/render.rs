//! Pages from templates: minijinja, the templates compiled into the binary,
//! HTML auto-escaped, and an undefined value an error rather than a blank
//! (so a template bug shows in tests, not as an empty label).

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::WebError;

/// The templates, by name.
const TEMPLATES: [(&str, &str); 19] = [
    (
        "components.html",
        include_str!("../templates/components.html"),
    ),
    ("layout.html", include_str!("../templates/layout.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("start.html", include_str!("../templates/start.html")),
    ("question.html", include_str!("../templates/question.html")),
    ("check.html", include_str!("../templates/check.html")),
    (
        "confirmation.html",
        include_str!("../templates/confirmation.html"),
    ),
    ("status.html", include_str!("../templates/status.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("signin.html", include_str!("../templates/signin.html")),
    (
        "desk_macros.html",
        include_str!("../templates/desk_macros.html"),
    ),
    (
        "desk_queue.html",
        include_str!("../templates/desk_queue.html"),
    ),
    (
        "desk_case.html",
        include_str!("../templates/desk_case.html"),
    ),
    (
        "desk_search.html",
        include_str!("../templates/desk_search.html"),
    ),
    (
        "desk_alerts.html",
        include_str!("../templates/desk_alerts.html"),
    ),
    (
        "desk_audit.html",
        include_str!("../templates/desk_audit.html"),
    ),
    (
        "desk_reviews.html",
        include_str!("../templates/desk_reviews.html"),
    ),
    (
        "desk_review.html",
        include_str!("../templates/desk_review.html"),
    ),
    (
        "desk_person.html",
        include_str!("../templates/desk_person.html"),
    ),
];

/// Renders pages.
pub(crate) struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub(crate) fn new() -> Result<Self, WebError> {
        let mut env = Environment::new();
        // Optional parameters of the components are tested with `if`, which
        // chainable undefined allows (`params.hint.text` when there is no hint).
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    /// The page `name` with `context`.
    pub(crate) fn page(&self, name: &str, context: Value) -> Result<String, WebError> {
        Ok(self.env.get_template(name)?.render(context)?)
    }

    /// One component macro of `components.html` with `params` (for the
    /// fixture test).
    #[cfg(test)]
    pub(crate) fn component(
        &self,
        name: &str,
        params: &serde_json::Value,
    ) -> Result<String, WebError> {
        let source = format!("{{% import \"components.html\" as c %}}{{{{ c.{name}(params) }}}}");
        // Named `.html`, so it is auto-escaped as the pages are.
        Ok(self.env.render_named_str(
            "fixture.html",
            &source,
            minijinja::context! { params => Value::from_serialize(params) },
        )?)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Whitespace between tags and runs of spaces do not change the page,
    /// nor does which entity escapes a character (minijinja escapes `/`
    /// and `'` as `&#x2f;` and `&#x27;`, Nunjucks leaves `/` and writes `&#39;`).
    fn normalise(html: &str) -> String {
        let collapsed = html.split_whitespace().collect::<Vec<_>>().join(" ");
        collapsed
            .replace("> <", "><")
            .replace("&#x2f;", "/")
            .replace("&#x27;", "&#39;")
    }

    /// For each component ported (the public pages use most; checkboxes,
    /// notification banner and table are for the caseworkers' pages), the
    /// fixtures covering the options used, which its macro must reproduce exactly. (The
    /// package's other fixtures exercise options the service never passes:
    /// `attributes`, prefixes, conditional reveals, summary cards.)
    const FIXTURES: &[(&str, &[&str])] = &[
        (
            "button",
            &[
                "default",
                "start",
                "link",
                "secondary",
                "prevent double click",
                "start link",
            ],
        ),
        (
            "input",
            &[
                "default",
                "with hint text",
                "with error message",
                "with error and hint",
                "with label as page heading",
                "with width-10 class",
                "with autocomplete attribute",
                "with spellcheck disabled",
                "value",
            ],
        ),
        (
            "date-input",
            &[
                "default",
                "with values",
                "with error message and hint",
                "with error message and hint (using items)",
                "with autocomplete values",
                "with nested name",
            ],
        ),
        (
            "radios",
            &[
                "default",
                "with hint",
                "with legend as page heading",
                "with fieldset and error message",
                "with hint and error message",
                "prechecked using value",
                "inline",
            ],
        ),
        (
            "checkboxes",
            &["default", "with hint", "with error message"],
        ),
        (
            "select",
            &[
                "default",
                "with hint text and error message",
                "with label as page heading",
                "with selected value",
            ],
        ),
        ("error-summary", &["default", "with everything"]),
        (
            "error-message",
            &["default", "html as text", "with visually hidden text"],
        ),
        (
            "summary-list",
            &[
                "default",
                "with actions",
                "with some actions",
                "actions href",
                "with falsy values",
            ],
        ),
        (
            "panel",
            &["default", "title html as text", "custom heading level"],
        ),
        ("back-link", &["default", "with custom text and link"]),
        (
            "notification-banner",
            &["default", "with type as success", "custom title"],
        ),
        ("tag", &["default", "grey", "green", "red", "yellow"]),
        (
            "table",
            &[
                "default",
                "with head",
                "with head and caption",
                "with firstCellIsHeader true",
            ],
        ),
    ];

    #[test]
    fn the_case_page_shows_how_the_person_was_matched() {
        let renderer = Renderer::new().expect("templates");
        let weights = serde_json::json!({
            "model_version": 1, "prior_weight": -16.52, "names_swapped": false,
            "total": 5.33, "probability": 0.9757,
            "fields": [
                {"field": "given_names", "level": "first_name", "weight": 3.975},
                {"field": "date_of_birth", "level": "one_digit", "weight": 6.86},
                {"field": "sex", "level": "missing", "weight": 0.0},
            ],
        });
        let context = Value::from_serialize(serde_json::json!({
            "case": {"reference": "VV-XQAE-PBE9-2", "working_days_left": 10, "service_level_days": 15},
            "identity": [{"confidence": "low", "result": {"person_id": "p-1", "match": {
                "method": "new-person", "explanation": "possibly p-0",
                "decision": "possible-match", "weights": weights,
            }}}],
        }));
        let html = renderer.page("desk_case.html", context).expect("renders");
        assert!(
            html.contains("possibly the same person, for review"),
            "{html}"
        );
        assert!(html.contains("Given names") && html.contains("first name"));
        assert!(html.contains("one digit") && html.contains("6.9"));
        assert!(html.contains("-16.5") && html.contains("5.3"));
        assert!(
            !html.contains(">Sex<"),
            "a field neither record has is not listed"
        );
    }

    #[test]
    fn components_render_govuk_frontends_own_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../node_modules/govuk-frontend/dist/govuk/components");
        let renderer = Renderer::new().expect("templates");
        let mut failed = Vec::new();
        for (component, names) in FIXTURES {
            let path = dir.join(component).join("fixtures.json");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run `npm ci`)", path.display()));
            let doc: serde_json::Value = serde_json::from_str(&text).expect("fixtures.json");
            let fixtures = doc["fixtures"].as_array().expect("fixtures");
            for name in *names {
                let fixture = fixtures
                    .iter()
                    .find(|f| f["name"] == *name)
                    .unwrap_or_else(|| panic!("{component}: no fixture `{name}`"));
                let want = normalise(fixture["html"].as_str().expect("html"));
                match renderer.component(&component.replace('-', "_"), &fixture["options"]) {
                    Ok(got) if normalise(&got) == want => {}
                    Ok(got) => failed.push(format!(
                        "{component} `{name}`:\n want {want}\n got  {}",
                        normalise(&got)
                    )),
                    Err(e) => failed.push(format!("{component} `{name}`: {e}")),
                }
            }
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }
}
