//! The AMX kernel of [`super::gemm_with`] in `Bf16`: Intel Advanced Matrix Extensions
//! (Sapphire Rapids and later: AMX-TILE and AMX-BF16), the instruction oneDNN's
//! `avx512_core_amx` kernels use for a `bfloat16` matmul under `torch.autocast("cpu")`.
//!
//! `TDPBF16PS tmm_c, tmm_a, tmm_b` adds to a 16 x 16 `f32` tile `c` the products of a 16-row
//! tile `a` (16 bfloat16 pairs of `k` per row) and a tile `b` of 16 steps (rows) of 16 columns,
//! each lane a bfloat16 pair: `c[i, j] += Σ_q a[i, 2q] b[q, j].lo + a[i, 2q + 1] b[q, j].hi`,
//! the products exact in `f32` and the sums rounded to nearest even in `f32`, as `VDPBF16PS`
//! computes (subnormal inputs and outputs are flushed to zero). The kernel keeps a 32 x 32 block
//! of `dst` in four such tiles (`tmm0..3`), loads two `a` tiles (`tmm4`, `tmm5`: 32 rows) and
//! two `b` tiles (`tmm6`, `tmm7`: 32 columns) per 32 values of `k`, and issues four
//! `TDPBF16PS`: 32 Ki multiply-adds per iteration, where the AVX-512 kernel issues 448
//! `VDPBF16PS` of 32 each.
//!
//! The `rhs` panels are the AVX-512 kernel's ([`NR`] columns, step-major bfloat16 pairs, from
//! the same packers, im2col included): 16 steps of a panel's first or last 16 columns are one
//! `b` tile at a row stride of `4 NR` bytes. The `lhs` is packed in panels of 16 rows and
//! each 16 x 16 block of pairs is transposed in place, so that its 16 rows of 16 steps are one
//! `a` tile at a row stride of 64 bytes. Both are zero-padded to whole tiles of `k` (16 steps).
//!
//! Linux gives a process the tile registers only after it asks for them
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, kernel 5.16+); [`available`] asks
//! once and uses AMX only when the CPU reports AMX-TILE and AMX-BF16 (CPUID leaf 7) and the
//! kernel says yes. `PODIUM_AMX=0` in the environment turns the kernel off (the AVX-512
//! kernel runs instead), for comparisons.

use std::arch::asm;
use std::arch::x86_64::*;

use super::avx512::{Block, for_each_block, pack, pair, row_steps, transpose16, unstage};
use super::{NR, Rhs};

/// Rows of a tile and of a packed `lhs` panel; also the steps (bfloat16 pairs) of `k` per tile.
const T: usize = 16;
/// Rows of a packed `lhs` block (whole panels).
pub(super) const MC: usize = 12 * T;

/// Whether this process runs the kernel: the AVX-512 kernel's features (its packers), AMX-TILE
/// and AMX-BF16 (CPUID leaf 7, EDX bits 24 and 22), the operating system's permission to use
/// the tile data (asked once, Linux only) and no `PODIUM_AMX=0` in the environment.
pub(super) fn available() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        super::avx512::available()
            && std::env::var_os("PODIUM_AMX").is_none_or(|v| v != "0")
            && cpu_has_amx()
            && os_grants_tiles()
    })
}

/// CPUID leaf 7, sub-leaf 0: EDX bit 22 (AMX-BF16) and bit 24 (AMX-TILE).
pub(super) fn cpu_has_amx() -> bool {
    // leaf 7 is read only when leaf 0 reports it
    if __cpuid(0).eax < 7 {
        return false;
    }
    let edx = __cpuid_count(7, 0).edx;
    edx & (1 << 22) != 0 && edx & (1 << 24) != 0
}

