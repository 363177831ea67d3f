"""Real-browser journeys through the web UI (Playwright + system Chromium).

Run with ``make test-browser``; ``make test`` leaves them out. See conftest.py.
"""

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect
if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    # WhiteNoise warns once that STATIC_ROOT (var/static) is not collected; the live server
    # serves the app static dirs itself.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NAME = "杭州万华化工有限公司"
INITIALS = "hzwh"
SCREENSHOT = Path("/tmp/guanxi-customer.png")
PHONE_SCREENSHOT = Path("/tmp/guanxi-customer-phone.png")
# The timeline shows raw codes today ("ordinary → key"); choice labels would be fine too.
TIER_CHANGE = re.compile(r"(ordinary|Ordinary customer) → (key|Key customer)")
ZH_CATALOGUE = Path(settings.BASE_DIR) / "guanxi" / "locale" / "zh_Hans" / "LC_MESSAGES"


def top_search(page: "Page", text: str):
    """Type into the top-bar search box; return the live (htmx) results box."""
    box = page.locator("header .search-box input[name=q]")
    box.fill(text)
    return page.locator("#search-results")


def assert_no_horizontal_overflow(page: "Page") -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)]"
    )
    scroll_width, inner_width, culprits = widths
    assert scroll_width <= inner_width + 1, (
        f"{page.url}: page is {scroll_width}px wide in a {inner_width}px viewport; "
        f"overflowing: {culprits}"
    )


def make_customer(owner, **fields):
    from guanxi.customers.tests.factories import CustomerFactory

    return CustomerFactory(owner=owner, name=fields.pop("name", NAME), **fields)


# --- journey 1 ------------------------------------------------------------------------


def test_rep_creates_finds_edits_customer_and_other_rep_cannot_see_it(login):
    page = login("rep1")

    # Create a company with a Chinese name. (Province/city: see the region tests below.)
    page.goto("/customers/new/")
    page.locator("#id_kind").select_option("company")
    page.locator("#id_name").fill(NAME)
    page.locator("#id_tier").select_option("ordinary")
    page.locator("#id_status").select_option("active")
    page.locator("#id_mobile").fill("13800138000")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    customer_url = page.url
    expect(page.locator("h1")).to_contain_text(NAME)
    expect(page.locator(".messages")).to_contain_text(NAME)

    # Find it by pinyin initials in the top bar (live htmx results) …
    page.goto("/")
    results = top_search(page, INITIALS)
    hit = results.locator("a", has_text=NAME)
    expect(hit).to_be_visible()
    hit.click()
    page.wait_for_url(customer_url)

    # … and in the list filter.
    page.goto(f"/customers/?q={INITIALS}")
    row_link = page.locator("#customer-rows a", has_text=NAME)
    expect(row_link).to_be_visible()
    row_link.click()
    page.wait_for_url(customer_url)
    expect(page.locator(".dl")).to_contain_text("13800138000")

    # Edit: raise the tier to key customer and change the mobile.
    page.locator("a.btn-primary", has_text=re.compile("Edit|编辑")).click()
    page.wait_for_url(re.compile(r"/customers/\d+/edit/$"))
    page.locator("#id_tier").select_option("key")
    page.locator("#id_mobile").fill("13900139000")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(customer_url)
    expect(page.locator(".dl dd.tier-key")).to_be_visible()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(TIER_CHANGE)
    expect(timeline).to_contain_text("13800138000 → 13900139000")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Another rep of another team sees none of it.
    other = login("rep2")
    other.goto("/customers/")
    expect(other.locator("#customer-rows")).to_be_visible()
    expect(other.locator("#customer-rows")).not_to_contain_text(NAME)
    other.goto(f"/customers/?q={INITIALS}")
    expect(other.locator("#customer-rows")).not_to_contain_text(NAME)
    results = top_search(other, INITIALS)
    expect(results.locator(".search-results")).to_be_visible()
    expect(results).not_to_contain_text(NAME)
    response = other.goto(customer_url)
    assert response is not None
    assert response.status == 404
    expect(other.locator("body")).not_to_contain_text(NAME)


# --- province → city selects (htmx) ----------------------------------------------------


def test_customer_form_province_fills_city_select(login, regions):
    page = login("rep1")
    page.goto("/customers/new/")
    page.locator("#id_name").fill(NAME)
    page.locator("#id_province").select_option("浙江省")
    expect(page.locator("#id_city option", has_text="杭州市")).to_be_attached(timeout=3000)
    page.locator("#id_city").select_option("杭州市")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    expect(page.locator(".dl")).to_contain_text("浙江省 杭州市")


