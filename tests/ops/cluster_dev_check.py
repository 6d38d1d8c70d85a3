#!/usr/bin/env python3
"""tests/ops: scripts/cluster-dev.sh starts a working cluster and leaves nothing behind.

Runs the script as an operator would (on a free port range, with the Kafka mock), waits for its
"cluster-dev: ready" line, puts a user on node 2 (livepush-cli), pushes a qos1 message to it
through node 1's API and waits for the PUSH on the client, then sends the script SIGINT (what
Ctrl-C does) and checks: it exits 0, every PID it recorded is gone, no process carries the run's
tag in its argv, and every port it used is free again. With --sentinel support in livepushd
(cluster.redis_sentinels) and redis-sentinel installed, a second run does the same through
Sentinel. Exit 0 when all holds; 1 naming what failed (with the script's output and logs).
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

AUTH = {"Authorization": "Bearer livepush-dev-api-key", "Content-Type": "application/json"}


class Failed(Exception):
    pass


def ports_of(base, sentinel):
    ports = [base] + ([base + 1, base + 2, base + 3, base + 4] if sentinel else [])
    return ports + [base + 10 * i + k for i in (1, 2, 3) for k in range(4)]


def port_free(p):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
            return True
        except OSError:
            return False


def free_base(sentinel):
    for _ in range(200):
        base = random.randrange(20000, 60000, 50)
        if all(port_free(p) for p in ports_of(base, sentinel)):
            return base
    raise Failed("no free port range found")


def wait_until(what, cond, timeout_s):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise Failed(f"timed out waiting for {what}")


def http(url, body=None):
    req = urllib.request.Request(url, data=body, headers=AUTH)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def run_once(repo, build, sentinel):
    base = free_base(sentinel)
    tag = f"cdevtest{os.getpid()}{'s' if sentinel else ''}"
    tmp = tempfile.mkdtemp(prefix="lp-cluster-dev-")
    out_path = os.path.join(tmp, "script.out")
    args = ["bash", os.path.join(repo, "scripts", "cluster-dev.sh"), "--base-port", str(base),
            "--build", build, "--dir", os.path.join(tmp, "run"), "--tag", tag]
    if sentinel:
        args.append("--sentinel")
    script = subprocess.Popen(args, cwd=repo, stdout=open(out_path, "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    cli = None
    pids_path = os.path.join(tmp, "run", "pids")
    what = f"cluster-dev.sh{' --sentinel' if sentinel else ''} on ports {base}.."
    try:
        def ready():
            if script.poll() is not None:
                raise Failed(f"the script exited {script.returncode} before it was ready")
            with open(out_path) as f:
                return "cluster-dev: ready" in f.read()
        wait_until("cluster-dev: ready", ready, 120)

        # A user on node 2; a qos1 push through node 1.
        token = subprocess.run([os.path.join(build, "app", "livepushd"), "token", "--dev",
                                "--user", "42"], capture_output=True, text=True,
                               check=True).stdout.strip()
        cli_log = os.path.join(tmp, "user-42.log")
        cli = subprocess.Popen([os.path.join(build, "load-test", "livepush-cli"), "--port",
                                str(base + 20), "--token", token, "--stay"],
                               stdout=open(cli_log, "w"), stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
        api1 = f"http://127.0.0.1:{base + 12}"
        wait_until("user 42 online (seen from node 1)",
                   lambda: json.loads(http(f"{api1}/v1/users/42")).get("online") is True, 30)
        answer = json.loads(http(f"{api1}/v1/push/user", json.dumps(
            {"user_id": 42, "type": "hello", "payload": {"via": "node 1"}, "qos": 1}).encode()))
        if answer.get("sessions") != 1:
            raise Failed(f"the push reached {answer} sessions, not 1")

        def pushed():
            with open(cli_log) as f:
                return '"type":"hello"' in f.read()
        wait_until("the PUSH on the client on node 2", pushed, 30)
        cli.terminate()
        cli.wait(timeout=10)
        cli = None

        with open(pids_path) as f:
            started = [(int(l.split()[0]), l.split(None, 1)[1].strip()) for l in f if l.strip()]
        expect = 3 + 1 + (4 if sentinel else 0) + 1  # nodes, Redis, replica+sentinels, mock
        if len(started) != expect:
            raise Failed(f"the script recorded {len(started)} processes, expected {expect}")

        # Ctrl-C.
        script.send_signal(signal.SIGINT)
        try:
            rc = script.wait(timeout=90)
        except subprocess.TimeoutExpired:
            raise Failed("the script did not exit within 90 s of SIGINT")
        if rc != 0:
            raise Failed(f"the script exited {rc} after SIGINT")
        left = [f"{name} (pid {pid})" for pid, name in started if alive(pid)]
        if left:
            raise Failed("still running after the script stopped: " + ", ".join(left))
        tagged = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout.split()
        if tagged:
            raise Failed(f"processes with the tag {tag} still running: {tagged}")
        busy = [p for p in ports_of(base, sentinel) if not port_free(p)]
        if busy:
            raise Failed(f"ports still in use: {busy}")
        print(f"cluster_dev_check: OK: {what}: {len(started)} processes, a push from node 1 to "
              f"a user on node 2, stopped by SIGINT with nothing left")
        shutil.rmtree(tmp, ignore_errors=True)
    except Exception as e:
        print(f"cluster_dev_check: FAILED: {what}: {e}")
        with open(out_path) as f:
            print("---- script output ----\n" + f.read())
        for name in sorted(os.listdir(os.path.join(tmp, "run"))) if os.path.isdir(
                os.path.join(tmp, "run")) else []:
            if name.endswith(".log"):
                with open(os.path.join(tmp, "run", name), errors="replace") as f:
                    print(f"---- {name} (last lines) ----\n" + "".join(f.readlines()[-15:]))
        raise
    finally:
        if cli is not None:
            cli.kill()
            cli.wait()
        if script.poll() is None:
            script.send_signal(signal.SIGTERM)
            try:
                script.wait(timeout=60)
            except subprocess.TimeoutExpired:
                script.kill()
                script.wait()
        # Whatever the script recorded and left, by PID.
        if os.path.exists(pids_path):
            with open(pids_path) as f:
                for line in f:
                    pid = int(line.split()[0])
                    if alive(pid):
                        os.kill(pid, signal.SIGKILL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--repo", required=True)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    try:
        run_once(a.repo, build, sentinel=False)
        help_text = subprocess.run([os.path.join(build, "app", "livepushd"), "--help"],
                                   capture_output=True, text=True).stdout
        if "cluster.redis_sentinels" in help_text and shutil.which("redis-sentinel"):
            run_once(a.repo, build, sentinel=True)
        else:
            print("cluster_dev_check: --sentinel not run (this livepushd has no "
                  "cluster.redis_sentinels, or redis-sentinel is not installed)")
    except Failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
