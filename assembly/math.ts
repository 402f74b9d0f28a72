// Deterministic math kernels (AssemblyScript → wasm): exp, expm1, log, log1p, tanh, sigmoid as f32,
// f64 and f32x4 (SIMD128); sin, cos, pow as f32 and f64. Input: IEEE values; output: the same bits on
// every wasm host, because only exactly-rounded wasm operations are used (no host Math, no FMA, no
// relaxed SIMD). Each f32x4 kernel repeats its scalar f32 twin operation for operation, so a lane
// equals the scalar result bit for bit. Methods and measured error bounds: docs/math.md.

// ── constants ──────────────────────────────────────────────────────────────────────────────────
// Polynomial coefficients were fitted once (Chebyshev fits in 60-digit arithmetic, rounded to the
// working precision; scripts/fit-math-coefficients.py prints them and their error).

const NAN_F32: f32 = NaN; // canonical quiet NaN, bits 0x7fc00000
const NAN_F64: f64 = NaN; // canonical quiet NaN, bits 0x7ff8000000000000
const INF_F32: f32 = Infinity;
const INF_F64: f64 = Infinity;

// x = k·ln2 + r (Cody–Waite): LN2_HI has few significant bits, so k·LN2_HI is exact for every k used.
const LOG2E_F32: f32 = 1.4426950216293335;
const LN2_HI_F32: f32 = 0.693359375;
const LN2_LO_F32: f32 = -0.00021219444170128554;
const LOG2E_F64: f64 = 1.4426950408889634;
const LN2_HI_F64: f64 = 0.6931471805598903;
const LN2_LO_F64: f64 = 5.497923018708371e-14;

// e^r − 1 = r + r²·q(r) on |r| ≤ ln2/2.
const EXP_Q0_F32: f32 = 0.5;
const EXP_Q1_F32: f32 = 0.16666577756404877;
const EXP_Q2_F32: f32 = 0.041666556149721146;
const EXP_Q3_F32: f32 = 0.008363173343241215;
const EXP_Q4_F32: f32 = 0.0013926175888627768;
const EXP_Q0_F64: f64 = 0.5;
const EXP_Q1_F64: f64 = 0.1666666666666667;
const EXP_Q2_F64: f64 = 0.04166666666666667;
const EXP_Q3_F64: f64 = 0.008333333333326141;
const EXP_Q4_F64: f64 = 0.0013888888888883752;
const EXP_Q5_F64: f64 = 0.00019841269874800493;
const EXP_Q6_F64: f64 = 2.4801587325533363e-5;
const EXP_Q7_F64: f64 = 2.7557255425746435e-6;
const EXP_Q8_F64: f64 = 2.7557273661348637e-7;
const EXP_Q9_F64: f64 = 2.510520637395701e-8;
const EXP_Q10_F64: f64 = 2.0914679376583935e-9;

// Clamps: below the low bound the result is 0 (or −1 for expm1), above the high bound it is +inf.
const EXP_LO_F32: f32 = -110.0;
const EXP_HI_F32: f32 = 100.0;
const EXP_LO_F64: f64 = -760.0;
const EXP_HI_F64: f64 = 720.0;
const EXPM1_LO_F32: f32 = -20.0;
const EXPM1_LO_F64: f64 = -40.0;

// log(1+f) = 2s + s·z·g(z), s = f/(2+f), z = s², |s| ≤ 3 − 2√2.
const LOG_G0_F32: f32 = 0.6666668653488159;
const LOG_G1_F32: f32 = 0.3998878002166748;
const LOG_G2_F32: f32 = 0.29579949378967285;
const LOG_G0_F64: f64 = 0.6666666666666666;
const LOG_G1_F64: f64 = 0.4000000000000088;
const LOG_G2_F64: f64 = 0.28571428570803614;
const LOG_G3_F64: f64 = 0.22222222391713917;
const LOG_G4_F64: f64 = 0.18181795640132906;
const LOG_G5_F64: f64 = 0.15386239702814658;
const LOG_G6_F64: f64 = 0.13268773138656886;
const LOG_G7_F64: f64 = 0.13086626147840102;

// Mantissa m is taken in [√½, √2): adding this offset to the bits carries into the exponent.
const SQRT_HALF_BITS_F32: i32 = 0x3f3504f3;
const ONE_BITS_F32: i32 = 0x3f800000;
const SQRT_HALF_BITS_F64: i64 = 0x3fe6a09e667f3bcd;
const ONE_BITS_F64: i64 = 0x3ff0000000000000;
const MIN_NORMAL_F32: f32 = 1.1754943508222875e-38; // 2^-126
const MIN_NORMAL_F64: f64 = 2.2250738585072014e-308; // 2^-1022
const TWO_P23_F32: f32 = 8388608.0;
const TWO_P54_F64: f64 = 18014398509481984.0;

