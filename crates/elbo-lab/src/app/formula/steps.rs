//! The Denoising step tab's formulas (Luo 2022 equation numbers).

/// The KL between the forward posterior and the model's step, both Gaussian: the closed
/// form every denoising term averages (Luo eq. 86-92, for any two variances).
pub const STEP_KL: &str = r"D_{\mathrm{KL}}\left(q(x_{t-1}|x_t, x_0) \,\|\, p_\theta(x_{t-1}|x_t)\right) = \log\frac{\sigma_t}{\tilde{\sigma}_t} + \frac{\tilde{\sigma}_t^2 + (\tilde{\mu}_t - \mu_\theta)^2}{2\sigma_t^2} - \frac{1}{2}";
/// The model's step mean: the posterior mean at its own x0 guess (Luo eq. 94).
pub const MODEL_MEAN: &str =
    r"\mu_\theta(x_t, t) = \tilde{\mu}_t\left(x_t, \hat{x}_\theta(x_t, t)\right)";
/// The denoising term as the average of the KL (Luo eq. 58).
pub const L_AVERAGE: &str = r"L_{t-1} = \mathbb{E}_{q(x_0)\, q(x_t|x_0)}\, D_{\mathrm{KL}}\left(q(x_{t-1}|x_t, x_0) \,\|\, p_\theta(x_{t-1}|x_t)\right)";
/// At t = 1 the step lands on x0 itself: the reconstruction term (Luo eq. 58).
pub const RECONSTRUCTION_AT_X0: &str =
    r"L_0(x_0, x_1) = -\log \mathcal{N}\left(x_0; \mu_\theta(x_1, 1), \beta_1\right)";
/// The true reverse step of mixture data: a mixture again (Bayes' rule on the forward step).
pub const TRUE_STEP: &str = r"q(x_{t-1}|x_t) = \frac{q(x_t|x_{t-1})\, q_{t-1}(x_{t-1})}{q_t(x_t)}";
/// The chain rule of KL over the reverse factorisation.
pub const CHAIN_RULE: &str = r"\mathrm{NELBO} - H(p_0) = D_{\mathrm{KL}}\left(q(x_T) \,\|\, p(x_T)\right) + \sum_{t=1}^{T} R_t";
/// One reverse term, split into what no Gaussian step removes and the model's error.
pub const R_SPLIT: &str = r"R_t = \mathbb{E}_{q(x_t)} D_{\mathrm{KL}}\left(q(x_{t-1}|x_t) \,\|\, p_\theta(x_{t-1}|x_t)\right) = G_t + M_t";
/// The non-Gaussianity of the true step.
pub const G_TERM: &str = r"G_t = \mathbb{E}_{q(x_t)} D_{\mathrm{KL}}\left(q(x_{t-1}|x_t) \,\|\, \mathcal{N}(m, v)\right) \ge 0";
/// The model's moment mismatch.
pub const M_TERM: &str = r"M_t = \mathbb{E}_{q(x_t)} D_{\mathrm{KL}}\left(\mathcal{N}(m, v) \,\|\, \mathcal{N}(\mu_\theta, \sigma_t^2)\right)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formula_parses_without_unknown_commands() {
        for src in [
            STEP_KL,
            MODEL_MEAN,
            L_AVERAGE,
            RECONSTRUCTION_AT_X0,
            TRUE_STEP,
            CHAIN_RULE,
            R_SPLIT,
            G_TERM,
            M_TERM,
        ] {
            let parsed = super::super::parse(src);
            assert!(parsed.unknown.is_empty(), "{src}: {:?}", parsed.unknown);
            assert!(!parsed.unbalanced, "{src}");
        }
    }
}
