"""The library in forked worker processes (multiprocessing 'fork', as DataLoader workers use it)."""
import multiprocessing as mp

import numpy as np

import lossfn


def _work(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(400_000).astype(np.float32)
    t = rng.standard_normal(400_000).astype(np.float32)
    loss, grad = lossfn.huber_loss(x, t)
    return loss.tobytes(), grad.tobytes()


def test_forked_workers_compute_in_parallel_without_deadlock():
    lossfn.set_num_threads(2)
    expected = [_work(s) for s in range(4)]  # the parent's pool is now running
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        got = pool.map_async(_work, range(4)).get(timeout=60)
    assert got == expected
    lossfn.set_num_threads(0)