def test_address_form_province_city_district_chain(login, users, regions):
    customer = make_customer(users["rep1"])
    page = login("rep1")
    page.goto(f"/customers/{customer.pk}/addresses/new/")
    page.locator("#id_address-province").select_option("浙江省")
    expect(page.locator("#id_address-city option", has_text="杭州市")).to_be_attached()
    page.locator("#id_address-city").select_option("杭州市")
    expect(page.locator("#id_address-district option", has_text="西湖区")).to_be_attached()
    page.locator("#id_address-district").select_option("西湖区")
    page.locator("#id_address-street").fill("文三路 90 号")
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(f"**/customers/{customer.pk}/")
    expect(page.locator("main")).to_contain_text("西湖区")
    expect(page.locator("main")).to_contain_text("文三路 90 号")


# --- journey 2 ------------------------------------------------------------------------


def switch_language(page: "Page", code: str) -> None:
    with page.expect_navigation():
        page.locator("header select[name=language]").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_language_switch_in_top_bar(login):
    page = login("rep1", locale="en-US")
    page.goto("/customers/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    nav = page.locator("header nav")
    expect(nav).to_contain_text("Customers")

    switch_language(page, "zh-hans")
    assert page.url.endswith("/customers/"), "the switch returns to the same page"
    # The choice is stored on the user, so it holds on the next page too.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("header select[name=language]")).to_have_value("zh-hans")

    switch_language(page, "en")
    expect(page.locator("header nav")).to_contain_text("Customers")
    expect(page.locator("h1")).to_contain_text("Hello")


@pytest.mark.skipif(
    not any(ZH_CATALOGUE.glob("*.mo")),
    reason=f"no compiled zh_Hans catalogue in {ZH_CATALOGUE}: the UI has no Chinese "
    "strings yet (run `make messages` once guanxi/locale/zh_Hans/LC_MESSAGES/django.po exists)",
)
def test_chinese_labels_after_switch(login):
    page = login("rep1", locale="en-US")
    page.goto("/customers/")
    switch_language(page, "zh-hans")
    expect(page.locator("header nav")).to_contain_text("客户")
    expect(page.locator("header nav")).not_to_contain_text("Customers")


# --- journey 3 ------------------------------------------------------------------------


def test_phone_width_list_and_customer_page(login, users):
    customer = make_customer(users["rep1"], mobile="13800138000")
    make_customer(users["rep1"], name="上海明天网络科技有限公司", city="上海市", province="上海市")
    page = login("rep1", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)

    page.goto("/customers/")
    expect(page.locator("#customer-rows a", has_text=NAME)).to_be_visible()
    assert_no_horizontal_overflow(page)

    results = top_search(page, INITIALS)
    hit = results.locator("a", has_text=NAME)
    expect(hit).to_be_visible()
    box = results.locator(".search-results").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 391
    hit.click()
    page.wait_for_url(f"**/customers/{customer.pk}/")
    expect(page.locator("#timeline")).to_be_visible()
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(PHONE_SCREENSHOT), full_page=True)


# --- journey 4 ------------------------------------------------------------------------


def test_mention_in_note_notifies_colleague(login, users):
    customer = make_customer(users["rep2"])
    manager = login("manager")
    manager.goto(f"/customers/{customer.pk}/")
    notes = manager.locator("#notes")
    notes.locator("textarea[name=body]").fill("@rep2 请明天跟进报价")
    notes.locator("button[type=submit]").click()
    # The form posts with htmx and swaps #notes in place.
    expect(manager.locator("#notes .timeline")).to_contain_text("请明天跟进报价")
    expect(manager.locator("#notes textarea[name=body]")).to_have_value("")

    rep2 = login("rep2")
    bell = rep2.locator("header a[href$='/activities/notifications/']")
    expect(bell.locator(".badge")).to_have_text("1")
    bell.click()
    rep2.wait_for_url("**/activities/notifications/")
    mention = rep2.locator("main .timeline a", has_text=customer.name)
    expect(mention).to_be_visible()
    expect(mention).to_contain_text(str(users["manager"]))
    mention.click()
    rep2.wait_for_url(re.compile(rf"/customers/{customer.pk}/#note-\d+$"))
    expect(rep2.locator("#notes")).to_contain_text("请明天跟进报价")
