//! The reference-test harness: reads a topic file of `../shared/reference` (PyTorch golden
//! values, format in its README) and compares podium's outputs with each case's `atol`/`rtol`.
//!
//! The folder comes from `PODIUM_REFERENCE_DIR` (default `../shared/reference` beside the crate).
//! A missing folder or file fails the test with a message saying where it looked.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Deserialize;
use serde_json::Value;

/// A tensor of a reference file (values widened to f64: f32, i64 below 2^53, u8 and bool fit).
#[derive(Clone, Debug)]
pub struct RefTensor {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub data: Vec<f64>,
}

#[derive(Deserialize)]
struct RawTensor {
    shape: Vec<usize>,
    dtype: String,
    data: Vec<Value>,
}

impl RefTensor {
    fn from_raw(raw: RawTensor, context: &str) -> Self {
        let data: Vec<f64> = raw
            .data
            .iter()
            .map(|v| match v {
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Number(n) => n
                    .as_f64()
                    .unwrap_or_else(|| panic!("{context}: non-numeric value {n}")),
                other => panic!("{context}: unexpected value {other}"),
            })
            .collect();
        let numel: usize = raw.shape.iter().product();
        assert_eq!(
            data.len(),
            numel,
            "{context}: {} values for shape {:?}",
            data.len(),
            raw.shape
        );
        Self {
            shape: raw.shape,
            dtype: raw.dtype,
            data,
        }
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    pub fn f32s(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }

    pub fn i64s(&self) -> Vec<i64> {
        self.data.iter().map(|&v| v as i64).collect()
    }

    pub fn usizes(&self) -> Vec<usize> {
        self.data.iter().map(|&v| v as usize).collect()
    }

    pub fn u8s(&self) -> Vec<u8> {
        self.data.iter().map(|&v| v as u8).collect()
    }

    /// As a float tensor of rank `D` on `device`.
    ///
    /// # Panics
    /// If the rank differs.
    pub fn float<const D: usize>(&self, device: &Device) -> Tensor<D> {
        let shape: [usize; D] = self.shape.clone().try_into().unwrap_or_else(|_| {
            panic!("reference tensor of shape {:?} is not rank {D}", self.shape)
        });
        Tensor::from_data(TensorData::new(self.f32s(), shape), device)
    }

    /// As an int tensor of rank `D` on `device`.
    pub fn int<const D: usize>(&self, device: &Device) -> Tensor<D, Int> {
        let shape: [usize; D] = self.shape.clone().try_into().unwrap_or_else(|_| {
            panic!("reference tensor of shape {:?} is not rank {D}", self.shape)
        });
        Tensor::from_data(TensorData::new(self.i64s(), shape), device)
    }
}

#[derive(Deserialize)]
struct RawCase {
    name: String,
    op: String,
    #[serde(default)]
    params: serde_json::Map<String, Value>,
    #[serde(default)]
    inputs: BTreeMap<String, RawTensor>,
    #[serde(default)]
    expected: BTreeMap<String, RawTensor>,
    atol: f64,
    rtol: f64,
}

/// One case of a topic file.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub op: String,
    pub params: serde_json::Map<String, Value>,
    pub inputs: BTreeMap<String, RefTensor>,
    pub expected: BTreeMap<String, RefTensor>,
    pub atol: f64,
    pub rtol: f64,
}

impl Case {
    fn param(&self, key: &str) -> &Value {
        self.params
            .get(key)
            .unwrap_or_else(|| panic!("case {}: no param `{key}` in {:?}", self.name, self.params))
    }

    /// Every input named `{prefix}N` (N = 0, 1, ...), in the order of N: a case may be
    /// regenerated with more or fewer such tensors. Panics if there is none.
    pub fn numbered_inputs(&self, prefix: &str) -> Vec<(&str, &RefTensor)> {
        let mut found: Vec<(usize, &str, &RefTensor)> = self
            .inputs
            .iter()
            .filter_map(|(k, t)| {
                let n = k.strip_prefix(prefix)?.parse::<usize>().ok()?;
                Some((n, k.as_str(), t))
            })
            .collect();
        assert!(
            !found.is_empty(),
            "case {}: no input named {prefix}0, {prefix}1, ...",
            self.name
        );
        found.sort_by_key(|&(n, _, _)| n);
        found.into_iter().map(|(_, k, t)| (k, t)).collect()
    }

