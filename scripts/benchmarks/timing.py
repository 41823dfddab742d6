"""Timing on a shared machine: throughput meters that discount slices disturbed by other processes, the GEMM peak
this process reaches, training utilisation against it, and peak resident memory."""

import contextlib
import gc
import os
import resource
import time


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _cpu_ticks() -> tuple[int, int]:
    """(busy ticks of the whole machine, ticks of this process) from /proc; (0, 0) where there is no /proc."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat", encoding="ascii") as f:
            own = f.read().rsplit(")", 1)[1].split()
        busy = sum(values[:8]) - values[3] - values[4]  # everything but idle and iowait
        return busy, int(own[11]) + int(own[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0, 0


class Meter:
    """Throughput measured in slices of about `slice_s` seconds, each tagged with how much CPU the *other*
    processes used meanwhile (from /proc/stat). Slices where others used more than `max_other_cores` are
    counted as disturbed; throughput is reported over the undisturbed slices (all slices if too few are clean),
    so tests that other people run on the same cores do not decide the result."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, slice_s: float = 0.5, max_other_cores: float = 0.25):
        self.slice_s, self.max_other_cores = slice_s, max_other_cores
        self.slices = []  # (seconds, items, other_cores)
        self._t0 = None

    def start(self) -> None:
        """Start (or resume) the clock: call right before the timed work."""
        self._t0, self._items, self._ticks = time.perf_counter(), 0, _cpu_ticks()

    def tick(self, items: int) -> None:
        if self._t0 is None:
            raise RuntimeError("Meter.tick() while paused: call start() before the timed work")
        self._items += items
        now = time.perf_counter()
        if now - self._t0 >= self.slice_s:
            self._close(now)
            self.start()

    def pause(self) -> None:
        """Close the current slice and stop the clock (call before anything that must not be timed)."""
        if self._t0 is not None and self._items:
            self._close(time.perf_counter())
        self._t0 = None

    def _close(self, now: float) -> None:
        busy, own = _cpu_ticks()
        seconds = now - self._t0
        other = max(0, (busy - self._ticks[0]) - (own - self._ticks[1])) / self.TICK / max(seconds, 1e-9)
        self.slices.append((seconds, self._items, other))

    def result(self) -> dict:
        """`tokens_per_s` is the rate of whatever was ticked (tokens, sentences or texts)."""
        self.pause()
        seconds = sum(s for s, _, _ in self.slices)
        items = sum(t for _, t, _ in self.slices)
        clean = [(s, t) for s, t, o in self.slices if o <= self.max_other_cores]
        clean_s = sum(s for s, _ in clean)
        use_clean = clean_s > 0 and (clean_s >= 0.25 * seconds or clean_s >= 1.0)
        rate = sum(t for _, t in clean) / clean_s if use_clean else items / max(seconds, 1e-9)
        return {
            "tokens_per_s": rate,
            "tokens_per_s_all_slices": items / max(seconds, 1e-9),
            "seconds": seconds,
            "tokens": items,
            "clean_fraction": clean_s / max(seconds, 1e-9),
            "measured_on_clean_slices": use_clean,
            "other_cores_mean": sum(s * o for s, _, o in self.slices) / max(seconds, 1e-9),
        }


def interleaved(jobs: dict, repeats: int) -> dict:
    """Run every timing job `repeats` times, round-robin, and keep each job's best run: on a shared machine,
    other processes slow some runs down; interleaving spreads that over all jobs, the best run is the least
    disturbed one."""
    runs = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            log(f"  {name}")
            runs[name].append(job())
            gc.collect()
    rows = {}
    for name, results in runs.items():
        best = max(results, key=lambda r: (r["measured_on_clean_slices"], r["tokens_per_s"]))
        rows[name] = {**best, "all_tokens_per_s": [r["tokens_per_s"] for r in results]}
    return rows


def measure_peak(quick: bool) -> dict:
    """Best torch.mm GFLOP/s in this process: a large square GEMM, the GEMM of one GRU step (batch 64, H=128),
    and the latter on one thread (small GEMMs are often faster without fork/join per call)."""
    import torch  # here, not at the top: peak_rss_mb runs in processes that must not load torch

    torch.set_flush_denormal(True)
    results = {}
    for name, (m, k, n), seconds in (
        ("gemm_2048x2048", (2048, 2048, 2048), 0.3 if quick else 2.0),
        ("gemm_64x128_128x384", (64, 128, 384), 0.2 if quick else 1.5),
    ):
        a, b = torch.randn(m, k), torch.randn(k, n)
        flops = 2.0 * m * k * n
        for _ in range(3):
            torch.mm(a, b)
        best = 0.0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            reps = 2 if m >= 1024 else 500
            start = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            best = max(best, reps * flops / (time.perf_counter() - start))
        results[name] = {"gflops": best / 1e9, "shape": f"{m}x{k} @ {k}x{n}", "threads": torch.get_num_threads()}
    threads = torch.get_num_threads()
    a, b = torch.randn(64, 128), torch.randn(128, 384)
    torch.set_num_threads(1)
    try:
        best = 0.0
        for _ in range(3 if quick else 10):
            start = time.perf_counter()
            for _ in range(500):
                torch.mm(a, b)
            best = max(best, 500 * 2.0 * 64 * 128 * 384 / (time.perf_counter() - start))
    finally:
        torch.set_num_threads(threads)
    results["gemm_64x128_128x384_one_thread"] = {"gflops": best / 1e9, "shape": "64x128 @ 128x384", "threads": 1}
    return results


def gru_train_flops_per_token(embedding_dim: int, hidden_size: int, directions: int) -> float:
    """Forward FLOPs per token and direction of a GRU layer: 2 * 3H * (E + H) (input and recurrent GEMMs of the
    three gates); a training step (forward + backward) is taken as 3x forward."""
    return 3.0 * directions * 2.0 * 3 * hidden_size * (embedding_dim + hidden_size)


def gru_inference_flops_per_token(config: dict) -> float:
    """Forward FLOPs per token of a saved model's GRU layers (`config.json` values): 2 * 3H * (input + H) per
    layer and direction, the input being E for the first layer and the previous layer's states after it. The
    embedding lookup, gate arithmetic, pooling and classifier are left out (a few hundred FLOPs per token)."""
    directions = 2 if config["bidirectional"] else 1
    hidden, total, width = config["hidden_size"], 0.0, config["embedding_dim"]
    for _ in range(config["num_hidden_layers"]):
        total += directions * 2.0 * 3 * hidden * (width + hidden)
        width = directions * hidden
    return total


def utilisation(tokens_per_s: float, sizes: dict, peak: dict) -> dict:
    flops = tokens_per_s * gru_train_flops_per_token(
        sizes["embedding_dim"], sizes["hidden_size"], 2 if sizes["bidirectional"] else 1
    )
    return {
        "gflops": flops / 1e9,
        "of_peak_2048": flops / 1e9 / peak["gemm_2048x2048"]["gflops"],
        "of_peak_step_gemm": flops / 1e9 / peak["gemm_64x128_128x384"]["gflops"],
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a
    subprocess would report its parent's peak if that was higher."""
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
