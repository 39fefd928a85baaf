"""The live jobs page in real headless Chromium: two jobs submitted through the page are listed with their final
status, and the operator strip updates from the stats stream. The test leaves a screenshot in test-output/."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("worker")

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def listed(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "#jobs tr.job")]


def test_jobs_submitted_through_the_page_are_listed_with_their_final_status(browser, api_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(1200, 1000)
    browser.get(api_url + "/jobs")
    wait = WebDriverWait(browser, 90, poll_frequency=0.1)
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

    def status(job_id: str) -> str:
        row = browser.find_element(By.CSS_SELECTOR, f'#jobs tr[data-id="{job_id}"]')
        return row.find_elements(By.TAG_NAME, "td")[1].text

    wait.until(lambda _: all(status(job_id) == "succeeded" for job_id in ids))
    assert browser.find_element(By.ID, "updated").text != first_update  # the strip follows the stream
    assert browser.find_element(By.ID, "queue-depth").text.isdigit() and browser.find_element(By.ID, "running").text.isdigit()
    assert "beat" in browser.find_element(By.ID, "workers").text  # a live worker and its heartbeat's age
    row = browser.find_element(By.CSS_SELECTOR, f'#jobs tr[data-id="{ids[0]}"]')
    row.send_keys("\n")  # keyboard: Enter opens the record
    wait.until(lambda _: "succeeded" in browser.find_element(By.ID, "detail").text)
    OUTPUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUTPUT / "jobs-page.png"))
    assert (OUTPUT / "jobs-page.png").stat().st_size > 10_000
