"""The speed ratios of the one path engine (issue 11, item 5), side by side on the digits CNN.

    PYTHONPATH=. python benchmarks/bench_engine.py [--repeats 5] [--steps 200] [--n 16] [--out PATH]

Every figure is the median of `--repeats` timed runs after one warm-up run (tracing excluded); runs that
are compared alternate, so that both sides see the same load on a shared machine. The tables go to stdout
and to `--out` (default benchmarks/results/speed.md, which the README includes; `--out ''` writes nothing):

1. IG (ig2, all explicands batched) vs PAIR saliency 0.2.1's IG fed one batch of all steps per call
   (`batch_size=steps`, one explicand per call, a compiled gradient callback): target ratio >= 1.
2. IG² (ig2) vs the eager reference-code loop of `ig2.speed.naive_ig2` (one explicand, 8 references):
   target >= 20x.
3. IG² vs IG at an equal number of gradient rows (IG with the 8 references as baselines and the same
   steps): target IG² / IG <= 2 (IG² evaluates two gradients per point, score and distance, in one pass).
4. Where the time goes: each ig2 run against the bare compiled model work it cannot avoid (IG: the score
   gradients of the same rows in passes of the same size; IG²: a compiled loop of the same number of
   forward passes with both gradients on the same 8 rows, without the stepping and integration).
5. `jit_compile=True` (XLA) for the precomputed kernel and the stepped loop, against the default.
6. Time per row of a compiled score-and-gradient pass against the rows per pass (digits and scenes CNNs):
   the measurement behind `ig2.core.auto_batch_size` (the rows per pass of `batch_size=None`).
7. Peak resident memory of IG² against steps (fresh processes): flat in steps (no stored path).

`--other-kernels` appends tables 1-6 again from a fresh process with TensorFlow's oneDNN CPU kernels switched the
other way (`TF_ENABLE_ONEDNN_OPTS=0` or `1`; its x86 builds switch them on by default only on CPUs with AVX-512),
since the best rows per pass (`ig2.core.chunk_bytes`) and the ratios depend on them.
"""
import argparse, os, subprocess, sys, tempfile, time
from pathlib import Path
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
import tensorflow as tf
import keras

OUT = Path(__file__).resolve().parent / "results" / "speed.md"


class Secs(float):
    "A median wall time in seconds that also carries the median CPU time of this process (`.cpu`)."
    def __new__(cls, wall, cpu):
        obj = super().__new__(cls, wall); obj.cpu = cpu
        return obj


def timed_together(fns, repeats):
    """Median wall time of each function over `repeats` alternating runs, after one warm-up run of each, with
    the median CPU time of the process (all its threads) attached: the CPU ratio hardly moves with the load
    that other processes put on a shared machine, the wall ratio does."""
    for fn in fns: fn()
    wall, cpu = [[] for _ in fns], [[] for _ in fns]
    for _ in range(repeats):
        for fn, w, c in zip(fns, wall, cpu):
            w0, c0 = time.perf_counter(), time.process_time(); fn()
            w.append(time.perf_counter() - w0); c.append(time.process_time() - c0)
    return [Secs(float(np.median(w)), float(np.median(c))) for w, c in zip(wall, cpu)]


def ratio(num, den) -> str:
    "`num / den` by wall time and, in brackets, by CPU time."
    return f"{num / den:.2f} ({num.cpu / den.cpu:.2f})"


