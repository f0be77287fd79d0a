//! Swagger UI, served offline from the vendored swagger-ui-dist 5.35.0 files in
//! `assets/swagger-ui/` (nothing is fetched from a CDN): the page and its two assets, for
//! every face that documents itself with OpenAPI (the F2HCloud face's `/docs`, the control
//! plane's `/_emu/docs`).

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

const CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");
const BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");

/// The file name of the stylesheet, beside the page's `assets` URL.
pub const CSS_FILE: &str = "swagger-ui.css";
/// The file name of the script, beside the page's `assets` URL.
pub const BUNDLE_FILE: &str = "swagger-ui-bundle.js";

/// `GET .../swagger-ui.css`
pub async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// `GET .../swagger-ui-bundle.js`
pub async fn bundle() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/javascript; charset=utf-8",
        )],
        BUNDLE,
    )
        .into_response()
}

/// Swagger UI's page: `title`, the document at `spec_url` and the assets under `assets`
/// (a URL ending in `/`). URLs may be relative to the page, so that one page works under
/// any prefix (a world's `/w/{id}/`). The arguments are the caller's constants, written
/// into the page as they are.
pub fn page(title: &str, spec_url: &str, assets: &str) -> Html<String> {
    Html(format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}{CSS_FILE}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}{BUNDLE_FILE}"></script>
<script>
window.ui = SwaggerUIBundle({{url: "{spec_url}", dom_id: "#swagger-ui"}});
</script>
</body>
</html>
"##
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_its_document_and_assets_from_the_urls_given_and_nothing_else() {
        let Html(html) = page("T", "openapi.json", "docs/");
        assert!(html.contains(r#"<link rel="stylesheet" href="docs/swagger-ui.css">"#));
        assert!(html.contains(r#"<script src="docs/swagger-ui-bundle.js"></script>"#));
        assert!(html.contains(r#"url: "openapi.json""#));
        assert!(!html.contains("http"), "offline: {html}");
    }
}
