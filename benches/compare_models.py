"""Side-by-side numbers for benches/models.rs (not run in CI).

torchvision resnet18 and timm efficientnet_b0 (random weights, eval mode, no grad) on a batch of
32 random 3x224x224 images, and one resnet18 training step (forward, cross-entropy, backward,
SGD step) in train mode, on the CPU with torch's default threads (the same cores criterion's
run used), median of several runs. Prints podium's medians from criterion's estimates (run
`cargo bench --bench models` first) and the ratios.

    pip install torch torchvision timm
    cargo bench --bench models && python3 benches/compare_models.py

`--table [ROUNDS]`: issue 16's table (BENCHMARKS.md "CPU training against PyTorch"): the
ResNet-18 and EfficientNet-B0 training steps (3x112x112, batch 32, SGD momentum), the SimpleCnn
training step (width 32, 1x28x28, batch 128, AdamW) and ResNet-18 inference (3x224x224, batch
32), podium and PyTorch f32 eager in turn, ROUNDS rounds (default 3): each round runs podium's
criterion benchmark of one workload (`cargo bench`, 10 samples), then PyTorch's median of 5
steps, then podium's bf16 autocast step (the training rows of `benches/conv.rs`) and PyTorch's
bf16 autocast + channels-last step, then the next workload. Prints the median over rounds, the
f32 and bf16 ratios per row, and the CPU's model and flags.

    python3 benches/compare_models.py --table 3

`PODIUM_BENCH_FEATURES` (e.g. `wgpu`) is passed to every `cargo bench` as `--features`, so a
target directory built with those features is reused rather than rebuilt; with `wgpu` compiled
in, set `BURN_DEVICE=flex` too (the benchmarks use `Device::default()`).
"""
import json
import os
import pathlib
import statistics
import subprocess
import sys
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


# (label, images per step, cargo bench target, criterion id, criterion id of the bf16 autocast
# step or None)
TABLE = [
    ("ResNet-18 train step, 3x112x112, batch 32, SGD momentum", 32, "conv",
     "train_step_resnet18_112_b32/podium", "train_step_resnet18_112_b32/podium_bf16"),
    ("EfficientNet-B0 train step, 3x112x112, batch 32, SGD momentum", 32, "conv",
     "train_step_efficientnet_b0_112_b32/podium",
     "train_step_efficientnet_b0_112_b32/podium_bf16"),
    ("SimpleCnn (width 32) train step, 1x28x28, batch 128, AdamW", 128, "steps",
     "train_step_simplecnn_28_b128_adamw/podium", None),
    ("ResNet-18 inference, 3x224x224, batch 32", 32, "models", "inference_224_b32/resnet18",
     None),
]


def torch_workload(index, bf16=False):
    """A step function for TABLE[index] in PyTorch (bf16: autocast + channels-last)."""
    fmt = torch.channels_last if bf16 else torch.contiguous_format
    if index == 2:
        sys.path.insert(0, str(ROOT / "benches"))
        from compare_mnist import SimpleCnn
        model, x, y = SimpleCnn(), torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    elif index == 3:
        model = torchvision.models.resnet18().eval().to(memory_format=fmt)
        x = torch.randn(32, 3, 224, 224).to(memory_format=fmt)

        def infer():
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                model(x)
        return infer
    else:
        model = (torchvision.models.resnet18() if index == 0
                 else timm.create_model("efficientnet_b0"))
        x, y = torch.randn(32, 3, 112, 112), torch.randint(0, 1000, (32,))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model = model.train().to(memory_format=fmt)
    x = x.to(memory_format=fmt)

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def cargo_bench(*args):
    """`cargo bench` with `PODIUM_BENCH_FEATURES` as `--features` when set."""
    features = os.environ.get("PODIUM_BENCH_FEATURES")
    return ["cargo", "bench", *(["--features", features] if features else []), *args]


def podium_run(bench, ident):
    subprocess.run(cargo_bench("--quiet", "--bench", bench, "--", f"^{ident}$",
                                "--sample-size", "10", "--warm-up-time", "2",
                                "--measurement-time", "10"),
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    group, name = ident.split("/")
    return podium(group, name)


def cpu_line():
    info = pathlib.Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    fields = {k.strip(): v for k, v in (line.split(":", 1) for line in info.splitlines()
                                         if ":" in line)}
    model = fields.get("model name", "?").strip()
    flags = set(fields.get("flags", "").split())
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
              "amx_tile", "amx_bf16"]
    return f"{model}; flags: {' '.join(f for f in wanted if f in flags)}"


def table(rounds):
    subprocess.run(cargo_bench("--no-run", "--quiet", "--bench", "conv", "--bench", "steps",
                               "--bench", "models"), cwd=ROOT, check=True)
    print(f"{cpu_line()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{rounds} alternating rounds")
    ours = {i: [] for i in range(len(TABLE))}
    theirs = {i: [] for i in range(len(TABLE))}
    ours_bf16 = {i: [] for i in range(len(TABLE))}
    theirs_bf16 = {i: [] for i in range(len(TABLE))}
    for r in range(rounds):
        for i, (label, _, bench, ident, ident_bf16) in enumerate(TABLE):
            ours[i].append(podium_run(bench, ident))
            theirs[i].append(median_time(torch_workload(i), 5))
            print(f"round {r + 1}: {label}: podium {ours[i][-1] * 1e3:.0f} ms, "
                  f"torch {theirs[i][-1] * 1e3:.0f} ms", file=sys.stderr, flush=True)
            if ident_bf16:
                ours_bf16[i].append(podium_run(bench, ident_bf16))
            theirs_bf16[i].append(median_time(torch_workload(i, bf16=True), 5))
            print(f"round {r + 1}: {label}, bf16: podium "
                  f"{(ours_bf16[i] or [float('nan')])[-1] * 1e3:.0f} ms, "
                  f"torch {theirs_bf16[i][-1] * 1e3:.0f} ms", file=sys.stderr, flush=True)
    print("| workload | podium f32 | PyTorch f32 | podium / PyTorch | podium bf16-mixed | "
          "PyTorch bf16 autocast, channels-last | podium bf16 / PyTorch bf16 |")
    print("|---|---|---|---|---|---|---|")
    for i, (label, n, _, _, _) in enumerate(TABLE):
        o, t = statistics.median(ours[i]), statistics.median(theirs[i])
        tb = statistics.median(theirs_bf16[i])
        if ours_bf16[i]:
            ob = statistics.median(ours_bf16[i])
            ours_low, ratio_low = f"{ob * 1e3:,.0f} ms ({n / ob:.1f} img/s)", f"**{tb / ob:.2f}x**"
        else:
            ours_low, ratio_low = "—", "—"
        print(f"| {label} | {o * 1e3:,.0f} ms ({n / o:.1f} img/s) | {t * 1e3:,.0f} ms "
              f"({n / t:.1f} img/s) | **{t / o:.2f}x** | {ours_low} | {tb * 1e3:,.0f} ms "
              f"({n / tb:.1f} img/s) | {ratio_low} |")


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--table":
    table(int(sys.argv[2]) if len(sys.argv) > 2 else 3)
elif __name__ == "__main__":
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
