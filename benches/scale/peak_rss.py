"""Runs a command and reports its wall time and the peak resident memory of its whole process
tree (summed over the command and every descendant, sampled every 0.2 s from /proc), so a
PySpark stage counts its JVM too — /usr/bin/time sees only the Python driver.

Usage: peak_rss.py OUT_JSON COMMAND [ARGS…]   (Linux; standard library only)
"""

import json
import os
import subprocess
import sys
import time


def children_map():
    kids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(pid))
    return kids


def tree_rss_kib(root):
    kids = children_map()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    started = time.time()
    proc = subprocess.Popen(cmd)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kib(proc.pid))
        time.sleep(0.2)
    wall = time.time() - started
    with open(out, "w") as f:
        json.dump({"wall_seconds": round(wall, 2), "peak_tree_rss_mib": peak // 1024, "exit": proc.returncode}, f)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
