#!/usr/bin/env python3
"""Turn what the benchmarks printed (bench/run's results folder) into
build/bench/results.json and results.md: each figure a median with its
spread (min..max) over interleaved rounds, beside its baseline of the same
run.  usage: report.py RESULTS_DIR OUT_DIR"""
import json
import os
import re
import statistics
import sys


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "rounds": len(values)}


def round_trips(path):
    """Per system and client count: rates, latency, and ratio to virtlockd.
    Rounds were interleaved, so round i of each system ran side by side: the
    ratio's spread is over the per-round ratios."""
    with open(path) as f:
        data = json.load(f)
    rows = []
    base = {r["clients"]: r for r in data["results"] if r["system"] == "virtlockd"}
    for r in data["results"]:
        row = {"system": r["system"], "clients": r["clients"], "round_trips_per_s": spread(r["rates"]),
               "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "worst_ms": r["worst_ms"]}
        b = base.get(r["clients"])
        if b and r["system"] != "virtlockd":
            row["ratio_to_virtlockd"] = spread([x / y for x, y in zip(r["rates"], b["rates"]) if y > 0])
        rows.append(row)
    return {"rounds": data["rounds"], "iterations_per_client": data["iterations"], "rows": rows}


ENFORCE_ROW = re.compile(r"^(?P<case>\S.*?)\s{2,}(?P<table>\S.*?)\s{2,}(?P<base>[\d.]+)\s+(?P<with>[\d.]+)\s+"
                         r"(?P<ratio>[\d.]+)x\s+(?P<bpf>[\d.]+)\s+(?P<pct>[\d.]+)%")


def enforcement(text):
    """The rows of enforce_cost's table (its own rounds; it prints the best)."""
    rows = []
    for line in text.splitlines():
        m = ENFORCE_ROW.match(line)
        if m:
            rows.append({"case": m["case"].strip(), "table": m["table"], "no_prog_ns": float(m["base"]),
                         "with_prog_ns": float(m["with"]), "ratio": float(m["ratio"]),
                         "bpf_stats_ns": float(m["bpf"]), "bpf_share_pct": float(m["pct"])})
    return rows


def markdown(res):
    out = ["# lockwarden benchmarks", ""]
    if res.get("guest"):
        out += [f"Guest: {res['guest']}", ""]
    rt = res.get("lease_round_trips")
    if rt:
        out += [f"## Lease round trips (acquire + release), {rt['rounds']} interleaved rounds of "
                f"{rt['iterations_per_client']} per client", "",
                "| system | clients | round trips/s median (min..max) | ratio to virtlockd median (min..max) "
                "| p50 ms | p99 ms | worst ms |", "|---|---|---|---|---|---|---|"]
        for r in rt["rows"]:
            s = r["round_trips_per_s"]
            ratio = r.get("ratio_to_virtlockd")
            ratio_text = f"{ratio['median']:.2f}x ({ratio['min']:.2f}..{ratio['max']:.2f})" if ratio else "baseline"
            out.append(f"| {r['system']} | {r['clients']} | {s['median']:.1f} ({s['min']:.1f}..{s['max']:.1f}) "
                       f"| {ratio_text} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['worst_ms']:.1f} |")
        out.append("")
    for name, bench in sorted(res.get("benchmarks", {}).items()):
        out += [f"## {name}", ""]
        if bench.get("rows"):
            out += ["| case | table | no prog ns | with prog ns | ratio | bpf_stats ns | bpf share |",
                    "|---|---|---|---|---|---|---|"]
            for r in bench["rows"]:
                out.append(f"| {r['case']} | {r['table']} | {r['no_prog_ns']:.0f} | {r['with_prog_ns']:.0f} "
                           f"| {r['ratio']:.2f}x | {r['bpf_stats_ns']:.0f} | {r['bpf_share_pct']:.2f}% |")
            out.append("")
        out += ["```", bench["output"].rstrip(), "```", ""]
    return "\n".join(out)


def main():
    results, out_dir = sys.argv[1], sys.argv[2]
    res = {"benchmarks": {}}
    status = 0
    guest = os.path.join(results, "guest.txt")
    if os.path.exists(guest):
        cpus, kernel = (open(guest).read().split() + ["?", "?"])[:2]
        res["guest"] = f"{cpus} CPU(s), kernel {kernel}"
    rt = os.path.join(results, "lease_roundtrip.json")
    try:
        res["lease_round_trips"] = round_trips(rt)
    except (OSError, ValueError, KeyError) as e:
        print(f"bench/report: no lease round trips: {e}", file=sys.stderr)
        status = 1
    for name in sorted(os.listdir(results)):
        if not name.endswith(".txt") or name == "guest.txt":
            continue
        text = open(os.path.join(results, name), errors="replace").read()
        res["benchmarks"][name[:-4]] = {"output": text, "rows": enforcement(text)}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(markdown(res))
    print(f"bench: wrote {out_dir}/results.json and {out_dir}/results.md")
    return status


if __name__ == "__main__":
    sys.exit(main())
