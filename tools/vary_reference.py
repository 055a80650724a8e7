"""Writes a variant of the reference folder in which some cases are regenerated with other sizes,
hyper-parameters, random values and numbers of input tensors, computed by the same libraries
(torch, torchvision, timm, scikit-learn). The reference README promises that the case names can be
regenerated this way and that tests must pass on such files; this script makes such files so that
the test suite can be run against them (not run in CI: it needs PyTorch):

    pip install torch torchvision timm scikit-learn
    python3 tools/vary_reference.py --out /tmp/reference-variant --seed 1
    PODIUM_REFERENCE_DIR=/tmp/reference-variant cargo test --release --test podium

Every other file and case is copied unchanged. Regenerated ops:
  optim.json     clip_grad_norm, clip_grad_value (2 to 6 gradient tensors of random shapes),
                 sgd, adam, adamw (other parameter shapes, steps and learning rates)
  losses.json    cross_entropy, bce_with_logits, sigmoid_focal_loss, soft_target_cross_entropy
                 (other batch sizes, class counts, smoothing, weights)
  mixing.json    mixup_target (single-label: other batch, classes, lam, smoothing)
  sampling.json  kfold, stratified_kfold, group_kfold (other sample counts and fold counts, so
                 other numbers of train_idx_K / test_idx_K tensors)
  models/        torchvision resnet18 and timm efficientnet_b0 with another class count, new
                 random weights and BatchNorm statistics (new .pth / .safetensors files), another
                 input batch and size
Case names, ops, parameter keys and tolerances are kept; the `_batch1`, `_absent_class` and
`_confident` edge cases keep their edge.
"""
import argparse
import json
import math
import pathlib
import random
import shutil

import numpy as np
import torch

SRC = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "reference"


def tensor(t, dtype=None):
    """The README's tensor object from a torch tensor or numpy array."""
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if dtype is None:
        dtype = {"f": "f32", "i": "i64", "u": "i64", "b": "bool"}[a.dtype.kind]
    if dtype == "f32":
        data = [float(np.float32(x)) for x in a.reshape(-1)]
    elif dtype == "bool":
        data = [bool(x) for x in a.reshape(-1)]
    else:
        data = [int(x) for x in a.reshape(-1)]
    return {"shape": list(a.shape), "dtype": dtype, "data": data}


def f32(shape, scale=1.0):
    return (torch.randn(*shape) * scale).float()


def jitter(x, lo=0.5, hi=1.5):
    return float(np.float32(x * random.uniform(lo, hi)))


# ---------------------------------------------------------------------------------- optim.json
def vary_clip(case):
    p = case["params"]
    n = random.randint(2, 6)
    shapes = [[random.randint(1, 5) for _ in range(random.randint(1, 3))] for _ in range(n)]
    grads = [f32(s) for s in shapes]
    params = [torch.zeros(s, requires_grad=True) for s in shapes]
    for q, g in zip(params, grads):
        q.grad = g.clone()
    inputs = {f"g{i}": tensor(g) for i, g in enumerate(grads)}
    expected = {}
    if case["op"] == "clip_grad_norm":
        p["max_norm"] = jitter(p["max_norm"])
        norm = {"2": 2.0, "1": 1.0, "inf": math.inf}[str(p["norm_type"])]
        total = torch.nn.utils.clip_grad_norm_(params, p["max_norm"], norm_type=norm)
        expected["total_norm"] = tensor(total.reshape([]))
    else:
        p["clip_value"] = jitter(p["clip_value"])
        torch.nn.utils.clip_grad_value_(params, p["clip_value"])
    for i, q in enumerate(params):
        expected[f"g{i}"] = tensor(q.grad)
    case["inputs"], case["expected"] = inputs, expected


