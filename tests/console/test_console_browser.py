"""The console in headless Chromium against a real `spendlimits serve --demo`: owners change the
configuration and overrides, auditors only look, members see only themselves, refused tokens get
the 401 page, and the screens fit a phone. Run by `make test-browser`; screenshots go to
tests/console/artifacts/."""

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.console.browser import PHONE, open_tab, record_spend, search, take_member, users
from tests.console.conftest import Console

pytestmark = pytest.mark.browser


def test_owner_changes_the_default_limit_and_the_table_shows_it(browser: Browser, console: Console) -> None:
    user = take_member(console, "DEFAULT")
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        expect(tab.page.get_by_role("heading", name="Overview")).to_be_visible()
        field = tab.page.get_by_label("Default limit per user and period, in dollars")

        # The console's own check, before anything is sent.
        field.fill("ten dollars")
        tab.page.get_by_role("button", name="Save", exact=True).click()
        expect(tab.page.get_by_role("alert")).to_contain_text("is not an amount in dollars")
        # The API's check, its sentence shown beside the field.
        field.fill("0")
        tab.page.get_by_role("button", name="Save", exact=True).click()
        expect(tab.page.get_by_role("alert")).to_have_text("Spend limit must be greater than 0.")

        field.fill("12.345678")
        tab.page.get_by_role("button", name="Save", exact=True).click()
        expect(tab.page.get_by_test_id("default-limit")).to_have_text("$12.345678")
        expect(tab.page.get_by_role("status")).to_have_text("Saved.")
        tab.screenshot("overview")
        config = console.graphql(console.owner_token, "{ chatUsageLimitConfig { spendLimitMicros } }")
        assert config["chatUsageLimitConfig"]["spendLimitMicros"] == 12_345_678

        tab.go("Users")
        row = search(tab, user["username"])
        expect(row.locator(".limit")).to_have_text("$12.345678")
        expect(row.locator(".source")).to_have_text("Default")
        tab.assert_stayed_local()
        assert tab.errors == []


def test_owner_sets_an_override_and_the_users_source_changes(browser: Browser, console: Console) -> None:
    user = take_member(console, "GROUP")
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.go("Users")
        expect(tab.page.get_by_text(re.compile(r"Users 1–20 of \d+"))).to_be_visible()
        tab.screenshot("users")
        row = search(tab, user["username"])
        expect(row.locator(".source")).to_contain_text("Group: ")

        row.get_by_label(f"New override for {user['username']}, in dollars").fill("33.0005")
        row.get_by_role("button", name="Set").click()
        expect(row.locator(".source")).to_have_text("User override")
        expect(row.locator(".limit")).to_have_text("$33.0005")
        expect(row.get_by_role("status")).to_have_text("Override set to $33.0005.")
        stored = console.graphql(
            console.owner_token,
            "query($id: ID!) { user(id: $id) { chatSpendLimitMicros } }",
            {"id": user["id"]},
        )
        assert stored["user"]["chatSpendLimitMicros"] == 33_000_500

        row.get_by_role("button", name="Remove").click()
        expect(row.locator(".source")).to_contain_text("Group: ")
        stored = console.graphql(
            console.owner_token,
            "query($id: ID!) { user(id: $id) { chatSpendLimitMicros } }",
            {"id": user["id"]},
        )
        assert stored["user"]["chatSpendLimitMicros"] is None
        tab.assert_stayed_local()
        assert tab.errors == []


def test_the_users_table_pages_and_searches(browser: Browser, console: Console) -> None:
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.go("Users")
        count = tab.page.get_by_text(re.compile(r"Users 1–20 of (\d+)"))
        expect(count).to_be_visible()
        total = int(re.findall(r"of (\d+)", count.inner_text())[0])
        first_page = tab.page.locator("tbody tr").first.get_attribute("data-username")
        tab.page.get_by_role("button", name="Next page").click()
        expect(tab.page.get_by_text(f"Users 21–40 of {total}")).to_be_visible()
        expect(tab.page.locator("tbody tr").first).not_to_have_attribute("data-username", first_page or "")
        tab.page.get_by_role("button", name="Previous page").click()
        expect(tab.page.get_by_text(f"Users 1–20 of {total}")).to_be_visible()
        tab.page.get_by_label("Search users").fill("no-such-person-anywhere")
        expect(tab.page.get_by_text("No users match.")).to_be_visible()


