#!/usr/bin/env python3
"""
Peers of ricci in the same benchmark run (not a test): the Hessian in closed form written by hand
in NumPy, and PyTorch's torch.autograd.functional.hessian(vectorize=True), on the inputs that
bench/hessian.ts wrote (one raw little-endian float64 file per variable and a manifest.json).

    /usr/bin/python3 bench/peers.py info
    /usr/bin/python3 bench/peers.py numpy|torch PROBLEM DIR
    /usr/bin/python3 bench/peers.py gemm N

Prints one line "RESULT {json}". hessian.ts runs it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
removed from the environment and OPENBLAS_VERBOSE=2 (OpenBLAS then names its kernel on stderr),
so NumPy runs the kernels it would pick for a user; NumPy and PyTorch use every core.
"""
import json
import os
import sys
import time


def emit(obj):
    sys.stdout.write("RESULT " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def best_ms(f, budget_s=1.0, max_runs=50):
    """Best time of f() in ms after one warm-up call, repeated up to the budget."""
    f()
    best = float("inf")
    start = time.perf_counter()
    runs = 0
    while runs < 3 or (time.perf_counter() - start < budget_s and runs < max_runs):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
        runs += 1
    return best * 1e3


def load(dir_):
    with open(os.path.join(dir_, "manifest.json")) as fh:
        manifest = json.load(fh)
    import numpy as np

    values = {}
    for name, shape in manifest["shapes"].items():
        values[name] = np.fromfile(os.path.join(dir_, name + ".f64"), dtype="<f8").reshape(shape)
    return manifest, values


def blas_info():
    """Which BLAS NumPy loaded (from the process's memory map), its kernel and thread count."""
    import numpy as np

    np.dot(np.ones((64, 64)), np.ones((64, 64)))  # make sure the BLAS is loaded and initialised
    libs = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                base = os.path.basename(path)
                if ("blas" in base or "mkl" in base or "blis" in base) and ".so" in base:
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    info = {"numpy": np.__version__, "libraries": sorted(libs), "threads": None, "kernel": None}
    try:
        import threadpoolctl  # optional

        pools = threadpoolctl.threadpool_info()
        info["threadpoolctl"] = pools
        blas = [p for p in pools if p.get("user_api") == "blas"]
        if blas:
            info["threads"] = blas[0].get("num_threads")
            info["kernel"] = blas[0].get("architecture")
    except ImportError:
        pass
    if info["threads"] is None:
        import ctypes

        for lib in libs:
            try:
                handle = ctypes.CDLL(lib)
            except OSError:
                continue
            if hasattr(handle, "openblas_get_num_threads"):
                info["threads"] = handle.openblas_get_num_threads()
                if hasattr(handle, "openblas_get_corename"):
                    handle.openblas_get_corename.restype = ctypes.c_char_p
                    info["kernel"] = handle.openblas_get_corename().decode()
            elif "openblas" not in lib and "mkl" not in lib and "blis" not in lib:
                # The reference BLAS (netlib) has no threads and no optimised kernels.
                info["threads"] = 1
                info["kernel"] = (
                    "reference BLAS (netlib): no optimised kernels; Debian's libopenblas0-pthread"
                    " gives NumPy and PyTorch OpenBLAS"
                )
    return info


# ------------------------------------------------------------------ NumPy closed forms by hand


def numpy_hessian(problem, v):
    import numpy as np

    if problem == "quadratic":
        A = v["A"]
        return lambda: A + A.T
    if problem == "logistic":
        X, y, w = v["X"], v["y"], v["w"]

        def h():
            e = np.exp(-y * (X @ w))
            s = y**2 * e / (e + 1) ** 2
            return X.T @ (s[:, None] * X)

        return h
    if problem == "factorization":
        V, U = v["V"], v["U"]
        n, k = U.shape
        return lambda: np.kron(np.eye(n), 2 * V.T @ V).reshape(n, k, n, k)
    if problem == "mds":
        W, D = v["W"], v["D"]
        n, d = W.shape
        eye = np.eye(d)

        def h():
            # f = Σ_ik R_ik², R_ik = |w_i - w_k|² - D_ik: for a ≠ b the d×d block is
            # -8 (2 Δ_ab Δ_abᵀ + R_ab I), Δ_ab = w_a - w_b; the diagonal block is minus the sum of
            # the others in its row.
            delta = W[:, None, :] - W[None, :, :]
            R = (delta**2).sum(-1) - D
            off = -8 * (2 * delta[:, :, :, None] * delta[:, :, None, :] + R[:, :, None, None] * eye)
            idx = np.arange(n)
            off[idx, idx] = 0
            off[idx, idx] = -off.sum(axis=1)
            return off.transpose(0, 2, 1, 3)

        return h
    raise ValueError(problem)


# ------------------------------------------------------------------ PyTorch autodiff


def torch_function(problem, v, torch):
    t = {k: torch.from_numpy(a) for k, a in v.items()}
    if problem == "quadratic":
        A = t["A"]
        return lambda x: x @ A @ x
    if problem == "logistic":
        X, y = t["X"], t["y"]
        return lambda w: torch.sum(torch.log(torch.exp(-y * (X @ w)) + 1))
    if problem == "factorization":
        T, V = t["T"], t["V"]
        shape = tuple(t["U"].shape)
        return lambda u: torch.sum((T - u.reshape(shape) @ V.T) ** 2)
    if problem == "mds":
        D = t["D"]
        shape = tuple(t["W"].shape)

        def f(w):
            W = w.reshape(shape)
            dg = torch.sum(W * W, 1)
            R = dg[:, None] + dg[None, :] - 2 * W @ W.T - D
            return torch.sum(R * R)

        return f
    raise ValueError(problem)


def run_numpy(problem, dir_):
    manifest, v = load(dir_)
    h = numpy_hessian(problem, v)
    H = h()
    ms = best_ms(h)
    return {"ms": ms, "row": [float(x) for x in H.reshape(-1)[:6]]}


def run_torch(problem, dir_):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    manifest, v = load(dir_)
    wrt = manifest["wrt"]
    N = v[wrt].size
    # vectorize=True batches N backward passes: N times the largest tensor one pass forms
    # (manifest "intermediate"), a few times over.
    need = 3 * 8 * N * manifest["intermediate"]
    if need > 4e9:
        return {"ms": None, "note": f"skipped: vmap over {N} rows needs ≈ {need / 1e9:.0f} GB"}
    f = torch_function(problem, v, torch)
    x = torch.from_numpy(v[wrt].reshape(-1).copy())
    h = lambda: torch.autograd.functional.hessian(f, x, vectorize=True)
    H = h()
    ms = best_ms(h, budget_s=3.0, max_runs=10)
    return {"ms": ms, "row": [float(a) for a in H.reshape(-1)[:6]], "threads": torch.get_num_threads(), "torch": torch.__version__}


def run_gemm(n):
    import numpy as np

    rng = np.random.default_rng(1)
    A = rng.random((n, n)) - 0.5
    B = rng.random((n, n)) - 0.5
    X = rng.random((2 * n, n)) - 0.5
    d = rng.random(2 * n)
    gemm_ms = best_ms(lambda: A @ B, budget_s=2.0)
    syrk_ms = best_ms(lambda: X.T @ (d[:, None] * X), budget_s=2.0)
    return {"n": n, "gemmMs": gemm_ms, "gemmGflops": 2 * n**3 / gemm_ms / 1e6, "xtdxMs": syrk_ms, "xtdxGflops": 2 * n * n * 2 * n / 2 / syrk_ms / 1e6}


def main():
    try:
        import numpy  # noqa: F401
    except ImportError:
        emit({"skipped": "no numpy"})
        return
    cmd = sys.argv[1]
    if cmd == "info":
        info = blas_info()
        try:
            import torch

            info["torch"] = torch.__version__
            info["torchThreads"] = os.cpu_count()
        except ImportError:
            info["torch"] = None
        emit(info)
    elif cmd == "numpy":
        emit(run_numpy(sys.argv[2], sys.argv[3]))
    elif cmd == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            emit({"ms": None, "note": "skipped: no torch"})
            return
        emit(run_torch(sys.argv[2], sys.argv[3]))
    elif cmd == "gemm":
        emit(run_gemm(int(sys.argv[2])))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
