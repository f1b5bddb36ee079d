"""What the seed draws from: bank codes, policy number prefixes, the tariffs of each line, name pools, places."""

from __future__ import annotations

from decimal import Decimal

from sandbox.models import TravelTariff

# real bank codes, invented account numbers: syntactically valid, clearly test data
BANK_CODES = ("37040044", "10010010", "50010517", "20041133", "43060967")
PREFIX = {"ARK": "ARK-4711", "KV": "KV-4712", "LEBEN": "LV-4713", "KOMPOSIT": "KO-4714"}
# what each travel tariff covers: area, sum insured (None: unlimited), deductible, then urgent treatment,
# hospital, repatriation, repatriation of remains, direct settlement
TRAVEL_TARIFFS = (
    TravelTariff("ARK-Jahr 42", "WORLD_EXCEPT_DE", None, Decimal(0), True, True, True, True, True),
    TravelTariff("ARK-Jahr Plus 56", "WORLD_EXCEPT_DE", None, Decimal(0), True, True, True, True, True),
    TravelTariff("ARK-Europa 42", "EUROPE", Decimal(250_000), Decimal(0), True, True, True, True, True),
    TravelTariff(
        "ARK-Jahr Basis 42", "WORLD_EXCEPT_DE", Decimal(100_000), Decimal(150), True, True, True, False, False
    ),
)
ARK_TARIFFS = (
    ("ARK-Jahr 42", 42),
    ("ARK-Jahr Plus 56", 56),
    ("ARK-Europa 42", 42),
    ("ARK-Jahr Basis 42", 42),
)
KV_TARIFFS = {
    "Voll": ("KV-Komfort 100", "489.37"),
    "Zusatz": ("KV-Zahn Zusatz ZE90", "32.40"),
    "Pflege": ("PflegeTagegeld PT 60", "41.20"),
}
LIFE_TARIFFS = (
    ("Risikoleben RL 20", "23.15"),
    ("Rente Klassik", "150.00"),
    ("Berufsunfähigkeit BU Plus", "64.80"),
)
PC_TARIFFS = (
    ("Privathaftpflicht PHV Top", "7.85"),
    ("Hausrat Basis", "11.90"),
    ("Wohngebäude Premium", "612.00"),
    ("Kfz-Haftpflicht", "38.70"),
)
FREQUENCIES = ("monatlich", "vierteljährlich", "halbjährlich", "jährlich")

FEMALE = (
    "Anna", "Łucja", "Zofia", "Małgorzata", "Zsófia", "Ayşe", "Elif", "Chloé", "Inès", "Agnieszka",
    "Jülide", "Renée", "Maëlle", "Ágnes", "Réka", "Nuria", "Begoña", "Annegret", "Gülşen", "Françoise",
    "Hélène", "Dörte", "Bärbel", "Søs", "Ingrid",
)  # fmt: skip
MALE = (
    "Jürgen", "Lukas", "Paweł", "Łukasz", "Gábor", "Ferenc", "Mehmet", "Barış", "Oğuz", "François",
    "Joël", "José", "Íñigo", "Jörg", "Günther", "Sören", "Björn", "Zoltán", "Miklós", "Çetin",
    "Uwe", "Matthias", "Niklas", "Ramón", "Ødvar",
)  # fmt: skip
SURNAMES = (
    "Müller", "Schäfer", "Weiß", "Groß", "Krüger", "Köhler", "Böhm", "Voß", "Meißner", "Strauß",
    "Nowak", "Wójcik", "Kowalczyk", "Łukaszewicz", "Kovács", "Szőke", "Tóth", "Horváth", "Öztürk",
    "Şahin", "Çelik", "Yılmaz", "Doğan", "Kılıç", "Lefèvre", "Dubois", "Bérénger", "Núñez", "García",
    "Muñoz", "Peña", "Sørensen", "Ørsted", "Hähnel", "Jäger", "Fußmann", "Dvořák", "Novák",
)  # fmt: skip
PLACES = (
    ("50823", "Köln", "Venloer Straße"), ("40212", "Düsseldorf", "Graf-Adolf-Straße"),
    ("44135", "Dortmund", "Kampstraße"), ("45127", "Essen", "Kettwiger Straße"),
    ("48143", "Münster", "Ludgeristraße"), ("33602", "Bielefeld", "Niedernstraße"),
    ("53111", "Bonn", "Poststraße"), ("52062", "Aachen", "Großkölnstraße"),
    ("47051", "Duisburg", "Königstraße"), ("42103", "Wuppertal", "Schloßbleiche"),
    ("37073", "Göttingen", "Weender Straße"), ("80331", "München", "Sendlinger Straße"),
    ("10115", "Berlin", "Chausseestraße"), ("20095", "Hamburg", "Mönckebergstraße"),
)  # fmt: skip
