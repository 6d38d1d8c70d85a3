#!/usr/bin/env python3
"""tests/docs/docs_check.py: runs the examples of README.md and docs/*.md and compares their
answers with what the docs show, so a doc that drifts fails CI.

Owns: finding the marked examples, starting the node they run against, running them, judging
their output. Never edits a doc, never skips a marked block (a block that cannot run fails).

Markup. An example runs when the line before its (indented or fenced) code block is an HTML
comment `<!-- doc-test -->` (against a `livepushd --dev` this script starts) or
`<!-- doc-test own-node -->` (the block starts its own node, on the ports 7000, 7001, 7002 and
8090 of a default one, which the checker rewrites to free ports), or
`<!-- doc-test standalone -->` (the block starts what it needs itself, e.g. the cluster of
docs/cluster.md, on the ports it names). Every block runs in a scratch directory. In the block:

  - a command is a line that is not an expected answer; a line ending in `\\` continues it;
    `VAR=...` lines and `#` comments run too (comments do nothing);
  - an expected answer follows its command: a line starting with `{` (JSON, may continue over
    lines), `# {` (the same, as a shell comment), or `NNN {` (an HTTP status, then JSON);
    CLI lines `PUSH ...`/`BIZ_RESULT ...` (optionally after `# `) are looked for in the
    command's output, in any order (each output line matches one), by their JSON fields.

Judging: a curl's HTTP status must be the one shown (2xx when none is shown); each JSON field
shown must be in the answer with the same value (objects: subset; arrays: same length). `...`
matches anything: `{...}`, `[...]`, `"..."`, and a trailing `,...` means "more fields".
Values that differ on every run (msg_id, ts_ms, epoch, session ids, times) are compared by
type only: see VOLATILE.

usage: docs_check.py --build BUILD_DIR [--repo DIR] [--only dev|standalone] [FILE.md ...]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

VOLATILE = {"msg_id", "ts_ms", "epoch", "session_id", "phase_ends_at_ms", "server_time_ms",
            "sent_at_ms", "sentAtMs", "msgId", "serverTimeMs", "week", "node_id", "nodeId",
            "pk_id", "created_ms", "settles_at_ms"}
STATUS_MARK = "HTTP_STATUS:"
CMD_MARK = "@@DOCS-CHECK-CMD "
DEV_API_KEY = "livepush-dev-api-key"
BLOCK_TIMEOUT_S = 120  # a block waits on conditions; this bounds one that never comes


class Block:
    def __init__(self, path, line, mode, lines):
        self.path, self.line, self.mode, self.lines = path, line, mode, lines

    def where(self):
        return f"{self.path}:{self.line}"


def find_blocks(path):
    """The marked code blocks of one markdown file."""
    text = open(path, encoding="utf-8").read().split("\n")
    blocks, i = [], 0
    while i < len(text):
        m = re.match(r"\s*<!--\s*doc-test(?:\s+([\w-]+))?\s*-->\s*$", text[i])
        if not m:
            i += 1
            continue
        mode = m.group(1) or "dev"
        j = i + 1
        while j < len(text) and text[j].strip() == "":
            j += 1
        body, start = [], j + 1
        if j < len(text) and text[j].startswith("```"):
            j += 1
            while j < len(text) and not text[j].startswith("```"):
                body.append(text[j])
                j += 1
        else:
            while j < len(text) and (text[j].startswith("    ") or text[j].strip() == ""):
                body.append(text[j][4:])
                j += 1
            while body and body[-1].strip() == "":
                body.pop()
        if not body:
            raise SystemExit(f"{path}:{i + 1}: a doc-test marker without a code block after it")
        blocks.append(Block(path, start, mode, body))
        i = j
    return blocks


def is_expect_start(line):
    s = line.strip()
    if s.startswith("# "):
        s = s[2:].strip()
    return bool(re.match(r"^(\d{3} )?\{", s) or re.match(r"^(PUSH|BIZ_RESULT|LOGIN_RESULT)\b", s))


def split_steps(lines):
    """[(command, [expected lines])] in order."""
    steps, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "":
            i += 1
            continue
        if is_expect_start(line):
            if not steps:
                raise ValueError(f"an expected answer before any command: {line!r}")
            # a JSON answer may continue over lines until its braces balance
            buf = [line]
            while (sum(l.count("{") - l.count("}") for l in buf) > 0 and i + 1 < len(lines)):
                i += 1
                buf.append(lines[i])
            steps[-1][1].append(" ".join(x.strip() for x in buf))
            i += 1
            continue
        cmd = [line]
        while cmd[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd.append(lines[i])
        steps.append(("\n".join(cmd), []))
        i += 1
    return steps


def loads_doc_json(text):
    """JSON as the docs write it, with `...` standing for what is not shown."""
    t = text.strip()
    t = re.sub(r"\{\s*\.\.\.\s*\}", '"..."', t)
    t = re.sub(r"\[\s*\.\.\.\s*\]", '"..."', t)
    t = re.sub(r",\s*\.\.\.\s*(?=[}\]])", "", t)   # trailing ",..." = more fields
    t = re.sub(r",\s*\.\.\.\s*,", ",", t)          # ",...," in the middle
    return json.loads(t)


def match(expected, actual, key=None, path="$"):
    """None when `actual` shows every field of `expected`, else what differs."""
    if expected == "...":
        return None
    if key in VOLATILE and expected is not None:
        if type(expected) is type(actual) or (isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(actual, bool)):
            return None
        return f"{path}: expected a {type(expected).__name__}, got {json.dumps(actual)}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {json.dumps(actual)}"
        for k, v in expected.items():
            if k not in actual:
                return f"{path}.{k}: missing (answer: {json.dumps(actual)[:300]})"
            why = match(v, actual[k], k, f"{path}.{k}")
            if why:
                return why
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"
        for n, (e, a) in enumerate(zip(expected, actual)):
            why = match(e, a, key, f"{path}[{n}]")
            if why:
                return why
        return None
    if type(expected) is not type(actual) and not (
            isinstance(expected, (int, float)) and isinstance(actual, (int, float))
            and not isinstance(expected, bool) and not isinstance(actual, bool)):
        return f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"
    if expected != actual:
        return f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"
    return None


def judge(step_no, cmd, expected, output, rc):
    """Problems of one command's run (empty = as documented)."""
    problems = []
    statuses = re.findall(STATUS_MARK + r"(\d{3})", output)
    body = re.sub(r"\n?" + STATUS_MARK + r"\d{3}\n?", "\n", output)
    is_curl = cmd.lstrip().startswith("curl") or " curl " in cmd
    if rc != 0 and not cmd.rstrip().endswith("&"):
        problems.append(f"exit status {rc}")
    json_docs = []
    for line in body.split("\n"):
        s = line.strip()
        if s.startswith("{"):
            try:  # the JSON at the line's start (a background process may write after it)
                json_docs.append(json.JSONDecoder().raw_decode(s)[0])
            except ValueError:
                pass
    cli_lines = [l.strip() for l in body.split("\n")
                 if re.match(r"^(PUSH|BIZ_RESULT|LOGIN_RESULT)\b", l.strip())]
    cli_used, json_at = set(), 0
    for exp in expected:
        s = exp.strip()
        if s.startswith("# "):
            s = s[2:].strip()
        m = re.match(r"^(\d{3}) (\{.*)$", s)
        want_status = None
        if m:
            want_status, s = m.group(1), m.group(2)
        if s.startswith("{"):
            want = loads_doc_json(s)
            if json_at >= len(json_docs):
                problems.append(f"expected {s[:200]}\n      but the answer has no JSON there: {body.strip()[:300]!r}")
                continue
            why = match(want, json_docs[json_at])
            if why:
                problems.append(why)
            if is_curl and want_status and json_at < len(statuses) and statuses[json_at] != want_status:
                problems.append(f"HTTP status {statuses[json_at]}, the doc shows {want_status}")
            json_at += 1
            continue
        word, _, rest = s.partition(" ")
        rest = re.sub(r"^seq=\d+\s+", "", rest.strip())
        flags = ""
        if rest.startswith("ack_required"):
            flags, rest = "ack_required", rest[len("ack_required"):].strip()
        if rest and not rest.startswith("{"):
            problems.append(f"cannot read the expected line {s[:200]!r}")
            continue
        want = loads_doc_json(rest) if rest else {}
        # Any order (qos1 and room pushes interleave by timing), each output line used once.
        found = False
        for at, line in enumerate(cli_lines):
            if at in cli_used:
                continue
            w, _, r = line.partition(" ")
            r = re.sub(r"^(seq=\d+\s+)", "", r.strip())
            if w != word:
                continue
            if flags and not r.startswith(flags):
                continue
            r = r[len("ack_required"):].strip() if r.startswith("ack_required") else r
            try:
                got = json.loads(r)
            except ValueError:
                continue
            if match(want, got) is None:
                found = True
                cli_used.add(at)
                break
        if not found:
            problems.append(f"no {word} line matching {s[:200]} in the output:\n        " +
                            "\n        ".join(cli_lines[:40]))
    if is_curl:
        shown = {int(re.match(r"^(?:# )?(\d{3}) ", e.strip()).group(1)) for e in expected
                 if re.match(r"^(?:# )?(\d{3}) ", e.strip())}
        for st in statuses:
            if not shown and not st.startswith("2"):
                problems.append(f"HTTP status {st} (the doc shows none, so a 2xx is expected): {body.strip()[:300]!r}")
    return problems