// tanh(a) = 1 in the working precision beyond these. f32: tanh a = a + a³·T(a²) on a < 0.55.
const TANH_HI_F32: f32 = 10.0;
const TANH_SMALL_F32: f32 = 0.55;
const TANH_T0_F32: f32 = -0.3333333134651184;
const TANH_T1_F32: f32 = 0.13333113491535187;
const TANH_T2_F32: f32 = -0.05390942841768265;
const TANH_T3_F32: f32 = 0.021309388801455498;
const TANH_T4_F32: f32 = -0.00661022774875164;
const TANH_HI_F64: f64 = 40.0;

// sin/cos: x = j·π/2 + r with π/2 = P1 + P2 + P3 (P1, P2 have 33 significant bits: j·P1, j·P2 exact
// for |j| ≤ 2^20; larger |x| use Payne–Hanek, reduceLarge). sin r = r + r³·S(r²), cos r = 1 − r²/2 + r⁴·C(r²) on |r| ≤ π/4.
const TWO_OVER_PI: f64 = 0.6366197723675814;
const PIO2_1: f64 = 1.5707963267341256;
const PIO2_2: f64 = 6.077100506303966e-11;
const PIO2_3: f64 = 2.0222662487959506e-21;
const SIN_S0: f64 = -0.16666666666666666;
const SIN_S1: f64 = 0.008333333333333331;
const SIN_S2: f64 = -0.00019841269841265065;
const SIN_S3: f64 = 2.7557319219339167e-6;
const SIN_S4: f64 = -2.5052106232447578e-8;
const SIN_S5: f64 = 1.6058531618986147e-10;
const SIN_S6: f64 = -7.586697117706918e-13;
const COS_C0: f64 = 0.041666666666666664;
const COS_C1: f64 = -0.0013888888888888887;
const COS_C2: f64 = 2.4801587301584645e-5;
const COS_C3: f64 = -2.7557319221402824e-7;
const COS_C4: f64 = 2.087675579108042e-9;
const COS_C5: f64 = -1.1470460887609959e-11;
const COS_C6: f64 = 4.7458719020432915e-14;

// Veltkamp split constant (2^27 + 1) for exact products without FMA.
const SPLIT_F64: f64 = 134217729.0;

// ── exp, expm1 ─────────────────────────────────────────────────────────────────────────────────

/** r + r²·q(r): e^r − 1 on |r| ≤ ln2/2. */
function expm1PolyF32(r: f32): f32 {
  const q = EXP_Q0_F32 + r * (EXP_Q1_F32 + r * (EXP_Q2_F32 + r * (EXP_Q3_F32 + r * EXP_Q4_F32)));
  return r + r * r * q;
}

function expm1PolyF32x4(r: v128): v128 {
  let q = f32x4.add(f32x4.splat(EXP_Q3_F32), f32x4.mul(r, f32x4.splat(EXP_Q4_F32)));
  q = f32x4.add(f32x4.splat(EXP_Q2_F32), f32x4.mul(r, q));
  q = f32x4.add(f32x4.splat(EXP_Q1_F32), f32x4.mul(r, q));
  q = f32x4.add(f32x4.splat(EXP_Q0_F32), f32x4.mul(r, q));
  return f32x4.add(r, f32x4.mul(f32x4.mul(r, r), q));
}

/** e^x. exp(NaN) = NaN, exp(+inf) = +inf, exp(−inf) = +0; overflow → +inf, deep underflow → +0. */
export function expF32(x: f32): f32 {
  const xc = min<f32>(max<f32>(x, EXP_LO_F32), EXP_HI_F32);
  const kf = nearest<f32>(xc * LOG2E_F32);
  const r = xc - kf * LN2_HI_F32 - kf * LN2_LO_F32;
  const p: f32 = 1.0 + expm1PolyF32(r);
  const k = <i32>kf;
  const k1 = k >> 1;
  const k2 = k - k1;
  const s1 = reinterpret<f32>((k1 + 127) << 23);
  const s2 = reinterpret<f32>((k2 + 127) << 23);
  const y = p * s1 * s2;
  return select<f32>(NAN_F32, y, y != y);
}

export function expF32x4(x: v128): v128 {
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LO_F32)), f32x4.splat(EXP_HI_F32));
  const kf = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E_F32)));
  const r = f32x4.sub(
    f32x4.sub(xc, f32x4.mul(kf, f32x4.splat(LN2_HI_F32))),
    f32x4.mul(kf, f32x4.splat(LN2_LO_F32)),
  );
  const p = f32x4.add(f32x4.splat(1.0), expm1PolyF32x4(r));
  const k = i32x4.trunc_sat_f32x4_s(kf);
  const k1 = i32x4.shr_s(k, 1);
  const k2 = i32x4.sub(k, k1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(k1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(k2, bias), 23);
  const y = f32x4.mul(f32x4.mul(p, s1), s2);
  return v128.bitselect(f32x4.splat(NAN_F32), y, f32x4.ne(y, y));
}

