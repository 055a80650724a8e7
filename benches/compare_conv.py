"""PyTorch's side of benches/conv.rs (not run in CI).

One training step (forward, cross-entropy, backward, SGD with momentum 0.9) of torchvision's
resnet18 and timm's efficientnet_b0 in train mode on a batch of 32 random 3x112x112 images, CPU,
f32 eager, torch's default threads, median of 5 after one warm-up. Prints podium's medians from
criterion's estimates for both of its paths (`burn`: Burn's convolution kernels, `podium`:
`kernel::conv`), so run `cargo bench --bench conv -- train_step` first, and the ratios.

    cargo bench --bench conv -- train_step && python3 benches/compare_conv.py
"""
import json
import pathlib
import time

import timm
import torch
import torchvision

ROOT = pathlib.Path(__file__).resolve().parent.parent
B = 32


def median_time(fn, runs=5):
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


def step_time(model):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(B, 3, 112, 112)
    y = torch.randint(0, 1000, (B,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return median_time(step)


if __name__ == "__main__":
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__}, "
          f"{torch.get_num_threads()} threads")
    for label, model in [("resnet18", torchvision.models.resnet18()),
                         ("efficientnet_b0", timm.create_model("efficientnet_b0"))]:
        theirs = step_time(model)
        line = f"{label} train step 112 b32: torch {theirs * 1e3:.0f} ms ({B / theirs:.1f} img/s)"
        for path in ["burn", "podium"]:
            ours = podium(f"train_step_{label}_112_b32", path)
            if ours:
                line += (f"; podium[{path}] {ours * 1e3:.0f} ms ({B / ours:.1f} img/s, "
                         f"{theirs / ours:.2f}x torch)")
        print(line)
