//! The report's pictures drawn with plotters: the confusion matrix and the training curves.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{PodiumError, Result};
use crate::learner::EpochMetrics;
use crate::util::{register_font, save_png_atomic};

/// A training-curves panel: title, y-axis title, the value, the splits drawn, the legend's place.
type Panel = (
    &'static str,
    &'static str,
    fn(&EpochMetrics) -> f64,
    &'static [&'static str],
    SeriesLabelPosition,
);

/// The value of cell `[true][predicted]` of a panel.
type CellValue<'a> = dyn Fn(usize, usize) -> f64 + 'a;

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult = std::result::Result<
    (),
    DrawingAreaErrorKind<<BitMapBackend<'static> as plotters::backend::DrawingBackend>::ErrorType>,
>;

/// matplotlib's `Blues` colour map (the one fastai's `plot_confusion_matrix` uses), five stops.
const BLUES: [(f64, [u8; 3]); 5] = [
    (0.0, [247, 251, 255]),
    (0.25, [198, 219, 239]),
    (0.5, [107, 174, 214]),
    (0.75, [33, 113, 181]),
    (1.0, [8, 48, 107]),
];

/// The `Blues` colour of `t` in `[0, 1]` (clamped), linearly interpolated between the stops.
pub(crate) fn blues(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let k = BLUES.iter().rposition(|s| s.0 <= t).unwrap_or(0).min(3);
    let ((t0, a), (t1, b)) = (BLUES[k], BLUES[k + 1]);
    let u = (t - t0) / (t1 - t0);
    let mix = |i: usize| (f64::from(a[i]) + u * (f64::from(b[i]) - f64::from(a[i]))).round() as u8;
    RGBColor(mix(0), mix(1), mix(2))
}

/// Width in pixels of `chars` characters of the embedded monospaced font at `size`.
fn text_width(chars: usize, size: u32) -> u32 {
    (chars as f64 * 0.61 * f64::from(size)).ceil() as u32
}

/// `name` cut to `max` characters in the middle, the cut marked by `~`: the start and the end
/// are kept, so `maple_leaf_1` and `maple_leaf_2` stay apart.
pub(crate) fn shorten(name: &str, max: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= max {
        return name.to_string();
    }
    let keep = max.saturating_sub(1);
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let start: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!("{start}~{end}")
}

fn plot_err(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> PodiumError + '_ {
    move |e| PodiumError::format(path, format!("plot: {e}"))
}

/// Geometry of one confusion-matrix panel, shared by both panels.
struct Grid {
    classes: usize,
    cell: u32,
    /// Every `step`-th class name is written (all of them when the cells are tall enough).
    step: usize,
    label_font: u32,
    label_chars: usize,
    label_area: u32,
}

impl Grid {
    fn new(names: &[String]) -> Self {
        let classes = names.len();
        let cell = (600 / classes as u32).clamp(6, 60);
        let label_font = (cell.saturating_sub(4)).clamp(9, 14);
        let step = (f64::from(label_font + 2) / f64::from(cell))
            .ceil()
            .max(1.0) as usize;
        let label_chars = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(1)
            .min(16);
        Self {
            classes,
            cell,
            step,
            label_font,
            label_chars,
            label_area: text_width(label_chars, label_font) + 8,
        }
    }

    fn side(&self) -> u32 {
        self.cell * self.classes as u32
    }
}

const MARGIN: u32 = 16;
const TITLE: u32 = 56;
const AXIS_TITLE: u32 = 24;
const BAR: u32 = 16;
const BAR_TICKS: u32 = 64;