/** e^x − 1, accurate near 0. expm1(±0) = ±0, expm1(−inf) = −1, expm1(+inf) = +inf. */
export function expm1F32(x: f32): f32 {
  const xc = min<f32>(max<f32>(x, EXPM1_LO_F32), EXP_HI_F32);
  const kf = nearest<f32>(xc * LOG2E_F32);
  const r = xc - kf * LN2_HI_F32 - kf * LN2_LO_F32;
  const em = expm1PolyF32(r);
  const k = <i32>kf;
  const k1 = k >> 1;
  const k2 = k - k1;
  const s1 = reinterpret<f32>((k1 + 127) << 23);
  const s2 = reinterpret<f32>((k2 + 127) << 23);
  const inv2 = reinterpret<f32>((127 - k2) << 23);
  // 2^k·(1 + em) − 1 = s2·(s1·em + (s1 − 2^−k2)); every scaling by a power of two is exact
  let y = (s1 * em + (s1 - inv2)) * s2;
  y = select<f32>(x, y, x == 0);
  return select<f32>(NAN_F32, y, y != y);
}

export function expm1F32x4(x: v128): v128 {
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(EXPM1_LO_F32)), f32x4.splat(EXP_HI_F32));
  const kf = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E_F32)));
  const r = f32x4.sub(
    f32x4.sub(xc, f32x4.mul(kf, f32x4.splat(LN2_HI_F32))),
    f32x4.mul(kf, f32x4.splat(LN2_LO_F32)),
  );
  const em = expm1PolyF32x4(r);
  const k = i32x4.trunc_sat_f32x4_s(kf);
  const k1 = i32x4.shr_s(k, 1);
  const k2 = i32x4.sub(k, k1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(k1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(k2, bias), 23);
  const inv2 = i32x4.shl(i32x4.sub(bias, k2), 23);
  let y = f32x4.mul(f32x4.add(f32x4.mul(s1, em), f32x4.sub(s1, inv2)), s2);
  y = v128.bitselect(x, y, f32x4.eq(x, f32x4.splat(0)));
  return v128.bitselect(f32x4.splat(NAN_F32), y, f32x4.ne(y, y));
}

function expm1PolyF64(r: f64): f64 {
  let q = EXP_Q9_F64 + r * EXP_Q10_F64;
  q = EXP_Q8_F64 + r * q;
  q = EXP_Q7_F64 + r * q;
  q = EXP_Q6_F64 + r * q;
  q = EXP_Q5_F64 + r * q;
  q = EXP_Q4_F64 + r * q;
  q = EXP_Q3_F64 + r * q;
  q = EXP_Q2_F64 + r * q;
  q = EXP_Q1_F64 + r * q;
  q = EXP_Q0_F64 + r * q;
  return r + r * r * q;
}

/** e^(hi + lo) for |lo| ≪ ulp(hi) (lo = 0 for plain exp; pow passes a double-double). */
function expDDF64(hi: f64, lo: f64): f64 {
  const xc = min<f64>(max<f64>(hi, EXP_LO_F64), EXP_HI_F64);
  const kf = nearest<f64>(xc * LOG2E_F64);
  const r = xc - kf * LN2_HI_F64 + (lo - kf * LN2_LO_F64);
  const p: f64 = 1.0 + expm1PolyF64(r);
  const k = <i64>kf;
  const k1 = k >> 1;
  const k2 = k - k1;
  const s1 = reinterpret<f64>((k1 + 1023) << 52);
  const s2 = reinterpret<f64>((k2 + 1023) << 52);
  const y = p * s1 * s2;
  return select<f64>(NAN_F64, y, y != y);
}

/** e^x (f64). Special values as expF32. */
export function expF64(x: f64): f64 {
  return expDDF64(x, 0.0);
}

/** e^x − 1 (f64). Special values as expm1F32. */
export function expm1F64(x: f64): f64 {
  const xc = min<f64>(max<f64>(x, EXPM1_LO_F64), EXP_HI_F64);
  const kf = nearest<f64>(xc * LOG2E_F64);
  const r = xc - kf * LN2_HI_F64 - kf * LN2_LO_F64;
  const em = expm1PolyF64(r);
  const k = <i64>kf;
  const k1 = k >> 1;
  const k2 = k - k1;
  const s1 = reinterpret<f64>((k1 + 1023) << 52);
  const s2 = reinterpret<f64>((k2 + 1023) << 52);
  const inv2 = reinterpret<f64>((1023 - k2) << 52);
  let y = (s1 * em + (s1 - inv2)) * s2;
  y = select<f64>(x, y, x == 0);
  return select<f64>(NAN_F64, y, y != y);
}

// ── log, log1p ─────────────────────────────────────────────────────────────────────────────────