def fixed_ports(block):
    """The ports a standalone block names: `--port N` and `host:N`, with a `$i` loop's digit
    expanded over 1..3 (the nodes of docs/cluster.md)."""
    text = "\n".join(block.lines)
    ports = set()
    for m in re.finditer(r"(?:--port\s+|127\.0\.0\.1:)(\d+)(\$i)?", text):
        if m.group(2):
            ports.update(int(m.group(1) + str(i)) for i in range(1, 4))
        else:
            ports.add(int(m.group(1)))
    return sorted(ports)


def port_in_use(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, cond, timeout_s=60):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")


class FreePorts:
    """The default ports 7000/7001/7002/8090 of a block, rewritten to free ones."""

    def __init__(self):
        self.ports = {"7000": free_port(), "7001": free_port(), "8090": free_port(),
                      "7002": free_port()}

    def rewrite(self, text):
        for old, new in self.ports.items():
            text = re.sub(rf"(?<![0-9]){old}(?![0-9])", str(new), text)
        return text

    def stop(self):
        pass


class DevNode(FreePorts):
    """A `livepushd --dev` on free ports (the blocks' 7000/7001/8090 are rewritten to them)."""

    def __init__(self, build, workdir):
        super().__init__()
        self.log = open(os.path.join(workdir, "livepushd-dev.log"), "w")
        p = self.ports
        self.proc = subprocess.Popen(
            [os.path.join(build, "app", "livepushd"), "--dev",
             "--tcp-listen", f"127.0.0.1:{p['7000']}", "--ws-listen", f"127.0.0.1:{p['7001']}",
             "--api-listen", f"127.0.0.1:{p['8090']}", "--link-listen", f"127.0.0.1:{p['7002']}"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        wait_until("livepushd --dev /healthz", self.healthy)

    def healthy(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"livepushd --dev exited with {self.proc.returncode}; see {self.log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['8090']}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def stop_group(pgid):
    """SIGTERM to what a block left running (its process group), SIGKILL after 20 s."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_block(block, build, repo, workdir, node):
    """Problems of one block (empty = it ran as documented)."""
    steps = split_steps(block.lines)
    script = ["set -u",
              "curl() { command curl -sS -w '\\n" + STATUS_MARK + "%{http_code}\\n' \"$@\"; }",
              "export -f curl",
              "API=http://127.0.0.1:8090",
              f"AUTH='Authorization: Bearer {DEV_API_KEY}'",
              "JSON='Content-Type: application/json'"]
    for n, (cmd, _) in enumerate(steps):
        cmd = cmd.replace("./build/", build.rstrip("/") + "/")
        script.append(f"echo '{CMD_MARK}{n}'")
        script.append(cmd)
        if not cmd.rstrip().endswith("&"):
            script.append(f"echo '{CMD_MARK}{n} rc='$?")
    text = "\n".join(script) + "\n"
    if node:
        text = node.rewrite(text)
    # Output to a file, not a pipe: what the block leaves in the background (nodes, clients,
    # redis) may hold its stdout open; the block is done when its shell exits.
    out_path = os.path.join(workdir, "block-output.txt")
    with open(out_path, "w") as out_file:
        proc = subprocess.Popen(["bash", "-c", text], cwd=workdir, stdout=out_file,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            stop_group(proc.pid)
            if proc.poll() is None:
                proc.wait()
    out = open(out_path, encoding="utf-8", errors="replace").read()
    if timed_out:
        return [f"did not finish within {BLOCK_TIMEOUT_S} s; output:\n{out[-2000:]}"]
    problems = []
    chunks = re.split(re.escape(CMD_MARK) + r"(\d+)\n", out)
    outputs = {}
    for k in range(1, len(chunks) - 1, 2):
        outputs[int(chunks[k])] = chunks[k + 1]
    for n, (cmd, expected) in enumerate(steps):
        chunk = outputs.get(n)
        if chunk is None:
            problems.append(f"step {n + 1} `{cmd.splitlines()[0]}` did not run; output:\n{out[-1500:]}")
            break
        m = re.search(re.escape(CMD_MARK) + str(n) + r" rc=(\d+)", chunk)
        rc = int(m.group(1)) if m else 0
        chunk = re.sub(re.escape(CMD_MARK) + r"\d+ rc=\d+\n?", "", chunk)
        for p in judge(n, cmd, expected, chunk, rc):
            problems.append(f"step {n + 1} `{cmd.splitlines()[0][:100]}`: {p}")
    return problems


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


def sanitizer_reports(workdir):
    """A sanitizer report in any log the block's processes wrote (run under ASan in CI) fails it."""
    found = []
    for name in sorted(os.listdir(workdir)):
        if not name.endswith((".log", ".txt")):
            continue
        text = open(os.path.join(workdir, name), encoding="utf-8", errors="replace").read()
        for mark in SANITIZER_MARKS:
            at = text.find(mark)
            if at >= 0:
                found.append(f"a sanitizer report in {name}: {text[at:at + 300]!r}")
                break
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--only", choices=["dev", "own-node", "standalone"], help="run only the blocks of this mode")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    repo, build = os.path.abspath(a.repo), os.path.abspath(a.build)
    files = a.files or ([os.path.join(repo, "README.md")] +
                        sorted(os.path.join(repo, "docs", f) for f in os.listdir(os.path.join(repo, "docs"))
                               if f.endswith(".md")))
    # --only dev runs the own-node blocks too: both use free ports only.
    modes = {"dev": {"dev", "own-node"}}.get(a.only, {a.only})
    blocks = [b for f in files for b in find_blocks(f) if not a.only or b.mode in modes]
    if not blocks:
        print("FAILED: no doc-test blocks found", file=sys.stderr)
        return 1
    failed = 0
    for b in blocks:
        workdir = tempfile.mkdtemp(prefix="docs-check-")
        node = None
        try:
            if b.mode == "dev":
                node = DevNode(build, workdir)
            elif b.mode == "own-node":
                node = FreePorts()
            elif b.mode == "standalone":
                # Its fixed ports must be free: a block must never talk to someone else's
                # redis-server (it would write lp:* keys there) or node.
                for port in fixed_ports(b):
                    if port_in_use(port):
                        raise RuntimeError(f"port {port}, which this block uses, is taken on this machine")
            else:
                raise RuntimeError(f"unknown doc-test mode {b.mode!r}")
            problems = run_block(b, build, repo, workdir, node)
        except Exception as e:  # a block that cannot run has not passed
            problems = [f"could not run: {e}"]
        finally:
            if node:
                node.stop()
        problems += sanitizer_reports(workdir)
        rel = os.path.relpath(b.path, repo)
        if problems:
            failed += 1
            print(f"FAIL {rel}:{b.line}")
            for p in problems:
                print("    " + p)
            print(f"    (scratch directory kept: {workdir})")
        else:
            print(f"ok   {rel}:{b.line}")
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(blocks) - failed} of {len(blocks)} doc examples ran as documented")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
