"""How long one ``climate`` command takes, and where the time goes.

Starts the real ``climate-all`` on a free loopback port with its own state
directory, then runs the ``climate`` console script as a new process, as a
user would, and prints:

- the interpreter's own start (``python -c pass``), ``climate --version``
  (imports and the command table, no command) and ``climate lease list``
  against the service (goal: under 0.5 s), each the median of ``--runs``;
- ``lease list`` with a cold entry point cache (stevedore's, in a fresh
  ``XDG_CACHE_HOME``: the first call after an install);
- the slowest imports of one ``lease list`` (``python -X importtime``).

``--python`` names the interpreter of another installation (a virtual
environment with only Climate in it, say) to measure instead of this one.
Bytecode caching is reported: ``PYTHONDONTWRITEBYTECODE=1`` in front of an
installation without ``.pyc`` files (uv installs none unless asked with
``--compile-bytecode``) makes every call compile what it imports.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import harness


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter of the installation to measure (default: "
        "this one)",
    )
    return parser.parse_args()


def timed(argv, env, runs):
    """Median, min and max wall time of ``runs`` runs of ``argv``."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed:\n{done.stderr}")
    return statistics.median(times), min(times), max(times)


def show(label, figures):
    median, low, high = figures
    print(
        f"  {label:<44} median {median * 1000:6.0f} ms"
        f"   (min {low * 1000:.0f}, max {high * 1000:.0f})"
    )


def slowest_imports(python, env, count=8):
    """The ``count`` imports of one ``lease list`` with the largest
    cumulative time, as (ms, module)."""
    done = subprocess.run(
        [
            python,
            "-X",
            "importtime",
            "-c",
            "import sys; from climateclient.cli import shell;"
            "sys.exit(shell.main(['lease', 'list']))",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        # Imported by the script itself, not by another module: these
        # figures add up to the whole.
        if not name[1:].startswith(" "):
            rows.append((int(cumulative) / 1000, name.strip()))
    return sorted(rows, reverse=True)[:count]


def main():
    args = parse_args()
    bin_dir = os.path.dirname(args.python)
    climate = os.path.join(bin_dir, "climate")
    state_dir = tempfile.mkdtemp(prefix="climate-bench-cli-")
    port = harness.free_port()
    config_path = harness.write_config(state_dir, port)
    base = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OS_", "CLIMATE_"))
    }
    env["CLIMATE_URL"] = base

    print(harness.machine())
    print(f"installation: {bin_dir}")
    bytecode = "off" if env.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"bytecode caching (PYTHONDONTWRITEBYTECODE unset): {bytecode}")
    print(f"load average before: {harness.load_average()}")
    with harness.running(state_dir, config_path, base):
        # One warm-up call: entry point cache, and .pyc files if allowed.
        subprocess.run(
            [climate, "lease", "list"],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"\n{args.runs} runs each:")
        show("python -c pass", timed([args.python, "-c", "pass"], env, 5))
        show("climate --version", timed([climate, "--version"], env, 5))
        show(
            "climate lease list (goal: under 500 ms)",
            timed([climate, "lease", "list"], env, args.runs),
        )
        with tempfile.TemporaryDirectory() as cache:
            cold = timed(
                [climate, "lease", "list"],
                {**env, "XDG_CACHE_HOME": cache},
                1,
            )
        show("climate lease list, cold entry point cache", cold)
        print("\nslowest top-level imports of one lease list:")
        for ms, module in slowest_imports(args.python, env):
            print(f"  {ms:7.1f} ms  {module}")
    print(f"\nload average after: {harness.load_average()}")
    subprocess.run(["rm", "-rf", state_dir], check=True)


if __name__ == "__main__":
    main()