def test_owner_sets_and_removes_a_group_override(browser: Browser, console: Console) -> None:
    groups = console.graphql(
        console.owner_token,
        "{ groups(first: 100) { nodes { id name memberCount chatSpendLimitMicros organization { name } } } }",
    )["groups"]["nodes"]
    group = next(g for g in groups if g["name"] == "design")
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.go("Groups")
        row = tab.page.locator(f'tr[data-group="{group["organization"]["name"]}/design"]')
        expect(row.locator(".members")).to_have_text(str(group["memberCount"]))
        row.get_by_role("textbox").fill("7.5")
        row.get_by_role("button", name="Set").click()
        expect(row.get_by_role("status")).to_have_text("Override set to $7.50.")
        expect(row.locator(".current")).to_have_text("$7.50")
        tab.screenshot("groups")
        stored = console.graphql(
            console.owner_token,
            "query($id: ID!) { group(id: $id) { chatSpendLimitMicros } }",
            {"id": group["id"]},
        )
        assert stored["group"]["chatSpendLimitMicros"] == 7_500_000
        row.get_by_role("button", name="Remove").click()
        expect(row.locator(".current")).to_have_text("none")
        # Removing twice is refused by the API, and the console says so in the API's words.
        assert tab.errors == []


def test_a_users_page_says_which_override_wins(browser: Browser, console: Console) -> None:
    user = take_member(console, "GROUP")
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.go("Users")
        row = search(tab, user["username"])
        row.get_by_role("link", name=user["username"]).click()
        expect(tab.page.get_by_role("heading", name=re.compile(user["username"]))).to_be_visible()
        expect(tab.page.get_by_test_id("winning-source")).to_contain_text("from Group: ")
        expect(tab.page.locator(".overrides li.wins")).to_contain_text(
            "wins: the lowest of the user's group overrides"
        )
        tab.screenshot("user-detail")
        # The address is the screen's: a reload shows the same page.
        tab.page.reload()
        expect(tab.page.get_by_test_id("winning-source")).to_contain_text("from Group: ")


def test_an_auditor_sees_every_screen_with_every_control_disabled(browser: Browser, console: Console) -> None:
    with open_tab(browser, console) as tab:
        tab.sign_in(console.auditor_token)
        expect(tab.page.get_by_text("Read-only: auditors see the configuration")).to_be_visible()
        expect(tab.page.get_by_role("button", name="Save", exact=True)).to_be_disabled()
        expect(tab.page.get_by_label("Default limit per user and period, in dollars")).to_be_disabled()
        expect(tab.page.get_by_label("Limits on")).to_be_disabled()
        expect(tab.page.get_by_label("Period", exact=True)).to_be_disabled()
        tab.screenshot("auditor-overview")
        tab.go("Users")
        expect(tab.page.locator("tbody tr").first).to_be_visible()
        sets = tab.page.get_by_role("button", name="Set")
        assert sets.count() > 0
        for index in range(sets.count()):
            expect(sets.nth(index)).to_be_disabled()
        tab.go("Groups")
        expect(tab.page.locator("tbody tr").first).to_be_visible()
        assert all(
            not tab.page.get_by_role("button", name="Set").nth(i).is_enabled()
            for i in range(tab.page.get_by_role("button", name="Set").count())
        )
        assert tab.errors == []


