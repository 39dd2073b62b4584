"""The report page in a real browser (headless Chromium driven by Selenium): for the seed study and
designs of 12 and 48 conditions, `parsim report` writes report.html, which must open with no console
error, draw every figure (each SVG with a non-empty box and drawn content), sort a table by a click on a
heading (numbers and text, both directions, missing values last), filter rows with the filter box, and
show every measure on request. Screenshots go to target/report-screenshots/ for a reader to check by eye.

Usage: python browser.py PARSIM_BINARY   (run by .ci/run; needs chromium and chromium-driver)
"""

import base64
import shutil
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
WORK = ROOT / "target" / "report-browser"
SHOTS = ROOT / "target" / "report-screenshots"

# (name, study file, replications): few replications keep the test fast; the page's shape depends on
# the design, not on how many replications it summarises.
CASES = [
    ("seed", ROOT / "examples" / "seed-study.toml", 20),
    ("design-12", HERE / "design-12.toml", 40),
    ("design-48", HERE / "design-48.toml", 30),
]


def run(parsim, *args):
    done = subprocess.run([parsim, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"parsim {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver_path), options=options)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def figures_rendered(driver, name):
    """Every figure, folded ones opened: the SVG has a non-empty box and something drawn in it."""
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true);")
    boxes = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('figure svg')).map(svg => {
            const r = svg.getBoundingClientRect();
            let drawn = 0;
            svg.querySelectorAll('path, line, polyline, polygon, rect, circle, text').forEach(e => {
                const b = e.getBBox();
                if (b.width > 0 || b.height > 0) drawn++;
            });
            return [svg.closest('figure').id, r.width, r.height, drawn];
        });
        """
    )
    figures = driver.execute_script("return document.querySelectorAll('figure').length;")
    check(figures > 0, f"{name}: no figure on the page")
    check(len(boxes) == figures, f"{name}: {figures} figures but {len(boxes)} SVGs")
    for figure, width, height, drawn in boxes:
        check(width > 50 and height > 50, f"{name}: figure {figure} has an empty box {width}x{height}")
        check(drawn > 5, f"{name}: figure {figure} draws {drawn} elements")
    return figures


def column_keys(table, column, numeric):
    keys = []
    for row in table.find_elements(By.CSS_SELECTOR, "tbody tr"):
        cell = row.find_elements(By.TAG_NAME, "td")[column]
        v = cell.get_attribute("data-v")
        if v is None:
            v = cell.get_attribute("textContent").strip()
        if numeric:
            keys.append(float(v) if v != "" else None)
        else:
            keys.append(v.lower())
    return keys


def is_sorted(keys, descending):
    present = [k for k in keys if k is not None]
    # Missing values come last, whichever the direction.
    check(keys[: len(present)] == present, "missing values are not last")
    return present == sorted(present, reverse=descending)


def sorting_works(driver, name):
    table = driver.find_element(By.CSS_SELECTOR, "#measures table.sortable")
    headings = table.find_elements(By.CSS_SELECTOR, "thead th")
    texts = [h.get_attribute("textContent") for h in headings]
    def rows():
        return [r.get_attribute("textContent") for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

    before = rows()
    for heading, numeric in (("bias", True), ("emp. SE", True), ("method", False)):
        column = texts.index(heading)
        headings[column].click()
        ascending = column_keys(table, column, numeric)
        check(headings[column].get_attribute("aria-sort") == "ascending", f"{name}: {heading} not marked")
        check(is_sorted(ascending, False), f"{name}: {heading} ascending: {ascending}")
        headings[column].click()
        descending = column_keys(table, column, numeric)
        check(is_sorted(descending, True), f"{name}: {heading} descending: {descending}")
        # Rows move whole: the same rows, each cell still beside its own.
        check(sorted(rows()) == sorted(before), f"{name}: sorting by {heading} changed the rows")
    check(len(set(before)) > 1 and rows() != before or len(before) < 2, f"{name}: sorting moved nothing")
    return len(before)


def filtering_works(driver, name):
    table = driver.find_element(By.CSS_SELECTOR, "#measures table.sortable")
    box = driver.find_element(By.CSS_SELECTOR, f"input.filter[data-table='{table.get_attribute('id')}']")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    word = "ols"
    expected = sum(word in r.get_attribute("textContent").lower() for r in rows)
    check(0 < expected < len(rows), f"{name}: the filter test needs rows with and without {word!r}")
    box.send_keys(word)
    visible = [r for r in rows if r.is_displayed()]
    check(len(visible) == expected, f"{name}: filter kept {len(visible)} rows, expected {expected}")
    check(all(word in r.text.lower() for r in visible), f"{name}: filter kept a row without {word!r}")
    count = driver.find_element(By.ID, f"{table.get_attribute('id')}-count").text
    check(count == f"{expected} of {len(rows)} rows", f"{name}: count says {count!r}")
    box.clear()
    box.send_keys(" ")
    check(all(r.is_displayed() for r in rows), f"{name}: an empty filter hides rows")
    box.clear()


def every_measure_switch(driver, name):
    extra = driver.find_element(By.CSS_SELECTOR, "#measures th.extra")
    check(not extra.is_displayed(), f"{name}: extra measures shown before asked")
    driver.find_element(By.ID, "all-measures").click()
    check(extra.is_displayed(), f"{name}: the switch does not show every measure")
    driver.find_element(By.ID, "all-measures").click()


def screenshots(driver, name):
    driver.execute_script("window.scrollTo(0, 0);")
    driver.save_screenshot(str(SHOTS / f"{name}-top.png"))
    for section in ("design", "measures", "figures"):
        driver.execute_script(f"document.getElementById('{section}').scrollIntoView();")
        time.sleep(0.1)
        driver.save_screenshot(str(SHOTS / f"{name}-{section}.png"))
    # The first figure of the key measures, nested-loop plot and zip plot, as the page shows them
    # (folded groups opened).
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true);")
    shots = (("figure-measures", "measures-figure"), ("figure-nested_loop", "nested-loop"),
             ("figure-zip", "zip"))
    for prefix, shot in shots:
        found = driver.find_elements(By.CSS_SELECTOR, f"figure[id^='{prefix}']")
        if found:
            driver.execute_script("arguments[0].scrollIntoView();", found[0])
            found[0].screenshot(str(SHOTS / f"{name}-{shot}.png"))


def main():
    parsim = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "parsim")
    shutil.rmtree(WORK, ignore_errors=True)
    shutil.rmtree(SHOTS, ignore_errors=True)
    WORK.mkdir(parents=True)
    SHOTS.mkdir(parents=True)
    driver = browser()
    try:
        for name, study, replications in CASES:
            out = WORK / name
            run(parsim, "run", str(study), "--out", str(out), "--replications", str(replications),
                "--quiet")
            page = Path(run(parsim, "report", str(out)).strip())
            check(page == out / "report.html", f"{name}: report wrote {page}")
            driver.get(page.resolve().as_uri())
            errors = console_errors(driver)
            check(not errors, f"{name}: console errors: {errors}")
            figures = figures_rendered(driver, name)
            rows = sorting_works(driver, name)
            filtering_works(driver, name)
            every_measure_switch(driver, name)
            driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = false);")
            screenshots(driver, name)
            if name == "design-12":
                # Printing: the print style sheet gives a PDF of several pages, folded figures open.
                pdf = base64.b64decode(driver.print_page())
                check(pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 3, f"{name}: no PDF")
                (SHOTS / f"{name}.pdf").write_bytes(pdf)
            errors = console_errors(driver)
            check(not errors, f"{name}: console errors after use: {errors}")
            print(f"{name}: {figures} figures rendered, {rows} rows sorted and filtered, "
                  f"{page.stat().st_size} bytes")
    finally:
        driver.quit()
    print(f"screenshots in {SHOTS}")


if __name__ == "__main__":
    main()
