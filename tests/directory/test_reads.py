"""The directory's read functions, called directly on a real database."""

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from spendlimits.directory.chats import chat_total_costs
from spendlimits.directory.groups import group_member_counts, group_members, groups_of_users, list_groups
from spendlimits.directory.models import list_models
from spendlimits.directory.organizations import list_organizations, organizations_of_users
from spendlimits.directory.users import list_users
from tests.directory.factories import Factory


@pytest.fixture
def make(engine: AsyncEngine) -> Factory:
    return Factory(engine)


async def test_users_are_listed_by_username_with_system_users_and_without_deleted_ones(
    engine: AsyncEngine, make: Factory
) -> None:
    await make.user("carol")
    await make.user("alice")
    await make.user("bot", is_system=True)
    await make.user("bob", deleted=True)
    async with engine.connect() as conn:
        page = await list_users(conn, limit=10)
        with_deleted = await list_users(conn, limit=10, include_deleted=True)
    assert [u.username for u in page.items] == ["alice", "bot", "carol"]
    assert page.total_count == 3
    assert [u.username for u in with_deleted.items] == ["alice", "bob", "bot", "carol"]
    assert with_deleted.total_count == 4


async def test_user_search_matches_username_name_or_email_ignoring_case(
    engine: AsyncEngine, make: Factory
) -> None:
    await make.user("alice", name="Alice Liddell", email="alice@wonder.land")
    await make.user("bob", name="Robert Paulson", email="bob@paper.street")
    await make.user("carol", email="carol@WONDER.land")
    async with engine.connect() as conn:
        by_name = await list_users(conn, limit=10, search="PAULSON")
        by_email = await list_users(conn, limit=10, search="wonder.LAND")
        by_username = await list_users(conn, limit=10, search="aro")
        blank = await list_users(conn, limit=10, search="  ")
    assert [u.username for u in by_name.items] == ["bob"]
    assert [u.username for u in by_email.items] == ["alice", "carol"]
    assert by_email.total_count == 2
    assert [u.username for u in by_username.items] == ["carol"]
    assert blank.total_count == 3


async def test_user_search_treats_wildcards_literally(engine: AsyncEngine, make: Factory) -> None:
    await make.user("a_b")
    await make.user("axb", name="100% sure")
    await make.user("plain", name="back\\slash")
    async with engine.connect() as conn:
        underscore = await list_users(conn, limit=10, search="a_b")
        percent = await list_users(conn, limit=10, search="0%")
        backslash = await list_users(conn, limit=10, search="k\\s")
    assert [u.username for u in underscore.items] == ["a_b"]
    assert [u.username for u in percent.items] == ["axb"]
    assert [u.username for u in backslash.items] == ["plain"]


async def test_user_pages_keep_the_total_even_past_the_end(engine: AsyncEngine, make: Factory) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5"):
        await make.user(name)
    async with engine.connect() as conn:
        second = await list_users(conn, limit=2, offset=2)
        past_end = await list_users(conn, limit=2, offset=10)
    assert [u.username for u in second.items] == ["u3", "u4"]
    assert second.total_count == 5
    assert past_end.items == []
    assert past_end.total_count == 5


async def test_organizations_of_several_users_come_in_one_call_ordered_by_name(
    engine: AsyncEngine, make: Factory
) -> None:
    zeta = await make.organization("zeta")
    acme = await make.organization("acme")
    both = await make.user("both", organizations=(zeta, acme))
    one = await make.user("one", organizations=(zeta,))
    none = await make.user("none")
    async with engine.connect() as conn:
        found = await organizations_of_users(conn, [both, one, none])
    assert [o.name for o in found[both]] == ["acme", "zeta"]
    assert [o.name for o in found[one]] == ["zeta"]
    assert none not in found


async def test_a_users_groups_are_explicit_groups_plus_each_organizations_everyone_group(
    engine: AsyncEngine, make: Factory
) -> None:
    acme = await make.organization("acme")
    beta = await make.organization("beta")
    alice = await make.user("alice", organizations=(acme, beta))
    gone = await make.user("gone", organizations=(acme,))
    # Capitalised names sort the same under every collation.
    devs = await make.group(acme, "Devs", members=(alice, gone))
    await make.group(acme, "Ops")
    admins = await make.group(beta, "Admins", members=(alice,))
    await make.delete_user(gone)
    async with engine.connect() as conn:
        found = await groups_of_users(conn, [(alice, None), (alice, acme), (gone, None)])
    assert [(g.name, g.id) for g in found[(alice, None)]] == sorted(
        [("Everyone", acme), ("Everyone", beta), ("Admins", admins), ("Devs", devs)]
    )
    assert {g.id for g in found[(alice, acme)]} == {acme, devs}
    assert (gone, None) not in found, "deleted users belong to no group"


