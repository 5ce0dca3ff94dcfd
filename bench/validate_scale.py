#!/usr/bin/env python3
"""`mailplan validate` at scale (issue 17: 10,000 domains in <= 0.4 s and <= 60 MiB peak RSS).

Writes a plan with --domains domains (each its own zone, spread over --providers zonefile
providers; per domain the records of plans/example.yaml: MX, SPF with an include, one DKIM
selector from a key file, DMARC, MTA-STS, TLS-RPT, in block style as people write them), builds
the release binary (`swift build -c release --product mailplan`, unless --no-build), runs
`.build/release/mailplan validate` --rounds times, and prints one Markdown row:

    | domains | plan file | wall s (median) | peak RSS MiB (max) | target |

Wall time and peak RSS come from os.wait4 on the child (ru_maxrss, KiB on Linux). Offline: no
network at all. The plan lives in bench/work/validate-scale/.

Usage: bench/validate_scale.py [--domains 10000] [--providers 10] [--rounds 5] [--style block|flow] [--no-build]
"""
import argparse, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work", "validate-scale")
BIN = os.path.join(ROOT, ".build", "release", "mailplan")


def write_plan(domains, providers, style="block"):
    """The plan file and what it refers to (zone files, the DKIM key); returns its path."""
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "zones"))
    os.makedirs(os.path.join(WORK, "keys"))
    shutil.copy(os.path.join(ROOT, "plans", "keys", "mail2026.pub"), os.path.join(WORK, "keys", "mail2026.pub"))
    out = ["# bench/validate_scale.py: %d domains on %d zonefile providers" % (domains, providers),
           "version: 1", "", "server:", "  hostname: mail.d00000.example", "  ipv4: 192.0.2.25",
           "  ipv6: 2001:db8::25", "", "providers:"]
    for p in range(providers):
        # A zone file per provider entry: validate builds each adapter from its settings
        # (the path must exist) and reads no zone.
        with open(os.path.join(WORK, "zones", "p%02d.zone" % p), "w") as f:
            f.write("$TTL 3600\n")
        out += ["  p%02d:" % p, "    type: zonefile", "    path: zones/p%02d.zone" % p]
    out += ["", "defaults:", "  ttl: 3600", "", "domains:"]
    for i in range(domains):
        d = "d%05d.example" % i
        if style == "flow":
            # The same domain on one line (flow style).
            out.append("  - {name: %s, provider: p%02d, mx: [{host: mail.d00000.example, preference: 10}], "
                       'spf: {senders: [mx, "include:_spf.example.net"], all: "-all"}, '
                       "dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}], "
                       'dmarc: {policy: quarantine, rua: ["mailto:dmarc@%s"], adkim: s}, '
                       'mta_sts: {mode: enforce, max_age: 604800}, tls_rpt: {rua: ["mailto:tlsrpt@%s"]}}' % (d, i % providers, d, d))
            continue
        out += [
            "  - name: %s" % d,
            "    provider: p%02d" % (i % providers),
            "    mx:",
            "      - host: mail.d00000.example",
            "        preference: 10",
            "    spf:",
            '      senders: [mx, "include:_spf.example.net"]',
            '      all: "-all"',
            "    dkim:",
            "      - selector: mail2026",
            "        public_key_file: keys/mail2026.pub",
            "    dmarc:",
            "      policy: quarantine",
            '      rua: ["mailto:dmarc@%s"]' % d,
            "      adkim: s",
            "    mta_sts:",
            "      mode: enforce",
            "      max_age: 604800",
            "    tls_rpt:",
            '      rua: ["mailto:tlsrpt@%s"]' % d,
        ]
    path = os.path.join(WORK, "plan.yaml")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def run_once(plan):
    """One `mailplan validate`: (wall seconds, peak RSS MiB, stdout)."""
    r, w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 1)
        os.execv(BIN, [BIN, "validate", plan])
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    os.close(r)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("mailplan validate exited %d" % os.waitstatus_to_exitcode(status))
    return wall, usage.ru_maxrss / 1024.0, b"".join(chunks).decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domains", type=int, default=10000)
    ap.add_argument("--providers", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--style", choices=["block", "flow"], default="block",
                    help="block: 20 lines per domain, as plans/example.yaml; flow: one line per domain")
    ap.add_argument("--no-build", action="store_true", help="use the .build/release/mailplan there is")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "mailplan"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    plan = write_plan(a.domains, a.providers, a.style)
    expected = "%s: valid (%d domains, %d zones, %d managed RRsets).\n" % (plan, a.domains, a.domains, a.domains * 6 + 2)
    runs = [run_once(plan) for _ in range(a.rounds)]
    for _, _, out in runs:
        if out != expected:
            sys.exit("unexpected output: %r (expected %r)" % (out, expected))
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    size = os.path.getsize(plan) / 1e6
    print("| domains | plan file | wall s (median of %d) | peak RSS MiB (max) | target |" % a.rounds)
    print("|---|---|---|---|---|")
    print("| %s | %s style, %.1f MB | %.3f | %.1f | <= 0.4 s, <= 60 MiB |" % (format(a.domains, ","), a.style, size, wall, rss))


if __name__ == "__main__":
    main()
