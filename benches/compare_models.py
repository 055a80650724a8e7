"""Side-by-side numbers for benches/models.rs (not run in CI).

torchvision resnet18 and timm efficientnet_b0 (random weights, eval mode, no grad) on a batch of
32 random 3x224x224 images, and one resnet18 training step (forward, cross-entropy, backward,
SGD step) in train mode, on the CPU with torch's default threads (the same cores criterion's
run used), median of several runs. Prints podium's medians from criterion's estimates (run
`cargo bench --bench models` first) and the ratios.

    pip install torch torchvision timm
    cargo bench --bench models && python3 benches/compare_models.py
"""
import json
import pathlib
import time

import timm
import torch
import torchvision

ROOT = pathlib.Path(__file__).resolve().parent.parent
B = 32


def median_time(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def podium(group, name):
    est = ROOT / "target" / "criterion" / group / name / "new" / "estimates.json"
    if not est.exists():
        return None
    return json.loads(est.read_text())["median"]["point_estimate"] * 1e-9


def row(label, ours, theirs):
    line = f"{label}: torch {theirs * 1e3:.0f} ms ({B / theirs:.1f} images/s)"
    if ours:
        line += (f", podium {ours * 1e3:.0f} ms ({B / ours:.1f} images/s), "
                 f"podium / torch speed {theirs / ours:.2f}x")
    print(line)


if __name__ == "__main__":
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}, "
          f"{torch.get_num_threads()} threads")
    x = torch.randn(B, 3, 224, 224)
    with torch.no_grad():
        r18 = torchvision.models.resnet18().eval()
        row("resnet18 inference 224 b32", podium("inference_224_b32", "resnet18"),
            median_time(lambda: r18(x), 5))
        eff = timm.create_model("efficientnet_b0").eval()
        row("efficientnet_b0 inference 224 b32", podium("inference_224_b32", "efficientnet_b0"),
            median_time(lambda: eff(x), 5))
    model = torchvision.models.resnet18().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    y = torch.randint(0, 1000, (B,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    row("resnet18 train step 224 b32", podium("train_step_resnet18_224_b32", "sgd_step"),
        median_time(step, 5))
    ema = podium("train_step_resnet18_224_b32", "ema_update_only")
    stp = podium("train_step_resnet18_224_b32", "sgd_step")
    if ema and stp:
        print(f"podium EMA update of ResNet-18: {ema * 1e3:.2f} ms = {100 * ema / stp:.2f}% of a step")
