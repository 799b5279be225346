#!/usr/bin/env python3
"""Makes the click-xform fixtures: random configurations and pattern files
(patterns cut out of the configuration, so that they match), each run
through Click's own click-xform, whose output is kept beside them.

    CLICK_XFORM=/path/to/click/tools/click-xform/click-xform ./make.py

writes caseSEED.click, caseSEED.pat and caseSEED.click-xform for the first
COUNT seeds whose patterns replace something, and ip.click-xform for
ip.click with ip.pat (Click's ip.clickpat on its fake IP router).
"""
import os, random, subprocess

COUNT = 24
XFORM = os.environ.get("CLICK_XFORM", "click-xform")
CLASSES = ["A", "B", "C"]
CONFIGS = ["", "1", "2", "1, 2"]


def decl(name, cls, conf):
    return f"{name} :: {cls}({conf});" if conf else f"{name} :: {cls};"


def make(rng):
    n = rng.randint(4, 12)
    els = [(f"e{i}", rng.choice(CLASSES), rng.choice(CONFIGS)) for i in range(n)]
    conns = set()
    for i in range(n - 1):
        if rng.random() < 0.8:
            conns.add((i, rng.choice([0, 0, 1]), i + 1, rng.choice([0, 0, 0, 1])))
    for _ in range(rng.randint(0, 3)):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            conns.add((a, rng.choice([0, 1]), b, rng.choice([0, 1])))
    conns = sorted(conns)
    lines = [decl(*e) for e in els]
    lines += [f"{els[a][0]} [{fp}] -> [{tp}] {els[b][0]};" for a, fp, b, tp in conns]
    config = "\n".join(lines) + "\n"
    pats = []
    for k in range(rng.randint(1, 3)):
        start, size = rng.randrange(n), rng.randint(1, 3)
        sub = list(range(start, min(n, start + size)))
        body = []
        for i in sub:
            name, cls, conf = els[i]
            if conf and rng.random() < 0.5:
                conf = ", ".join(rng.choice(["$x", "$y", a]) for a in conf.split(", "))
            body.append(decl(f"p{i}", cls, conf))
        inputs, outputs = {}, {}
        for a, fp, b, tp in conns:
            if a in sub and b in sub:
                body.append(f"p{a} [{fp}] -> [{tp}] p{b};")
            elif b in sub:
                inputs.setdefault((b, tp), len(inputs))
            elif a in sub:
                outputs.setdefault((a, fp), len(outputs))
        body += [f"input [{p}] -> [{tp}] p{b};" for (b, tp), p in inputs.items()]
        body += [f"p{a} [{fp}] -> [{p}] output;" for (a, fp), p in outputs.items()]
        pats.append(f"elementclass Q{k} {{\n" + "\n".join(body) + "\n}\n")
        name = f"p{sub[0]}" if rng.random() < 0.5 else "r"
        rep = [decl(name, rng.choice(["D", "E"]), rng.choice(["$x", "$y", "$x, 3", ""]))]
        rep += [f"input [{p}] -> [{p}] {name};" for p in range(len(inputs))]
        rep += [f"{name} [{p}] -> [{p}] output;" for p in range(len(outputs))]
        if rng.random() < 0.3:
            rep.append(f"{name} [{len(outputs)}] -> x2 :: {rng.choice(CLASSES)}(1);")
        pats.append(f"elementclass Q{k}_Replacement {{\n" + "\n".join(rep) + "\n}\n")
    return config, "\n".join(pats)


def xform(config, patterns):
    r = subprocess.run([XFORM, "-p", patterns, config], capture_output=True,
                       text=True, timeout=10)
    return r.stdout if r.returncode == 0 else None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.chdir(here)
    made, seed = 0, 0
    while made < COUNT:
        config, patterns = make(random.Random(seed))
        name = f"case{seed}"
        with open(f"{name}.click", "w") as f:
            f.write(config)
        with open(f"{name}.pat", "w") as f:
            f.write(patterns)
        try:
            out = xform(f"{name}.click", f"{name}.pat")
        except subprocess.TimeoutExpired:
            out = None
        if out is not None and "Q" in out:
            with open(f"{name}.click-xform", "w") as f:
                f.write(out)
            made += 1
        else:
            os.remove(f"{name}.click")
            os.remove(f"{name}.pat")
        seed += 1
    with open("ip.click-xform", "w") as f:
        f.write(xform("ip.click", "ip.pat"))


if __name__ == "__main__":
    main()
