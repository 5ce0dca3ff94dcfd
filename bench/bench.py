#!/usr/bin/env python3
"""mailplan benchmark: no-change plan and one-change-per-zone apply over N zones on a local
PowerDNS, against octoDNS and the raw HTTP floor (curl). Stdlib only; octoDNS runs from the
venv bench/run creates. Every request goes to 127.0.0.1.

Usage (normally through bench/run): bench.py --zones 1000 --rounds 3 --parallelism 8
"""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work")
VENV = os.path.join(HERE, ".venv")
DKIM_PEM = os.path.join(ROOT, "plans", "keys", "mail2026.pub")


def dkim_value():
    body = "".join(l.strip() for l in open(DKIM_PEM) if not l.startswith("-----"))
    return "v=DKIM1; k=rsa; p=" + body


def zone_name(i):
    return f"bench-{i:04d}.example."


def zone_rrsets(i, variant):
    """~40 records per zone: the mail records the plan manages plus unrelated ones."""
    z = zone_name(i)
    host = zone_name(1)
    q = lambda s: '"' + s + '"'
    rr = lambda name, typ, contents, ttl=3600: {"name": name, "type": typ, "ttl": ttl, "changetype": "REPLACE",
                                                 "records": [{"content": c, "disabled": False} for c in contents]}
    sets = [
        rr(z, "MX", [f"10 mail.{host}"]),
        rr(z, "TXT", [q("v=spf1 mx -all"), q(f"google-site-verification=token{i:04d}")]),
        rr(f"mail2026._domainkey.{z}", "TXT", [q(dkim_value())]),
        rr(f"_dmarc.{z}", "TXT", [q(dmarc_value(i, variant))]),
        rr(f"_smtp._tls.{z}", "TXT", [q("v=TLSRPTv1; rua=mailto:tlsrpt@" + z[:-1])]),
        rr(z, "A", ["192.0.2.80"]),
        rr(f"www.{z}", "CNAME", [z]),
        rr(f"_acme-challenge.{z}", "TXT", [q(f"acme{i:04d}")]),
        rr(f"*.{z}", "A", ["192.0.2.81"]),
    ]
    for h in range(1, 31):
        sets.append(rr(f"h{h:02d}.{z}", "A", [f"198.51.100.{h}"]))
    if i == 1:
        sets.append(rr(f"mail.{z}", "A", ["192.0.2.25"]))
    return sets


def dmarc_value(i, variant):
    return f"v=DMARC1; p=quarantine; rua=mailto:{'dmarc' if variant == 0 else 'reports'}@{zone_name(i)[:-1]}"


class PDNS:
    def __init__(self, url, key):
        self.url, self.key = url.rstrip("/"), key

    def req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.url + "/api/v1/servers/localhost" + path, data=data, method=method,
                                   headers={"X-API-Key": self.key, "Content-Type": "application/json"})
        for attempt in range(8):
            try:
                with urllib.request.urlopen(r, timeout=60) as resp:
                    return resp.status, resp.read()
            except urllib.error.HTTPError as e:
                if e.code == 500 and attempt < 7:  # sqlite locking under concurrency
                    time.sleep(0.05 * (2 ** attempt)); continue
                raise RuntimeError(f"{method} {path}: {e.code} {e.read()[:300]!r}")

    def load(self, n, workers=4):
        def one(i):
            z = zone_name(i)
            body = {"name": z, "kind": "Native", "nameservers": ["ns1.bench.example.", "ns2.bench.example."],
                    "rrsets": [{k: v for k, v in s.items() if k != "changetype"} for s in zone_rrsets(i, 0)]}
            self.req("POST", "/zones", body)
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(one, range(1, n + 1)))


def spf_senders(variant):
    return "[mx]" if variant == 0 else "[mx, \"ip4:198.51.100.0/24\"]"


def spf_value(variant):
    return "v=spf1 mx -all" if variant == 0 else "v=spf1 mx ip4:198.51.100.0/24 -all"


