//! Every case of `image_ops.json`: podium's deterministic image ops against
//! `torchvision.transforms.v2.functional` on `u8` and float `C x H x W` images.

use burn_podium::augment::functional as F;
use burn_podium::augment::{Depth, Image};
use serde_json::Value;

use crate::reference::{Case, RefTensor, load_topic};

fn image(t: &RefTensor) -> Image {
    let shape = [t.shape[0], t.shape[1], t.shape[2]];
    let depth = if t.dtype == "u8" {
        Depth::U8
    } else {
        Depth::F32
    };
    Image::new(t.data.iter().map(|&v| v as f32).collect(), shape, depth)
}

fn args(case: &Case) -> &serde_json::Map<String, Value> {
    case.params["args"].as_object().expect("params.args")
}

fn nums(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_f64().expect("number")).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number list: {other}"),
    }
}

fn pair(v: &Value) -> [usize; 2] {
    let n = nums(v);
    [n[0] as usize, n[1] as usize]
}

fn f32s(v: &Value) -> Vec<f32> {
    nums(v).into_iter().map(|x| x as f32).collect()
}

fn interp(v: &Value) -> F::Interpolation {
    match v.as_str().expect("interpolation name") {
        "nearest" => F::Interpolation::Nearest,
        "bilinear" => F::Interpolation::Bilinear,
        other => panic!("interpolation {other} not covered"),
    }
}

fn fill(v: &Value) -> Option<Vec<f32>> {
    (!v.is_null()).then(|| f32s(v))
}

fn check(case: &Case, outs: &[Image]) {
    let mut shape = vec![];
    if outs.len() > 1 {
        shape.push(outs.len());
    }
    shape.extend(outs[0].shape());
    let values: Vec<f64> = outs
        .iter()
        .flat_map(|o| o.data.iter().map(|&v| f64::from(v)))
        .collect();
    case.assert_close("y", &values, &shape);
}

#[test]
fn every_image_op_matches_torchvision() {
    let topic = load_topic("image_ops.json");
    assert!(!topic.cases.is_empty());
    for case in &topic.cases {
        let img = image(case.input("img"));
        let a = args(case);
        let out: Vec<Image> = match case.op.as_str() {
            "resize" => {
                let size = nums(&a["size"]);
                let mode = interp(&a["interpolation"]);
                let aa = a["antialias"].as_bool().unwrap();
                vec![if size.len() == 1 {
                    F::resize_shorter(&img, size[0] as usize, mode, aa)
                } else {
                    F::resize(&img, [size[0] as usize, size[1] as usize], mode, aa)
                }]
            }
            "center_crop" => vec![F::center_crop(&img, pair(&a["output_size"]))],
            "five_crop" => F::five_crop(&img, pair(&a["size"])).to_vec(),
            "ten_crop" => F::ten_crop(
                &img,
                pair(&a["size"]),
                a["vertical_flip"].as_bool().unwrap(),
            ),
            "horizontal_flip" => vec![F::hflip(&img)],
            "vertical_flip" => vec![F::vflip(&img)],
            "normalize" => vec![F::normalize(&img, &f32s(&a["mean"]), &f32s(&a["std"]))],
            "pad" => {
                let p: Vec<usize> = nums(&a["padding"]).iter().map(|&v| v as usize).collect();
                let ltrb = match p.len() {
                    1 => [p[0]; 4],
                    2 => [p[0], p[1], p[0], p[1]],
                    _ => [p[0], p[1], p[2], p[3]],
                };
                let mode = match a["padding_mode"].as_str().unwrap() {
                    "constant" => F::PaddingMode::Constant,
                    "edge" => F::PaddingMode::Edge,
                    "reflect" => F::PaddingMode::Reflect,
                    "symmetric" => F::PaddingMode::Symmetric,
                    other => panic!("padding mode {other}"),
                };
                let fill = a.get("fill").map_or(vec![0.0], f32s);
                vec![F::pad(&img, ltrb, mode, &fill)]
            }
            "rotate" => {
                let center = fill(&a["center"]).map(|c| [c[0], c[1]]);
                vec![F::rotate(
                    &img,
                    a["angle"].as_f64().unwrap() as f32,
                    interp(&a["interpolation"]),
                    a["expand"].as_bool().unwrap(),
                    center,
                    fill(&a["fill"]).as_deref(),
                )]
            }
            "affine" => {
                let t = f32s(&a["translate"]);
                let s = f32s(&a["shear"]);
                let center = fill(&a["center"]).map(|c| [c[0], c[1]]);
                vec![F::affine(
                    &img,
                    a["angle"].as_f64().unwrap() as f32,
                    [t[0], t[1]],
                    a["scale"].as_f64().unwrap() as f32,
                    [s[0], s[1]],
                    interp(&a["interpolation"]),
                    fill(&a["fill"]).as_deref(),
                    center,
                )]
            }
            "adjust_brightness" => vec![F::adjust_brightness(&img, num(a, "brightness_factor"))],
            "adjust_contrast" => vec![F::adjust_contrast(&img, num(a, "contrast_factor"))],
            "adjust_saturation" => vec![F::adjust_saturation(&img, num(a, "saturation_factor"))],
            "adjust_hue" => vec![F::adjust_hue(&img, num(a, "hue_factor"))],
            "adjust_sharpness" => vec![F::adjust_sharpness(&img, num(a, "sharpness_factor"))],
            "rgb_to_grayscale" => vec![F::rgb_to_grayscale(
                &img,
                a["num_output_channels"].as_u64().unwrap() as usize,
            )],
            "erase" => {
                let v = case.input("v");
                let v: Vec<f32> = v.data.iter().map(|&x| x as f32).collect();
                let at = |k: &str| a[k].as_u64().unwrap() as usize;
                vec![F::erase(&img, at("i"), at("j"), at("h"), at("w"), &v)]
            }
            "gaussian_blur" => {
                let s = f32s(&a["sigma"]);
                vec![F::gaussian_blur(
                    &img,
                    pair(&a["kernel_size"]),
                    [s[0], s[1]],
                )]
            }
            "posterize" => vec![F::posterize(&img, a["bits"].as_u64().unwrap() as u32)],
            "solarize" => vec![F::solarize(&img, num(a, "threshold"))],
            "autocontrast" => vec![F::autocontrast(&img)],
            "equalize" => vec![F::equalize(&img)],
            "invert" => vec![F::invert(&img)],
            other => panic!("case {}: op {other} not covered by podium", case.name),
        };
        check(case, &out);
    }
}