    pub fn has_param(&self, key: &str) -> bool {
        self.params.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn f64(&self, key: &str) -> f64 {
        self.param(key)
            .as_f64()
            .unwrap_or_else(|| panic!("case {}: param `{key}` is not a number", self.name))
    }

    pub fn usize(&self, key: &str) -> usize {
        self.param(key)
            .as_u64()
            .unwrap_or_else(|| panic!("case {}: param `{key}` is not an integer", self.name))
            as usize
    }

    pub fn str(&self, key: &str) -> &str {
        self.param(key)
            .as_str()
            .unwrap_or_else(|| panic!("case {}: param `{key}` is not a string", self.name))
    }

    pub fn bool(&self, key: &str) -> bool {
        self.param(key)
            .as_bool()
            .unwrap_or_else(|| panic!("case {}: param `{key}` is not a bool", self.name))
    }

    pub fn input(&self, key: &str) -> &RefTensor {
        self.inputs
            .get(key)
            .unwrap_or_else(|| panic!("case {}: no input `{key}`", self.name))
    }

    pub fn expected(&self, key: &str) -> &RefTensor {
        self.expected
            .get(key)
            .unwrap_or_else(|| panic!("case {}: no expected `{key}`", self.name))
    }

    /// Asserts `actual` (with `shape`) matches expected `key` under the case's tolerances.
    pub fn assert_close(&self, key: &str, actual: &[f64], shape: &[usize]) {
        assert_allclose(
            actual,
            shape,
            self.expected(key),
            self.atol,
            self.rtol,
            &format!("{}.{key}", self.name),
        );
    }

    /// Asserts a float tensor matches expected `key`.
    pub fn assert_tensor<const D: usize>(&self, key: &str, actual: Tensor<D>) {
        let shape = actual.dims().to_vec();
        // Read as 1-D: cubecl-wgpu 0.11.3 cannot read a rank-0 tensor (`contiguous_strides`
        // computes `rank - 1`: index out of bounds); flex can. Same values, same shape check.
        let numel = shape.iter().product::<usize>();
        let values: Vec<f64> = actual
            .reshape([numel])
            .try_into_vec_as::<f32>()
            .expect("read tensor")
            .into_iter()
            .map(f64::from)
            .collect();
        self.assert_close(key, &values, &shape);
    }
}

/// A topic file.
#[derive(Clone, Debug)]
pub struct Topic {
    pub topic: String,
    pub about: String,
    pub path: PathBuf,
    pub cases: Vec<Case>,
}

impl Topic {
    /// The cases whose `op` is `op` (panics if there is none: a test must not pass on nothing).
    pub fn cases_of(&self, op: &str) -> Vec<&Case> {
        let cases: Vec<&Case> = self.cases.iter().filter(|c| c.op == op).collect();
        assert!(
            !cases.is_empty(),
            "{}: no case with op `{op}`",
            self.path.display()
        );
        cases
    }
}

/// The reference folder for an optional override (`PODIUM_REFERENCE_DIR`'s value).
pub fn reference_dir_from(overridden: Option<&str>) -> PathBuf {
    match overridden {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference"),
    }
}

/// The reference folder: `PODIUM_REFERENCE_DIR`, or `../shared/reference` beside the crate.
pub fn reference_dir() -> PathBuf {
    reference_dir_from(std::env::var("PODIUM_REFERENCE_DIR").ok().as_deref())
}

/// Reads a topic file from a folder, or explains where it looked.
pub fn try_load_topic_from(dir: &Path, file: &str) -> Result<Topic, String> {
    if !dir.is_dir() {
        return Err(format!(
            "reference folder {} not found (set PODIUM_REFERENCE_DIR, or put shared/ beside the \
             crate so that ../shared/reference exists)",
            dir.display()
        ));
    }
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("reference file {} not readable: {e}", path.display()))?;
    #[derive(Deserialize)]
    struct RawTopic {
        topic: String,
        #[serde(default)]
        about: String,
        cases: Vec<RawCase>,
    }
    let raw: RawTopic = serde_json::from_str(&text)
        .map_err(|e| format!("reference file {} is not valid: {e}", path.display()))?;
    let cases = raw
        .cases
        .into_iter()
        .map(|c| {
            let ctx = |k: &str| format!("{}: case {} tensor {k}", path.display(), c.name);
            Case {
                inputs: c
                    .inputs
                    .into_iter()
                    .map(|(k, t)| {
                        let t = RefTensor::from_raw(t, &ctx(&k));
                        (k, t)
                    })
                    .collect(),
                expected: c
                    .expected
                    .into_iter()
                    .map(|(k, t)| {
                        let t = RefTensor::from_raw(t, &ctx(&k));
                        (k, t)
                    })
                    .collect(),
                name: c.name,
                op: c.op,
                params: c.params,
                atol: c.atol,
                rtol: c.rtol,
            }
        })
        .collect();
    Ok(Topic {
        topic: raw.topic,
        about: raw.about,
        path,
        cases,
    })
}

/// Reads a topic file (`losses.json`, ...) from [`reference_dir`]; panics saying where it looked.
pub fn load_topic(file: &str) -> Topic {
    try_load_topic_from(&reference_dir(), file).unwrap_or_else(|e| panic!("{e}"))
}

/// The numpy `allclose` rule, elementwise: `|a - e| <= atol + rtol * |e|`, shapes equal.
pub fn check_allclose(
    actual: &[f64],
    shape: &[usize],
    expected: &RefTensor,
    atol: f64,
    rtol: f64,
) -> Result<(), String> {
    if shape != expected.shape.as_slice() {
        return Err(format!("shape {shape:?}, expected {:?}", expected.shape));
    }
    if actual.len() != expected.numel() {
        return Err(format!(
            "{} values, expected {}",
            actual.len(),
            expected.numel()
        ));
    }
    let mut worst: Option<(usize, f64, f64)> = None;
    let mut bad = 0;
    for (i, (&a, &e)) in actual.iter().zip(&expected.data).enumerate() {
        let ok = (a - e).abs() <= atol + rtol * e.abs();
        if !ok {
            bad += 1;
            if worst.is_none_or(|(_, wa, we)| (a - e).abs() > (wa - we).abs()) {
                worst = Some((i, a, e));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, a, e)) => Err(format!(
            "{bad} of {} values off (atol {atol}, rtol {rtol}); worst at flat index {i}: got {a}, \
             expected {e}",
            actual.len()
        )),
    }
}

/// Panics with `context` when [`check_allclose`] fails.
pub fn assert_allclose(
    actual: &[f64],
    shape: &[usize],
    expected: &RefTensor,
    atol: f64,
    rtol: f64,
    context: &str,
) {
    if let Err(e) = check_allclose(actual, shape, expected, atol, rtol) {
        panic!("{context}: {e}");
    }
}
