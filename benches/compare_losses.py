"""PyTorch side of benches/losses.rs (not run in CI).

Times forward + backward of the same losses on the same [256, 1000] batch with torch on CPU (as
many threads as the machine has, like burn's flex), then prints a table beside podium's criterion
medians (read from target/criterion), with the ratio torch / podium (> 1: podium is faster).

    cargo bench --bench losses && python3 benches/compare_losses.py
"""
import json
import math
import pathlib
import time

import torch
import torch.nn.functional as F

B, C = 256, 1000
torch.manual_seed(0)
logits = torch.randn(B, C) * 3
y = torch.randint(0, C, (B,))
t = (torch.rand(B, C) < 0.01).float()
soft = torch.softmax(logits * 0.5, 1)
teacher = logits.flip(0)
counts = torch.tensor([1 + int(1000 * 0.99 ** i) for i in range(C)], dtype=torch.float64)


def sigmoid_focal(x, t, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    return (alpha * t + (1 - alpha) * (1 - t)) * loss


def cb_weights(beta=0.9999):
    w = (1 - beta) / (1 - beta ** counts)
    return (w / w.sum() * C).float()


CBW = cb_weights()


def class_balanced_focal(x, y):
    onehot = F.one_hot(y, C).float()
    s = CBW[y].unsqueeze(1)
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, onehot, reduction="none")
    p_t = p * onehot + (1 - p) * (1 - onehot)
    return (s * ce * (1 - p_t) ** 2).sum() / onehot.sum()


def softmax_focal(x, y, gamma=2.0):
    logp = F.log_softmax(x, 1).gather(1, y[:, None])[:, 0]
    return (-(1 - logp.exp()) ** gamma * logp).mean()


def poly1(x, y, eps=1.0):
    logp = F.log_softmax(x, 1)
    onehot = F.one_hot(y, C).float()
    return (-(onehot * logp).sum(1) + eps * (1 - (onehot * logp.exp()).sum(1))).mean()


def asl_multi(x, t, gn=4.0, gp=1.0, clip=0.05, eps=1e-8):
    p = torch.sigmoid(x)
    pn = (1 - p + clip).clamp(max=1)
    loss = t * torch.log(p.clamp(min=eps)) + (1 - t) * torch.log(pn.clamp(min=eps))
    pt = p * t + pn * (1 - t)
    loss = loss * torch.pow(1 - pt, gp * t + gn * (1 - t))
    return -loss.sum() / x.shape[0]


def asl_single(x, y, gp=1.0, gn=4.0, eps=0.1):
    logp = F.log_softmax(x, -1)
    tc = torch.zeros_like(x).scatter_(1, y[:, None], 1)
    anti = 1 - tc
    xp = torch.exp(logp) * tc
    xn = (1 - torch.exp(logp)) * anti
    w = torch.pow(1 - xp - xn, gp * tc + gn * anti)
    tc = tc * (1 - eps) + eps / C
    return (-(tc * logp * w).sum(-1)).mean()


def jsd(x, y, splits=3, alpha=12.0, smoothing=0.1):
    b = y.shape[0]
    xs = torch.split(x, b)
    loss = F.cross_entropy(xs[0], y, label_smoothing=smoothing)
    probs = [F.softmax(l, 1) for l in xs]
    logm = torch.clamp(torch.stack(probs).mean(0), 1e-7, 1).log()
    return loss + alpha * sum(F.kl_div(logm, p, reduction="batchmean") for p in probs) / len(probs)


def kd(x, y, T=4.0, a=0.5):
    kl = F.kl_div(F.log_softmax(x / T, 1), F.softmax(teacher / T, 1), reduction="batchmean")
    return a * T * T * kl + (1 - a) * F.cross_entropy(x, y)


def soft_f1(x, t, beta=1.0, eps=1e-7):
    p = torch.sigmoid(x)
    tp, fp, fn = (p * t).sum(0), (p * (1 - t)).sum(0), ((1 - p) * t).sum(0)
    b2 = beta * beta
    return 1 - ((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp + eps)).mean()


