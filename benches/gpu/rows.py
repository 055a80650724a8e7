"""BENCHMARKS.md "GPU" rows from the JSON lines of benches/gpu/main.rs and torch_bench.py.

    python3 benches/gpu/rows.py results.jsonl [--gpu "NVIDIA H100 80GB"] [--models resnet50,efficientnet_b0]

One row per model and podium precision: podium's img/s on each build (wgpu = CubeCL's WGSL
compiler, vulkan = its SPIR-V compiler; `failed` when that run did not finish), PyTorch's f32 and
AMP img/s, and podium's best build over each PyTorch column.
"""
import argparse
import json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--gpu", default="?")
    p.add_argument("--models", default="", help="comma-separated; a row each even if all failed")
    args = p.parse_args()
    rows = [json.loads(line) for line in open(args.results) if line.strip().startswith("{")]
    podium = [r for r in rows if r["side"] == "podium"]
    failed = [r for r in rows if r["side"] == "failed"]
    torch = [r for r in rows if r["side"] == "torch"]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    models = list(dict.fromkeys(models + [r["model"] for r in rows if "model" in r]))
    builds = ["wgpu", "vulkan"]
    print("| model | GPU | size, batch | podium precision | podium wgpu img/s | podium vulkan img/s "
          "| PyTorch f32 img/s | PyTorch AMP img/s | podium / PyTorch f32 | podium / PyTorch AMP |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for model in models:
        t32 = next((r for r in torch if r["model"] == model and r["precision"] == "f32"), None)
        tamp = next((r for r in torch if r["model"] == model and r["precision"].startswith("amp")),
                    None)
        precisions = list(dict.fromkeys(r["precision"] for r in podium if r["model"] == model))
        for precision in precisions or ["f32"]:
            cells, best = [], None
            shape = None
            for build in builds:
                r = next((r for r in podium if r["model"] == model and r["build"] == build
                          and r["precision"] == precision), None)
                if r is not None:
                    cells.append(f"{r['img_per_s']:.1f}")
                    best = max(best or 0.0, r["img_per_s"])
                    shape = f"{r['size']}, {r['batch']}"
                elif any(f["build"] == build and f.get("model") in (model, None) for f in failed):
                    cells.append("failed")
                else:
                    cells.append("-")
            shape = shape or (f"{t32['size']}, {t32['batch']}" if t32 else "?")

            def img(r):
                return f"{r['img_per_s']:.1f}" if r else "-"

            def ratio(r):
                return f"{best / r['img_per_s']:.2f}x" if (r and best) else "-"

            print(f"| {model} | {args.gpu} | {shape} | {precision} | {cells[0]} | {cells[1]} "
                  f"| {img(t32)} | {img(tamp)} | {ratio(t32)} | {ratio(tamp)} |")
    for r in torch[:1]:
        print(f"\nPyTorch: {r['build']}, device {r['device']}.")
    for f in failed:
        print(f"podium `{f['build']}` build on `{f['device']}`: {f['reason']}")


if __name__ == "__main__":
    main()
