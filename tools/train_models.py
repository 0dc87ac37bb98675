"""Retrain the models that ship inside the package and write them to ig2/assets/models/.

    python tools/train_models.py                      # both models -> ig2/assets/models/{mnist_cnn,trec_cnn}.keras
    python tools/train_models.py --only trec          # one of them
    python tools/train_models.py --out /tmp/run1      # elsewhere (e.g. to check that two runs agree)
    python tools/train_models.py --choose-epochs      # validation curves that chose MNIST_EPOCHS and TREC_EPOCHS
    python tools/train_models.py --compare A.keras B.keras   # are two saved models' weights identical?

Training is deterministic (ig2.data.fit_deterministic: fixed seeds, TensorFlow op determinism), so a run on the
same software and CPU family writes the same weights. The validation questions and digits used to choose the
epoch counts are a stratified 10 % of the training splits (never the test sets).
"""
import argparse, hashlib, os, sys, time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np


def weights_digest(model) -> str:
    "SHA-256 over every weight array's bytes, in layer order: equal digests mean identical weights."
    h = hashlib.sha256()
    for w in model.get_weights(): h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()[:16]


def tasks():
    "name -> (train(seed, epochs, validation) -> (model, history), epochs shipped, test split)."
    from ig2 import data, text
    _, mnist_test = data.load_mnist()
    q = text.load_trec()
    return {"mnist_cnn": (data.train_mnist_cnn, data.MNIST_EPOCHS, mnist_test),
            "trec_cnn": (text.train_trec_cnn, text.TREC_EPOCHS, (q.x_test, q.y_test))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["mnist", "trec"], help="train one model")
    ap.add_argument("--out", type=Path, help="folder to write to (default: the package's assets/models)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--choose-epochs", type=int, nargs="?", const=15, metavar="MAX",
                    help="print validation curves over MAX epochs (default 15) instead of training")
    ap.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"), help="compare two saved models' weights")
    args = ap.parse_args(argv)
    import keras
    if args.compare:
        a, b = (keras.models.load_model(p, compile=False) for p in args.compare)
        same = all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
        print(f"{args.compare[0]}: {weights_digest(a)}  {args.compare[1]}: {weights_digest(b)}  identical: {same}")
        return 0 if same else 1
    from ig2.data import asset_path
    out = args.out or asset_path("models")
    out.mkdir(parents=True, exist_ok=True)
    for name, (train, epochs, (x_te, y_te)) in tasks().items():
        if args.only and not name.startswith(args.only): continue
        t0 = time.time()
        if args.choose_epochs:  # 90 % of the training split, validated on the other 10 %
            _, hist = train(args.seed, args.choose_epochs, validation=0.1)
            acc, loss = np.array(hist["val_accuracy"]), np.array(hist["val_loss"])
            print(f"{name}: validation accuracy per epoch {acc.round(4).tolist()}\n  loss {loss.round(3).tolist()}\n  "
                  f"best epoch by accuracy {int(acc.argmax()) + 1} (ties: the earliest), by loss {int(loss.argmin()) + 1} "
                  f"({time.time() - t0:.0f} s)")
            continue
        model, _ = train(args.seed, epochs)
        seconds = time.time() - t0
        acc = (model.predict(x_te, verbose=0).argmax(1) == y_te).mean()
        path = out / f"{name}.keras"
        tmp = path.with_suffix(f".{os.getpid()}.keras")
        model.save(tmp); os.replace(tmp, path)
        print(f"{name}: {epochs} epochs in {seconds:.0f} s, test accuracy {acc:.4f}, "
              f"{path.stat().st_size / 2**20:.2f} MiB -> {path}, weights {weights_digest(model)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
