"""ONNX Runtime beside tract, for `cargo bench -p digits-train --bench inference` (which runs it).

  ort-reference.py time MODEL INPUTS   per-image time of batch 1 and batch 100, 1 thread, on the
                                       images in INPUTS (raw little-endian float32, 28x28 each);
                                       prints one JSON line
  ort-reference.py eval MODEL DATA     what `digits eval` does: the 10,000 MNIST test digits in
                                       DATA (IDX files), every core; prints the accuracy
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def session(model, threads):
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def median_seconds(run, times):
    samples = []
    for _ in range(times):
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return samples[len(samples) // 2]


def time_model(model, inputs):
    x = np.fromfile(inputs, dtype="<f4").reshape(-1, 1, 28, 28)
    s = session(model, 1)
    name = s.get_inputs()[0].name
    ones = [{name: x[i : i + 1]} for i in range(len(x))]
    hundred = {name: x[:100]}
    for feed in ones[:50]:
        s.run(None, feed)
    turn = iter(range(1 << 62))
    batch1 = median_seconds(lambda: s.run(None, ones[next(turn) % len(ones)]), 2000)
    batch100 = median_seconds(lambda: s.run(None, hundred), 60) / 100
    print(json.dumps({"version": ort.__version__, "batch1_s": batch1, "batch100_s": batch100}))


def idx(path, header):
    with open(path, "rb") as f:
        return np.frombuffer(f.read()[header:], dtype=np.uint8)


def eval_model(model, data):
    images = idx(f"{data}/t10k-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    labels = idx(f"{data}/t10k-labels-idx1-ubyte", 8)
    s = session(model, 0)
    name = s.get_inputs()[0].name
    correct = 0
    for i in range(0, len(labels), 100):
        x = images[i : i + 100].astype(np.float32) / 255.0
        p = s.run(None, {name: x})[0]
        correct += int((p.argmax(axis=1) == labels[i : i + 100]).sum())
    print(f"accuracy {100 * correct / len(labels):.2f}% ({correct} of {len(labels)})")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("time", "eval"):
        sys.exit(__doc__)
    (time_model if sys.argv[1] == "time" else eval_model)(sys.argv[2], sys.argv[3])
