"""The speed ratios of the one path engine (issue 11, item 5), side by side on the digits CNN.

    PYTHONPATH=. python benchmarks/bench_engine.py [--repeats 5] [--steps 200] [--n 16]

Every figure is the median of `--repeats` timed runs after one warm-up run (tracing excluded); runs that
are compared alternate, so that both sides see the same load on a shared machine. Printed:

1. IG (ig2, all explicands batched) vs PAIR saliency 0.2.1's IG fed one batch of all steps per call
   (`batch_size=steps`, one explicand per call, a compiled gradient callback): target ratio >= 1.
2. IG² (ig2) vs the eager reference-code loop of `ig2.speed.naive_ig2` (one explicand, 8 references):
   target >= 20x.
3. IG² vs IG at an equal number of gradient rows (IG with the 8 references as baselines and the same
   steps): target IG² / IG <= 2 (IG² evaluates two gradients per point, score and distance, in one pass).
4. `jit_compile=True` (XLA) for the precomputed kernel and the stepped loop, against the default.
5. Peak resident memory of IG² against steps (fresh processes): flat in steps (no stored path).
"""
import argparse, os, sys, time
from pathlib import Path
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
import tensorflow as tf
import keras


def timed_together(fns, repeats):
    "Median wall time of each function over `repeats` alternating runs, after one warm-up run of each."
    for fn in fns: fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]


def ig_vs_saliency(model, x, t, steps, repeats):
    "Seconds for ig2's IG on the whole batch and for saliency's IG, one explicand and all its steps per call."
    try:
        import saliency.core as saliency
        from bench_pathmethods import saliency_callback
    except ImportError as e:
        return None, f"saliency not installed ({e})"
    from ig2.ig import IntegratedGradients
    ig = IntegratedGradients(model, steps=steps, rule="left")
    call, sal = saliency_callback(model), saliency.IntegratedGradients()
    theirs = lambda: [sal.GetMask(xi, call, {"target": int(ti)}, x_steps=steps, batch_size=steps) for xi, ti in zip(x, t)]
    return timed_together([lambda: ig.explain(x, t), theirs], repeats), None


def ig2_vs_naive_and_ig(model, x_tr, y_tr, x, target, steps, repeats):
    "Seconds for ig2's IG², the eager reference loop, and IG with the same 8 references as baselines."
    from ig2.ig2 import IG2
    from ig2.ig import IntegratedGradients
    from ig2.paths import auto_step_size
    from ig2.speed import naive_ig2
    refs = x_tr[y_tr != target][:8]
    eta = auto_step_size(x[0], refs, steps)
    features = keras.Model(model.inputs[0], model.get_layer("features").output)
    ig2 = IG2(model, steps=steps, step_size=eta, clip=(0, 1))
    ig = IntegratedGradients(model, steps=steps, rule="left")
    fns = [lambda: ig2.explain(x, [target], references=refs),
           lambda: naive_ig2(model, features, x[0], refs, target, steps, eta),
           lambda: ig.explain(x, [target], baseline=refs[None])]
    return timed_together(fns, repeats)


def jit_figures(model, x, t, steps, repeats):
    "The engine's precomputed kernel (IG) and stepped loop (IG²'s GradPath) with and without XLA."
    from ig2.ig import IntegratedGradients, _line_rows
    from ig2.ig2 import IG2
    out = {}
    ig = IntegratedGradients(model, steps=steps, rule="left")
    summed, _ = ig._kernel()
    owner, (base, a), w, _ = _line_rows(len(x), 1, "left", steps)
    args = (tf.constant(x), tf.constant(np.zeros_like(x)), tf.constant(t, tf.int32), tf.constant(owner, tf.int32),
            (tf.constant(base, tf.int32), tf.constant(a)), tf.constant(w, tf.float32), tf.constant(np.zeros(len(owner), np.float32)))
    xla = tf.function(summed.python_function, jit_compile=True)
    try: out["precomputed kernel (IG)"] = timed_together([lambda: summed(*args).numpy(), lambda: xla(*args).numpy()], repeats)
    except Exception as e: out["precomputed kernel (IG)"] = f"XLA failed: {type(e).__name__}"
    ig2 = IG2(model, steps=steps, step_size=0.05, clip=(0, 1))
    loop = ig2.gradpath._loop(0)
    reps = ig2.adapter.scores_and_reps(x[::-1])[1]
    lo, hi = np.zeros(x.shape[1:], np.float32), np.ones(x.shape[1:], np.float32)
    largs = (tf.constant(x), (tf.constant(reps), tf.constant(t, tf.int32), tf.constant(np.full(len(x), 0.05, np.float32))),
             (tf.constant(lo), tf.constant(hi)), tf.constant(steps, tf.int32))
    xla_loop = tf.function(loop.python_function, jit_compile=True)
    try: out["stepped loop (GradPath)"] = timed_together([lambda: loop(*largs)[0].numpy(), lambda: xla_loop(*largs)[0].numpy()], repeats)
    except Exception as e: out["stepped loop (GradPath)"] = f"XLA failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--n", type=int, default=16, help="explicands for IG vs saliency and the XLA timings")
    p.add_argument("--memory-steps", type=int, nargs="*", default=[51, 201, 801])
    a = p.parse_args(argv)
    from ig2.data import load_digits, load_digits_cnn
    from ig2.speed import peak_rss_mb
    (x_tr, y_tr), (x_te, y_te) = load_digits()
    model = load_digits_cnn()
    x = x_te[:a.n]
    t = model.predict(x, verbose=0).argmax(1).astype(np.int32)
    print(f"digits CNN, {a.steps} steps, median of {a.repeats} alternating runs\n")
    print("| comparison | ig2 (s) | other (s) | ratio | target |\n|---|---:|---:|---:|---|")
    sal, why = ig_vs_saliency(model, x, t, a.steps, a.repeats)
    if sal: print(f"| IG, {a.n} digits: ig2 batched vs saliency one batch per call | {sal[0]:.3f} | {sal[1]:.3f} | "
                  f"{sal[1] / sal[0]:.1f}x faster | >= 1x |")
    else: print(f"| IG vs saliency | — | — | — | skipped: {why} |")
    ig2_s, naive_s, ig_s = ig2_vs_naive_and_ig(model, x_tr, y_tr, x_te[:1], int(y_te[0]), a.steps, a.repeats)
    print(f"| IG², 1 digit x 8 references: ig2 vs eager reference loop | {ig2_s:.3f} | {naive_s:.3f} | "
          f"{naive_s / ig2_s:.1f}x faster | >= 20x |")
    print(f"| IG² vs IG, equal gradient rows (8 baselines) | {ig2_s:.3f} | {ig_s:.3f} | IG²/IG = {ig2_s / ig_s:.2f} | <= 2 |")
    for name, fig in jit_figures(model, x, t, a.steps, a.repeats).items():
        if isinstance(fig, str): print(f"| {name}: default vs jit_compile | — | — | — | {fig} |")
        else: print(f"| {name}: default vs jit_compile | {fig[0]:.3f} | {fig[1]:.3f} | XLA/default = {fig[1] / fig[0]:.2f} | — |")
    if a.memory_steps:
        print("\n| IG² steps (keep_path=False) | peak RSS (MB) |\n|---:|---:|")
        for s in a.memory_steps: print(f"| {s} | {peak_rss_mb(s):.0f} |")


if __name__ == "__main__":
    main()