def vary_optimizer(case):
    p = case["params"]
    r, c, m = random.randint(1, 4), random.randint(1, 5), random.randint(1, 5)
    n = r * c + m
    q = torch.randn(n, n)
    a = (q @ q.T / n + 0.5 * torch.eye(n)).float()
    b = f32([n])
    w0, v0 = f32([r, c]), f32([m])
    steps = random.randint(3, 12)
    p["n_steps"], p["lr"] = steps, jitter(p["lr"], 0.5, 1.2)
    if p.get("weight_decay"):
        p["weight_decay"] = jitter(p["weight_decay"])
    w = w0.clone().requires_grad_(True)
    v = v0.clone().requires_grad_(True)
    kw = {"lr": p["lr"]}
    for key in ("momentum", "dampening", "weight_decay", "nesterov", "eps", "amsgrad"):
        if key in p:
            kw[key] = p[key]
    if "betas" in p:
        kw["betas"] = tuple(p["betas"])
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[case["op"]]
    opt = cls([w, v], foreach=False, **kw)
    out = {k: [] for k in ("W", "v", "grad_W", "grad_v", "loss")}
    for _ in range(steps):
        opt.zero_grad()
        theta = torch.cat([w.reshape(-1), v])
        loss = 0.5 * theta @ (a @ theta) + b @ theta
        loss.backward()
        out["loss"].append(loss.detach().clone())
        out["grad_W"].append(w.grad.clone())
        out["grad_v"].append(v.grad.clone())
        opt.step()
        out["W"].append(w.detach().clone())
        out["v"].append(v.detach().clone())
    case["inputs"] = {"A": tensor(a), "b": tensor(b), "W0": tensor(w0), "v0": tensor(v0)}
    case["expected"] = {k: tensor(torch.stack(vs)) for k, vs in out.items()}


# --------------------------------------------------------------------------------- losses.json
def sizes(case):
    b = 1 if "batch1" in case["name"] else random.randint(3, 12)
    return b, random.randint(3, 9)


def logits_for(case, b, c):
    x = f32([b, c], 2.0)
    if "confident" in case["name"]:
        x = torch.full([b, c], -30.0)
        x[torch.arange(b), torch.randint(0, c, [b])] = 30.0
    return x


def labels_for(case, b, c):
    top = c - 1 if "absent_class" in case["name"] else c
    return torch.randint(0, top, [b])


def reduce_expected(case, loss_fn, x, *rest):
    x = x.clone().requires_grad_(True)
    out = loss_fn(x, *rest)
    expected = {"loss": tensor(out)}
    if "expected_grad_logits" in case["expected"]:
        out.backward()
        expected["expected_grad_logits"] = tensor(x.grad)
    return expected


def vary_cross_entropy(case):
    p = case["params"]
    b, c = sizes(case)
    p["num_classes"] = c
    if p["label_smoothing"]:
        p["label_smoothing"] = jitter(p["label_smoothing"])
    x, y = logits_for(case, b, c), labels_for(case, b, c)
    weight = (torch.rand(c) * 1.8 + 0.2).float() if p["weighted"] else None
    fn = lambda x, y: torch.nn.functional.cross_entropy(  # noqa: E731
        x, y, weight=weight, reduction=p["reduction"], label_smoothing=p["label_smoothing"])
    case["inputs"] = {"logits": tensor(x), "target": tensor(y)}
    if weight is not None:
        case["inputs"]["weight"] = tensor(weight)
    case["expected"] = reduce_expected(case, fn, x, y)


def vary_bce(case):
    p = case["params"]
    b, c = sizes(case)
    x = logits_for(case, b, c)
    t = (torch.rand(b, c) < 0.4).float()
    if "absent_class" in case["name"]:
        t[:, -1] = 0.0
    pos = (torch.rand(c) * 2.5 + 0.5).float() if p["pos_weight"] else None
    wt = (torch.rand(c) * 1.2 + 0.2).float() if p["weight"] else None
    fn = lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(  # noqa: E731
        x, t, weight=wt, pos_weight=pos, reduction=p["reduction"])
    case["inputs"] = {"logits": tensor(x), "target": tensor(t)}
    if pos is not None:
        case["inputs"]["pos_weight"] = tensor(pos)
    if wt is not None:
        case["inputs"]["weight"] = tensor(wt)
    case["expected"] = reduce_expected(case, fn, x, t)


