"""The screens that need the insight and live-status APIs: the ranking filter, a user's 90-day
chart, the audit log, the thresholds, and the member's live indicator. Each skips, saying why, on a
server without its API (the console hides the screen there) and runs once the server has it;
CONSOLE_REQUIRE_INSIGHT=1 turns those skips into failures."""

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.console.browser import open_tab, record_spend, require_field, search, take_member
from tests.console.conftest import Console

pytestmark = pytest.mark.browser

SET_OVERRIDE = """mutation($id: ID!, $micros: Micros!) {
  upsertChatUsageLimitOverride(input: {userId: $id, spendLimitMicros: $micros}) { errors { message } } }"""


def test_the_filter_keeps_users_at_or_above_80_percent(browser: Browser, console: Console) -> None:
    require_field(console, "Query", "chatSpendRanking", "the insight work")
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
    require_field(console, "User", "chatSpendHistory", "the insight work")
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
    require_field(console, "Query", "chatUsageLimitChanges", "the insight work")
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
    require_field(console, "ChatUsageLimitConfig", "warningThresholdsPercent", "the insight work")
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        field = tab.page.get_by_label(re.compile("Warn at these shares of the limit"))
        field.fill("50, 120")
        tab.page.get_by_role("button", name="Save thresholds").click()
        expect(tab.page.get_by_role("alert")).to_contain_text("1 to 99")
        field.fill("80, 50")
        tab.page.get_by_role("button", name="Save thresholds").click()
        expect(tab.page.get_by_text("Thresholds saved.")).to_be_visible()
        stored = console.graphql(console.owner_token, "{ chatUsageLimitConfig { warningThresholdsPercent } }")
        assert stored["chatUsageLimitConfig"]["warningThresholdsPercent"] == [50, 80]
        assert tab.errors == []


def test_the_members_live_indicator_moves_when_a_message_is_recorded(
    browser: Browser, console: Console
) -> None:
    require_field(console, "Subscription", "myChatUsageLimitStatus", "the live-status work")
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
