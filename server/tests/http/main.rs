//! Black-box tests of the `multiroute` binary over real HTTP on 127.0.0.1.

mod check;
mod config_errors;
mod lifecycle;
mod logs;
mod metrics;
mod reload;
mod routing;
mod support;