def vary_sigmoid_focal(case):
    from torchvision.ops import sigmoid_focal_loss

    p = case["params"]
    b, c = sizes(case)
    if p["alpha"] >= 0:
        p["alpha"] = random.uniform(0.1, 0.9)
    if p["gamma"]:
        p["gamma"] = random.uniform(1.0, 3.0)  # below 1 the gradient at p_t = 1 is not finite
    x = logits_for(case, b, c)
    t = (torch.rand(b, c) < 0.4).float()
    fn = lambda x, t: sigmoid_focal_loss(x, t, p["alpha"], p["gamma"], p["reduction"])  # noqa: E731
    case["inputs"] = {"logits": tensor(x), "target": tensor(t)}
    case["expected"] = reduce_expected(case, fn, x, t)


def vary_soft_target(case):
    from timm.data.mixup import mixup_target
    from timm.loss import SoftTargetCrossEntropy

    p = case["params"]
    b, c = sizes(case)
    b = max(b, 2)
    p["num_classes"], p["lam"] = c, random.uniform(0.1, 0.9)
    if p["smoothing"]:
        p["smoothing"] = jitter(p["smoothing"])
    y = torch.randint(0, c, [b])
    t = mixup_target(y, c, p["lam"], p["smoothing"]).float()
    x = f32([b, c], 2.0)
    case["inputs"] = {"logits": tensor(x), "target": tensor(t), "labels": tensor(y)}
    case["expected"] = {"loss": tensor(SoftTargetCrossEntropy()(x, t))}


# --------------------------------------------------------------------------------- mixing.json
def vary_mixup_target(case):
    from timm.data.mixup import mixup_target

    p = case["params"]
    if p["multi_label"]:
        return False
    b = random.randint(2, 12) | (1 if "odd" in case["name"] else 0)
    c = random.randint(3, 9)
    p["num_classes"] = c
    if p["lam"] != 1.0:
        p["lam"] = random.uniform(0.05, 0.95)
    if p["smoothing"]:
        p["smoothing"] = jitter(p["smoothing"])
    y = torch.randint(0, c, [b])
    case["inputs"] = {"target": tensor(y)}
    case["expected"] = {"target_mixed": tensor(mixup_target(y, c, p["lam"], p["smoothing"]))}
    return True


# ------------------------------------------------------------------------------- sampling.json
def folds_expected(splits, n):
    test_fold = np.zeros(n, dtype=np.int64)
    expected = {}
    for k, (train, test) in enumerate(splits):
        test_fold[test] = k
        expected[f"test_idx_{k}"] = tensor(np.asarray(test, dtype=np.int64))
        expected[f"train_idx_{k}"] = tensor(np.asarray(train, dtype=np.int64))
    return {"test_fold": tensor(test_fold), **expected}


def vary_folds(case):
    import warnings

    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    p = case["params"]
    k = random.randint(2, 7)
    p["n_splits"] = k
    if case["op"] == "kfold":
        n = random.randint(k, 120)
        p["n_samples"] = n
        splits = KFold(k).split(np.zeros(n))
        case["inputs"] = {}
    elif case["op"] == "stratified_kfold":
        n = random.randint(4 * k, 100)
        classes = random.randint(2, 6)
        y = np.random.randint(0, classes, n)
        y[:k] = 0  # the first class always has k members
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            splits = list(StratifiedKFold(k).split(np.zeros(n), y))
        p["warns_least_populated"] = any("least populated" in str(w.message) for w in caught)
        case["inputs"] = {"y": tensor(y)}
    else:
        n = random.randint(3 * k, 90)
        groups = np.random.randint(100, 100 + random.randint(k, 3 * k), n)
        groups[:k] = 100 + np.arange(k)  # at least k distinct groups
        splits = GroupKFold(k).split(np.zeros(n), groups=groups)
        case["inputs"] = {"groups": tensor(groups)}
    case["expected"] = folds_expected(list(splits), n)


