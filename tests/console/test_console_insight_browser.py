"""The screens that need the insight and live-status APIs: the ranking filter, a user's 90-day
chart, the audit log, the thresholds, and the member's live indicator. The server has those APIs,
so none of these tests skips: a missing field fails them."""

import re

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.console.browser import open_tab, record_spend, search, take_member, users
from tests.console.conftest import Console

pytestmark = pytest.mark.browser

SET_OVERRIDE = """mutation($id: ID!, $micros: Micros!) {
  upsertChatUsageLimitOverride(input: {userId: $id, spendLimitMicros: $micros}) { errors { message } } }"""
REMOVE_OVERRIDE = """mutation($id: ID!) {
  deleteChatUsageLimitOverride(input: {userId: $id}) { errors { message } } }"""
THRESHOLDS_QUERY = "{ chatUsageLimitConfig { warningThresholdsPercent } }"
SET_THRESHOLDS = """mutation($percents: [Int!]!) {
  updateChatUsageLimitConfig(input: {warningThresholdsPercent: $percents}) { errors { message } } }"""


def test_the_filter_keeps_users_at_or_above_80_percent(browser: Browser, console: Console) -> None:
    near = take_member(console, "DEFAULT", spent=True)
    spent = near["chatUsageLimitStatus"]["currentSpendMicros"]
    # Their own limit at 120% of what they spent: 83% used, inside the filter.
    console.graphql(console.owner_token, SET_OVERRIDE, {"id": near["id"], "micros": spent * 100 // 83})
    expected = console.graphql(
        console.owner_token,
        "{ chatSpendRanking(minShareOfLimit: 0.8, first: 500) { totalCount nodes { shareOfLimit } } }",
    )["chatSpendRanking"]
    assert all(node["shareOfLimit"] >= 0.8 for node in expected["nodes"])
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.go("Users")
        tab.page.get_by_label("At or above (% of limit)").fill("80")
        expect(tab.page.locator(f'tr[data-username="{near["username"]}"]')).to_be_visible()
        expect(tab.page.get_by_text(re.compile(rf"of {expected['totalCount']}$"))).to_be_visible()
        levels = tab.page.locator("tbody .spend").evaluate_all("nodes => nodes.map(n => n.dataset.level)")
        assert levels and all(level in ("warning", "exceeded") for level in levels), levels
        tab.page.get_by_label("Sort by").select_option("SPEND_DESC")
        expect(tab.page.locator("tbody tr").first).to_be_visible()
        tab.screenshot("users-ranked")
        assert tab.errors == []


def test_a_users_page_charts_the_last_90_days(browser: Browser, console: Console) -> None:
    user = take_member(console, "GROUP", spent=True)
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.open(f"/console/users/{user['id']}")
        chart = tab.page.locator("figure.chart svg")
        expect(chart).to_be_visible()
        expect(chart.locator("rect.day")).to_have_count(90)
        spends = chart.locator("rect.day").evaluate_all("rects => rects.map(r => Number(r.dataset.spend))")
        assert sum(spends) > 0
        expect(tab.page.locator("figure.chart figcaption")).to_contain_text("over 90 days")
        tab.screenshot("user-chart")
        assert tab.errors == []


def test_the_audit_log_shows_an_override_set_in_the_console(browser: Browser, console: Console) -> None:
    user = take_member(console, "DEFAULT")
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.go("Users")
        row = search(tab, user["username"])
        row.get_by_role("textbox").fill("21")
        row.get_by_role("button", name="Set").click()
        expect(row.locator(".source")).to_have_text("User override")
        tab.go("Audit log")
        tab.page.get_by_label("Show").select_option("USER_OVERRIDE")
        first = tab.page.locator("tbody tr").first
        expect(first).to_contain_text(f"Override of {user['username']}")
        expect(first).to_contain_text("none → $21.00")
        expect(first).to_contain_text("demo-owner")
        tab.screenshot("audit")
        # The user's own page lists the same entry.
        tab.open(f"/console/users/{user['id']}")
        expect(tab.page.locator("table.audit tbody tr").first).to_contain_text("none → $21.00")
        assert tab.errors == []


def test_the_overview_changes_the_warning_thresholds(browser: Browser, console: Console) -> None:
    with open_tab(browser, console) as tab:
        # The stored thresholds are held back: until they arrive the field cannot be edited, so an
        # edit is never overwritten by a late answer (CI once saw the typed "50, 120" replaced).
        held: list[Route] = []

        def hold_thresholds(route: Route) -> None:
            # Queries go as GET (the operation in the URL), mutations as POST.
            if "ConsoleThresholds" in route.request.url + (route.request.post_data or ""):
                held.append(route)
            else:
                route.fallback()

        tab.page.route("**/graphql*", hold_thresholds)
        tab.sign_in(console.owner_token)
        field = tab.page.get_by_label(re.compile("Warn at these shares of the limit"))
        expect(field).to_be_disabled()
        for _ in range(50):  # the route handler runs as Playwright dispatches events
            if held:
                break
            tab.page.wait_for_timeout(100)
        assert held, "the thresholds query was not sent"
        expect(field).to_be_disabled()
        for route in held:
            route.continue_()
        tab.page.unroute("**/graphql*", hold_thresholds)
        expect(field).to_be_enabled()
        field.fill("50, 120")
        tab.page.get_by_role("button", name="Save thresholds").click()
        expect(tab.page.get_by_role("alert")).to_contain_text("1 to 99")
        field.fill("80, 50")
        tab.page.get_by_role("button", name="Save thresholds").click()
        expect(tab.page.get_by_text("Thresholds saved.")).to_be_visible()
        expect(field).to_have_value("50, 80")  # the stored list, sorted by the server
        stored = console.graphql(console.owner_token, "{ chatUsageLimitConfig { warningThresholdsPercent } }")
        assert stored["chatUsageLimitConfig"]["warningThresholdsPercent"] == [50, 80]
        assert tab.errors == []


def test_the_members_live_indicator_moves_when_a_message_is_recorded(
    browser: Browser, console: Console
) -> None:
    with open_tab(browser, console) as tab:
        tab.sign_in(console.member_token)
        indicator = tab.page.get_by_test_id("live-indicator")
        expect(indicator).to_contain_text("Live")
        spend = tab.page.get_by_test_id("status-spend")
        before = spend.inner_text()
        record_spend(console, console.member_username, 2_000_001)
        # Pushed, not polled: well within one polling interval.
        expect(spend).not_to_have_text(before, timeout=4_000)
        tab.screenshot("member-live")
        assert tab.errors == []


def test_a_members_warning_level_is_the_servers_not_the_default_thresholds(
    browser: Browser, console: Console
) -> None:
    """Members cannot read the thresholds; their page shows the status's warningThresholdPercent."""
    me = next(u for u in users(console) if u["username"] == console.member_username)
    if me["chatUsageLimitStatus"]["currentSpendMicros"] == 0:
        record_spend(console, console.member_username, 3_000_000)
    spent = console.graphql(console.member_token, "{ myChatUsageLimitStatus { currentSpendMicros } }")[
        "myChatUsageLimitStatus"
    ]["currentSpendMicros"]
    before = console.graphql(console.owner_token, THRESHOLDS_QUERY)["chatUsageLimitConfig"][
        "warningThresholdsPercent"
    ]
    # About 60% used: "Below warning" under the default [75, 90], at 58% under the server's [55, 58].
    overridden = console.graphql(
        console.owner_token, SET_OVERRIDE, {"id": me["id"], "micros": spent * 100 // 60}
    )
    assert overridden["upsertChatUsageLimitOverride"]["errors"] == [], overridden
    changed = console.graphql(console.owner_token, SET_THRESHOLDS, {"percents": [55, 58]})
    assert changed["updateChatUsageLimitConfig"]["errors"] == [], changed
    try:
        status = console.graphql(
            console.member_token, "{ myChatUsageLimitStatus { warningThresholdPercent } }"
        )
        assert status["myChatUsageLimitStatus"]["warningThresholdPercent"] == 58
        with open_tab(browser, console) as tab:
            tab.sign_in(console.member_token)
            expect(tab.page.get_by_test_id("status-level")).to_have_text("At or above 58%")
            assert tab.errors == []
    finally:
        console.graphql(console.owner_token, SET_THRESHOLDS, {"percents": before})
        console.graphql(console.owner_token, REMOVE_OVERRIDE, {"id": me["id"]})
