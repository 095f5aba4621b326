#!/usr/bin/env python3
"""The report pages in headless Chromium (issue 15). Driven by Scripts/check-report.sh,
which says what is checked; standard library only.

Each page is written by the diswot executables in --bin, loaded by Chromium from a file
(or from diswotd --http), and its DOM — as Chromium parsed it, not as diswot wrote it —
checked against what the commands themselves report. Console errors are read from
Chromium's log (--enable-logging=stderr); a control page that logs an error proves that
this capture works, so a silent log means something.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser

FAILURES = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        FAILURES.append(what)


# --- Chromium ---------------------------------------------------------------------------

class Browser:
    def __init__(self, work):
        self.profile = os.path.join(work, "chromium-profile")
        self.flags = [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={self.profile}", "--enable-logging=stderr", "--v=0",
        ]

    def run(self, url, extra, timeout=300):
        started = time.monotonic()
        p = subprocess.run(self.flags + extra + [url], capture_output=True, text=True, timeout=timeout)
        return p.stdout, p.stderr, time.monotonic() - started

    def dom(self, url):
        out, err, seconds = self.run(url, ["--dump-dom"])
        return out, console_problems(err), seconds

    def screenshot(self, url, path, height):
        _, err, _ = self.run(url, [f"--screenshot={path}", f"--window-size=1280,{height}"])
        check(os.path.exists(path) and os.path.getsize(path) > 10_000, f"screenshot {path} saved")


def console_problems(log):
    """Every console message (Chromium logs them all at INFO, whatever their level; the
    pages run no script, so any message is a browser complaint), CSP refusals, failed loads."""
    problems = []
    for line in log.splitlines():
        if ":CONSOLE" in line or "Uncaught" in line:
            problems.append(line)
        elif "Refused to" in line or "Failed to load resource" in line or "net::ERR_" in line:
            problems.append(line)
    return problems


# --- DOM --------------------------------------------------------------------------------

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], ""

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def find(self, tag=None, cls=None):
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())]

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


class DOM(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.current = self.root
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        n = self.current
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.current = n.parent

    def handle_data(self, data):
        self.current.text += data


def tooltip_key(circle):
    titles = [c for c in circle.children if c.tag == "title"]
    return titles[0].all_text().split("\n")[0] if titles else None


def charts(dom):
    return {svg.attrs.get("aria-label", ""): svg for svg in dom.root.find("svg")}


def common_checks(name, dom, problems):
    check(not problems, f"{name}: no console error, refusal or failed load" + (f": {problems[:3]}" if problems else ""))
    external = [n.tag for n in dom.root.walk() if n.tag in ("script", "link", "img", "iframe", "object", "embed")]
    external += [n.attrs.get("src") or n.attrs.get("href") for n in dom.root.walk()
                 if re.match(r"^[a-z]+:", (n.attrs.get("src") or n.attrs.get("href") or ""))]
    check(not external, f"{name}: no script and no external resource ({external[:3]})")


# --- Pages ------------------------------------------------------------------------------

def sh(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"check-report: {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def open_time(browser, page, work):
    """Median over 5 loads of the time from navigation start to the page parsed and laid
    out (performance.now() in the load handler after forcing layout), measured on a copy
    of the page with a tiny inline script appended — the page itself has none — and the
    page's height for its screenshot. Also wall-clock time of Chromium's whole run against
    an empty page, for what startup costs."""
    probe = os.path.join(work, "timed-" + os.path.basename(page))
    with open(page, encoding="utf-8") as f:
        html = f.read()
    script = ("<script>addEventListener('load',()=>{const h=document.documentElement.scrollHeight;"
              "document.documentElement.dataset.openMs=performance.now().toFixed(1);"
              "document.documentElement.dataset.height=h;});</script>")
    with open(probe, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", script + "</body>"))
    blank = os.path.join(work, "blank.html")
    with open(blank, "w") as f:
        f.write("<!DOCTYPE html><title>blank</title>")
    opens, walls, blanks, height = [], [], [], 1200
    for _ in range(5):
        out, _, seconds = browser.run("file://" + probe, ["--dump-dom", "--window-size=1280,800"])
        m = re.search(r'data-open-ms="([0-9.]+)"', out)
        h = re.search(r'data-height="([0-9]+)"', out)
        if m:
            opens.append(float(m.group(1)))
        if h:
            height = int(h.group(1))
        walls.append(seconds)
        blanks.append(browser.dom("file://" + blank)[2])
    return (statistics.median(opens) if opens else None, statistics.median(walls), statistics.median(blanks), height)


def search_page(args, browser, work):
    jsonl, result, page = (os.path.join(work, n) for n in ("search.jsonl", "search.json", "search.html"))
    started = time.monotonic()
    with open(result, "w") as f:
        f.write(sh([f"{args.bin}/diswot", "search", "--local", "--space", "nas-bench-201", "--proxy", "nwot", "--batch", "16",
                    "--budget", str(args.budget), "--jsonl", jsonl, "--json", "-q"]))
    print(f"     search --local of {args.budget} candidates: {time.monotonic() - started:.0f} s")
    sh([f"{args.bin}/diswot", "report", "--scores", jsonl, "--spec", result, "--html", page, "-q"])
    expected = json.load(open(result))
    dom_text, problems, _ = browser.dom("file://" + page)
    dom = DOM(dom_text)
    common_checks("search", dom, problems)
    by_title = charts(dom)
    macs = next((svg for t, svg in by_title.items() if "score against MACs" in t), None)
    params = next((svg for t, svg in by_title.items() if "score against params" in t), None)
    convergence = next((svg for t, svg in by_title.items() if t.startswith("Best")), None)
    check(macs is not None and params is not None and convergence is not None, "search: convergence, MACs and params charts")
    front = [tooltip_key(c) for g in macs.find("g", "front") for c in g.find("circle")]
    check(front == [e["key"] for e in expected["pareto"]],
          f"search: the MACs chart's front is the search's Pareto front ({len(front)} points)")
    n_scored = sum(1 for line in open(jsonl) if '"unscorable"' not in line)
    candidates = [c for g in macs.find("g", "candidate") for c in g.find("circle")]
    check(len(candidates) == n_scored, f"search: every scored candidate drawn ({len(candidates)} of {n_scored})")
    best = expected["best"][0]["key"]
    students = [tooltip_key(c) for g in dom.root.find("g", "student") for c in g.find("circle")]
    check(students == [best] * 3, "search: the chosen student (the search's best) marked in all three charts")
    labels = [n.all_text() for n in dom.root.find("text", "axis-label")]
    for label in ["evaluation (in the order recorded)", "MACs per image (multiply–accumulates) (log scale)",
                  "parameters (log scale)", "nwot score (higher is better)"]:
        check(label in labels, f"search: axis label '{label}'")
    check(any("final best at evaluation" in n.all_text() for n in convergence.find("text")),
          "search: the evaluation where the final best appeared is marked")
    check(len([t for t in dom.root.find("text", "x-tick")]) >= 9, "search: ticks on every x axis")
    table = dom.root.find("table", "spec")
    check(bool(table) and "nas-bench-201" in table[0].all_text(), "search: the spec table")
    size = os.path.getsize(page)
    opened, wall, blank, height = open_time(browser, page, work)
    print(f"     search page: {size} bytes ({size / 1e6:.2f} MB), opens in {opened} ms (median of 5; Chromium run {wall:.2f} s against {blank:.2f} s for an empty page)")
    if args.budget >= 1000:
        check(size < 1_000_000, f"search: a {args.budget}-candidate page is under 1 MB ({size} bytes)")
        check(opened is not None and opened < 1000, f"search: it opens in under a second ({opened} ms)")
    if args.screenshots:
        browser.screenshot("file://" + page, os.path.join(args.screenshots, "report-search.png"), min(height, 4000))


def quality_page(args, browser, work):
    jsonl, page = os.path.join(work, "quality.jsonl"), os.path.join(work, "quality.html")
    truth = os.path.join(args.shared, "benchmarks/nas-bench-201/cifar10.csv")
    sh([f"{args.bin}/diswot", "score", "--space", "nas-bench-201", "--sample", "300", "--proxies", "nwot,synflow,params",
        "--batch", "16", "--jsonl", jsonl, "-q"])
    sh([f"{args.bin}/diswot", "report", "--scores", jsonl, "--truth", truth, "--truth-field", "cifar10_test", "--html", page, "-q"])
    rank = json.loads(sh([f"{args.bin}/diswot", "rank", "--scores", jsonl, "--truth", truth, "--truth-field", "cifar10_test", "--json"]))
    dom_text, problems, _ = browser.dom("file://" + page)
    dom = DOM(dom_text)
    common_checks("quality", dom, problems)
    titles = [n.all_text() for n in dom.root.find("text", "chart-title")]
    for row in rank:
        want = f"{row['proxy']}: Kendall τ = {row['kendall_tau']:.3f}, Spearman ρ = {row['spearman_rho']:.3f} (n = {row['matched']})"
        check(want in titles, f"quality: title '{want}' (diswot rank's values)")
    labels = {n.all_text() for n in dom.root.find("text", "axis-label")}
    check("ground truth: cifar10_test" in labels, "quality: the truth axis is labelled")
    points = sum(len(g.find("circle")) for g in dom.root.find("g", "quality-point"))
    check(points >= 3 * 290, f"quality: every architecture drawn per proxy ({points} points)")
    if args.screenshots:
        browser.screenshot("file://" + page, os.path.join(args.screenshots, "report-quality.png"), 1300)


def training_page(args, browser, work):
    run, page = os.path.join(work, "run"), os.path.join(work, "training.html")
    sh([f"{args.bin}/diswot", "train", "--student", "resnet8", "--teacher-weights",
        os.path.join(args.shared, "teachers/cifar10-resnet20.safetensors"),
        "--data", "cifar10:" + os.path.join(args.shared, "datasets/cifar10-subset"), "--epochs", "6", "--train-limit", "512",
        "--test-limit", "256", "--batch", "64", "--lr", "0.1", "--schedule", "cosine", "--out", run, "-q"])
    sh([f"{args.bin}/diswot", "report", "--run", run, "--html", page, "-q"])
    report = json.load(open(os.path.join(run, "report.json")))
    dom_text, problems, _ = browser.dom("file://" + page)
    dom = DOM(dom_text)
    common_checks("training", dom, problems)
    check(len(dom.root.find("polyline", "loss")) >= 2, "training: a line per loss term")
    check(len(dom.root.find("polyline", "test-accuracy")) == 1 and len(dom.root.find("polyline", "train-accuracy")) == 1,
          "training: train and test accuracy lines")
    tests = [c for g in dom.root.find("g", "test-accuracy-point") for c in g.find("circle")]
    check(len(tests) == 6, f"training: a test accuracy per epoch ({len(tests)})")
    labels = {n.all_text() for n in dom.root.find("text", "axis-label")}
    for label in ["epoch", "accuracy (%)", "images per second", "loss"]:
        check(label in labels, f"training: axis label '{label}'")
    check(any(l.startswith("learning rate") for l in labels), "training: learning-rate axis")
    check(f"{report['test_accuracy'] * 100:.2f} %" in dom.root.all_text(), "training: the run's test accuracy in the summary")
    if args.screenshots:
        browser.screenshot("file://" + page, os.path.join(args.screenshots, "report-training.png"), 1250)


def daemon_pages(args, browser, work):
    state, ready = os.path.join(work, "state"), os.path.join(work, "ready.json")
    log = open(os.path.join(work, "diswotd.log"), "w")
    daemon = subprocess.Popen([f"{args.bin}/diswotd", "--state-dir", state, "--data-root", work, "--ready-file", ready,
                               "--client", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*",
                               "--local-workers", "1", "--http", "127.0.0.1:0"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(ready) and time.monotonic() < deadline:
            time.sleep(0.1)
        info = json.load(open(ready))
        search = json.loads(sh([f"{args.bin}/diswot", "search", "start", "--daemon", info["client"], "--space", "nas-bench-201",
                                "--proxy", "nwot", "--batch", "16", "--budget", "60", "--name", "browser check <&>", "--wait", "--json", "-q"],
                               timeout=600))
        url = info["http"]
        dom_text, problems, _ = browser.dom(url + "/")
        dom = DOM(dom_text)
        common_checks("daemon index", dom, problems)
        links = [a.attrs.get("href") for a in dom.root.find("a")]
        check(f"/searches/{search['id']}" in links, "daemon index: links the search")
        check("browser check <&>" in dom.root.all_text(), "daemon index: the search's name, escaped and shown as typed")
        check("Workers (1)" in dom.root.all_text(), "daemon index: lists the worker")
        dom_text, problems, _ = browser.dom(f"{url}/searches/{search['id']}")
        dom = DOM(dom_text)
        common_checks("daemon search page", dom, problems)
        students = [tooltip_key(c) for g in dom.root.find("g", "student") for c in g.find("circle")]
        check(students == [search["best"][0]["key"]] * 3, "daemon search page: the chosen student marked")
        check(len(dom.root.find("g", "front")) == 2, "daemon search page: the fronts drawn")
        if args.screenshots:
            browser.screenshot(url + "/", os.path.join(args.screenshots, "daemon-index.png"), 700)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


def control(browser, work):
    """The console capture works: a page that logs an error is caught."""
    page = os.path.join(work, "control.html")
    with open(page, "w") as f:
        f.write('<!DOCTYPE html><script>console.error("diswot-console-probe")</script>')
    _, problems, _ = browser.dom("file://" + page)
    check(any("diswot-console-probe" in p for p in problems), "control: a console error is caught by this check")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--shared", required=True)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--screenshots", default="Docs/img")
    args = parser.parse_args()
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="diswot-report-check-")
    try:
        browser = Browser(work)
        control(browser, work)
        search_page(args, browser, work)
        quality_page(args, browser, work)
        training_page(args, browser, work)
        daemon_pages(args, browser, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"check-report: {len(FAILURES)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("check-report: every check passed")


if __name__ == "__main__":
    main()
