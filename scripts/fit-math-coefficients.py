#!/usr/bin/env python3
# Derives the polynomial coefficients in assembly/math.ts: Chebyshev fits (mpmath, 60 digits) of the
# reduced functions, rounded to f32/f64, printed with the max error of the rounded polynomial.
# Input: none; output: coefficient lists on stdout. Run once when changing a kernel; needs mpmath.
import struct

import mpmath as mp

mp.mp.dps = 60


def f32(v):
    return struct.unpack('f', struct.pack('f', float(v)))[0]


def fit(name, g, a, b, n, rnd, err_scale):
    c = mp.chebyfit(g, [a, b], n + 1)
    c = [rnd(x) for x in c]  # highest degree first
    worst = 0
    for i in range(2001):
        t = a + (b - a) * (i + 0.37) / 2001
        d = abs(mp.polyval([mp.mpf(x) for x in c], t) - g(t)) * err_scale(t)
        worst = max(worst, d)
    print(f'{name} degree {n}: max error 2^{mp.nstr(mp.log(worst, 2), 4)}')
    for x in reversed(c):
        print('   ', repr(x))


half_ln2 = mp.log(2) / 2
zmax = (3 - 2 * mp.sqrt(2)) ** 2  # s = f/(2+f), |f| ≤ √2 − 1
wmax = (mp.pi / 4) ** 2
# e^r − 1 = r + r²·q(r); error weight r² (absolute, result ≈ 1)
q_exp = lambda r: mp.mpf(1) / 2 if r == 0 else (mp.exp(r) - 1 - r) / (r * r)
# log(1+f) = 2s + s·z·g(z), z = s²; error relative to log ≈ 2s: weight z/2
g_log = lambda z: mp.mpf(2) / 3 if z == 0 else 2 * (mp.atanh(mp.sqrt(z)) / mp.sqrt(z) - 1) / z
# sin r = r + r³·S(r²), cos r = 1 − r²/2 + r⁴·C(r²)
s_sin = lambda w: -mp.mpf(1) / 6 if w == 0 else (mp.sin(mp.sqrt(w)) - mp.sqrt(w)) / (w * mp.sqrt(w))
c_cos = lambda w: mp.mpf(1) / 24 if w == 0 else (mp.cos(mp.sqrt(w)) - 1 + w / 2) / (w * w)
# tanh a = a + a³·T(a²) on a < 0.55
t_tanh = lambda w: -mp.mpf(1) / 3 if w == 0 else (mp.tanh(mp.sqrt(w)) - mp.sqrt(w)) / (w * mp.sqrt(w))

fit('exp q (f32)', q_exp, -half_ln2, half_ln2, 4, f32, lambda r: r * r)
fit('exp q (f64)', q_exp, -half_ln2, half_ln2, 10, float, lambda r: r * r)
fit('log g (f32)', g_log, mp.mpf(0), zmax, 2, f32, lambda z: z / 2)
fit('log g (f64)', g_log, mp.mpf(0), zmax, 7, float, lambda z: z / 2)
fit('sin S (f64)', s_sin, mp.mpf(0), wmax, 6, float, lambda w: w)
fit('cos C (f64)', c_cos, mp.mpf(0), wmax, 6, float, lambda w: w * w)
fit('tanh T (f32)', t_tanh, mp.mpf(0), mp.mpf('0.3025'), 4, f32, lambda w: w)
