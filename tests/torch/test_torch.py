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
        # +inf (a rule's unit that never spikes) stays +inf; beyond the dtype's range, its largest value
        never = _device_threshold(np.array([np.inf, 1e6, 0.5]), dtype, 3, torch.device("cpu"))
        assert never[0].item() == np.inf and never[2].item() == 0.5
        big = torch.tensor([np.inf, 1e6, torch.finfo(dtype).max], dtype=dtype)
        np.testing.assert_array_equal((big[:, None] > never[None, :]).numpy(),
                                      big.double().numpy()[:, None] > np.array([np.inf, 1e6, 0.5])[None, :])


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


# ------------------------------------------------------------ per-unit threshold rules and labels
def float_hooked(model, x, labels, batch_size=40):
    """Reference: the float64 outputs of each labelled call, copied by plain forward hooks, batch by batch."""
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
                    outs[label].append(output.detach().reshape(output.shape[0], -1).double().numpy().copy())
        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in {lb.partition("#")[0] for lb in labels}]
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                counts.clear()
                model(x[i:i + batch_size])
    finally:
        for h in handles:
            h.remove()
    return {label: np.concatenate(v) for label, v in outs.items()}


def numpy_rule(acts, rule):
    """The per-unit thresholds of a rule, by numpy, from float64 activations."""
    if rule == "median":
        return np.median(acts, axis=0)
    name, value = rule
    if name == "quantile":
        return np.quantile(acts, value, axis=0)
    top = acts.max(axis=0)
    return np.where(top > 0, value * top, np.inf)


