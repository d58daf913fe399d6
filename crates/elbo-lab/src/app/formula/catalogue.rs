//! The app's formulas in LaTeX, following Luo 2022 ("Understanding Diffusion Models: A
//! Unified Perspective"); equation numbers are Luo's unless said otherwise.

use elbo_core::param::Parameterisation;
use elbo_core::schedule::BetaSchedule;

/// The negative ELBO as a sum of terms (eq. 58).
pub const NELBO: &str = r"\mathrm{NELBO} = L_0 + \sum_{t=2}^{T} L_{t-1} + L_T";
/// The reconstruction term (eq. 58), with the decoder N(x_0; mu_theta(x_1, 1), beta_1 I).
pub const L0: &str = r"L_0 = -\mathbb{E}_{q(x_1|x_0)} \log \mathcal{N}\left(x_0; \mu_\theta(x_1, 1), \beta_1 I\right)";
/// The prior matching term (eq. 58), exact for Gaussian-mixture data.
pub const LT: &str = r"L_T = D_{\mathrm{KL}}\left(q(x_T|x_0) \,\|\, \mathcal{N}(0, I)\right)";
/// The denoising matching terms (eq. 58) summed.
pub const DENOISING_SUM: &str = r"\sum_{t=2}^{T} L_{t-1}";
/// One denoising matching term: the mean part (eq. 58 with eq. 89) and the variance
/// part `(d/2)(r - 1 - log r)` when the reverse variance is not the posterior's.
pub const L_T_MINUS_1: &str = r"L_{t-1} = \mathbb{E}\,\frac{\|\tilde{\mu}_t(x_t, x_0) - \mu_\theta(x_t, t)\|^2}{2\sigma_t^2} + \frac{d}{2}\left(r - 1 - \log r\right)";
/// The variance ratio in the variance part of [`L_T_MINUS_1`].
pub const VARIANCE_RATIO: &str = r"r = \frac{\tilde{\sigma}_t^2}{\sigma_t^2}";
/// A denoising matching term as the weighted x0 error (eq. 99 with eq. 108).
pub const L_T_MINUS_1_WEIGHTED: &str =
    r"L_{t-1} = w_{x_0}(t)\, \mathrm{MSE}_{x_0} + \text{var. part}";
/// The mean squared error of the x0 prediction.
pub const MSE_X0: &str = r"\mathrm{MSE}_{x_0} = \mathbb{E}\,\|\hat{x}_0(x_t, t) - x_0\|^2";
/// A weighted squared error (the same term in every parameterisation).
pub const W_TIMES_MSE: &str = r"w(t) \times \mathrm{MSE}";
/// Bits per dimension.
pub const BITS_PER_DIM: &str = r"\text{bits/dim} = \frac{\mathrm{NELBO}}{d \ln 2}";
/// The data entropy.
pub const ENTROPY: &str = r"H(p_0) = -\mathbb{E}_{p_0} \log p_0(x_0)";
/// The gap between the NELBO and the data entropy (>= 0).
pub const GAP: &str = r"\text{gap} = \mathrm{NELBO} - H(p_0) \ge 0";
/// The first form of the ELBO: consistency terms (eq. 45).
pub const NELBO_CONSISTENCY: &str = r"\mathrm{NELBO} = L_0 + \sum_{t=1}^{T-1} C_t + D_{\mathrm{KL}}\left(q(x_T|x_{T-1}) \,\|\, p(x_T)\right)";
/// One consistency term (eq. 45), as the app estimates it (at the trajectory's x_t).
pub const CONSISTENCY_TERM: &str = r"C_t = \mathbb{E}_{q(x_{t-1}, x_t, x_{t+1}|x_0)}\left[\log q(x_t|x_{t-1}) - \log p_\theta(x_t|x_{t+1})\right]";

/// The forward marginal (eq. 70).
pub const FORWARD: &str =
    r"x_t = \sqrt{\bar{\alpha}_t}\, x_0 + \sqrt{1 - \bar{\alpha}_t}\, \epsilon";
