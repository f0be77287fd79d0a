//! HTTP plumbing shared by every protocol layer: the PHP-style parameter parser, the
//! request-head limits, the connection wrapper that gives hyper's refusals a JSON body, and
//! Swagger UI's offline page.

pub mod limits;
pub mod php_form;
pub mod swagger;
pub mod wire;