/// Draws the confusion matrix `counts` (`[true][predicted]`) of the classes `names` as a PNG:
/// the counts on the left, the rows normalised by their sum (each true class's recall on the
/// diagonal) on the right, both on matplotlib's `Blues` scale with a colour bar, class names on
/// both axes (true classes down the left, predicted classes along the bottom, written upwards)
/// and each cell's value written in it when the cells are at least 26 pixels wide (up to 23
/// classes). Cells are 60 pixels for up to 10 classes and shrink to 6 for 100; with small cells
/// only every few class names are written, and names are cut to 16 characters (in the middle). Written through
/// a temporary file and a rename; text uses the embedded DejaVu Sans Mono.
///
/// # Errors
/// [`PodiumError::Config`] (`confusion`) when `counts` is empty, not square or does not have one
/// row per name; [`PodiumError::Io`]/[`PodiumError::Format`] naming the file.
pub fn plot_confusion_matrix(
    counts: &[Vec<u64>],
    names: &[String],
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let c = names.len();
    if c == 0 || counts.len() != c || counts.iter().any(|r| r.len() != c) {
        return Err(PodiumError::config(
            "confusion",
            format!("{} rows for {c} class names", counts.len()),
            "need a non-empty square matrix with one row and one column per class",
        ));
    }
    let grid = Grid::new(names);
    let panel_w = AXIS_TITLE + grid.label_area + grid.side() + 14 + BAR + BAR_TICKS;
    let (w, h) = (
        MARGIN + 2 * panel_w + MARGIN,
        TITLE + grid.side() + grid.label_area + AXIS_TITLE + MARGIN,
    );
    let max = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let rows: Vec<f64> = counts
        .iter()
        .map(|r| r.iter().sum::<u64>() as f64)
        .collect();
    let total: u64 = counts.iter().flatten().sum();
    register_font();
    let err = plot_err(path);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let title = ("sans-serif", 20)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw_text(
            &format!("confusion matrix ({c} classes, {total} samples)"),
            &title,
            (w as i32 / 2, 8),
        )
        .map_err(|e| err(&e))?;
        let value = |t: usize, p: usize| counts[t][p] as f64;
        let normalised = |t: usize, p: usize| {
            if rows[t] > 0.0 {
                counts[t][p] as f64 / rows[t]
            } else {
                0.0
            }
        };
        let panels: [(&str, &CellValue<'_>, f64); 2] = [
            ("counts", &value, max),
            ("normalized over the true class", &normalised, 1.0),
        ];
        for (k, (subtitle, cell_value, top)) in panels.into_iter().enumerate() {
            let area = root.margin(0, 0, (MARGIN + k as u32 * panel_w) as i32, 0);
            draw_panel(&area, &grid, names, subtitle, cell_value, top, k == 0)
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    save_png_atomic(path, w, h, buf)
}

/// One panel at the top left of `area`: subtitle, axis titles, names, cells and colour bar.
fn draw_panel(
    area: &Area<'_>,
    grid: &Grid,
    names: &[String],
    subtitle: &str,
    value: &dyn Fn(usize, usize) -> f64,
    top: f64,
    integers: bool,
) -> DrawResult {
    let (cell, side) = (grid.cell as i32, grid.side() as i32);
    let x0 = (AXIS_TITLE + grid.label_area) as i32;
    let y0 = TITLE as i32;
    let black = |size: u32| ("sans-serif", size).into_font().color(&BLACK);
    area.draw_text(
        subtitle,
        &black(15).pos(Pos::new(HPos::Center, VPos::Bottom)),
        (x0 + side / 2, y0 - 8),
    )?;
    // axis titles: true class up the left edge, predicted class under the names
    area.draw_text(
        "true class",
        &black(14)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Top)),
        (2, y0 + side / 2),
    )?;
    area.draw_text(
        "predicted class",
        &black(14).pos(Pos::new(HPos::Center, VPos::Top)),
        (x0 + side / 2, y0 + side + grid.label_area as i32 + 4),
    )?;
    let cell_font = (grid.cell * 2 / 9).clamp(9, 14);
    for t in 0..grid.classes {
        for p in 0..grid.classes {
            let v = value(t, p);
            let (cx, cy) = (x0 + p as i32 * cell, y0 + t as i32 * cell);
            area.draw(&Rectangle::new(
                [(cx, cy), (cx + cell, cy + cell)],
                blues(v / top).filled(),
            ))?;
            if grid.cell >= 26 {
                let text = if integers {
                    format!("{v:.0}")
                } else {
                    format!("{v:.2}")
                };
                // zeros in gray, so the non-zero cells stand out
                let color = if v / top > 0.5 {
                    WHITE
                } else if v == 0.0 {
                    RGBColor(150, 150, 150)
                } else {
                    BLACK
                };
                let style = ("sans-serif", cell_font)
                    .into_font()
                    .color(&color)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                area.draw_text(&text, &style, (cx + cell / 2, cy + cell / 2))?;
            }
        }
    }
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + side, y0 + side)],
        BLACK.stroke_width(1),
    ))?;
    let names_style = black(grid.label_font);
    for (i, name) in names.iter().enumerate().step_by(grid.step) {
        let name = shorten(name, grid.label_chars);
        let centre = i as i32 * cell + cell / 2;
        area.draw_text(
            &name,
            &names_style.pos(Pos::new(HPos::Right, VPos::Center)),
            (x0 - 4, y0 + centre),
        )?;
        area.draw_text(
            &name,
            &names_style
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center)),
            (x0 + centre, y0 + side + 4),
        )?;
    }
    // the colour bar with five ticks
    let bx = x0 + side + 14;
    let bar = BAR as i32;
    for y in 0..side {
        let t = 1.0 - f64::from(y) / f64::from(side.max(1) - 1).max(1.0);
        area.draw(&Rectangle::new(
            [(bx, y0 + y), (bx + bar, y0 + y + 1)],
            blues(t).filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(bx, y0), (bx + bar, y0 + side)],
        BLACK.stroke_width(1),
    ))?;
    // five ticks; counts tick at whole numbers, placed where they fall on the scale
    let mut ticks: Vec<f64> = (0..5)
        .map(|k| f64::from(k) / 4.0 * top)
        .map(|v| if integers { v.round() } else { v })
        .collect();
    ticks.dedup();
    for v in ticks {
        let y = y0 + side - (v / top * f64::from(side)).round() as i32;
        area.draw(&PathElement::new([(bx + bar, y), (bx + bar + 4, y)], BLACK))?;
        let label = if integers {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        };
        area.draw_text(
            &label,
            &black(12).pos(Pos::new(HPos::Left, VPos::Center)),
            (bx + bar + 6, y),
        )?;
    }
    Ok(())
}

