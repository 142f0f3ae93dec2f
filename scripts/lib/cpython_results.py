"""Per-module results of CPython regrtest runs, for scripts/test-cpython.sh.

    cpython_results.py MODULES RUN [RUN...]    RUN = LABEL:LOG:JUNIT_XML

MODULES is a space-separated list, where a module may repeat (regrtest runs
it again). Each run's statuses come from regrtest's progress lines in LOG
("[ 3/36] test_queue passed", "... crashed (Exit code -7)"); a module passes
when every one of its runs printed "passed"; a missing line (the runner died
or was stopped) counts as "no result". The time is the sum of its test cases in JUNIT_XML, which a
crashed worker never reports ("-"). The last run is the one under test;
earlier runs are controls (without the preload). Prints a table, then the
modules that failed, and exits 1 if any module did not pass in any run.
"""

import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

PROGRESS = re.compile(r"\[\s*\d+/\d+(?:/\d+)?\] (test_\w+) (.*?)(?: -- running: .*)?$")


def statuses(log_path):
    """Module -> the statuses of its runs, in order."""
    found = defaultdict(list)
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = PROGRESS.search(line.rstrip("\n"))
            if match:
                found[match.group(1)].append(match.group(2))
    return found


def seconds(junit_path):
    """Module -> summed test case time; {} when the file is missing or cut."""
    totals = defaultdict(float)
    try:
        root = ET.parse(junit_path).getroot()
    except (OSError, ET.ParseError):
        return totals
    for case in root.iter("testcase"):
        parts = case.get("name", "").split(".")  # test.test_queue.Class.method
        if len(parts) > 1:
            totals[parts[1]] += float(case.get("time") or 0)
    return totals


def verdict(found, module, repeats):
    """(passed?, text for the table) over the module's `repeats` runs."""
    runs = found.get(module, []) + ["no result"] * (repeats - len(found.get(module, [])))
    bad = [status for status in runs if not status.startswith("passed")]
    if not bad:
        return True, runs[0] if repeats == 1 else f"passed x{repeats}"
    return False, bad[0] if repeats == 1 else f"{len(bad)}/{repeats} bad: {bad[0]}"


def main():
    listed = sys.argv[1].split()
    modules = list(dict.fromkeys(listed))  # unique, in order
    runs = []
    for spec in sys.argv[2:]:
        label, log, junit = spec.split(":", 2)
        found = statuses(log)
        runs.append((label, {m: verdict(found, m, listed.count(m)) for m in modules}, seconds(junit)))

    width = max(map(len, modules)) + 2
    print("module".ljust(width) + "".join(f"{label:<44}" for label, _, _ in runs))
    for module in modules:
        cells = []
        for _, verdicts, times in runs:
            time = f"{times[module]:.1f} s" if module in times else "-"
            cells.append(f"{verdicts[module][1][:34]:<35}{time:>8} ")
        print(module.ljust(width) + "".join(cells))

    ok = True
    *controls, (label, tested, _) = runs
    failed = [m for m in modules if not tested[m][0]]
    for control_label, control, _ in controls:
        broken = [m for m in modules if not control[m][0]]
        if broken:
            ok = False
            print(f"FAILED under {control_label}: {' '.join(broken)} (the control: curate the list)")
        regressions = [m for m in failed if m not in broken]
        if regressions:
            print(f"PASS under {control_label}, FAIL under {label}: {' '.join(regressions)}")
    if failed:
        ok = False
        print(f"FAILED under {label}: {' '.join(failed)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