/// One forward step (eq. 31).
pub const FORWARD_STEP: &str = r"x_t = \sqrt{\alpha_t}\, x_{t-1} + \sqrt{1 - \alpha_t}\, \epsilon";
/// The forward marginal of mixture data: a mixture again.
pub const MARGINAL_MIXTURE: &str = r"q_t(x) = \sum_k \pi_k\, \mathcal{N}\left(x; \sqrt{\bar{\alpha}_t}\, m_k, \bar{\alpha}_t S_k + (1 - \bar{\alpha}_t) I\right)";

/// alpha_t from beta_t.
pub const ALPHA: &str = r"\alpha_t = 1 - \beta_t";
/// The cumulative product (eq. 61-70).
pub const ABAR: &str = r"\bar{\alpha}_t = \prod_{s=1}^{t} (1 - \beta_s)";
/// The signal-to-noise ratio (eq. 109).
pub const SNR: &str = r"\mathrm{SNR}(t) = \frac{\bar{\alpha}_t}{1 - \bar{\alpha}_t}";
/// The log-SNR.
pub const LOG_SNR: &str =
    r"\lambda_t = \log \mathrm{SNR}(t) = \log \bar{\alpha}_t - \log(1 - \bar{\alpha}_t)";
/// The posterior variance (eq. 85).
pub const POSTERIOR_VARIANCE: &str =
    r"\tilde{\sigma}_t^2 = \frac{1 - \bar{\alpha}_{t-1}}{1 - \bar{\alpha}_t}\, \beta_t";
/// The posterior mean (eq. 84).
pub const POSTERIOR_MEAN: &str = r"\tilde{\mu}_t(x_t, x_0) = \frac{\sqrt{\alpha_t}\,(1 - \bar{\alpha}_{t-1})\, x_t + \sqrt{\bar{\alpha}_{t-1}}\, \beta_t\, x_0}{1 - \bar{\alpha}_t}";
/// The linear preset (DDPM).
pub const SCHEDULE_LINEAR: &str = r"\beta_t = \beta_{\text{start}} + \frac{t - 1}{T - 1}\left(\beta_{\text{end}} - \beta_{\text{start}}\right)";
/// The scaled_linear preset (Stable Diffusion).
pub const SCHEDULE_SCALED_LINEAR: &str = r"\beta_t = \left(\sqrt{\beta_{\text{start}}} + \frac{t - 1}{T - 1}\left(\sqrt{\beta_{\text{end}}} - \sqrt{\beta_{\text{start}}}\right)\right)^2";
/// The squaredcos_cap_v2 preset (Nichol and Dhariwal's cosine schedule).
pub const SCHEDULE_COSINE: &str = r"\beta_t = \min\left(1 - \frac{f(t/T)}{f((t-1)/T)},\ 0.999\right), \quad f(u) = \cos^2\left(\frac{u + 0.008}{1.008} \cdot \frac{\pi}{2}\right)";
/// The sigmoid preset.
pub const SCHEDULE_SIGMOID: &str = r"\beta_t = \beta_{\text{start}} + \left(\beta_{\text{end}} - \beta_{\text{start}}\right) \operatorname{sigmoid}\left(-6 + 12\, \frac{t - 1}{T - 1}\right)";
/// Rescaling to zero terminal SNR (Lin et al. 2024, Algorithm 1).
pub const RESCALE_ZERO_SNR: &str = r"\sqrt{\bar{\alpha}_t} \leftarrow \left(\sqrt{\bar{\alpha}_t} - \sqrt{\bar{\alpha}_T}\right) \frac{\sqrt{\bar{\alpha}_1}}{\sqrt{\bar{\alpha}_1} - \sqrt{\bar{\alpha}_T}}";

