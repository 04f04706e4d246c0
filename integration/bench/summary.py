#!/usr/bin/env python3
"""Prints one table of every benchmark figure recorded in a results file (JSON lines written by
integration/bench/lib.sh's bench_record) and writes the same figures as one JSON document.

usage: summary.py RESULTS.jsonl OUT.json
"""
import json
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    records = []
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    print(f"{sys.argv[1]}:{number}: not a JSON record ({e})", file=sys.stderr)
                    return 1
    except FileNotFoundError:
        print(f"{sys.argv[1]}: no results (did a benchmark run?)", file=sys.stderr)
        return 1
    header = ("path", "reference", "ref s", "sluice s", "ratio", "goal", "met",
              "CPU s/M rows", "peak RSS MB", "load")
    rows = []
    for r in records:
        goal = r.get("goal")
        met = "-" if goal is None else ("yes" if r["ratio"] >= goal else "NO")
        rows.append((r["path"], r["reference"], f'{r["reference_s"]:.2f}', f'{r["sluice_s"]:.2f}',
                     f'{r["ratio"]:.2f}x', "-" if goal is None else f'>= {goal}x', met,
                     "-" if r["cpu_s_per_million_rows"] is None else f'{r["cpu_s_per_million_rows"]:.2f}',
                     "-" if r["peak_rss_mb"] is None else f'{r["peak_rss_mb"]:.0f}',
                     f'{r["load"]:.2f}'))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"results": records}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"\n(figures also in {sys.argv[2]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