async def test_groups_are_listed_by_name_optionally_for_one_organization(
    engine: AsyncEngine, make: Factory
) -> None:
    acme = await make.organization("acme")
    beta = await make.organization("beta")
    await make.group(acme, "Ops")
    await make.group(beta, "Admins")
    await make.group(acme, "Devs")
    async with engine.connect() as conn:
        everything = await list_groups(conn, limit=10)
        of_acme = await list_groups(conn, limit=2, organization_id=acme)
        of_unknown = await list_groups(conn, limit=2, organization_id=uuid.uuid4())
    assert [g.name for g in everything.items] == ["Admins", "Devs", "Everyone", "Everyone", "Ops"]
    assert everything.total_count == 5
    assert [g.name for g in of_acme.items] == ["Devs", "Everyone"]
    assert of_acme.total_count == 3
    assert of_unknown.items == []
    assert of_unknown.total_count == 0


async def test_member_counts_skip_system_and_deleted_users_and_everyone_counts_organization_members(
    engine: AsyncEngine, make: Factory
) -> None:
    acme = await make.organization("acme")
    alice = await make.user("alice", organizations=(acme,))
    await make.user("bob", organizations=(acme,))  # counted by the Everyone group only
    bot = await make.user("bot", is_system=True, organizations=(acme,))
    gone = await make.user("gone", organizations=(acme,))
    devs = await make.group(acme, "devs", members=(alice, bot, gone))
    empty = await make.group(acme, "empty")
    await make.delete_user(gone)
    unknown = uuid.uuid4()
    async with engine.connect() as conn:
        counts = await group_member_counts(conn, [acme, devs, empty, unknown])
    assert counts == {acme: 2, devs: 1, empty: 0, unknown: 0}


async def test_group_member_pages_for_several_groups_come_in_one_call(
    engine: AsyncEngine, make: Factory
) -> None:
    acme = await make.organization("acme")
    users = [await make.user(f"m{i}", organizations=(acme,)) for i in range(4)]
    await make.user("bot", is_system=True, organizations=(acme,))
    devs = await make.group(acme, "devs", members=(users[2], users[0]))
    async with engine.connect() as conn:
        found = await group_members(conn, [(acme, 2, 0), (acme, 2, 2), (devs, 10, 0), (devs, 10, 5)])
    assert [u.username for u in found[(acme, 2, 0)]] == ["m0", "m1"]
    assert [u.username for u in found[(acme, 2, 2)]] == ["m2", "m3"]
    assert [u.username for u in found[(devs, 10, 0)]] == ["m0", "m2"]
    assert (devs, 10, 5) not in found


async def test_organizations_and_models_are_listed_in_order(engine: AsyncEngine, make: Factory) -> None:
    await make.organization("zeta")
    await make.organization("acme")
    await make.model("openai", "gpt-5")
    await make.model("anthropic", "claude-sonnet", enabled=False)
    await make.model("anthropic", "claude-haiku", input_price=1)
    async with engine.connect() as conn:
        organizations = await list_organizations(conn)
        models = await list_models(conn)
    assert [o.name for o in organizations] == ["acme", "zeta"]
    assert [(m.provider, m.model, m.enabled) for m in models] == [
        ("anthropic", "claude-haiku", True),
        ("anthropic", "claude-sonnet", False),
        ("openai", "gpt-5", True),
    ]


async def test_chat_totals_include_deleted_messages_and_skip_unpriced_ones(
    engine: AsyncEngine, make: Factory
) -> None:
    acme = await make.organization("acme")
    alice = await make.user("alice", organizations=(acme,))
    chat = await make.chat(alice, acme)
    unpriced = await make.chat(alice, acme)
    silent = await make.chat(alice, acme)
    await make.message(chat, 300)
    await make.message(chat, 200, deleted=True)
    await make.message(chat, None)
    await make.message(unpriced, None)
    async with engine.connect() as conn:
        totals = await chat_total_costs(conn, [chat, unpriced, silent])
    assert totals == {chat: 500}
