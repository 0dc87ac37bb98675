"""Seconds per explicand on InceptionV3 (random weights) at 299x299 in [0, 255]: ig2's IG² and IG next to the
authors' approach (one eager gradient call per step, the whole path stored), with peak memory.

    python benchmarks/bench_imagenet.py --steps 4 --refs 8     # each method in its own process

The authors' settings are 201 steps and 8 references; on a 2-core CPU one IG² step over 8 references at
299x299 takes seconds, so the default measures a few steps and reports seconds per step and the 201-step
extrapolation (time is linear in steps after the first compiled call); the ratio is measured at equal steps.
"""
import argparse, json, os, resource, subprocess, sys, time, tracemalloc
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rss_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(refs):
    import numpy as np, tensorflow as tf, keras
    from ig2.scale import sample_images
    keras.utils.set_random_seed(0)
    model = keras.applications.InceptionV3(weights=None)
    photos = sample_images(299)
    return model, keras.applications.inception_v3.preprocess_input, photos[0], photos[1:refs + 1]


def authors(model, pre, x, refs, steps, step_size=384.0):
    "The reference code's shape: an eager gradient call per path step, the path kept, then one per segment."
    import numpy as np, tensorflow as tf
    from ig2 import ModelAdapter
    ad = ModelAdapter(model)
    fwd = lambda g: ad.forward(pre(g))
    _, ref_rep = fwd(tf.constant(refs))
    g = np.repeat(x[None], len(refs), 0)
    path = [g]
    for _ in range(steps):
        t = tf.constant(path[-1])
        with tf.GradientTape() as tape:
            tape.watch(t)
            d2 = tf.reduce_sum(tf.square(fwd(t)[1] - ref_rep), axis=1)
        d = tape.gradient(d2, t).numpy()
        norm = np.sqrt((d ** 2).reshape(len(d), -1).sum(1)).reshape(-1, 1, 1, 1)
        path.append(np.clip(path[-1] - step_size * d / np.maximum(norm, 1e-12), 0, 255).astype(np.float32))
    target = int(np.argmax(fwd(tf.constant(x[None]))[0][0]))
    attr = np.zeros_like(g)
    for j in range(steps):
        t = tf.constant(path[j])
        with tf.GradientTape() as tape:
            tape.watch(t)
            s = fwd(t)[0][:, target]
        attr += (path[j] - path[j + 1]) * tape.gradient(s, t).numpy()
    return attr.mean(0)


def run_one(method, steps, refs):
    import numpy as np
    model, pre, x, r = setup(refs)
    base_rss = rss_mb()
    if method == "ig2":
        from ig2 import IG2
        ex = IG2(model, steps=steps, step_size=384.0, clip=(0, 255), preprocess=pre)
        call = lambda: ex.explain(x[None], references=r)
    elif method == "ig":
        from ig2.ig import IntegratedGradients
        ex = IntegratedGradients(model, baseline="black", steps=steps, preprocess=pre)
        call = lambda: ex.explain(x[None])
    else:
        call = lambda: authors(model, pre, x, r, steps)
    t = time.perf_counter(); call(); first = time.perf_counter() - t  # includes tracing for ig2's methods
    tracemalloc.start()
    t = time.perf_counter(); call(); warm = time.perf_counter() - t
    py_peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return dict(method=method, steps=steps, refs=refs, first_s=first, warm_s=warm, per_step_s=warm / steps,
                python_peak_mb=py_peak, rss_peak_mb=rss_mb(), rss_over_model_mb=rss_mb() - base_rss)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--refs", type=int, default=8)
    p.add_argument("--one", choices=["ig2", "ig", "authors"])
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(run_one(a.one, a.steps, a.refs))); return
    rows = []
    for m in ("ig2", "authors", "ig"):
        out = subprocess.run([sys.executable, __file__, "--one", m, "--steps", str(a.steps), "--refs", str(a.refs)],
                             capture_output=True, text=True)
        if out.returncode: sys.exit(out.stderr[-3000:])
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    by = {r["method"]: r for r in rows}
    print(f"\nInceptionV3 (weights=None) 299x299, {a.steps} steps, {a.refs} references, 1 explicand, this CPU")
    print("| method | s/explicand (warm) | s/step | 201-step estimate (s) | first call (s) | peak RSS (MB) | Python peak (MB) |")
    print("|---|---|---|---|---|---|---|")
    names = {"ig2": "ig2 IG² (compiled loop)", "authors": "authors' approach (eager, path stored)", "ig": "ig2 IG (black baseline)"}
    for m in ("ig2", "authors", "ig"):
        r = by[m]
        print(f"| {names[m]} | {r['warm_s']:.1f} | {r['per_step_s']:.2f} | {201 * r['per_step_s']:.0f} | {r['first_s']:.1f} "
              f"| {r['rss_peak_mb']:.0f} | {r['python_peak_mb']:.0f} |")
    print(f"\nauthors / ig2 IG² time ratio at equal steps: {by['authors']['warm_s'] / by['ig2']['warm_s']:.2f}")
    path_gb = 202 * a.refs * 299 * 299 * 3 * 4 / 2 ** 30
    print(f"the authors' stored path at 201 steps and {a.refs} references: {path_gb:.2f} GiB (ig2 keeps none)")


if __name__ == "__main__":
    main()