/** log(x). log(±0) = −inf, log(x < 0) = NaN, log(+inf) = +inf, log(NaN) = NaN. */
export function logF32(x: f32): f32 {
  const sub = x < MIN_NORMAL_F32;
  const xs = select<f32>(x * TWO_P23_F32, x, sub);
  const ix = reinterpret<i32>(xs) + (ONE_BITS_F32 - SQRT_HALF_BITS_F32);
  const e = (ix >> 23) - 127 - select<i32>(23, 0, sub);
  const m = reinterpret<f32>((ix & 0x007fffff) + SQRT_HALF_BITS_F32);
  const f: f32 = m - 1.0;
  let y = logTailF32(f, <f32>e, 0);
  y = select<f32>(-INF_F32, y, x == 0);
  y = select<f32>(x, y, x == INF_F32);
  y = select<f32>(y, NAN_F32, x >= 0); // negative or NaN x
  return select<f32>(NAN_F32, y, y != y);
}

/** e·ln2 + log(1 + f) + c for f in [√½ − 1, √2 − 1]; c is a small correction (log1p). */
function logTailF32(f: f32, ef: f32, c: f32): f32 {
  const s = f / (2.0 + f);
  const z = s * s;
  const rr = z * (LOG_G0_F32 + z * (LOG_G1_F32 + z * LOG_G2_F32));
  const hfsq: f32 = 0.5 * f * f;
  return ef * LN2_HI_F32 - (hfsq - (s * (hfsq + rr) + (ef * LN2_LO_F32 + c)) - f);
}

function logTailF32x4(f: v128, ef: v128, c: v128): v128 {
  const s = f32x4.div(f, f32x4.add(f32x4.splat(2.0), f));
  const z = f32x4.mul(s, s);
  let g = f32x4.add(f32x4.splat(LOG_G1_F32), f32x4.mul(z, f32x4.splat(LOG_G2_F32)));
  g = f32x4.add(f32x4.splat(LOG_G0_F32), f32x4.mul(z, g));
  const rr = f32x4.mul(z, g);
  const hfsq = f32x4.mul(f32x4.mul(f32x4.splat(0.5), f), f);
  const inner = f32x4.add(
    f32x4.mul(s, f32x4.add(hfsq, rr)),
    f32x4.add(f32x4.mul(ef, f32x4.splat(LN2_LO_F32)), c),
  );
  return f32x4.sub(f32x4.mul(ef, f32x4.splat(LN2_HI_F32)), f32x4.sub(f32x4.sub(hfsq, inner), f));
}

export function logF32x4(x: v128): v128 {
  const zero = f32x4.splat(0);
  const sub = f32x4.lt(x, f32x4.splat(MIN_NORMAL_F32));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(TWO_P23_F32)), x, sub);
  const ix = i32x4.add(xs, i32x4.splat(ONE_BITS_F32 - SQRT_HALF_BITS_F32));
  const e = i32x4.sub(
    i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(127)),
    v128.bitselect(i32x4.splat(23), i32x4.splat(0), sub),
  );
  const m = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(SQRT_HALF_BITS_F32));
  const f = f32x4.sub(m, f32x4.splat(1.0));
  let y = logTailF32x4(f, f32x4.convert_i32x4_s(e), zero);
  y = v128.bitselect(f32x4.splat(-INF_F32), y, f32x4.eq(x, zero));
  y = v128.bitselect(x, y, f32x4.eq(x, f32x4.splat(INF_F32)));
  y = v128.bitselect(y, f32x4.splat(NAN_F32), f32x4.ge(x, zero));
  return v128.bitselect(f32x4.splat(NAN_F32), y, f32x4.ne(y, y));
}

/** log(1 + x), accurate near 0. log1p(±0) = ±0, log1p(−1) = −inf, log1p(x < −1) = NaN. */
export function log1pF32(x: f32): f32 {
  const u: f32 = 1.0 + x;
  const iu = reinterpret<i32>(u) + (ONE_BITS_F32 - SQRT_HALF_BITS_F32);
  const e = (iu >> 23) - 127;
  const m = reinterpret<f32>((iu & 0x007fffff) + SQRT_HALF_BITS_F32);
  const f: f32 = m - 1.0;
  // c = (1 + x − u)/u: the rounding error of u, recovered exactly (by Sterbenz) and divided by u
  const c = select<f32>(1.0 - (u - x), x - (u - 1.0), e >= 2) / u;
  let y = logTailF32(f, <f32>e, c);
  y = select<f32>(x, y, x == 0);
  y = select<f32>(-INF_F32, y, u == 0);
  y = select<f32>(x, y, x == INF_F32);
  y = select<f32>(NAN_F32, y, u < 0);
  return select<f32>(NAN_F32, y, y != y);
}

