"""Tutorial: record a Keras layer on the digits, analyze it with ann2neo and Elephant, export NWB.

Run: python tutorials/01_record_analyze_export.py  (writes tutorial-output/)
"""
import elephant.statistics as es
import matplotlib

matplotlib.use("Agg")

import ann2neo
from ann2neo.experiments import load_dataset
from ann2neo.experiments.conditions import build_mlp, compile_model, train
from ann2neo.plotting import plot_cumulative_counts

x_train, y_train, x_test, y_test = load_dataset("digits", seed=0)
model = compile_model(build_mlp(x_train.shape[1:], width=64, seed=0))
train(model, x_train, y_train, epochs=30)

spikes = ann2neo.record(model, x_test)["hidden"]           # bool (450, 64), sample k = time k
result = ann2neo.analyze(spikes, window=100, diagnostics=True, seed=0)
print(result.summary)                                        # MFR, CV FR %, MF, CV FF %
print(result.tests)                                          # Fano tests vs Poisson and Bernoulli, Ljung-Box, ADF
print(result.nodes.head())

trains = ann2neo.to_spiketrains(spikes, split="test")       # Elephant works unchanged on these
print("Elephant CV of node 0:", es.cv(es.isi(trains[0])))

block = ann2neo.to_block([ann2neo.to_segment(spikes, name="test")], model="mlp64")
ann2neo.write_nwb("tutorial-output/test.nwb", block, overwrite=True)
plot_cumulative_counts(spikes).figure.savefig("tutorial-output/figure2.png", dpi=100)