/// The x0-prediction weight (eq. 108).
pub const W_X0: &str =
    r"w_{x_0}(t) = \frac{\bar{\alpha}_{t-1}\, \beta_t^2}{2\sigma_t^2\, (1 - \bar{\alpha}_t)^2}";
/// The noise-prediction weight (eq. 130).
pub const W_EPS: &str =
    r"w_{\epsilon}(t) = \frac{\beta_t^2}{2\sigma_t^2\, \alpha_t\, (1 - \bar{\alpha}_t)}";
/// The score-prediction weight (eq. 148).
pub const W_SCORE: &str = r"w_{s}(t) = \frac{\beta_t^2}{2\sigma_t^2\, \alpha_t}";
/// The v-prediction weight.
pub const W_V: &str = r"w_{v}(t) = w_{x_0}(t)\, (1 - \bar{\alpha}_t)";
/// x0 from the noise (eq. 115).
pub const X0_FROM_EPS: &str =
    r"\hat{x}_0 = \frac{x_t - \sqrt{1 - \bar{\alpha}_t}\, \hat{\epsilon}}{\sqrt{\bar{\alpha}_t}}";
/// The noise from x0.
pub const EPS_FROM_X0: &str =
    r"\hat{\epsilon} = \frac{x_t - \sqrt{\bar{\alpha}_t}\, \hat{x}_0}{\sqrt{1 - \bar{\alpha}_t}}";
/// Tweedie's formula (eq. 133).
pub const TWEEDIE: &str = r"\sqrt{\bar{\alpha}_t}\, \mathbb{E}[x_0|x_t] = x_t + (1 - \bar{\alpha}_t)\, \nabla_{x_t} \log q(x_t)";
/// The score from the noise (eq. 151).
pub const SCORE_FROM_EPS: &str =
    r"\nabla_{x_t} \log q(x_t) = -\frac{\epsilon}{\sqrt{1 - \bar{\alpha}_t}}";
/// Tweedie's formula solved for the posterior mean (eq. 133, 135), as the Denoising step
/// tab computes it.
pub const TWEEDIE_MEAN: &str = r"\mathbb{E}[x_0|x_t] = \frac{x_t + (1 - \bar{\alpha}_t)\, \nabla_{x_t} \log q_t(x_t)}{\sqrt{\bar{\alpha}_t}}";
/// The score as the expected noise (eq. 151, in expectation given x_t).
pub const SCORE_EPS: &str =
    r"\nabla_{x_t} \log q_t(x_t) = -\frac{\mathbb{E}[\epsilon|x_t]}{\sqrt{1 - \bar{\alpha}_t}}";
/// The v target (Salimans and Ho 2022).
pub const V_TARGET: &str =
    r"v = \sqrt{\bar{\alpha}_t}\, \epsilon - \sqrt{1 - \bar{\alpha}_t}\, x_0";
/// The reverse model's mean from its x0 prediction (eq. 94).
pub const MODEL_MEAN: &str =
    r"\mu_\theta(x_t, t) = \tilde{\mu}_t\left(x_t, \hat{x}_0(x_t, t)\right)";

/// One DDPM ancestral step (Ho et al. 2020, Algorithm 2).
pub const DDPM_STEP: &str =
    r"x_s = \tilde{\mu}(x_t, \hat{x}_0) + \sigma z, \quad z \sim \mathcal{N}(0, I)";
/// One DDIM step (Song et al. 2021, eq. 12).
pub const DDIM_STEP: &str = r"x_s = \sqrt{\bar{\alpha}_s}\, \hat{x}_0 + \sqrt{1 - \bar{\alpha}_s - \sigma^2}\, \hat{\epsilon} + \sigma z";
/// DDIM's noise level (Song et al. 2021, eq. 16).
pub const DDIM_SIGMA: &str = r"\sigma^2 = \eta^2\, \frac{1 - \bar{\alpha}_s}{1 - \bar{\alpha}_t} \left(1 - \frac{\bar{\alpha}_t}{\bar{\alpha}_s}\right)";

