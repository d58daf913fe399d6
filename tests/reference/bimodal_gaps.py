"""Exact ELBO gaps of the optimal denoiser on the `bimodal` preset, by quadrature.

Reference values for tests/elbo_exact.rs (BIMODAL_QUADRATURE_GAPS), computed without the
crate: pure Python, `python3 tests/reference/bimodal_gaps.py` (about a minute).

NELBO = L_0 + sum_{t>=2} (SNR(t-1) - SNR(t))/2 * E[Var(x0 | x_t)] + L_T (fixed_small),
L_0 = 1/2 log(2 pi beta_1) + E[Var(x0 | x_1)] / (2 beta_1); E[Var(x0 | x_t)] is integrated
over x_t on a 6001-point grid on [-7, 7], the posterior being a closed-form Gaussian mixture.
"""
import math

COMPS = [(0.5, -1.0, 0.0625), (0.5, 1.0, 0.0625)]  # (weight, mean, variance)
XS = [-7 + 14 * i / 6000 for i in range(6001)]
DX = 14 / 6000


def f(u):
    return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2


def betas(kind, T):
    if kind == "squaredcos_cap_v2":
        return [min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)]
    return [1e-4 + (0.02 - 1e-4) * i / (T - 1) for i in range(T)]


def npdf(x, m, v):
    return math.exp(-0.5 * (x - m) ** 2 / v) / math.sqrt(2 * math.pi * v)


def mmse(a):
    tot = 0.0
    for x in XS:
        rs, mus, vs = [], [], []
        for w, m, v in COMPS:
            c = a * v + 1 - a
            rs.append(w * npdf(x, math.sqrt(a) * m, c))
            mus.append(m + math.sqrt(a) * v / c * (x - math.sqrt(a) * m))
            vs.append(v * (1 - a) / c)
        q = sum(rs)
        if q < 1e-300:
            continue
        r = [ri / q for ri in rs]
        mean = sum(ri * mi for ri, mi in zip(r, mus))
        var = sum(ri * (vi + mi * mi) for ri, vi, mi in zip(r, vs, mus)) - mean * mean
        tot += q * var * DX
    return tot


def entropy():
    h = 0.0
    for x in XS:
        p = sum(w * npdf(x, m, v) for w, m, v in COMPS)
        if p > 0:
            h -= p * math.log(p) * DX
    return h


def gap(kind, T, h):
    b = betas(kind, T)
    la = [0.0]
    for bb in b:
        la.append(la[-1] + math.log1p(-bb))
    ab = [math.exp(v) for v in la]

    def snr(k):
        return ab[k] / -math.expm1(la[k])

    l0 = 0.5 * math.log(2 * math.pi * b[0]) + mmse(ab[1]) / (2 * b[0])
    den = sum(0.5 * (snr(t - 1) - snr(t)) * mmse(ab[t]) for t in range(2, T + 1))
    e2 = sum(w * (m * m + v) for w, m, v in COMPS)
    prior = 0.5 * (ab[T] * (e2 - 1) - math.log1p(-ab[T]))
    return l0 + den + prior - h


if __name__ == "__main__":
    H = entropy()
    print(f"H = {H:.5f}")
    for kind in ["squaredcos_cap_v2", "linear"]:
        for T in [10, 100, 1000]:
            print(kind, T, f"{gap(kind, T, H):.5f}")
