"""Seconds per image of the greedy region selection, batched against a one-candidate-at-a-time loop.

    python benchmarks/bench_regions.py [--regions 40 100] [--images 2] [--no-edl] [--out results] [--update-docs]

Chen et al.'s setting on the offline scenes (64x64x3): the masked-trained scenes CNN, black canvas,
the evidential network for the confidence term. A full greedy sequence over M regions scores
M (M + 1) / 2 candidate sets, each as two images (kept, removed) plus the evidential network on the
kept one. "batched" scores all candidates of a step in one forward pass (`batch_size=None`, the
default); "loop" passes them one at a time (`batch_size=1`), what a per-candidate implementation such
as Chen et al.'s reference loop of model calls costs. The regions are 4x4-pixel grid cells grouped
into M regions by a random ranking (any partition costs the same). Both give the same order (checked).
One warm-up selection per setting compiles the graph outside the timings; the load average is printed
because the machine may be shared.

The table goes to `--out`/regions_speed.md (default results/); with `--update-docs` or IG2_UPDATE_DOCS=1 to
benchmarks/results/regions_speed.md, the tracked copy the README includes (`python tools/readme.py`).
"""
import argparse, os, time
from pathlib import Path
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

DOCS_RESULTS = Path(__file__).resolve().parent / "results"


def time_select(smr, images, targets, masks) -> float:
    "Mean seconds per image of `smr.select` over `images` (after one warm-up call)."
    smr.select(images[0], masks[0], target=int(targets[0]))
    t0 = time.perf_counter()
    orders = [smr.select(x, m, target=int(t)).order for x, t, m in zip(images, targets, masks)]
    return (time.perf_counter() - t0) / len(images), orders


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--regions", type=int, nargs="+", default=[40, 100])
    p.add_argument("--images", type=int, default=2)
    p.add_argument("--no-edl", action="store_true", help="entropy confidence instead of the evidential network")
    p.add_argument("--out", default="results", help="folder for regions_speed.md")
    p.add_argument("--update-docs", action="store_true",
                   help=f"write to {DOCS_RESULTS} (the README's copy) instead of --out; also with IG2_UPDATE_DOCS=1")
    args = p.parse_args(argv)
    for name in ("regions", "images"):
        if min(np.atleast_1d(getattr(args, name))) < 1: p.error(f"--{name}: expected positive integers")
    out = DOCS_RESULTS if args.update_docs or os.environ.get("IG2_UPDATE_DOCS") == "1" else Path(args.out)
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    from ig2.data import load_scenes
    from ig2.evidential import load_scenes_masked_cnn, load_scenes_edl
    from ig2.regions import SubmodularRegions
    from ig2.division import saliency_patch_regions

    _, (x_te, y_te, _) = load_scenes()
    images, targets = x_te[:args.images], y_te[:args.images]
    model, conf = load_scenes_masked_cnn(), ("entropy" if args.no_edl else load_scenes_edl())
    rows = []
    for m in args.regions:
        masks = [saliency_patch_regions(np.random.default_rng(i).random(x.shape[:2]), patch=4, n_regions=m)
                 for i, x in enumerate(images)]
        batched, o1 = time_select(SubmodularRegions(model, confidence=conf, baseline=0.0), images, targets, masks)
        loop, o2 = time_select(SubmodularRegions(model, confidence=conf, baseline=0.0, batch_size=1), images, targets, masks)
        assert all((a == b).all() for a, b in zip(o1, o2)), "batched and looped selections differ"
        rows.append((m, m * (m + 1), batched, loop))
    lines = [f"**Greedy region selection** (`python benchmarks/bench_regions.py`): 64x64x3 scenes CNN, black canvas, "
             f"{'entropy' if args.no_edl else 'evidential'} confidence, seconds per image over {args.images} images "
             f"(same order from both, checked); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU cores.",
             "", "| regions M | classifier images M(M+1) | batched, s/image | loop, s/image | loop / batched |",
             "|--:|--:|--:|--:|--:|"] + [f"| {m} | {n} | {b:.2f} | {l:.2f} | {l / b:.1f}x |" for m, n, b, l in rows]
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "regions_speed.md").write_text(text)
    print(text + f"\nwritten to {out / 'regions_speed.md'}")
    return rows


if __name__ == "__main__":
    main()
