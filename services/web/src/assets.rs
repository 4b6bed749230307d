//! govuk-frontend's files, served from where `npm ci` put them
//! (`web.assets`, its `dist/govuk`): its CSS and JavaScript at the root, its
//! fonts and images under `/assets` (where its CSS looks for them), and this
//! service's own `app.mjs`, which starts the components.

use std::path::{Component, Path, PathBuf};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

/// The one script of our own: starts every Design System component on the page.
const APP_MJS: &str = "import { initAll } from '/govuk-frontend.min.js'\ninitAll()\n";

/// The files the pages link to.
const LINKED: [&str; 3] = [
    "govuk-frontend.min.css",
    "govuk-frontend.min.js",
    "assets/manifest.json",
];

/// The folder the files are served from.
#[derive(Debug, Clone)]
pub struct Assets {
    root: PathBuf,
}

impl Assets {
    /// Files under `root` (govuk-frontend's `dist/govuk`).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    /// Whether the files the pages link to are there.
    pub fn check(&self) -> Result<(), String> {
        match LINKED.iter().find(|f| !self.root.join(f).is_file()) {
            None => Ok(()),
            Some(missing) => Err(format!("{} is missing", self.root.join(missing).display())),
        }
    }

    /// The file at `relative`, if it is one of ours: no parent or absolute parts.
    fn file(&self, relative: &str) -> Option<PathBuf> {
        let path = Path::new(relative);
        path.components()
            .all(|c| matches!(c, Component::Normal(_)))
            .then(|| self.root.join(path))
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        _ => "application/octet-stream",
    }
}

/// Serves `relative` under the assets' root; 404 for anything else.
pub(crate) async fn serve(assets: &Assets, relative: &str) -> HttpResponse {
    let Some(path) = assets.file(relative) else {
        return HttpResponse::NotFound().finish();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, content_type(&path)))
            // The package's files change only with its version.
            .insert_header((CACHE_CONTROL, "public, max-age=86400"))
            .body(bytes),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

pub(crate) async fn under_assets(
    path: web::Path<String>,
    assets: web::Data<Assets>,
) -> HttpResponse {
    serve(&assets, &format!("assets/{path}")).await
}

/// `govuk-frontend.min.css` or `.js`.
pub(crate) async fn bundle(kind: web::Path<String>, assets: web::Data<Assets>) -> HttpResponse {
    match kind.as_str() {
        "css" | "js" => serve(&assets, &format!("govuk-frontend.min.{kind}")).await,
        _ => HttpResponse::NotFound().finish(),
    }
}

pub(crate) async fn app() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(APP_MJS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_under_the_root_are_served() {
        let assets = Assets::new(Path::new("/srv/govuk"));
        assert_eq!(
            assets.file("assets/images/favicon.svg"),
            Some(PathBuf::from("/srv/govuk/assets/images/favicon.svg"))
        );
        assert_eq!(assets.file("assets/../../etc/passwd"), None);
        assert_eq!(assets.file("/etc/passwd"), None);
    }
}