/// Asks Linux for the AMX tile data state of this process (`ARCH_REQ_XCOMP_PERM`, feature 18,
/// `XFEATURE_XTILEDATA`); true when granted. Other systems: false.
fn os_grants_tiles() -> bool {
    #[cfg(target_os = "linux")]
    {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: arch_prctl with this request only changes the process's permissions.
        unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// The tile configuration (palette 1): eight tiles of 16 rows of 64 bytes.
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    colsb: [u16; 16],
    rows: [u8; 16],
}

const CONFIG: TileConfig = TileConfig {
    palette: 1,
    start_row: 0,
    reserved: [0; 14],
    colsb: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
    rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
};

/// A 32 x 32 `f32` block, row stride 128 bytes: where an edge block of `dst` is computed.
#[repr(C, align(64))]
struct Stage([f32; 4 * T * T]);

/// `c[0..16 R, 0..32] (+)= a · b` over `tiles` tiles of 16 steps: `R` (1 or 2) `a` panels of 16
/// rows at `a` and `a + a_panel` bytes, the `b` panel at `b`; `c` at a row stride of `cs`
/// bytes, loaded first when `add`, else zero.
///
/// # Safety
/// The tiles are configured ([`CONFIG`]); the panels hold `tiles` whole tiles; `c` holds 16 R
/// rows of 32 `f32` at that stride.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn tiles<const R: usize>(
    tiles: usize,
    a: *const u32,
    a_panel: usize,
    b: *const u32,
    c: *mut f32,
    cs: isize,
    add: bool,
) {
    let (s64, s128) = (64usize, 4 * NR);
    let c1 = c.wrapping_byte_offset(16 * cs);
    let a1 = a.wrapping_byte_add(a_panel);
    // SAFETY: the caller's contract; the asm touches only the tiles, the operands' memory and
    // the registers it names.
    unsafe {
        if R == 2 {
            asm!(
                "test {add:e}, {add:e}",
                "jz 2f",
                "tileloadd tmm0, [{c0} + {cs}*1]",
                "tileloadd tmm1, [{c0} + {cs}*1 + 64]",
                "tileloadd tmm2, [{c1} + {cs}*1]",
                "tileloadd tmm3, [{c1} + {cs}*1 + 64]",
                "jmp 3f",
                "2:",
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                "3:",
                "tileloadd tmm6, [{b} + {s128}*1]",
                "tileloadd tmm7, [{b} + {s128}*1 + 64]",
                "tileloadd tmm4, [{a0} + {s64}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tileloadd tmm5, [{a1} + {s64}*1]",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                "add {a0}, 1024",
                "add {a1}, 1024",
                "add {b}, 2048",
                "dec {n}",
                "jnz 3b",
                "tilestored [{c0} + {cs}*1], tmm0",
                "tilestored [{c0} + {cs}*1 + 64], tmm1",
                "tilestored [{c1} + {cs}*1], tmm2",
                "tilestored [{c1} + {cs}*1 + 64], tmm3",
                add = in(reg) u32::from(add),
                c0 = in(reg) c,
                c1 = in(reg) c1,
                cs = in(reg) cs,
                a0 = inout(reg) a => _,
                a1 = inout(reg) a1 => _,
                b = inout(reg) b => _,
                s64 = in(reg) s64,
                s128 = in(reg) s128,
                n = inout(reg) tiles => _,
                options(nostack),
            );
        } else {
            asm!(
                "test {add:e}, {add:e}",
                "jz 2f",
                "tileloadd tmm0, [{c0} + {cs}*1]",
                "tileloadd tmm1, [{c0} + {cs}*1 + 64]",
                "jmp 3f",
                "2:",
                "tilezero tmm0",
                "tilezero tmm1",
                "3:",
                "tileloadd tmm6, [{b} + {s128}*1]",
                "tileloadd tmm7, [{b} + {s128}*1 + 64]",
                "tileloadd tmm4, [{a0} + {s64}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "add {a0}, 1024",
                "add {b}, 2048",
                "dec {n}",
                "jnz 3b",
                "tilestored [{c0} + {cs}*1], tmm0",
                "tilestored [{c0} + {cs}*1 + 64], tmm1",
                add = in(reg) u32::from(add),
                c0 = in(reg) c,
                cs = in(reg) cs,
                a0 = inout(reg) a => _,
                b = inout(reg) b => _,
                s64 = in(reg) s64,
                s128 = in(reg) s128,
                n = inout(reg) tiles => _,
                options(nostack),
            );
        }
    }
}

