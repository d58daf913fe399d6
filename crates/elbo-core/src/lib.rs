//! ELBO Lab's maths: the evidence lower bound of a diffusion model, term by term, on toy
//! data where everything is exact. No module here depends on a GUI or on candle.
//!
//! ```text
//! data (Gaussian mixture, mixture.rs / presets.rs) + schedule (schedule.rs)
//!   -> forward process q(x_t | x0), exact marginals q_t
//!   -> model: a denoiser x0_hat(x_t, t) (denoiser.rs), in x0 / eps / score / v form (param.rs)
//!   -> ELBO terms per timestep (elbo.rs: quadrature by default, Monte Carlo on request)
//!   -> the report (report.rs), samples (sampler.rs), the evidence (evidence.rs)
//! ```
//! The maths follows Luo (2022), "Understanding Diffusion Models: A Unified Perspective";
//! equation numbers in the docs are that paper's. The trained networks (`elbo-train`) and
//! the app and command line (`elbo-lab`) are built on this crate.

pub mod compare;
pub mod continuous;
pub mod denoiser;
pub mod edit;
pub mod elbo;
pub mod evidence;
pub mod files;
mod kernel;
pub mod mixture;
pub mod normal;
pub mod param;
pub mod presets;
pub mod quadrature;
pub mod report;
pub mod reverse_step;
pub mod sampler;
pub mod schedule;
pub mod vae;
