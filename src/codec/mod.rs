//! Files to pixels, the lowest layer of podium: decoding JPEG, PNG, BMP and WebP bytes into an
//! 8-bit [`Bitmap`] (named `channels`, `height`, `width`; shape `[channels, height, width]`),
//! in the colour mode and size a [`DecodeOptions`] asks for, and decoding only the top rows a
//! leading crop needs ([`decode_top_rows`]). Pictures come out upright: the EXIF orientation
//! is followed as PIL's `ImageOps.exif_transpose` follows it, unless
//! [`DecodeOptions::exif_orientation`] is switched off.
//!
//! Both [`data`](crate::data) (datasets decode their items) and [`augment`](crate::augment)
//! (pipelines that decode encoded bytes themselves) import it; it imports neither.
//!
//! | podium | PIL / torchvision |
//! |---|---|
//! | [`decode_file`], [`decode_bytes`] | `Image.open(path).convert("RGB")` (or `"L"`) |
//! | [`DecodeOptions::exif_orientation`] `= true` (the default) | `ImageOps.exif_transpose(Image.open(path))`; torchvision `decode_image(path, apply_exif_orientation=True)` |
//! | [`DecodeOptions::exif_orientation`] `= false` | timm's loader `Image.open(path).convert("RGB")` (no transpose); torchvision `decode_image(path)` |
//! | [`DecodeOptions::size`], [`Bitmap::resized`] | `img.resize((w, h), Image.BILINEAR)` |
//! | [`Bitmap::into_color`] | `img.convert("L")` / `img.convert("RGB")` |
//! | [`DecodeOptions::crop_pct`], [`DecodeOptions::fit`] | timm `transforms_imagenet_eval`: `Resize(floor(size / crop_pct))` + `CenterCrop(size)` |
//! | [`eval_resize_size`] | timm's scale size (`Resize` of the shorter side, or `ResizeKeepRatio`) |
//! | [`shorter_side_size`] | torchvision `resize(img, [s])` output size |
//! | [`Bitmap::center_cropped`] | torchvision `center_crop` (no padding) |
//! | [`MAX_IMAGE_PIXELS`] (refused above it) | PIL `Image.MAX_IMAGE_PIXELS` (warns above it, refuses above twice) |
//! | [`Bitmap`] to [`Image`](crate::augment::Image) | `v2.functional.pil_to_tensor` (`HWC` to `CHW`) |

mod bitmap;
mod decode;

pub use bitmap::Bitmap;
pub use decode::{
    ColorMode, DecodeOptions, MAX_IMAGE_PIXELS, TopRows, decode_bytes, decode_file,
    decode_top_rows, decode_top_rows_with, eval_resize_size, shorter_side_size,
};
