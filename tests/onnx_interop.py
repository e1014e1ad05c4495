"""The shipped ONNX models (the page's CNN and the plain network it is compared with) are
standard ONNX: they pass the official checker and ONNX Runtime, a runtime other than tract,
gives the accuracy the trainer's reports state.

Run by scripts/test.sh: python3 tests/onnx_interop.py (needs onnx, onnxruntime, numpy and
data/mnist). With DIGITS_MODEL and DIGITS_REPORT set, checks that model and report instead (the
page's "Train your own" downloads, in tests/e2e/train.test.mjs)."""

import json
import pathlib
import unittest

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "web/assets/model.onnx"
REPORT = ROOT / "web/assets/model.report.json"
DATA = ROOT / "data/mnist"


def read_idx(path, dims):
    raw = path.read_bytes()
    header = 4 + 4 * dims
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw[header:], dtype=np.uint8).reshape(shape)


class ShippedModel(unittest.TestCase):
    MODEL = MODEL
    REPORT = REPORT

    @classmethod
    def setUpClass(cls):
        cls.model = onnx.load(str(cls.MODEL))
        cls.report = json.loads(cls.REPORT.read_text())

    def test_checker_and_shape_inference(self):
        onnx.checker.check_model(self.model, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(self.model, strict_mode=True)
        out = inferred.graph.output[0].type.tensor_type.shape.dim
        self.assertEqual([d.dim_param or d.dim_value for d in out], ["N", 10])

    def test_contract(self):
        g = self.model.graph
        self.assertEqual([i.name for i in g.input], ["image"])
        self.assertEqual([o.name for o in g.output], ["probabilities"])
        dims = [d.dim_param or d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
        self.assertEqual(dims, ["N", 1, 28, 28])
        self.assertGreaterEqual(self.model.opset_import[0].version, 13)
        # Neg, Sigmoid and Mul: the "not one digit" output (README, *The ONNX file*).
        standard = {"Conv", "Relu", "MaxPool", "Gemm", "Flatten", "GlobalAveragePool",
                    "Softmax", "BatchNormalization", "Cast", "Neg", "Sigmoid", "Mul"}
        self.assertTrue({n.op_type for n in g.node} <= standard)
        self.assertTrue(all(n.domain == "" for n in g.node))
        meta = {p.key: p.value for p in self.model.metadata_props}
        for key in ["dataset", "test_accuracy", "parameters", "arch", "command"]:
            self.assertIn(key, meta)
        self.assertEqual(meta["arch"], self.report["arch"])
        self.assertEqual(int(meta["parameters"]), self.report["parameters"])

    def test_onnxruntime_reproduces_the_report(self):
        images = read_idx(DATA / "t10k-images-idx3-ubyte", 3).astype(np.float32) / 255.0
        labels = read_idx(DATA / "t10k-labels-idx1-ubyte", 1)
        session = ort.InferenceSession(str(self.MODEL), providers=["CPUExecutionProvider"])
        probs = session.run(["probabilities"], {"image": images[:, None, :, :]})[0]
        self.assertEqual(probs.shape, (10000, 10))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        predicted = probs.argmax(axis=1)
        confusion = np.zeros((10, 10), dtype=int)
        np.add.at(confusion, (labels, predicted), 1)
        # Two runtimes may round a near-tie differently; they must agree on all but a handful.
        differing = np.abs(confusion - np.array(self.report["confusion"])).sum() // 2
        self.assertLessEqual(differing, 2, confusion)
        self.assertAlmostEqual((predicted == labels).mean(), self.report["accuracy"], delta=2e-4)



class ShippedPlainNetwork(ShippedModel):
    MODEL = ROOT / "web/assets/mlp.onnx"
    REPORT = ROOT / "web/assets/mlp.report.json"


if __name__ == "__main__":
    import os

    if os.environ.get("DIGITS_MODEL"):
        ShippedModel.MODEL = pathlib.Path(os.environ["DIGITS_MODEL"])
        ShippedModel.REPORT = pathlib.Path(os.environ["DIGITS_REPORT"])
        del ShippedPlainNetwork
    unittest.main(verbosity=2)
