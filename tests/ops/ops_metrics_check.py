#!/usr/bin/env python3
"""tests/ops: every metric the Grafana dashboard and the Prometheus alert rules name exists.

deploy/grafana/livepush.json and deploy/prometheus/alerts.yml are only useful if the node
exports what they query: a renamed metric leaves a panel empty and an alert silent, and nothing
else would notice. This check starts a real node in the mode that exports the most families
(cluster mode: a real redis-server; Kafka: librdkafka's mock cluster, livepush-kafka-mock),
makes one API request (so the per-route API counter has samples), scrapes /metrics, and checks
every PromQL expression of the dashboard (panel targets and the node variable's query) and of
the rules:
  - each `livepush_*` name is a family of the scrape, or `_bucket`/`_sum`/`_count` of a
    histogram family;
  - each label matcher names a label the metric's samples carry (and an `=` matcher a value one
    of them has), and each `by (...)` label exists on a metric of the expression (the target
    labels `instance` and `job`, and `le`, are Prometheus's own);
  - each rule has `for`-less or `for` timing, a severity, a summary and a runbook_url whose
    anchor is a heading of docs/operations.md.
It then runs `promtool check rules` and `promtool test rules` (Debian package prometheus), and
finally checks itself: a dashboard with one metric name misspelt must be reported.
Exit 0 when all holds; 1 naming every problem.
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

DEV_API_KEY = "livepush-dev-api-key"
TARGET_LABELS = {"instance", "job", "le", "__name__"}
NAME_RE = re.compile(r"\b(livepush_[a-zA-Z0-9_]+)\b(\s*\{([^}]*)\})?")
MATCHER_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
BY_RE = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, cond, timeout_s=60):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            v = cond()
            if v:
                return v
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"ops_metrics_check: timed out waiting for {what}")


def http(url, data=None):
    req = urllib.request.Request(url, data=data, headers={
        "Authorization": f"Bearer {DEV_API_KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


# ----------------------------------------------------------------------------- expressions

def dashboard_exprs(path):
    """(where, expr) for every PromQL string of a Grafana dashboard."""
    with open(path) as f:
        dash = json.load(f)
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            title = node.get("title", where)
            for k, v in node.items():
                if k == "expr" and isinstance(v, str):
                    out.append((f"panel {title!r}", v))
                else:
                    walk(v, title)
        elif isinstance(node, list):
            for v in node:
                walk(v, where)

    walk(dash.get("panels", []), "panels")
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if isinstance(q, str):
            out.append((f"variable {var.get('name')!r}", q))
    return out


def rules(path):
    """The rules of a Prometheus rule file as dicts of their scalar fields (a small reader for
    the subset alerts.yml uses: `- alert:` items, `key: value` scalars, `|` blocks, and the
    nested labels/annotations maps flattened as labels.x / annotations.x)."""
    items, cur, block_key, block_indent, section = [], None, None, 0, None
    with open(path) as f:
        lines = f.read().split("\n")
    for line in lines:
        if block_key is not None:
            if line.strip() == "" or len(line) - len(line.lstrip()) > block_indent:
                cur[block_key] += line.strip() + " "
                continue
            block_key = None
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        m = re.match(r"-?\s*([a-zA-Z_]+):\s*(.*)$", s)
        if not m:
            continue
        key, val = m.group(1), m.group(2)
        if s.startswith("- alert:") or s.startswith("- record:"):
            cur = {"_indent": indent}
            items.append(cur)
            section = None
        if cur is None:
            continue
        if indent <= cur["_indent"] and not s.startswith("- "):
            cur, section = None, None
            continue
        if key in ("labels", "annotations") and val == "":
            section = key
            section_indent = indent
            continue
        if section and indent <= section_indent:
            section = None
        full = f"{section}.{key}" if section else key
        if val in ("|", ">", "|-", ">-"):
            cur[full], block_key, block_indent = "", full, indent
            continue
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
        cur[full] = val
    return items


# ----------------------------------------------------------------------------- the scrape

def parse_scrape(text):
    """{family: type}, {sample name: [label dicts]}"""
    families, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            families[name] = typ
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
            if m:
                labels = dict((k, v) for k, _, v in MATCHER_RE.findall(m.group(3) or ""))
                samples.setdefault(m.group(1), []).append(labels)
    return families, samples


def known(name, families):
    if name in families:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and families.get(name[: -len(suffix)]) in ("histogram", "summary"):
            return True
    return False


def check_expr(where, expr, families, samples):
    problems = []
    names = []
    for m in NAME_RE.finditer(expr):
        name, selector = m.group(1), m.group(3)
        names.append(name)
        if not known(name, families):
            problems.append(f"{where}: metric {name} is not exported by the node (expr: {expr})")
            continue
        rows = samples.get(name, [])
        for key, op, value in MATCHER_RE.findall(selector or ""):
            if key in TARGET_LABELS:
                continue
            if not rows:
                problems.append(f"{where}: {name} has no samples to carry label {key!r}")
            elif not any(key in r for r in rows):
                problems.append(f"{where}: {name} has no label {key!r} (expr: {expr})")
            elif op == "=" and not any(r.get(key) == value for r in rows):
                problems.append(f"{where}: {name} has no sample with {key}=\"{value}\"")
    for m in BY_RE.finditer(expr):
        for key in (k.strip() for k in m.group(1).split(",")):
            if not key or key in TARGET_LABELS:
                continue
            if not any(key in r for n in names for r in samples.get(n, [])):
                problems.append(f"{where}: no metric of the expression has label {key!r} "
                                f"(by/without) (expr: {expr})")
    return problems, names


def heading_anchors(md_path):
    anchors = set()
    with open(md_path) as f:
        for line in f:
            m = re.match(r"#{1,6}\s+(.*)$", line.rstrip())
            if m:
                slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
                anchors.add(slug)
    return anchors


def check_all(dashboard, rules_path, operations_md, families, samples):
    problems, used = [], set()
    for where, expr in dashboard_exprs(dashboard):
        p, names = check_expr(where, expr, families, samples)
        problems += p
        used.update(names)
    anchors = heading_anchors(operations_md)
    rule_list = rules(rules_path)
    if not rule_list:
        problems.append(f"{rules_path}: no rules found")
    for r in rule_list:
        name = r.get("alert") or r.get("record")
        where = f"rule {name}"
        expr = r.get("expr", "")
        if not expr:
            problems.append(f"{where}: no expr")
        p, names = check_expr(where, expr, families, samples)
        problems += p
        used.update(names)
        if "alert" in r:
            for field in ("labels.severity", "annotations.summary", "annotations.runbook_url"):
                if not r.get(field):
                    problems.append(f"{where}: no {field}")
            url = r.get("annotations.runbook_url", "")
            anchor = url.split("#", 1)[1] if "#" in url else ""
            if not anchor or anchor not in anchors:
                problems.append(f"{where}: runbook_url {url!r} names no heading of "
                                f"{os.path.basename(operations_md)}")
    return problems, used


# ----------------------------------------------------------------------------- the node

def start_node(build, tmp):
    procs = []
    redis_port = free_port()
    procs.append(subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tmp],
        stdout=open(os.path.join(tmp, "redis.log"), "w"), stderr=subprocess.STDOUT))
    mock_out = os.path.join(tmp, "mock.out")
    procs.append(subprocess.Popen(
        [os.path.join(build, "load-test", "livepush-kafka-mock"), "--brokers", "1"],
        stdout=open(mock_out, "w"), stderr=subprocess.STDOUT))

    def bootstrap():
        with open(mock_out) as f:
            for line in f:
                if line.startswith("bootstrap="):
                    return line.strip().split("=", 1)[1]
        return None

    servers = wait_until("the Kafka mock's bootstrap line", bootstrap)
    api = free_port()
    args = [os.path.join(build, "app", "livepushd"), "--dev", "--node-id", "ops1",
            "--redis", f"127.0.0.1:{redis_port}", "--kafka", servers,
            "--tcp-listen", f"127.0.0.1:{free_port()}", "--ws-listen", f"127.0.0.1:{free_port()}",
            "--api-listen", f"127.0.0.1:{api}", "--link-listen", f"127.0.0.1:{free_port()}"]
    procs.append(subprocess.Popen(args, stdout=open(os.path.join(tmp, "node.log"), "w"),
                                  stderr=subprocess.STDOUT))
    return procs, api


def stop(procs):
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--dashboard", help="default: REPO/deploy/grafana/livepush.json")
    ap.add_argument("--rules", help="default: REPO/deploy/prometheus/alerts.yml")
    a = ap.parse_args()
    dashboard = a.dashboard or os.path.join(a.repo, "deploy", "grafana", "livepush.json")
    rules_path = a.rules or os.path.join(a.repo, "deploy", "prometheus", "alerts.yml")
    operations_md = os.path.join(a.repo, "docs", "operations.md")

    problems = []
    promtool = shutil.which("promtool")
    if not promtool:
        problems.append("promtool not found: install the Debian package prometheus "
                        "(scripts/install-deps.sh)")
    else:
        for cmd in (["check", "rules", rules_path],
                    ["test", "rules", os.path.join(os.path.dirname(rules_path),
                                                   "alerts_test.yml")]):
            r = subprocess.run([promtool] + cmd, capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"promtool {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")

    tmp = tempfile.mkdtemp(prefix="lp-ops-")
    procs, api = start_node(a.build, tmp)
    try:
        base = f"http://127.0.0.1:{api}"
        wait_until("the node's /readyz", lambda: "ready" in http(base + "/readyz"))
        http(base + "/v1/push/user",
             b'{"user_id":1,"type":"ops.check","payload":{},"qos":0}')
        text = http(base + "/metrics")
    finally:
        stop(procs)
    with open(os.path.join(tmp, "metrics.txt"), "w") as f:
        f.write(text)
    families, samples = parse_scrape(text)
    if len(families) < 50:
        problems.append(f"the scrape has only {len(families)} families (see {tmp}/metrics.txt)")

    p, used = check_all(dashboard, rules_path, operations_md, families, samples)
    problems += p

    # The check checks itself: one misspelt name in a copy of the dashboard must be reported.
    with open(dashboard) as f:
        broken_text = f.read().replace("livepush_send_queue_bytes", "livepush_send_queue_byte", 1)
    broken = os.path.join(tmp, "broken.json")
    with open(broken, "w") as f:
        f.write(broken_text)
    p_broken, _ = check_all(broken, rules_path, operations_md, families, samples)
    if not any("livepush_send_queue_byte " in x for x in p_broken):
        problems.append("self-check: a misspelt metric in the dashboard was not reported")

    if problems:
        print(f"ops_metrics_check: {len(problems)} problem(s) (node's scrape in {tmp}):")
        for x in problems:
            print("  - " + x)
        return 1
    print(f"ops_metrics_check: OK: {len(used)} metrics used by the dashboard and the rules, "
          f"all among the node's {len(families)} families; promtool check and test passed")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