export function log1pF32x4(x: v128): v128 {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1.0);
  const u = f32x4.add(one, x);
  const iu = i32x4.add(u, i32x4.splat(ONE_BITS_F32 - SQRT_HALF_BITS_F32));
  const e = i32x4.sub(i32x4.shr_s(iu, 23), i32x4.splat(127));
  const m = i32x4.add(v128.and(iu, i32x4.splat(0x007fffff)), i32x4.splat(SQRT_HALF_BITS_F32));
  const f = f32x4.sub(m, one);
  const c = f32x4.div(
    v128.bitselect(
      f32x4.sub(one, f32x4.sub(u, x)),
      f32x4.sub(x, f32x4.sub(u, one)),
      i32x4.ge_s(e, i32x4.splat(2)),
    ),
    u,
  );
  let y = logTailF32x4(f, f32x4.convert_i32x4_s(e), c);
  y = v128.bitselect(x, y, f32x4.eq(x, zero));
  y = v128.bitselect(f32x4.splat(-INF_F32), y, f32x4.eq(u, zero));
  y = v128.bitselect(x, y, f32x4.eq(x, f32x4.splat(INF_F32)));
  y = v128.bitselect(f32x4.splat(NAN_F32), y, f32x4.lt(u, zero));
  return v128.bitselect(f32x4.splat(NAN_F32), y, f32x4.ne(y, y));
}

function logTailF64(f: f64, ef: f64, c: f64): f64 {
  const s = f / (2.0 + f);
  const z = s * s;
  let g = LOG_G6_F64 + z * LOG_G7_F64;
  g = LOG_G5_F64 + z * g;
  g = LOG_G4_F64 + z * g;
  g = LOG_G3_F64 + z * g;
  g = LOG_G2_F64 + z * g;
  g = LOG_G1_F64 + z * g;
  g = LOG_G0_F64 + z * g;
  const rr = z * g;
  const hfsq: f64 = 0.5 * f * f;
  return ef * LN2_HI_F64 - (hfsq - (s * (hfsq + rr) + (ef * LN2_LO_F64 + c)) - f);
}

/** log(x) (f64). Special values as logF32. */
export function logF64(x: f64): f64 {
  const sub = x < MIN_NORMAL_F64;
  const xs = select<f64>(x * TWO_P54_F64, x, sub);
  const ix = reinterpret<i64>(xs) + (ONE_BITS_F64 - SQRT_HALF_BITS_F64);
  const e = (ix >> 52) - 1023 - select<i64>(54, 0, sub);
  const m = reinterpret<f64>((ix & 0x000fffffffffffff) + SQRT_HALF_BITS_F64);
  const f: f64 = m - 1.0;
  let y = logTailF64(f, <f64>e, 0);
  y = select<f64>(-INF_F64, y, x == 0);
  y = select<f64>(x, y, x == INF_F64);
  y = select<f64>(y, NAN_F64, x >= 0);
  return select<f64>(NAN_F64, y, y != y);
}

/** log(1 + x) (f64). Special values as log1pF32. */
export function log1pF64(x: f64): f64 {
  const u: f64 = 1.0 + x;
  const iu = reinterpret<i64>(u) + (ONE_BITS_F64 - SQRT_HALF_BITS_F64);
  const e = (iu >> 52) - 1023;
  const m = reinterpret<f64>((iu & 0x000fffffffffffff) + SQRT_HALF_BITS_F64);
  const f: f64 = m - 1.0;
  const c = select<f64>(1.0 - (u - x), x - (u - 1.0), e >= 2) / u;
  let y = logTailF64(f, <f64>e, c);
  y = select<f64>(x, y, x == 0);
  y = select<f64>(-INF_F64, y, u == 0);
  y = select<f64>(x, y, x == INF_F64);
  y = select<f64>(NAN_F64, y, u < 0);
  return select<f64>(NAN_F64, y, y != y);
}

// ── tanh, sigmoid ──────────────────────────────────────────────────────────────────────────────

/** tanh(x): a + a³·T(a²) for a = |x| < 0.55, else 1 − 2/(e^(2a) + 1); sign restored.
 *  tanh(±inf) = ±1, tanh(±0) = ±0. */
export function tanhF32(x: f32): f32 {
  const a = min<f32>(abs<f32>(x), TANH_HI_F32);
  const w = a * a;
  const t = TANH_T0_F32 + w * (TANH_T1_F32 + w * (TANH_T2_F32 + w * (TANH_T3_F32 + w * TANH_T4_F32)));
  const small = a + a * w * t;
  const e = expF32(2.0 * a);
  const large: f32 = 1.0 - 2.0 / (e + 1.0);
  const y = copysign<f32>(select<f32>(small, large, a < TANH_SMALL_F32), x);
  return select<f32>(NAN_F32, y, y != y);
}

