"""Side-by-side numbers for benches/augment.rs (not run in CI).

The same standard training pipeline in torchvision v2 and in albumentations: decode the six photos
of ../shared/data/images from in-memory bytes, RandomResizedCrop to 224 (scale 0.08-1, ratio 3/4-4/3,
bilinear with antialias), horizontal flip (p 0.5), ColorJitter(0.4, 0.4, 0.4, 0.1), normalize with
the ImageNet mean/std to a float32 C x H x W array. Images per second with 1 and 2 worker
processes (each single-threaded, as DataLoader workers are), best of several rounds. Prints
podium's numbers from criterion's estimates (run `cargo bench --bench augment` first) and the ratios.

    pip install torch torchvision albumentations opencv-python-headless
    cargo bench --bench augment && python3 benches/compare_augment.py
"""
import io
import json
import multiprocessing as mp
import os
import pathlib
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PHOTOS = sorted((ROOT / ".." / "shared" / "data" / "images").iterdir())
ROUNDS = 8  # images per round = 6 photos x ROUNDS, as in benches/augment.rs
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def torchvision_pipeline():
    """The transforms in torchvision v2, on one thread."""
    import torch
    from torchvision.transforms import v2

    torch.set_num_threads(1)
    return v2.Compose([
        v2.RandomResizedCrop(224, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(0.4, 0.4, 0.4, 0.1),
        v2.PILToTensor(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(MEAN, STD),
    ])


def albumentations_pipeline():
    """The transforms in albumentations, on one thread; returns a float32 C x H x W array."""
    import albumentations as A
    import cv2
    import numpy as np

    cv2.setNumThreads(1)
    t = A.Compose([
        A.RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                            interpolation=cv2.INTER_LINEAR),
        A.HorizontalFlip(p=0.5),
        A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1.0),
        A.Normalize(mean=MEAN, std=STD),
    ])
    return lambda img: np.ascontiguousarray(t(image=img)["image"].transpose(2, 0, 1))


def pil_rgb(blob):
    from PIL import Image

    return Image.open(io.BytesIO(blob)).convert("RGB")


def opencv_rgb(blob):
    import cv2
    import numpy as np

    raw = np.frombuffer(blob, dtype=np.uint8)
    return cv2.cvtColor(cv2.imdecode(raw, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def torchvision_worker(args):
    blobs, n = args
    t = torchvision_pipeline()
    for k in range(n):
        t(pil_rgb(blobs[k % len(blobs)]))
    return n


def albumentations_worker(args):
    blobs, n = args
    t = albumentations_pipeline()
    for k in range(n):
        t(opencv_rgb(blobs[k % len(blobs)]))
    return n


def torchvision_transforms_only(blobs, n):
    t = torchvision_pipeline()
    imgs = [pil_rgb(b) for b in blobs]
    return best_rate(lambda: [t(imgs[k % len(imgs)]) for k in range(n)], n)


def albumentations_transforms_only(blobs, n):
    t = albumentations_pipeline()
    imgs = [opencv_rgb(b) for b in blobs]
    return best_rate(lambda: [t(imgs[k % len(imgs)]) for k in range(n)], n)


def best_rate(fn, n):
    fn()
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        fn()
        best = max(best, n / (time.perf_counter() - t))
    return best


def throughput(worker, procs, blobs):
    n = len(blobs) * ROUNDS
    with mp.get_context("fork").Pool(procs) as pool:
        pool.map(worker, [(blobs, len(blobs))] * procs)  # warm-up: imports, first calls
        best = 0.0
        for _ in range(5):
            t = time.perf_counter()
            done = sum(pool.map(worker, [(blobs, n // procs)] * procs))
            best = max(best, done / (time.perf_counter() - t))
    return best


def median_ns(group, name):
    est = ROOT / "target" / "criterion" / group / name / "new" / "estimates.json"
    if not est.exists():
        return None
    return json.loads(est.read_text())["median"]["point_estimate"]


def podium(threads, group="augment_pipeline_224"):
    ns = median_ns(group, f"threads_{threads}")
    return None if ns is None else len(PHOTOS) * ROUNDS / (ns * 1e-9)


def opencv_decode_ms(blob):
    import cv2

    cv2.setNumThreads(1)
    reps = 50
    return 1e3 / best_rate(lambda: [opencv_rgb(blob) for _ in range(reps)], reps)


if __name__ == "__main__":
    import albumentations
    import torchvision

    blobs = [p.read_bytes() for p in PHOTOS]
    print(f"torchvision {torchvision.__version__}, albumentations {albumentations.__version__}, "
          f"{os.cpu_count()} CPUs")
    for procs in (1, 2):
        tv = throughput(torchvision_worker, procs, blobs)
        al = throughput(albumentations_worker, procs, blobs)
        ours = podium(procs)
        line = f"{procs} thread(s): torchvision {tv:.0f} images/s, albumentations {al:.0f} images/s"
        if ours:
            line += (f", podium {ours:.0f} images/s -> {ours / al:.2f}x albumentations, "
                     f"{ours / tv:.2f}x torchvision")
        print(line)
    jpegs = [b for p, b in zip(PHOTOS, blobs) if p.suffix == ".jpg"]
    tv = throughput(torchvision_worker, 1, jpegs)
    al = throughput(albumentations_worker, 1, jpegs)
    ns = median_ns("augment_pipeline_224_jpeg", "threads_1")
    line = f"JPEG photos only, 1 thread: torchvision {tv:.0f} images/s, albumentations {al:.0f} images/s"
    if ns:
        ours = len(jpegs) * ROUNDS / (ns * 1e-9)
        line += (f", podium {ours:.0f} images/s -> {ours / al:.2f}x albumentations, "
                 f"{ours / tv:.2f}x torchvision")
    print(line)
    n = len(blobs) * ROUNDS
    tv = torchvision_transforms_only(blobs, n)
    al = albumentations_transforms_only(blobs, n)
    ours = podium(1, "augment_transforms_224")
    line = (f"transforms only (decoded photos), 1 thread: torchvision {tv:.0f} images/s, "
            f"albumentations {al:.0f} images/s")
    if ours:
        line += (f", podium {ours:.0f} images/s -> {ours / al:.2f}x albumentations, "
                 f"{ours / tv:.2f}x torchvision")
    print(line)
    print("decoding alone, 1 thread (OpenCV imdecode + BGR2RGB | podium decode_bytes):")
    cv_total, ours_total = 0.0, 0.0
    for path, blob in zip(PHOTOS, blobs):
        cv = opencv_decode_ms(blob)
        ns = median_ns("augment_decode", path.name.replace(".", "_"))
        ours = None if ns is None else ns * 1e-6
        cv_total += cv
        ours_total += ours or 0.0
        print(f"  {path.name}: OpenCV {cv:.2f} ms" + (f", podium {ours:.2f} ms" if ours else ""))
    print(f"  average: OpenCV {cv_total / len(blobs):.2f} ms, podium {ours_total / len(blobs):.2f} ms")
