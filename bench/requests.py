#!/usr/bin/env python3
"""Requests per adapter: prints the Markdown table of a no-change plan over 1 / 50 / 1,000 zones.

Runs Tests/ProvidersTests/RequestCountTests.swift (which asserts each exact count) with
MAILPLAN_REQUEST_TABLE set, so the numbers printed are the ones the tests checked. The clouds
run against their loopback fakes; PowerDNS and Route 53 need the servers of scripts/servers
(source $MAILPLAN_SERVERS_DIR/env first), else their rows say "not run". No internet.

    bench/requests.py [--no-build]
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    env = dict(os.environ)
    if "/opt/swift/usr/bin" not in env.get("PATH", ""):
        env["PATH"] = "/opt/swift/usr/bin:" + env.get("PATH", "")
    if "--no-build" not in sys.argv[1:]:
        subprocess.run(["swift", "build", "--build-tests"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, "requests.md")
        env["MAILPLAN_REQUEST_TABLE"] = table
        run = subprocess.run(["swift", "test", "--skip-build", "--disable-swift-testing",
                              "--filter", "RequestCountTests"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0 or not os.path.exists(table):
            sys.stderr.write(run.stdout[-4000:])
            sys.stderr.write("bench/requests.py: RequestCountTests failed; no table\n")
            return 1
        print("### Requests per adapter: no-change plan over 1 / 50 / 1,000 zones\n")
        print("HTTP requests sent (every attempt), each zone one record page; asserted exactly by "
              "Tests/ProvidersTests/RequestCountTests.swift. The zone lookups are one shared listing of all "
              "zones when that is cheaper (docs/architecture.md, \"Requests\").\n")
        with open(table, encoding="utf-8") as f:
            print(f.read(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
