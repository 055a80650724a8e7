//! [`OptimizerConfig`]: one serializable choice among the optimizers, by timm's names.

use burn::module::ParamGroup;
use burn::optim::{ModuleOptimizer, Optimizer};
use serde::{Deserialize, Serialize};

use super::{
    AdaBeliefConfig, AdamConfig, AdamWConfig, AdamaxConfig, HyperParams, LambConfig, LarsConfig,
    LionConfig, LookaheadConfig, MadgradConfig, NAdamConfig, NvNovoGradConfig, RAdamConfig,
    RangerConfig, SgdConfig, WithHyperParams,
};
use crate::error::{PodiumError, Result};

/// The optimizer of a training run: each variant wraps its optimizer's config (torch's and
/// timm's defaults, not burn's: burn's Adam epsilon is `1e-5` and its momentum dampening `0.1`;
/// torch's are `1e-8` and `0`).
///
/// Serialized externally tagged, the variant name holding the config's fields:
/// `{"AdamW": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05, "amsgrad": false}}`,
/// `{"Lookahead": {"base": {"RAdam": {...}}, "lookahead": {"alpha": 0.5, "k": 6, "paper_init": false}}}`.
/// [`OptimizerConfig::from_name`] builds one from timm's names (`adamw`, `lookahead_radam`, ...).
///
/// | variant | optimizer | follows |
/// |---|---|---|
/// | `Sgd` | [`TorchSgd`](super::TorchSgd) | `torch.optim.SGD` |
/// | `Adam`, `AdamW` | burn's `Adam` / `AdamW` (podium's [`TorchAdam`](super::TorchAdam) with a [`HyperParams`] handle) | `torch.optim.Adam`, `AdamW` |
/// | `RAdam` | [`RAdam`](super::RAdam) | `torch.optim.RAdam` |
/// | `NAdam` | [`NAdam`](super::NAdam) | `torch.optim.NAdam` |
/// | `Adamax` | [`Adamax`](super::Adamax) | `torch.optim.Adamax` |
/// | `AdaBelief` | [`AdaBelief`](super::AdaBelief) | `timm.optim.AdaBelief` |
/// | `Lamb` | [`Lamb`](super::Lamb) | `timm.optim.Lamb` |
/// | `Lars` | [`Lars`](super::Lars) | `timm.optim.Lars` |
/// | `Madgrad` | [`Madgrad`](super::Madgrad) | `timm.optim.MADGRAD` |
/// | `NvNovoGrad` | [`NvNovoGrad`](super::NvNovoGrad) | `timm.optim.NvNovoGrad` |
/// | `Lion` | burn's `Lion` | `timm.optim.Lion` |
/// | `Ranger` | [`Lookahead`](super::Lookahead) over [`RAdam`](super::RAdam) | timm's `lookahead_radam` |
/// | `Lookahead` | [`Lookahead`](super::Lookahead) over any other | `timm.optim.Lookahead` |
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerConfig {
    /// `torch.optim.SGD`: `g += weight_decay w`; the momentum buffer starts as `g`, then
    /// `buf = momentum buf + (1 - dampening) g`; `w -= lr (g + momentum buf)` with Nesterov,
    /// `w -= lr buf` without.
    Sgd(SgdConfig),
    /// `torch.optim.Adam` (Kingma and Ba 2015) with L2 weight decay added to the gradient.
    Adam(AdamConfig),
    /// `torch.optim.AdamW` (Loshchilov and Hutter 2019): decoupled weight decay
    /// `w -= lr weight_decay w`.
    AdamW(AdamWConfig),
    /// `torch.optim.RAdam` (Liu et al. 2020).
    RAdam(RAdamConfig),
    /// `torch.optim.NAdam` (Dozat 2016).
    NAdam(NAdamConfig),
    /// `torch.optim.Adamax` (Kingma and Ba 2015).
    Adamax(AdamaxConfig),
    /// `timm.optim.AdaBelief` (Zhuang et al. 2020; `rectify` gives RAdaBelief).
    AdaBelief(AdaBeliefConfig),
    /// `timm.optim.Lamb` (You et al. 2020; `trust_clip` gives LAMBC). timm also clips the global
    /// gradient norm at 1 first: set the Learner's `clip_grad` for that.
    Lamb(LambConfig),
    /// `timm.optim.Lars` (You et al. 2017; `trust_clip` gives LARC).
    Lars(LarsConfig),
    /// `timm.optim.MADGRAD` (Defazio and Jelassi 2021).
    Madgrad(MadgradConfig),
    /// `timm.optim.NvNovoGrad` (Ginsburg et al. 2019).
    NvNovoGrad(NvNovoGradConfig),
    /// burn's Lion (Chen et al. 2023), which matches timm's.
    Lion(LionConfig),
    /// Ranger: Lookahead over RAdam (timm's `lookahead_radam`).
    Ranger(RangerConfig),
    /// `timm.optim.Lookahead` (Zhang et al. 2019) over any other optimizer.
    Lookahead {
        /// The fast optimizer.
        base: Box<OptimizerConfig>,
        /// The slow weights (timm's defaults `alpha = 0.5`, `k = 6`).
        lookahead: LookaheadConfig,
    },
}

