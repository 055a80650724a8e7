"""Writes the seed inputs of podium's fuzz targets into fuzz/corpus/<target>/ (python3, no
third-party packages). The committed corpus is these seeds plus what libFuzzer found, merged
with `-merge=1`; rerun this only to start a corpus afresh."""
import gzip, json, os, pickle, shutil, struct, sys, zipfile, zlib, io

HERE = os.path.dirname(os.path.abspath(__file__))
PYTEST = "/root/.pyenv/versions/3.7.16/lib/python3.7/test/imghdrdata"


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(w, h, color, depth=8, interlace=0, palette=None):
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    bpp = samples * depth // 8
    raw = b""
    for y in range(h):
        raw += bytes([y % 5]) + bytes((x * 37 + y * 11) % 256 for x in range(w * bpp))
    if interlace:  # Adam7 passes of a tiny picture: just reuse filter-0 rows per pass
        raw = b""
        for (x0, y0, dx, dy) in [(0,0,8,8),(4,0,8,8),(0,4,4,8),(2,0,4,4),(0,2,2,4),(1,0,2,2),(0,1,1,2)]:
            pw, ph = max(0, (w - x0 + dx - 1) // dx), max(0, (h - y0 + dy - 1) // dy)
            if pw and ph:
                raw += (b"\x00" + bytes(pw * bpp)) * ph
    s = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))
    if palette:
        s += chunk(b"PLTE", palette)
    return s + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def images():
    pngs = {
        "rgb.png": png(7, 5, 2), "gray.png": png(6, 4, 0), "rgba.png": png(5, 3, 6),
        "gray_alpha.png": png(4, 4, 4), "rgb16.png": png(3, 2, 2, 16),
        "palette.png": png(4, 3, 3, palette=bytes(range(12))), "gray1.png": png(9, 2, 0, 1),
        "interlaced.png": png(5, 5, 2, interlace=1),
    }
    others = {n: open(os.path.join(PYTEST, "python." + n.split(".")[1]), "rb").read()
              for n in ["py.jpg", "py.bmp", "py.webp", "py.png", "py.gif"]}
    return {**pngs, **others}


def main():
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    for name, data in images().items():
        for pick in (0, 3, 10, 128, 255):
            for t in ("decode", "decode_top_rows", "apply_encoded"):
                out(t, f"{pick}_{name}", bytes([pick]) + data)
    # IDX: images [N, H, W] and labels [N], plain and gzipped
    imgs = struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 3, 4) + bytes(range(24))
    labels = struct.pack(">BBBBI", 0, 0, 8, 1, 5) + bytes([0, 1, 2, 1, 0])
    for n, d in {"images": imgs, "labels": labels}.items():
        out("idx", n, d)
        out("idx", n + ".gz", gzip.compress(d))
        out("idx_gzip", n, d)
    # CIFAR: class names, then records of 3073 (CIFAR-10) or 3074 (CIFAR-100) bytes
    names10 = "\n".join("abcdefghij").encode()
    out("cifar", "cifar10", bytes([len(names10)]) + names10 + bytes([3]) + bytes(3072) * 1)
    out("cifar", "cifar100", bytes([0]) + (bytes([4, 17]) + bytes(range(256)) * 12) * 2)
    # pipeline and learner JSON
    pipes = [
        {"transforms": [{"name": "random_resized_crop", "size": [8, 8]}, {"name": "horizontal_flip"}]},
        {"transforms": [{"name": "rand_augment", "magnitude": 9, "num_ops": 2}, {"name": "normalize"}]},
        {"transforms": [{"name": "center_crop", "size": [8, 8]}],
         "splits": {"num_splits": 3, "transforms": [{"name": "aug_mix"}]}},
        {"transforms": [{"name": "random_erasing", "p": 0.5}, {"name": "cutout", "size": 4}]},
    ]
    for i, p in enumerate(pipes):
        out("pipeline_json", f"p{i}.json", json.dumps(p).encode())
    out("learner_config", "min.json", b'{"epochs": 3, "batch_size": 8, "lr": 0.001}')
    out("learner_config", "aug.json", json.dumps({"epochs": 2, "augment": pipes[0],
        "loss": {"name": "cross_entropy"}, "optimizer": {"name": "adamw"}}).encode())
    # weights of SimpleCnnConfig::new(2).with_in_channels(1).with_width(1), PyTorch names
    shapes = {}
    for s, (cin, cout) in [("stage1.0", (1, 1)), ("stage1.1", (1, 1)), ("stage2.0", (1, 2)), ("stage2.1", (2, 2))]:
        shapes[s + ".conv.weight"] = [cout, cin, 3, 3]
        for k in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{s}.bn.{k}"] = [cout]
    shapes["head.weight"], shapes["head.bias"] = [2, 2], [2]
    # the `weights` target: the first byte picks the format (even: .pth, odd: .safetensors)
    out("weights", "simple_cnn.pth", b"\x00" + pth(shapes))
    out("weights", "simple_cnn.safetensors", b"\x01" + safetensors(shapes))


def safetensors(shapes):
    header, data = {}, b""
    for k, shape in shapes.items():
        n = 1
        for s in shape:
            n *= s
        header[k] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + 4 * n]}
        data += struct.pack(f"<{n}f", *[0.5] * n)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


class _Rebuild:  # pickled as torch._utils._rebuild_tensor_v2
    __module__, __qualname__ = "torch._utils", "_rebuild_tensor_v2"


class _FloatStorage:
    __module__, __qualname__ = "torch", "FloatStorage"


class _Storage:
    def __init__(self, key, n):
        self.key, self.n = key, n


class _Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride, acc = [], 1
        for s in reversed(self.shape):
            stride.insert(0, acc)
            acc *= s
        from collections import OrderedDict
        return (_Rebuild, (self.storage, 0, tuple(self.shape), tuple(stride), False, OrderedDict()))


def pth(shapes):
    """A `torch.save` zip: archive/data.pkl (protocol 2, persistent storages) + archive/data/<k>."""
    from collections import OrderedDict
    sys.modules.setdefault("torch", type(sys)("torch")).FloatStorage = _FloatStorage
    sys.modules.setdefault("torch._utils", type(sys)("torch._utils"))._rebuild_tensor_v2 = _Rebuild
    state, blobs = OrderedDict(), {}
    for i, (k, shape) in enumerate(shapes.items()):
        n = 1
        for s in shape:
            n *= s
        state[k] = _Tensor(_Storage(str(i), n), shape)
        blobs[str(i)] = struct.pack(f"<{n}f", *[0.5] * n)

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", _FloatStorage, obj.key, "cpu", obj.n)
            return None

    buf = io.BytesIO()
    P(buf, protocol=2).dump(state)
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as f:
        f.writestr("archive/data.pkl", buf.getvalue())
        f.writestr("archive/byteorder", "little")
        f.writestr("archive/version", "3\n")
        for k, b in blobs.items():
            f.writestr(f"archive/data/{k}", b)
    return z.getvalue()


if __name__ == "__main__":
    main()
