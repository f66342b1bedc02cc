"""ann2neo.record on plain PyTorch modules (forward hooks), and Keras on the torch backend against TensorFlow."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import ann2neo  # noqa: E402
from ann2neo.io.store import read_store, store_attrs  # noqa: E402
from ann2neo.torch.recording import _device_threshold, _nonfinite_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- models
def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU(), nn.Dropout(0.2), nn.Linear(48, 10),
                         nn.Softmax(dim=-1))


class Block(nn.Module):
    """A residual block whose ReLU is called twice, as in torchvision's BasicBlock."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


def cnn():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), Block(6), Block(6),
                          nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 10))
    for m in model.modules():  # running statistics that differ from the batch's: eval mode must use them
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Linear(5, 16)
        layer = nn.TransformerEncoderLayer(16, nhead=2, dim_feedforward=32, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(dim=1))


def data(shape, n=150, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32))


def hooked(model, x, labels, threshold=0.0, batch_size=40):
    """Reference: plain forward hooks that copy each labelled call's output, thresholded by hand."""
    model.eval()
    modules = dict(model.named_modules())
    outs = {label: [] for label in labels}
    counts = {}

    def hook_for(name):
        def hook(_module, _args, output):
            k = counts.get(name, 0)
            counts[name] = k + 1
            for label in (name, f"{name}#{k}"):
                if label in outs:
                    outs[label].append(output.detach().reshape(output.shape[0], -1).numpy() > threshold)
        return hook

    names = {label.partition("#")[0] for label in labels}
    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                counts.clear()
                model(x[i:i + batch_size])
    finally:
        for h in handles:
            h.remove()
    return {label: np.concatenate(v) for label, v in outs.items()}


def assert_same(result, reference):
    assert list(result) == list(reference)
    for label in reference:
        assert result[label].dtype == bool
        np.testing.assert_array_equal(result[label], reference[label], err_msg=label)


# ---------------------------------------------------- equality with hooks
@pytest.mark.parametrize("pack", [False, True])
def test_mlp_equals_hand_written_hook(pack):
    model, x = mlp(), data((8, 8))
    rec = ann2neo.record(model, x, layers=["1", "2"], batch_size=40, threshold=0.1, pack=pack)
    assert_same(rec, hooked(model, x, ["1", "2"], threshold=0.1))
    assert rec["1"].threshold == 0.1 and rec["1"].layer == "1" and rec["1"].layer_shape == (48,)


def test_mlp_default_is_the_hidden_relu_not_the_readout_or_softmax():
    model, x = mlp(), data((8, 8))
    rec = ann2neo.record(model, x)
    assert list(rec) == ["2"]
    assert_same(rec, hooked(model, x, ["2"]))


def test_cnn_with_batchnorm_and_residual_blocks_all_layers():
    model, x = cnn(), data((1, 10, 10), n=90)
    rec = ann2neo.record(model, x, layers="all", batch_size=32)
    # leaves only (no containers), the ReLU of each block once per call
    assert "3" not in rec and "3.conv1" in rec and "3.relu#0" in rec and "3.relu#1" in rec and "3.relu" not in rec
    assert list(rec)[:3] == ["0", "1", "2"] and list(rec)[-1] == "7"
    assert rec["3.conv1"].layer_shape == (6, 10, 10)
    assert_same(rec, hooked(model, x, list(rec), batch_size=32))
    assert list(ann2neo.record(model, x)) == ["4.relu#1"]  # default: before the pooling and the readout


def test_a_module_called_twice_is_named_per_call():
    model, x = cnn(), data((1, 10, 10), n=40)
    rec = ann2neo.record(model, x, layers=["4.relu#1", "4.relu#0", "3"])
    assert_same(rec, hooked(model, x, ["4.relu#1", "4.relu#0", "3"]))
    assert not np.array_equal(rec["4.relu#0"], rec["4.relu#1"])
    with pytest.raises(ValueError, match=r"shared: it is called 2 times.*'4\.relu#0', '4\.relu#1'"):
        ann2neo.record(model, x, layers="4.relu")
    with pytest.raises(ValueError, match=r"called 2 time\(s\).*4\.relu#0 \.\.\. 4\.relu#1"):
        ann2neo.record(model, x, layers="4.relu#2")


