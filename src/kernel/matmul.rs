//! The single-threaded matrix products under podium's dense convolution
//! ([`super::conv_gemm`]): `dst[m, n] (+)= lhs[m, k] · rhs[k, n]` on strided `f32` operands, in
//! one of two arithmetics ([`Arith`]).
//!
//! | [`Arith`] | products | sums | how | PyTorch / oneDNN |
//! |---|---|---|---|---|
//! | `F32` | `f32 · f32` | `f32` | the AVX-512 micro-kernel below with `VFMADD231PS` where the CPU has AVX-512 F, BW and BF16, else the `gemm` 0.19 crate | `torch.mm` in `f32` (oneDNN's `avx512_core` kernels) |
//! | `Bf16` | `bf16(a) · bf16(b)` (exact in `f32`) | `f32` | `TDPBF16PS` on AMX tiles where the CPU has AMX-BF16 and Linux grants the tiles ([`amx`]), else the `VDPBF16PS` (AVX512-BF16) micro-kernel, else `gemm` on the rounded values | a `bfloat16` matmul under `torch.autocast("cpu", torch.bfloat16)` (oneDNN's `avx512_core_amx` or `avx512_core_bf16` kernels), before its output is rounded to `bf16` |
//!
//! `bf16(x)` rounds an `f32` to bfloat16 (8 significand bits) to nearest, ties to even, as
//! `VCVTNE2PS2BF16` does: subnormal inputs become a signed zero (the instruction's DAZ) and a NaN
//! stays a NaN. The product of two bfloat16 values is exact in `f32` (8 + 8 significand bits), so
//! the three implementations of `Bf16` differ only in the order of the `f32` sums. [`Kernel`]
//! names them; [`gemm_with`] takes the fastest this process can run.
//!
//! The AVX-512 kernel follows the Goto/BLIS blocking (Goto & van de Geijn, *Anatomy of
//! high-performance matrix multiplication*, 2008): `rhs` packed per block of [`KC`] x [`NC`] into
//! panels of [`NR`] columns, `lhs` per block of [`MC`] x [`KC`] into panels of [`MR`] rows, and a
//! 14 x 32 register tile of 28 `f32` accumulators. In `Bf16` it is updated by `VDPBF16PS`, which
//! adds two products per lane: the packed operands hold `k` in (even, odd) pairs, one pair per
//! 32-bit lane; in `f32` by `VFMADD231PS`, one `f32` of `k` per lane.
//!
//! Its `rhs` may also be a convolution's im2col matrix or its transpose ([`Rhs`], [`Im2col`]),
//! packed straight from the images ("implicit GEMM", as cuDNN's and oneDNN's convolutions do):
//! per 16 output pixels, the input position of every lane and, per im2col row `(c, ki, kj)`, one
//! masked load (stride 1, `OW = W`: the row is the input plane shifted by a constant) or one
//! masked gather (other strides and dilations), the padding masked to zero.

use std::cell::RefCell;

pub(crate) use super::conv_geom::{Arith, Geom};

/// Rows of the register tile.
const MR: usize = 14;
/// Columns of the register tile (two 16-lane vectors).
const NR: usize = 32;
/// Depth of a packed block in packed steps: bfloat16 pairs (`2 KC` values of `k`) or `f32`
/// values (`KC`), so that a packed `rhs` block takes the same 512 KiB in both.
const KC: usize = 128;
/// Rows of a packed `lhs` block (a multiple of [`MR`]).
const MC: usize = 12 * MR;
/// Columns of a packed `rhs` block (a multiple of [`NR`]).
const NC: usize = 1024;

/// `dst[m, n] (+)= lhs[m, k] · rhs[k, n]` in `arith`, with explicit (row, column) strides,
/// single-threaded; `accumulate` adds to `dst` instead of overwriting it.
///
/// # Safety
/// Every index `i * rs + j * cs` of the three operands must be inside its allocation, and `dst`
/// must not alias `lhs` or `rhs`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    arith: Arith,
    mnk: [usize; 3],
    dst: *mut f32,
    dst_s: [isize; 2],
    accumulate: bool,
    lhs: *const f32,
    lhs_s: [isize; 2],
    rhs: *const f32,
    rhs_s: [isize; 2],
) {
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        gemm_with(
            arith,
            mnk,
            dst,
            dst_s,
            accumulate,
            lhs,
            lhs_s,
            Rhs::Strided(rhs, rhs_s),
        )
    }
}

/// [`gemm`] in `f32` without the AVX-512 kernel: the `gemm` 0.19 crate, no parallelism.
///
/// # Safety
/// As [`gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_f32_portable(
    [m, n, k]: [usize; 3],
    dst: *mut f32,
    [dst_rs, dst_cs]: [isize; 2],
    accumulate: bool,
    lhs: *const f32,
    [lhs_rs, lhs_cs]: [isize; 2],
    rhs: *const f32,
    [rhs_rs, rhs_cs]: [isize; 2],
) {
    // SAFETY: forwarded from the caller's contract; gemm computes
    // dst := alpha * dst + beta * lhs * rhs, reading dst only when `accumulate`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            accumulate,
            lhs,
            lhs_cs,
            lhs_rs,
            rhs,
            rhs_cs,
            rhs_rs,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The bfloat16 bits of `x`: round to nearest, ties to even; a subnormal becomes a signed zero
/// and a NaN stays a (quiet) NaN, as `VCVTNE2PS2BF16` rounds.
pub(crate) fn bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        ((b >> 16) | 0x40) as u16
    } else if b & 0x7f80_0000 == 0 {
        ((b >> 16) & 0x8000) as u16
    } else {
        ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
    }
}

/// `x` rounded to bfloat16 and widened back to `f32` (exact): `bf16(x)` of the module docs.
pub(crate) fn round_bf16(x: f32) -> f32 {
    f32::from_bits(u32::from(bf16_bits(x)) << 16)
}

/// Rounds every value of `xs` to bfloat16 in place ([`round_bf16`]): the output of an
/// autocast `bf16` op. Vectorized with AVX512-BF16 where the CPU has it.
pub(crate) fn round_bf16_slice(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        // SAFETY: the CPU has the target features.
        unsafe { avx512::round_slice(xs) };
        return;
    }
    for x in xs {
        *x = round_bf16(*x);
    }
}

thread_local! {
    /// Packed operands of the AVX-512 kernel: `lhs` panels then `rhs` panels (`f32` values or
    /// pairs of bfloat16 as `u32`), or the rounded `f32` copies of the portable `Bf16` path.
    static PACKED: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// [`gemm`] in `Bf16` without the AVX-512 kernel: the `gemm` crate on row-major copies of the
/// operands rounded to bfloat16 (the same products; the `f32` sums in another order).
///
/// # Safety
/// As [`gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_bf16_portable(
    [m, n, k]: [usize; 3],
    dst: *mut f32,
    dst_s: [isize; 2],
    accumulate: bool,
    lhs: *const f32,
    lhs_s: [isize; 2],
    rhs: *const f32,
    rhs_s: [isize; 2],
) {
    PACKED.with(|cell| {
        let mut buf = cell.borrow_mut();
        buf.clear();
        let rounded = |p: *const f32, [rs, cs]: [isize; 2], rows: usize, cols: usize| {
            (0..rows).flat_map(move |i| {
                // SAFETY: (i, j) is inside the operand (the caller's contract).
                (0..cols).map(move |j| {
                    round_bf16(unsafe { *p.offset(i as isize * rs + j as isize * cs) }).to_bits()
                })
            })
        };
        buf.extend(rounded(lhs, lhs_s, m, k));
        buf.extend(rounded(rhs, rhs_s, k, n));
        let (a, b) = buf.split_at(m * k);
        // SAFETY: a is [m, k] and b [k, n] row-major f32 bit patterns in this thread's buffer,
        // which dst (the caller's) does not alias.
        unsafe {
            gemm_f32_portable(
                [m, n, k],
                dst,
                dst_s,
                accumulate,
                a.as_ptr().cast(),
                [k as isize, 1],
                b.as_ptr().cast(),
                [n as isize, 1],
            )
        }
    });
}

