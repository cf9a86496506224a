#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
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


RATIO = re.compile(r"^(?P<median>[\d.]+)x \((?P<min>[\d.]+)\.\.(?P<max>[\d.]+)\)$")


def ratio(text):
    m = RATIO.match(text.strip())
    return {"median": float(m["median"]), "min": float(m["min"]), "max": float(m["max"])} if m else None


def enforcement(text):
    """The rows of enforce_cost's markdown table (interleaved rounds: the
    ratios are medians with their range over the rounds)."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 8 or not cells[3].isdigit():
            continue
        rows.append({"case": cells[0], "table": cells[1], "program": cells[2],
                     "no_prog_ns": float(cells[3]), "with_prog_ns": float(cells[4]),
                     "ratio": ratio(cells[5]), "ratio_of_median_blocks": ratio(cells[6]),
                     "bpf_stats_ns": float(cells[7])})
    return rows


ENFORCERS = re.compile(r"^(?P<case>\S.*?)\s+(?P<none>\d+)\s+(?P<bpf>\d+)\s+(?P<bpf_ratio>[\d.]+)x"
                       r"\s+(?P<fan>\d+)\s+(?P<fan_ratio>[\d.]+)x$")


def enforcers(text):
    """The rows of enforcer_compare's table: median ns per open with no
    enforcer, bpf-lsm and fanotify, from rounds interleaved in one boot."""
    return [{"case": m["case"], "none_ns": float(m["none"]), "bpf_lsm_ns": float(m["bpf"]),
             "bpf_lsm_ratio": float(m["bpf_ratio"]), "fanotify_ns": float(m["fan"]),
             "fanotify_ratio": float(m["fan_ratio"])}
            for m in map(ENFORCERS.match, text.splitlines()) if m]


def paxos(text):
    """paxos_roundtrip's JSON object: round trips through lockwardend's paxos
    backend and through raw sanlock, rounds interleaved in one guest."""
    for line in text.splitlines():
        if line.startswith("{") and "ratio_raw_over_lockwarden" in line:
            return json.loads(line)
    return None


def spread_text(r):
    return f"{r['median']:.3f}x ({r['min']:.3f}..{r['max']:.3f})" if r else "?"


SCALE_ROWS = [
    ("leases held (of wanted)", lambda s: f"{s['leases_held']} of {s['leases_wanted']}"
     + (f" (acquire failed: {s['acquire_error']})" if s["acquire_error"] else
        f" ({s['budget_seconds']:.0f} s budget)" if s["leases_held"] < s["leases_wanted"] else "")),
    ("acquire, first thousand, ms each", lambda s: f"{s['acquire_ms_first_1000']:.1f}"),
    ("acquire, last thousand, ms each", lambda s: f"{s['acquire_ms_last_1000']:.1f}"),
    ("daemon RSS MiB", lambda s: f"{s['daemon_rss_kb'] / 1024:.1f}"),
    ("daemon descriptors", lambda s: f"{s['daemon_fds']}"),
    ("keeper RSS MiB / descriptors", lambda s: f"{s['keeper_rss_kb'] / 1024:.1f} / {s['keeper_fds']}"),
    ("list, s (leases listed)", lambda s: f"{s['list_seconds']:.2f} ({s['list_leases']})"
     + (f", failed: {s['list_error']}" if s["list_error"] else "")),
    ("list reply bytes; leases of these paths that fit the client's 16 MiB", lambda s:
     f"{s.get('list_reply_bytes', -1)}; {s.get('list_leases_within_client_cap', -1):.0f}"),
    ("after kill -9: status answers after s", lambda s: f"{s['restart_status_answers_s']:.2f}"
     + (" (before re-adoption ended)" if 0 <= s["restart_status_answers_s"] < s["readoption_s"]
        else " (only once re-adoption ended)" if s["readoption_s"] >= 0 else "")),
    ("after kill -9: every lease back after s", lambda s: f"{s['readoption_s']:.2f}"
     + f" ({s['leases_after_restart']} leases)"),
    ("holder killed: no lease left after s", lambda s: f"{s['holder_death_release_s']:.2f}"),
    ("slowest status answer meanwhile, s", lambda s: f"{s['slowest_status_during_release_s']:.2f}"),
]


def headline(res):
    """The figures the performance goals name, from the tables below: open
    cost and round trips to virtlockd on the instruction clock (the wall
    clock's spread hides a few percent), scale, paxos."""
    out = []
    for name, clock in (("enforce_cost_icount", "instruction clock"), ("enforce_cost", "wall clock")):
        all_rows = res.get("benchmarks", {}).get(name, {}).get("rows") or []
        rows = [r for r in all_rows if "(this build)" in r["program"]]
        if not rows:
            continue
        floor = {(r["case"], r["table"]): r["ratio"] for r in all_rows if "(the floor)" in r["program"]}
        tables = list(dict.fromkeys(r["table"] for r in rows))
        cases = list(dict.fromkeys(r["case"] for r in rows))
        ratios = {(r["case"], r["table"]): (f"{r['ratio']['median']:.3f}x" if r["ratio"] else "?")
                  + (f" ({floor[r['case'], r['table']]['median']:.3f}x)" if floor.get((r["case"], r["table"])) else "")
                  for r in rows}
        out += [f"Open cost, with this build's program over without ({clock}, median of the rounds; "
                "in brackets a program that decides nothing, the floor of any program on the hook):", "",
                "| open | " + " | ".join(tables) + " |", "|---" * (len(tables) + 1) + "|"]
        out += [f"| {c} | " + " | ".join(ratios.get((c, t), "") for t in tables) + " |" for c in cases]
        out.append("")
    rt = res.get("lease_round_trips_icount") or {}
    for r in rt.get("rows", []):
        ratio = r.get("ratio_to_virtlockd")
        if ratio:
            out.append(f"- {r['system']}, {r['clients']} client(s): {ratio['median']:.2f}x virtlockd's round "
                       f"trips/s ({ratio['min']:.2f}..{ratio['max']:.2f}), p99 {r['p99_ms']:.2f} ms")
    sc = res.get("scale")
    if sc:
        out.append(f"- scale: {sc['leases_held']} of {sc['leases_wanted']} leases held; acquire "
                   f"{sc['acquire_ms_first_1000']:.1f} ms each over the first thousand, "
                   f"{sc['acquire_ms_last_1000']:.1f} over the last; daemon RSS "
                   f"{sc['daemon_rss_kb'] / 1024:.1f} MiB; after kill -9 status answers after "
                   f"{sc['restart_status_answers_s']:.2f} s, every lease back after {sc['readoption_s']:.2f} s")
    px = res.get("paxos_round_trips")
    if px:
        out.append(f"- paxos: raw sanlock {px['ratio_raw_over_lockwarden']:.2f}x lockwardend's round trips/s")
    if not out:
        return []
    return ["## Headline", "", "Round trips on the instruction clock (one vCPU), scale on the wall clock; "
            "ratios: median (min..max) over interleaved rounds.", ""] + out + [""]


def markdown(res):
    out = ["# lockwarden benchmarks", ""]
    if res.get("guest"):
        out += [f"Guest: {res['guest']}", ""]
    out += headline(res)
    for key, clock in (("lease_round_trips", ""),
                       ("lease_round_trips_icount", ", instruction-counting clock (one vCPU)")):
        rt = res.get(key)
        if not rt:
            continue
        out += [f"## Lease round trips (acquire + release){clock}, {rt['rounds']} interleaved rounds of "
                f"{rt['iterations_per_client']} per client", "",
                "| system | clients | round trips/s median (min..max) | ratio to virtlockd median (min..max) "
                "| p50 ms | p99 ms | worst ms |", "|---|---|---|---|---|---|---|"]
        for r in rt["rows"]:
            s = r["round_trips_per_s"]
            ratio = r.get("ratio_to_virtlockd")
            ratio_text = f"{ratio['median']:.2f}x ({ratio['min']:.2f}..{ratio['max']:.2f})" if ratio else "baseline"
            out.append(f"| {r['system']} | {r['clients']} | {s['median']:.1f} ({s['min']:.1f}..{s['max']:.1f}) "
                       f"| {ratio_text} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['worst_ms']:.2f} |")
        out.append("")
    sc = res.get("scale")
    if sc:
        out += [f"## Scale: one holder, up to {sc['leases_wanted']} leases, paths of {sc['path_len']} "
                "characters, fcntl backend, state on ext4", "", "| what | measured |", "|---|---|"]
        out += [f"| {name} | {fmt(sc)} |" for name, fmt in SCALE_ROWS]
        out.append("")
    px = res.get("paxos_round_trips")
    if px:
        out += [f"## Paxos lease round trips (acquire + release), {len(px['rounds'])} interleaved rounds of "
                f"{px['iterations']}", "", "| what | measured |", "|---|---|",
                f"| lockspace join, s | {px['join_seconds']:.1f} |",
                f"| raw sanlock, round trips/s | {px['raw_per_sec']:.1f} |",
                f"| through lockwardend, round trips/s | {px['lockwarden_per_sec']:.1f} |",
                f"| raw over lockwardend | {px['ratio_raw_over_lockwarden']:.2f}x |",
                f"| lockwardend acquire / release, ms | {px['lockwarden_acquire_ms']:.1f} / "
                f"{px['lockwarden_release_ms']:.1f} |", ""]
    for name, bench in sorted(res.get("benchmarks", {}).items()):
        out += [f"## {name}", ""]
        if bench.get("rows"):
            out += ["| case | table | program | no program ns | with program ns | ratio median (min..max) "
                    "| ratio of median blocks | bpf_stats ns/run |", "|---|---|---|---|---|---|---|---|"]
            for r in bench["rows"]:
                out.append(f"| {r['case']} | {r['table']} | {r['program']} | {r['no_prog_ns']:.0f} "
                           f"| {r['with_prog_ns']:.0f} | {spread_text(r['ratio'])} "
                           f"| {spread_text(r['ratio_of_median_blocks'])} | {r['bpf_stats_ns']:.0f} |")
            out.append("")
        if bench.get("enforcers"):
            out += ["| case | none ns | bpf-lsm ns | ratio | fanotify ns | ratio |", "|---|---|---|---|---|---|"]
            out += [f"| {r['case']} | {r['none_ns']:.0f} | {r['bpf_lsm_ns']:.0f} | {r['bpf_lsm_ratio']:.2f}x "
                    f"| {r['fanotify_ns']:.0f} | {r['fanotify_ratio']:.2f}x |" for r in bench["enforcers"]]
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
    for key, name in (("lease_round_trips", "lease_roundtrip"), ("lease_round_trips_icount", "lease_roundtrip_icount")):
        try:
            res[key] = round_trips(os.path.join(results, name + ".json"))
        except (OSError, ValueError, KeyError) as e:
            print(f"bench/report: no {name} figures: {e}", file=sys.stderr)
            status = 1
    try:
        with open(os.path.join(results, "scale.json")) as f:
            res["scale"] = json.load(f)
    except (OSError, ValueError) as e:
        print(f"bench/report: no scale figures: {e}", file=sys.stderr)
        status = 1
    for name in sorted(os.listdir(results)):
        if not name.endswith(".txt") or name == "guest.txt":
            continue
        text = open(os.path.join(results, name), errors="replace").read()
        res["benchmarks"][name[:-4]] = {"output": text, "rows": enforcement(text), "enforcers": enforcers(text)}
        if name == "paxos_roundtrip.txt":
            try:
                res["paxos_round_trips"] = paxos(text)
            except ValueError:
                res["paxos_round_trips"] = None
            if not res["paxos_round_trips"]:
                print("bench/report: paxos_roundtrip printed no figures", file=sys.stderr)
                status = 1
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(markdown(res))
    print(f"bench: wrote {out_dir}/results.json and {out_dir}/results.md")
    return status


if __name__ == "__main__":
    sys.exit(main())
