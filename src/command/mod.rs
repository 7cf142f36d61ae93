//! A Container Service command as a JSON value, with typed accessors that accept what XNAT's
//! lenient reader accepts. The value passes through untouched: unknown keys are kept.

pub mod validate;