/// Draws a run's training curves as a PNG of 500 x 460 pixels per panel, from `history`
/// (one [`EpochMetrics`] per epoch and split, as `metrics.csv` holds them): the loss of the
/// train and valid splits, their top-1 accuracy (percent), the competition metric (the `score`
/// column, validation) when the run monitored one, and the learning rate, against the epoch, with axis titles and a legend (fastai's `plot_loss` and `plot_metrics`, timm's
/// `summary.csv` plotted). `NaN` values are left out. Written through a temporary file and a
/// rename; text uses the embedded DejaVu Sans Mono.
///
/// # Errors
/// [`PodiumError::Config`] (`history`) when no row has a finite loss;
/// [`PodiumError::Io`]/[`PodiumError::Format`] naming the file.
pub fn plot_training_curves(history: &[EpochMetrics], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if !history.iter().any(|r| r.loss.is_finite()) {
        return Err(PodiumError::config(
            "history",
            format!("{} rows", history.len()),
            "no row with a finite loss to plot",
        ));
    }
    let series = |split: &str, f: fn(&EpochMetrics) -> f64| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter(|r| r.split == split)
            .map(|r| (r.epoch as f64, f(r)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    };
    // the legend goes where the curves usually are not: losses fall, accuracies rise
    let mut panels: Vec<Panel> = vec![
        (
            "loss",
            "loss",
            |r| r.loss,
            &["train", "valid"],
            SeriesLabelPosition::UpperRight,
        ),
        (
            "accuracy",
            "top-1 accuracy (%)",
            |r| r.accuracy,
            &["train", "valid"],
            SeriesLabelPosition::LowerRight,
        ),
        (
            "learning rate",
            "learning rate",
            |r| r.lr,
            &["train"],
            SeriesLabelPosition::UpperRight,
        ),
    ];
    if history.iter().any(|r| r.score.is_finite()) {
        // the competition metric the run monitored (`Monitor::Metric`), validation only
        panels.insert(
            2,
            (
                "competition metric (valid)",
                "score",
                |r| r.score,
                &["valid"],
                SeriesLabelPosition::LowerRight,
            ),
        );
    }
    let last = history.iter().map(|r| r.epoch).max().unwrap_or(1).max(1) as f64;
    let first = history.iter().map(|r| r.epoch).min().unwrap_or(1) as f64;
    let (w, h) = (500 * panels.len() as u32, 460u32);
    register_font();
    let err = plot_err(path);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        for (area, (title, y_desc, f, splits, legend)) in
            root.split_evenly((1, panels.len())).iter().zip(panels)
        {
            let lines: Vec<(&str, Vec<(f64, f64)>)> =
                splits.iter().map(|&s| (s, series(s, f))).collect();
            let values: Vec<f64> = lines
                .iter()
                .flat_map(|(_, l)| l.iter().map(|p| p.1))
                .collect();
            let (lo, hi) = values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let (lo, hi) = if values.is_empty() {
                (0.0, 1.0)
            } else {
                let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.05).max(1e-12);
                (lo - pad, hi + pad)
            };
            let small = hi.abs() < 1e-2 && hi != 0.0;
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 18))
                .margin(14)
                .x_label_area_size(42)
                .y_label_area_size(if small { 78 } else { 62 })
                .build_cartesian_2d(first - 0.5..last + 0.5, lo..hi)
                .map_err(|e| err(&e))?;
            let span = hi - lo;
            // enough decimals to tell the ticks apart, and a clean 0
            let decimals = (2.0 - span.log10().floor()).clamp(0.0, 4.0) as usize;
            let y_format = move |v: &f64| {
                if v.abs() < span * 1e-6 {
                    "0".to_string()
                } else if small {
                    format!("{v:.1e}")
                } else {
                    format!("{v:.decimals$}")
                }
            };
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(y_desc)
                .x_labels(((last - first) as usize + 2).min(12))
                .x_label_formatter(&|x| {
                    if (x - x.round()).abs() < 1e-9 {
                        format!("{x:.0}")
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&y_format)
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 14))
                .draw()
                .map_err(|e| err(&e))?;
            for (split, line) in lines {
                let color = if split == "train" {
                    BLUE
                } else {
                    RGBColor(230, 97, 1)
                };
                chart
                    .draw_series(LineSeries::new(line.iter().copied(), color.stroke_width(2)))
                    .map_err(|e| err(&e))?
                    .label(split)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| err(&e))?;
            }
            chart
                .configure_series_labels()
                .position(legend)
                .label_font(("sans-serif", 13))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    save_png_atomic(path, w, h, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_in_the_middle_and_colours_follow_the_blues_stops() {
        assert_eq!(shorten("cat", 5), "cat");
        assert_eq!(shorten("maple_leaf_1", 7), "map~f_1");
        assert_eq!(shorten("maple_leaf_1", 7).chars().count(), 7);
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(0.5), RGBColor(107, 174, 214));
        assert_eq!(blues(0.125), RGBColor(223, 235, 247));
        assert_eq!(blues(f64::NAN), blues(0.0));
    }
}