def test_a_member_sees_only_their_own_usage_and_it_follows_their_spend(
    browser: Browser, console: Console
) -> None:
    status = console.graphql(console.member_token, "{ myChatUsageLimitStatus { currentSpendMicros } }")
    spent = status["myChatUsageLimitStatus"]["currentSpendMicros"]
    with open_tab(browser, console) as tab:
        tab.sign_in(console.member_token)
        expect(tab.page.get_by_role("heading", name=re.compile("Your usage"))).to_be_visible()
        links = tab.page.get_by_role("navigation", name="Console").get_by_role("link")
        expect(links).to_have_text(["My usage"])
        spend = tab.page.get_by_test_id("status-spend")
        from_api = console.graphql(console.member_token, "{ myChatUsageLimitStatus { currentSpendMicros } }")
        assert from_api["myChatUsageLimitStatus"]["currentSpendMicros"] == spent
        expect(tab.page.get_by_test_id("live-indicator")).to_contain_text("updated")
        tab.screenshot("member")

        # A message recorded through the API shows up without a reload (subscription or polling).
        before = spend.inner_text()
        record_spend(console, console.member_username, 1_234_567)
        expect(spend).not_to_have_text(before, timeout=20_000)
        after = console.graphql(console.member_token, "{ myChatUsageLimitStatus { currentSpendMicros } }")
        assert after["myChatUsageLimitStatus"]["currentSpendMicros"] == spent + 1_234_567

        # Admin screens: the console refuses them for a member, and so would the API.
        tab.open("/console/users")
        expect(tab.page.get_by_role("heading", name="Not allowed (403)")).to_be_visible()
        tab.screenshot("forbidden")
        assert tab.errors == []
        tab.assert_stayed_local()


def test_an_unknown_token_is_refused_and_a_revoked_one_gets_the_401_page(
    browser: Browser, console: Console
) -> None:
    created = console.graphql(
        console.owner_token,
        """mutation($user: ID!) { createApiToken(input: {name: "console-revoke", userId: $user}) { token apiToken { id } errors { message } } }""",
        {"user": next(u for u in users(console) if u["username"] == "demo-auditor")["id"]},
    )["createApiToken"]
    with open_tab(browser, console) as tab:
        tab.open("/console/")
        tab.page.get_by_label("API token").fill("not-a-real-token")
        tab.page.get_by_role("button", name="Sign in").click()
        expect(tab.page.get_by_role("alert")).to_contain_text("did not accept this token (401)")
        tab.screenshot("signin-refused")

        tab.sign_in(created["token"])
        # Every request of the first screen answered: the next one is the first after the revocation.
        expect(tab.page.get_by_test_id("default-limit")).to_be_visible()
        console.graphql(
            console.owner_token,
            "mutation($id: ID!) { revokeApiToken(input: {tokenId: $id}) { revokedTokenId } }",
            {"id": created["apiToken"]["id"]},
        )
        tab.go("Users")
        expect(tab.page.get_by_role("heading", name=re.compile(r"not accepted \(401\)"))).to_be_visible()
        tab.screenshot("unauthorized")
        assert tab.page.evaluate("sessionStorage.getItem('spendlimits.console.token')") is None
        tab.page.get_by_role("button", name="Sign in again").click()
        expect(tab.page.get_by_label("API token")).to_be_visible()


def test_sign_out_forgets_the_token_and_a_reload_keeps_a_signed_in_tab(
    browser: Browser, console: Console
) -> None:
    with open_tab(browser, console) as tab:
        tab.sign_in(console.owner_token)
        tab.page.reload()
        expect(tab.page.get_by_role("button", name="Sign out")).to_be_visible()
        tab.page.get_by_role("button", name="Sign out").click()
        expect(tab.page.get_by_label("API token")).to_be_visible()
        assert tab.page.evaluate("sessionStorage.getItem('spendlimits.console.token')") is None
        tab.page.reload()
        expect(tab.page.get_by_label("API token")).to_be_visible()


def test_the_console_is_usable_at_390_px_and_by_keyboard(browser: Browser, console: Console) -> None:
    with open_tab(browser, console, PHONE) as tab:
        tab.sign_in(console.owner_token)
        tab.go("Users")
        expect(tab.page.locator("tbody tr").first).to_be_visible()
        # Nothing is wider than the screen: no sideways scrolling.
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        tab.screenshot("users-phone")
        tab.go("Overview")
        expect(tab.page.get_by_role("heading", name="Overview")).to_be_visible()
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # On a fresh page the first Tab reaches the skip link, which moves focus past the navigation.
        tab.page.reload()
        expect(tab.page.get_by_label("Limits on")).to_be_visible()
        tab.page.keyboard.press("Tab")
        expect(tab.page.get_by_role("link", name="Skip to content")).to_be_focused()
        tab.page.keyboard.press("Enter")
        expect(tab.page.locator("main")).to_be_focused()
        tab.page.keyboard.press("Tab")
        expect(tab.page.get_by_label("Limits on")).to_be_focused()
