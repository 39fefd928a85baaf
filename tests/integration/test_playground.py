"""The playground page in headless Chromium: type, send, watch the answer stream in."""

import pytest

pytestmark = pytest.mark.usefixtures("worker")


def test_prompt_streams_into_the_page(browser, api_url, france):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(api_url + "/")
    prompt = browser.find_element(By.ID, "prompt")
    prompt.clear()
    prompt.send_keys(france)
    browser.find_element(By.ID, "send").click()

    answer = browser.find_element(By.ID, "answer")
    seen: list[str] = []

    def finished(_):
        seen.append(answer.text)
        return "first token" in browser.find_element(By.ID, "timings").text

    WebDriverWait(browser, 60, poll_frequency=0.02).until(finished)
    assert "Paris" in answer.text
    assert browser.find_element(By.ID, "status").text.startswith("succeeded")

    # A longer answer (~100 tokens) shows the text growing token by token rather than appearing at once.
    prompt.clear()
    prompt.send_keys("Tell me a story about a brave knight and a dragon.")
    seen.clear()
    browser.find_element(By.ID, "send").click()
    WebDriverWait(browser, 60, poll_frequency=0.02).until(
        lambda _: seen.append(answer.text) or browser.find_element(By.ID, "status").text.startswith("succeeded")
    )
    assert len({text for text in seen if text}) > 3