def test_transformer_encoder_all_layers():
    model, x = Transformer(), data((7, 5), n=60)
    rec = ann2neo.record(model, x, layers="all", batch_size=25, threshold=0.05)
    assert "embed" in rec and "head" in rec
    assert any(label.startswith("encoder.layers.1") for label in rec)
    assert rec["embed"].layer_shape == (7, 16)
    assert_same(rec, hooked(model, x, list(rec), threshold=0.05, batch_size=25))
    named = ann2neo.record(model, x, layers=["encoder.layers.0", "encoder"], batch_size=25)
    assert_same(named, hooked(model, x, ["encoder.layers.0", "encoder"], batch_size=25))


# ------------------------------------------------------------- inputs, outputs
def test_out_round_trip_through_read_store(tmp_path):
    model, x = cnn(), data((1, 10, 10), n=70)
    mem = ann2neo.record(model, x, layers=["0", "3.relu#1", "7"], batch_size=16)
    path = ann2neo.record(model, x, layers=["0", "3.relu#1", "7"], batch_size=16, out=tmp_path / "r.zarr",
                          chunk_samples=24)
    back = read_store(path)
    assert_same(back, mem)
    assert back["3.relu#1"].layer_shape == (6, 10, 10)
    attrs = store_attrs(path)
    assert attrs["backend"] == "torch" and attrs["n_samples"] == 70 and attrs["model"] == "Sequential"
    with pytest.raises(FileExistsError):
        ann2neo.record(model, x, out=path)


def test_dataloader_numpy_and_dict_inputs_give_the_same_spikes():
    model, x = mlp(), data((8, 8), n=101)
    ref = ann2neo.record(model, x, layers="2", batch_size=30)["2"]
    y = torch.arange(101) % 10
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=17)
    np.testing.assert_array_equal(ann2neo.record(model, loader, layers="2")["2"], ref)
    plain = torch.utils.data.DataLoader(x, batch_size=50)  # batches of x alone
    np.testing.assert_array_equal(ann2neo.record(model, plain, layers="2")["2"], ref)
    np.testing.assert_array_equal(ann2neo.record(model, x.numpy().astype(np.float64), layers="2")["2"], ref)

    class Keyword(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, pixels, scale):
            return self.inner(pixels * scale)

    wrapped = Keyword(model)
    kw = ann2neo.record(wrapped, {"pixels": x, "scale": torch.ones(101, 1, 1)}, layers="inner.2", batch_size=40)
    np.testing.assert_array_equal(kw["inner.2"], ref)


def test_eval_mode_is_set_and_restored_also_on_error():
    model, x = cnn(), data((1, 10, 10), n=30)
    model.train()
    model[1].eval()  # a submodule the user froze stays frozen
    seen = []
    model[1].register_forward_hook(lambda m, a, o: seen.append(m.training))
    ann2neo.record(model, x, layers="2")
    assert seen and not any(seen)  # BatchNorm ran in eval mode (running statistics)
    assert model.training and model[3].conv1.training and not model[1].training
    x[3] = float("nan")
    with pytest.raises(ValueError, match="sample"):
        ann2neo.record(model, x, layers="2")
    assert model.training and model[3].bn1.training and not model[1].training
    assert all(not m._forward_hooks for m in model.modules() if m is not model[1])  # hooks removed
    assert len(model[1]._forward_hooks) == 1


def test_nan_in_a_recorded_output_names_samples_and_module():
    class Log(nn.Module):
        def forward(self, x):
            return torch.log(x)

    model = nn.Sequential(nn.Flatten(), Log(), nn.Linear(4, 3))
    x = torch.ones(50, 2, 2)
    x[33, 0, 1] = -1.0  # finite input, NaN output at sample 33
    with pytest.raises(ValueError, match=r"sample\(s\) 33 .*first in layer\(s\) \['1', '2'\]"):
        ann2neo.record(model, x, layers=["1", "2"], batch_size=20)
    rec = ann2neo.record(model, x, layers="0", batch_size=20)  # the NaN is after the recorded module
    assert rec["0"].shape == (50, 4)
    x[7, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"x: input 0 holds NaN or Inf at sample\(s\) 7 "):
        ann2neo.record(model, x, layers="0")


def test_bad_layer_names_and_arguments():
    model, x = cnn(), data((1, 10, 10), n=20)
    with pytest.raises(ValueError, match=r"has no module 'conv9'; its modules .*\['0', '1', '2', '3', '3\.conv1'"):
        ann2neo.record(model, x, layers="conv9")
    with pytest.raises(ValueError, match="listed twice"):
        ann2neo.record(model, x, layers=["0", "0"])
    with pytest.raises(ValueError, match="strategy"):
        ann2neo.record(model, x, strategy=object())
    with pytest.raises(ValueError, match="pack=False"):
        ann2neo.record(model, x, out="x.zarr", pack=False)
    with pytest.raises(ValueError, match="no samples"):
        ann2neo.record(model, torch.empty(0, 1, 10, 10))
    with pytest.raises(TypeError, match="numeric"):
        ann2neo.record(model, np.array([["a"]]))
    with pytest.raises(TypeError, match=r"torch\.nn\.Module.*ann2neo\.binarize"):
        ann2neo.record(x.numpy(), x)