export function tanhF32x4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  const two = f32x4.splat(2.0);
  const a = f32x4.min(f32x4.abs(x), f32x4.splat(TANH_HI_F32));
  const w = f32x4.mul(a, a);
  let t = f32x4.add(f32x4.splat(TANH_T3_F32), f32x4.mul(w, f32x4.splat(TANH_T4_F32)));
  t = f32x4.add(f32x4.splat(TANH_T2_F32), f32x4.mul(w, t));
  t = f32x4.add(f32x4.splat(TANH_T1_F32), f32x4.mul(w, t));
  t = f32x4.add(f32x4.splat(TANH_T0_F32), f32x4.mul(w, t));
  const small = f32x4.add(a, f32x4.mul(f32x4.mul(a, w), t));
  const e = expF32x4(f32x4.mul(two, a));
  const large = f32x4.sub(one, f32x4.div(two, f32x4.add(e, one)));
  const q = v128.bitselect(small, large, f32x4.lt(a, f32x4.splat(TANH_SMALL_F32)));
  const y = v128.bitselect(x, q, i32x4.splat(0x80000000));
  return v128.bitselect(f32x4.splat(NAN_F32), y, f32x4.ne(y, y));
}

/** 1/(1 + e^−x), as e^x/(1 + e^x) for x < 0 so tiny results keep their precision. σ(±inf) = 1, 0. */
export function sigmoidF32(x: f32): f32 {
  const e = expF32(-abs<f32>(x));
  const y = select<f32>(1.0, e, x >= 0) / (1.0 + e);
  return select<f32>(NAN_F32, y, y != y);
}

export function sigmoidF32x4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  const e = expF32x4(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(one, e, f32x4.ge(x, f32x4.splat(0)));
  const y = f32x4.div(num, f32x4.add(one, e));
  return v128.bitselect(f32x4.splat(NAN_F32), y, f32x4.ne(y, y));
}

/** tanh(x) (f64) = t/(t + 2), t = expm1(2|x|), sign restored. Special values as tanhF32. */
export function tanhF64(x: f64): f64 {
  const a = min<f64>(abs<f64>(x), TANH_HI_F64);
  const t = expm1F64(2.0 * a);
  const y = copysign<f64>(t / (t + 2.0), x);
  return select<f64>(NAN_F64, y, y != y);
}

export function sigmoidF64(x: f64): f64 {
  const e = expF64(-abs<f64>(x));
  const y = select<f64>(1.0, e, x >= 0) / (1.0 + e);
  return select<f64>(NAN_F64, y, y != y);
}

// ── sin, cos ───────────────────────────────────────────────────────────────────────────────────

/** sin(r + rr) for |r| ≤ π/4 + ε, rr a tail far below ulp(r). */
function sinKernel(r: f64, rr: f64): f64 {
  const z = r * r;
  let s = SIN_S5 + z * SIN_S6;
  s = SIN_S4 + z * s;
  s = SIN_S3 + z * s;
  s = SIN_S2 + z * s;
  s = SIN_S1 + z * s;
  s = SIN_S0 + z * s;
  return r + (z * r * s + rr * (1.0 - 0.5 * z));
}

/** cos(r + rr) for |r| ≤ π/4 + ε. */
function cosKernel(r: f64, rr: f64): f64 {
  const z = r * r;
  let c = COS_C5 + z * COS_C6;
  c = COS_C4 + z * c;
  c = COS_C3 + z * c;
  c = COS_C2 + z * c;
  c = COS_C1 + z * c;
  c = COS_C0 + z * c;
  const hz = 0.5 * z;
  const w = 1.0 - hz;
  return w + (1.0 - w - hz + (z * z * c - r * rr));
}

let reducedTail: f64 = 0; // low half of reduce()'s double-double result
let reducedQuadrant: i32 = 0; // j mod 4 of reduce()

/** x − j·π/2 as a double-double (return value + reducedTail) with j = nearest(x·2/π); j mod 4 goes to
 *  reducedQuadrant. Cody–Waite for |x| < REDUCE_LARGE, Payne–Hanek (reduceLarge) beyond. */
function reduce(x: f64): f64 {
  const ax = abs<f64>(x);
  if (ax >= REDUCE_LARGE && ax < INF_F64) return reduceLarge(x);
  const j = nearest<f64>(x * TWO_OVER_PI);
  const r0 = x - j * PIO2_1; // exact for |j| ≤ 2^20
  const w = j * PIO2_2; // exact for |j| ≤ 2^20
  const r1 = r0 - w;
  const bv = r1 - r0; // two-sum: the rounding error of r0 − w, exactly
  const err = r0 - (r1 - bv) + (-w - bv);
  const tail = err - j * PIO2_3;
  const r = r1 + tail;
  reducedTail = r1 - r + tail;
  reducedQuadrant = <i32>((<i64>j) & 3);
  return r;
}

