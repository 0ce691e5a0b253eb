"""Drag without lag: how long after a slider's last step the figure shows its value, in a real kernel.

    python benchmarks/bench_drag.py [--drags 5] [--gap-ms 15]

Lesson 2's batch explorer runs in a fresh kernel. This script plays the browser: it sends the batch-size
slider's value changes as JupyterLab does (comm messages "update"), and the figure's draw requests are answered at
once in the kernel (a full synchronous render, as ipympl does when the browser asks for the picture). The kernel
logs the time of every render and the value it shows. Measured, with stale values skipped (Live.coalesce, the
default) and without, side by side in one run:
- a single step: from sending it to the figure showing it (target <= 100 ms);
- a quick drag of 8 steps `--gap-ms` apart: from sending the last step to the figure showing it (target <= 150 ms),
  and how many renders the drag cost.
Times are the median over `--drags` drags (the machine is shared: a single drag can be held up by other users).
"""
import argparse
import json
import statistics
import time

from jupyter_client.manager import start_new_kernel

SETUP = """
%matplotlib widget
import json, time
from bn_teach.lessons.l02_inside_batchnorm import batch_explorer
live = batch_explorer()
LOG = []
def _draw_now():  # what ipympl does when the browser asks for the picture after draw_idle
    live.fig.canvas.draw()
    LOG.append((time.time(), live.values()["batch_size"]))
live.fig.canvas.draw_idle = _draw_now
print(live.controls["batch_size"].model_id)
"""


def run(kc, code):
    out = []
    def keep_stdout(msg):  # stderr may carry a warning (e.g. bn_teach's BLAS note): not part of the answer
        if msg["content"].get("name") == "stdout":
            out.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=120, output_hook=keep_stdout)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


def send_value(kc, comm_id, value):
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id,
                                      "data": {"method": "update", "state": {"value": value}, "buffer_paths": []}})
    kc.shell_channel.send(msg)
    return time.time()


def drag(kc, comm_id, values, gap):
    """Send `values` `gap` seconds apart; (seconds from the last send to the render showing it, renders)."""
    run(kc, "LOG.clear()")
    sent = None
    for value in values:
        sent = send_value(kc, comm_id, value)
        time.sleep(gap)
    time.sleep(1.0)
    log = json.loads(run(kc, "print(json.dumps(LOG))"))
    shown = [t for t, v in log if v == values[-1]]
    return (shown[0] - sent if shown else float("inf")), len(log)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drags", type=int, default=5)
    parser.add_argument("--gap-ms", type=float, default=15.0)
    args = parser.parse_args(argv)
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        comm_id = run(kc, SETUP).strip().splitlines()[-1]
        print(f"lesson 2, batch explorer: 8-step drags {args.gap_ms:.0f} ms apart, median of {args.drags}")
        print(f"{'stale values':14} {'single step (ms)':>17} {'drag: last step shown after (ms)':>33} {'renders':>8}")
        results = {}
        for coalesce in (False, True):
            run(kc, f"live.coalesce = {coalesce}")
            singles, lags, renders = [], [], []
            for i in range(args.drags):
                start = 64 + 16 * (i % 2)  # alternate, so that every step changes the value
                singles.append(drag(kc, comm_id, [start + 200], 0.0)[0])
                lag, count = drag(kc, comm_id, [start + 8 * (j + 1) for j in range(8)], args.gap_ms / 1000)
                lags.append(lag)
                renders.append(count)
            results[coalesce] = single, lag = statistics.median(singles) * 1000, statistics.median(lags) * 1000
            print(f"{'skipped' if coalesce else 'all drawn':14} {single:17.0f} {lag:33.0f} "
                  f"{statistics.median(renders):8.0f}")
        single, lag = results[True]
        print(f"targets: single step <= 100 ms ({'met' if single <= 100 else 'MISSED'}); "
              f"last step of a drag shown within 150 ms ({'met' if lag <= 150 else 'MISSED'}); "
              f"drag lag with / without skipping: {lag / results[False][1]:.2f}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
