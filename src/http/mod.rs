//! HTTP plumbing shared by every protocol layer: the PHP-style parameter parser, the
//! request-head limits and the connection wrapper that gives hyper's refusals a JSON body.

pub mod limits;
pub mod php_form;
pub mod wire;