# ------------------------------------------------------------------------------------ models/
def vary_model(case, out_dir):
    import hashlib

    p = case["params"]
    nc = random.randint(3, 12)
    shape = [random.randint(1, 3), 3, random.choice([32, 48, 64, 80]), random.choice([32, 64, 72])]
    p["num_classes"], p["input_shape"] = nc, shape
    torch.manual_seed(random.randint(0, 2**31))
    if "pth_file" in p and "resnet18" in p["arch"]:
        import torchvision

        model = torchvision.models.resnet18(num_classes=nc)
    else:
        import timm

        model = timm.create_model("efficientnet_b0", num_classes=nc)
    # BatchNorm affine and running statistics drawn as the reference's `about` says
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.8, 1.2)
                m.bias.copy_(0.1 * torch.randn_like(m.bias))
                m.running_mean.copy_(0.1 * torch.randn_like(m.running_mean))
                m.running_var.uniform_(0.5, 1.5)
    model.eval()
    state = model.state_dict()
    p["num_tensors"] = len(state)
    p["num_elements"] = sum(t.numel() for t in state.values())
    if "pth_file" in p:
        file = out_dir / p["pth_file"]
        torch.save(state, file)
        p["pth_sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
    if "safetensors_file" in p:
        from safetensors.torch import save_file

        file = out_dir / p["safetensors_file"]
        save_file({k: v.contiguous() for k, v in state.items()}, str(file))
        p["safetensors_sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
    x = f32(shape)
    with torch.no_grad():
        features = model.forward_head(model.forward_features(x), pre_logits=True) \
            if hasattr(model, "forward_head") else \
            torch.flatten(model.avgpool(torch.nn.Sequential(*list(model.children())[:-2])(x)), 1)
        logits = model(x)
    case["inputs"] = {"x": tensor(x)}
    case["expected"] = {"logits": tensor(logits), "features": tensor(features)}


VARY = {
    "optim.json": {
        "clip_grad_norm": vary_clip, "clip_grad_value": vary_clip,
        "sgd": vary_optimizer, "adam": vary_optimizer, "adamw": vary_optimizer,
    },
    "losses.json": {
        "cross_entropy": vary_cross_entropy, "bce_with_logits": vary_bce,
        "sigmoid_focal_loss": vary_sigmoid_focal, "soft_target_cross_entropy": vary_soft_target,
    },
    "mixing.json": {"mixup_target": vary_mixup_target},
    "sampling.json": {"kfold": vary_folds, "stratified_kfold": vary_folds, "group_kfold": vary_folds},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=pathlib.Path, default=SRC)
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.copytree(args.src, args.out, copy_function=shutil.copyfile)  # writable copies
    for file in ("models/resnet18_c10.json", "models/efficientnet_b0_c10.json"):
        path = args.out / file
        topic = json.loads(path.read_text())
        for case in topic["cases"]:
            vary_model(case, path.parent)
        topic["generated_with"]["varied_by"] = f"tools/vary_reference.py --seed {args.seed}"
        path.write_text(json.dumps(topic, allow_nan=False))
        print(f"{file}: {len(topic['cases'])} cases regenerated with new weights files")
    for file, ops in VARY.items():
        path = args.out / file
        topic = json.loads(path.read_text())
        changed = 0
        for case in topic["cases"]:
            fn = ops.get(case["op"])
            if fn is not None and fn(case) is not False:
                changed += 1
        topic["generated_with"]["varied_by"] = f"tools/vary_reference.py --seed {args.seed}"
        # the README: every value finite (allow_nan=False refuses NaN and inf)
        path.write_text(json.dumps(topic, allow_nan=False))
        print(f"{file}: {changed} of {len(topic['cases'])} cases regenerated")


if __name__ == "__main__":
    main()