impl Default for OptimizerConfig {
    /// AdamW with torch's defaults.
    fn default() -> Self {
        Self::AdamW(AdamWConfig::new())
    }
}

macro_rules! from_config {
    ($($variant:ident($config:ty)),*) => {$(
        impl From<$config> for OptimizerConfig {
            fn from(config: $config) -> Self {
                Self::$variant(config)
            }
        }
    )*};
}

from_config!(
    Sgd(SgdConfig),
    Adam(AdamConfig),
    AdamW(AdamWConfig),
    RAdam(RAdamConfig),
    NAdam(NAdamConfig),
    Adamax(AdamaxConfig),
    AdaBelief(AdaBeliefConfig),
    Lamb(LambConfig),
    Lars(LarsConfig),
    Madgrad(MadgradConfig),
    NvNovoGrad(NvNovoGradConfig),
    Lion(LionConfig),
    Ranger(RangerConfig)
);

impl OptimizerConfig {
    /// The names [`Self::from_name`] accepts, besides `lookahead_<name>` for any of them but
    /// `ranger`.
    pub const NAMES: [&str; 22] = [
        "sgd",
        "nesterov",
        "momentum",
        "adam",
        "adamw",
        "radam",
        "nadam",
        "adamax",
        "adabelief",
        "radabelief",
        "lamb",
        "lambc",
        "lars",
        "larc",
        "nlars",
        "nlarc",
        "madgrad",
        "madgradw",
        "novograd",
        "nvnovograd",
        "lion",
        "ranger",
    ];