/// The im2col matrix of a run of images, never materialized: the bfloat16 gemm packs its panels
/// straight from the images ([`gemm_with`]). Row `r = (c kh + ki) kw + kj` and column `j`,
/// the output pixel `p0 + j` counted across the images of `x` (image `(p0 + j) / P`, pixel
/// `(p0 + j) % P = oy OW + ox`), hold `x[image, c, oy sh + ki dh - ph, ox sw + kj dw - pw]`, or
/// zero where that lies in the padding: the matrix `conv_gemm`'s explicit im2col writes (Caffe's
/// `im2col_cpu`, `torch.nn.functional.unfold`).
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Im2col<'a> {
    /// Whole images `[n, C_in, H, W]`.
    x: &'a [f32],
    g: &'a Geom,
    /// The output pixel of column 0, counted from the first image of `x`.
    p0: usize,
}

impl<'a> Im2col<'a> {
    /// The im2col matrix of the images `x` (`[n, C_in, H, W]`) from output pixel `p0` on, when
    /// [`gemm_with`] can use it: the CPU has AVX512-F, -BW and -BF16 (the AVX-512 kernels'
    /// features, in `f32` as in `Bf16`) and `x` is short enough for 32-bit gather indices.
    /// `None` means: materialize im2col.
    ///
    /// # Panics
    /// When `x` is not whole images of `g`.
    pub(crate) fn new(x: &'a [f32], g: &'a Geom, p0: usize) -> Option<Self> {
        let img = g.c_in * g.h * g.w;
        if img == 0 {
            return None;
        }
        assert!(
            x.len().is_multiple_of(img),
            "im2col: {} values are not whole [{}, {}, {}] images",
            x.len(),
            g.c_in,
            g.h,
            g.w
        );
        #[cfg(target_arch = "x86_64")]
        if avx512::available() && x.len() < i32::MAX as usize / 2 {
            return Some(Self { x, g, p0 });
        }
        let _ = p0;
        None
    }
}

/// The right operand of [`gemm_with`].
#[derive(Clone, Copy)]
pub(crate) enum Rhs<'a> {
    /// A matrix `[k, n]` at the pointer, with (row, column) strides.
    Strided(*const f32, [isize; 2]),
    /// The im2col matrix `[K, n]`: a forward convolution, `y = W · col`.
    Im2col(Im2col<'a>),
    /// Its transpose `[n, K]`: a weight gradient, `dW = dy · colᵀ`.
    Im2colT(Im2col<'a>),
}

/// How a kernel cuts `lhs` into blocks and panels: the AVX-512 kernel in [`MC`]-row blocks of
/// [`MR`]-row panels, the AMX kernel (in `Bf16`) in [`amx::MC`]-row blocks of 16-row tiles;
/// [`KC`] packed steps deep.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Blocking {
    amx: bool,
    bf16: bool,
}

#[cfg(target_arch = "x86_64")]
impl Blocking {
    /// Values of `k` per block.
    fn depth(self) -> usize {
        if self.bf16 { 2 * KC } else { KC }
    }

    /// Rows per block.
    fn rows(self) -> usize {
        if self.amx { amx::MC } else { MC }
    }

    /// Packed steps of a block `kc` deep: bfloat16 pairs (whole tiles of 16 on AMX) or `f32`.
    fn steps(self, kc: usize) -> usize {
        match (self.amx, self.bf16) {
            (true, _) => kc.div_ceil(32) * 16,
            (false, true) => kc.div_ceil(2),
            (false, false) => kc,
        }
    }

    /// Packs the block at `(i0, p0)` of `lhs` into `out`.
    ///
    /// # Safety
    /// The block is inside `lhs`; `out` holds its panels; the CPU has the kernel's features.
    unsafe fn pack(
        self,
        lhs: *const f32,
        lhs_s: [isize; 2],
        at: [usize; 2],
        [mc, kc]: [usize; 2],
        out: &mut [u32],
    ) {
        let kc2 = self.steps(kc);
        // SAFETY (every arm): the caller's contract.
        unsafe {
            match (self.amx, self.bf16) {
                (true, _) => amx::pack_lhs(lhs, lhs_s, at, [mc, kc], kc2, out),
                (false, true) => avx512::pack::<MR, true>(lhs, lhs_s, at, [mc, kc], kc2, out),
                (false, false) => avx512::pack::<MR, false>(lhs, lhs_s, at, [mc, kc], kc2, out),
            }
        }
    }
}

/// The implementations of [`gemm_with`], fastest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// `Bf16` on Intel AMX tiles (`TDPBF16PS`, [`amx`]); `F32` runs [`Kernel::Avx512`].
    Amx,
    /// The AVX-512 register tile: `VDPBF16PS` in `Bf16`, `VFMADD231PS` in `F32`.
    Avx512,
    /// The `gemm` crate, on bfloat16-rounded copies in `Bf16` (any CPU).
    Portable,
}

impl Kernel {
    /// Every kernel this process can run, fastest first (the first is [`gemm_with`]'s).
    pub(crate) fn available() -> Vec<Kernel> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if amx::available() {
                all.push(Kernel::Amx);
            }
            if avx512::available() {
                all.push(Kernel::Avx512);
            }
        }
        all.push(Kernel::Portable);
        all
    }

    /// The fastest kernel this process can run.
    fn best() -> Kernel {
        use std::sync::OnceLock;
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| Kernel::available()[0])
    }
}

/// [`gemm`] with any [`Rhs`], on the fastest kernel of this CPU ([`Kernel`], runtime
/// detection): in `Bf16` the AMX tiles where the CPU has AMX-BF16 and the system grants them,
/// else the AVX-512 kernel where it has AVX-512 F, BW and BF16 (`VDPBF16PS`, and
/// `VFMADD231PS` in `F32`), else the `gemm` crate ([`gemm_f32_portable`],
/// [`gemm_bf16_portable`]). An im2col matrix or its transpose (which exists only where the CPU
/// has the AVX-512 kernel, see [`Im2col::new`]) is packed into its panels straight from the
/// images, without writing and reading back its `K x n` values: the panels [`gemm`] packs from
/// the materialized matrix, so the result is the same bit for bit, in `f32` as in `Bf16`.
///
/// # Safety
/// `lhs` and `dst` as for [`gemm`]; `rhs` has `k` rows and `n` columns (`[K, n]` for
/// [`Rhs::Im2col`], `[n, K]` for [`Rhs::Im2colT`]), every column inside the images of its `x`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_with(
    arith: Arith,
    mnk: [usize; 3],
    dst: *mut f32,
    dst_s: [isize; 2],
    accumulate: bool,
    lhs: *const f32,
    lhs_s: [isize; 2],
    rhs: Rhs,
) {
    // SAFETY: the caller's contract; the kernel is available.
    unsafe {
        gemm_on(
            Kernel::best(),
            arith,
            mnk,
            dst,
            dst_s,
            accumulate,
            lhs,
            lhs_s,
            rhs,
        )
    }
}

