//! A model summary in the style of torchinfo: each layer's output shape, parameter count,
//! trainable or frozen, and multiply-adds for a given input size, with the totals.

use std::fmt;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::tensor::Tensor;

/// One row of a [`ModelSummary`].
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Path of the layer in the model, e.g. `layer2.0`.
    pub name: String,
    /// Kind of layer, e.g. `Conv2d`, `Block`.
    pub kind: String,
    /// Output shape for the summary's input, batch first.
    pub output_shape: Vec<usize>,
    /// Parameters (elements of float tensors; BatchNorm running statistics not counted, as in
    /// torchinfo).
    pub params: usize,
    /// Parameters that require gradients.
    pub trainable: usize,
    /// Multiply-adds of the convolutions and linear layers in the row, for the whole batch.
    pub macs: u64,
}

/// A torchinfo-like table; `Display` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSummary {
    /// The model's name, e.g. `ResNet-18`.
    pub model: String,
    /// The input shape `[B, C, H, W]` the shapes and multiply-adds refer to.
    pub input_shape: [usize; 4],
    /// One row per layer, in forward order.
    pub rows: Vec<SummaryRow>,
}

impl ModelSummary {
    /// Total parameters.
    pub fn total_params(&self) -> usize {
        self.rows.iter().map(|r| r.params).sum()
    }

    /// Trainable parameters.
    pub fn trainable_params(&self) -> usize {
        self.rows.iter().map(|r| r.trainable).sum()
    }

    /// Total multiply-adds for the input shape.
    pub fn total_macs(&self) -> u64 {
        self.rows.iter().map(|r| r.macs).sum()
    }
}

impl fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = "=".repeat(96);
        writeln!(f, "{line}")?;
        writeln!(
            f,
            "{:<28} {:<12} {:<22} {:>12} {:>8} {:>10}",
            "Layer (path)", "Kind", "Output shape", "Params", "Train", "MACs"
        )?;
        writeln!(f, "{line}")?;
        for r in &self.rows {
            let state = match (r.params, r.trainable) {
                (0, _) => "--",
                (p, t) if p == t => "yes",
                (_, 0) => "frozen",
                _ => "partly",
            };
            writeln!(
                f,
                "{:<28} {:<12} {:<22} {:>12} {:>8} {:>10}",
                r.name,
                r.kind,
                format!("{:?}", r.output_shape),
                group_digits(r.params as u64),
                state,
                human(r.macs)
            )?;
        }
        writeln!(f, "{line}")?;
        writeln!(f, "{}: input {:?}", self.model, self.input_shape)?;
        writeln!(
            f,
            "Total params: {}",
            group_digits(self.total_params() as u64)
        )?;
        writeln!(
            f,
            "Trainable params: {}",
            group_digits(self.trainable_params() as u64)
        )?;
        writeln!(
            f,
            "Non-trainable params: {}",
            group_digits((self.total_params() - self.trainable_params()) as u64)
        )?;
        writeln!(f, "Total mult-adds: {}", human(self.total_macs()))?;
        write!(f, "{line}")
    }
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn human(macs: u64) -> String {
    match macs {
        0 => "--".into(),
        m if m >= 1_000_000_000 => format!("{:.2} G", m as f64 / 1e9),
        m if m >= 1_000_000 => format!("{:.2} M", m as f64 / 1e6),
        m => format!("{:.1} K", m as f64 / 1e3),
    }
}

#[derive(Default)]
struct Counter {
    total: usize,
    trainable: usize,
    path: Vec<String>,
}

impl ModuleVisitor for Counter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // BatchNorm's running statistics are state, not parameters (torchinfo's count)
        if self
            .path
            .last()
            .is_some_and(|n| n == "running_mean" || n == "running_var")
        {
            return;
        }
        let n = param.lazy_shape().num_elements();
        self.total += n;
        if param.val().is_require_grad() {
            self.trainable += n;
        }
    }
}

/// `(parameters, trainable parameters)` of a module. Gradient settings only take effect on
/// an autodiff device, so the count looks at the module as `train()` would make it.
pub(crate) fn count_params<M: Module>(module: &M) -> (usize, usize) {
    let mut c = Counter::default();
    module.clone().train().visit(&mut c);
    (c.total, c.trainable)
}

/// Output `[c, h, w]` and multiply-adds of a convolution on a `[c, h, w]` input.
pub(crate) fn conv_step(conv: &Conv2d, [_, h, w]: [usize; 3], batch: usize) -> ([usize; 3], u64) {
    let [cout, cin_g, kh, kw] = conv.weight.lazy_shape().dims();
    let (ph, pw) = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => (top + bottom, left + right),
        _ => (kh - 1, kw - 1),
    };
    let out = |n: usize, k: usize, p: usize, s: usize, d: usize| (n + p - d * (k - 1) - 1) / s + 1;
    let oh = out(h, kh, ph, conv.stride[0], conv.dilation[0]);
    let ow = out(w, kw, pw, conv.stride[1], conv.dilation[1]);
    let macs = (batch * cout * oh * ow * cin_g * kh * kw) as u64;
    ([cout, oh, ow], macs)
}

/// Builds the rows of a summary while walking a model in forward order.
pub(crate) struct SummaryBuilder {
    pub(crate) batch: usize,
    pub(crate) shape: [usize; 3],
    rows: Vec<SummaryRow>,
}

impl SummaryBuilder {
    pub(crate) fn new([b, c, h, w]: [usize; 4]) -> Self {
        Self {
            batch: b,
            shape: [c, h, w],
            rows: Vec::new(),
        }
    }

    /// A row for `module` whose output is `shape` (`[c, h, w]`, or `[f]` flattened).
    pub(crate) fn row<M: Module>(
        &mut self,
        name: &str,
        kind: &str,
        module: &M,
        shape: &[usize],
        macs: u64,
    ) {
        let (params, trainable) = count_params(module);
        let mut output_shape = vec![self.batch];
        output_shape.extend_from_slice(shape);
        self.rows.push(SummaryRow {
            name: name.into(),
            kind: kind.into(),
            output_shape,
            params,
            trainable,
            macs,
        });
    }

    /// A convolution row; advances the current shape.
    pub(crate) fn conv(&mut self, name: &str, conv: &Conv2d) {
        let (shape, macs) = conv_step(conv, self.shape, self.batch);
        self.shape = shape;
        self.row(name, "Conv2d", conv, &shape, macs);
    }

    /// A BatchNorm row at the current shape.
    pub(crate) fn batch_norm(&mut self, name: &str, bn: &BatchNorm) {
        let shape = self.shape;
        self.row(name, "BatchNorm", bn, &shape, 0);
    }

    /// The head rows: global pooling (`pool_name`) to `features`, then the linear classifier
    /// `name`.
    pub(crate) fn head<D: Module>(
        &mut self,
        pool_name: &str,
        dropout: &D,
        name: &str,
        classifier: &Linear,
        features: usize,
    ) {
        self.row(pool_name, "GlobalPool", dropout, &[features], 0);
        let [_, classes] = classifier.weight.lazy_shape().dims();
        let macs = (self.batch * features * classes) as u64;
        self.row(name, "Linear", classifier, &[classes], macs);
    }

    pub(crate) fn finish(self, model: &str, input_shape: [usize; 4]) -> ModelSummary {
        ModelSummary {
            model: model.into(),
            input_shape,
            rows: self.rows,
        }
    }
}