    /// The optimizer timm's `create_optimizer_v2(model, opt=name)` builds, with its defaults:
    /// the optimizer class's own defaults, momentum 0.9 where the optimizer has one, and weight
    /// decay 0 (timm's factory passes `weight_decay=0.` to every optimizer, so `adamw` and `lamb`
    /// differ from [`AdamWConfig::new`] and [`LambConfig::new`] there). Case-insensitive.
    ///
    /// | name | config |
    /// |---|---|
    /// | `sgd`, `nesterov` | SGD, momentum 0.9, Nesterov |
    /// | `momentum` | SGD, momentum 0.9 |
    /// | `adam`, `adamw`, `radam`, `nadam`, `adamax` | torch's defaults, weight decay 0 |
    /// | `adabelief`, `radabelief` | AdaBelief without / with rectification |
    /// | `lamb`, `lambc` | LAMB, weight decay 0; LAMBC clips the trust ratio |
    /// | `lars`, `larc`, `nlars`, `nlarc` | LARS, momentum 0.9; `c`: trust clip; `n`: Nesterov |
    /// | `madgrad`, `madgradw` | MADGRAD; `w`: decoupled decay |
    /// | `novograd`, `nvnovograd` | NvNovoGrad |
    /// | `lion` | Lion |
    /// | `ranger` | Ranger (Lookahead over RAdam, `alpha = 0.5`, `k = 6`) |
    /// | `lookahead_<name>` | Lookahead (`alpha = 0.5`, `k = 6`) over `<name>` (`lookahead_radam`, `lookahead_adamw`, ...) |
    ///
    /// # Errors
    /// [`PodiumError::Config`] (`optimizer`) for an unknown name, listing the valid ones.
    pub fn from_name(name: &str) -> Result<Self> {
        let lower = name.to_ascii_lowercase();
        if let Some(base) = lower.strip_prefix("lookahead_") {
            let base = Self::base_from_name(base).ok_or_else(|| unknown(name))?;
            return Ok(Self::Lookahead {
                base: Box::new(base),
                lookahead: LookaheadConfig::new(),
            });
        }
        match lower.as_str() {
            "ranger" => Ok(Self::Ranger(RangerConfig::new())),
            other => Self::base_from_name(other).ok_or_else(|| unknown(name)),
        }
    }

    /// Every name of [`Self::from_name`] but `ranger` and the `lookahead_` prefix.
    fn base_from_name(name: &str) -> Option<Self> {
        let sgd = SgdConfig::new().with_momentum(0.9);
        let lars = LarsConfig::new().with_momentum(0.9);
        Some(match name {
            "sgd" | "nesterov" => sgd.with_nesterov(true).into(),
            "momentum" => sgd.into(),
            "adam" => AdamConfig::new().into(),
            "adamw" => AdamWConfig::new().with_weight_decay(0.0).into(),
            "radam" => RAdamConfig::new().into(),
            "nadam" => NAdamConfig::new().into(),
            "adamax" => AdamaxConfig::new().into(),
            "adabelief" => AdaBeliefConfig::new().with_rectify(false).into(),
            "radabelief" => AdaBeliefConfig::new().with_rectify(true).into(),
            "lamb" => LambConfig::new().with_weight_decay(0.0).into(),
            "lambc" => LambConfig::new()
                .with_weight_decay(0.0)
                .with_trust_clip(true)
                .into(),
            "lars" => lars.into(),
            "larc" => lars.with_trust_clip(true).into(),
            "nlars" => lars.with_nesterov(true).into(),
            "nlarc" => lars.with_nesterov(true).with_trust_clip(true).into(),
            "madgrad" => MadgradConfig::new().into(),
            "madgradw" => MadgradConfig::new().with_decoupled_decay(true).into(),
            "novograd" | "nvnovograd" => NvNovoGradConfig::new().into(),
            "lion" => LionConfig::new().into(),
            _ => return None,
        })
    }

    /// Checks the hyperparameters.
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn validate(&self) -> Result<()> {
        self.init(None).map(|_| ())
    }

    /// Builds the burn optimizer. With a [`HyperParams`] handle (one-cycle's momentum curve, see
    /// [`Self::cycles_momentum`]) the optimizers that take a cycled momentum read it every step,
    /// as torch's `OneCycleLR` rewrites SGD's `momentum` or Adam's `betas[0]`: SGD with momentum
    /// as its momentum, the Adam family as beta1 (Adam and AdamW are then built as podium's
    /// [`TorchAdam`](super::TorchAdam) instead of burn's); the others ignore the handle.
    ///
    /// # Errors
    /// [`PodiumError::Config`] naming the key under `optimizer.` (`optimizer.beta1`,
    /// `optimizer.lookahead.k`, `optimizer.base.eps`, ...) for a value out of its range.
    pub fn init(&self, hyper: Option<&HyperParams>) -> Result<ModuleOptimizer> {
        self.typed_into(End::Plain, hyper)
            .map_err(|e| e.in_section("optimizer"))
    }

