"""L2-regularised logistic regression by Newton's method on data split into shards, with the
gradient and the Hessian in closed form from ricci's PyTorch export (logistic_loss.py, written by
`ricci code ... --lang torch`; see README.md):

    f(w)   = sum(softplus(-y.*(X*w))) + lambda/2 * w'*w
    grad f = -X'*(y.*sigmoid(-y.*(X*w))) + lambda*w
    hess f = X'*diag(y.*y.*(1 - sigmoid(-y.*(X*w))).*sigmoid(-y.*(X*w)))*X + lambda*I

The data term is a sum over samples, so each shard's value, gradient and Hessian are computed
where its rows live and then summed: the all_reduce pattern of torch.distributed, here over
shards in one process (README.md shows the multi-GPU, multi-machine version). The summed Hessian
is features x features, however many samples there are.

Checks, each an exit code 1 when it fails: Newton reaches |grad f| < tol within the iteration
budget; the sum over shards equals one call on all the data; the closed forms equal
torch.autograd's gradient and Hessian of the same loss written directly in torch.

    python3 newton.py --module logistic_loss.py [--samples 4000] [--features 40] [--shards 4]
"""
import argparse
import importlib.util
import sys
import time

import torch


def load(path):
    spec = importlib.util.spec_from_file_location("logistic_loss", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def all_reduce_sum(parts):
    """The sum of the shards' tensors: what torch.distributed.all_reduce(t, op=ReduceOp.SUM)
    leaves in every process when each process holds one shard."""
    total = parts[0].clone()
    for p in parts[1:]:
        total += p
    return total


def synthetic(samples, features, seed, dtype, device):
    """Features with scales from 1 down to 0.01 (ill-conditioned, as real features often are),
    labels +-1 from a noisy linear rule."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(samples, features, generator=g, dtype=torch.float64)
    X *= 10.0 ** (-2.0 * torch.arange(features, dtype=torch.float64) / max(1, features - 1))
    w_true = torch.randn(features, generator=g, dtype=torch.float64)
    noise = 0.5 * torch.randn(samples, generator=g, dtype=torch.float64)
    y = torch.where(X @ w_true + noise >= 0, 1.0, -1.0).to(torch.float64)
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def loss_and_derivatives(loss, shards, w, lam):
    """f, grad f, hess f: each shard's part from the export, summed, plus the regulariser."""
    parts = [loss.evaluate({"X": Xs, "y": ys, "w": w}) for Xs, ys in shards]
    f = all_reduce_sum([p["value"] for p in parts]) + 0.5 * lam * (w @ w)
    g = all_reduce_sum([p["gradient"] for p in parts]) + lam * w
    H = all_reduce_sum([p["hessian"] for p in parts]) + lam * torch.eye(w.shape[0], dtype=w.dtype, device=w.device)
    return f, g, H


def relative(a, b):
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", required=True, help="the generated torch module (logistic_loss.py)")
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--features", type=int, default=40)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--lam", type=float, default=1e-2, help="the L2 weight lambda")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--budget", type=int, default=25, help="Newton iterations at most")
    ap.add_argument("--tol", type=float, default=None, help="stop at |grad f| < tol (default 1e-8, float32 1e-3)")
    args = ap.parse_args(argv)
    tol = args.tol if args.tol is not None else (1e-8 if args.dtype == "float64" else 1e-3)
    loss = load(args.module)
    dtype = getattr(torch, args.dtype)

    X, y = synthetic(args.samples, args.features, args.seed, dtype, args.device)
    # Each shard would live on its own GPU or machine; here they are slices of one tensor.
    shards = list(zip(X.chunk(args.shards), y.chunk(args.shards)))
    print("logistic regression: %d samples, %d features, %d shards of up to %d rows, %s on %s, budget %d Newton steps"
          % (args.samples, args.features, len(shards), shards[0][0].shape[0], args.dtype, args.device, args.budget))

    w = torch.zeros(args.features, dtype=dtype, device=args.device)
    start = time.perf_counter()
    converged = False
    for it in range(args.budget + 1):
        f, g, H = loss_and_derivatives(loss, shards, w, args.lam)
        gnorm = float(torch.linalg.norm(g))
        print("newton %2d  f = %.12g  |grad f| = %.3e" % (it, float(f), gnorm))
        if gnorm < tol:
            converged = True
            break
        if it == args.budget:
            break
        w = w - torch.linalg.solve(H, g)
    elapsed = time.perf_counter() - start
    if not converged:
        print("not converged: |grad f| = %.3e after %d Newton steps (tolerance %g)" % (gnorm, args.budget, tol))
        return 1
    print("converged in %d Newton steps, %.1f ms per step" % (it, 1000 * elapsed / max(it, 1)))

    # The shards add up to the whole: one call on all the data gives the same numbers.
    whole = loss.evaluate({"X": X, "y": y, "w": w})
    summed = [all_reduce_sum([loss.evaluate({"X": Xs, "y": ys, "w": w})[k] for Xs, ys in shards]) for k in ("gradient", "hessian")]
    d_shards = max(relative(summed[0], whole["gradient"]), relative(summed[1], whole["hessian"]))
    # The closed forms against torch.autograd on the loss written directly in torch (float64).
    Xd, yd, wd = X.double(), y.double(), w.double()
    direct = lambda v: torch.logaddexp(torch.zeros_like(yd), -yd * (Xd @ v)).sum()
    ag = torch.autograd.functional.jacobian(direct, wd)
    ah = torch.autograd.functional.hessian(direct, wd)
    d_autograd = max(relative(whole["gradient"].double(), ag), relative(whole["hessian"].double(), ah))
    # float32: the Hessian's weights (1 - sigmoid(t)) * sigmoid(t) lose digits where sigmoid(t) is near 1.
    limit = 1e-10 if args.dtype == "float64" else 1e-3
    print("shards vs one call: %.1e   closed form vs autograd: %.1e   (limit %g)" % (d_shards, d_autograd, limit))
    if not (d_shards < limit and d_autograd < limit):
        print("mismatch above %g" % limit)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
