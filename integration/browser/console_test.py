#!/usr/bin/env python3
"""The web console (GET /ui/) in headless Chromium against a real `sluice serve`.

A PostgreSQL -> PostgreSQL connector with a writer running: the console shows it RUNNING with
an events/s plot that has data points and a replication-slot retained bytes plot with data; pause and resume from the UI (checked in the UI and
through the API); a sync started from the form reaches 100 %; an invalid config names the
offending key; delete with confirmation; with --token the console is refused until the token
is entered. Prints the first load's transferred size. Needs the servers' variables
(SLUICE_TEST_PG_*) and SLUICE_BIN; a missing browser is a failure.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PG = dict(host=os.environ.get("SLUICE_TEST_PG_HOST", ""), port=os.environ.get("SLUICE_TEST_PG_PORT", ""),
          user=os.environ.get("SLUICE_TEST_PG_USER", ""))
SLUICE = os.environ.get("SLUICE_BIN", "")
SHOTS = os.environ.get("SLUICE_SCREENSHOT_DIR", tempfile.gettempdir())
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SUFFIX = str(os.getpid())
SRC, DST, SYNC_DST = "console_src_" + SUFFIX, "console_dst_" + SUFFIX, "console_sync_" + SUFFIX
CONNECTOR = "console-orders"


def fail(message):
    print("FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def psql(db, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG["host"], "-p", PG["port"],
                    "-U", PG["user"], "-d", db, "-c", sql], check=True, capture_output=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """A `sluice serve` on a free loopback port with its own state file."""

    def __init__(self, work, token=""):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.token = token
        args = [SLUICE, "serve", "--listen", "127.0.0.1:%d" % self.port, "--state",
                os.path.join(work, "state-%d.db" % self.port)]
        if token:
            args += ["--token", token]
        self.log = open(os.path.join(work, "serve-%d.log" % self.port), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.call("GET", "/healthz")[0] == 200, 15, "sluice serve answers /healthz")

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read().decode()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    last_error = None
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception as e:  # a stale element while the page re-renders
            last_error = e
        time.sleep(0.25)
    fail("timed out after %ds waiting until %s (%s)" % (seconds, what, last_error))


def pg_config(dst_db, slot):
    return {"connector.class": "postgres", "database.hostname": PG["host"], "database.port": PG["port"],
            "database.user": PG["user"], "database.dbname": SRC, "slot.name": slot,
            "publication.name": slot, "table.include.list": "shop\\..*", "sink.type": "postgres",
            "sink.url": "postgresql://%s@%s:%s/%s" % (PG["user"], PG["host"], PG["port"], dst_db),
            "sink.batch.ms": "100"}


def start_browser():
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            fail("%s not found: install the Debian package %s (make deps)" % (path, package))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1100"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def shot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def row_state(driver, name):
    rows = driver.find_elements(By.CSS_SELECTOR, 'tr[data-connector="%s"] .state' % name)
    return rows[0].text if rows else None


def set_text(driver, element_id, text):
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, element_id), text)


def writer(stop):
    """Inserts a few rows every 100 ms into the source until `stop` is set."""
    proc = subprocess.Popen(["psql", "-X", "-q", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"],
                             "-d", SRC], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    while not stop.is_set():
        proc.stdin.write("INSERT INTO shop.orders (note) SELECT 'w' || g FROM generate_series(1, 20) g;\n")
        proc.stdin.flush()
        time.sleep(0.1)
    proc.stdin.close()
    proc.wait(10)


def main():
    if not SLUICE or not os.path.exists(SLUICE):
        fail("SLUICE_BIN is not set to the sluice binary")
    if not PG["host"]:
        fail("SLUICE_TEST_PG_HOST is not set: start the servers (make servers-up) and export servers.env")
    started = time.time()
    work = tempfile.mkdtemp(prefix="sluice-console-")
    for db in (SRC, DST, SYNC_DST):
        psql("postgres", "CREATE DATABASE " + db)
    psql(SRC, "CREATE SCHEMA shop; CREATE TABLE shop.orders (id bigserial PRIMARY KEY, note text NOT NULL);"
              "INSERT INTO shop.orders (note) SELECT 'seed' || g FROM generate_series(1, 5000) g; ANALYZE")
    serve = Serve(work)
    secured = None
    driver = None
    stop_writer = threading.Event()
    writer_thread = None
    passed = 0
    try:
        status, body = serve.call("POST", "/connectors", {"name": CONNECTOR,
                                                          "config": pg_config(DST, "console_" + SUFFIX)})
        if status != 201:
            fail("POST /connectors: %s %s" % (status, body))
        writer_thread = threading.Thread(target=writer, args=(stop_writer,))
        writer_thread.start()
        driver = start_browser()

        # 1. The page loads, shows the connector RUNNING and a events/s plot with data points.
        t0 = time.time()
        driver.get(serve.base + "/ui/")
        wait_for(lambda: row_state(driver, CONNECTOR) == "RUNNING", 30, "the console shows RUNNING")
        load_s = time.time() - t0
        weight = driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return n.transferSize + performance.getEntriesByType('resource')"
            "  .filter(r => r.name.includes('/ui/')).reduce((s, r) => s + r.transferSize, 0);")
        print("console first load: %d bytes transferred, RUNNING shown after %.2fs" % (weight, load_s))
        if weight > 200 * 1024:
            fail("the console's first load transferred %d bytes (budget 200 KiB)" % weight)
        driver.find_element(By.CSS_SELECTOR, 'tr[data-connector="%s"] td.name a' % CONNECTOR).click()
        events = "const c = Chart.getChart('chart-events'); return c ? c.data.datasets[0].data : [];"
        wait_for(lambda: len(driver.execute_script(events)) >= 2 and
                 any(p["y"] > 0 for p in driver.execute_script(events)), 40,
                 "the events/s chart has two data points, one above 0")
        points = driver.execute_script(events)
        print("events/s chart: %d points, max %.1f" % (len(points), max(p["y"] for p in points)))
        # The PostgreSQL source samples its replication slot: the retained-WAL plot has data and
        # the detail names the slot.
        retained = "const c = Chart.getChart('chart-retained'); return c ? c.data.datasets[0].data : [];"
        wait_for(lambda: len(driver.execute_script(retained)) >= 1, 30,
                 "the slot retained bytes chart has a data point")
        slot_line = driver.find_element(By.ID, "detail-slot").text
        if "Slot " not in slot_line or "wal_status" not in slot_line:
            fail("the connector detail does not show the slot: %r" % slot_line)
        print("slot retained chart: %d points; %s" % (len(driver.execute_script(retained)), slot_line))
        shot(driver, "01-running")
        refused = [e["message"] for e in driver.get_log("browser")
                   if "Content Security Policy" in e["message"] or "Refused" in e["message"]]
        if refused:
            fail("the console broke its own Content-Security-Policy: %s" % refused)
        driver.set_window_size(390, 844)  # a phone: the table scrolls, the charts stack
        time.sleep(0.5)
        shot(driver, "01-running-phone")
        if driver.execute_script("return document.documentElement.scrollWidth") > 400:
            fail("the console is wider than a phone's screen")
        driver.set_window_size(1280, 1100)
        passed += 1

        # 2. Pause and resume from the UI; the API agrees.
        def api_state():
            return serve.call("GET", "/connectors/%s/status" % CONNECTOR)[1]["connector"]["state"]
        button = 'tr[data-connector="%s"] button[data-action="%s"]'
        driver.find_element(By.CSS_SELECTOR, button % (CONNECTOR, "pause")).click()
        wait_for(lambda: row_state(driver, CONNECTOR) == "PAUSED", 30, "the console shows PAUSED")
        if api_state() != "PAUSED":
            fail("the API says %s after pause" % api_state())
        shot(driver, "02-paused")
        driver.find_element(By.CSS_SELECTOR, button % (CONNECTOR, "resume")).click()
        wait_for(lambda: row_state(driver, CONNECTOR) == "RUNNING", 30, "the console shows RUNNING again")
        wait_for(lambda: api_state() == "RUNNING", 10, "the API says RUNNING after resume")
        passed += 1

        # 3. A sync from the form reaches 100 %.
        set_text(driver, "sync-config", json.dumps({"name": "copy", "config": pg_config(SYNC_DST, "unused")}))
        driver.find_element(By.CSS_SELECTOR, "#sync-form button[type=submit]").click()
        def sync_done():
            bars = driver.find_elements(By.CSS_SELECTOR, "#syncs .sync progress")
            states = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#syncs .sync .state")]
            if "FAILED" in states:
                fail("the sync failed: " + driver.find_element(By.ID, "syncs").text)
            return bars and bars[0].get_attribute("data-percent") == "100" and states[0] == "SUCCEEDED"
        wait_for(sync_done, 40, "the sync's progress bar reaches 100 %")
        shot(driver, "03-sync")
        passed += 1

        # 4. An invalid config names the offending key.
        bad = pg_config(DST, "bad_" + SUFFIX)
        bad["database.port"] = "not-a-port"
        set_text(driver, "create-config", json.dumps({"name": "bad", "config": bad}, indent=1))
        driver.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
        wait_for(lambda: "database.port" in [e.text for e in
                 driver.find_elements(By.CSS_SELECTOR, "#create-result .bad-key")], 20,
                 "the validation error names database.port")
        shot(driver, "04-invalid-config")
        if serve.call("GET", "/connectors/bad")[0] != 404:
            fail("an invalid config created a connector")
        passed += 1

        # 5. Delete with confirmation (also drops the slot).
        driver.find_element(By.CSS_SELECTOR, button % (CONNECTOR, "delete")).click()
        wait_for(lambda: driver.find_element(By.ID, "confirm").get_attribute("open") is not None, 5,
                 "the confirmation dialog opens")
        driver.find_element(By.ID, "confirm-ok").click()
        wait_for(lambda: row_state(driver, CONNECTOR) is None, 30, "the connector leaves the table")
        if serve.call("GET", "/connectors/" + CONNECTOR)[0] != 404:
            fail("the connector still exists after delete")
        passed += 1

        # 6. With a token: refused until it is entered.
        secured = Serve(work, token="s3cret-" + SUFFIX)
        driver.execute_script("sessionStorage.clear()")
        driver.get(secured.base + "/ui/")
        wait_for(lambda: driver.find_element(By.ID, "login").is_displayed(), 10, "the token form shows")
        if driver.find_element(By.ID, "app").is_displayed():
            fail("the console shows data without a token")
        driver.find_element(By.ID, "token").send_keys("wrong")
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        wait_for(lambda: "refused" in driver.find_element(By.ID, "login-error").text, 10,
                 "a wrong token is refused")
        driver.find_element(By.ID, "token").send_keys(secured.token)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        wait_for(lambda: driver.find_element(By.ID, "app").is_displayed(), 10, "the console opens with the token")
        wait_for(lambda: driver.find_element(By.ID, "no-connectors").is_displayed(), 10,
                 "the connectors list loads with the token")
        shot(driver, "05-token")
        passed += 1
    finally:
        stop_writer.set()
        if writer_thread:
            writer_thread.join()
        if driver:
            driver.quit()
        serve.call("DELETE", "/connectors/" + CONNECTOR)
        serve.stop()
        if secured:
            secured.stop()
        subprocess.run(["psql", "-X", "-q", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d",
                        "postgres", "-c", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                        "WHERE slot_name LIKE '%%" + SUFFIX + "%%'"], capture_output=True)
        for db in (SRC, DST, SYNC_DST):
            subprocess.run(["psql", "-X", "-q", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d",
                            "postgres", "-c", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print("browser console test: %d passed, 0 failed in %.0fs (screenshots in %s)"
          % (passed, time.time() - started, SHOTS))


if __name__ == "__main__":
    main()