def rel_l2(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


def score_gradient(model):
    "The model's compiled target-score gradient: the bare work of a straight-line method."
    @tf.function(reduce_retracing=True)
    def grad(x, t):
        with tf.GradientTape() as tape:
            tape.watch(x)
            s = tf.gather(model(x, training=False), t, batch_dims=1)
        return tape.gradient(s, x)
    return grad


def ig_vs_saliency(model, x, t, steps, repeats):
    "Seconds for ig2's IG, saliency's IG (one explicand and all its steps per call), and the bare gradients."
    import saliency.core as saliency
    from bench_pathmethods import saliency_callback
    from ig2.ig import IntegratedGradients
    ig = IntegratedGradients(model, steps=steps, rule="left")
    call, sal = saliency_callback(model), saliency.IntegratedGradients()
    theirs = lambda: np.stack([sal.GetMask(xi, call, {"target": int(ti)}, x_steps=steps, batch_size=steps)
                               for xi, ti in zip(x, t)])
    # the floor: the score gradients of the same n x steps rows, in passes of ig2's size, nothing else
    grad, rows = score_gradient(model), len(x) * steps
    pts = tf.constant(np.repeat(x, steps, 0) * np.tile((np.arange(steps, 0, -1) / steps), len(x))[:, None, None, None])
    tt = tf.constant(np.repeat(t, steps).astype(np.int32))
    size = ig.batch_size or rows
    floor = lambda: [grad(pts[i:i + size], tt[i:i + size]).numpy() for i in range(0, rows, size)]
    secs = timed_together([lambda: ig.explain(x, t), theirs, floor], repeats)
    return secs, rel_l2(ig.explain(x, t), theirs()), size


def ig2_figures(model, x_tr, y_tr, x, target, steps, repeats):
    "Seconds for ig2's IG², the eager reference loop, IG with the same 8 references as baselines, and the floor."
    from ig2.ig2 import IG2
    from ig2.ig import IntegratedGradients
    from ig2.paths import auto_step_size
    from ig2.speed import naive_ig2
    refs = x_tr[y_tr != target][:8]
    eta = auto_step_size(x[0], refs, steps)
    features = keras.Model(model.inputs[0], model.get_layer("features").output)
    both = keras.Model(model.inputs[0], [model.get_layer("features").output, model.outputs[0]])
    ig2 = IG2(model, steps=steps, step_size=eta, clip=(0, 1))
    ig = IntegratedGradients(model, steps=steps, rule="left")

    @tf.function
    def floor(g, ref_rep, t):
        "steps + 1 forward passes with the score and distance gradients on the same rows; no step, no sum."
        for _ in tf.range(steps + 1):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(g)
                rep, logits = both(g, training=False)
                s = tf.gather(logits, t, axis=1)
                d2 = tf.reduce_sum(tf.square(rep - ref_rep), axis=1)
            gs, gd = tape.gradient(s, g), tape.gradient(d2, g)
            g = g - 1e-9 * (gs + gd)  # a data dependency, so that no pass can be hoisted out of the loop
        return g
    g0, rep_r = tf.constant(np.repeat(x, len(refs), 0)), features(refs)
    fns = [lambda: ig2.explain(x, [target], references=refs),
           lambda: naive_ig2(model, features, x[0], refs, target, steps, eta).mean(0),
           lambda: ig.explain(x, [target], baseline=refs[None]),
           lambda: floor(g0, rep_r, target).numpy()]
    secs = timed_together(fns, repeats)
    diff = rel_l2(ig2.explain(x, [target], references=refs)[0], naive_ig2(model, features, x[0], refs, target, steps, eta).mean(0))
    return secs, diff


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
    try: out["precomputed kernel (IG), one pass"] = timed_together([lambda: summed(*args).numpy(), lambda: xla(*args).numpy()], repeats)
    except Exception as e: out["precomputed kernel (IG), one pass"] = f"XLA failed: {type(e).__name__}"
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


def rows_per_pass_figures(models, sizes, repeats):
    "Milliseconds per row (wall, and CPU in brackets) of a compiled score-and-gradient pass, per pass size."
    out = {}
    for name, model, rows in models:
        grad = score_gradient(model)
        x = np.random.default_rng(0).uniform(0, 1, (rows, *model.inputs[0].shape[1:])).astype(np.float32)
        t = np.zeros(rows, np.int32)
        run = lambda b: [grad(tf.constant(x[i:i + b]), tf.constant(t[i:i + b])).numpy() for i in range(0, rows, b)]
        fns = [lambda b=b: run(b) for b in sizes if b <= rows]
        for fn in fns: fn()  # a second trace (the last, shorter pass) before timing
        out[name] = dict(zip([b for b in sizes if b <= rows], [f"{1e3 * s / rows:.2f} ({1e3 * s.cpu / rows:.2f})"
                                                               for s in timed_together(fns, repeats)]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--n", type=int, default=16, help="explicands for IG vs saliency and the XLA timings")
    p.add_argument("--memory-steps", type=int, nargs="*", default=[51, 201, 801])
    p.add_argument("--chunks", type=int, nargs="*", default=[8, 16, 32, 64, 128, 256, 512, 3200],
                   help="rows per pass for table 6 (none: skip it)")
    p.add_argument("--out", default=str(OUT), help="markdown file for the tables ('' writes none)")
    p.add_argument("--other-kernels", action="store_true",
                   help="append tables 1-6 measured with TensorFlow's oneDNN kernels switched the other way")
    a = p.parse_args(argv)
    from ig2.data import load_digits, load_digits_cnn, load_scenes_cnn
    from ig2.speed import peak_rss_mb
    from ig2.core import onednn_enabled, auto_batch_size
    (x_tr, y_tr), (x_te, y_te) = load_digits()
    model = load_digits_cnn()
    x = x_te[:a.n]
    t = model.predict(x, verbose=0).argmax(1).astype(np.int32)
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    lines = [f"digits CNN, {a.steps} steps, wall-clock medians of {a.repeats} alternating runs after a warm-up "
             f"(ratios in brackets: from CPU time); {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, "
             f"TF_ENABLE_ONEDNN_OPTS={onednn} (oneDNN kernels {'on' if onednn_enabled() else 'off'}; "
             f"batch_size=None passes {auto_batch_size(model)} rows on the digits CNN)", "",
             "| comparison | ig2 (s) | other (s) | ratio | target | ig2 vs other, rel. L2 |", "|---|---:|---:|---:|---|---:|"]
    out = lambda line="": (print(line, flush=True), lines.append(line))
    for line in lines: print(line, flush=True)
    try:
        (ig_s, sal_s, floor_ig_s), sal_diff, size = ig_vs_saliency(model, x, t, a.steps, a.repeats)
        out(f"| 1. IG, {a.n} digits: ig2 batched vs saliency, one batch of {a.steps} steps per call | {ig_s:.3f} | "
            f"{sal_s:.3f} | other / ig2 = {ratio(sal_s, ig_s)} | >= 1 | {sal_diff:.1e} |")
    except ImportError as e:
        ig_s = None
        out(f"| 1. IG vs saliency | — | — | — | skipped: saliency not installed ({e}) | — |")
    (ig2_s, naive_s, ig_eq_s, floor_ig2_s), naive_diff = ig2_figures(model, x_tr, y_tr, x_te[:1], int(y_te[0]),
                                                                     a.steps, a.repeats)
    out(f"| 2. IG², 1 digit x 8 references: ig2 vs eager reference loop | {ig2_s:.3f} | {naive_s:.3f} | "
        f"other / ig2 = {ratio(naive_s, ig2_s)} | >= 20 | {naive_diff:.1e} |")
    out(f"| 3. IG² vs IG, equal gradient rows (8 baselines) | {ig2_s:.3f} | {ig_eq_s:.3f} | IG² / IG = "
        f"{ratio(ig2_s, ig_eq_s)} | <= 2 | — |")
    out(); out("| 4. where the time goes | ig2 (s) | bare compiled model work (s) | ig2 / bare |"); out("|---|---:|---:|---:|")
    if ig_s is not None:
        out(f"| IG, {a.n} digits: score gradients of the same {a.n * a.steps} rows, passes of {size} | {ig_s:.3f} | "
            f"{floor_ig_s:.3f} | {ratio(ig_s, floor_ig_s)} |")
    out(f"| IG², 1 digit x 8 references: {a.steps + 1} forward passes + both gradients on 8 rows | {ig2_s:.3f} | "
        f"{floor_ig2_s:.3f} | {ratio(ig2_s, floor_ig2_s)} |")
    out(); out("| 5. XLA | default (s) | jit_compile=True (s) | XLA / default |"); out("|---|---:|---:|---:|")
    for name, fig in jit_figures(model, x, t, a.steps, a.repeats).items():
        if isinstance(fig, str): out(f"| {name} | — | — | {fig} |")
        else: out(f"| {name} | {fig[0]:.3f} | {fig[1]:.3f} | {ratio(fig[1], fig[0])} |")
    if a.chunks:
        models = [("digits CNN", model, 3200), ("scenes CNN", load_scenes_cnn(), 512)]
        figs = rows_per_pass_figures(models, sorted(a.chunks), a.repeats)
        out(); out("| 6. ms per row of a score-and-gradient pass (CPU ms), rows per pass: | " + " | ".join(map(str, sorted(a.chunks))) + " |")
        out("|---|" + "---:|" * len(a.chunks))
        for name, m, rows in models:
            out(f"| {name} ({rows} rows) | " + " | ".join(figs[name].get(b, "—")
                                                           for b in sorted(a.chunks)) + " |")
    if a.memory_steps:
        out(); out("| 7. IG² steps (keep_path=False) | peak RSS (MB) |"); out("|---:|---:|")
        for s in a.memory_steps: out(f"| {s} | {peak_rss_mb(s):.0f} |")
    if a.other_kernels:
        other = "0" if onednn_enabled() else "1"
        with tempfile.TemporaryDirectory() as tmp:
            args = ["--repeats", str(a.repeats), "--steps", str(a.steps), "--n", str(a.n), "--memory-steps",
                    "--out", f"{tmp}/other.md", "--chunks", *map(str, a.chunks)]
            subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": other})
            out(); out(f"The same with oneDNN kernels {'on' if other == '1' else 'off'}:"); out()
            for line in Path(f"{tmp}/other.md").read_text().splitlines(): out(line)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text("\n".join(lines) + "\n")
        print(f"\nwritten to {a.out}")


if __name__ == "__main__":
    main()
