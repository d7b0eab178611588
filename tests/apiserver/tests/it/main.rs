//! Integration tests of the test API server, in one binary so it links once.

mod binary;
mod controller;
mod crds;
mod direct;
mod discovery;
mod faults;
mod foreign;
mod holds;
mod http;
mod jobs;
mod kube_client;
mod kubectl;
mod modes;
mod slow_link;
mod support;
mod watch;
