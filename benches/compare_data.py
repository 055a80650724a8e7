"""Side-by-side numbers for benches/data.rs (not run in CI).

Times what torchvision's ImageFolder pipeline does per photo before any transform tensor work:
PIL open, convert("RGB"), resize to 224x224 bilinear (antialiased), on the six photos in
../shared/data/images, single thread, best of several rounds, like criterion's estimate.

    pip install pillow
    python3 benches/compare_data.py
"""
import pathlib
import time

from PIL import Image

root = pathlib.Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "images"
files = sorted(root.iterdir())


def once():
    for f in files:
        with Image.open(f) as im:
            im.convert("RGB").resize((224, 224), Image.BILINEAR).tobytes()


for _ in range(20):
    once()
times = []
for _ in range(30):
    t = time.perf_counter()
    for _ in range(5):
        once()
    times.append((time.perf_counter() - t) / 5)
times.sort()
median = times[len(times) // 2]
print(f"PIL decode+resize 224, six photos: median {median * 1e3:.2f} ms "
      f"({len(files) / median:.1f} images/s), Pillow {Image.__version__}")