// Payne–Hanek: 2/π as 40 big-endian 32-bit limbs (1280 bits; enough for every finite f64).
const TWO_OVER_PI_LIMBS = memory.data<u32>([
  0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0, 0xdb629599, 0x3c439041, 0xfe5163ab, 0xdebbc561, 0xb7246e3a,
  0x424dd2e0, 0x06492eea, 0x09d1921c, 0xfe1deb1c, 0xb129a73e, 0xe88235f5, 0x2ebb4484, 0xe99c7026, 0xb45f7e41,
  0x3991d639, 0x835339f4, 0x9c845f8b, 0xbdf9283b, 0x1ff897ff, 0xde05980f, 0xef2f118b, 0x5a0a6d1f, 0x6d367ecf,
  0x27cb09b7, 0x4f463f66, 0x9e5fea2d, 0x7527bac7, 0xebe5f17b, 0x3d0739f7, 0x8a5292ea, 0x6bfb5fb1, 0x1f8d5d08,
  0x56033046, 0xfc7b6bab, 0xf0cfbc20, 0x9af4361d,
]);
const PRODUCT = memory.data(48); // 12 little-endian u32 limbs: mantissa × a 192-bit window of 2/π
const REDUCE_LARGE: f64 = 1.6e6; // below 2^20·π/2, where Cody–Waite's j·PIO2_1 stays exact
const PIO2_HI: f64 = 1.5707963267948966;
const PIO2_LO: f64 = 6.123233995736766e-17;
const TWO_M64: f64 = 5.421010862427522e-20; // 2^-64

/** Bits [off, off + 64) of the little-endian limb product. */
function productBits(off: i32): u64 {
  const p = PRODUCT + ((<usize>(off >> 5)) << 2);
  const s = <u64>(off & 31);
  const lo = (<u64>load<u32>(p)) | ((<u64>load<u32>(p, 4)) << 32);
  if (s == 0) return lo;
  return (lo >> s) | ((<u64>load<u32>(p, 8)) << (64 - s));
}

/** reduce() for 1.6e6 ≤ |x| < inf: |x| = M·2^E; x·2/π mod 4 from M times the bits of 2/π that matter. */
function reduceLarge(x: f64): f64 {
  const ix = reinterpret<i64>(x);
  const e = <i32>((ix >> 52) & 0x7ff) - 1075;
  const mant = <u64>((ix & 0x000fffffffffffff) | 0x0010000000000000);
  // limbs before k0 only add multiples of 4 to x·2/π; keep six limbs from k0 on
  const k0 = max<i32>((e - 2) >> 5, 0);
  const sh = e - 32 * (k0 + 1);
  for (let i = 0; i < 12; i++) store<u32>(PRODUCT + ((<usize>i) << 2), 0);
  for (let i = 0; i < 2; i++) {
    const a: u64 = i == 0 ? mant & 0xffffffff : mant >> 32;
    let carry: u64 = 0;
    for (let j = 0; j < 6; j++) {
      const b = <u64>load<u32>(TWO_OVER_PI_LIMBS + ((<usize>(k0 + 5 - j)) << 2));
      const at = PRODUCT + ((<usize>(i + j)) << 2);
      const t = a * b + <u64>load<u32>(at) + carry; // ≤ 2^64 − 1
      store<u32>(at, <u32>t);
      carry = t >> 32;
    }
    store<u32>(PRODUCT + ((<usize>(i + 6)) << 2), <u32>carry);
  }
  // x·2/π = product·2^(sh − 160): the binary point sits at bit bp
  const bp = 160 - sh;
  let q = <i32>(productBits(bp) & 3);
  let fhi = productBits(bp - 64);
  let flo = productBits(bp - 128);
  let negF = false;
  if (fhi >> 63 != 0) {
    // fraction ≥ ½: round j up and take fraction − 1 (two's complement of the 128-bit fraction)
    q += 1;
    flo = ~flo + 1;
    fhi = ~fhi + select<u64>(1, 0, flo == 0);
    negF = true;
  }
  // the 128-bit fraction as a double-double fh + fl
  const f = <f64>fhi;
  const d = <f64>(<i64>(fhi - <u64>f));
  const t = (d + <f64>flo * TWO_M64) * TWO_M64;
  const f0 = f * TWO_M64;
  let fh = f0 + t;
  let fl = f0 - fh + t;
  if (negF) {
    fh = -fh;
    fl = -fl;
  }
  // r = (fh + fl)·π/2 in double-double
  const ph = fh * PIO2_HI;
  const pl = twoProdErr(fh, PIO2_HI, ph) + (fh * PIO2_LO + fl * PIO2_HI);
  let r = ph + pl;
  let rr = ph - r + pl;
  if (x < 0) {
    r = -r;
    rr = -rr;
    q = -q;
  }
  reducedTail = rr;
  reducedQuadrant = q & 3;
  return r;
}

/** sin(x). sin(±0) = ±0, sin(±inf) = NaN. */
export function sinF64(x: f64): f64 {
  const r = reduce(x);
  const rr = reducedTail;
  const q = reducedQuadrant;
  let y: f64;
  if ((q & 1) == 0) y = sinKernel(r, rr);
  else y = cosKernel(r, rr);
  if (q >= 2) y = -y;
  y = select<f64>(x, y, x == 0);
  return select<f64>(NAN_F64, y, y != y);
}

