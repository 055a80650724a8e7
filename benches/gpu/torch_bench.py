"""PyTorch's side of benches/gpu (run by benches/gpu/run.sh; see BENCHMARKS.md "GPU").

Training img/s of torchvision's resnet50 and timm's efficientnet_b0 (torchvision's when timm is
not installed; the label says which) on synthetic images: channels-last, cross-entropy, SGD with
momentum 0.9, `--warmup` untimed steps then `--steps` timed ones, the device synchronized after
every step, as benches/gpu/main.rs does for podium. Precisions: `f32` (TF32 off, as podium's
f32) and `amp` (torch.autocast: float16 + GradScaler on CUDA, bfloat16 on CPU). One JSON line per
model and precision.

    python3 benches/gpu/torch_bench.py --device cuda --size 224 --batch 64
"""
import argparse
import json
import sys
import time

try:
    import torch
    import torchvision
except ImportError as e:  # run.sh checks first; this is for a direct call
    sys.exit(f"torch_bench: PyTorch is not installed ({e}); pip install torch torchvision")


def build(name, classes):
    if name == "resnet50":
        return torchvision.models.resnet50(num_classes=classes), "torchvision"
    if name == "efficientnet_b0":
        try:
            import timm

            return timm.create_model("efficientnet_b0", num_classes=classes), "timm"
        except ImportError:
            return torchvision.models.efficientnet_b0(num_classes=classes), "torchvision"
    sys.exit(f"torch_bench: unknown model {name!r} (resnet50, efficientnet_b0)")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_model(name, precision, args, device):
    torch.manual_seed(0)
    model, source = build(name, args.classes)
    model = model.to(device).to(memory_format=torch.channels_last).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, args.classes, (args.batch,), device=device)
    amp = precision == "amp"
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sync(device)

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    label = "amp-" + str(dtype).removeprefix("torch.") if amp else "f32"
    return {
        "side": "torch",
        "build": f"torch {torch.__version__} ({source}, channels-last)",
        "device": str(device),
        "model": name,
        "precision": label,
        "size": args.size,
        "batch": args.batch,
        "steps": args.steps,
        "step_ms": round(seconds * 1e3, 3),
        "img_per_s": round(args.batch / seconds, 2),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--models", default="resnet50,efficientnet_b0")
    p.add_argument("--precisions", default="f32,amp")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--classes", type=int, default=1000)
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_bench: --device cuda but torch.cuda.is_available() is False "
                 "(a CPU-only torch build, or no NVIDIA driver)")
    # podium's f32 is plain f32: no TF32 matmuls or convolutions
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    for name in filter(None, (m.strip() for m in args.models.split(","))):
        for precision in filter(None, (q.strip() for q in args.precisions.split(","))):
            if precision not in ("f32", "amp"):
                sys.exit(f"torch_bench: unknown precision {precision!r} (f32, amp)")
            print(json.dumps(time_model(name, precision, args, device)), flush=True)


if __name__ == "__main__":
    main()