embed = torch.randn(B, 512)
# The class weights are a trained layer, as podium's `MarginHead` weight (a `Param`) is: its
# gradient is part of every step (timm / insightface heads are `nn.Parameter`s).
W = torch.nn.Parameter(torch.nn.init.xavier_uniform_(torch.empty(C, 512)))


def arcface(x, y, s=64.0, m=0.5):
    cos = F.normalize(x) @ F.normalize(W).t()
    sine = torch.sqrt((1 - cos * cos).clamp(0, 1))
    phi = cos * math.cos(m) - sine * math.sin(m)
    phi = torch.where(cos > math.cos(math.pi - m), phi, cos - math.sin(math.pi - m) * m)
    onehot = F.one_hot(y, C).float()
    return F.cross_entropy(s * (onehot * phi + (1 - onehot) * cos), y)


def cosface(x, y, s=64.0, m=0.35):
    cos = F.normalize(x) @ F.normalize(W).t()
    onehot = F.one_hot(y, C).float()
    return F.cross_entropy(s * (onehot * (cos - m) + (1 - onehot) * cos), y)


MASKS = (torch.rand(B, C) < 0.3).float().reshape(16, 100, 160)


def lovasz_grad(gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_hinge(x):
    losses = []
    for logit, label in zip(x.reshape(16, 100, 160), MASKS):
        logit, label = logit.reshape(-1), label.reshape(-1)
        errors = 1.0 - logit * (2.0 * label - 1.0)
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(F.relu(errors_sorted), lovasz_grad(label[perm])))
    return torch.stack(losses).mean()


CASES = {
    "cross_entropy": (logits, lambda x: F.cross_entropy(x, y)),
    "cross_entropy_smoothing": (logits, lambda x: F.cross_entropy(x, y, label_smoothing=0.1)),
    "soft_target_cross_entropy": (logits, lambda x: (-soft * F.log_softmax(x, -1)).sum(-1).mean()),
    "bce_with_logits": (logits, lambda x: F.binary_cross_entropy_with_logits(x, t)),
    "sigmoid_focal": (logits, lambda x: sigmoid_focal(x, t).mean()),
    "softmax_focal": (logits, lambda x: softmax_focal(x, y)),
    "class_balanced_focal": (logits, lambda x: class_balanced_focal(x, y)),
    "topk": (logits, lambda x: F.cross_entropy(x, y, reduction="none").topk(B // 2)[0].mean()),
    "poly1_cross_entropy": (logits, lambda x: poly1(x, y)),
    "asymmetric_multilabel": (logits, lambda x: asl_multi(x, t)),
    "asymmetric_single_label": (logits, lambda x: asl_single(x, y)),
    "jsd_cross_entropy": (logits[: 3 * (B // 3)], lambda x: jsd(x, y[: B // 3])),
    "knowledge_distillation": (logits, lambda x: kd(x, y)),
    "soft_f1": (logits, lambda x: soft_f1(x, t)),
    "arcface_512d": (embed, lambda x: arcface(x, y)),
    "cosface_512d": (embed, lambda x: cosface(x, y)),
    "lovasz_hinge_per_image": (logits, lovasz_hinge),
}


def median_time(x0, fn, reps=200):
    def once():
        x = x0.detach().clone().requires_grad_(True)
        fn(x).backward()
        W.grad = None  # as `optimizer.zero_grad()` leaves it for the next step
        return x.grad

    for _ in range(20):
        once()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch [{B}, {C}]")
print("| loss (forward + backward) | podium | PyTorch | PyTorch / podium |")
print("|---|---|---|---|")
for name, (x0, fn) in CASES.items():
    est = root / f"loss_fwd_bwd_{name}" / "new" / "estimates.json"
    ours = json.loads(est.read_text())["median"]["point_estimate"] / 1e6 if est.exists() else float("nan")
    theirs = median_time(x0, fn) * 1e3
    print(f"| {name} | {ours:.2f} ms | {theirs:.2f} ms | {theirs / ours:.2f}x |")