def dead_unit_mlp():
    """Linear -> in-place ReLU -> Linear, hidden unit 0 never active: its fraction_of_max threshold is +inf."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 24), nn.ReLU(inplace=True), nn.Linear(24, 5))
    with torch.no_grad():
        model[1].bias[0] = -100.0
    return model


@pytest.mark.parametrize("rule, probe, n", [(("quantile", 0.9), None, 150), ("median", 100, 100),
                                            (("fraction_of_max", 0.5), 50, 50), (("quantile", 0.0), 7, 7)])
def test_per_unit_threshold_rules_equal_numpy_on_the_probe(rule, probe, n):
    model, x = dead_unit_mlp(), data((8, 8))
    rec = ann2neo.record(model, x, layers=["1", "2"], threshold=rule, threshold_probe=probe, batch_size=40)
    full = float_hooked(model, x, ["1", "2"])
    # the Linear's thresholds come from its own outputs, before the in-place ReLU overwrote them
    np.testing.assert_array_equal(rec["1"].threshold, numpy_rule(full["1"][:n], rule))
    if rule[0] != "fraction_of_max":  # quantiles of the pre-activations: some are negative
        assert (rec["1"].threshold < 0).any()
    for label in ("1", "2"):
        expected = numpy_rule(full[label][:n], rule)
        assert rec[label].threshold.dtype == np.float64 and rec[label].threshold.shape == (24,)
        np.testing.assert_array_equal(rec[label].threshold, expected, err_msg=label)
        np.testing.assert_array_equal(rec[label], ann2neo.binarize(full[label], expected), err_msg=label)
        np.testing.assert_array_equal(rec[label], full[label] > expected, err_msg=label)
        assert rec[label].threshold_rule.endswith(f"per unit on the first {n} samples of x")
    if rule[0] == "fraction_of_max":
        assert rec["2"].threshold[0] == np.inf and not rec["2"][:, 0].any()
        assert 0 < rec["2"][:, 1:].mean() < 1


def test_per_unit_threshold_probe_inputs_dataloader_and_generator():
    model, x = mlp(), data((8, 8))
    probe = data((8, 8), n=30, seed=5)
    rec = ann2neo.record(model, x, threshold="median", threshold_probe=probe, batch_size=40)["2"]
    np.testing.assert_array_equal(rec.threshold, np.median(float_hooked(model, probe, ["2"])["2"], axis=0))
    assert rec.threshold_rule == "quantile 0.5 per unit on threshold_probe (30 samples given)"
    # the same probe as a generator of batches, and x as a generator with the probe given
    gen = ann2neo.record(model, (x[i:i + 40] for i in range(0, 150, 40)), threshold="median",
                         threshold_probe=(probe[i:i + 40] for i in range(0, 30, 40)))["2"]
    np.testing.assert_array_equal(gen, rec)
    np.testing.assert_array_equal(gen.threshold, rec.threshold)
    # an int probe reads a DataLoader twice: the same thresholds and spikes as the tensor
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.zeros(150)), batch_size=40)
    from_tensor = ann2neo.record(model, x, threshold=("quantile", 0.8), threshold_probe=60, batch_size=40)["2"]
    from_loader = ann2neo.record(model, loader, threshold=("quantile", 0.8), threshold_probe=60)["2"]
    np.testing.assert_array_equal(from_loader.threshold, from_tensor.threshold)
    np.testing.assert_array_equal(from_loader, from_tensor)
    assert from_loader.threshold_rule.endswith("on the first 60 samples of x")
    with pytest.raises(ValueError, match=r"generator that cannot be read twice: give threshold_probe=<inputs>"):
        ann2neo.record(model, (x[i:i + 40] for i in range(0, 150, 40)), threshold="median")
    with pytest.raises(ValueError, match="drop threshold_probe"):
        ann2neo.record(model, x, threshold=0.0, threshold_probe=10)
    with pytest.raises(TypeError, match="'median'"):
        ann2neo.record(model, x, threshold="q0.9")
    with pytest.raises(TypeError, match="threshold_probe must be"):
        ann2neo.record(model, x, threshold="median", threshold_probe=0.5)
    with pytest.raises(ValueError, match=">= 1 samples"):
        ann2neo.record(model, x, threshold="median", threshold_probe=0)
    with pytest.raises(ValueError, match=r"probe samples give module outputs \[\('0', \(6, 12, 12\)\)\]"):
        ann2neo.record(cnn(), data((1, 10, 10), n=20), layers="0", threshold="median",
                       threshold_probe=data((1, 12, 12), n=10))


def test_per_unit_thresholds_are_stored_with_the_recording(tmp_path):
    model, x = cnn(), data((1, 10, 10), n=70)
    layers = ["0", "3.relu#1"]
    mem = ann2neo.record(model, x, layers=layers, threshold=("quantile", 0.75), threshold_probe=50, batch_size=16)
    full = float_hooked(model, x, layers, batch_size=16)
    for label in layers:
        np.testing.assert_array_equal(mem[label].threshold, np.quantile(full[label][:50], 0.75, axis=0))
        assert mem[label].threshold.shape == (600,) and mem[label].layer_shape == (6, 10, 10)
    path = ann2neo.record(model, x, layers=layers, threshold=("quantile", 0.75), threshold_probe=50,
                          batch_size=16, out=tmp_path / "q.zarr", chunk_samples=24)
    attrs = store_attrs(path)
    assert attrs["threshold"] == "per-unit"
    assert attrs["threshold_rule"] == "quantile 0.75 per unit on the first 50 samples of x"
    back = read_store(path)
    assert_same(back, mem)
    for label in layers:
        np.testing.assert_array_equal(back[label].threshold, mem[label].threshold)
        assert back[label].threshold_rule == mem[label].threshold_rule


def test_labels_check_the_order_and_the_length():
    import warnings

    model, x = mlp(), data((8, 8), n=200)
    labels = np.repeat(np.arange(10), 20)  # sorted by class
    with pytest.warns(ann2neo.OrderWarning, match="sorted or in runs"):
        ann2neo.record(model, x, labels=labels)
    order = np.random.default_rng(0).permutation(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ann2neo.OrderWarning)
        ann2neo.record(model, x[order], labels=labels[order])
    with pytest.raises(ValueError, match="labels has 10 entries for the 200 samples"):
        ann2neo.record(model, x, labels=labels[order][:10])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=64)
    with pytest.raises(ValueError, match="labels has 150 entries for the 200 samples"):
        ann2neo.record(model, loader, labels=labels[order][:150])


class Rounded(nn.Module):
    def forward(self, x):
        return x.round().to(torch.int32)


def test_per_unit_rules_need_finite_floating_outputs():
    torch.manual_seed(0)
    model, x = nn.Sequential(nn.Linear(4, 3), Rounded(), nn.Flatten()), data((4,), n=20)
    with pytest.raises(ValueError, match=r"module '1' outputs int32: a per-unit threshold rule compares floating"):
        ann2neo.record(model, x, layers="1", threshold="median")
    assert ann2neo.record(model, x, layers="1", threshold=0)["1"].shape == (20, 3)  # a number still works
    x[3, 0] = float("nan")
    with pytest.raises(ValueError, match=r"module '0' outputs NaN or Inf on the first 20 samples of x"):
        ann2neo.record(model, x, layers="0", threshold="median")


def test_progress_bar_and_generator_of_batches_record_the_same_spikes():
    model, x = mlp(), data((8, 8), n=50)
    want = ann2neo.record(model, x, batch_size=16)
    shown = ann2neo.record(model, x, batch_size=16, progress=True)
    fed = ann2neo.record(model, ((x[i:i + 16], None) for i in range(0, 50, 16)))
    assert list(want) == list(shown) == list(fed) and want[next(iter(want))].shape[0] == 50
    for name, spikes in want.items():
        np.testing.assert_array_equal(shown[name], spikes)
        np.testing.assert_array_equal(fed[name], spikes)
