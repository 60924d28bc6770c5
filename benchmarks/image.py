"""Image figures: size uncompressed and compressed, seconds from `docker run` to ready and to healthy.

Usage (from the repository root): python -m benchmarks.image [IMAGE] [--runs 5]
(targets on 2 cores: ≤ 1.5 GB, ≤ 500 MB, ≤ 3 s)
"""

import argparse
import gzip
import statistics
import subprocess
import time
import urllib.request
import uuid

from tests.support.containers import docker as docker_cli


def docker(*args):
    """Run the docker CLI, return its stdout."""
    return docker_cli(*args).stdout.strip()


def compressed_size(image):
    """Bytes of `docker save IMAGE | gzip` (default level), streamed."""
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    counter = _Counter()
    with gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=6) as sink:
        while chunk := save.stdout.read(1 << 20):
            sink.write(chunk)
    save.wait()
    return counter.count


class _Counter:
    """A write-only file object that only counts bytes."""

    count = 0

    def write(self, data):
        self.count += len(data)
        return len(data)

    def flush(self):
        pass


def start_times(image):
    """Seconds from `docker run` to GET /api/status 200, and to Docker's healthy."""
    name = f"matchbox-bench-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    docker("run", "-d", "--name", name, "-e", "JUPYTER_TOKEN=bench", "-p", "127.0.0.1::8888", image)
    try:
        port = docker("port", name, "8888/tcp").rsplit(":", 1)[1]
        ready = None
        while ready is None:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                                 headers={"Authorization": "token bench"})
                if urllib.request.urlopen(request, timeout=1).status == 200:
                    ready = time.monotonic() - started
            except OSError:
                time.sleep(0.05)
        while docker("inspect", "-f", "{{.State.Health.Status}}", name) != "healthy":
            time.sleep(0.1)
        return ready, time.monotonic() - started
    finally:
        docker_cli("rm", "-f", name, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default="matchbox:latest")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    size = int(docker("image", "inspect", "-f", "{{.Size}}", args.image))
    print(f"image            {args.image}")
    print(f"uncompressed     {size / 1e9:.2f} GB   (target ≤ 1.5 GB: {'met' if size <= 1.5e9 else 'MISSED'})")
    packed = compressed_size(args.image)
    print(f"compressed       {packed / 1e6:.0f} MB   (docker save | gzip; target ≤ 500 MB: "
          f"{'met' if packed <= 500e6 else 'MISSED'}; ratio {size / packed:.1f}x)")
    runs = [start_times(args.image) for _ in range(args.runs)]
    ready = statistics.median(r for r, _ in runs)
    healthy = statistics.median(h for _, h in runs)
    print(f"run → /api 200   median {ready:.2f} s over {args.runs} runs (min {min(r for r, _ in runs):.2f}, "
          f"max {max(r for r, _ in runs):.2f}; target ≤ 3 s: {'met' if ready <= 3 else 'MISSED'})")
    print(f"run → healthy    median {healthy:.2f} s")


if __name__ == "__main__":
    main()
