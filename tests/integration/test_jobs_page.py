"""The live jobs page in real headless Chromium: two jobs submitted through the page are listed with their final
status, and the operator strip updates from the stats stream. The test leaves a screenshot in test-output/."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("worker")

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


# The table is redrawn as the stream arrives, so a row found one call ago may be gone the next: each read is one
# script run in the page, never an element kept between calls (a StaleElementReferenceException otherwise).
LISTED_JS = 'return [...document.querySelectorAll("#jobs tr.job")].map((row) => row.dataset.id);'
STATUS_JS = 'const row = document.querySelector(`#jobs tr[data-id="${arguments[0]}"]`); return row ? row.cells[1].textContent : null;'


def listed(browser) -> list[str]:
    return browser.execute_script(LISTED_JS)


def test_jobs_submitted_through_the_page_are_listed_with_their_final_status(browser, api_url):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(1200, 1000)
    browser.get(api_url + "/jobs")
    wait = WebDriverWait(browser, 90, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda _: browser.find_element(By.ID, "live").text == "live")
    first_update = wait.until(lambda _: browser.find_element(By.ID, "updated").text)
    ids = []
    for question in ("Name a colour.", "Name a fruit."):
        before = set(listed(browser))
        prompt = browser.find_element(By.ID, "prompt")
        prompt.clear()
        prompt.send_keys(question)
        browser.find_element(By.ID, "submit").click()
        new = wait.until(lambda _, before=before: [job_id for job_id in listed(browser) if job_id not in before])
        ids.append(new[0])

    def status(job_id: str) -> str | None:
        return browser.execute_script(STATUS_JS, job_id)

    wait.until(lambda _: all(status(job_id) == "succeeded" for job_id in ids))
    assert browser.find_element(By.ID, "updated").text != first_update  # the strip follows the stream
    assert browser.find_element(By.ID, "queue-depth").text.isdigit() and browser.find_element(By.ID, "running").text.isdigit()
    assert "beat" in browser.find_element(By.ID, "workers").text  # a live worker and its heartbeat's age

    def press_enter_on(job_id: str) -> bool:  # keyboard: Enter opens the record
        browser.find_element(By.CSS_SELECTOR, f'#jobs tr[data-id="{job_id}"]').send_keys("\n")
        return True

    wait.until(lambda _: press_enter_on(ids[0]))  # the wait retries a row redrawn between finding and pressing
    wait.until(lambda _: "succeeded" in browser.find_element(By.ID, "detail").text)
    OUTPUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUTPUT / "jobs-page.png"))
    assert (OUTPUT / "jobs-page.png").stat().st_size > 10_000
