"""How long one PathExplorer update takes (slider move -> new PNG in the Image widget), and building it.

    python benchmarks/bench_widgets.py [--updates 200] [--steps 201] [--references 8]

A real IG² result on the digits CNN (28x28x1, every step kept); each update moves the slider to a new
step (the observer redraws the moving artists and encodes the PNG, as in a notebook) and is timed with
perf_counter. Prints the median, the 10th and 90th percentiles and the load average, since the
machine may be shared.
"""
import argparse, os, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--updates", type=int, default=200)
    p.add_argument("--steps", type=int, default=201)
    p.add_argument("--references", type=int, default=8)
    args = p.parse_args(argv)
    from ig2 import IG2, OtherClassReferences
    from ig2.data import load_digits, load_digits_cnn
    from ig2.widgets import PathExplorer

    (x_tr, y_tr), (x_te, _) = load_digits()
    explainer = IG2(load_digits_cnn(), clip=(0, 1), steps=args.steps)
    refs = OtherClassReferences(x_tr, y_tr, n=args.references)
    explainer.explain_path(x_te[0], refs, keep_path=True)  # compile the search once, outside the timings
    t0 = time.perf_counter()
    ex = PathExplorer.from_explainer(explainer, x_te[0], refs)
    build = time.perf_counter() - t0

    def timed(fn, n):
        out = []
        for i in range(n):
            t = time.perf_counter(); fn(i); out.append(time.perf_counter() - t)
        return np.array(out) * 1e3

    n_frames = len(ex.frames)
    order = np.random.default_rng(0).permutation(np.arange(args.updates) % n_frames)
    order[order == ex.frame] = (ex.frame + 1) % n_frames  # every update is a real change
    order = np.r_[order[:1], [o if o != q else (o + 1) % n_frames for q, o in zip(order[:-1], order[1:])]]
    steps = timed(lambda i: setattr(ex.slider, "value", int(order[i])), args.updates)
    ex.straight_toggle.value = True
    straight = timed(lambda i: setattr(ex.slider, "value", int(order[-1 - i])), args.updates // 2)
    refs_t = timed(lambda i: setattr(ex.reference_selector, "value", ["mean", 0, 1][i % 3]), 9)
    png_kb = len(bytes(ex.image.value)) / 1024
    jpeg = PathExplorer(ex.result, image_format="jpeg")
    jpeg_t = timed(lambda i: setattr(jpeg.slider, "value", int(order[i])), args.updates)
    print(f"PathExplorer, 28x28x1, {args.steps} steps, {args.references} references, {n_frames} frames, "
          f"PNG {ex.figure.bbox.width:.0f}x{ex.figure.bbox.height:.0f} px ~{png_kb:.0f} KiB")
    print(f"build (explain_path + straight line + first draw): {build:.2f} s")
    for name, t in (("step update", steps), ("step update, straight line on", straight),
                    ("step update, image_format='jpeg'", jpeg_t), ("reference change (static redraw)", refs_t)):
        print(f"{name:32s} median {np.median(t):6.1f} ms  p10 {np.percentile(t, 10):6.1f}  "
              f"p90 {np.percentile(t, 90):6.1f}  (n={len(t)})")
    print("load average (1, 5, 15 min):", " ".join(f"{v:.2f}" for v in os.getloadavg()), f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
