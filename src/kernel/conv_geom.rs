//! The geometry and gemm arithmetic of one dense or depthwise 2-D convolution (NCHW input, OIHW
//! weight), shared by the im2col/gemm kernels ([`super::conv_gemm`]), the implicit im2col
//! packing of the bfloat16 gemm ([`super::matmul`]), the depthwise kernels and the max pool's
//! window ranges.
//!
//! `OH = (H + 2 ph - dh (kh - 1) - 1) / sh + 1` (and the same for `OW`), as
//! `torch.nn.Conv2d` computes its output size; input row `iy = oy sh + ki dh - ph` feeds output
//! row `oy` through kernel row `ki`.

/// The arithmetic of a matrix product: `f32` throughout, or `bf16` products summed in `f32`
/// (autocast's `bfloat16`; see [`super::matmul`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arith {
    /// `f32` products and sums.
    #[default]
    F32,
    /// Operands rounded to bfloat16, products and sums in `f32`.
    Bf16,
}

/// The geometry of one 2-D convolution (NCHW input, OIHW weight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geom {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub dilation: [usize; 2],
    pub oh: usize,
    pub ow: usize,
    /// The arithmetic of the gemms: `f32`, or `bf16` products summed in `f32` (an autocast
    /// region's `bfloat16`).
    pub arith: Arith,
}

impl Geom {
    /// Rows of the im2col matrix for `c` input channels: `c * kh * kw`.
    pub fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Output pixels per image.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }

    /// Whether im2col is the identity (1x1 kernel, stride 1, no padding).
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.pad == [0, 0]
    }

    /// The range `[lo, hi)` of output positions `o < n_out` whose input position
    /// `o * stride + off` lies in `[0, n_in)`.
    pub fn valid_range(n_out: usize, n_in: usize, stride: usize, off: isize) -> (usize, usize) {
        let lo = if off >= 0 {
            0
        } else {
            ((-off) as usize).div_ceil(stride)
        };
        let last = n_in as isize - 1 - off;
        let hi = if last < 0 {
            0
        } else {
            (last as usize / stride + 1).min(n_out)
        };
        (lo.min(hi), hi)
    }
}