def write_mailplan_plan(n, variant, path, spf=0):
    host = "mail." + zone_name(1)[:-1]
    lines = ["version: 1", "server:", f"  hostname: {host}", "  ipv4: 192.0.2.25", "providers:", "  pdns:",
             "    type: powerdns", "    url: ${BENCH_PDNS_URL}", "    api_key: ${BENCH_PDNS_API_KEY}", "defaults:", "  ttl: 3600",
             "domains:"]
    for i in range(1, n + 1):
        d = zone_name(i)[:-1]
        lines += [f"  - name: {d}", "    provider: pdns", f"    mx: [{{host: {host}, preference: 10}}]",
                  f"    spf: {{senders: {spf_senders(spf)}, all: \"-all\"}}",
                  f"    dkim: [{{selector: mail2026, public_key_file: {DKIM_PEM}}}]",
                  f"    dmarc: {{policy: quarantine, rua: [\"mailto:{'dmarc' if variant == 0 else 'reports'}@{d}\"]}}",
                  f"    tls_rpt: {{rua: [\"mailto:tlsrpt@{d}\"]}}"]
    open(path, "w").write("\n".join(lines) + "\n")


def load_sqlite(pdns, db, n):
    """Loads zones 2..n straight into PowerDNS's sqlite database in one transaction, in the
    exact row format PowerDNS itself wrote for zone 1 (created through the API and checked
    against what zone_rrsets generates), then verifies the zone count by a listing."""
    import sqlite3
    pdns.req("POST", "/zones", {"name": zone_name(1), "kind": "Native", "nameservers": ["ns1.bench.example.", "ns2.bench.example."],
                                "rrsets": [{k: v for k, v in s.items() if k != "changetype"} for s in zone_rrsets(1, 0)]})
    con = sqlite3.connect(db, timeout=60)
    (d1,) = con.execute("SELECT id FROM domains WHERE name = ?", (zone_name(1)[:-1],)).fetchone()
    rows1 = con.execute("SELECT name, type, content, ttl, prio, disabled, ordername, auth FROM records WHERE domain_id = ?", (d1,)).fetchall()
    def stored(t, c):
        # How PowerDNS stores rdata: names without the final dot, the MX preference in `prio`.
        if t == "MX":
            pref, host = c.split()
            return host.rstrip("."), int(pref)
        if t == "CNAME":
            return c.rstrip("."), 0
        return c, 0
    def gen(i):
        return [(s["name"][:-1], s["type"], *stored(s["type"], c["content"]), s["ttl"]) for s in zone_rrsets(i, 0) for c in s["records"]]
    have = {(r[0], r[1], r[2], r[4], r[3]) for r in rows1 if r[1] not in ("SOA", "NS", None)}
    if have != set(gen(1)):
        raise RuntimeError(f"PowerDNS stored zone 1 differently than generated: {sorted(have ^ set(gen(1)), key=str)[:4]}")
    # SOA, NS and the empty non-terminals (type NULL) as PowerDNS wrote them for zone 1.
    kept = [r for r in rows1 if r[1] in ("SOA", "NS", None)]
    (dtype,) = con.execute("SELECT type FROM domains WHERE id = ?", (d1,)).fetchone()
    z1 = zone_name(1)[:-1]
    with con:
        for i in range(2, n + 1):
            z = zone_name(i)[:-1]
            cur = con.execute("INSERT INTO domains (name, type) VALUES (?, ?)", (z, dtype))
            did = cur.lastrowid
            rows = [(did, r[0][: -len(z1)] + z, r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in kept]
            rows += [(did, name, t, c, ttl, prio, 0, None, 1) for (name, t, c, prio, ttl) in gen(i)]
            con.executemany("INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, ordername, auth) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    con.close()
    status, body = pdns.req("GET", "/zones")
    listed = sum(1 for z in json.loads(body) if z["name"].startswith("bench-"))
    if listed != n:
        raise RuntimeError(f"PowerDNS lists {listed} bench zones, expected {n}")


def write_octodns(n, variant, directory, workers, api_port):
    zd = os.path.join(directory, "zones")
    shutil.rmtree(zd, ignore_errors=True)
    os.makedirs(zd)
    esc = lambda s: s.replace(";", "\\;")
    for i in range(1, n + 1):
        recs = {}
        for s in zone_rrsets(i, variant):
            name = s["name"][: -len(zone_name(i))].rstrip(".")
            t = s["type"]
            contents = [r["content"] for r in s["records"]]
            if t == "TXT":
                e = {"type": t, "ttl": s["ttl"], "values": [esc(c[1:-1]) for c in contents]}
            elif t == "MX":
                e = {"type": t, "ttl": s["ttl"], "values": [{"preference": int(c.split()[0]), "exchange": c.split()[1]} for c in contents]}
            elif t == "CNAME":
                e = {"type": t, "ttl": s["ttl"], "value": contents[0]}
            else:
                e = {"type": t, "ttl": s["ttl"], "values": contents}
            recs.setdefault(name, []).append(e)
        with open(os.path.join(zd, zone_name(i) + "yaml"), "w") as f:
            json.dump(recs, f)  # JSON is YAML
    cfg = {"manager": {"max_workers": workers} if workers else {},
           "providers": {"config": {"class": "octodns.provider.yaml.YamlProvider", "directory": zd,
                                    "default_ttl": 3600, "enforce_order": False},
                         "pdns": {"class": "octodns_powerdns.PowerDnsProvider", "host": "127.0.0.1", "port": api_port,
                                  "api_key": "env/BENCH_PDNS_API_KEY", "scheme": "http", "timeout": 60}},
           "zones": {zone_name(i): {"sources": ["config"], "targets": ["pdns"]} for i in range(1, n + 1)}}
    path = os.path.join(directory, f"config-{workers or 'default'}.yaml")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def measure(cmd, env=None, ok=(0,), stdin=None):
    """Runs cmd in its own measuring process: wall seconds, CPU seconds, peak RSS (MB)."""
    code = ("import resource,subprocess,sys,time,json;t=time.monotonic();"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
            "w=time.monotonic()-t;r=resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps({'rc':p.returncode,'wall':w,'cpu':r.ru_utime+r.ru_stime,'rss':r.ru_maxrss/1024,"
            "'err':(lambda e:e if len(e)<6000 else e[:4000]+'\\n…\\n'+e[-2000:])(p.stderr.decode(errors='replace'))}))")
    out = subprocess.run([sys.executable, "-c", code] + cmd, env=env, capture_output=True, text=True)
    res = json.loads(out.stdout)
    if res["rc"] not in ok:
        raise RuntimeError(f"{' '.join(cmd[:3])}… exited {res['rc']}: {res['err']}")
    return res


def curl_config(path, lines):
    with open(path, "w") as f:
        f.write("\nnext\n".join(lines) + "\n")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zones", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--parallelism", type=int, default=8)
    ap.add_argument("--scale", default="100,1000,10000", help="zone counts of the no-change plan scale series")
    ap.add_argument("--dns-port", type=int, default=45353)
    ap.add_argument("--api-port", type=int, default=45081)
    ap.add_argument("--skip-octodns", action="store_true")
    ap.add_argument("--skip-extras", action="store_true", help="do not run bench/zonefile.py, requests.py, ratelimit.py, validate_scale.py")
    a = ap.parse_args()
    n, par = a.zones, a.parallelism
    scale = [int(x) for x in a.scale.split(",") if x]
    total = max([n] + scale)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    mailplan = os.path.join(ROOT, ".build", "release", "mailplan")
    servers_dir = os.path.join(WORK, "servers")
    senv = dict(os.environ, MAILPLAN_SERVERS_DIR=servers_dir, MAILPLAN_PDNS_DNS_PORT=str(a.dns_port),
                MAILPLAN_PDNS_API_PORT=str(a.api_port))
    subprocess.run([os.path.join(ROOT, "scripts", "servers"), "start", "pdns"], env=senv, check=True, stdout=subprocess.DEVNULL)
    try:
        envfile = open(os.path.join(servers_dir, "env")).read()
        vals = dict(l.replace("export ", "").split("=", 1) for l in envfile.split() if "=" in l)
        url, key = vals["MAILPLAN_PDNS_URL"].strip("'\""), vals["MAILPLAN_PDNS_API_KEY"].strip("'\"")
        pdns = PDNS(url, key)
        t = time.monotonic(); load_sqlite(pdns, os.path.join(servers_dir, "pdns", "pdns.sqlite3"), total); load_s = time.monotonic() - t
        print(f"loaded {total} zones into sqlite in {load_s:.1f} s (verified by a listing)", file=sys.stderr)
        env = dict(os.environ, BENCH_PDNS_URL=url, BENCH_PDNS_API_KEY=key, NO_COLOR="1")
        # plans[(dmarc variant, spf variant)]
        plans = {}
        for v in ((0, 0), (1, 0), (0, 1)):
            plans[v] = os.path.join(WORK, f"plan-{v[0]}{v[1]}.yaml")
            write_mailplan_plan(n, v[0], plans[v], spf=v[1])
        octo = {}
        if not a.skip_octodns:
            for v in (0, 1):
                d = os.path.join(WORK, f"octodns-{v}")
                octo[(v, par)] = write_octodns(n, v, d, par, a.api_port)
                octo[(v, None)] = write_octodns(n, v, d, None, a.api_port)
        octosync = os.path.join(VENV, "bin", "octodns-sync")
        zurl = lambda i: f"{url}/api/v1/servers/localhost/zones/{zone_name(i)}"
        get = lambda i: f'header = "X-API-Key: {key}"\nurl = "{zurl(i)}"\noutput = "/dev/null"'
        def patch(i, rrset, tag):
            bp = os.path.join(WORK, f"body-{tag}-{i}.json")
            open(bp, "w").write(json.dumps({"rrsets": [rrset]}))
            return (f'header = "X-API-Key: {key}"\nheader = "Content-Type: application/json"\nrequest = "PATCH"\n'
                    f'retry = 8\nretry-all-errors\nretry-delay = 0\nfail\nurl = "{zurl(i)}"\ndata = "@{bp}"\noutput = "/dev/null"')
        dmarc_rr = lambda i, v: {"name": f"_dmarc.{zone_name(i)}", "type": "TXT", "ttl": 3600, "changetype": "REPLACE",
                                 "records": [{"content": '"' + dmarc_value(i, v) + '"', "disabled": False}]}
        spf_rr = lambda i, v: {"name": zone_name(i), "type": "TXT", "ttl": 3600, "changetype": "REPLACE",
                               "records": [{"content": '"' + c + '"', "disabled": False} for c in (spf_value(v), f"google-site-verification=token{i:04d}")]}
        rng = range(1, n + 1)
        gets = curl_config(os.path.join(WORK, "gets.txt"), [get(i) for i in rng])
        plain = os.path.join(WORK, "urls-plain.txt")
        open(plain, "w").write("".join(zurl(i) + "\n" for i in rng))
        dpatch = {v: [patch(i, dmarc_rr(i, v), f"d{v}") for i in rng] for v in (0, 1)}
        spatch = {v: [patch(i, spf_rr(i, v), f"s{v}") for i in rng] for v in (0, 1)}
        cfg = {}
        for v in (0, 1):
            cfg[("dmarc-patch", v)] = curl_config(os.path.join(WORK, f"dmarc-patch-{v}.txt"), dpatch[v])
            cfg[("spf-patch", v)] = curl_config(os.path.join(WORK, f"spf-patch-{v}.txt"), spatch[v])
            # The same requests as mailplan's apply, issued by one curl process: per zone the
            # read, (for the shared apex TXT) the compare-before-write read, and the PATCH.
            cfg[("dmarc-all", v)] = curl_config(os.path.join(WORK, f"dmarc-all-{v}.txt"), [x for i in rng for x in (get(i), dpatch[v][i - 1])])
            cfg[("spf-all", v)] = curl_config(os.path.join(WORK, f"spf-all-{v}.txt"), [x for i in rng for x in (get(i), get(i), spatch[v][i - 1])])
        curl = lambda c: ["curl", "-s", "--parallel", "--parallel-max", str(par), "--config", c]

        rows = {}
        def rec(name, r):
            rows.setdefault(name, []).append(r)
        P = ["--parallelism", str(par)]
        base = plans[(0, 0)]
        sanity = measure([mailplan, "plan", base, "--detailed-exitcode"] + P, env=env)
        doc = json.loads(subprocess.run([mailplan, "plan", base, "--json"] + P, env=env, capture_output=True, text=True).stdout)
        requests = doc.get("requests", {})
        validate = [measure([mailplan, "validate", os.path.join(ROOT, "plans", "example.yaml")], env=env) for _ in range(10)]
        dstate = 0
        sstate = 0
        for rnd in range(a.rounds):
            print(f"round {rnd + 1}/{a.rounds}", file=sys.stderr)
            rec("plan: mailplan", measure([mailplan, "plan", base, "--detailed-exitcode"] + P, env=env))
            if not a.skip_octodns:
                rec(f"plan: octoDNS max_workers={par}", measure([octosync, "--config-file", octo[(0, par)]], env=env))
                rec("plan: octoDNS default workers", measure([octosync, "--config-file", octo[(0, None)]], env=env))
            rec(f"floor: GETs, one curl --parallel-max {par}", measure(curl(gets), env=env))
            rec(f"floor: curl per GET (xargs -P {par})", measure(["sh", "-c", f"xargs -P {par} -n 1 curl -s -o /dev/null -H 'X-API-Key: {key}' < {plain}"], env=env))
            # DMARC: a wholly owned RRset (no compare-before-write read), one change per zone.
            rec("apply DMARC: mailplan", measure([mailplan, "apply", plans[(1, 0)], "--auto-approve"] + P, env=env))
            rec(f"floor: DMARC PATCHes, one curl --parallel-max {par}", measure(curl(cfg[("dmarc-patch", 0)]), env=env))
            rec(f"floor: DMARC GET+PATCH per zone, one curl --parallel-max {par}", measure(curl(cfg[("dmarc-all", 1)]), env=env))
            if not a.skip_octodns:
                rec(f"apply DMARC: octoDNS max_workers={par}", measure([octosync, "--config-file", octo[(1, par)], "--doit", "--force"], env=env))
            measure([mailplan, "apply", base, "--auto-approve"] + P, env=env)
            # SPF: the apex TXT also holds a foreign value, so it is read again before the write.
            rec("apply SPF: mailplan", measure([mailplan, "apply", plans[(0, 1)], "--auto-approve"] + P, env=env))
            rec(f"floor: SPF PATCHes, one curl --parallel-max {par}", measure(curl(cfg[("spf-patch", 0)]), env=env))
            rec(f"floor: SPF GET+GET+PATCH per zone, one curl --parallel-max {par}", measure(curl(cfg[("spf-all", 1)]), env=env))
            measure([mailplan, "apply", base, "--auto-approve"] + P, env=env)
            chk = measure([mailplan, "plan", base, "--detailed-exitcode"] + P, env=env, ok=(0, 2))
            if chk["rc"] != 0:
                raise RuntimeError("the floors left the zones in another state than the base plan")
        # The scale series: no-change plans over 100 … 10,000 zones of the same server.
        series = []
        for k in scale:
            sp = os.path.join(WORK, f"plan-scale-{k}.yaml")
            write_mailplan_plan(k, 0, sp)
            g = curl_config(os.path.join(WORK, f"gets-{k}.txt"), [get(i) for i in range(1, k + 1)])
            runs = [measure([mailplan, "plan", sp, "--detailed-exitcode"] + P, env=env) for _ in range(a.rounds)]
            fl = [measure(curl(g), env=env) for _ in range(a.rounds)]
            va = [measure([mailplan, "validate", sp], env=env) for _ in range(a.rounds)]
            m = lambda rs, f: statistics.median(r[f] for r in rs)
            series.append((k, m(runs, "wall"), m(runs, "rss"), m(fl, "wall"), m(va, "wall"), m(va, "rss")))
        med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu", "rss")} for k, v in rows.items()}
        W = lambda k: med[k]["wall"]
        getf = W(f"floor: GETs, one curl --parallel-max {par}")
        cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
        load = open("/proc/loadavg").read().split()[:3]
        out = [f"# mailplan benchmark", "",
               f"Machine: {platform.machine()}, {os.cpu_count()} cores, {cpu}; {platform.platform()}; load average at the end {' '.join(load)}",
               f"PowerDNS 4.7 (gsqlite3) on loopback, {total} zones of ~40 records loaded straight into its sqlite database in one transaction",
               f"(verified by a listing); runs over {n} zones; parallelism {par}; median of {a.rounds} rounds, ratios within this one run.",
               f"Sanity: a no-change `mailplan plan --detailed-exitcode` exited {sanity['rc']} (0 = no changes); its JSON counts "
               f"{requests.get('pdns', '?')} requests to PowerDNS for {n} zones (one GET per zone).",
               "", "| run | wall s | CPU s | peak RSS MB |", "|---|---:|---:|---:|"]
        for k, v in med.items():
            out.append(f"| {k} | {v['wall']:.2f} | {v['cpu']:.2f} | {v['rss']:.1f} |")
        vmed = statistics.median(r["wall"] for r in validate) * 1000
        out += ["", "| ratio | value | target |", "|---|---:|---|"]
        if not a.skip_octodns:
            out.append(f"| plan: octoDNS / mailplan (same parallelism) | {W(f'plan: octoDNS max_workers={par}') / W('plan: mailplan'):.1f}× | ≥ 12× |")
        out.append(f"| plan: mailplan / GET floor (one curl process) | {W('plan: mailplan') / getf:.2f}× | ≤ 1.15× |")
        for what, pf, allf in (("DMARC", "floor: DMARC PATCHes", "floor: DMARC GET+PATCH per zone"), ("SPF", "floor: SPF PATCHes", "floor: SPF GET+GET+PATCH per zone")):
            pw = W(f"{pf}, one curl --parallel-max {par}")
            aw = W(f"{allf}, one curl --parallel-max {par}")
            mp = W(f"apply {what}: mailplan")
            out.append(f"| apply {what}: mailplan / max(GET floor, PATCH floor) | {mp / max(getf, pw):.2f}× | ≤ 1.25× |")
            out.append(f"| apply {what}: mailplan / the same requests from one curl process | {mp / aw:.2f}× | |")
        if not a.skip_octodns:
            out.append(f"| apply DMARC: octoDNS / mailplan | {W(f'apply DMARC: octoDNS max_workers={par}') / W('apply DMARC: mailplan'):.1f}× | |")
        out.append(f"| `mailplan validate plans/example.yaml` (median of 10) | {vmed:.0f} ms | < 50 ms |")
        out += ["", "Scale series (no-change plan; the same PowerDNS):", "",
                "| zones | mailplan plan s | plan peak RSS MB | GET floor s | plan / floor | validate s | validate peak RSS MB |",
                "|---:|---:|---:|---:|---:|---:|---:|"]
        for k, w, r, f, vw, vr in series:
            out.append(f"| {k} | {w:.2f} | {r:.1f} | {f:.2f} | {w / f:.2f}× | {vw:.2f} | {vr:.1f} |")
        if len(series) > 1:
            (k0, _, r0, *_), (k1, _, r1, *_) = series[0], series[-1]
            out.append(f"\nPlan peak RSS grows {(r1 - r0) / (k1 - k0) * 1000:.1f} MB per 1,000 zones from {k0} to {k1} zones "
                       f"(target: flat, ≤ 80 MB at 10,000 zones).")
        if not a.skip_extras:
            for script in ("requests.py", "ratelimit.py", "zonefile.py", "validate_scale.py"):
                path = os.path.join(HERE, script)
                if os.path.exists(path):
                    print(f"running bench/{script}", file=sys.stderr)
                    r = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True)
                    out += ["", r.stdout.strip() if r.returncode == 0 else f"bench/{script} failed (exit {r.returncode}): {r.stderr.strip()[-800:]}"]
        text = "\n".join(out) + "\n"
        print(text)
        open(os.path.join(HERE, "results.md"), "w").write(text)
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "servers"), "stop", "pdns"], env=senv, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
