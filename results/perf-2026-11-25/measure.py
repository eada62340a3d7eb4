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

Flags after the program (comma-separated) go to both the server and the client, e.g.
`ours-plaintext=target/release/yamux-perf,--security,plaintext`, `ours-tcp=...,--stack,tcp` or
`go-ws-tls=target/interop/go/go-libp2p-perf,--transport,ws,--security,tls`. For ours,
`--transport,ws` makes the server listen on a /ws address (the client dials what it prints).
A name starting with `iperf3` runs iperf3 (server `-s`, client `-c … -n SIZE`, `-R` for the
download direction); its goodput is iperf3's receiver-side figure (connection setup excluded).
"""
import json, os, socket, subprocess, sys, tempfile

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


def ours_flags(flags):
    """Our flags without `--transport ws` (the listen address carries it), and whether it was there."""
    out, ws, i = [], False, 0
    while i < len(flags):
        if flags[i] == "--transport" and i + 1 < len(flags):
            ws = flags[i + 1] == "ws"
            i += 2
            continue
        out.append(flags[i])
        i += 1
    return out, ws


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_cmd(name, prog):
    prog, flags = split_prog(prog)
    if name.startswith("ours"):
        flags, ws = ours_flags(flags)
        listen = "/ip4/127.0.0.1/tcp/0" + ("/ws" if ws else "")
        return [prog, "server", "--listen", listen] + flags
    if name.startswith("iperf3"):
        return [prog, "-s", "--forceflush", "-B", "127.0.0.1", "-p", str(free_port())] + flags
    return [prog, "--run-server", "--server-address", "127.0.0.1:0"] + flags


def client_cmd(name, prog, addr, up, down):
    prog, flags = split_prog(prog)
    if name.startswith("ours"):
        return [prog, "client", "--no-progress", "--server", addr,
                "--upload", str(up), "--download", str(down)] + ours_flags(flags)[0]
    if name.startswith("iperf3"):
        host, port = addr
        return [prog, "-c", host, "-p", str(port), "-n", str(up or down), "-J"] + \
            ([] if up else ["-R"]) + flags
    return [prog, "--server-address", addr, "--upload-bytes", str(up),
            "--download-bytes", str(down)] + flags


def read_address(name, cmd, server):
    """The address a server prints: its first line, or iperf3's port once it listens."""
    if not name.startswith("iperf3"):
        return server.stdout.readline().strip()
    for line in server.stdout:
        if "listening" in line.lower():
            return ("127.0.0.1", int(cmd[cmd.index("-p") + 1]))
    raise RuntimeError("iperf3 server exited before listening")


def goodput(name, stdout, size):
    """Gbit/s from the client's output: test-plans `final` JSON, or iperf3's -J report."""
    if name.startswith("iperf3"):
        try:
            report = json.loads(stdout)
        except ValueError:
            return None, None
        received = report.get("end", {}).get("sum_received")
        if not received:
            return None, None
        return received, received["bits_per_second"] / 1e9
    final = None
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"final"' in line:
            final = json.loads(line)
    if final is None:
        return None, None
    return final, size * 8 / final["timeSeconds"] / 1e9


def run_once(name, prog, up, down):
    cmd = server_cmd(name, prog)
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        addr = read_address(name, cmd, server)
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
    final, gbit_s = goodput(name, stdout, up or down)
    rc = os.waitstatus_to_exitcode(status)
    return {"ok": rc == 0 and final is not None, "final": final, "gbit_s": gbit_s,
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
                runs.append(run)
                print(json.dumps({k: run.get(k) for k in ("impl", "rep", "direction", "gbit_s", "ok", "load")}), flush=True)
    json.dump({"size": size, "reps": reps, "impls": dict(impls), "uname": os.uname().release,
               "runs": runs}, open(out_path, "w"), indent=1)


if __name__ == "__main__":
    main()
