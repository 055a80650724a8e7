//! A PNG contact sheet of images with captions: how augmentations are checked by eye.

use std::path::Path;

use super::Image;
use crate::error::{PodiumError, Result};
use crate::util::{register_font, save_png_atomic};

/// Height of the caption band above each tile, in pixels.
const CAPTION: u32 = 18;
/// Gap between tiles, in pixels.
const GAP: u32 = 6;

/// Writes `tiles` (caption, image) as a PNG grid of `columns` columns, each tile under its
/// caption, on a white background (temporary file, then a rename). `u8` and float images are
/// drawn as they are; one-channel images as gray. Captions use the embedded DejaVu Sans Mono.
///
/// # Errors
/// [`PodiumError::Config`] for no tiles, 0 columns or a tile with neither 1 nor 3 channels;
/// [`PodiumError::Io`]/[`PodiumError::Format`] naming the file when it cannot be written.
pub fn write_gallery(
    tiles: &[(String, Image)],
    columns: usize,
    path: impl AsRef<Path>,
) -> Result<()> {
    use plotters::prelude::*;
    let path = path.as_ref();
    if tiles.is_empty() || columns == 0 {
        return Err(PodiumError::config(
            "gallery",
            format!("{} tiles, {columns} columns", tiles.len()),
            "need at least one tile and one column",
        ));
    }
    if let Some((name, img)) = tiles
        .iter()
        .find(|(_, i)| i.channels != 1 && i.channels != 3)
    {
        return Err(PodiumError::config(
            "gallery",
            name,
            format!("{} channels; a tile needs 1 or 3", img.channels),
        ));
    }
    let cell_w = tiles.iter().map(|(_, i)| i.width).max().unwrap_or(1) as u32;
    let cell_h = tiles.iter().map(|(_, i)| i.height).max().unwrap_or(1) as u32;
    let rows = tiles.len().div_ceil(columns) as u32;
    let cols = columns.min(tiles.len()) as u32;
    let (w, h) = (
        cols * (cell_w + GAP) + GAP,
        rows * (cell_h + CAPTION + GAP) + GAP,
    );
    let mut buf = vec![255u8; (w * h * 3) as usize];
    for (k, (_, img)) in tiles.iter().enumerate() {
        let (x0, y0) = tile_origin(k, columns, cell_w, cell_h);
        let rgb = img.to_bitmap().pixels;
        for y in 0..img.height {
            for x in 0..img.width {
                let dst = (((y0 + CAPTION) as usize + y) * w as usize + x0 as usize + x) * 3;
                for c in 0..3 {
                    buf[dst + c] = rgb[(y * img.width + x) * img.channels + c % img.channels];
                }
            }
        }
    }
    register_font();
    let plot_err = |e: &dyn std::fmt::Display| PodiumError::format(path, format!("gallery: {e}"));
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        for (k, (caption, _)) in tiles.iter().enumerate() {
            let (x0, y0) = tile_origin(k, columns, cell_w, cell_h);
            let style = ("sans-serif", 13).into_font().color(&BLACK);
            root.draw_text(caption, &style, (x0 as i32, y0 as i32 + 2))
                .map_err(|e| plot_err(&e))?;
        }
        root.present().map_err(|e| plot_err(&e))?;
    }
    save_png_atomic(path, w, h, buf)
}

fn tile_origin(k: usize, columns: usize, cell_w: u32, cell_h: u32) -> (u32, u32) {
    let (col, row) = ((k % columns) as u32, (k / columns) as u32);
    (
        GAP + col * (cell_w + GAP),
        GAP + row * (cell_h + CAPTION + GAP),
    )
}