    /// [`Self::init`] with timm's weight-decay parameter groups (`param_groups_weight_decay`):
    /// the parameters of `no_decay` (biases and normalization weights,
    /// [`no_weight_decay_params`](super::no_weight_decay_params)) are optimized by the same
    /// optimizer with `weight_decay = 0` ([`Self::without_weight_decay`]; its own state, the
    /// same [`HyperParams`] handle), the others with the configured decay. burn's
    /// [`ModuleOptimizer::with_group`] routes each parameter; learning rates and their schedule
    /// are unchanged. Without decay (or with `no_decay` `None`) it is [`Self::init`].
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn init_with_no_decay(
        &self,
        hyper: Option<&HyperParams>,
        no_decay: Option<ParamGroup>,
    ) -> Result<ModuleOptimizer> {
        let optimizer = self.init(hyper)?;
        match no_decay {
            Some(group) if self.weight_decay() != 0.0 => self
                .without_weight_decay()
                .typed_into(End::Group(optimizer, group), hyper)
                .map_err(|e| e.in_section("optimizer")),
            _ => Ok(optimizer),
        }
    }

    /// The configured weight decay (the fast optimizer's for Lookahead and Ranger).
    pub fn weight_decay(&self) -> f64 {
        match self {
            Self::Sgd(c) => c.weight_decay,
            Self::Adam(c) => c.weight_decay,
            Self::AdamW(c) => c.weight_decay,
            Self::RAdam(c) => c.weight_decay,
            Self::NAdam(c) => c.weight_decay,
            Self::Adamax(c) => c.weight_decay,
            Self::AdaBelief(c) => c.weight_decay,
            Self::Lamb(c) => c.weight_decay,
            Self::Lars(c) => c.weight_decay,
            Self::Madgrad(c) => c.weight_decay,
            Self::NvNovoGrad(c) => c.weight_decay,
            Self::Lion(c) => c.weight_decay,
            Self::Ranger(c) => c.radam.weight_decay,
            Self::Lookahead { base, .. } => base.weight_decay(),
        }
    }

    /// The same optimizer with `weight_decay = 0`, every other value kept.
    pub fn without_weight_decay(&self) -> Self {
        let mut out = self.clone();
        match &mut out {
            Self::Sgd(c) => c.weight_decay = 0.0,
            Self::Adam(c) => c.weight_decay = 0.0,
            Self::AdamW(c) => c.weight_decay = 0.0,
            Self::RAdam(c) => c.weight_decay = 0.0,
            Self::NAdam(c) => c.weight_decay = 0.0,
            Self::Adamax(c) => c.weight_decay = 0.0,
            Self::AdaBelief(c) => c.weight_decay = 0.0,
            Self::Lamb(c) => c.weight_decay = 0.0,
            Self::Lars(c) => c.weight_decay = 0.0,
            Self::Madgrad(c) => c.weight_decay = 0.0,
            Self::NvNovoGrad(c) => c.weight_decay = 0.0,
            Self::Lion(c) => c.weight_decay = 0.0,
            Self::Ranger(c) => c.radam.weight_decay = 0.0,
            Self::Lookahead { base, .. } => **base = base.without_weight_decay(),
        }
        out
    }

    /// Whether the optimizer takes a cycled momentum through a [`HyperParams`] handle: SGD with
    /// momentum, and the Adam family (Adam, AdamW, RAdam, NAdam, Adamax, AdaBelief, LAMB: beta1
    /// cycled), alone or as the base of a `Lookahead`. LARS, NvNovoGrad, MADGRAD, Lion and
    /// Ranger keep their momentum.
    pub fn cycles_momentum(&self) -> bool {
        match self {
            Self::Sgd(c) => c.momentum > 0.0,
            Self::Adam(_)
            | Self::AdamW(_)
            | Self::RAdam(_)
            | Self::NAdam(_)
            | Self::Adamax(_)
            | Self::AdaBelief(_)
            | Self::Lamb(_) => true,
            Self::Lookahead { base, .. } => base.cycles_momentum(),
            Self::Lars(_)
            | Self::Madgrad(_)
            | Self::NvNovoGrad(_)
            | Self::Lion(_)
            | Self::Ranger(_) => false,
        }
    }

