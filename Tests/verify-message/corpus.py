#!/usr/bin/env python3
"""Cross-check corpus for `mailplan verify-message` (Tests/IntegrationTests/VerifyMessageCorpusTests.swift).

  corpus.py generate OUT RUNID   keys (dkimpy's dknewkey), zones.json (the RRsets to serve),
                                 messages OUT/msg/NNN.eml signed with dkimpy, cases.json
  corpus.py sign KEY SELECTOR DOMAIN [ed25519] < MSG
                                 the message signed by dkimpy with l= (dkimsign has no option
                                 for it), relaxed/relaxed, From To Subject signed
  corpus.py verify OUT DNS       expected.json: each message verified by dkimpy (every
                                 DKIM-Signature, DKIM.verify(idx)), pyspf through authheaders
                                 (check_spf) and authheaders' DMARC (check_dmarc), all asking
                                 the real DNS server DNS (ADDR:PORT) through dnspython.

Nothing here is committed output: the Swift test runs both steps in a temporary directory.

The corpus stays inside what RFC 6376/7208/7489 define and dkimpy/authheaders implement
the same way. Known differences of the references are avoided by construction, not papered
over in the comparison:
- authheaders applies `sp=` also to a From domain that has its own record or is the
  Organizational Domain, so records at a domain used as From carry no `sp=`;
- authheaders' DKIM result is the first signature only: DMARC is computed with its
  check_dmarc once per signature and passes when one does (RFC 7489 §4.2: any aligned pass);
- dkimpy allows x= up to 10 hours past and t= in the future: expired signatures here are
  days past, and no t= is in the future;
- dkimpy ignores a key's h= and t=s flags: rsa-sha1 is signed only with a key without h=
  (selector legacy), and no key has t=s.
"""
import base64, hashlib, json, os, random, re, subprocess, sys, time, types

VENV_BIN = os.path.dirname(sys.executable)
PSL = "/usr/share/publicsuffix/public_suffix_list.dat"


def zones_for(run):
    # From domains live in org (Z), subpol (S), nodmarc (N), quar (Q) and U; O signs
    # unaligned. All are under suffixes of the Public Suffix List (co.uk, org.uk, me.uk,
    # ltd.uk), so the Organizational Domain needs the list: publicsuffix2, which authheaders
    # uses, takes the bare TLD as the Organizational Domain under a TLD the list lacks
    # (.example), where the list's algorithm (and mailplan) take two labels. Served only by
    # the PowerDNS on loopback.
    return {
        "Z": f"org{run}.co.uk", "S": f"subpol{run}.org.uk", "N": f"nodmarc{run}.co.uk",
        "Q": f"quar{run}.me.uk", "U": f"uk{run}.ltd.uk", "O": f"other{run}.co.uk",
    }


def keygen(out):
    keys = {}
    for name, ktype in [("rsa", "rsa"), ("ed", "ed25519")]:
        base = os.path.join(out, name)
        subprocess.run([os.path.join(VENV_BIN, "dknewkey"), "--ktype", ktype, base], check=True, capture_output=True)
        priv = open(base + ".key", "rb").read()
        dns = open(base + ".dns").read().strip()
        keys[name] = {"private": priv, "dns": dns}
    return keys


