"""The PyTorch side of examples/mnist.rs (BENCHMARKS.md "MNIST"; not run in CI).

The same recipe as the example: podium's SimpleCnn (width 32: [conv3x3-BN-ReLU] x2 at 32
channels, 2x2 max-pool, [conv3x3-BN-ReLU] x2 at 64, global average pool, dropout 0.2, linear),
55,000 training images (5,000 held out to validate each epoch, as the example does), batch 128,
AdamW (lr 1e-2, weight decay 0.01) under OneCycleLR (pct_start 0.3, cos, div 25, final div 1e4)
stepped per batch, torchvision's RandomAffine(10, translate (0.1, 0.1), scale (0.9, 1.1),
bilinear) on each training image, normalized with the training images' mean and std, and timm's
ModelEmaV3 (decay 0.999, warm-up power 3/4) updated after every step, which validation and the
test use. Prints the seconds of each training epoch (data loading, augmentation and the EMA update
included, as podium's epoch time is), the test accuracy of the last epoch, and the mean seconds
per training epoch.

    pip install torch torchvision timm
    python3 benches/compare_mnist.py [DIR] [EPOCHS] [THREADS]
    cargo run --release --example mnist -- [DIR] [EPOCHS]
"""
import gzip
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.utils import ModelEmaV3
from torchvision.transforms import v2


def idx(path):
    path = pathlib.Path(path)
    gz = path.with_name(path.name + ".gz")
    raw = gzip.open(gz).read() if gz.exists() else path.read_bytes()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class SimpleCnn(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, width=32, drop_rate=0.2):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        w, w2 = width, 2 * width
        self.features = nn.Sequential(block(in_channels, w), block(w, w), nn.MaxPool2d(2, 2),
                                      block(w, w2), block(w2, w2))
        self.dropout = nn.Dropout(drop_rate)
        self.head = nn.Linear(w2, num_classes)

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return self.head(self.dropout(x))


class Train(torch.utils.data.Dataset):
    def __init__(self, images, labels, mean, std):
        self.images, self.labels = images, labels
        self.affine = v2.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1),
                                      interpolation=v2.InterpolationMode.BILINEAR)
        self.mean, self.std = mean, std

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = torch.from_numpy(self.images[i].copy()).unsqueeze(0)
        x = self.affine(x).float() / 255.0
        return (x - self.mean) / self.std, int(self.labels[i])


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/mnist")
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = idx(root / "train-images-idx3-ubyte")
    labels = idx(root / "train-labels-idx1-ubyte")
    test_x = idx(root / "t10k-images-idx3-ubyte")
    test_y = idx(root / "t10k-labels-idx1-ubyte")
    order = rng.permutation(len(labels))
    valid, train = order[:5000], order[5000:]
    mean = float(images[train].mean()) / 255.0
    std = float(images[train].std()) / 255.0
    data = Train(images[train], labels[train], mean, std)
    loader = torch.utils.data.DataLoader(data, batch_size=128, shuffle=True, num_workers=0)

    def evaluate(x, y):
        net = ema.module
        net.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(y), 1000):
                xb = (torch.from_numpy(x[s:s + 1000]).float().unsqueeze(1) / 255.0 - mean) / std
                correct += (net(xb).argmax(1).numpy() == y[s:s + 1000]).sum()
        return 100.0 * correct / len(y)

    model = SimpleCnn()
    ema = ModelEmaV3(model, decay=0.999, use_warmup=True, warmup_power=3 / 4)
    step = 0
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=1e-2, epochs=epochs,
                                                steps_per_epoch=len(loader))
    print(f"torch {torch.__version__}, {threads} threads, {len(train)} train images")
    seconds = []
    for epoch in range(epochs):
        model.train()
        t = time.perf_counter()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            sched.step()
            step += 1
            ema.update(model, step=step)
        seconds.append(time.perf_counter() - t)
        print(f"epoch {epoch + 1}: {seconds[-1]:.1f} s of training, "
              f"valid accuracy {evaluate(images[valid], labels[valid]):.2f}%", flush=True)
    print(f"test accuracy: {evaluate(test_x, test_y):.2f}%")
    print(f"seconds per training epoch: {sum(seconds) / len(seconds):.1f}")


if __name__ == "__main__":
    main()