/** cos(x). cos(±inf) = NaN. */
export function cosF64(x: f64): f64 {
  const r = reduce(x);
  const rr = reducedTail;
  const q = reducedQuadrant;
  let y: f64;
  if ((q & 1) == 0) y = cosKernel(r, rr);
  else y = sinKernel(r, rr);
  if (q == 1 || q == 2) y = -y;
  return select<f64>(NAN_F64, y, y != y);
}

/** sin(x) for f32, evaluated in f64 and rounded once. */
export function sinF32(x: f32): f32 {
  const y = <f32>sinF64(<f64>x);
  return select<f32>(NAN_F32, y, y != y);
}

export function cosF32(x: f32): f32 {
  const y = <f32>cosF64(<f64>x);
  return select<f32>(NAN_F32, y, y != y);
}

// ── pow ────────────────────────────────────────────────────────────────────────────────────────

let logTail: f64 = 0; // low half of logDDF64's double-double result

/** log(x) as a double-double (return value + logTail) for finite x > 0. */
function logDDF64(x: f64): f64 {
  const sub = x < MIN_NORMAL_F64;
  const xs = select<f64>(x * TWO_P54_F64, x, sub);
  const ix = reinterpret<i64>(xs) + (ONE_BITS_F64 - SQRT_HALF_BITS_F64);
  const ef = <f64>((ix >> 52) - 1023 - select<i64>(54, 0, sub));
  const f: f64 = reinterpret<f64>((ix & 0x000fffffffffffff) + SQRT_HALF_BITS_F64) - 1.0;
  // s = f/(2 + f) as sh + sl
  const t: f64 = 2.0 + f;
  const tlo = f - (t - 2.0);
  const sh = f / t;
  const p = sh * t;
  const pe = twoProdErr(sh, t, p);
  const sl = (f - p - pe - sh * tlo) / t;
  const z = sh * sh;
  let g = LOG_G6_F64 + z * LOG_G7_F64;
  g = LOG_G5_F64 + z * g;
  g = LOG_G4_F64 + z * g;
  g = LOG_G3_F64 + z * g;
  g = LOG_G2_F64 + z * g;
  g = LOG_G1_F64 + z * g;
  g = LOG_G0_F64 + z * g;
  const tail = sh * z * g;
  // e·ln2_hi + 2·sh, summed exactly (two-sum), then the small terms
  const a = ef * LN2_HI_F64;
  const b = 2.0 * sh;
  const hi = a + b;
  const bv = hi - a;
  const lo = a - (hi - bv) + (b - bv) + (ef * LN2_LO_F64 + (2.0 * sl + tail));
  const h = hi + lo;
  logTail = hi - h + lo;
  return h;
}

/** The rounding error of p = a·b (Dekker's product with Veltkamp splitting; exact, no FMA). */
function twoProdErr(a: f64, b: f64, p: f64): f64 {
  const ca = SPLIT_F64 * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLIT_F64 * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

function isOddInteger(y: f64): bool {
  return abs<f64>(y) < 9007199254740992.0 && floor<f64>(y) == y && floor<f64>(y * 0.5) * 2.0 != y;
}

/** x^y with C99/IEEE 754 special cases: pow(x, ±0) = 1 and pow(1, y) = 1 even for NaN; pow(−1, ±inf) = 1;
 *  x < 0 finite with y finite non-integer → NaN; signs of ±0 and −inf follow odd integer y. */
export function powF64(x: f64, y: f64): f64 {
  if (y == 0 || x == 1) return 1.0;
  if (x != x || y != y) return NAN_F64;
  const ax = abs<f64>(x);
  const ay = abs<f64>(y);
  if (ay == INF_F64) {
    if (ax == 1) return 1.0;
    return ax < 1 == y > 0 ? 0.0 : INF_F64;
  }
  const neg = reinterpret<i64>(x) < 0;
  if (x < 0 && ax != INF_F64 && floor<f64>(y) != y) return NAN_F64;
  let r: f64;
  if (ax == 0) r = y < 0 ? INF_F64 : 0.0;
  else if (ax == INF_F64) r = y < 0 ? 0.0 : INF_F64;
  else {
    const lh = logDDF64(ax);
    const ll = logTail;
    const ph = y * lh;
    if (ph > 2000.0) r = INF_F64;
    else if (ph < -2000.0) r = 0.0;
    else {
      const pl = twoProdErr(y, lh, ph) + y * ll;
      const h = ph + pl;
      r = expDDF64(h, ph - h + pl);
    }
  }
  return neg && isOddInteger(y) ? -r : r;
}

/** x^y for f32, evaluated in f64 (exact conversions, one final rounding); special values as powF64. */
export function powF32(x: f32, y: f32): f32 {
  const r = <f32>powF64(<f64>x, <f64>y);
  return select<f32>(NAN_F32, r, r != r);
}