def test_module_not_called_and_non_tensor_outputs():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.unused = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x), x.sum(dim=1)

    model, x = Twice(), data((4,), n=10)
    with pytest.raises(ValueError, match="'unused' is not called"):
        ann2neo.record(model, x, layers="unused")
    with pytest.raises(ValueError, match=r"returns a tuple.*ambiguous.*\['a'\]"):
        ann2neo.record(model, x)
    mha = nn.MultiheadAttention(4, 1, batch_first=True)
    with pytest.raises(ValueError, match="no module whose output is one tensor"):
        ann2neo.record(mha, (x[:, None], x[:, None], x[:, None]), layers="all")


def test_per_unit_threshold_vectors_follow_the_scalar_rule():
    import ml_dtypes

    rng = np.random.default_rng(1)
    values = np.r_[rng.normal(size=40), 0.3, -1e-9, 1e-9, 0.0]
    for dtype, np_dtype in ((torch.float16, np.float16), (torch.bfloat16, ml_dtypes.bfloat16),
                            (torch.float32, np.float32), (torch.float64, np.float64)):
        vec = _device_threshold(values, dtype, values.size, torch.device("cpu"))
        scalar = [_device_threshold(v, dtype, 1, torch.device("cpu")) for v in values]
        np.testing.assert_array_equal(vec.float().numpy(), np.array(scalar, dtype=np.float32))
        acts = np.array([-1, 0, 0.3, 1e-9], dtype=np_dtype)
        exact = acts.astype(np.float64)[:, None] > values[None, :]
        got = torch.from_numpy(acts.astype(np.float64)).to(dtype)[:, None] > vec[None, :]
        np.testing.assert_array_equal(got.numpy(), exact, err_msg=str(dtype))


def test_nonfinite_rows_is_exact_when_finite_sums_overflow():
    for dtype, big in ((torch.float16, 6e4), (torch.float32, 3e38), (torch.bfloat16, 3e38)):
        flat = torch.tensor([[big, big, big], [float("nan"), 0, 0], [1, 2, 3], [big, -float("inf"), 0],
                             [-big, -big, 1]], dtype=dtype)
        assert _nonfinite_rows(flat).tolist() == [False, True, False, True, False], dtype
    flat = torch.tensor([[1e308, 1e308], [float("inf"), -float("inf")]], dtype=torch.float64)
    assert _nonfinite_rows(flat).tolist() == [False, True]


def test_recording_a_torch_module_does_not_import_tensorflow():
    code = textwrap.dedent("""
        import sys, torch, ann2neo
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        assert ann2neo.record(net, torch.ones(5, 3))["1"].shape == (5, 4)
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TF imported"
        print("OK")
    """)
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-2000:]


# --------------------------------------------------- Keras on the torch backend
_KERAS_TORCH = textwrap.dedent("""
    import sys
    import numpy as np, keras, ann2neo
    assert keras.backend.backend() == "torch"
    model = keras.models.load_model(sys.argv[1])
    x = np.load(sys.argv[2])
    rec = ann2neo.record(model, x, layers="all", batch_size=32, threshold=0.05)
    np.savez(sys.argv[3], **{k: np.asarray(v) for k, v in rec.items()})
""")


@pytest.mark.slow
def test_keras_model_on_the_torch_backend_records_what_tensorflow_records(tmp_path):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the reference is the TensorFlow backend")
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Flatten(name="flat")(h)
    h = keras.layers.Dense(12, activation="tanh", name="hidden")(h)
    model = keras.Model(inp, keras.layers.Dense(3, name="out")(h))
    x = np.random.default_rng(0).normal(size=(100, 8, 8, 1)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    ref = ann2neo.record(model, x, layers="all", batch_size=32, threshold=0.05)
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", _KERAS_TORCH, str(tmp_path / "m.keras"), str(tmp_path / "x.npy"),
                           str(tmp_path / "r.npz")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = np.load(tmp_path / "r.npz")
    assert sorted(got.files) == sorted(ref)
    for name in ref:
        np.testing.assert_array_equal(got[name], ref[name], err_msg=name)