fn num(a: &serde_json::Map<String, Value>, key: &str) -> f32 {
    a[key].as_f64().unwrap_or_else(|| panic!("arg {key}")) as f32
}

#[test]
fn quarter_turns_and_u8_images_hold_their_pixels() {
    // a 2 x 3 one-channel image: 0 1 2 / 3 4 5
    let img = Image::from_u8(&[0, 1, 2, 3, 4, 5], [1, 2, 3]);
    assert_eq!((img.depth, img.at(0, 1, 2)), (Depth::U8, 5.0));
    let turned = F::rot90(&img, 1); // counter-clockwise: 2 5 / 1 4 / 0 3
    assert_eq!(turned.shape(), [1, 3, 2]);
    assert_eq!(turned.data, vec![2.0, 5.0, 1.0, 4.0, 0.0, 3.0]);
    assert_eq!(
        F::rot90(&F::rot90(&turned, 1), 2),
        img,
        "four quarter turns in all"
    );
    assert_eq!(F::rot90(&img, 4), img);
    // torchvision's fast path: a square image turned by 90 degrees is an exact transpose
    let square = Image::from_u8(&[0, 1, 2, 3], [1, 2, 2]);
    let r = F::rotate(&square, 90.0, F::Interpolation::Bilinear, false, None, None);
    assert_eq!(r, F::rot90(&square, 1));
    assert_eq!(square.to_u8_planar(), vec![0, 1, 2, 3]);
}

#[test]
fn a_resized_crop_of_decoded_bytes_equals_resizing_the_cropped_image() {
    use burn_podium::codec::{DecodeOptions, decode_file};
    let path = crate::fixtures::photos()
        .into_iter()
        .find(|p| p.ends_with("chelsea.png"))
        .unwrap();
    let bitmap = decode_file(&path, &DecodeOptions::default()).unwrap();
    let (h, w) = (bitmap.height, bitmap.width);
    // shrinking (antialiased and not), enlarging, a window at the corner, nearest
    let cases = [
        (
            [10, 20, 200, 300],
            [64, 48],
            F::Interpolation::Bilinear,
            true,
        ),
        (
            [10, 20, 200, 300],
            [64, 48],
            F::Interpolation::Bilinear,
            false,
        ),
        (
            [h - 30, w - 17, 30, 17],
            [45, 50],
            F::Interpolation::Bilinear,
            true,
        ),
        ([0, 0, h, w], [33, 71], F::Interpolation::Nearest, false),
        ([5, 7, 40, 40], [40, 40], F::Interpolation::Bilinear, true),
    ];
    for (window, size, interp, antialias) in cases {
        let fast = F::resized_crop_interleaved(&bitmap, window, size, interp, antialias);
        let crop = Image::from_bitmap_window(&bitmap, window);
        let slow = F::resize(&crop, size, interp, antialias);
        assert_eq!(fast.shape(), [3, size[0], size[1]]);
        assert_eq!(
            fast, slow,
            "window {window:?} to {size:?} ({interp:?}, {antialias})"
        );
    }
}