def build_zones(z, keys):
    rsa, ed = keys["rsa"]["dns"], keys["ed"]["dns"]
    Z, S, N, Q, U, O = z["Z"], z["S"], z["N"], z["Q"], z["U"], z["O"]
    def apex(d, spf, dmarc=None, extra=()):
        r = [(d, "MX", [f"10 mx.{d}."]), (f"mx.{d}", "A", ["192.0.2.25"]), (d, "A", ["192.0.2.80"])]
        if spf: r.append((d, "TXT", [spf]))
        if dmarc: r.append((f"_dmarc.{d}", "TXT", [dmarc]))
        r.append((f"s1._domainkey.{d}", "TXT", [rsa]))
        r.append((f"ed._domainkey.{d}", "TXT", [ed]))
        return r + list(extra)
    zones = {
        Z: apex(Z, f"v=spf1 mx ip4:198.51.100.7 include:_spf.{Z} -all", "v=DMARC1; p=reject; np=quarantine; rua=mailto:dmarc@" + Z, [
            (f"_spf.{Z}", "TXT", ["v=spf1 ip4:203.0.113.0/28 -all"]),
            (f"sub.{Z}", "A", ["192.0.2.81"]), (f"sub.{Z}", "TXT", [f"v=spf1 a:mx.{Z} ~all"]),
            (f"neutral.{Z}", "A", ["192.0.2.82"]), (f"neutral.{Z}", "TXT", ["v=spf1 ?all"]),
            (f"redir.{Z}", "A", ["192.0.2.83"]), (f"redir.{Z}", "TXT", [f"v=spf1 redirect=_spf.{Z}"]),
            (f"old._domainkey.{Z}", "TXT", ["v=DKIM1; k=rsa; p="]),
            (f"spf._domainkey.{Z}", "TXT", ["v=spf1 -all"]),
            (f"test._domainkey.{Z}", "TXT", [rsa.replace("v=DKIM1;", "v=DKIM1; t=y;", 1)]),
            # dknewkey writes h=sha256; rsa-sha1 needs a key without it.
            (f"legacy._domainkey.{Z}", "TXT", [rsa.replace(" h=sha256;", "")]),
        ]),
        S: apex(S, "v=spf1 ip4:198.51.100.8 -all", "v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; aspf=r", [
            (f"sub.{S}", "A", ["192.0.2.84"]), (f"sub.{S}", "TXT", ["v=spf1 ip4:198.51.100.8 -all"]),
        ]),
        N: apex(N, "v=spf1 ip4:198.51.100.9 -all"),
        Q: apex(Q, "v=spf1 ip4:198.51.100.10 ~all", "v=DMARC1; p=quarantine; pct=50; adkim=s; aspf=s", [
            (f"sub.{Q}", "A", ["192.0.2.85"]), (f"sub.{Q}", "TXT", ["v=spf1 ip4:198.51.100.10 -all"]),
        ]),
        U: apex(U, "v=spf1 ip4:198.51.100.11 -all", "v=DMARC1; p=reject", [
            (f"mail.{U}", "A", ["192.0.2.86"]), (f"mail.{U}", "TXT", ["v=spf1 ip4:198.51.100.11 -all"]),
        ]),
        O: apex(O, "v=spf1 ip4:198.51.100.99 -all"),
    }
    return {zone: [{"name": n + ".", "type": t, "values": v} for n, t, v in recs] for zone, recs in zones.items()}


def sign(msg, sel, dom, key, alg=b"rsa-sha256", canon=(b"relaxed", b"relaxed"), headers=None, length=False,
         identity=None, t=None, x=None):
    """dkimpy's DKIM.sign, with t=/x= settable (DKIM.sign always writes t=now and no x=):
    the same field list handed to dkimpy's own gen_header, which computes b=."""
    import dkim
    from dkim.canonicalization import CanonicalizationPolicy
    from dkim.crypto import parse_pem_private_key
    d = dkim.DKIM(msg, signature_algorithm=alg)
    if t is None and x is None:
        return d.sign(sel, dom, key, identity=identity, canonicalize=canon, include_headers=headers, length=length) + msg
    if alg == b"ed25519-sha256":
        import nacl.signing, nacl.encoding
        pk = nacl.signing.SigningKey(key, encoder=nacl.encoding.Base64Encoder)
    else:
        pk = parse_pem_private_key(key)
    policy = CanonicalizationPolicy.from_c_value(b"/".join(canon))
    include = tuple(h.lower() for h in (headers or d.default_sign_headers()))
    d.include_headers = include
    body = policy.canonicalize_body(d.body)
    d.hasher = dkim.HASH_ALGORITHMS[alg]
    bh = base64.b64encode(d.hasher(body).digest())
    fields = [f for f in [
        (b"v", b"1"), (b"a", alg), (b"c", policy.to_c_value()), (b"d", dom), (b"i", identity or b"@" + dom),
        length and (b"l", str(len(body)).encode()), (b"q", b"dns/txt"), (b"s", sel),
        t is not None and (b"t", str(t).encode()), x is not None and (b"x", str(x).encode()),
        (b"h", b" : ".join(include)), (b"bh", bh), (b"b", b"0" * 60)] if f]
    return b"DKIM-Signature: " + d.gen_header(fields, include, policy, b"DKIM-Signature", pk) + msg


