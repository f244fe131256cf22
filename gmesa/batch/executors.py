"""Running the tasks of a batch: in this process, in a local process pool, in any
``concurrent.futures`` executor or on a Dask cluster.  Each calls ``done(row)`` once per
task as it finishes; a task the executor loses becomes a failed row, not an error."""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import sys
import uuid

from .summary import error_text
from .worker import init_worker, run_task

__all__ = ["is_dask_client", "engine_name", "run_tasks"]


def is_dask_client(x):
    """True for a ``dask.distributed.Client`` (without importing Dask)."""
    mod = sys.modules.get("distributed")
    return mod is not None and isinstance(x, getattr(mod, "Client", ()))


def engine_name(executor, workers):
    """How a batch runs, for the log: dask, the executor's class, serial or processes."""
    if is_dask_client(executor):
        return "dask"
    if executor is not None:
        return type(executor).__name__
    return "serial" if workers == 1 else "processes"


def run_tasks(tasks, done, *, executor=None, workers=1, serial=False):
    """Run every task and call ``done(row)`` for each: ``executor`` (a Dask client or a
    concurrent.futures executor), else this process when ``serial``, else a local pool
    of ``workers`` processes."""
    if not tasks:
        return
    if is_dask_client(executor):
        _run_dask(tasks, executor, done)
    elif executor is not None:
        _run_executor(tasks, executor, done)
    elif serial:
        for t in tasks:
            done(run_task(t))
    else:
        _run_pool(tasks, workers, done)


def _crashed(task, exc):
    return {"path": task["path"], "record": task["record"], "status": "failed",
            "reason": f"the worker process died while fitting this record ({error_text(exc)}); "
                      "it may have run out of memory",
            "error_type": type(exc).__name__}


def _lost(task, exc):
    return {"path": task["path"], "record": task["record"], "status": "failed",
            "reason": f"the executor could not run this record ({error_text(exc)})",
            "error_type": type(exc).__name__}


def _run_pool(tasks, workers, done):
    """A local spawn-started process pool; a worker that dies (OOM, segfault) breaks
    the pool: its records are rerun one per fresh process, so only the culprit fails."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    pending = list(tasks)
    while pending:
        suspects = []
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx,
                                    initializer=init_worker) as pool:
            futs = {pool.submit(run_task, t): t for t in pending}
            pending = []
            try:
                for fut in cf.as_completed(futs):
                    task = futs[fut]
                    try:
                        done(fut.result())
                    except cf.process.BrokenProcessPool:
                        suspects.append(task)
                    except Exception as exc:
                        done(_lost(task, exc))
            except BaseException:  # Ctrl-C: stop the workers now, not after their records
                _terminate(pool)
                raise
        for task in suspects:  # one fresh process each
            _run_alone(task, ctx, done)


def _terminate(pool):
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _run_alone(task, ctx, done):
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                                initializer=init_worker) as pool:
        try:
            done(pool.submit(run_task, task).result())
        except cf.process.BrokenProcessPool as exc:
            done(_crashed(task, exc))
        except Exception as exc:
            done(_lost(task, exc))


def _run_executor(tasks, executor, done):
    futs = {executor.submit(run_task, t): t for t in tasks}
    for fut in cf.as_completed(futs):
        try:
            done(fut.result())
        except Exception as exc:
            done(_lost(futs[fut], exc))


def _run_dask(tasks, client, done):
    from distributed import as_completed
    futs = {}
    for t in tasks:
        key = f"gmesa-fit-{t['record']}-{uuid.uuid4().hex[:8]}"
        futs[client.submit(run_task, t, key=key, pure=False)] = t
    for fut in as_completed(list(futs)):
        task = futs[fut]
        try:
            done(fut.result())
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":
                done(_crashed(task, exc))
            else:
                done(_lost(task, exc))
        finally:
            fut.release()
