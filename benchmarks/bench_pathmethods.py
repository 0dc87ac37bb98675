"""Time per explanation: ig2's path methods vs PAIR saliency 0.2.1 on the digits CNN, side by side.

    python benchmarks/bench_pathmethods.py [--n 16] [--repeats 5] [--batch-size 128]

Both sides explain the same 16 test digits for their predicted classes with the same parameters
(IG: 300 steps, black baseline; Guided IG: 200 steps, fraction 0.25, max_dist 0.02; Blur IG: max_sigma
50, 100 steps, grad_step 0.01). saliency gets a compiled (`tf.function`) gradient callback and runs one
explicand at a time, as its API does; it is timed at its default `batch_size=1` and, for IG and Blur
IG, also with all steps of one explicand in one call (its fastest setting). ig2 explains the whole
batch in compiled calls of `--batch-size` rows. Each figure is the median of `--repeats` timed runs
after one warm-up run (tracing excluded on both sides); the runs of ig2 and saliency alternate so
that both see the same load. The relative L2 difference between the two
results is printed too (Guided IG: ig2 batched and with batch_size=1; see tests/test_pathmethods.py).
"""
import argparse, os, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf
import saliency.core as saliency
from saliency.core import guided_ig as _sal_gig
from ig2.data import load_digits, load_digits_cnn
from ig2 import IntegratedGradients, GuidedIG, BlurIG


class _NumpyShim:
    "numpy, with the `interpolation=` keyword of np.quantile that saliency 0.2.1 passes (NumPy 2 removed it)."
    def __getattr__(self, name): return getattr(np, name)

    @staticmethod
    def quantile(a, q, interpolation=None, **kw):
        if interpolation is not None: kw["method"] = interpolation
        return np.quantile(a, q, **kw)


def saliency_callback(model):
    "A saliency `call_model_function` with a compiled gradient of the target logit."
    @tf.function(reduce_retracing=True)
    def grad(x, c):
        with tf.GradientTape() as tape:
            tape.watch(x)
            s = model(x)[:, c]
        return tape.gradient(s, x)

    def call(x, call_model_args=None, expected_keys=None):
        g = grad(tf.constant(np.asarray(x, np.float32)), tf.constant(call_model_args["target"], tf.int32))
        return {saliency.INPUT_OUTPUT_GRADIENTS: g.numpy()}
    return call


def timed_together(fns, repeats):
    """Results of a warm-up run of each function, and the median wall time of `repeats` further runs;
    the runs alternate between the functions, so that all of them see the same load on a shared machine."""
    outs = [fn() for fn in fns]
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return outs, [float(np.median(ts)) for ts in times]


def rel_l2(a, b): return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args(argv)
    _sal_gig.np = _NumpyShim()
    model = load_digits_cnn()
    _, (x_te, _) = load_digits()
    x = x_te[:args.n]
    t = model.predict(x, verbose=0).argmax(1).astype(np.int32)
    call = saliency_callback(model)

    def run_saliency(method, **kw):
        return lambda: np.stack([method.GetMask(xi, call, {"target": int(ti)}, **kw) for xi, ti in zip(x, t)])

    bs = args.batch_size
    cases = [  # (name, ig2 explainer, saliency method, saliency settings)
        ("IG (300 steps)", IntegratedGradients(model, steps=300, rule="left", batch_size=bs), saliency.IntegratedGradients(),
         [("batch_size=1", dict(x_steps=300)), ("batch_size=300", dict(x_steps=300, batch_size=300))]),
        ("Guided IG (200 steps)", GuidedIG(model, steps=200, batch_size=bs), saliency.GuidedIG(),
         [("", dict(x_steps=200, fraction=0.25, max_dist=0.02))]),
        ("Blur IG (100 steps)", BlurIG(model, max_sigma=50, steps=100, grad_step=0.01, batch_size=bs), saliency.BlurIG(),
         [("batch_size=1", dict(max_sigma=50, steps=100, grad_step=0.01)),
          ("batch_size=100", dict(max_sigma=50, steps=100, grad_step=0.01, batch_size=100))]),
    ]
    print(f"{args.n} digits, ig2 batch_size={bs}, medians of {args.repeats} runs, seconds per explanation "
          f"(= batch time / {args.n})")
    print(f"{'method':24s} {'saliency setting':16s} {'saliency s':>11s} {'ig2 s':>9s} {'speed-up':>9s} {'rel L2':>8s}")
    for name, explainer, method, settings in cases:
        fns = [lambda: explainer.explain(x, t)] + [run_saliency(method, **kw) for _, kw in settings]
        (ours, *theirs), (t_ours, *t_theirs) = timed_together(fns, args.repeats)
        for (label, _), out, t_sal in zip(settings, theirs, t_theirs):
            print(f"{name:24s} {label:16s} {t_sal / args.n:11.4f} {t_ours / args.n:9.4f} "
                  f"{t_sal / t_ours:8.1f}x {rel_l2(ours, out):8.4f}", flush=True)
        if isinstance(explainer, GuidedIG):
            one = GuidedIG(model, steps=200, batch_size=1).explain(x, t)
            print(f"{'':24s} {'(ig2 batch 1)':16s} {'':11s} {'':9s} {'':9s} {rel_l2(one, theirs[0]):8.4f}")


if __name__ == "__main__":
    main()