/// Packs the `[mc, kc]` block at `(i0, p0)` of `lhs` into `a` tiles: panel `t` (16 rows),
/// tile `s`, row `r`, step `q` at `out[t 16 kc2 + 256 s + 16 r + q]`, zero past `mc` and
/// `kc`. Rows contiguous along `k` (a weight, `dy`) convert 32 values to 16 pairs per load,
/// straight into a tile row; other layouts go through [`pack`]'s 16-row panels, each 16 x 16
/// block of pairs then transposed in place.
///
/// # Safety
/// The block is inside `lhs`; `kc2` is a multiple of 16; the CPU has the AVX-512 kernel's
/// features.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub(super) unsafe fn pack_lhs(
    lhs: *const f32,
    [row_s, k_s]: [isize; 2],
    [i0, p0]: [usize; 2],
    [mc, kc]: [usize; 2],
    kc2: usize,
    out: &mut [u32],
) {
    let rows = mc.div_ceil(T) * T;
    if k_s == 1 {
        for r in 0..rows {
            // inside the block when r < mc (the caller's contract), only formed otherwise
            let row = lhs.wrapping_offset((i0 + r) as isize * row_s + p0 as isize);
            let tiles = &mut out[r / T * T * kc2..][..T * kc2];
            for s in 0..kc2 / T {
                let at = &mut tiles[T * T * s + T * (r % T)..][..T];
                if r >= mc || 32 * s >= kc {
                    at.fill(0);
                } else if 32 * (s + 1) <= kc {
                    // SAFETY: depths 32s..32s + 32 of the row, inside the block.
                    unsafe {
                        let v = row_steps::<true>(row.add(32 * s));
                        _mm512_storeu_si512(at.as_mut_ptr().cast(), v);
                    }
                } else {
                    let value = |p: usize| {
                        // SAFETY: depth p < kc of the row, inside the block.
                        if p < kc { unsafe { *row.add(p) } } else { 0.0 }
                    };
                    for (q, lane) in at.iter_mut().enumerate() {
                        *lane = pair(value(32 * s + 2 * q), value(32 * s + 2 * q + 1));
                    }
                }
            }
        }
        return;
    }
    // SAFETY: the caller's contract.
    unsafe { pack::<T, true>(lhs, [row_s, k_s], [i0, p0], [mc, kc], kc2, out) };
    for block in out[..rows * kc2].chunks_exact_mut(T * T) {
        let mut v = [_mm512_setzero_si512(); 16];
        for (u, vu) in v.iter_mut().enumerate() {
            // SAFETY: row u of the 16 x 16 block.
            *vu = unsafe { _mm512_loadu_si512(block[16 * u..].as_ptr().cast()) };
        }
        transpose16(&mut v);
        for (u, vu) in v.iter().enumerate() {
            // SAFETY: row u of the 16 x 16 block.
            unsafe { _mm512_storeu_si512(block[16 * u..].as_mut_ptr().cast(), *vu) };
        }
    }
}

/// The blocked product (module docs of [`super`]) in `Bf16` on the AMX tiles.
///
/// # Safety
/// As [`super::gemm`] with `k > 0`; [`available`] is true.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm(
    [m, n, k]: [usize; 3],
    dst: *mut f32,
    [dst_rs, dst_cs]: [isize; 2],
    accumulate: bool,
    lhs: *const f32,
    lhs_s: [isize; 2],
    rhs: Rhs,
) {
    let mut stage = Stage([0.0; 4 * T * T]);
    // SAFETY: CONFIG is a valid palette-1 configuration (the CPU has AMX: `available`).
    unsafe { asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly)) };
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
        let panels = mc.div_ceil(T);
        for jt in 0..nc.div_ceil(NR) {
            let cols = (nc - jt * NR).min(NR);
            let b = bpack[jt * NR * kc2..].as_ptr();
            for it in (0..panels).step_by(2) {
                let two = it + 1 < panels;
                let rows = (mc - it * T).min(2 * T);
                // SAFETY: panel `it` of the block.
                let a = unsafe { a0.add(it * T * kc2) };
                let (i, j) = (i0 + it * T, j0 + jt * NR);
                // SAFETY: (i, j) is the block's corner inside dst.
                let c = unsafe { dst.offset(i as isize * dst_rs + j as isize * dst_cs) };
                let whole = dst_cs == 1 && cols == NR && rows == if two { 2 * T } else { T };
                let (at, stride, load) = if whole {
                    (c, dst_rs * 4, add)
                } else {
                    (stage.0.as_mut_ptr(), 4 * NR as isize, false)
                };
                // SAFETY: the panels hold kc2 / 16 tiles; `at` holds the block.
                unsafe {
                    if two {
                        tiles::<2>(kc2 / T, a, T * kc2 * 4, b, at, stride, load);
                    } else {
                        tiles::<1>(kc2 / T, a, 0, b, at, stride, load);
                    }
                }
                if !whole {
                    // SAFETY: the block's rows x cols inside dst; the stage's rows are NR long.
                    unsafe { unstage(&stage.0, NR, c, [dst_rs, dst_cs], [rows, cols], add) };
                }
            }
        }
    };
    // SAFETY: the caller's contract (k > 0); the CPU has the features (`available`).
    unsafe { for_each_block::<true>(true, [m, n, k], accumulate, lhs, lhs_s, rhs, body) };
    // SAFETY: returns the tiles to their initial state (cheaper context switches).
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}