def base_message(i, from_addr, rng):
    subject = rng.choice(["Hello", "Quarterly report", "Invoice " + str(i), "A very long subject line " * 4])
    lines = [f"Line {n} of message {i}, with  two spaces and a tab\there." for n in range(rng.randint(1, 12))]
    if rng.random() < 0.3: lines += ["", "   ", ""]  # empty and blank lines at the end
    hdr = [f"From: Sender {i} <{from_addr}>", f"To: Receiver <rcpt{i}@receiver.example>", f"Subject: {subject}",
           "Date: Tue, 01 Dec 2026 10:00:00 +0000", f"Message-ID: <m{i}.{rng.randint(0, 1 << 30)}@corpus.example>",
           "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    if len(subject) > 70:  # fold it (RFC 5322 §2.2.3)
        hdr[2] = "Subject: " + subject[:40] + "\r\n\t" + subject[40:]
    return ("\r\n".join(hdr) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n").encode()


SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


def scenario(i, rng, z, keys):
    """One message: (bytes, description, envelope)."""
    Z, S, N, Q, U, O = z["Z"], z["S"], z["N"], z["Q"], z["U"], z["O"]
    rsa, ed = keys["rsa"]["private"], base64.b64encode(base64.b64decode(keys["ed"]["private"]))
    froms = [Z, f"sub.{Z}", f"ghost.{Z}", f"sub.{S}", f"ghost.{S}", N, Q, f"sub.{Q}", f"mail.{U}"]
    from_dom = froms[i % len(froms)]
    org = {f"sub.{Z}": Z, f"ghost.{Z}": Z, f"sub.{S}": S, f"ghost.{S}": S, f"sub.{Q}": Q, f"mail.{U}": U}.get(from_dom, from_dom)
    msg = base_message(i, f"user{i}@{from_dom}", rng)
    kinds = ["plain", "simple", "ed25519", "mixedcanon", "folded", "reorder", "dupsubject-top", "dupsubject-bottom",
             "oversigned", "dupfrom", "l-append", "l-edit", "append", "body-byte", "body-ws", "trailing-lines",
             "header-edit", "header-ws", "header-case", "unsigned-edit", "expired", "not-expired", "revoked",
             "nokey", "notdkim", "unaligned", "orgsigned", "identity", "two-sigs", "sha1", "testing", "bad-b",
             "unsigned"]
    kind = kinds[(i // len(froms) + i) % len(kinds)]
    dom = org.encode()
    desc = f"{kind} from {from_dom}"
    canon = rng.choice([(b"relaxed", b"relaxed"), (b"simple", b"simple"), (b"relaxed", b"simple"), (b"simple", b"relaxed")])

    def s(m, sel=b"s1", d=dom, key=rsa, **kw):
        kw.setdefault("canon", canon)
        kw.setdefault("headers", SIGNED)
        return sign(m, sel, d, key, **kw)

    if kind == "plain": out = s(msg, canon=(b"relaxed", b"relaxed"))
    elif kind == "simple": out = s(msg, canon=(b"simple", b"simple"))
    elif kind == "ed25519": out = s(msg, sel=b"ed", key=ed, alg=b"ed25519-sha256")
    elif kind == "mixedcanon": out = s(msg, sel=b"ed", key=ed, alg=b"ed25519-sha256", canon=(b"simple", b"relaxed"))
    elif kind == "folded":
        m = msg.replace(b"To: Receiver <", b"To: Receiver\r\n  <", 1)
        out = s(m)
    elif kind == "reorder":
        out = s(msg)
        hdr, body = out.split(b"\r\n\r\n", 1)
        lines = re.split(rb"\r\n(?![ \t])", hdr)
        sig, rest = lines[0], lines[1:]
        rng.shuffle(rest)  # fields of different names: their order is not signed
        out = b"\r\n".join([sig] + rest) + b"\r\n\r\n" + body
    elif kind == "dupsubject-top":
        out = s(msg)
        out = b"Subject: added on top\r\n" + out  # above the signed one: the bottom one is signed
    elif kind == "dupsubject-bottom":
        out = s(msg)
        out = out.replace(b"\r\n\r\n", b"\r\nSubject: added below\r\n\r\n", 1)
    elif kind == "oversigned":
        out = s(msg, headers=SIGNED + [b"subject", b"to"])
        if rng.random() < 0.5: out = b"Subject: added on top\r\n" + out
    elif kind == "dupfrom":
        out = s(msg)
        extra = f"From: second <other@{from_dom}>\r\n".encode()
        # Above the signed From (not covered by h=, but an added From fails: RFC 6376 §8.15),
        # or below it (then it is the instance h= selects).
        out = extra + out if i % 2 else out.replace(b"\r\n\r\n", b"\r\n" + extra + b"\r\n", 1)
    elif kind == "l-append":
        out = s(msg, length=True) + b"-- \r\nappended by a list\r\n"
    elif kind == "l-edit":
        out = s(msg, length=True).replace(b"Line 0", b"Line O", 1)
    elif kind == "append": out = s(msg) + b"appended footer\r\n"
    elif kind == "body-byte":
        out = s(msg)
        pos = out.index(b"\r\n\r\n") + 4
        out = out[:pos] + (b"X" if out[pos:pos + 1] != b"X" else b"Y") + out[pos + 1:]
    elif kind == "body-ws": out = s(msg).replace(b"two spaces", b"two   spaces", 1)
    elif kind == "trailing-lines": out = s(msg) + b"\r\n\r\n\r\n"
    elif kind == "header-edit": out = s(msg).replace(b"To: Receiver", b"To: Attacker", 1)
    elif kind == "header-ws": out = s(msg).replace(b"Subject: ", b"Subject:    ", 1)
    elif kind == "header-case": out = s(msg).replace(b"\r\nSubject:", b"\r\nSUBJECT:", 1)
    elif kind == "unsigned-edit":
        out = s(msg, headers=[b"from", b"subject", b"date"]).replace(b"To: Receiver", b"To: Changed", 1)
    elif kind == "expired":
        out = s(msg, t=int(time.time()) - 20 * 86400, x=int(time.time()) - 10 * 86400)
    elif kind == "not-expired":
        out = s(msg, t=int(time.time()) - 3600, x=int(time.time()) + 30 * 86400)
    elif kind == "revoked": out = s(msg, sel=b"old")
    elif kind == "nokey": out = s(msg, sel=b"gone")
    elif kind == "notdkim": out = s(msg, sel=b"spf")
    elif kind == "unaligned": out = s(msg, d=O.encode())
    elif kind == "orgsigned": out = s(msg, d=org.encode())
    elif kind == "identity": out = s(msg, identity=b"user@mail." + dom if org != from_dom else b"@" + dom)
    elif kind == "two-sigs":
        first = s(msg, sel=b"gone")
        out = s(first, sel=b"ed", key=ed, alg=b"ed25519-sha256")
        if rng.random() < 0.5: out = out.replace(b"Line 0", b"Line O", 1)
    elif kind == "sha1": out = s(msg, sel=b"legacy" if org == Z else b"gone", alg=b"rsa-sha1")
    elif kind == "testing": out = s(msg, sel=b"test")
    elif kind == "bad-b":
        out = s(msg)
        out = re.sub(rb"b=([A-Za-z0-9+/]{10})", rb"b=\1!*", out, count=1)
    else: out = msg

    # The SMTP session: aligned pass, unaligned pass, fail, softfail, neutral, none.
    ip_for = {Z: "198.51.100.7", S: "198.51.100.8", N: "198.51.100.9", Q: "198.51.100.10", U: "198.51.100.11"}
    env = rng.choice([
        (ip_for[org], f"bounce@{org}"),
        (ip_for[org], f"bounce@{from_dom}"),
        ("198.51.100.99", f"bounce@{O}"),
        ("192.0.2.25", f"bounce@{Z}"),          # the MX host: pass for Z
        ("203.0.113.5", f"bounce@{Z}"),         # the include
        ("203.0.113.99", f"bounce@{Z}"),        # fail
        ("192.0.2.99", f"bounce@sub.{Z}"),      # softfail
        ("192.0.2.99", f"bounce@neutral.{Z}"),  # neutral
        ("203.0.113.6", f"bounce@redir.{Z}"),   # redirect
        ("192.0.2.99", f"bounce@nospf.{Z}"),    # none
    ])
    return out, desc, {"ip": env[0], "mail_from": env[1], "helo": f"mx.{org}"}


def generate(out, run, count=240):
    os.makedirs(os.path.join(out, "msg"), exist_ok=True)
    z = zones_for(run)
    keys = keygen(out)
    json.dump(build_zones(z, keys), open(os.path.join(out, "zones.json"), "w"), indent=1)
    rng = random.Random(16)
    cases = []
    for i in range(count):
        m, desc, env = scenario(i, rng, z, keys)
        path = os.path.join(out, "msg", f"{i:03d}.eml")
        open(path, "wb").write(m)
        cases.append(dict(env, file=path, description=desc))
    json.dump(cases, open(os.path.join(out, "cases.json"), "w"), indent=1)


def verify(out, server):
    import dns.resolver
    host, port = server.rsplit(":", 1)
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [host]
    r.port = int(port)
    r.timeout = r.lifetime = 3
    dns.resolver.default_resolver = r
    # Debian's python3-authheaders reads the Public Suffix List of the publicsuffix package
    # through this module; the same file mailplan reads.
    sys.modules["authheaders.findpsl"] = types.SimpleNamespace(location=PSL)
    import dkim, spf, authheaders
    from authres import DKIMAuthenticationResult
    results = []
    for c in json.load(open(os.path.join(out, "cases.json"))):
        msg = open(c["file"], "rb").read()
        sigs = []
        try:
            d = dkim.DKIM(msg)
            n = len([1 for x, _ in d.headers if x.lower() == b"dkim-signature"])
        except Exception:
            n = 0
        dk = []
        for idx in range(n):
            d = dkim.DKIM(msg)
            try:
                ok = bool(d.verify(idx=idx))
            except Exception:
                ok = False
            dom = (d.signature_fields or {}).get(b"d", b"").decode("ascii", "replace") if hasattr(d, "signature_fields") else ""
            sigs.append(ok)
            dk.append(DKIMAuthenticationResult(result="pass" if ok else "fail", header_d=dom, header_i=""))
        spf_res = authheaders.check_spf(c["ip"], c["mail_from"], c["helo"])
        dmarcs = [authheaders.check_dmarc(msg, spf_result=authheaders.check_spf(c["ip"], c["mail_from"], c["helo"]), dkim_result=k) for k in (dk or [None])]
        passing = [x for x in dmarcs if x.result == "pass"]
        dm = (passing or dmarcs)[0]
        results.append({"file": c["file"], "dkim": sigs, "spf": spf_res.result, "dmarc": dm.result,
                        "policy": getattr(dm, "policy", None) or None})
    json.dump(results, open(os.path.join(out, "expected.json"), "w"), indent=1)


if __name__ == "__main__":
    if sys.argv[1] == "generate": generate(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "verify": verify(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "sign":
        key = open(sys.argv[2], "rb").read().strip()
        ed = len(sys.argv) > 5 and sys.argv[5] == "ed25519"
        out = sign(sys.stdin.buffer.read(), sys.argv[3].encode(), sys.argv[4].encode(), key,
                   alg=b"ed25519-sha256" if ed else b"rsa-sha256", length=True, headers=[b"from", b"to", b"subject"])
        sys.stdout.buffer.write(out)
    else: sys.exit("usage: corpus.py generate OUT RUNID | verify OUT ADDR:PORT | sign KEY SELECTOR DOMAIN [ed25519]")
