#!/usr/bin/env python3
"""Print every panel query of the Grafana dashboards as plain PromQL, one JSON object a line.

    scripts/dashboard-queries.py [--meter REGEX] [DASHBOARD.json ...]

Without files it reads grafana/dashboards/*.json of this repository. Each line is
{"dashboard": <file name>, "panel": <panel title>, "expr": <PromQL>} with the dashboard's
template variables replaced so that Prometheus can evaluate the expression as it is:

    $meter            -> the --meter regex (default .*)
    $cost_meter, $capacity_meter (the hidden variables that repeat the cost and
                      capacity rows per meter that has them) -> the same regex
    $instance         -> .*
    $__range          -> 1h   ($__range_s -> 3600, $__range_ms -> 3600000)
    $__rate_interval  -> 1m
    $__interval       -> 1m   ($__interval_ms -> 60000)

The forms $name, ${name}, ${name:format} and [[name]] are all understood. A `$` left over
after that (a variable this script does not know) is an error: exit status 1, and the
offending panel named on stderr, so a new variable cannot slip through unevaluated.
Standard library only.
"""

import argparse
import glob
import json
import os
import re
import sys

VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


def promql_string_escape(value):
    """Make `value` safe inside a double-quoted PromQL string (the selectors use =~"$meter")."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def substitutions(meter):
    return {
        "meter": promql_string_escape(meter),
        "cost_meter": promql_string_escape(meter),
        "capacity_meter": promql_string_escape(meter),
        "instance": ".*",
        "__range": "1h",
        "__range_s": "3600",
        "__range_ms": "3600000",
        "__rate_interval": "1m",
        "__interval": "1m",
        "__interval_ms": "60000",
    }


def substitute(expr, values):
    unknown = []

    def repl(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in values:
            return values[name]
        unknown.append(name)
        return match.group(0)

    return VARIABLE.sub(repl, expr), unknown


def panels(dashboard):
    """All panels, including those nested in (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []) or []:
            yield inner


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meter", default=".*", help="regex for $meter (default .*)")
    parser.add_argument("files", nargs="*", help="dashboard JSON files (default: grafana/dashboards/*.json)")
    args = parser.parse_args()

    files = args.files or sorted(glob.glob(os.path.join(repo, "grafana", "dashboards", "*.json")))
    if not files:
        print("dashboard-queries: no dashboard files found", file=sys.stderr)
        return 1
    values = substitutions(args.meter)
    status = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
        name = os.path.basename(path)
        for panel in panels(dashboard):
            for target in panel.get("targets", []) or []:
                expr = (target.get("expr") or "").strip()
                if not expr:
                    continue
                expr, unknown = substitute(expr, values)
                if unknown:
                    print(f"dashboard-queries: {name}: panel {panel.get('title')!r} uses unknown "
                          f"variable(s) {', '.join(sorted(set(unknown)))}", file=sys.stderr)
                    status = 1
                    continue
                print(json.dumps({"dashboard": name, "panel": panel.get("title", ""), "expr": expr},
                                 ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main())