    /// Builds the typed optimizer and hands it to `sink` (plain, or wrapped in a Lookahead);
    /// `hyper` goes to the optimizers that read it. Errors carry the key within this config.
    fn typed_into<S: Sink>(&self, sink: S, hyper: Option<&HyperParams>) -> Result<ModuleOptimizer> {
        match self {
            Self::Sgd(c) => sink.take(reading(c.init()?, hyper)),
            Self::Adam(c) => match hyper {
                Some(h) => sink.take(c.init()?.with_hyper_params(h.clone())),
                None => sink.take(c.burn()?),
            },
            Self::AdamW(c) => match hyper {
                Some(h) => sink.take(c.init()?.with_hyper_params(h.clone())),
                None => sink.take(c.burn()?),
            },
            Self::RAdam(c) => sink.take(reading(c.init()?, hyper)),
            Self::NAdam(c) => sink.take(reading(c.init()?, hyper)),
            Self::Adamax(c) => sink.take(reading(c.init()?, hyper)),
            Self::AdaBelief(c) => sink.take(reading(c.init()?, hyper)),
            Self::Lamb(c) => sink.take(reading(c.init()?, hyper)),
            Self::Lars(c) => sink.take(c.init()?),
            Self::Madgrad(c) => sink.take(c.init()?),
            Self::NvNovoGrad(c) => sink.take(c.init()?),
            Self::Lion(c) => sink.take(c.init()?),
            Self::Ranger(c) => sink.take(c.init()?),
            Self::Lookahead { base, lookahead } => {
                lookahead
                    .validate()
                    .map_err(|e| e.in_section("lookahead"))?;
                base.typed_into(InLookahead(lookahead, sink.end()), hyper)
                    .map_err(|e| e.in_section("base"))
            }
        }
    }
}

/// `optimizer` reading its momentum or beta1 from `hyper` when there is one.
fn reading<O: WithHyperParams>(optimizer: O, hyper: Option<&HyperParams>) -> O {
    match hyper {
        Some(h) => optimizer.with_hyper_params(h.clone()),
        None => optimizer,
    }
}

fn unknown(name: &str) -> PodiumError {
    PodiumError::config(
        "optimizer",
        format!("\"{name}\""),
        format!(
            "unknown optimizer; valid names: {}, lookahead_<name>",
            OptimizerConfig::NAMES.join(", ")
        ),
    )
}

/// Receives a typed optimizer built from an [`OptimizerConfig`].
trait Sink {
    fn take<O: Optimizer>(self, optimizer: O) -> Result<ModuleOptimizer>;
    /// Where the optimizer goes once built (and wrapped).
    fn end(self) -> End;
}

/// Where a built optimizer ends up: a module optimizer of its own, or a parameter group added to
/// one (burn's [`ModuleOptimizer::with_group`]).
enum End {
    Plain,
    Group(ModuleOptimizer, ParamGroup),
}

impl Sink for End {
    fn take<O: Optimizer>(self, optimizer: O) -> Result<ModuleOptimizer> {
        Ok(match self {
            End::Plain => optimizer.into(),
            End::Group(module_optimizer, group) => {
                module_optimizer.with_group(group, optimizer, None)
            }
        })
    }

    fn end(self) -> End {
        self
    }
}

/// The optimizer wrapped in a Lookahead, then sent to its [`End`].
struct InLookahead<'a>(&'a LookaheadConfig, End);

impl Sink for InLookahead<'_> {
    fn take<O: Optimizer>(self, optimizer: O) -> Result<ModuleOptimizer> {
        let wrapped = self
            .0
            .init(optimizer)
            .map_err(|e| e.in_section("lookahead"))?;
        self.1.take(wrapped)
    }

    fn end(self) -> End {
        self.1
    }
}
