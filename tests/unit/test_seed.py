"""Deterministic seed data with the cases the bots must handle."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sandbox.data import SandboxDB
from sandbox.seed import seed


def test_same_inputs_give_the_same_data(tmp_path: Path) -> None:
    with SandboxDB(tmp_path / "a.db") as a, SandboxDB(tmp_path / "b.db") as b:
        assert seed(a, 60).to_dict() == seed(b, 60).to_dict()
        assert seed(a, 60, rng_seed=8).to_dict() != seed(b, 60).to_dict()


def test_reseeding_replaces_the_data(tmp_path: Path) -> None:
    with SandboxDB(tmp_path / "s.db") as db:
        seed(db, 30)
        summary = seed(db, 5)
        assert db.customer_count() == 5 == len(summary.customers)
        assert [c["customer_id"] for c in summary.customers] == [f"K10000{i}" for i in range(1, 6)]


def test_seed_has_the_cases_the_bots_need(tmp_path: Path) -> None:
    with SandboxDB(tmp_path / "s.db") as db:
        summary = seed(db, 80)
    customers = summary.customers
    names = " ".join(f"{c['first_name']} {c['last_name']}" for c in customers)
    for letter in ("ä", "ö", "ü", "ß", "Ł", "ő", "Ş", "Ç"):
        assert letter in names, letter

    policies = [p for c in customers for p in c["policies"]]
    assert Counter(p["line"] for p in policies).keys() == {"ARK", "KV", "LEBEN", "KOMPOSIT"}
    assert {p["health_department"] for p in policies if p["line"] == "KV"} == {"Voll", "Zusatz", "Pflege"}
    assert all(p["max_trip_days"] for p in policies if p["line"] == "ARK")
    covers = [p["travel_cover"] for p in policies if p["line"] == "ARK"]
    assert all(covers) and not any(p["travel_cover"] for p in policies if p["line"] != "ARK")
    assert {c["area"] for c in covers} == {"WORLD_EXCEPT_DE", "EUROPE"}
    assert any(c["deductible"] != "0.00" for c in covers) and any(c["sum_insured"] is None for c in covers)
    assert any(c["sum_insured"] is not None for c in covers)
    assert any(not c["repatriation_of_remains"] or not c["direct_settlement"] for c in covers)
    assert all(p["business_unit"] == "Kranken" for p in policies if p["line"] in ("ARK", "KV"))

    families = [p for p in policies if p["line"] == "ARK" and len(p["insured_persons"]) >= 3]
    assert families
    assert any(person["role"] == "Kind" for p in families for person in p["insured_persons"])
    assert any(p["dunning_active"] for p in policies)
    assert any(p["cancellation_pending"] for p in policies)
    assert sum(c["is_intermediary"] for c in customers) >= 2
    assert sum(len(c["policies"]) >= 2 for c in customers) >= len(customers) // 4
    assert any(p["status"] != "aktiv" for p in policies)
    ibans = [a["iban"] for p in policies for a in p["accounts"]]
    assert len(set(ibans)) == len(ibans)
    assert all(a["bic"] and a["bank_name"] for p in policies for a in p["accounts"])


def test_hand_written_customers_are_stable(tmp_path: Path) -> None:
    with SandboxDB(tmp_path / "s.db") as db:
        seed(db, 10)
        first = db.customer("K100001")
        assert first is not None and (first.first_name, first.last_name) == ("Łucja", "Öztürk-Şahin")
        assert len(db.insured_persons("ARK-4711-0001")) == 4
        assert db.customer("K100002") is not None and db.customer("K100002").is_intermediary  # type: ignore[union-attr]
        dunning = db.policy("KV-4712-0002")
        assert dunning is not None and dunning.dunning_active and dunning.customer_id == "K100003"
        # the ARK cases: a deductible, Europe only, a customer in Vienna, a child covered later
        basic = db.travel_tariff(db.policy("ARK-4711-0003").tariff)  # type: ignore[union-attr]
        assert basic is not None and basic.deductible > 0 and not basic.direct_settlement
        europe = db.policy("ARK-4711-0005")
        assert europe is not None and europe.customer_id == "K100007"
        assert db.travel_tariff(europe.tariff).area == "EUROPE"  # type: ignore[union-attr]
        assert db.customer("K100008").country == "AT"  # type: ignore[union-attr]
        assert [p.covered_from.isoformat() for p in db.insured_persons("ARK-4711-0007")] == [
            "2022-04-01", "2022-04-01", "2022-04-01", "2027-01-01"
        ]  # fmt: skip


def test_an_older_sandbox_database_is_replaced(tmp_path: Path) -> None:
    import sqlalchemy as sa

    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # the insured persons of an older schema, without covered_from
        conn.exec_driver_sql("CREATE TABLE insured_persons (id INTEGER PRIMARY KEY, policy_number TEXT)")
        conn.exec_driver_sql("INSERT INTO insured_persons VALUES (1, 'ARK-1')")
    engine.dispose()
    with SandboxDB(path) as db:
        assert db.customer_count() == 0  # empty, so the sandbox seeds it afresh
        seed(db, 3)
        assert len(db.insured_persons("ARK-4711-0001")) == 4
