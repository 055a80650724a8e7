//! The highest-loss images as a PNG grid with their true and predicted classes.

use std::path::Path;

use plotters::prelude::*;

use super::TopLoss;
use super::plots::shorten;
use crate::codec::Bitmap;
use crate::data::ImageDataset;
use crate::error::{PodiumError, Result};
use crate::util::{register_font, save_png_atomic};

/// Side of a tile, in pixels: images are scaled to fit it (smaller ones by a whole factor with
/// nearest neighbours, larger ones with the bilinear filter), keeping their aspect ratio.
pub const TILE: u32 = 160;
const CAPTION: u32 = 36;
const GAP: u32 = 8;
const FONT: u32 = 13;
/// Height of the band above the grid that explains the captions.
pub const HEADER: u32 = 26;
const HEADER_TEXT: &str = "true / predicted (probability of the prediction), loss";

/// The picture scaled into a `TILE` square, as RGB.
fn fit(bitmap: Bitmap) -> Bitmap {
    let bitmap = bitmap.into_color(crate::codec::ColorMode::Rgb);
    let (h, w) = (bitmap.height, bitmap.width);
    let longest = h.max(w).max(1);
    let tile = TILE as usize;
    if longest <= tile {
        // a whole-factor nearest-neighbour enlargement keeps small images (28 x 28 digits) sharp
        let k = tile / longest;
        let (nh, nw) = (h * k, w * k);
        let mut pixels = vec![0u8; nh * nw * 3];
        for y in 0..nh {
            for x in 0..nw {
                let src = ((y / k) * w + x / k) * 3;
                pixels[(y * nw + x) * 3..][..3].copy_from_slice(&bitmap.pixels[src..src + 3]);
            }
        }
        Bitmap::new(pixels, [3, nh, nw])
    } else {
        let nh = (h * tile / longest).max(1);
        let nw = (w * tile / longest).max(1);
        bitmap.resized([nh, nw])
    }
}

/// Writes the images of `losses` (from [`super::top_losses`]; `index` is the item of `dataset`)
/// as a PNG grid of `columns` columns, fastai's `plot_top_losses`: each tile is the image scaled
/// into a [`TILE`]-pixel square under two caption lines, `true / predicted (p)` with `p` the
/// predicted class's probability, and the sample's loss, in red when the prediction is wrong and green
/// when it is right; a [`HEADER`] band above the grid explains the captions. Names longer than a tile are cut. Written through a temporary file and a
/// rename; text uses the embedded DejaVu Sans Mono.
///
/// # Errors
/// [`PodiumError::Config`] (`top_losses`) for no sample, 0 columns or an index beyond the
/// dataset; the decoding error of an image ([`PodiumError::Io`]/[`PodiumError::Decode`] naming
/// the file); [`PodiumError::Io`]/[`PodiumError::Format`] naming the PNG.
pub fn plot_top_losses(
    dataset: &ImageDataset,
    losses: &[TopLoss],
    classes: &[String],
    columns: usize,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    if losses.is_empty() || columns == 0 {
        return Err(PodiumError::config(
            "top_losses",
            format!("{} samples, {columns} columns", losses.len()),
            "need at least one sample and one column",
        ));
    }
    if let Some(bad) = losses.iter().find(|l| l.index >= dataset.len()) {
        return Err(PodiumError::config(
            "top_losses",
            bad.index,
            format!("index beyond the dataset of {} items", dataset.len()),
        ));
    }
    let cols = columns.min(losses.len()) as u32;
    let rows = losses.len().div_ceil(columns) as u32;
    let (w, h) = (
        cols * (TILE + GAP) + GAP,
        HEADER + rows * (TILE + CAPTION + GAP) + GAP,
    );
    let origin = |k: usize| {
        let (c, r) = ((k % columns) as u32, (k / columns) as u32);
        (
            GAP + c * (TILE + GAP),
            HEADER + GAP + r * (TILE + CAPTION + GAP),
        )
    };
    let mut buf = vec![255u8; (w * h * 3) as usize];
    for (k, loss) in losses.iter().enumerate() {
        let img = fit(dataset.decode(loss.index)?.image);
        let (x0, y0) = origin(k);
        // centred in the tile
        let dx = x0 as usize + (TILE as usize - img.width) / 2;
        let dy = (y0 + CAPTION) as usize + (TILE as usize - img.height) / 2;
        for y in 0..img.height {
            let src = &img.pixels[y * img.width * 3..(y + 1) * img.width * 3];
            let dst = ((dy + y) * w as usize + dx) * 3;
            buf[dst..dst + src.len()].copy_from_slice(src);
        }
    }
    register_font();
    let err = |e: &dyn std::fmt::Display| PodiumError::format(path, format!("top losses: {e}"));
    let chars = (f64::from(TILE) / (0.61 * f64::from(FONT))).floor() as usize;
    let name = |c: usize| classes.get(c).cloned().unwrap_or_else(|| c.to_string());
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let header = ("sans-serif", FONT).into_font().color(&BLACK);
        root.draw_text(
            &shorten(HEADER_TEXT, w as usize * 10 / (FONT as usize * 6)),
            &header,
            (GAP as i32, 8),
        )
        .map_err(|e| err(&e))?;
        for (k, loss) in losses.iter().enumerate() {
            let (x0, y0) = origin(k);
            let color = if loss.label == loss.predicted {
                RGBColor(0, 120, 0)
            } else {
                RGBColor(190, 0, 0)
            };
            let style = ("sans-serif", FONT).into_font().color(&color);
            let (actual, predicted) = (name(loss.label), name(loss.predicted));
            let p = format!(" ({:.2})", loss.probability);
            let mut first = format!("{actual} / {predicted}{p}");
            if first.chars().count() > chars {
                // both names share the line: each gets half of what the probability leaves
                let half = chars.saturating_sub(3 + p.len()) / 2;
                first = format!(
                    "{} / {}{p}",
                    shorten(&actual, half),
                    shorten(&predicted, half)
                );
            }
            let second = format!("loss {:.2}", loss.loss);
            root.draw_text(&first, &style, (x0 as i32, y0 as i32 + 2))
                .map_err(|e| err(&e))?;
            root.draw_text(
                &shorten(&second, chars),
                &style,
                (x0 as i32, y0 as i32 + 2 + FONT as i32 + 3),
            )
            .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    save_png_atomic(path, w, h, buf)
}
