//! The command line's integration tests (`elbo-lab` run as a user would): one binary, one
//! module per subcommand or concern.

mod analytic_variance;
mod basics;
mod common;
mod compare;
mod edit;
mod errors;
mod evidence;
mod evidence_trained;
mod export;
mod hostile;
mod modules;
mod numerics;
mod plain_text;
mod sample;
mod train;
