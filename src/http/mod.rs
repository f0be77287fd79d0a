//! HTTP plumbing shared by every protocol layer.

pub mod php_form;