/// [`gemm_with`] on the given kernel.
///
/// # Safety
/// As [`gemm_with`]; `kernel` is one of [`Kernel::available`], and an im2col `rhs` needs
/// [`Kernel::Avx512`] or [`Kernel::Amx`].
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_on(
    kernel: Kernel,
    arith: Arith,
    mnk: [usize; 3],
    dst: *mut f32,
    dst_s: [isize; 2],
    accumulate: bool,
    lhs: *const f32,
    lhs_s: [isize; 2],
    rhs: Rhs,
) {
    if mnk[0] == 0 || mnk[1] == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if kernel != Kernel::Portable {
        // SAFETY: the CPU has the target features (the kernel is available); the rest is the
        // caller's contract.
        unsafe {
            match arith {
                Arith::Bf16 if kernel == Kernel::Amx && mnk[2] > 0 => {
                    amx::gemm(mnk, dst, dst_s, accumulate, lhs, lhs_s, rhs)
                }
                Arith::Bf16 => avx512::gemm::<true>(mnk, dst, dst_s, accumulate, lhs, lhs_s, rhs),
                Arith::F32 => avx512::gemm::<false>(mnk, dst, dst_s, accumulate, lhs, lhs_s, rhs),
            }
        };
        return;
    }
    let Rhs::Strided(rhs, rhs_s) = rhs else {
        unreachable!("an im2col rhs needs the AVX-512 or AMX kernel");
    };
    // SAFETY (both arms): the caller's contract.
    match arith {
        Arith::F32 => unsafe {
            gemm_f32_portable(mnk, dst, dst_s, accumulate, lhs, lhs_s, rhs, rhs_s)
        },
        Arith::Bf16 => unsafe {
            gemm_bf16_portable(mnk, dst, dst_s, accumulate, lhs, lhs_s, rhs, rhs_s)
        },
    }
}

