#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Daemon CPU per check (docs/performance.md, row 9).

One pathsim mount with the largest path count; for each (paths, interval)
point and each daemon binary, interleaved for --rounds rounds: start
pathcheckd over the first PATHS paths, let it settle, then measure over a
window: CPU of all its threads (utime+stime from /proc/PID/stat), checks
done (show stats), voluntary context switches of each thread, schedule lag.
Prints one JSON line per run, then a median table.

Usage: bench/daemon_cpu.py --sim build/pathsim --daemon A=build/pathcheckd
       [--daemon B=other/pathcheckd] --point 5000:250ms --point 19000:1s
       [--rounds 3] [--settle 3] [--window 10] [--json-out FILE]
"""
import argparse, json, os, signal, socket, statistics, subprocess, sys, tempfile, time

def cmd(sock, c):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall((c + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n\n"):
        d = s.recv(1 << 20)
        if not d:
            break
        buf += d
    s.close()
    return buf.decode()

TICK = os.sysconf("SC_CLK_TCK")

def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK

def thread_cpu_s(pid):
    out = 0.0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            f = open("/proc/%d/task/%s/stat" % (pid, t)).read().rsplit(")", 1)[1].split()
            out += (int(f[11]) + int(f[12])) / TICK
        except OSError:
            pass
    return out

def sched_ns(pid):
    """Time on CPU of all threads, in ns (schedstat: no 10 ms tick quantum)."""
    out = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            out += int(open("/proc/%d/task/%s/schedstat" % (pid, t)).read().split()[0])
        except OSError:
            pass
    return out

def ctxsw(pid):
    tot = {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            name = open("/proc/%d/task/%s/comm" % (pid, t)).read().strip()
            v = [int(l.split()[1]) for l in open("/proc/%d/task/%s/status" % (pid, t))
                 if l.startswith("voluntary_ctxt_switches")][0]
        except OSError:
            continue
        tot[name] = tot.get(name, 0) + v
    return tot

def rss_kib(pid):
    return [int(l.split()[1]) for l in open("/proc/%d/status" % pid) if l.startswith("VmRSS")][0]

def cover(lo, hi, width):
    """Globs for the width-digit numbers lo..hi: blocks of 10^k sharing a
    prefix, neighbouring blocks merged into a digit range."""
    out, x = [], lo
    while x <= hi:
        k = 0
        while k < width - 1 and x % 10 ** (k + 1) == 0 and x + 10 ** (k + 1) - 1 <= hi:
            k += 1
        size, digits = 10 ** k, str(x)
        parent, a = digits[:width - k - 1], int(digits[width - k - 1])
        b = a
        while b < 9 and x + (b - a + 2) * size - 1 <= hi:
            b += 1
        out.append("p" + parent + ("[%d-%d]" % (a, b) if b > a else str(a)) + "[0-9]" * k)
        x += (b - a + 1) * size
    return out

def path_globs(n):
    """Globs naming exactly p0..p{n-1}: a config of a few lines, as an
    operator writes it, so that RSS counts no per-path config line."""
    out = []
    for d in range(1, len(str(max(n - 1, 0))) + 1):
        lo, hi = (0 if d == 1 else 10 ** (d - 1)), min(10 ** d - 1, n - 1)
        if lo <= hi:
            out += cover(lo, hi, d)
    return out

def run_one(tmp, label, binary, n, ival, settle, window):
    conf = os.path.join(tmp, "conf")
    sock = os.path.join(tmp, "sock")
    with open(conf, "w") as f:
        f.write("interval %s\ntimeout 10s\n" % ival)
        for g in path_globs(n):
            f.write("path %s/mnt/%s\n" % (tmp, g))
    log = open(os.path.join(tmp, "log"), "w+")
    d = subprocess.Popen([binary, "-f", "--log", "stderr", "-c", conf, "-s", sock],
                         stderr=log, stdout=subprocess.DEVNULL)
    try:
        for _ in range(600):
            log.seek(0)
            if "ready," in log.read():
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("%s: not ready" % binary)
        time.sleep(settle)
        st0 = json.loads(cmd(sock, "show stats json"))
        c0, n0, cs0, t0 = cpu_s(d.pid), sched_ns(d.pid), ctxsw(d.pid), time.monotonic()
        time.sleep(window)
        st1 = json.loads(cmd(sock, "show stats json"))
        c1, n1, cs1, t1 = cpu_s(d.pid), sched_ns(d.pid), ctxsw(d.pid), time.monotonic()
        rss = rss_kib(d.pid)
        checks = st1["results"] - st0["results"]
        wall = t1 - t0
        wakes = {k: round((cs1.get(k, 0) - cs0.get(k, 0)) / max(checks, 1), 3) for k in cs1}
        return {"bench": "daemon_cpu", "daemon": label, "paths": n, "interval": ival,
                "window_s": round(wall, 2), "checks": checks,
                "checks_per_s": round(checks / wall), "cpu_s": round(c1 - c0, 2),
                "cpu_pct": round(100 * (c1 - c0) / wall, 1),
                "cpu_us_per_check": round(1e6 * (c1 - c0) / max(checks, 1), 2),
                "sched_us_per_check": round((n1 - n0) / 1e3 / max(checks, 1), 2),
                "wakeups_per_check": wakes,
                "lag_p99_ms": st1["schedule_lag_p99_us"] / 1e3,
                "lag_max_ms": st1["schedule_lag_max_us"] / 1e3,
                "slips": st1["schedule_slips"], "busy": st1["checks_busy"],
                "rss_kib": rss, "rss_per_path_b": round(rss * 1024 / n)}
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        log.close()

def engine_batch(stress, mnt, n, secs, label="engine"):
    """The engine's own cost: pathcheck-stress in batch over the same paths."""
    p = subprocess.Popen([stress, "--devices", mnt, "--paths", str(n), "--threads", "1",
                          "--mode", "batch", "--duration", "%gs" % secs, "--timeout", "10s",
                          "--json", "--quiet"], stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    j = json.loads(out.strip().splitlines()[-1])
    cpu = ru.ru_utime + ru.ru_stime
    return {"bench": "engine_batch", "daemon": label, "paths": n, "interval": "batch",
            "checks": j["checks"], "checks_per_s": j["checks_per_s"], "cpu_s": round(cpu, 2),
            "cpu_pct": round(100 * cpu / j["wall_s"], 1),
            "cpu_us_per_check": round(1e6 * cpu / max(j["checks"], 1), 2),
            "lag_p99_ms": 0, "slips": 0, "rss_per_path_b": 0}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--daemon", action="append", required=True)
    ap.add_argument("--point", action="append", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--json-out")
    ap.add_argument("--stress", help="also measure the engine in batch (pathcheck-stress)")
    ap.add_argument("--stress-dev", help="... and in batch over this device too (e.g. a loop device)")
    a = ap.parse_args()
    daemons = [x.split("=", 1) for x in a.daemon]
    points = [(int(p.split(":")[0]), p.split(":")[1]) for p in a.point]
    nmax = max(n for n, _ in points)
    tmp = tempfile.mkdtemp(prefix="pcdcpu.")
    os.mkdir(os.path.join(tmp, "mnt"))
    sim = subprocess.Popen([a.sim, "-n", str(nmax), os.path.join(tmp, "mnt")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = open(a.json_out, "a") if a.json_out else None
    rows = []
    try:
        line = sim.stdout.readline()
        if "ready" not in line:
            print("9. daemon CPU: skipped (pathsim: %s)" % line.strip())
            return 0
        for r in range(a.rounds):
            for n, ival in points:
                for label, binary in daemons:
                    j = run_one(tmp, label, binary, n, ival, a.settle, a.window)
                    j["round"] = r
                    rows.append(j)
                    print(json.dumps(j), file=out or sys.stderr, flush=True)
                if a.stress:
                    j = engine_batch(a.stress, os.path.join(tmp, "mnt"), n, a.window / 2)
                    j["round"] = r
                    j["interval"] = ival
                    rows.append(j)
                    print(json.dumps(j), file=out or sys.stderr, flush=True)
                if a.stress and a.stress_dev:
                    j = engine_batch(a.stress, a.stress_dev, n, a.window / 2, "engine_dev")
                    j["round"] = r
                    j["interval"] = ival
                    rows.append(j)
                    print(json.dumps(j), file=out or sys.stderr, flush=True)
    finally:
        try:
            open(os.path.join(tmp, "mnt", "control"), "w").write("release\n")
        except OSError:
            pass
        sim.terminate()
        sim.wait()
        subprocess.call(["rm", "-rf", tmp])
    labels = [l for l, _ in daemons] + (["engine"] if a.stress else []) + \
        (["engine_dev"] if a.stress and a.stress_dev else [])
    for n, ival in points:
        for label in labels:
            rs = [x for x in rows if x["paths"] == n and x["interval"] == ival and x["daemon"] == label]
            med = lambda k: statistics.median(x[k] for x in rs)
            if label.startswith("engine"):
                eng = med("cpu_us_per_check")
                print("9. engine batch (pathcheck-stress) over %s, %d paths: %.0f checks/s, CPU %.2f us/check"
                      % ("pathsim" if label == "engine" else a.stress_dev, n, med("checks_per_s"), eng))
                for l2 in [l for l, _ in daemons]:
                    d2 = statistics.median(x["cpu_us_per_check"] for x in rows
                                           if x["paths"] == n and x["interval"] == ival and x["daemon"] == l2)
                    print("   daemon %s / engine batch: %.2fx" % (l2, d2 / eng))
                continue
            print("9. daemon %s, %d paths every %s: %.0f checks/s, CPU %.2f us/check (%.1f%% of a core;"
                  " schedstat %.2f us), lag p99 %.0f ms, %d slips, RSS %d B/path"
                  % (label, n, ival, med("checks_per_s"), med("cpu_us_per_check"), med("cpu_pct"),
                     med("sched_us_per_check"),
                     med("lag_p99_ms"), max(x["slips"] for x in rs), med("rss_per_path_b")))
    # The slope: CPU per check against the number of paths, per daemon
    # (least squares over the points at one interval).
    # Only the points at the most common interval: the rate grows with paths.
    ivals = [i for _, i in points]
    slope_ival = max(set(ivals), key=ivals.count)
    for label in [l for l, _ in daemons]:
        pts = [(n, statistics.median(x["cpu_us_per_check"] for x in rows
                                     if x["paths"] == n and x["interval"] == ival and x["daemon"] == label))
               for n, ival in points if ival == slope_ival]
        if len(pts) >= 2:
            mx = sum(n for n, _ in pts) / len(pts)
            my = sum(c for _, c in pts) / len(pts)
            sxx = sum((n - mx) ** 2 for n, _ in pts)
            if sxx:
                k = sum((n - mx) * (c - my) for n, c in pts) / sxx
                print("9. daemon %s, interval %s: slope %.3f us/check per 1,000 paths (%s)"
                      % (label, slope_ival, 1000 * k, ", ".join("%d: %.2f" % p for p in pts)))
    return 0

if __name__ == "__main__":
    sys.exit(main())