/// Labels for live values (`formula = value`).
pub mod label {
    /// beta_t.
    pub const BETA: &str = r"\beta_t";
    /// alpha-bar_t.
    pub const ABAR: &str = r"\bar{\alpha}_t";
    /// 1 - alpha-bar_t.
    pub const ONE_MINUS_ABAR: &str = r"1 - \bar{\alpha}_t";
    /// alpha-bar_T.
    pub const ABAR_T: &str = r"\bar{\alpha}_T";
    /// SNR(t).
    pub const SNR: &str = r"\mathrm{SNR}(t)";
    /// The log-SNR, by its name in [`LOG_SNR`](super::LOG_SNR) (a table row's label:
    /// short, so it is never shrunk to fit).
    pub const LOG_SNR: &str = r"\lambda_t";
    /// The posterior variance.
    pub const POSTERIOR_VARIANCE: &str = r"\tilde{\sigma}_t^2";
    /// The reconstruction term.
    pub const L0: &str = r"L_0";
    /// The denoising term of step `s` (`L_{s}`, typeset), e.g. `s = t - 1`.
    pub fn term(s: usize) -> String {
        format!("L_{{{s}}}")
    }
    /// The denoising terms summed.
    pub const DENOISING_SUM: &str = r"\sum_{t=2}^{T} L_{t-1}";
    /// The prior term.
    pub const LT: &str = r"L_T";
    /// The NELBO.
    pub const NELBO: &str = r"\mathrm{NELBO}";
    /// The data entropy.
    pub const ENTROPY: &str = r"H(p_0)";
    /// The x0 weight times the x0 error.
    pub const W_MSE_X0: &str = r"w_{x_0}\, \mathrm{MSE}_{x_0}";
    /// The weight (current parameterisation).
    pub const W: &str = r"w(t)";
    /// The MSE.
    pub const MSE: &str = r"\mathrm{MSE}";
    /// sqrt(abar_t), the signal coefficient.
    pub const SIGNAL: &str = r"\sqrt{\bar{\alpha}_t}";
    /// sqrt(1 - abar_t), the noise coefficient.
    pub const NOISE: &str = r"\sqrt{1 - \bar{\alpha}_t}";
}

/// A preset's beta formula.
pub fn schedule(preset: BetaSchedule) -> &'static str {
    match preset {
        BetaSchedule::Linear => SCHEDULE_LINEAR,
        BetaSchedule::ScaledLinear => SCHEDULE_SCALED_LINEAR,
        BetaSchedule::SquaredcosCapV2 => SCHEDULE_COSINE,
        BetaSchedule::Sigmoid => SCHEDULE_SIGMOID,
    }
}

/// A parameterisation's ELBO weight.
pub fn weight(p: Parameterisation) -> &'static str {
    match p {
        Parameterisation::X0 => W_X0,
        Parameterisation::Eps => W_EPS,
        Parameterisation::Score => W_SCORE,
        Parameterisation::V => W_V,
    }
}

