"""Serve a support bundle as a fake cluster on 127.0.0.1, for benchmarks and for trying the bot by hand.

    cd tests && python -m fakekube --bundle ../examples/zero-capacity --kubeconfig /tmp/kc [--latency 0.02]

Prints the kubeconfig path once the server listens, then serves until interrupted. Runs in its own
process, so benchmarks measure the client, not a server sharing its interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from pathlib import Path

from .fake import FakeKube


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fakekube")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--kubeconfig", type=Path, required=True, help="where to write the kubeconfig")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeKube() as kube:
        kube.seed_bundle(args.bundle)
        kube.set_latency(args.latency)
        kube.write_kubeconfig(args.kubeconfig)
        print(args.kubeconfig, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        print(f"served {kube.request_count()} requests", flush=True)


if __name__ == "__main__":
    main()
