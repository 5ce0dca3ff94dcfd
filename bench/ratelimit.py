#!/usr/bin/env python3
"""Rate-limit pacing bench: a plan of N zones against the Cloudflare fake enforcing its
documented limit (1,200 requests per 300 s) scaled down to RATE requests per second over a
WINDOW-second sliding window (429 past it); mailplan's pacer keeps the same scaled limit.

It runs the test RateLimitPacingTests/testPlanOfManyZonesStaysUnderTheLimit (which asserts
the exact request count and that no 429 was seen) with MAILPLAN_BENCH_ZONES and
MAILPLAN_BENCH_RATE, MAILPLAN_BENCH_WINDOW and MAILPLAN_BENCH_OUT set, then checks the timing the test recorded: the run must take at most
1.1 x (requests / rate). Prints one Markdown table; exits 1 when a target is missed.
Loopback only. Needs a test build (`swift build --build-tests`, or pass --build).

Usage: bench/ratelimit.py [--zones 1000] [--rate 100] [--window 5] [--build]
"""
import argparse, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TEST = "RateLimitPacingTests/testPlanOfManyZonesStaysUnderTheLimit"
TARGET = 1.1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zones", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=100, help="requests per second the fake allows")
    ap.add_argument("--window", type=float, default=5, help="the fake's sliding window in seconds")
    ap.add_argument("--build", action="store_true", help="run swift build --build-tests first")
    args = ap.parse_args()
    if args.build:
        subprocess.run(["swift", "build", "--build-tests"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "row.json")
        env = dict(os.environ, MAILPLAN_BENCH_ZONES=str(args.zones), MAILPLAN_BENCH_RATE=str(args.rate),
                   MAILPLAN_BENCH_WINDOW=str(args.window), MAILPLAN_BENCH_OUT=out)
        test = subprocess.run(["swift", "test", "--skip-build", "--disable-swift-testing", "--filter", TEST],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if test.returncode != 0 or not os.path.exists(out):
            sys.stderr.write(test.stdout[-4000:] + test.stderr[-2000:])
            sys.stderr.write(f"ratelimit bench: {TEST} failed (exit {test.returncode})\n")
            return 1
        row = json.load(open(out))
    expected = row["requests"] / row["rate"]
    ratio = row["seconds"] / expected
    ok = ratio <= TARGET and row["refused"] == 0
    load = os.getloadavg()[0]
    print(f"Fake: Cloudflare, {int(row['rate'] * row['window'])} requests per {row['window']:g} s sliding window; 8 concurrent zone readers.\n")
    print("| zones | requests | rate (req/s) | expected s (requests ÷ rate) | measured s | ratio | 429s seen | target |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {row['zones']} | {row['requests']} | {row['rate']} | {expected:.2f} | {row['seconds']:.2f} | "
          f"{ratio:.2f}× | {row['refused']} | ≤ {TARGET}×, no 429: {'met' if ok else 'MISSED'} |")
    print(f"\nLoad average (1 min) at the end: {load:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
