//! Deterministic image operations, each matching the function of
//! `torchvision.transforms.v2.functional` with the same name on plain `C x H x W` tensors
//! (`u8` or float, see [`Image`](crate::augment::Image)).

mod affine;
mod color;
mod filter;
mod geometry;
mod resize;

pub use affine::{affine, rot90, rotate};
pub use color::{
    adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation, adjust_sharpness,
    autocontrast, equalize, invert, posterize, rgb_to_grayscale, solarize,
};
pub(crate) use color::{
    adjust_brightness_owned, adjust_contrast_owned, adjust_hue_owned, adjust_saturation_owned,
};
pub use filter::{gaussian_blur, gaussian_kernel};
pub use geometry::{
    PaddingMode, center_crop, crop, erase, five_crop, hflip, normalize, pad, ten_crop, vflip,
};
pub use resize::{
    Interpolation, resize, resize_shorter, resized_crop_interleaved, shorter_side_size,
};
