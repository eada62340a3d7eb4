#!/usr/bin/env python3
"""Side-by-side loopback throughput, CPU and peak RSS per side, for several implementations.

Each run starts a fresh server process and a fresh client process of the same implementation
(test-plans flags for foreign peers, `yamux-perf server/client` for ours), moves SIZE bytes one
way (an upload run, then a download run), and records:
- goodput: SIZE*8 / the client's final timeSeconds (connection setup included, as `interop`);
- client CPU (user+sys) and peak RSS from wait4's rusage (process start-up included);
- server CPU as the /proc/<pid>/stat delta from "listening" to the client's exit, and server peak
  RSS as VmHWM (whole process life).
Runs are interleaved (rep-major) so machine load hits every implementation alike.

usage: measure.py OUT.json SIZE_BYTES REPS name=program[,flag...] [name=program[,flag...] ...]

Flags after the program (comma-separated) go to both our server and our client, e.g.
`ours-plaintext=target/release/yamux-perf,--security,plaintext` or `ours-tcp=...,--stack,tcp`.
"""
import json, os, subprocess, sys, tempfile

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def proc_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def split_prog(prog):
    """`program,flag,flag` -> (program, [flags])."""
    parts = prog.split(",")
    return parts[0], parts[1:]


def server_cmd(name, prog):
    prog, flags = split_prog(prog)
    if name.startswith("ours"):
        return [prog, "server", "--listen", "/ip4/127.0.0.1/tcp/0"] + flags
    return [prog, "--run-server", "--server-address", "127.0.0.1:0"]


def client_cmd(name, prog, addr, up, down):
    prog, flags = split_prog(prog)
    if name.startswith("ours"):
        return [prog, "client", "--no-progress", "--server", addr,
                "--upload", str(up), "--download", str(down)] + flags
    return [prog, "--server-address", addr, "--upload-bytes", str(up), "--download-bytes", str(down)]


def run_once(name, prog, up, down):
    server = subprocess.Popen(server_cmd(name, prog), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        addr = server.stdout.readline().strip()
        cpu0 = proc_cpu(server.pid)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            client = subprocess.Popen(client_cmd(name, prog, addr, up, down), stdout=out,
                                      stderr=err, text=True)
            _, status, ru = os.wait4(client.pid, 0)
            cpu1 = proc_cpu(server.pid)
            hwm = proc_hwm(server.pid)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    finally:
        server.kill()
        server.wait()
    final = None
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"final"' in line:
            final = json.loads(line)
    rc = os.waitstatus_to_exitcode(status)
    return {"ok": rc == 0 and final is not None, "final": final,
            "client_cpu_s": ru.ru_utime + ru.ru_stime, "client_peak_rss": ru.ru_maxrss * 1024,
            "server_cpu_s": cpu1 - cpu0, "server_peak_rss": hwm,
            **({} if rc == 0 else {"stderr": stderr[-500:]})}


def main():
    out_path, size, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    impls = [a.split("=", 1) for a in sys.argv[4:]]
    runs = []
    for rep in range(reps):
        for name, prog in impls:
            for direction, up, down in (("upload", size, 0), ("download", 0, size)):
                run = {"impl": name, "rep": rep, "direction": direction, "bytes": size,
                       **run_once(name, prog, up, down), "load": os.getloadavg()[0]}
                if run["final"]:
                    run["gbit_s"] = size * 8 / run["final"]["timeSeconds"] / 1e9
                runs.append(run)
                print(json.dumps({k: run.get(k) for k in ("impl", "rep", "direction", "gbit_s", "ok", "load")}), flush=True)
    json.dump({"size": size, "reps": reps, "impls": dict(impls), "uname": os.uname().release,
               "runs": runs}, open(out_path, "w"), indent=1)


if __name__ == "__main__":
    main()