/// Every formula with its name and where it is from, for tests and overviews.
pub const ALL: &[(&str, &str, &str)] = &[
    ("NELBO", NELBO, "Luo eq. 58"),
    ("L0", L0, "Luo eq. 58"),
    ("LT", LT, "Luo eq. 58"),
    ("DENOISING_SUM", DENOISING_SUM, "Luo eq. 58"),
    ("L_T_MINUS_1", L_T_MINUS_1, "Luo eq. 58, 89"),
    ("VARIANCE_RATIO", VARIANCE_RATIO, ""),
    (
        "L_T_MINUS_1_WEIGHTED",
        L_T_MINUS_1_WEIGHTED,
        "Luo eq. 99, 108",
    ),
    ("MSE_X0", MSE_X0, ""),
    ("W_TIMES_MSE", W_TIMES_MSE, ""),
    ("BITS_PER_DIM", BITS_PER_DIM, ""),
    ("ENTROPY", ENTROPY, ""),
    ("GAP", GAP, ""),
    ("NELBO_CONSISTENCY", NELBO_CONSISTENCY, "Luo eq. 45"),
    ("CONSISTENCY_TERM", CONSISTENCY_TERM, "Luo eq. 45"),
    ("FORWARD", FORWARD, "Luo eq. 70"),
    ("FORWARD_STEP", FORWARD_STEP, "Luo eq. 31"),
    ("MARGINAL_MIXTURE", MARGINAL_MIXTURE, ""),
    ("ALPHA", ALPHA, ""),
    ("ABAR", ABAR, "Luo eq. 61-70"),
    ("SNR", SNR, "Luo eq. 109"),
    ("LOG_SNR", LOG_SNR, ""),
    ("POSTERIOR_VARIANCE", POSTERIOR_VARIANCE, "Luo eq. 85"),
    ("POSTERIOR_MEAN", POSTERIOR_MEAN, "Luo eq. 84"),
    ("SCHEDULE_LINEAR", SCHEDULE_LINEAR, "diffusers linear"),
    (
        "SCHEDULE_SCALED_LINEAR",
        SCHEDULE_SCALED_LINEAR,
        "diffusers scaled_linear",
    ),
    (
        "SCHEDULE_COSINE",
        SCHEDULE_COSINE,
        "diffusers squaredcos_cap_v2",
    ),
    ("SCHEDULE_SIGMOID", SCHEDULE_SIGMOID, "diffusers sigmoid"),
    (
        "RESCALE_ZERO_SNR",
        RESCALE_ZERO_SNR,
        "Lin et al. 2024, Alg. 1",
    ),
    ("W_X0", W_X0, "Luo eq. 108"),
    ("W_EPS", W_EPS, "Luo eq. 130"),
    ("W_SCORE", W_SCORE, "Luo eq. 148"),
    ("W_V", W_V, ""),
    ("X0_FROM_EPS", X0_FROM_EPS, "Luo eq. 115"),
    ("EPS_FROM_X0", EPS_FROM_X0, "Luo eq. 115"),
    ("TWEEDIE", TWEEDIE, "Luo eq. 133"),
    ("SCORE_FROM_EPS", SCORE_FROM_EPS, "Luo eq. 151"),
    ("TWEEDIE_MEAN", TWEEDIE_MEAN, "Luo eq. 133, 135"),
    ("SCORE_EPS", SCORE_EPS, "Luo eq. 151"),
    ("V_TARGET", V_TARGET, ""),
    ("MODEL_MEAN", MODEL_MEAN, "Luo eq. 94"),
    ("DDPM_STEP", DDPM_STEP, "Ho et al. 2020, Alg. 2"),
    ("DDIM_STEP", DDIM_STEP, "Song et al. 2021, eq. 12"),
    ("DDIM_SIGMA", DDIM_SIGMA, "Song et al. 2021, eq. 16"),
    ("label::BETA", label::BETA, ""),
    ("label::ABAR", label::ABAR, ""),
    ("label::ONE_MINUS_ABAR", label::ONE_MINUS_ABAR, ""),
    ("label::ABAR_T", label::ABAR_T, ""),
    ("label::SNR", label::SNR, ""),
    ("label::LOG_SNR", label::LOG_SNR, ""),
    ("label::POSTERIOR_VARIANCE", label::POSTERIOR_VARIANCE, ""),
    ("label::L0", label::L0, ""),
    ("label::DENOISING_SUM", label::DENOISING_SUM, ""),
    ("label::LT", label::LT, ""),
    ("label::NELBO", label::NELBO, ""),
    ("label::ENTROPY", label::ENTROPY, ""),
    ("label::W_MSE_X0", label::W_MSE_X0, ""),
    ("label::W", label::W, ""),
    ("label::MSE", label::MSE, ""),
    ("label::SIGNAL", label::SIGNAL, ""),
    ("label::NOISE", label::NOISE, ""),
];