#[cfg(target_arch = "x86_64")]
#[path = "matmul_amx.rs"]
mod amx;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! The AVX-512 kernel of [`super::gemm_with`] in `Bf16` (`VDPBF16PS` on bfloat16 pairs) and
    //! in `F32` (`VFMADD231PS`): one blocked driver and one set of packers for both, chosen by
    //! the const parameter `BF16`.
    //! A packed "step" is one 32-bit lane: a pair of bfloat16 depths, or one `f32` depth.

    use std::arch::x86_64::*;

    use super::{Blocking, Im2col, KC, MR, NC, NR, PACKED, Rhs, bf16_bits};

    /// Whether this CPU runs the kernel (AVX512F, AVX512BW and AVX512-BF16), checked once.
    pub(super) fn available() -> bool {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512bf16")
        })
    }

    /// [`super::round_bf16_slice`]: 16 values per `VCVTNEPS2BF16` and back.
    ///
    /// # Safety
    /// The CPU has the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn round_slice(xs: &mut [f32]) {
        let mut chunks = xs.chunks_exact_mut(16);
        for c in &mut chunks {
            // SAFETY: 16 values of the chunk.
            unsafe {
                let v = _mm512_cvtpbh_ps(_mm512_cvtneps_pbh(_mm512_loadu_ps(c.as_ptr())));
                _mm512_storeu_ps(c.as_mut_ptr(), v);
            }
        }
        for x in chunks.into_remainder() {
            *x = super::round_bf16(*x);
        }
    }

    /// One bfloat16 pair `(lo, hi)` as a 32-bit lane: `lo` (even `k`) in the low half.
    pub(super) fn pair(lo: f32, hi: f32) -> u32 {
        u32::from(bf16_bits(lo)) | (u32::from(bf16_bits(hi)) << 16)
    }

    /// The lane mask of the `n <= 16` lowest 32-bit lanes.
    fn low_lanes(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }

    /// Depths of `k` per packed step: a bfloat16 pair, or one `f32`.
    const fn step(bf16: bool) -> usize {
        if bf16 { 2 } else { 1 }
    }

    /// The packed steps of 16 lanes from their values at depths `2q` (`lo`) and `2q + 1`
    /// (`hi`): the interleaved bfloat16 pairs; in `f32` (`!BF16`) the bits of `lo` (`hi` unused).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    fn steps<const BF16: bool>(lo: __m512, hi: __m512) -> __m512i {
        if BF16 {
            _mm512_permutexvar_epi16(interleave_pairs(), bits(_mm512_cvtne2ps_pbh(hi, lo)))
        } else {
            _mm512_castps_si512(lo)
        }
    }

    /// The 16 packed steps of one row contiguous along `k` from `at`: 32 values as 16
    /// bfloat16 pairs, or 16 `f32` values.
    ///
    /// # Safety
    /// `16 step(BF16)` values from `at` are readable; the CPU has the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn row_steps<const BF16: bool>(at: *const f32) -> __m512i {
        // SAFETY: the caller's contract.
        unsafe {
            if BF16 {
                bits(_mm512_cvtne2ps_pbh(
                    _mm512_loadu_ps(at.add(16)),
                    _mm512_loadu_ps(at),
                ))
            } else {
                _mm512_castps_si512(_mm512_loadu_ps(at))
            }
        }
    }

    /// Packs `rows` rows of a `kc`-deep block, row `r` and depth `p` at
    /// `src[(r0 + r) * row_s + (p0 + p) * k_s]`, into panels of `R` rows and `kc2` steps: panel
    /// `t`, step `q`, row `r` at `out[t * R * kc2 + q * R + r]`, with `kc2 >= ⌈kc / step⌉`
    /// ([`step`]; the AMX kernel rounds it up to whole tiles); rows past `rows`, the odd tail
    /// of `k` and the steps past it are zero. `lhs` `[m, k]` packs its rows (`R = MR`), `rhs`
    /// `[k, n]` its columns (`R = NR`). Blocks contiguous along `k` (`k_s == 1`: a weight, `dy`,
    /// a transposed im2col matrix) load 16 steps of 16 rows and transpose them in registers;
    /// blocks contiguous along the rows (`row_s == 1`: an im2col matrix, a transposed weight)
    /// load 16 rows of one step (two depths, interleaved, in bfloat16); other strides go one
    /// step at a time.
    ///
    /// # Safety
    /// The block must be inside `src`; the CPU must have the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[inline(never)] // out of line: profiles show the packing apart from the kernel
    pub(super) unsafe fn pack<const R: usize, const BF16: bool>(
        src: *const f32,
        [row_s, k_s]: [isize; 2],
        [r0, p0]: [usize; 2],
        [rows, kc]: [usize; 2],
        kc2: usize,
        out: &mut [u32],
    ) {
        let st = step(BF16);
        debug_assert!(kc2 >= kc.div_ceil(st));
        let at = |r: usize, p: usize| {
            if r < rows && p < kc {
                // SAFETY: inside the block (the caller's contract).
                unsafe { *src.offset((r0 + r) as isize * row_s + (p0 + p) as isize * k_s) }
            } else {
                0.0
            }
        };
        for t in 0..rows.div_ceil(R) {
            let panel = &mut out[t * R * kc2..][..R * kc2];
            // real rows of this panel, and the pairs the vector code below packs
            let (live, mut done) = ((rows - t * R).min(R), 0);
            for h in 0..R.div_ceil(16) {
                let lanes = (R - 16 * h).min(16);
                let real = live.saturating_sub(16 * h).min(lanes);
                if k_s == 1 {
                    for s in 0..kc / (16 * st) {
                        let mut v = [_mm512_setzero_si512(); 16];
                        for (r, vr) in v.iter_mut().enumerate().take(real) {
                            // SAFETY: row t * R + 16h + r < rows, depths p0 + 16 st s .. + 16 st
                            // are inside the block.
                            unsafe {
                                let at = src.offset(
                                    (r0 + t * R + 16 * h + r) as isize * row_s
                                        + (p0 + 16 * st * s) as isize,
                                );
                                *vr = row_steps::<BF16>(at);
                            }
                        }
                        transpose16(&mut v);
                        for (u, vu) in v.iter().enumerate() {
                            // SAFETY: `lanes` lanes of pair 16s + u inside the panel.
                            unsafe {
                                _mm512_mask_storeu_epi32(
                                    panel[(16 * s + u) * R + 16 * h..].as_mut_ptr().cast(),
                                    low_lanes(lanes),
                                    *vu,
                                )
                            };
                        }
                    }
                    done = 16 * (kc / (16 * st));
                } else if row_s == 1 {
                    let base = (r0 + t * R + 16 * h) as isize;
                    for q in 0..kc / st {
                        // SAFETY: the masked loads read rows t * R + 16h .. + real of depths
                        // p0 + st q (and p0 + 2q + 1 in bfloat16), inside the block (the pointer
                        // is only formed, with wrapping arithmetic, when no row is real);
                        // `lanes` lanes stored.
                        unsafe {
                            let at = src.wrapping_offset(base + (p0 + st * q) as isize * k_s);
                            let lo = _mm512_maskz_loadu_ps(low_lanes(real), at);
                            let hi = if BF16 {
                                _mm512_maskz_loadu_ps(low_lanes(real), at.wrapping_offset(k_s))
                            } else {
                                lo
                            };
                            let v = steps::<BF16>(lo, hi);
                            _mm512_mask_storeu_epi32(
                                panel[q * R + 16 * h..].as_mut_ptr().cast(),
                                low_lanes(lanes),
                                v,
                            );
                        }
                    }
                    done = kc / st;
                }
            }
            for r in 0..R {
                for q in done..kc2 {
                    panel[q * R + r] = if BF16 {
                        pair(at(t * R + r, 2 * q), at(t * R + r, 2 * q + 1))
                    } else {
                        at(t * R + r, q).to_bits()
                    };
                }
            }
        }
    }

    /// Packs the `[kc, nc]` block at `(p0, j0)` (depth, column) of `rhs` into [`NR`]-column
    /// panels of `kc2` steps, as [`pack`] lays them out.
    ///
    /// # Safety
    /// The block is inside `rhs`; the CPU has the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn pack_rhs<const BF16: bool>(
        rhs: Rhs,
        [j0, p0]: [usize; 2],
        [nc, kc]: [usize; 2],
        kc2: usize,
        out: &mut [u32],
    ) {
        // SAFETY (every arm): the caller's contract.
        match rhs {
            Rhs::Strided(src, [rs, cs]) => unsafe {
                pack::<NR, BF16>(src, [cs, rs], [j0, p0], [nc, kc], kc2, out)
            },
            Rhs::Im2col(col) => unsafe { pack_im2col::<BF16>(col, [j0, p0], [nc, kc], kc2, out) },
            Rhs::Im2colT(col) => unsafe {
                pack_im2col_t::<BF16>(col, [p0, j0], [kc, nc], kc2, out)
            },
        }
    }

    /// A lane value that no `iy`, `ix` comparison accepts: the lanes past a run of columns.
    const OFF_MAP: i32 = i32::MIN / 2;

    /// Where the columns `j0..j0 + len` of an [`Im2col`] read, per 16-column group: for column
    /// `j` (image `b`, output `(oy, ox)`), `iy0 = oy sh - ph`, `ix0 = ox sw - pw` and
    /// `base = b C_in H W + iy0 W + ix0`, so that row `(c, ki, kj)` reads
    /// `x[base + c H W + ki dh W + kj dw]` when `0 <= iy0 + ki dh < H` and
    /// `0 <= ix0 + kj dw < W`. Lanes past `len` hold [`OFF_MAP`]. A group is `contiguous` when
    /// its 16 columns are consecutive pixels of one image in the "shifted" geometry (stride 1,
    /// dilation 1, `OW = W`), where `base` grows by one per lane and one masked load replaces a
    /// gather.
    struct Columns {
        base: [i32; NC],
        iy0: [i32; NC],
        ix0: [i32; NC],
        contiguous: [bool; NC / 16],
    }

    impl Columns {
        fn new(col: &Im2col, j0: usize, len: usize) -> Self {
            let g = col.g;
            let (p, img) = (g.p(), (g.c_in * g.h * g.w) as i32);
            let shifted = g.stride == [1, 1] && g.dilation == [1, 1] && g.ow == g.w;
            let mut c = Self {
                base: [0; NC],
                iy0: [OFF_MAP; NC],
                ix0: [OFF_MAP; NC],
                contiguous: [false; NC / 16],
            };
            let at = col.p0 + j0;
            let (mut b, q) = (at / p, at % p);
            let (mut oy, mut ox) = (q / g.ow, q % g.ow);
            let mut image = [0usize; NC];
            let lanes = c
                .iy0
                .iter_mut()
                .zip(&mut c.ix0)
                .zip(&mut c.base)
                .zip(&mut image);
            for (((iy0, ix0), base), image) in lanes.take(len) {
                *iy0 = (oy * g.stride[0]) as i32 - g.pad[0] as i32;
                *ix0 = (ox * g.stride[1]) as i32 - g.pad[1] as i32;
                *base = b as i32 * img + *iy0 * g.w as i32 + *ix0;
                *image = b;
                ox += 1;
                if ox == g.ow {
                    ox = 0;
                    oy += 1;
                    if oy == g.oh {
                        oy = 0;
                        b += 1;
                    }
                }
            }
            for (t, flag) in c.contiguous.iter_mut().enumerate() {
                *flag = shifted && 16 * t + 16 <= len && image[16 * t] == image[16 * t + 15];
            }
            c
        }

        /// The 16-column group `t` as vectors.
        #[target_feature(enable = "avx512f")]
        fn group(&self, t: usize) -> Group {
            // SAFETY: 16 lanes inside each array (t < NC / 16).
            unsafe {
                Group {
                    base: _mm512_loadu_si512(self.base[16 * t..][..16].as_ptr().cast()),
                    iy0: _mm512_loadu_si512(self.iy0[16 * t..][..16].as_ptr().cast()),
                    ix0: _mm512_loadu_si512(self.ix0[16 * t..][..16].as_ptr().cast()),
                    first: self.base[16 * t] as isize,
                    contiguous: self.contiguous[t],
                }
            }
        }
    }

    /// One 16-column group of [`Columns`] in registers.
    struct Group {
        base: __m512i,
        iy0: __m512i,
        ix0: __m512i,
        first: isize,
        contiguous: bool,
    }

    /// Where row `(c, ki, kj)` of an [`Im2col`] reads: `off = c H W + ki dh W + kj dw` past a
    /// column's `base`, the row offset `ki dh` and the column offset `kj dw`; [`Row::next`]
    /// steps to the following row.
    #[derive(Clone, Copy)]
    struct Row {
        off: i32,
        dy: i32,
        dx: i32,
        ki: usize,
        kj: usize,
    }

    impl Row {
        fn new(g: &super::Geom, r: usize) -> Self {
            let (c, kk) = (r / (g.kh * g.kw), r % (g.kh * g.kw));
            let (ki, kj) = (kk / g.kw, kk % g.kw);
            let (dy, dx) = ((ki * g.dilation[0]) as i32, (kj * g.dilation[1]) as i32);
            Self {
                off: (c * g.h * g.w) as i32 + dy * g.w as i32 + dx,
                dy,
                dx,
                ki,
                kj,
            }
        }

        fn next(self, g: &super::Geom) -> Self {
            let (mut ki, mut kj, mut off) = (self.ki, self.kj + 1, self.off);
            off -= self.dy * g.w as i32 + self.dx;
            if kj == g.kw {
                kj = 0;
                ki += 1;
                if ki == g.kh {
                    ki = 0;
                    off += (g.h * g.w) as i32;
                }
            }
            let (dy, dx) = ((ki * g.dilation[0]) as i32, (kj * g.dilation[1]) as i32);
            Self {
                off: off + dy * g.w as i32 + dx,
                dy,
                dx,
                ki,
                kj,
            }
        }
    }

    /// The 16 values of row `row` over the columns of `grp`, zero in the padding and past the
    /// run: one masked load for a contiguous group, else a masked gather.
    ///
    /// # Safety
    /// The group's columns belong to `col`; the CPU has the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn load_row(col: &Im2col, grp: &Group, row: Row) -> __m512 {
        let iy = _mm512_add_epi32(grp.iy0, _mm512_set1_epi32(row.dy));
        let ix = _mm512_add_epi32(grp.ix0, _mm512_set1_epi32(row.dx));
        let m = _mm512_cmplt_epu32_mask(iy, _mm512_set1_epi32(col.g.h as i32))
            & _mm512_cmplt_epu32_mask(ix, _mm512_set1_epi32(col.g.w as i32));
        let x = col.x.as_ptr();
        // SAFETY: unmasked lanes read x[base + off] inside the images (the pointer of a
        // contiguous group is only formed, with wrapping arithmetic, and its masked lanes are
        // not read).
        unsafe {
            if grp.contiguous {
                _mm512_maskz_loadu_ps(m, x.wrapping_offset(grp.first + row.off as isize))
            } else {
                let idx = _mm512_add_epi32(grp.base, _mm512_set1_epi32(row.off));
                _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), m, idx, x)
            }
        }
    }

    /// Asks for the input that rows `r0..r1` and columns `j0..j1` of `col` read to be brought
    /// into the L2 cache (`PREFETCHT1`, one per 64-byte line): for each image and channel, the
    /// input rows under those output rows. The packing visits them in runs too short for the
    /// hardware prefetchers ([`pack_im2col_t`]: 16 rows of 32 columns at a time) or restarts a
    /// run at every im2col row ([`pack_im2col`]).
    #[target_feature(enable = "avx512f")]
    fn prefetch(col: &Im2col, [j0, j1]: [usize; 2], [r0, r1]: [usize; 2]) {
        let g = col.g;
        let (p, hw, khw) = (g.p(), g.h * g.w, g.kh * g.kw);
        let (first, last) = (col.p0 + j0, col.p0 + j1);
        if first >= last || r0 >= r1 {
            return;
        }
        let (c0, c1) = (r0 / khw, (r1 - 1) / khw);
        for b in first / p..=(last - 1) / p {
            let q0 = first.max(b * p) - b * p;
            let q1 = last.min((b + 1) * p) - b * p;
            let reach = (g.kh - 1) * g.dilation[0];
            let lo = ((q0 / g.ow * g.stride[0]) as isize - g.pad[0] as isize).max(0) as usize;
            let hi = ((q1 - 1) / g.ow * g.stride[0] + reach + 1).saturating_sub(g.pad[0]);
            let hi = hi.min(g.h);
            if lo >= hi {
                continue;
            }
            for c in c0..=c1 {
                let start = (b * g.c_in + c) * hw + lo * g.w;
                let bytes = &col.x[start..start + (hi - lo) * g.w];
                for line in bytes.chunks(16) {
                    // a hint for an address inside `x`
                    _mm_prefetch::<_MM_HINT_T1>(line.as_ptr().cast());
                }
            }
        }
    }

    /// [`pack`] of the block `[kc, nc]` at (row `r0`, column `j0`) of the im2col matrix (a
    /// forward convolution's `rhs`): panel `t`, step `q`, lane `l` holds rows `r0 + 2q` and
    /// `r0 + 2q + 1` (bfloat16) or row `r0 + q` (`f32`) of column `j0 + 32 t + l`.
    ///
    /// # Safety
    /// The block is inside the matrix; the CPU has the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[inline(never)] // out of line: profiles show the packing apart from the kernel
    unsafe fn pack_im2col<const BF16: bool>(
        col: Im2col,
        [j0, r0]: [usize; 2],
        [nc, kc]: [usize; 2],
        kc2: usize,
        out: &mut [u32],
    ) {
        let live = kc.div_ceil(step(BF16));
        for t in 0..nc.div_ceil(NR) {
            for q in live..kc2 {
                out[t * NR * kc2 + q * NR..][..NR].fill(0);
            }
        }
        let cols = Columns::new(&col, j0, nc);
        prefetch(&col, [j0, j0 + nc], [r0, r0 + kc]);
        // Row pairs outside, column groups inside: consecutive loads stream along the input
        // rows (as an explicit im2col's copies do), where the other order jumps between
        // channels at every load and runs about twice as slow (ResNet-18's 3x3 convolutions).
        let mut row = Row::new(col.g, r0);
        for q in 0..live {
            let lo_row = row;
            row = row.next(col.g);
            let hi_row = if BF16 {
                let hi = (2 * q + 1 < kc).then_some(row);
                row = row.next(col.g);
                hi
            } else {
                None
            };
            // every group of the last panel, zeros past nc
            for t in 0..2 * nc.div_ceil(NR) {
                let grp = cols.group(t);
                // SAFETY: rows r0 + 2q (+ 1) (or r0 + q) of the block, the group's columns;
                // step q of panel t / 2, lanes 16 (t % 2).. inside `out`.
                unsafe {
                    let lo = load_row(&col, &grp, lo_row);
                    let hi = match hi_row {
                        Some(r) => load_row(&col, &grp, r),
                        None => _mm512_setzero_ps(),
                    };
                    let v = steps::<BF16>(lo, hi);
                    let at = (t / 2) * NR * kc2 + q * NR + 16 * (t % 2);
                    _mm512_storeu_si512(out[at..][..16].as_mut_ptr().cast(), v);
                }
            }
        }
    }

    /// [`pack`] of the block `[kc, nr]` at (column `j0`, row `r0`) of the transposed im2col
    /// matrix (a weight gradient's `rhs`, `[n, K]`): panel `t`, step `q`, lane `l` holds row
    /// `r0 + 32 t + l` at columns `j0 + 2q` and `j0 + 2q + 1` (bfloat16) or `j0 + q` (`f32`);
    /// 16 steps (32 or 16 columns) of 16 rows are loaded and transposed in registers.
    ///
    /// # Safety
    /// The block is inside the matrix; the CPU has the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[inline(never)] // out of line: profiles show the packing apart from the kernel
    unsafe fn pack_im2col_t<const BF16: bool>(
        col: Im2col,
        [j0, r0]: [usize; 2],
        [kc, nr]: [usize; 2],
        kc2: usize,
        out: &mut [u32],
    ) {
        let st = step(BF16);
        // steps the transposes below write (zeros past kc), then zeros to kc2
        let written = (16 * kc.div_ceil(16 * st)).min(kc2);
        let cols = Columns::new(&col, j0, kc);
        prefetch(&col, [j0, j0 + kc], [r0, r0 + nr]);
        for t in 0..nr.div_ceil(NR) {
            let panel = &mut out[t * NR * kc2..][..NR * kc2];
            for h in 0..NR / 16 {
                let real = (nr - t * NR).saturating_sub(16 * h).min(16);
                if real == 0 {
                    for q in 0..kc2 {
                        panel[q * NR + 16 * h..][..16].fill(0);
                    }
                    continue;
                }
                let mut rows = [Row::new(col.g, r0 + t * NR + 16 * h); 16];
                for r in 1..real {
                    rows[r] = rows[r - 1].next(col.g);
                }
                for s in 0..kc.div_ceil(16 * st) {
                    let lo = cols.group(st * s);
                    let mut v = [_mm512_setzero_si512(); 16];
                    for (vr, &row) in v.iter_mut().zip(&rows).take(real) {
                        // SAFETY: row `row` of the block at the groups' columns.
                        unsafe {
                            *vr = if BF16 {
                                bits(_mm512_cvtne2ps_pbh(
                                    load_row(&col, &cols.group(2 * s + 1), row),
                                    load_row(&col, &lo, row),
                                ))
                            } else {
                                _mm512_castps_si512(load_row(&col, &lo, row))
                            };
                        }
                    }
                    transpose16(&mut v);
                    for (u, vu) in v.iter().enumerate().take(written - 16 * s) {
                        // SAFETY: pair 16s + u < kc2, 16 lanes inside the panel.
                        unsafe {
                            _mm512_storeu_si512(
                                panel[(16 * s + u) * NR + 16 * h..].as_mut_ptr().cast(),
                                *vu,
                            )
                        };
                    }
                }
                for q in written..kc2 {
                    panel[q * NR + 16 * h..][..16].fill(0);
                }
            }
        }
    }

    /// The 16-bit lane permutation that turns `_mm512_cvtne2ps_pbh(b, a)` (lanes `0..16` from
    /// `a`, `16..32` from `b`) into the pairs `(a[c], b[c])`: lane `2c` takes lane `c`, lane
    /// `2c + 1` lane `16 + c`.
    #[target_feature(enable = "avx512f,avx512bw")]
    fn interleave_pairs() -> __m512i {
        _mm512_set_epi16(
            31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20,
            4, 19, 3, 18, 2, 17, 1, 16, 0,
        )
    }

    /// Transposes the 16 x 16 matrix of 32-bit lanes whose row `i` is `v[i]`: afterwards `v[i]`
    /// lane `j` is the former `v[j]` lane `i` (32-bit unpacks, 64-bit unpacks, then two rounds
    /// of 128-bit lane shuffles).
    #[target_feature(enable = "avx512f")]
    pub(super) fn transpose16(v: &mut [__m512i; 16]) {
        let mut t = [_mm512_setzero_si512(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
        }
        for i in 0..4 {
            let (a, b, c, d) = (t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]);
            v[4 * i] = _mm512_unpacklo_epi64(a, c);
            v[4 * i + 1] = _mm512_unpackhi_epi64(a, c);
            v[4 * i + 2] = _mm512_unpacklo_epi64(b, d);
            v[4 * i + 3] = _mm512_unpackhi_epi64(b, d);
        }
        for g in 0..2 {
            for i in 0..4 {
                t[8 * g + i] = _mm512_shuffle_i32x4::<0x88>(v[8 * g + i], v[8 * g + 4 + i]);
                t[8 * g + 4 + i] = _mm512_shuffle_i32x4::<0xdd>(v[8 * g + i], v[8 * g + 4 + i]);
            }
        }
        for i in 0..8 {
            v[i] = _mm512_shuffle_i32x4::<0x88>(t[i], t[8 + i]);
            v[8 + i] = _mm512_shuffle_i32x4::<0xdd>(t[i], t[8 + i]);
        }
    }

    /// The 32-bit lanes of `v` as bfloat16 pairs (the same bits).
    #[target_feature(enable = "avx512f,avx512bf16")]
    fn pairs(v: __m512) -> __m512bh {
        // SAFETY: both are 512-bit plain-data vectors.
        unsafe { std::mem::transmute::<__m512, __m512bh>(v) }
    }

    /// The bits of a `__m512bh` as an integer vector.
    #[target_feature(enable = "avx512f,avx512bf16")]
    fn bits(v: __m512bh) -> __m512i {
        // SAFETY: both are 512-bit plain-data vectors.
        unsafe { std::mem::transmute(v) }
    }

    /// The register tile: `c[r, 0..32] (+)= Σ_q a[q, r] · b[q, 0..32]` over `kc2` steps (bfloat16
    /// pairs, `VDPBF16PS`, or `f32` values, `VFMADD231PS`), `a` a packed [`MR`]-row panel, `b` a
    /// packed [`NR`]-column panel; rows `< rows` and columns `< cols` are written to `c` (row
    /// stride `rs`, column stride 1), added to it when `accumulate`. A panel of at most 4 or 8
    /// real rows (the last one of 64 channels: 4 x 14 + 8) runs a tile of that many rows
    /// instead of computing 14.
    ///
    /// # Safety
    /// The panels hold `kc2` steps; `c` has `rows x cols` elements at that stride; the CPU has
    /// the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const BF16: bool>(
        kc2: usize,
        a: *const u32,
        b: *const u32,
        c: *mut f32,
        rs: isize,
        [rows, cols]: [usize; 2],
        accumulate: bool,
    ) {
        let shape = [rows, cols];
        // SAFETY (every arm): the caller's contract; rows <= the tile's rows.
        unsafe {
            match rows {
                0..=4 => tile_rows::<BF16, 4>(kc2, a, b, c, rs, shape, accumulate),
                5..=8 => tile_rows::<BF16, 8>(kc2, a, b, c, rs, shape, accumulate),
                _ => tile_rows::<BF16, MR>(kc2, a, b, c, rs, shape, accumulate),
            }
        }
    }

    /// [`tile`] with `M <= MR` rows of accumulators (`rows <= M`).
    ///
    /// # Safety
    /// As [`tile`].
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[inline(never)] // out of line: profiles show the packing apart from the kernel
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_rows<const BF16: bool, const M: usize>(
        kc2: usize,
        a: *const u32,
        b: *const u32,
        c: *mut f32,
        rs: isize,
        [rows, cols]: [usize; 2],
        accumulate: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; M];
        for q in 0..kc2 {
            // SAFETY: step q of both panels (the caller's contract).
            unsafe {
                let b0 = _mm512_loadu_ps(b.add(q * NR).cast());
                let b1 = _mm512_loadu_ps(b.add(q * NR + 16).cast());
                let ap = a.add(q * MR);
                for (r, row) in acc.iter_mut().enumerate() {
                    let ar = _mm512_set1_ps(f32::from_bits(*ap.add(r)));
                    if BF16 {
                        row[0] = _mm512_dpbf16_ps(row[0], pairs(ar), pairs(b0));
                        row[1] = _mm512_dpbf16_ps(row[1], pairs(ar), pairs(b1));
                    } else {
                        row[0] = _mm512_fmadd_ps(ar, b0, row[0]);
                        row[1] = _mm512_fmadd_ps(ar, b1, row[1]);
                    }
                }
            }
        }
        if cols == NR {
            for (r, row) in acc.iter().enumerate().take(rows) {
                // SAFETY: row r, columns 0..32 of c.
                unsafe {
                    let p = c.offset(r as isize * rs);
                    for (h, &v) in row.iter().enumerate() {
                        let p = p.add(16 * h);
                        let v = if accumulate {
                            _mm512_add_ps(_mm512_loadu_ps(p), v)
                        } else {
                            v
                        };
                        _mm512_storeu_ps(p, v);
                    }
                }
            }
        } else {
            let mut spill = [0.0f32; MR * NR];
            for (r, row) in acc.iter().enumerate() {
                for (h, &v) in row.iter().enumerate() {
                    // SAFETY: 16 lanes inside `spill`.
                    unsafe { _mm512_storeu_ps(spill[r * NR + 16 * h..].as_mut_ptr(), v) };
                }
            }
            // SAFETY: rows x cols of c at row stride rs.
            unsafe { unstage(&spill, NR, c, [rs, 1], [rows, cols], accumulate) };
        }
    }

    /// Adds (`add`) or writes the `rows x cols` corner of a row-major staged block (row stride
    /// `stride`) to `c` at (row, column) strides `[rs, cs]` (elements): the edge tiles and
    /// non-contiguous destinations of this kernel and of [`super::amx`].
    ///
    /// # Safety
    /// `c` holds `rows x cols` elements at those strides; `stage` holds `rows` rows of
    /// `stride >= cols`.
    pub(super) unsafe fn unstage(
        stage: &[f32],
        stride: usize,
        c: *mut f32,
        [rs, cs]: [isize; 2],
        [rows, cols]: [usize; 2],
        add: bool,
    ) {
        for r in 0..rows {
            for (j, &v) in stage[r * stride..][..cols].iter().enumerate() {
                // SAFETY: (r, j) of the block inside c.
                unsafe {
                    let p = c.offset(r as isize * rs + j as isize * cs);
                    *p = if add { *p + v } else { v };
                }
            }
        }
    }

    /// One block of the Goto loop nest: rows `i0..i0 + mc` of `lhs` and columns `j0..j0 + nc`
    /// of `rhs` over one depth block of `kc2` packed steps; `add` when `dst` already holds a
    /// partial sum (an earlier depth block, or `accumulate`).
    #[derive(Clone, Copy)]
    pub(super) struct Block {
        pub i0: usize,
        pub j0: usize,
        pub mc: usize,
        pub nc: usize,
        pub kc2: usize,
        pub add: bool,
    }

    /// The Goto loop nest shared by this kernel and [`super::amx`] (`amx` picks the
    /// [`Blocking`]): columns by [`NC`], depth by the blocking's depth with the `rhs` block
    /// packed, rows by the blocking's rows with the `lhs` block packed (both in this thread's
    /// buffer), then `body(lhs panels, rhs panels, block)` computes the block.
    ///
    /// # Safety
    /// As [`super::gemm`] with `k > 0`; the CPU has the kernel's features.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) unsafe fn for_each_block<const BF16: bool>(
        amx: bool,
        [m, n, k]: [usize; 3],
        accumulate: bool,
        lhs: *const f32,
        lhs_s: [isize; 2],
        rhs: Rhs,
        mut body: impl FnMut(&[u32], &[u32], Block),
    ) {
        let bl = Blocking { amx, bf16: BF16 };
        PACKED.with(|cell| {
            let mut buf = cell.borrow_mut();
            let (a_len, b_len) = (bl.rows() * KC, NC * KC);
            if buf.len() < a_len + b_len {
                buf.resize(a_len + b_len, 0);
            }
            let (apack, bpack) = buf.split_at_mut(a_len);
            for j0 in (0..n).step_by(NC) {
                let nc = (n - j0).min(NC);
                for p0 in (0..k).step_by(bl.depth()) {
                    let kc = (k - p0).min(bl.depth());
                    // whole steps (whole tiles on AMX): zeros past kc
                    let kc2 = bl.steps(kc);
                    let add = accumulate || p0 > 0;
                    // SAFETY: the block is inside rhs (its columns are the packed rows); the
                    // CPU has the features.
                    unsafe { pack_rhs::<BF16>(rhs, [j0, p0], [nc, kc], kc2, bpack) };
                    for i0 in (0..m).step_by(bl.rows()) {
                        let mc = (m - i0).min(bl.rows());
                        // SAFETY: the block is inside lhs; the CPU has the features.
                        unsafe { bl.pack(lhs, lhs_s, [i0, p0], [mc, kc], apack) };
                        body(
                            apack,
                            bpack,
                            Block {
                                i0,
                                j0,
                                mc,
                                nc,
                                kc2,
                                add,
                            },
                        );
                    }
                }
            }
        });
    }

    /// The blocked product (module docs of [`super`]) in bfloat16 pairs (`BF16`) or `f32`.
    ///
    /// # Safety
    /// As [`super::gemm`]; the CPU has the kernel's features.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm<const BF16: bool>(
        [m, n, k]: [usize; 3],
        dst: *mut f32,
        [dst_rs, dst_cs]: [isize; 2],
        accumulate: bool,
        lhs: *const f32,
        lhs_s: [isize; 2],
        rhs: Rhs,
    ) {
        if k == 0 {
            if !accumulate {
                for i in 0..m {
                    for j in 0..n {
                        // SAFETY: (i, j) is inside dst (the caller's contract).
                        unsafe { *dst.offset(i as isize * dst_rs + j as isize * dst_cs) = 0.0 };
                    }
                }
            }
            return;
        }
        // A tile goes straight to dst when its columns are contiguous; otherwise through a
        // row-major staging tile.
        let mut stage = [0.0f32; MR * NR];
        let body = |apack: &[u32], bpack: &[u32], bk: Block| {
            let Block {
                i0,
                j0,
                mc,
                nc,
                kc2,
                add,
            } = bk;
            let a0 = apack.as_ptr();
            for jt in 0..nc.div_ceil(NR) {
                let cols = (nc - jt * NR).min(NR);
                let b = bpack[jt * NR * kc2..].as_ptr();
                for it in 0..mc.div_ceil(MR) {
                    let rows = (mc - it * MR).min(MR);
                    // SAFETY: panel `it` of the block.
                    let a = unsafe { a0.add(it * MR * kc2) };
                    let (i, j) = (i0 + it * MR, j0 + jt * NR);
                    // SAFETY: (i, j) is the tile's corner inside dst.
                    let c = unsafe { dst.offset(i as isize * dst_rs + j as isize * dst_cs) };
                    if dst_cs == 1 {
                        // SAFETY: rows x cols of dst at row stride dst_rs.
                        unsafe { tile::<BF16>(kc2, a, b, c, dst_rs, [rows, cols], add) };
                    } else {
                        let at = stage.as_mut_ptr();
                        // SAFETY: the staging tile is MR x NR, row stride NR; then its rows x
                        // cols corner into dst.
                        unsafe {
                            tile::<BF16>(kc2, a, b, at, NR as isize, [rows, cols], false);
                            unstage(&stage, NR, c, [dst_rs, dst_cs], [rows, cols], add);
                        }
                    }
                }
            }
        };
        // SAFETY: the caller's contract (k > 0 here); the CPU has the features.
        unsafe { for_each_block::<BF16>(false, [m, n, k], accumulate, lhs, lhs_s, rhs, body) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bf16_bits` rounds to nearest even, keeps signs, flushes subnormals and keeps NaN.
    #[test]
    fn bf16_rounding_is_nearest_even() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even 1.0.
        assert_eq!(bf16_bits(1.0 + 2f32.powi(-8)), 0x3f80);
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up to the even one.
        assert_eq!(bf16_bits(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert_eq!(bf16_bits(-2.0), 0xc000);
        assert_eq!(bf16_bits(f32::from_bits(1)), 0);
        assert_eq!(bf16_bits(-f32::from_bits(1)), 0x8000);
        assert!(f32::from_bits(u32::from(bf16_bits(f32::NAN)) << 16).is_nan());
        assert_eq!(round_bf16(f32::INFINITY), f32::INFINITY);
    }

    /// A deterministic value in `[-1, 1)` for index `i` of operand `seed`.
    fn value(seed: u64, i: usize) -> f32 {
        let mut z = seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(i as u64 + 1);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// On a CPU with AMX-TILE and AMX-BF16 under Linux the AMX kernel runs `Bf16` (unless
    /// `PODIUM_AMX=0`), and the AVX-512 kernel wherever the CPU has AVX512-BF16, so that the
    /// next test covers them where they exist.
    #[test]
    fn the_fastest_kernel_of_the_cpu_is_available() {
        let kernels = Kernel::available();
        #[cfg(target_arch = "x86_64")]
        {
            let amx = cfg!(target_os = "linux")
                && is_x86_feature_detected!("avx512bf16")
                && amx::cpu_has_amx()
                && std::env::var_os("PODIUM_AMX").is_none_or(|v| v != "0");
            assert_eq!(kernels.contains(&Kernel::Amx), amx, "{kernels:?}");
            let avx = is_x86_feature_detected!("avx512bf16");
            assert_eq!(kernels.contains(&Kernel::Avx512), avx, "{kernels:?}");
        }
        assert_eq!(kernels.last(), Some(&Kernel::Portable));
        assert_eq!(Kernel::best(), kernels[0]);
    }

    /// `Bf16` equals the `f64` product of the bfloat16-rounded operands and `F32` the `f64`
    /// product of the operands (to `f32` summation error), on every kernel this CPU runs (AMX,
    /// AVX-512, the portable path), for every operand layout the convolutions use, odd sizes
    /// and blocks past [`KC`], [`MC`], the AMX kernel's 192 rows and [`NC`], with and without
    /// accumulation.
    #[test]
    fn gemm_is_the_product_of_the_operands() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (14, 32, 2),
            (15, 33, 3),
            (64, 100, 257),
            (170, 40, 31),
            (20, 1030, 64),
            (29, 70, 600),
            (32, 64, 520),
            (200, 64, 40),
        ] {
            // (lhs row-major, transposed) x (rhs row-major, transposed) x dst (row-major,
            // transposed).
            for layout in 0..8 {
                let (lt, rt, dt) = (layout & 1 == 1, layout & 2 == 2, layout & 4 == 4);
                let a: Vec<f32> = (0..m * k).map(|i| value(1, i)).collect();
                let b: Vec<f32> = (0..k * n).map(|i| value(2, i)).collect();
                let c0: Vec<f32> = (0..m * n).map(|i| value(3, i)).collect();
                // every kernel this CPU runs (AMX, AVX-512, the portable path, which CPUs
                // without them take)
                for kernel in Kernel::available() {
                    for accumulate in [false, true] {
                        for arith in [Arith::Bf16, Arith::F32] {
                            let ops = [a.as_slice(), &b, &c0];
                            let how = [lt, rt, dt, accumulate];
                            check_case(kernel, arith, [m, n, k], how, ops);
                        }
                    }
                }
            }
        }
    }

    /// The (row, column) strides of the test operands `[rows, cols]`, transposed or not.
    fn strides(t: bool, rows: usize, cols: usize) -> [isize; 2] {
        if t {
            [1, rows as isize]
        } else {
            [cols as isize, 1]
        }
    }

    /// The index of `(i, j)` at strides `s`.
    fn at(s: [isize; 2], i: usize, j: usize) -> usize {
        (i as isize * s[0] + j as isize * s[1]) as usize
    }

    /// One product on `kernel` ([`gemm_on`]) against the `f64` product of the operands (rounded to
    /// bfloat16 in `Bf16`) within `f32` summation error.
    fn check_case(
        kernel: Kernel,
        arith: Arith,
        [m, n, k]: [usize; 3],
        [lt, rt, dt, accumulate]: [bool; 4],
        [a, b, c0]: [&[f32]; 3],
    ) {
        let (ls, rs, ds) = (strides(lt, m, k), strides(rt, k, n), strides(dt, m, n));
        let mut c = c0.to_vec();
        let (mnk, dst, ap, bp) = ([m, n, k], c.as_mut_ptr(), a.as_ptr(), b.as_ptr());
        // SAFETY (both blocks): every operand is exactly its strided matrix.
        unsafe {
            let rhs = Rhs::Strided(bp, rs);
            gemm_on(kernel, arith, mnk, dst, ds, accumulate, ap, ls, rhs)
        };
        let operand = |v: f32| {
            f64::from(match arith {
                Arith::F32 => v,
                Arith::Bf16 => round_bf16(v),
            })
        };
        for i in 0..m {
            for j in 0..n {
                let mut want = if accumulate {
                    f64::from(c0[at(ds, i, j)])
                } else {
                    0.0
                };
                let mut scale = want.abs();
                for p in 0..k {
                    let prod = operand(a[at(ls, i, p)]) * operand(b[at(rs, p, j)]);
                    want += prod;
                    scale += prod.abs();
                }
                let got = f64::from(c[at(ds, i, j)]);
                assert!(
                    (got - want).abs() <= (k as f64 + 2.0) * 6e-8 * scale,
                    "{kernel:?} {arith:?} [{m}, {n}, {k}] transposed {lt} {rt} {dt} accumulate {accumulate} at ({i}, {j}): {got} vs {want}"
                );
            }
        }
    }
}
